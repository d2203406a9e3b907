import os
import subprocess
import threading
import unittest
from pathlib import Path
from unittest import mock

from core.errors import UsageError
from shell import gitops
from tests.support import RepoTestCase, count_git, git


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



class UserFolders(RepoTestCase):
    """Empty folders are invisible to git status (init lets them through), so
    a revert must not remove the user's."""

    def test_empty_folders_that_existed_before_survive_a_restore(self):
        for d in ("empty", "nested/inner", "src/pkg/empty-too"):
            (self.repo / d).mkdir(parents=True)
        self.write("src/new_module.py", "x = 1\n")   # the change: a new file beside an empty folder
        self.write("fresh/deep/new.py", "y = 2\n")   # and in a new folder tree
        self.write("work.py", "N = 1\n")
        gitops.restore(self.repo, self.start)
        for d in ("empty", "nested/inner", "src/pkg/empty-too"):
            self.assertTrue((self.repo / d).is_dir(), d)
        self.assertFalse((self.repo / "src" / "new_module.py").exists())
        self.assertFalse((self.repo / "fresh").exists(), "a folder the removal emptied stays behind")
        self.assertEqual(self.read("work.py"), "N = 1000\n")

    def test_restore_removes_new_symlinks_without_following_them(self):
        outside = self.tmp / "outside"
        outside.mkdir()
        (outside / "keep.txt").write_text("not the repo's")
        (self.repo / "link").symlink_to(outside)
        gitops.restore(self.repo, self.start)
        self.assertFalse(os.path.lexists(self.repo / "link"))
        self.assertEqual((outside / "keep.txt").read_text(), "not the repo's")

    def test_restore_never_touches_a_nested_repository_or_ratchet_state(self):
        nested = self.repo / "vendor"
        nested.mkdir()
        git(nested, "init", "-q")
        (nested / "file.txt").write_text("nested")
        self.write(".ratchet/results.jsonl", "{}\n")  # even without the info/exclude entry
        gitops.restore(self.repo, self.start)
        self.assertEqual((nested / "file.txt").read_text(), "nested")
        self.assertEqual(self.read(".ratchet/results.jsonl"), "{}\n")


