"""Tests for critic mode's pure core (diffs.py, pathrules.py, blinding.py,
verdicts.py: parsing, paths, blinding, verdicts, records, audit) and, against
temporary git repositories, gitapply.py."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import blinding
import diffs
import gitapply
import pathrules
import verdicts
from errors import UsageError

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def git(root, *args, input_text=None):
    env = dict(os.environ, **GIT_ENV)
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          env=env, input=input_text)
    if proc.returncode != 0:
        raise AssertionError(f"git {args} failed: {proc.stderr}")
    return proc.stdout


def make_repo(files: dict) -> Path:
    root = Path(tempfile.mkdtemp(prefix="ratchet-prop-"))
    git(root, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def diff_of(root: Path, mutate) -> str:
    """The diff `mutate(root)` produces (git diff --binary, renames on),
    after which the repository is restored."""
    mutate(root)
    git(root, "add", "-A")
    out = git(root, "diff", "--cached", "--binary", "-M", "HEAD")
    git(root, "reset", "-q", "--hard", "HEAD")
    git(root, "clean", "-qfd")
    return out


SIMPLE_DIFF = """diff --git a/src/fast.py b/src/fast.py
--- a/src/fast.py
+++ b/src/fast.py
@@ -1,2 +1,2 @@
 def f():
