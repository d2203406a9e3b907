"""Critic mode end to end, in process, against temporary git repositories:
propose -> judge-packet -> verdict -> run-trial -> decide, runner-up, audit;
plus the agent and instruction files' contracts."""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import unittest
from pathlib import Path
from unittest import mock

from commands import decide, init, trial
from shell import context
from critic import commands as critic
from critic import blinding
from critic import diffs
from critic import gitapply
from critic import proposals
from critic import verdicts
from core.errors import UsageError
from tests.support import GIT_ENV, git, make_repo

PLUGIN = Path(__file__).resolve().parents[4]
AGENTS = PLUGIN / "agents"
CRITIC_MODE = PLUGIN / "skills" / "ratchet" / "instructions" / "critic-mode.md"

ALGO = "def helper():\n    return 1\n\n\nCOST = 10\n\n\ndef other():\n    return 2\n"
BENCH = "import sys\nsys.path.insert(0, 'src')\nimport algo\nprint(f'cost: {algo.COST}')\n"


def cost_diff(new: int, path: str = "src/algo.py") -> str:
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            "@@ -3,5 +3,5 @@ def helper():\n \n \n-COST = 10\n+COST = %d\n \n \n" % new)


def answer(hyp: str, diff: str, extra: str = "") -> str:
    return (f"HYPOTHESIS: {hyp}\nEXPECTED: cost down\nRATIONALE:\n{extra}cost is a constant\n"
            f"DIFF:\n```diff\n{diff}```\n")


def ns(**kw):
    base = {"file": None, "pick": None, "confidence": None, "reasons": None, "concern": []}
    base.update(kw)
    return argparse.Namespace(**base)


class RunTestCase(unittest.TestCase):
    def setUp(self):
        env = mock.patch.dict(os.environ, GIT_ENV)   # in-process git calls stay hermetic
        env.start()
        self.addCleanup(env.stop)
        self.root = make_repo({"src/algo.py": ALGO, "bench.py": BENCH, ".gitignore": "*.cache\n"})
        self.addCleanup(shutil.rmtree, self.root, True)
        argv = ["--run-command", f"{shlex.quote(sys.executable)} bench.py", "--direction", "min",
                "--metric-name", "cost", "--report-source", "stdout", "--protect", "bench.py",
                "--critic", "--iterations", "10"]
        init.init(argv, self.root)
        trial.run_trial(self.root, True, None)
        decide.decide(self.root, "baseline")
        self.incoming = self.root / ".ratchet" / "proposals"
        self.incoming.mkdir(parents=True, exist_ok=True)

    def write(self, what: str, text: str) -> Path:
        path = self.incoming / f"incoming-{what}.md"
        path.write_text(text)
        return path

    def propose_both(self, a: str, b: str):
        self.write("a", a)
        self.write("b", b)
        return critic.propose(self.root, ns(slot="a")), critic.propose(self.root, ns(slot="b"))

    def packet(self, seed=None):
        if seed is None:
            return critic.judge_packet(self.root, ns())
        with mock.patch.object(proposals, "new_seed", return_value=seed):
            return critic.judge_packet(self.root, ns())

    def state(self, it=1):
        run = context.load(self.root)
        return proposals.load_state(run.store, run.key, it)

    def algo(self) -> str:
        return (self.root / "src/algo.py").read_text()

    def measure(self, description="change"):
        trial.run_trial(self.root, True, "h")
        return decide.decide(self.root, description)


