"""The README's demo command must keep doing what the README says."""

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

DEMO = Path(__file__).resolve().parents[6] / "examples" / "demo.sh"


@unittest.skipUnless(DEMO.exists(), "examples/ is only in a checkout of the repository")
class Demo(unittest.TestCase):
    def test_demo_runs_keep_revert_crash_integrity_then_stops(self):
        work = Path(tempfile.mkdtemp(prefix="ratchet-demo-"))
        self.addCleanup(shutil.rmtree, work, True)
        proc = subprocess.run(["bash", str(DEMO), str(work)], capture_output=True, text=True, timeout=300,
                              env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(work)})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        repo = work / "primes-demo"
        records = [json.loads(line) for line in (repo / ".ratchet" / "results.jsonl").read_text().splitlines()]
        self.assertEqual([r["decision"] for r in records],
                         ["baseline", "improve", "regress", "crash", "integrity_violation"])
        self.assertIn("stopped: patience_exhausted", proc.stdout)
        log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True).stdout
        self.assertEqual(log.splitlines(), ["trial division up to sqrt(k)", "slow prime counter"])
        # the same changes headless: ratchet.py loop with the stand-in as its agent command
        looped = work / "primes-loop"
        records = [json.loads(line) for line in (looped / ".ratchet" / "results.jsonl").read_text().splitlines()]
        self.assertEqual([r["decision"] for r in records],
                         ["baseline", "improve", "regress", "crash", "integrity_violation"])
        self.assertIn("ratchet loop: stopped: patience_exhausted", proc.stdout)
        self.assertIn("agent: 4 runs", proc.stdout)
        self.assertEqual(proc.stdout.strip().splitlines()[-1], str(repo / ".ratchet" / "report.html"))


if __name__ == "__main__":
    unittest.main()