class StaleLocks(RepoTestCase):
    """A git process killed mid-write leaves its lock file; ratchet removes it
    when no owner can be alive, else names it."""

    def lock(self, name: str) -> Path:
        path = self.repo / ".git" / name
        path.write_text("")
        return path

    def test_stale_index_lock_is_removed_and_the_command_retried(self):
        lock = self.lock("index.lock")
        self.write("work.py", "N = 1\n")
        gitops.restore(self.repo, self.start)
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertFalse(lock.exists())

    def test_stale_head_lock_is_removed_and_head_advances(self):
        self.write("work.py", "N = 3\n")
        c1 = gitops.snapshot(self.repo, self.start, "keep 1")
        lock = self.lock("HEAD.lock")
        gitops.advance_head(self.repo, c1, self.start)
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), c1)
        self.assertFalse(lock.exists())

    def test_stale_private_index_lock_does_not_block_a_snapshot(self):
        lock = Path(f"{gitops.git_path(self.repo, 'ratchet-index')}.lock")
        lock.write_text("")
        self.write("work.py", "N = 3\n")
        sha = gitops.snapshot(self.repo, self.start, "attempt")
        self.assertEqual(git(self.repo, "show", f"{sha}:work.py"), "N = 3")
        self.assertFalse(lock.exists())

    def test_snapshot_removes_its_private_index_and_lock_when_git_fails(self):
        index = gitops.git_path(self.repo, "ratchet-index")
        real = gitops.git

        def failing(root, *args, **kw):
            if args[:1] == ("write-tree",):
                Path(f"{index}.lock").write_text("")  # as a git killed mid-write would leave it
                raise gitops.GitError("git write-tree failed: boom")
            return real(root, *args, **kw)

        with mock.patch.object(gitops, "git", failing), self.assertRaises(gitops.GitError):
            gitops.snapshot(self.repo, self.start, "attempt")
        self.assertFalse(index.exists())
        self.assertFalse(Path(f"{index}.lock").exists())

    def live_git(self) -> None:
        """A git process working in this repository (it could own a lock) until the test ends."""
        owner = subprocess.Popen(["git", "-C", str(self.repo), "hash-object", "--stdin"],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self.addCleanup(owner.stdin.close)
        self.addCleanup(owner.wait)
        self.addCleanup(owner.kill)

    def assert_names_the_lock(self, exc: Exception, lock: Path) -> None:
        message = str(exc)
        self.assertEqual(len(message.splitlines()), 1, message)
        self.assertIn(str(lock), message)
        self.assertIn(f"rm {lock}", message)

    def test_a_lock_whose_owner_may_be_alive_is_named_never_removed(self):
        lock = self.lock("index.lock")
        self.live_git()
        with mock.patch.object(gitops, "LOCK_WAIT_SECONDS", 0.3), self.assertRaises(gitops.GitError) as ctx:
            gitops.restore(self.repo, self.start)
        self.assert_names_the_lock(ctx.exception, lock)
        self.assertTrue(lock.exists())

    def test_private_index_lock_in_use_by_a_live_git_is_not_removed(self):
        """A git child can outlive a ratchet.py killed alone: while it still
        uses the private index, its lock is not stale."""
        index = gitops.git_path(self.repo, "ratchet-index")
        lock = Path(f"{index}.lock")
        lock.write_text("")
        owner = subprocess.Popen(["git", "-C", str(self.repo), "hash-object", "--stdin"], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, env={**os.environ, "GIT_INDEX_FILE": str(index)})
        self.addCleanup(owner.stdin.close)
        self.addCleanup(owner.wait)
        self.addCleanup(owner.kill)
        with mock.patch.object(gitops, "LOCK_WAIT_SECONDS", 0.3), self.assertRaises(gitops.GitError) as ctx:
            gitops.snapshot(self.repo, self.start, "attempt")
        self.assert_names_the_lock(ctx.exception, lock)
        self.assertTrue(lock.exists())

    def test_without_proc_only_ratchets_private_lock_is_removed(self):
        private = Path(f"{gitops.git_path(self.repo, 'ratchet-index')}.lock")
        private.write_text("")
        with mock.patch.object(gitops, "_proc_available", lambda: False), \
                mock.patch.object(gitops, "LOCK_WAIT_SECONDS", 0.3):
            gitops.snapshot(self.repo, self.start, "attempt")
            self.assertFalse(private.exists())
            lock = self.lock("index.lock")
            with self.assertRaises(gitops.GitError) as ctx:
                gitops.restore(self.repo, self.start)
        self.assert_names_the_lock(ctx.exception, lock)
        self.assertTrue(lock.exists())

    def test_a_lock_that_goes_away_by_itself_is_waited_for(self):
        lock = self.lock("index.lock")
        self.live_git()
        timer = threading.Timer(0.5, lock.unlink)
        timer.start()
        self.addCleanup(timer.cancel)
        gitops.restore(self.repo, self.start)
        self.assertFalse(lock.exists())


class FewerProcesses(RepoTestCase):
    """Answers that cannot change within a process are not asked of git twice."""

    def counting(self) -> list[str]:
        """The git subcommands gitops starts until the test ends."""
        return count_git(self, only_from=gitops.__name__)

    def tree(self, commit: str) -> str:
        return git(self.repo, "rev-parse", f"{commit}^{{tree}}")

    def test_repo_root_is_asked_once_and_learns_the_snapshot_index(self):
        sub = self.repo / "src"
        sub.mkdir()
        root = gitops.repo_root(sub)
        self.assertEqual(str(root), git(self.repo, "rev-parse", "--show-toplevel"))
        calls = self.counting()
        self.assertEqual(gitops.repo_root(sub), root)
        index = gitops.git_path(root, gitops.SNAPSHOT_INDEX)
        self.assertEqual(calls, [])
        expected = self.repo / git(self.repo, "rev-parse", "--git-path", gitops.SNAPSHOT_INDEX)
        self.assertEqual(index.resolve(), expected.resolve())

    def test_the_top_of_an_ordinary_repository_is_known_without_a_process(self):
        link = self.tmp / "via-a-link"
        os.symlink(self.repo, link)
        for cwd in (self.repo, link):
            gitops._ROOTS.clear()
            calls = self.counting()
            root = gitops.repo_root(cwd)
            self.assertEqual(calls, [], cwd)
            self.assertEqual(str(root), git(cwd, "rev-parse", "--show-toplevel"))
            expected = cwd / git(cwd, "rev-parse", "--git-path", gitops.SNAPSHOT_INDEX)
            self.assertEqual(gitops.git_path(root, gitops.SNAPSHOT_INDEX).resolve(), expected.resolve())

    def test_a_repository_on_a_machine_without_git_is_refused_as_before(self):
        gitops._ROOTS.clear()
        bin_dir = self.tmp / "bin-without-git"
        bin_dir.mkdir()
        (bin_dir / "git").mkdir()  # a folder named git is no program
        with mock.patch.dict(os.environ, {"PATH": str(bin_dir)}), self.assertRaises(UsageError) as ctx:
            gitops.repo_root(self.repo)
        self.assertIn("git is not installed", str(ctx.exception))

    def test_git_is_asked_where_the_repository_is_laid_out_otherwise(self):
        elsewhere = self.tmp / "work-tree"
        elsewhere.mkdir()
        cases = [("GIT_DIR set", {"GIT_DIR": str(self.repo / ".git")}, None),
                 ("GIT_WORK_TREE set", {"GIT_WORK_TREE": str(self.repo)}, None),
                 ("core.worktree", {}, ("core.worktree", str(elsewhere))),
                 ("an include", {}, ("include.path", "other.config"))]
        for what, env, setting in cases:
            gitops._ROOTS.clear()
            if setting:
                git(self.repo, "config", *setting)
            with mock.patch.dict(os.environ, env):
                calls = self.counting()
                try:
                    gitops.repo_root(self.repo)
                except Exception:  # noqa: BLE001 - git's answer (or refusal) is what counts here
                    pass
                self.assertEqual(calls[:1], ["rev-parse"], what)
            if setting:
                git(self.repo, "config", "--unset", setting[0])

    def test_snapshot_is_four_processes_and_its_tree_is_known(self):
        root = gitops.repo_root(self.repo)
        self.write("work.py", "N = 5\n")
        calls = self.counting()
        sha = gitops.snapshot(root, self.start, "attempt")
        self.assertEqual(calls, ["read-tree", "add", "write-tree", "commit-tree"])
        self.assertEqual(gitops.tree_of(root, sha), self.tree(sha))
        self.assertEqual(calls, ["read-tree", "add", "write-tree", "commit-tree"])

    def test_head_sha_learns_its_tree(self):
        calls = self.counting()
        self.assertEqual(gitops.head_sha(self.repo), self.start)
        self.assertEqual(gitops.tree_of(self.repo, self.start), self.tree(self.start))
        self.assertEqual(calls, ["rev-parse"])
        empty = self.tmp / "empty"
        empty.mkdir()
        git(empty, "init", "-q")
        self.assertIsNone(gitops.head_sha(empty))

    def test_commit_tree_uses_gits_identity_without_asking_for_it(self):
        calls = self.counting()
        sha = gitops.commit_tree(self.repo, self.tree(self.start), self.start, "m")
        self.assertEqual(calls, ["commit-tree"])
        self.assertEqual(git(self.repo, "log", "-1", "--format=%an <%ae>", sha), "Test <test@example.com>")

    def test_without_identity_the_fallback_is_learnt_once(self):
        git(self.repo, "config", "user.useConfigOnly", "true")  # no guessing from the host name
        for name in [k for k in os.environ if k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))] + ["EMAIL"]:
            self.unset_env(name)
        tree = self.tree(self.start)
        calls = self.counting()
        first = gitops.commit_tree(self.repo, tree, self.start, "one")
        self.assertEqual(calls, ["commit-tree", "commit-tree"])
        second = gitops.commit_tree(self.repo, tree, first, "two")
        self.assertEqual(calls, ["commit-tree"] * 3)
        for sha in (first, second):
            self.assertEqual(git(self.repo, "log", "-1", "--format=%an <%ae> %cn <%ce>", sha),
                             "ratchet <ratchet@localhost> ratchet <ratchet@localhost>")
        self.assertEqual(gitops.identity_env(self.repo), gitops.FALLBACK_IDENTITY)

    def unset_env(self, name: str) -> None:
        patch = mock.patch.dict(os.environ)
        patch.start()
        self.addCleanup(patch.stop)
        os.environ.pop(name, None)

    def test_equal_trees_need_no_diff(self):
        same = gitops.snapshot(self.repo, self.start, "no change")
        calls = self.counting()
        self.assertEqual(gitops.name_status(self.repo, self.start, same), [])
        self.assertEqual(gitops.diff(self.repo, self.start, same), "")
        self.assertEqual(calls, ["rev-parse"])  # the start's tree, once
        self.write("work.py", "N = 2\n")
        changed = gitops.snapshot(self.repo, self.start, "a change")
        self.assertEqual(gitops.name_status(self.repo, same, changed), [("M", "work.py")])
        self.assertIn("-N = 1000", gitops.diff(self.repo, same, changed))

    def test_refs_are_asked_every_time(self):
        before = gitops.tree_of(self.repo, "HEAD")
        self.write("work.py", "N = 3\n")
        c1 = gitops.snapshot(self.repo, self.start, "keep")
        gitops.advance_head(self.repo, c1, self.start)
        self.assertEqual(gitops.tree_of(self.repo, "HEAD"), self.tree(c1))
        self.assertNotEqual(gitops.tree_of(self.repo, "HEAD"), before)

    def test_advance_head_can_leave_the_index_to_a_restore(self):
        self.write("work.py", "N = 3\n")
        c1 = gitops.snapshot(self.repo, self.start, "keep")
        calls = self.counting()
        gitops.advance_head(self.repo, c1, self.start, sync_index=False)
        self.assertEqual(calls, ["update-ref"])
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), c1)
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "work.py")  # index still at start
        gitops.restore(self.repo, c1)
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")

    def test_advance_head_resumed_after_it_happened_succeeds(self):
        """A decision resumed after a crash: HEAD already at `new` is
        success (one failed swap and a look at HEAD, nothing moved)."""
        self.write("work.py", "N = 3\n")
        c1 = gitops.snapshot(self.repo, self.start, "keep")
        gitops.advance_head(self.repo, c1, self.start, sync_index=False)
        calls = self.counting()
        gitops.advance_head(self.repo, c1, self.start, sync_index=False)
        self.assertEqual(calls, ["update-ref", "rev-parse"])
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), c1)
        self.assertEqual(len(git(self.repo, "reflog", "HEAD").splitlines()), 2)  # the commit and one keep

    def test_snapshot_tree_makes_no_commit(self):
        self.write("work.py", "N = 4\n")
        calls = self.counting()
        tree = gitops.snapshot_tree(self.repo, self.start)
        self.assertEqual([c for c in calls if c != "rev-parse"], ["read-tree", "add", "write-tree"])  # rev-parse: the index path
        self.assertEqual(git(self.repo, "cat-file", "-t", tree), "tree")
        self.assertEqual(git(self.repo, "show", f"{tree}:work.py"), "N = 4")
        self.assertEqual(self.tree(gitops.snapshot(self.repo, self.start, "same tree")), tree)
        self.assertEqual(gitops.snapshot_tree(self.repo, self.start, exclude=["work.py"]), self.tree(self.start))


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