class ContestTest(RunTestCase):
    def test_full_contest_pick_is_applied_measured_and_recorded(self):
        ra, rb = self.propose_both(answer("small: cost 8 (I am proposer A)", cost_diff(8)),
                                   answer("big: cost 5", cost_diff(5), "## Radical proposal\n"))
        self.assertTrue(ra["valid"], ra)
        self.assertTrue(rb["valid"], rb)
        self.assertFalse((self.incoming / "incoming-a.md").exists())   # consumed
        self.assertTrue((self.incoming / "iter-0001-a.raw.md").exists())
        out = self.packet()
        self.assertEqual(out["candidates"], 2)
        self.assertEqual(out["disqualified"], {})
        text = Path(out["packet"]).read_text()
        self.assertFalse(blinding.names_a_proposer(text), text)
        self.assertNotIn("radical", text.lower())
        self.assertIn("+COST = 5", text)
        self.assertIn("iter 0: baseline", text)
        st = self.state()
        labels = st["blind"]["labels"]
        self.assertEqual(sorted(labels.values()), ["a", "b"])
        self.assertEqual(st["blind"]["order"], blinding.order_for_seed(st["blind"]["seed"]))
        # X is shown first and is the first slot of the seeded order
        self.assertLess(text.index("## Candidate X"), text.index("## Candidate Y"))
        self.assertEqual(labels["X"], st["blind"]["order"][0])
        label_b = next(lab for lab, slot in labels.items() if slot == "b")
        self.write("verdict", "Here you go:\n" + json.dumps(
            {"pick": label_b, "confidence": 0.8, "integrity_concerns": [], "reasons": "bigger win"}))
        v = critic.verdict(self.root, ns())
        self.assertTrue(v["applied"])
        self.assertEqual(v["hypothesis"], "big: cost 5")
        self.assertIn("COST = 5", self.algo())
        self.assertIn("run-trial --all", v["next"])
        dec = self.measure("cost 5")
        self.assertEqual(dec["decision"], "improve")
        rec = context.load(self.root).history[-1]
        c = rec["critic"]
        self.assertEqual(c["measured"], "b")
        self.assertTrue(c["measured_exact"])
        self.assertEqual(c["picked"], "b")
        self.assertEqual(c["runner_up"], "a")
        self.assertEqual(c["verdict"]["pick"], label_b)
        self.assertEqual(c["blind"]["labels"], labels)
        self.assertEqual(c["proposals"]["a"]["hypothesis"], "small: cost 8 (I am proposer A)")
        self.assertTrue(c["proposals"]["a"]["valid"])
        # kept: no runner-up is offered
        self.assertIsNone(proposals.runner_up_hint(context.load(self.root)))

    def test_order_follows_seed(self):
        self.propose_both(answer("eight", cost_diff(8)), answer("five", cost_diff(5)))
        seeds = {tuple(blinding.order_for_seed(s)): s for s in range(50)}
        for order, seed in seeds.items():
            self.packet(seed)
            st = self.state()
            self.assertEqual(st["blind"]["seed"], seed)
            self.assertEqual(tuple(st["blind"]["order"]), order)
            text = (self.root / st["packet"]).read_text()
            first = {"a": "eight", "b": "five"}[order[0]]
            self.assertIn(f"## Candidate X\n\nHypothesis: {first}", text)
        self.assertEqual(len(seeds), 2)

    def test_protected_and_broken_diffs_are_disqualified_before_the_judge(self):
        bench_diff = ("diff --git a/bench.py b/bench.py\n--- a/bench.py\n+++ b/bench.py\n"
                      "@@ -4 +4 @@\n-print(f'cost: {algo.COST}')\n+print('cost: 1')\n")
        ra, rb = self.propose_both(answer("cheat", bench_diff), answer("fine", cost_diff(7)))
        self.assertFalse(ra["valid"])
        self.assertTrue(any("protected path bench.py" in p for p in ra["problems"]), ra)
        out = self.packet()
        self.assertEqual(out["candidates"], 1)
        self.assertEqual(out["labels"], ["X"])
        self.assertIn("a", out["disqualified"])
        text = Path(out["packet"]).read_text()
        self.assertNotIn("cheat", text)
        self.assertNotIn("Candidate Y", text)
        self.assertEqual(self.state()["blind"]["labels"], {"X": "b"})
        with self.assertRaises(UsageError):
            critic.verdict(self.root, ns(pick="Y", confidence=0.5, reasons="r"))
        v = critic.verdict(self.root, ns(pick="X", confidence=0.5, reasons="r"))
        self.assertIn("COST = 7", self.algo())
        self.assertEqual(v["pick"], "X")

    def test_other_disqualifications(self):
        cases = {
            "protected path .ratchet/": "diff --git a/.ratchet/x b/.ratchet/x\n--- /dev/null\n+++ b/.ratchet/x\n@@ -0,0 +1 @@\n+1\n",
            "git-ignored path x.cache": "diff --git a/x.cache b/x.cache\n--- /dev/null\n+++ b/x.cache\n@@ -0,0 +1 @@\n+1\n",
            "does not apply": cost_diff(8).replace("-COST = 10", "-COST = 11"),
            "protected path bench.py": ("diff --git a/bench.py b/b2.py\nsimilarity index 100%\n"
                                        "rename from bench.py\nrename to b2.py\n"),
            "leaves the repository": "--- a/../up.py\n+++ b/../up.py\n@@ -1 +1 @@\n-a\n+b\n",
        }
        for expected, diff in cases.items():
            with self.subTest(expected):
                self.write("a", answer(expected, diff))
                out = critic.propose(self.root, ns(slot="a"))
                self.assertFalse(out["valid"], out)
                self.assertTrue(any(expected in p for p in out["problems"]), out["problems"])
        self.write("a", answer("new file", "diff --git a/src/new.py b/src/new.py\n--- /dev/null\n"
                                           "+++ b/src/new.py\n@@ -0,0 +1 @@\n+X = 1\n"))
        self.assertTrue(critic.propose(self.root, ns(slot="a"))["valid"])
        self.write("a", "NO PROPOSAL: nothing left")
        self.assertFalse(critic.propose(self.root, ns(slot="a"))["valid"])
        self.write("b", answer("no diff", ""))
        self.assertFalse(critic.propose(self.root, ns(slot="b"))["valid"])
        out = self.packet()
        self.assertEqual(out["candidates"], 0)
        self.assertNotIn("packet", out)
        self.assertIn("yourself", out["next"])
        self.assertEqual(git(self.root, "status", "--porcelain"), "")

    def test_symlink_into_protected_file_is_disqualified(self):
        (self.root / "link.py").symlink_to("bench.py")
        git(self.root, "add", "link.py")
        git(self.root, "commit", "-q", "-m", "link")
        paths, problems = gitapply.validate_diff(self.root, cost_diff(8, "link.py"), ["bench.py"])
        self.assertEqual(paths, ["link.py"])
        self.assertTrue(any("resolves to protected path bench.py" in p for p in problems), problems)

    def test_edited_diff_after_propose_is_refused(self):
        self.propose_both(answer("eight", cost_diff(8)), answer("five", cost_diff(5)))
        (self.incoming / "iter-0001-a.diff").write_text(cost_diff(1))
        with self.assertRaisesRegex(UsageError, "edited after it was proposed"):
            self.packet()

    def test_verdict_checks(self):
        with self.assertRaisesRegex(UsageError, "judge-packet"):
            critic.verdict(self.root, ns(pick="X", confidence=0.5, reasons="r"))
        self.propose_both(answer("eight", cost_diff(8)), answer("five", cost_diff(5)))
        self.packet()
        for bad in (ns(pick="X", confidence=1.2, reasons="r"), ns(pick="Z", confidence=0.1, reasons="r"),
                    ns(pick="X", confidence=0.5, reasons="  "), ns(pick="X", reasons="r"),
                    ns(pick="X", confidence=0.5, reasons="r", file="f")):
            with self.subTest(bad=bad), self.assertRaises(UsageError):
                critic.verdict(self.root, bad)
        self.write("verdict", "I prefer X.")
        with self.assertRaisesRegex(UsageError, "no verdict JSON"):
            critic.verdict(self.root, ns())
        self.assertIsNone(self.state()["verdict"])
        self.assertFalse((self.incoming / "incoming-verdict.md").exists())   # set aside for a fresh Write
        self.assertTrue((self.incoming / "iter-0001-verdict.rejected.md").exists())
        (self.root / "src/algo.py").write_text(ALGO + "# stray edit\n")
        with self.assertRaisesRegex(UsageError, "working tree has edits"):
            critic.verdict(self.root, ns(pick="X", confidence=0.5, reasons="r"))
        git(self.root, "checkout", "--", "src/algo.py")
        critic.verdict(self.root, ns(pick="X", confidence=0.5, reasons="r", concern=["c1"]))
        self.assertEqual(self.state()["verdict"]["integrity_concerns"], ["c1"])
        with self.assertRaisesRegex(UsageError, "already"):
            critic.verdict(self.root, ns(pick="Y", confidence=0.5, reasons="r"))
        with self.assertRaisesRegex(UsageError, "already has a verdict"):
            self.write("a", answer("again", cost_diff(3)))
            critic.propose(self.root, ns(slot="a"))

    def test_missing_inputs(self):
        with self.assertRaisesRegex(UsageError, "does not exist"):
            critic.propose(self.root, ns(slot="a"))
        self.write("a", answer("eight", cost_diff(8)))
        critic.propose(self.root, ns(slot="a"))
        with self.assertRaisesRegex(UsageError, "slot b"):
            self.packet()

    def test_neither_applies_nothing_and_own_change_is_recorded(self):
        self.propose_both(answer("eight", cost_diff(8)), answer("five", cost_diff(5)))
        self.packet()
        v = critic.verdict(self.root, ns(pick="neither", confidence=0.6, reasons="both risky"))
        self.assertFalse(v["applied"])
        self.assertIn("yourself", v["next"])
        self.assertEqual(git(self.root, "status", "--porcelain"), "")
        (self.root / "src/algo.py").write_text(ALGO.replace("COST = 10", "COST = 9"))
        self.measure("own: cost 9")
        c = context.load(self.root).history[-1]["critic"]
        self.assertEqual(c["verdict"]["pick"], "neither")
        self.assertEqual(c["measured"], "own")
        self.assertIsNone(c["runner_up"])
        self.assertIsNone(proposals.runner_up_hint(context.load(self.root)))

    def test_reverted_pick_offers_runner_up_once(self):
        worse = answer("worse: cost 12", cost_diff(12))
        better = answer("better: cost 6", cost_diff(6))
        self.propose_both(worse, better)
        self.packet()
        label_a = next(lab for lab, s in self.state()["blind"]["labels"].items() if s == "a")
        critic.verdict(self.root, ns(pick=label_a, confidence=0.9, reasons="looks good"))
        dec = self.measure("cost 12")
        self.assertEqual(dec["decision"], "regress")
        run = context.load(self.root)
        hint = proposals.runner_up_hint(run)
        self.assertIsNotNone(hint)
        self.assertIn("runner-up", hint)
        self.assertIn("better: cost 6", hint)
        out = critic.runner_up(self.root, ns())
        self.assertTrue(out["applied"], out)
        self.assertEqual(out["from_iter"], 1)
        self.assertIn("COST = 6", self.algo())
        self.assertIsNone(proposals.runner_up_hint(context.load(self.root)))   # consumed
        with self.assertRaises(UsageError):
            critic.runner_up(self.root, ns())
        dec = self.measure("cost 6")
        self.assertEqual(dec["decision"], "improve")
        c = context.load(self.root).history[-1]["critic"]
        self.assertEqual(c["mode"], "runner_up")
        self.assertEqual(c["source_iter"], 1)
        self.assertEqual(c["measured"], "b")
        self.assertTrue(c["measured_exact"])
        self.assertIsNone(verdicts.runner_up_offer(context.load(self.root).history))

    def test_runner_up_that_no_longer_qualifies(self):
        self.propose_both(answer("worse", cost_diff(12)), answer("better", cost_diff(6)))
        self.packet()
        label_a = next(lab for lab, s in self.state()["blind"]["labels"].items() if s == "a")
        critic.verdict(self.root, ns(pick=label_a, confidence=0.9, reasons="r"))
        self.measure("cost 12")
        (self.incoming / "iter-0001-b.diff").write_text(cost_diff(1))   # tampered
        out = critic.runner_up(self.root, ns())
        self.assertFalse(out["applied"])
        self.assertTrue(out["problems"])
        self.assertIn("COST = 10", self.algo())
        self.assertIsNone(proposals.runner_up_hint(context.load(self.root)))
        self.propose_both(answer("eight", cost_diff(8)), answer("five", cost_diff(5)))
        self.assertEqual(self.packet()["candidates"], 2)

    def test_critic_commands_refuse_mid_iteration(self):
        (self.root / "src/algo.py").write_text(ALGO.replace("COST = 10", "COST = 9"))
        trial.run_trial(self.root, False, "h")
        self.write("a", answer("eight", cost_diff(8)))
        with self.assertRaisesRegex(UsageError, "already being measured"):
            critic.propose(self.root, ns(slot="a"))

    def test_audit(self):
        out = critic.critic_audit(self.root, ns())
        self.assertEqual(out["contests"], 0)
        self.propose_both(answer("eight", cost_diff(8)), answer("five", cost_diff(5)))
        self.packet()
        critic.verdict(self.root, ns(pick="X", confidence=0.5, reasons="r"))
        self.measure("x")
        out = critic.critic_audit(self.root, ns())
        self.assertEqual(out["contests"], 1)
        self.assertEqual(out["first_shown_picked"], 1)


