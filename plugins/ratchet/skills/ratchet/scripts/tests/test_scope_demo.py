"""The README's scope example (examples/scope.sh) must keep doing what the README says."""

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCOPE = Path(__file__).resolve().parents[6] / "examples" / "scope.sh"


@unittest.skipUnless(SCOPE.exists(), "examples/ is only in a checkout of the repository")
class ScopeDemo(unittest.TestCase):
    def test_constraint_failed_then_out_of_scope_then_a_clean_keep(self):
        work = Path(tempfile.mkdtemp(prefix="ratchet-scope-"))
        self.addCleanup(shutil.rmtree, work, True)
        proc = subprocess.run(["bash", str(SCOPE), str(work)], capture_output=True, text=True, timeout=300,
                              env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(work)})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        repo = work / "scope-demo"
        records = [json.loads(line) for line in (repo / ".ratchet" / "results.jsonl").read_text().splitlines()]
        self.assertEqual([r["decision"] for r in records],
                         ["baseline", "constraint_failed", "integrity_violation", "improve"])
        self.assertIn("-> constraint_failed | peak_items<=+10%: change +1000, past the limit +100", proc.stdout)
        self.assertIn("-> integrity_violation | outside the editable set (modified): bench.py", proc.stdout)
        self.assertIn("constraint peak_items<=+10%: baseline 1000 -> best 1000", proc.stdout)
        self.assertIn("stopped: iterations_exhausted", proc.stdout)
        self.assertIn("assert found", (repo / "bench.py").read_text(), "the out-of-scope edit was reverted")


if __name__ == "__main__":
    unittest.main()
