"""shell.worktree: switching the work tree between the candidate and another
commit writes exactly what git would, touches nothing else, and after the
first switch of a pair runs no git process."""

import os
from pathlib import Path
from unittest import mock

from shell import gitops, worktree
from tests.support import RepoTestCase, count_git, git


def files_in(top: Path) -> dict:
    """{path: (content, executable) or ("link", target)} of every file below
    `top`, its `.git` (a folder or a linked worktree's file) left out."""
    out = {}
    for p in sorted(top.rglob("*")):
        rel = p.relative_to(top).as_posix()
        if rel.split("/")[0] == ".git" or p.is_dir() and not p.is_symlink():
            continue
        out[rel] = ("link", os.readlink(p)) if p.is_symlink() else (p.read_bytes(), os.access(p, os.X_OK))
    return out


class Switching(RepoTestCase):
    files = {**RepoTestCase.files, "lib/old.py": "old = 1\n", "run.sh": "echo run\n", "d": "a file, then a folder\n",
             "link": None}

    def setUp(self):
        self.files = {k: v for k, v in self.files.items() if v is not None}
        super().setUp()
        os.symlink("work.py", self.repo / "link")
        (self.repo / "run.sh").chmod(0o644)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "a link")
        self.start = git(self.repo, "rev-parse", "HEAD")
        self.addCleanup(worktree._PAIRS.clear)
        self.addCleanup(worktree._MOVED.clear)
        # the candidate: an edit, a new file in a new folder, a deletion (its folder empties),
        # an exec bit, a symlink retargeted, a file replaced by a folder of the same name
        self.write("work.py", "N = 3\n")
        self.write("pkg/new.py", "x = 1\n")
        (self.repo / "lib" / "old.py").unlink()
        (self.repo / "lib").rmdir()
        (self.repo / "run.sh").chmod(0o755)
        (self.repo / "link").unlink()
        os.symlink("bench.py", self.repo / "link")
        (self.repo / "d").unlink()
        self.write("d/inner.txt", "now a folder\n")
        self.write("ignored/built.bin", "ignored output")
        self.cand = gitops.snapshot(self.repo, self.start, "candidate")
        self.candidate_files = self.files_on_disk()

    def files_on_disk(self) -> dict:
        return files_in(self.repo)

    def git_checkout_of(self, commit: str) -> dict:
        """The files `commit` has, as a fresh git checkout writes them."""
        other = self.tmp / f"checkout-{commit[:7]}"
        git(self.repo, "worktree", "add", "-q", "--detach", str(other), commit)
        return files_in(other)

    def counting_git(self):
        """Every git process started until the test ends (the test's own
        included: count before or after them)."""
        return count_git(self)

    def test_the_incumbent_and_the_candidate_are_written_as_git_would_from_memory_after_the_first_switch(self):
        expected_start = {**self.git_checkout_of(self.start), "ignored/built.bin": (b"ignored output", False)}
        calls = self.counting_git()
        worktree.show(self.repo, self.cand, self.cand, self.start, self.start)
        self.assertEqual(self.files_on_disk(), expected_start)
        self.assertEqual(calls, ["diff-tree", "checkout"])
        for _ in range(3):
            worktree.show(self.repo, self.cand, self.start, self.cand, self.start)
            self.assertEqual(self.files_on_disk(), self.candidate_files)
            worktree.show(self.repo, self.cand, self.cand, self.start, self.start)
            self.assertEqual(self.files_on_disk(), expected_start)
        worktree.show(self.repo, self.cand, self.start, self.cand, self.start)
        self.assertEqual(calls, ["diff-tree", "checkout"], "later switches run no git process")
        self.assertEqual(self.files_on_disk(), self.candidate_files)
        self.assertFalse(worktree.index_moved(self.repo), "the incumbent is HEAD: the index never left it")
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.start)
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")

    def test_a_file_the_user_creates_during_the_trials_is_never_touched(self):
        worktree.show(self.repo, self.cand, self.cand, self.start, self.start)
        self.write("notes.txt", "written during a trial")
        self.write("pkg/mine.txt", "kept in a folder the incumbent lacks")
        worktree.show(self.repo, self.cand, self.start, self.cand, self.start)
        worktree.show(self.repo, self.cand, self.cand, self.start, self.start)
        self.assertEqual(self.read("notes.txt"), "written during a trial")
        self.assertEqual(self.read("pkg/mine.txt"), "kept in a folder the incumbent lacks")

    def test_a_work_tree_that_is_not_the_candidate_switches_through_git_and_settles(self):
        self.write("work.py", "N = 4  # edited after the snapshot\n")
        calls = self.counting_git()
        worktree.show(self.repo, self.cand, self.cand, self.start, self.start)
        self.assertIn("read-tree", calls)
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertTrue(worktree.index_moved(self.repo))
        worktree.show(self.repo, self.cand, self.start, self.cand, self.start)
        gitops.settle(self.repo)
        self.assertEqual(self.read("work.py"), "N = 3\n", "the candidate commit's version, as before")
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")

    def test_files_too_big_to_hold_in_memory_switch_through_git(self):
        calls = self.counting_git()
        with mock.patch.object(worktree, "MAX_BYTES", 3):
            worktree.show(self.repo, self.cand, self.cand, self.start, self.start)
        self.assertIn("read-tree", calls)
        worktree.show(self.repo, self.cand, self.start, self.cand, self.start)
        self.assertEqual(self.files_on_disk(), self.candidate_files)
        self.assertTrue(worktree.index_moved(self.repo), "home again through the index: settle before leaving")
        gitops.settle(self.repo)
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")

    def test_another_commit_whose_files_are_too_big_to_hold_switches_through_git(self):
        """The candidate deleted a big file: its side weighs little, the other's is weighed once written."""
        env = {"GIT_INDEX_FILE": str(self.tmp / "other-index")}
        gitops.git(self.repo, "read-tree", self.cand, env=env)
        blob = git(self.repo, "hash-object", "-w", "--stdin", input_text="x" * 4000)
        gitops.git(self.repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},big.bin", env=env)
        other = gitops.commit_tree(self.repo, gitops.git(self.repo, "write-tree", env=env), self.cand, "big")
        expected = {**self.git_checkout_of(other), "ignored/built.bin": (b"ignored output", False)}
        calls = self.counting_git()
        with mock.patch.object(worktree, "MAX_BYTES", 1000):
            worktree.show(self.repo, self.cand, self.cand, other, self.start)
        self.assertIsNone(worktree._PAIRS[(str(self.repo), self.cand, other)], "not held in memory")
        self.assertIn("read-tree", calls)
        self.assertEqual(self.files_on_disk(), expected)
        worktree.show(self.repo, self.cand, other, self.cand, self.start)
        self.assertEqual(self.files_on_disk(), self.candidate_files)
        gitops.settle(self.repo)
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")

    def test_a_checkout_filter_is_applied_to_the_other_commit(self):
        self.write(".gitattributes", "*.txt eol=crlf\n")
        self.write("notes.txt", "one\ntwo\n")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "crlf notes")
        base = git(self.repo, "rev-parse", "HEAD")
        (self.repo / "notes.txt").unlink()
        cand = gitops.snapshot(self.repo, base, "candidate without notes")
        worktree.show(self.repo, cand, cand, base, base)
        self.assertEqual((self.repo / "notes.txt").read_bytes(), b"one\r\ntwo\r\n")
        worktree.show(self.repo, cand, base, cand, base)
        self.assertFalse((self.repo / "notes.txt").exists())

    def test_restore_after_a_crash_puts_the_candidate_back_through_git(self):
        worktree.show(self.repo, self.cand, self.cand, self.start, self.start)
        worktree._PAIRS.clear()  # a new process: what was in memory is gone
        worktree.restore(self.repo, self.cand, [self.start])
        self.assertEqual(self.files_on_disk(), self.candidate_files)
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.start)
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")

    def test_another_commit_than_head_moves_the_index_until_settled(self):
        self.write("bench.py", "print('score: 1')\n")
        git(self.repo, "commit", "-qam", "a newer best")
        head = git(self.repo, "rev-parse", "HEAD")
        cand = gitops.snapshot(self.repo, head, "candidate")
        worktree.show(self.repo, cand, cand, self.start, head)
        self.assertTrue(worktree.index_moved(self.repo))
        worktree.show(self.repo, cand, self.start, cand, head)
        self.assertEqual(self.read("bench.py"), "print('score: 1')\n")