from tests.support import RATCHET  # noqa: E402


class CliTest(RunTestCase):
    """The same flow through the real CLI, under python3 -I, as the skill runs it."""

    def cli(self, *args):
        proc = subprocess.run([sys.executable, "-I", str(RATCHET), *args], cwd=self.root,
                              capture_output=True, text=True)
        return proc.returncode, (json.loads(proc.stdout) if proc.returncode == 0 else proc.stderr)

    def test_flow(self):
        self.write("a", answer("eight", cost_diff(8)))
        self.write("b", answer("five", cost_diff(5)))
        self.assertEqual(self.cli("propose", "--slot", "a")[0], 0)
        code, out = self.cli("propose", "--slot", "b")
        self.assertEqual((code, out["next"]), (0, "ratchet.py judge-packet"))
        code, out = self.cli("judge-packet")
        self.assertEqual((code, out["candidates"]), (0, 2))
        code, err = self.cli("verdict", "--pick", "Z", "--confidence", "0.5", "--reasons", "r")
        self.assertEqual(code, 2)
        self.assertIn("not one of", err)
        self.write("verdict", '{"pick": "Y", "confidence": 0.5, "integrity_concerns": [], "reasons": "r"}')
        code, out = self.cli("verdict")
        self.assertEqual((code, out["applied"]), (0, True))
        self.assertEqual(self.cli("run-trial", "--all", "--hypothesis", out["hypothesis"])[0], 0)
        code, out = self.cli("decide", "--description", "d")
        self.assertEqual(code, 0)
        rec = context.load(self.root).history[-1]
        self.assertIn("critic", rec)                 # the decide hook is wired too
        self.assertTrue(rec["critic"]["measured_exact"])
        code, out = self.cli("critic-audit")
        self.assertEqual((code, out["contests"]), (0, 1))

    def test_runner_up_is_announced_in_next(self):
        self.write("a", answer("worse", cost_diff(12)))
        self.write("b", answer("better", cost_diff(6)))
        self.cli("propose", "--slot", "a")
        self.cli("propose", "--slot", "b")
        self.cli("judge-packet")
        label_a = next(lab for lab, s in self.state()["blind"]["labels"].items() if s == "a")
        self.assertEqual(self.cli("verdict", "--pick", label_a, "--confidence", "0.7", "--reasons", "r")[0], 0)
        self.cli("run-trial", "--all", "--hypothesis", "worse")
        code, out = self.cli("decide", "--description", "worse")
        self.assertFalse(out["kept"])
        self.assertIn("ratchet.py runner-up", out["next"])
        self.assertIn("ratchet.py runner-up", self.cli("status")[1]["next"])
        code, out = self.cli("runner-up")
        self.assertEqual((code, out["applied"]), (0, True))
        self.assertNotIn("runner-up", self.cli("status")[1]["next"])


