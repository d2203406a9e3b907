"""--constraint end to end: a report holding two metrics, on temporary repositories."""

import sys
from pathlib import Path

from tests.support import RepoTestCase, git

DETERMINISTIC = ("import sys\nsys.path.insert(0, 'src')\nimport work\n"
                 "print('score:', work.N)\nprint('mem:', work.MEM)\nprint('errors:', work.ERRORS)\n")
# Noise from the OS's random source: a spread of 0.2 on mem and 5 on score.
NOISY = ("import random, sys\nsys.path.insert(0, 'src')\nimport work\n"
         "print('score:', work.N + random.gauss(0, 5))\nprint('mem:', work.MEM + random.gauss(0, 0.2))\n"
         "print('errors:', work.ERRORS)\n")


def work(n=1000, mem=100.0, errors=0):
    return f"N = {n}\nMEM = {mem}\nERRORS = {errors}\n"


class Deterministic(RepoTestCase):
    files = {"src/work.py": work(), "bench.py": DETERMINISTIC, ".gitignore": "__pycache__/\n"}

    def begin(self, *constraints):
        args = [a for c in constraints for a in ("--constraint", c)]
        out = self.init("--protect", "bench.py", *args)
        self.assertEqual(out["constraints"], list(constraints))
        base = self.iteration("baseline")
        self.assertEqual(base["calibration"]["design"], "exact", "deterministic side metrics keep the exact design")
        return base

    def test_an_improvement_that_breaks_a_tolerance_is_reverted_with_its_own_decision(self):
        self.begin("mem<=+5%")
        self.write("src/work.py", work(900, 110.0))
        out = self.iteration("faster, fatter")
        self.assertEqual((out["decision"], out["kept"]), ("constraint_failed", False))
        self.assertEqual(out["constraints"], ["mem<=+5%: change +10, past the limit +5"])
        self.assertEqual(out["reason"], "mem<=+5%: change +10, past the limit +5")
        rec = self.results()[-1]
        self.assertEqual(rec["metrics"], {"mem": 110.0})
        check = rec["constraints"][0]
        self.assertEqual((check["status"], check["effect"], check["limit"], check["exact"]), ("fail", -10.0, -5.0, True))
        self.assertEqual(self.read("src/work.py"), work(), "reverted")

    def test_an_improvement_within_every_constraint_is_kept_and_becomes_the_reference(self):
        self.begin("mem<=+5%", "errors<=0")
        self.write("src/work.py", work(900, 105.0))
        out = self.iteration("faster, a bit fatter")
        self.assertEqual(out["decision"], "improve")
        self.assertEqual(out["best"]["metrics"], {"mem": 105.0, "errors": 0.0})
        self.assertEqual(out["constraints"], ["mem<=+5%: change +5, within the limit +5",
                                              "errors<=0: value 0, within the limit 0"])
        self.write("src/work.py", work(800, 106.0, errors=1))
        out = self.iteration("faster, breaks something")
        self.assertEqual(out["decision"], "constraint_failed")
        self.assertEqual(out["reason"], "errors<=0: value 1, past the limit 0")
        text = self.cli("status", "--format", "text").stdout
        self.assertRegex(text, r"iter\s+decision\s+mean\s+delta\s+mem\s+errors\s+kept")
        self.assertRegex(text, r"2\s+constraint_failed\s+800\s+\+100\s+106\s+1\s+no")
        self.assertIn("constraint mem<=+5%: baseline 100 -> best 105 (each change may worsen it by 5)", text)
        status = self.ok("status")
        self.assertEqual(status["constraints"][0], {"constraint": "mem<=+5%", "baseline": 100.0, "best": 105.0,
                                                    "tolerance": 5.0})
        branch = self.ok("finalize")["branches"][0]["branch"]
        message = git(self.repo, "log", "-1", "--format=%B", branch)
        self.assertIn("Ratchet-Constraint: mem<=+5%: change +5, within the limit +5", message)
        self.assertIn("Ratchet-Constraint: errors<=0: value 0, within the limit 0", message)

    def test_a_report_without_a_constraint_metric_is_a_crashed_trial(self):
        self.begin("mem<=+5%")
        self.write("src/work.py", "N = 900\nMEM = None\nERRORS = 0\n")  # the report says "mem: None"
        self.ok("run-trial", "--all")
        out = self.ok("decide", "--description", "mem gone")
        self.assertEqual(out["decision"], "crash")
        problem = self.results()[-1]["trials"][0]["problem"]
        self.assertEqual(problem, "constraint metric: no value for metric 'mem' found in the report")

    def test_a_baseline_that_breaks_a_bound_is_warned_about(self):
        self.write("src/work.py", work(errors=2))
        git(self.repo, "commit", "-qam", "two errors")
        base = self.begin("errors<=0")
        self.assertIn("the baseline itself breaks errors<=0 (value 2): no change is kept until one meets it",
                      base["warnings"])


