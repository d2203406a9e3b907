"""The decision benchmark must keep running against the real stats module."""

import subprocess
import sys
import unittest
from pathlib import Path

BENCH = Path(__file__).resolve().parents[6] / "bench" / "decisions.py"


@unittest.skipUnless(BENCH.exists(), "bench/ is only in a checkout of the repository")
class DecisionBenchmark(unittest.TestCase):
    def test_quick_run_meets_every_target(self):
        proc = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        verdicts = [line for line in proc.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
        self.assertEqual(len(verdicts), 11, proc.stdout[-3000:])
        self.assertTrue(all(v.startswith("PASS") for v in verdicts), verdicts)
        self.assertIn("ratchet", proc.stdout)
        self.assertIn("naive", proc.stdout)


if __name__ == "__main__":
    unittest.main()
