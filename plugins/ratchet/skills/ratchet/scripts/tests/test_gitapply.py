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


if __name__ == "__main__":
    unittest.main()