-    return sum(range(10))
+    return 45
"""


def proposal_text(hyp="Precompute the sum", diff=SIMPLE_DIFF, extra=""):
    return (f"Some preamble the model wrote.\n\nHYPOTHESIS: {hyp}\n"
            f"EXPECTED: time_ms down 5%\nRATIONALE:\n{extra}The loop is hot.\n"
            f"History shows caching helped.\nDIFF:\n```diff\n{diff}```\n")


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

    def test_quoted_header(self):
        diff = 'diff --git "a/tab\\tname" "b/tab\\tname"\n--- "a/tab\\tname"\n+++ "b/tab\\tname"\n'
        self.assertEqual(diffs.diff_paths(diff), ["tab\tname"])


class ProtectedTest(unittest.TestCase):
    def test_always_protected(self):
        self.assertTrue(pathrules.protected_by(".ratchet/results.jsonl", []))
        self.assertTrue(pathrules.protected_by("sub/.git/config", []))
        self.assertIsNone(pathrules.protected_by("src/ratchet.py", []))

    def test_globs(self):
        g = ["bench.py", "data/", "tests/**/*.json", "*.lock", "cfg/*"]
        self.assertEqual(pathrules.protected_by("bench.py", g), "bench.py")
        self.assertEqual(pathrules.protected_by("./bench.py", g), "bench.py")
        self.assertEqual(pathrules.protected_by("sub/bench.py", g), "bench.py")      # bare name anywhere
        self.assertEqual(pathrules.protected_by("data/x/y.csv", g), "data/")
        self.assertEqual(pathrules.protected_by("tests/a.json", g), "tests/**/*.json")
        self.assertEqual(pathrules.protected_by("tests/a/b/c.json", g), "tests/**/*.json")
        self.assertEqual(pathrules.protected_by("deep/poetry.lock", g), "*.lock")
        self.assertEqual(pathrules.protected_by("cfg/sub/deep.ini", g), "cfg/*")       # below a matched dir
        self.assertEqual(pathrules.protected_by("BENCH.PY", g), "bench.py")           # case-insensitive
        self.assertIsNone(pathrules.protected_by("src/bench_util.py", g))
        self.assertIsNone(pathrules.protected_by("tests/a.py", g))
        self.assertIsNone(pathrules.protected_by("database/x", g))

    def test_path_problems(self):
        probs = pathrules.path_problems(["ok.py", "../etc/passwd", "/abs", "bench.py"], ["bench.py"])
        self.assertEqual(len(probs), 3)
        self.assertIn("leaves the repository", probs[0])
        self.assertIn("absolute", probs[1])
        self.assertIn("protected path bench.py", probs[2])


class BlindingTest(unittest.TestCase):
    def test_order_is_deterministic_per_seed_and_varies(self):
        self.assertEqual(blinding.order_for_seed(12345), blinding.order_for_seed(12345))
        orders = {tuple(blinding.order_for_seed(s)) for s in range(64)}
        self.assertEqual(orders, {("a", "b"), ("b", "a")})

    def test_new_seed_varies(self):
        self.assertGreater(len({blinding.new_seed() for _ in range(8)}), 1)

    def test_blind_mapping(self):
        for seed in range(20):
            b = blinding.blind(["a", "b"], seed)
            self.assertEqual(b["order"], blinding.order_for_seed(seed))
            self.assertEqual(b["labels"], {"X": b["order"][0], "Y": b["order"][1]})
            self.assertEqual(b["shown_first"], "X")
            self.assertEqual(b["seed"], seed)
        b = blinding.blind(["b"], 7)
        self.assertEqual(b["labels"], {"X": "b"})
        self.assertEqual(blinding.blind([], 7)["labels"], {})

    def test_redaction(self):
        text = ("## Proposer A\nAs ratchet-proposer-a (the conservative proposer) I suggest\n"
                "**Radical approach**\n(conservative) caching, like proposer-b never would.\n"
                "A structural change to the loop.")
        out = blinding.redact_identity(text)
        self.assertFalse(blinding.names_a_proposer(out), out)
        self.assertNotIn("conservative", out.lower())
        self.assertNotIn("radical", out.lower())
        self.assertIn("caching", out)
        self.assertIn("A structural change to the loop.", out)   # ordinary prose is kept

    def test_packet_never_names_a_proposer_and_follows_labels(self):
        entries = {
            "X": {"hypothesis": "I am Proposer B: vectorize", "expected": "faster (radical)",
                  "rationale": "# Radical proposal\nratchet:ratchet-proposer-b says so",
                  "diff": SIMPLE_DIFF, "paths": ["src/fast.py"]},
            "Y": {"hypothesis": "proposer_a: small tweak", "expected": "-1%",
                  "rationale": "conservative approach", "diff": "--- a/q\n+++ b/q\n", "paths": ["q"]},
        }
        text = blinding.render_packet(3, entries, {"goal": "min time_ms", "protected": ["bench.py"],
                                            "history": ["iter 1 improve 10"]})
        self.assertFalse(blinding.names_a_proposer(text), text)
        self.assertNotIn("radical", text.lower())
        self.assertNotIn("conservative", text.lower())
        self.assertLess(text.index("## Candidate X"), text.index("## Candidate Y"))
        self.assertIn("vectorize", text)
        self.assertIn(SIMPLE_DIFF.rstrip("\n"), text)
        self.assertIn("bench.py", text)
        self.assertIn("iter 1 improve 10", text)
        one = blinding.render_packet(3, {"X": entries["Y"]}, {})
        self.assertIn("## Candidate X", one)
        self.assertNotIn("Candidate Y", one)

    def test_packet_fence_outlasts_backticks_in_diff(self):
        diff = "--- a/r.md\n+++ b/r.md\n@@ -1 +1 @@\n-````\n+`````\n"
        text = blinding.render_packet(1, {"X": {"hypothesis": "h", "diff": diff}}, {})
        self.assertIn("``````diff\n", text)


class VerdictTest(unittest.TestCase):
    def test_valid(self):
        v = verdicts.validate_verdict({"pick": "x", "confidence": 0.75, "integrity_concerns": ["hm"],
                                "reasons": " because "}, ["X", "Y"])
        self.assertEqual(v, {"pick": "X", "confidence": 0.75, "integrity_concerns": ["hm"],
                             "reasons": "because"})
        self.assertEqual(verdicts.validate_verdict({"pick": "Neither", "confidence": 0, "reasons": "r"},
                                            ["X", "Y"])["pick"], "neither")

    def test_invalid(self):
        bad = [
            {"pick": "Z", "confidence": 0.5, "reasons": "r"},
            {"pick": "Y", "confidence": 0.5, "reasons": "r"},   # only X was shown
            {"pick": "X", "confidence": 1.5, "reasons": "r"},
            {"pick": "X", "confidence": -0.1, "reasons": "r"},
            {"pick": "X", "confidence": float("nan"), "reasons": "r"},
            {"pick": "X", "confidence": True, "reasons": "r"},
            {"pick": "X", "confidence": 0.5, "reasons": ""},
            {"pick": "X", "confidence": 0.5, "reasons": "r", "integrity_concerns": [1]},
            ["X"],
        ]
        for obj in bad:
            with self.assertRaises(UsageError, msg=obj):
                verdicts.validate_verdict(obj, ["X"])

    def test_parse_verdict_text(self):
        obj = {"pick": "Y", "confidence": 0.6, "integrity_concerns": [], "reasons": "r"}
        for text in (json.dumps(obj), "Verdict:\n```json\n" + json.dumps(obj) + "\n```\n",
                     "I pick Y. " + json.dumps(obj) + " Done."):
            self.assertEqual(verdicts.parse_verdict_text(text), obj)
        with self.assertRaises(UsageError):
            verdicts.parse_verdict_text("I like X better.")


def _state(pick, order=("b", "a"), mode="contest", valid=("a", "b")):
    blind = blinding.blind(list(valid), 0)
    blind["order"] = [s for s in order if s in valid]
    blind["labels"] = {blinding.LABELS[i]: s for i, s in enumerate(blind["order"])}
    return {"mode": mode, "blind": blind,
            "verdict": {"pick": pick, "confidence": 0.5, "integrity_concerns": [], "reasons": "r"},
            "proposals": {s: {"hypothesis": s, "valid": s in valid} for s in blinding.SLOTS}}


class RecordsTest(unittest.TestCase):
    def test_runner_up(self):
        self.assertEqual(verdicts.runner_up(_state("X")), "a")
        self.assertEqual(verdicts.runner_up(_state("Y")), "b")
        self.assertIsNone(verdicts.runner_up(_state("neither")))
        self.assertIsNone(verdicts.runner_up(_state("X", valid=("b",))))
        self.assertEqual(verdicts.resolve_pick(_state("X")), "b")

    def test_critic_record_shape(self):
        st = _state("X")
        st.update(picked="b", measured="b", runner_up="a", packet="p.md")
        rec = verdicts.critic_record(st)
        self.assertEqual(rec["blind"]["labels"], {"X": "b", "Y": "a"})
        self.assertEqual(rec["measured"], "b")
        self.assertEqual(rec["runner_up"], "a")
        self.assertEqual(set(rec["proposals"]), {"a", "b"})
        json.dumps(rec)

    def test_position_bias(self):
        recs = [{"critic": _state("X")} for _ in range(12)] + [_state("neither")]
        rep = verdicts.position_bias(recs)
        self.assertEqual(rep["contests"], 12)
        self.assertEqual(rep["first_shown_picked"], 12)
        self.assertEqual(rep["first_shown_rate"], 1.0)
        self.assertTrue(rep["suspect"])
        self.assertEqual(rep["neither"], 1)
        self.assertEqual(rep["picked_by_proposer"], {"a": 0, "b": 12})
        balanced = [_state("X") for _ in range(6)] + [_state("Y") for _ in range(6)]
        rep = verdicts.position_bias(balanced)
        self.assertEqual(rep["first_shown_rate"], 0.5)
        self.assertFalse(rep["suspect"])
        self.assertAlmostEqual(rep["p_value"], 1.0)
        # single-candidate and runner-up iterations are not contests
        self.assertEqual(verdicts.position_bias([_state("X", valid=("a",)), _state("X", mode="runner_up")])
                         ["contests"], 0)

    def test_binomial(self):
        self.assertAlmostEqual(verdicts._binom_two_sided(0, 4), 2 / 16)
        self.assertAlmostEqual(verdicts._binom_two_sided(10, 10), 2 / 1024)


if __name__ == "__main__":
    unittest.main()