class Noisy(RepoTestCase):
    files = {"src/work.py": work(), "bench.py": NOISY, ".gitignore": "__pycache__/\n"}

    def begin(self, *extra):
        self.init("--protect", "bench.py", "--calibration-runs", "10", "--constraint", "mem<=+2%", *extra)
        base = self.iteration("baseline")
        self.assertEqual(base["calibration"]["design"], "sequential")
        return base

    def test_the_side_metric_is_tested_on_the_same_pairs(self):
        self.begin()
        self.write("src/work.py", work(900, 104.0))
        out = self.iteration("faster, 4% fatter")
        self.assertEqual(out["decision"], "constraint_failed", out)
        check = self.results()[-1]["constraints"][0]
        self.assertEqual(check["status"], "fail")
        self.assertLess(check["high"], check["limit"])
        self.assertAlmostEqual(check["limit"], -2.0, delta=0.05)
        self.write("src/work.py", work(900, 100.0))
        out = self.iteration("faster, same memory")
        self.assertEqual(out["decision"], "improve", out)
        rec = self.results()[-1]
        self.assertEqual(rec["constraints"][0]["status"], "pass")
        self.assertGreaterEqual(rec["constraints"][0]["n"], rec["test"]["n_pairs"], "pairs for an open constraint")
        self.assertGreater(rec["constraints"][0]["low"], rec["constraints"][0]["limit"])

    def test_a_noisy_side_metric_makes_a_deterministic_primary_paired(self):
        self.write("bench.py", NOISY.replace("work.N + random.gauss(0, 5)", "work.N"))
        git(self.repo, "commit", "-qam", "deterministic score")
        self.begin("--iterations", "1")
        self.write("src/work.py", work(900, 100.0))
        out = self.iteration("faster")
        self.assertEqual(out["decision"], "improve", out)
        self.assertEqual(out["stop"]["reason"], "iterations_exhausted")
        totals = out["total"]["constraints"]
        self.assertEqual([t["metric"] for t in totals], ["mem"])
        self.assertLess(totals[0]["low"], 0.5)
        self.assertGreater(totals[0]["high"], -0.5)
        self.assertIn("confirmed mem: ", self.cli("status", "--format", "text").stdout)
        report = self.ok("report")
        md = Path(report["markdown"]).read_text()
        self.assertIn("Scope: `constraint: mem<=+2%`.", md)
        self.assertIn("| constraints |", md)


class Flags(RepoTestCase):
    def test_a_malformed_constraint_is_one_line_exit_2_and_nothing_is_written(self):
        for spec in ("mem<2", "mem<=2%", "score<=+1", "mem<=-1"):
            res = self.cli("init", "--run-command", f"{sys.executable} bench.py", "--direction", "min",
                           "--metric-name", "score", "--report-source", "stdout", "--constraint", spec)
            self.assertEqual(res.code, 2, spec)
            self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)
            self.assertIn("--constraint", res.stderr)
            self.assertEqual(res.stdout, "")
            self.assertFalse((self.repo / ".ratchet").exists(), spec)
