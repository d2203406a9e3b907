"""The fault-injection suite (bench/faults.py) must pass in its quick form:
kills at every phase, torn and edited state, tampering, huge output, hangs,
reverts with the user's files present and bad inputs, against the real CLI."""

import subprocess
import sys
import unittest
from pathlib import Path

FAULTS = Path(__file__).resolve().parents[6] / "bench" / "faults.py"


@unittest.skipUnless(FAULTS.exists(), "bench/ is only in a checkout of the repository")
class FaultInjection(unittest.TestCase):
    def test_quick_run_passes_every_check(self):
        proc = subprocess.run([sys.executable, str(FAULTS), "--quick"], capture_output=True, text=True,
                              timeout=600, stdin=subprocess.DEVNULL)
        lines = proc.stdout.splitlines()
        failed = [line for line in lines if line.startswith("FAIL")]
        self.assertEqual(failed, [], proc.stdout[-4000:] + proc.stderr[-2000:])
        self.assertEqual(proc.returncode, 0, proc.stdout[-4000:] + proc.stderr[-2000:])
        self.assertTrue(lines and lines[-1].startswith("faults: PASS"), proc.stdout[-2000:])
        self.assertGreaterEqual(sum(line.startswith("PASS") for line in lines), 13)
        figures = next(line for line in lines if line.startswith("faults injected:"))
        for zero in ("records lost: 0;", "records doubled: 0;", "orphans left: 0"):
            self.assertIn(zero, figures)


if __name__ == "__main__":
    unittest.main()