class ParserTest(unittest.TestCase):
    def test_add_parsers(self):
        p = argparse.ArgumentParser()
        sub = p.add_subparsers(dest="command")
        critic.add_parsers(sub)
        a = p.parse_args(["propose", "--slot", "b", "--file", "x.md"])
        self.assertIs(a.handler, critic.propose)
        self.assertEqual((a.slot, a.file), ("b", "x.md"))
        v = p.parse_args(["verdict", "--pick", "X", "--confidence", "0.5", "--reasons", "r",
                          "--concern", "c1", "--concern", "c2"])
        self.assertIs(v.handler, critic.verdict)
        self.assertEqual(v.confidence, 0.5)
        self.assertEqual(v.concern, ["c1", "c2"])
        for cmd, fn in (("judge-packet", critic.judge_packet), ("runner-up", critic.runner_up),
                        ("critic-audit", critic.critic_audit)):
            self.assertIs(p.parse_args([cmd]).handler, fn)
        with self.assertRaises(UsageError):
            p.parse_args(["verdict", "--pick", "X", "--confidence", "high", "--reasons", "r"])


def frontmatter(path: Path) -> tuple[dict, str]:
    text = path.read_text()
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.DOTALL)
    assert m, f"{path} has no frontmatter"
    fields = dict(line.split(": ", 1) for line in m.group(1).splitlines())
    return fields, m.group(2)


