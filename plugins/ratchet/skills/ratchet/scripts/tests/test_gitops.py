import unittest

from shell import gitops
from tests.support import RepoTestCase, git


class Snapshots(RepoTestCase):
    def test_snapshot_captures_edits_and_new_files_without_touching_head_or_index(self):
        self.write("work.py", "N = 5\n")
        self.write("new.py", "x = 1\n")
        self.write("ignored/data.bin", "big")
        sha = gitops.snapshot(self.repo, self.start, "attempt")
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.start)
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")
        files = git(self.repo, "ls-tree", "-r", "--name-only", sha).splitlines()
        self.assertIn("new.py", files)
        self.assertNotIn("ignored/data.bin", files)
        self.assertEqual(git(self.repo, "show", f"{sha}:work.py"), "N = 5")

    def test_snapshot_excludes_named_paths(self):
        self.write("report.json", "{}")
        sha = gitops.snapshot(self.repo, self.start, "attempt", exclude=["report.json"])
        self.assertNotIn("report.json", git(self.repo, "ls-tree", "-r", "--name-only", sha))

    def test_ignored_among_never_counts_a_tracked_file(self):
        self.write("golden.log", "expected")
        git(self.repo, "add", "-f", "golden.log")
        git(self.repo, "commit", "-qm", "force-added golden file")
        self.write(".gitignore", "ignored/\n__pycache__/\n*.log\n")
        self.write("fresh.log", "run output")
        self.assertEqual(gitops.ignored_among(self.repo, ["golden.log", "fresh.log", "work.py"]), {"fresh.log"})
        self.assertEqual(gitops.ignored_among(self.repo, []), set())

    def test_dirty_paths_lists_edits_and_untracked_but_not_ratchet_or_ignored(self):
        self.assertEqual(gitops.dirty_paths(self.repo), [])
        self.write("work.py", "N = 2\n")
        self.write("extra.txt", "x")
        self.write(".ratchet/config.json", "{}")
        self.write("ignored/x", "x")
        self.assertEqual(sorted(gitops.dirty_paths(self.repo)), ["extra.txt", "work.py"])


class KeepAndRevert(RepoTestCase):
    def test_restore_undoes_edits_removes_new_files_and_keeps_ignored_ones(self):
        self.write(".ratchet/results.jsonl", "{}\n")
        gitops.ensure_excluded(self.repo, "/.ratchet/")
        self.write("ignored/venv/lib.py", "keep me")
        self.write("work.py", "N = 1\n")
        self.write("src/new_module.py", "x = 1\n")
        gitops.restore(self.repo, self.start)
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertFalse((self.repo / "src").exists())
        self.assertEqual(self.read("ignored/venv/lib.py"), "keep me")
        self.assertEqual(self.read(".ratchet/results.jsonl"), "{}\n")

    def test_restore_keeps_excluded_untracked_paths(self):
        self.write("report.json", "{}")
        gitops.restore(self.repo, self.start, exclude=["report.json"])
        self.assertTrue((self.repo / "report.json").exists())

    def test_advance_head_is_a_compare_and_swap(self):
        self.write("work.py", "N = 3\n")
        c1 = gitops.snapshot(self.repo, self.start, "keep 1")
        gitops.advance_head(self.repo, c1, self.start)
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), c1)
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")
        self.assertEqual(git(self.repo, "rev-parse", "--abbrev-ref", "HEAD"), "main")
        with self.assertRaises(gitops.GitError):
            gitops.advance_head(self.repo, self.start, self.start)  # HEAD is c1 now, not start

    def test_show_tree_swaps_content_without_moving_head(self):
        self.write("work.py", "N = 3\n")
        self.write("new.py", "x = 1\n")
        self.write("ignored/bin", "built")
        cand = gitops.snapshot(self.repo, self.start, "candidate")
        gitops.mark_shown(self.repo, cand)
        self.write("user-notes.txt", "appeared during the trials")
        gitops.show_tree(self.repo, self.start)
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertFalse((self.repo / "new.py").exists())
        self.assertEqual(self.read("ignored/bin"), "built")
        self.assertEqual(self.read("user-notes.txt"), "appeared during the trials")
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.start)
        gitops.show_tree(self.repo, cand)
        gitops.settle(self.repo)
        self.assertEqual((self.read("work.py"), self.read("new.py")), ("N = 3\n", "x = 1\n"))
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.start)
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")
        self.assertEqual(self.read("user-notes.txt"), "appeared during the trials")

    def test_ensure_excluded_is_idempotent_and_leaves_gitignore_alone(self):
        before = self.read(".gitignore")
        gitops.ensure_excluded(self.repo, "/.ratchet/")
        gitops.ensure_excluded(self.repo, "/.ratchet/")
        exclude = (self.repo / ".git" / "info" / "exclude").read_text()
        self.assertEqual(exclude.splitlines().count("/.ratchet/"), 1)
        self.assertEqual(self.read(".gitignore"), before)

    def test_name_status_reports_added_modified_deleted(self):
        self.write("work.py", "N = 3\n")
        self.write("new.py", "")
        (self.repo / "bench.py").unlink()
        sha = gitops.snapshot(self.repo, self.start, "x")
        self.assertEqual(sorted(gitops.name_status(self.repo, self.start, sha)),
                         [("A", "new.py"), ("D", "bench.py"), ("M", "work.py")])



class Errors(unittest.TestCase):
    def test_missing_git_is_a_usage_error_naming_git(self):
        import os
        from pathlib import Path
        from unittest import mock

        from core.errors import UsageError
        with mock.patch.dict(os.environ, {"PATH": "/nonexistent"}), self.assertRaises(UsageError) as ctx:
            gitops.repo_root(Path("/tmp"))
        self.assertIn("git is not installed", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
