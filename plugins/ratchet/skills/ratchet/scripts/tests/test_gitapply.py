"""Tests for gitapply.py against temporary git repositories: what git makes of
the diffs that diffs.py reads and normalizes."""

import shutil
import unittest
from pathlib import Path

from critic import diffs
from critic import gitapply
from tests.support import SIMPLE_DIFF, git, make_repo, proposal_text


def diff_of(root: Path, mutate) -> str:
    """The diff `mutate(root)` produces (git diff --binary, renames on),
    after which the repository is restored."""
    mutate(root)
    git(root, "add", "-A")
    out = git(root, "diff", "--cached", "--binary", "-M", "HEAD", strip=False)
    git(root, "reset", "-q", "--hard", "HEAD")
    git(root, "clean", "-qfd")
    return out


class ParseProposalTest(unittest.TestCase):
    def test_new_file_mode_is_added_when_missing(self):
        new = "diff --git a/n.py b/n.py\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+x\n"
        fixed = diffs.parse_proposal(proposal_text(diff=new + SIMPLE_DIFF))["diff"]
        self.assertEqual(fixed, "diff --git a/n.py b/n.py\nnew file mode 100644\n"
                         "--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+x\n" + SIMPLE_DIFF)
        self.assertEqual(diffs.normalize_diff(fixed), fixed)          # idempotent
        self.assertEqual(diffs.normalize_diff(SIMPLE_DIFF), SIMPLE_DIFF)
        root = make_repo({"a.py": "a\n"})
        self.addCleanup(shutil.rmtree, root, True)
        self.assertIsNotNone(gitapply.git_apply_check(root, new))        # git refuses the original
        self.assertIsNone(gitapply.git_apply_check(root, diffs.normalize_diff(new)))


class DiffPathsTest(unittest.TestCase):
    def test_matches_git_on_real_diffs(self):
        root = make_repo({"bench.py": "print(1)\n", "src/a.py": "a = 1\n" * 20,
                          "docs/with space.md": "hi\n", "data.bin": "x"})
        self.addCleanup(shutil.rmtree, root, True)

        def mutate(r):
            (r / "src/a.py").rename(r / "src/renamed.py")
            (r / "bench.py").unlink()
            (r / "docs/with space.md").write_text("changed\n")
            (r / "tab\tname.txt").write_text("t\n")
            (r / "caf\u00e9.txt").write_text("c\n")
            (r / "data.bin").write_bytes(b"\0\1\2")
        diff = diff_of(root, mutate)
        expected = {"src/a.py", "src/renamed.py", "bench.py", "docs/with space.md",
                    "tab\tname.txt", "caf\u00e9.txt", "data.bin"}
        self.assertEqual(set(diffs.diff_paths(diff)), expected)
        # git names only the new side of a rename; diff_paths has both
        numstat = gitapply.git_numstat_paths(root, diff)
        self.assertEqual(set(numstat), expected - {"src/a.py"})


class IgnoredTargetsTest(unittest.TestCase):
    """validate_diff's ignore check is gitops.ignored_among: an untracked
    ignored target is refused, a tracked file matching an ignore pattern is not."""

    def test_tracked_files_are_never_ignored_untracked_ignored_ones_are_refused(self):
        root = make_repo({"a.py": "a\n", ".gitignore": "*.log\n"})
        self.addCleanup(shutil.rmtree, root, True)
        (root / "golden.log").write_text("expected\n")
        git(root, "add", "-f", "golden.log")
        git(root, "commit", "-qm", "force-added golden file")
        tracked = ("diff --git a/golden.log b/golden.log\n--- a/golden.log\n+++ b/golden.log\n"
                   "@@ -1 +1 @@\n-expected\n+changed\n")
        fresh = ("diff --git a/fresh.log b/fresh.log\nnew file mode 100644\n--- /dev/null\n"
                 "+++ b/fresh.log\n@@ -0,0 +1 @@\n+x\n")
        paths, problems = gitapply.validate_diff(root, tracked, [])
        self.assertEqual((paths, problems), (["golden.log"], []))
        paths, problems = gitapply.validate_diff(root, fresh + tracked, [])
        self.assertEqual(paths, ["fresh.log", "golden.log"])
        self.assertEqual(problems, ["touches git-ignored path fresh.log (a revert would not undo it)"])
        self.assertFalse(hasattr(gitapply, "ignored_paths"))  # one ignore check, in gitops


if __name__ == "__main__":
    unittest.main()
