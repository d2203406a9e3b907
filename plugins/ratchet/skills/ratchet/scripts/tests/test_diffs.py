"""Tests for diffs.py: reading a proposer's answer (parse_proposal,
normalize_diff) and the paths a diff touches (diff_paths), without git.
The same functions checked against git itself are in test_gitapply.py."""

import unittest

from critic import diffs
from tests.support import SIMPLE_DIFF, proposal_text


class ParseProposalTest(unittest.TestCase):
    def test_exact_contract(self):
        p = diffs.parse_proposal(proposal_text())
        self.assertEqual(p["problems"], [])
        self.assertEqual(p["hypothesis"], "Precompute the sum")
        self.assertEqual(p["expected"], "time_ms down 5%")
        self.assertEqual(p["rationale"], "The loop is hot.\nHistory shows caching helped.")
        self.assertEqual(p["diff"], SIMPLE_DIFF)

    def test_markdown_decorated_keys_and_crlf(self):
        text = proposal_text().replace("HYPOTHESIS:", "**HYPOTHESIS:**").replace(
            "EXPECTED:", "## Expected effect:").replace("\n", "\r\n")
        p = diffs.parse_proposal(text)
        self.assertEqual(p["problems"], [])
        self.assertEqual(p["hypothesis"], "Precompute the sum")
        self.assertEqual(p["expected"], "time_ms down 5%")
        self.assertEqual(p["diff"], SIMPLE_DIFF)

    def test_diff_ends_at_first_bare_fence_and_text_after_is_ignored(self):
        text = proposal_text() + "\nI hope this helps.\n```\nstray\n```\n"
        self.assertEqual(diffs.parse_proposal(text)["diff"], SIMPLE_DIFF)

    def test_diff_containing_backticks_in_content_lines(self):
        diff = ("diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n"
                "@@ -1,3 +1,3 @@\n ```\n-old\n+new\n ```\n")
        p = diffs.parse_proposal(proposal_text(diff=diff))
        self.assertEqual(p["diff"], diff)

    def test_diff_without_trailing_newline_gets_one(self):
        p = diffs.parse_proposal(proposal_text(diff=SIMPLE_DIFF.rstrip("\n") + "\n"))
        self.assertTrue(p["diff"].endswith("+    return 45\n"))

    def test_longer_fence_is_closed_only_by_a_fence_as_long(self):
        text = "HYPOTHESIS: h\nDIFF:\n````diff\n" + SIMPLE_DIFF + "```\n````\nafter\n"
        self.assertEqual(diffs.parse_proposal(text)["diff"], SIMPLE_DIFF + "```\n")

    def test_answer_indented_by_the_agent_hand_back_parses_like_the_original(self):
        handed_back = "[Subagent hand-back] The report follows:\n" + "".join(
            "  " + line if line.strip() else line for line in proposal_text().splitlines(True))
        p = diffs.parse_proposal(handed_back)
        self.assertEqual(p["problems"], [])
        self.assertEqual(p["hypothesis"], "Precompute the sum")
        self.assertEqual(p["diff"], SIMPLE_DIFF)

    def test_unfenced_diff_after_key(self):
        text = "HYPOTHESIS: h\nDIFF:\n" + SIMPLE_DIFF
        self.assertEqual(diffs.parse_proposal(text)["diff"], SIMPLE_DIFF)

    def test_missing_pieces_are_problems(self):
        p = diffs.parse_proposal("HYPOTHESIS: h\nRATIONALE: r\n")
        self.assertIn("missing DIFF: block", p["problems"])
        p = diffs.parse_proposal("DIFF:\n```diff\n" + SIMPLE_DIFF + "```\n")
        self.assertIn("missing HYPOTHESIS: line", p["problems"])
        p = diffs.parse_proposal("HYPOTHESIS: h\nDIFF:\n```diff\njust some text\n```\n")
        self.assertTrue(any("not a unified diff" in x for x in p["problems"]))

    def test_no_proposal(self):
        p = diffs.parse_proposal("NO PROPOSAL: everything obvious was tried\n")
        self.assertEqual(p["no_proposal"], "everything obvious was tried")
        self.assertEqual(len(p["problems"]), 1)
        self.assertIn("no proposal", p["problems"][0])


class DiffPathsTest(unittest.TestCase):
    def test_simple(self):
        self.assertEqual(diffs.diff_paths(SIMPLE_DIFF), ["src/fast.py"])

    def test_new_deleted_and_timestamps(self):
        diff = ("--- /dev/null\n+++ b/new.txt\t2024-01-01 00:00:00\n@@ -0,0 +1 @@\n+x\n"
                "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-y\n")
        self.assertEqual(diffs.diff_paths(diff), ["new.txt", "old.txt"])

    def test_hunk_content_that_looks_like_a_header_is_not_a_path(self):
        diff = ("diff --git a/q.sql b/q.sql\n--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,2 @@\n"
                "--- a/bench.py\n+select 1;\n x\n")
        self.assertEqual(diffs.diff_paths(diff), ["q.sql"])

    def test_header_pair_inside_miscounted_hunk_is_still_read(self):
        diff = ("--- a/one.py\n+++ b/one.py\n@@ -1,9 +1,9 @@\n-a\n+b\n"
                "--- a/bench.py\n+++ b/bench.py\n@@ -1 +1 @@\n-1\n+2\n")
        self.assertIn("bench.py", diffs.diff_paths(diff))

    def test_git_diff_header_alone_counts(self):
        diff = "diff --git a/bench.py b/bench.py\nold mode 100644\nnew mode 100755\n"
        self.assertEqual(diffs.diff_paths(diff), ["bench.py"])

    def test_rename_copy_and_binary_lines(self):
        diff = ("diff --git a/x.py b/y.py\nsimilarity index 100%\nrename from x.py\nrename to y.py\n"
                "Binary files a/img.png and b/img.png differ\n")
        paths = diffs.diff_paths(diff)
        for p in ("x.py", "y.py", "img.png"):
            self.assertIn(p, paths)

    def test_quoted_header(self):
        diff = 'diff --git "a/tab\\tname" "b/tab\\tname"\n--- "a/tab\\tname"\n+++ "b/tab\\tname"\n'
        self.assertEqual(diffs.diff_paths(diff), ["tab\tname"])


if __name__ == "__main__":
    unittest.main()
