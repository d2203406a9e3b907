"""The benchmarks must keep running against the real code: the decision
benchmark (stats module) and the overhead benchmark (the CLI)."""

import subprocess
import sys
import unittest
from pathlib import Path

BENCH = Path(__file__).resolve().parents[6] / "bench" / "decisions.py"
OVERHEAD = BENCH.with_name("overhead.py")


@unittest.skipUnless(BENCH.exists(), "bench/ is only in a checkout of the repository")
class DecisionBenchmark(unittest.TestCase):
    def test_quick_run_meets_every_target(self):
        proc = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        verdicts = [line for line in proc.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
        self.assertEqual(len(verdicts), 14, proc.stdout[-3000:])
        self.assertEqual(sum(v.split("  ", 1)[1].startswith("constraint:") for v in verdicts), 3,
                         "the constraint scenario's three targets")
        self.assertTrue(all(v.startswith("PASS") for v in verdicts), verdicts)
        self.assertIn("ratchet", proc.stdout)
        self.assertIn("naive", proc.stdout)


@unittest.skipUnless(OVERHEAD.exists(), "bench/ is only in a checkout of the repository")
class OverheadBenchmark(unittest.TestCase):
    def test_quick_run_runs_and_prints_every_number(self):
        """--quick judges only that the benchmark ran (the targets are printed, not judged)."""
        proc = subprocess.run([sys.executable, str(OVERHEAD), "--quick"], capture_output=True, text=True,
                              timeout=300)
        out = proc.stdout
        self.assertEqual(proc.returncode, 0, out[-3000:] + proc.stderr[-3000:])
        verdicts = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
        self.assertEqual(len(verdicts), 16, out[-3000:])
        for design in ("exact", "noisy"):
            self.assertIn(f"design {design}", out)
            for what in ("status", "run-trial", "decide", "JSON per normal iteration", "baseline answer"):
                self.assertTrue(any(v.split(" ", 1)[1].startswith(f"{design}: {what}") for v in verdicts),
                                (design, what))
        self.assertEqual(out.count("git processes: "), 2)
        self.assertEqual(out.count("JSON the model reads: "), 2)
        self.assertRegex(out.splitlines()[-1], r"^overhead --quick: ran in \d+ s; \d+ of 16 targets pass, "
                                               r"\d+ fail \(not judged in --quick\)$")


if __name__ == "__main__":
    unittest.main()