class AgentFilesTest(unittest.TestCase):
    EXPECTED = {"ratchet-proposer-a": "Read, Grep, Glob", "ratchet-proposer-b": "Read, Grep, Glob",
                "ratchet-critic": "Read, Grep, Glob"}

    def test_frontmatter(self):
        for agent, tools in self.EXPECTED.items():
            with self.subTest(agent):
                fields, body = frontmatter(AGENTS / f"{agent}.md")
                self.assertEqual(fields["name"], agent)
                self.assertEqual(fields["tools"], tools)
                self.assertLessEqual(len(fields["description"].split()), 15)
                self.assertNotIn("CLAUDE_SKILL_DIR", body)   # not substituted in agent files
                self.assertGreater(len(body.split()), 150)

    def test_proposer_contract_example_parses(self):
        for agent in ("ratchet-proposer-a", "ratchet-proposer-b"):
            with self.subTest(agent):
                _, body = frontmatter(AGENTS / f"{agent}.md")
                example = re.search(r"````text\n(.*?)\n````", body, re.DOTALL).group(1)
                parsed = diffs.parse_proposal(example)
                self.assertEqual(parsed["problems"], [])
                self.assertTrue(parsed["diff"].startswith("diff --git a/src/example.py b/src/example.py\n"))
                self.assertEqual(diffs.diff_paths(parsed["diff"]), ["src/example.py"])
                self.assertIn("NO PROPOSAL:", body)

    def test_critic_contract_example_validates(self):
        _, body = frontmatter(AGENTS / "ratchet-critic.md")
        line = next(ln.strip() for ln in body.splitlines() if ln.strip().startswith('{"pick"'))
        v = verdicts.validate_verdict(verdicts.parse_verdict_text(line), ["X", "Y"])
        self.assertEqual(v["pick"], "X")

    def test_critic_mode_flow(self):
        text = CRITIC_MODE.read_text()
        for needle in ('"ratchet:ratchet-proposer-a"', '"ratchet:ratchet-proposer-b"',
                       '"ratchet:ratchet-critic"', "run_in_background: false", "ONE message",
                       "RATCHET propose --slot a", "RATCHET judge-packet", "RATCHET verdict",
                       "RATCHET runner-up", "run-trial --all", "decide"):
            self.assertIn(needle, text)
        self.assertNotIn("${CLAUDE_SKILL_DIR}", text)   # instruction files are not expanded
        steps = [int(n) for n in re.findall(r"^(\d+)\. ", text, re.MULTILINE)]
        self.assertEqual(steps, list(range(1, len(steps) + 1)))


if __name__ == "__main__":
    unittest.main()
