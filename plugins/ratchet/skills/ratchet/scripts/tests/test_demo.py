"""The README's example commands (examples/demo.sh, examples/scope.sh) must keep
doing what the README says."""

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[6] / "examples"


def decisions(repo: Path) -> list[str]:
    lines = (repo / ".ratchet" / "results.jsonl").read_text().splitlines()
    return [json.loads(line)["decision"] for line in lines]


@unittest.skipUnless(EXAMPLES.exists(), "examples/ is only in a checkout of the repository")
class Examples(unittest.TestCase):
    def run_example(self, name: str) -> tuple[subprocess.CompletedProcess, Path]:
        """examples/NAME run in a fresh directory, as a newcomer would (a bare PATH, a fresh HOME)."""
        work = Path(tempfile.mkdtemp(prefix="ratchet-example-"))
        self.addCleanup(shutil.rmtree, work, True)
        proc = subprocess.run(["bash", str(EXAMPLES / name), str(work)], capture_output=True, text=True, timeout=300,
                              env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(work)})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc, work

    def test_demo_runs_keep_revert_crash_integrity_then_stops(self):
        proc, work = self.run_example("demo.sh")
        repo = work / "primes-demo"
        self.assertEqual(decisions(repo), ["baseline", "improve", "regress", "crash", "integrity_violation"])
        self.assertIn("stopped: patience_exhausted", proc.stdout)
        log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True).stdout
        self.assertEqual(log.splitlines(), ["trial division up to sqrt(k)", "slow prime counter"])
        # the same changes headless: ratchet.py loop with the stand-in as its agent command
        self.assertEqual(decisions(work / "primes-loop"),
                         ["baseline", "improve", "regress", "crash", "integrity_violation"])
        self.assertIn("ratchet loop: stopped: patience_exhausted", proc.stdout)
        self.assertIn("agent: 4 runs", proc.stdout)
        self.assertEqual(proc.stdout.strip().splitlines()[-1], str(repo / ".ratchet" / "report.html"))

    def test_scope_example_fails_a_constraint_then_leaves_the_scope_then_keeps_a_clean_change(self):
        proc, work = self.run_example("scope.sh")
        repo = work / "scope-demo"
        self.assertEqual(decisions(repo), ["baseline", "constraint_failed", "integrity_violation", "improve"])
        self.assertIn("-> constraint_failed | peak_items<=+10%: change +1000, past the limit +100", proc.stdout)
        self.assertIn("-> integrity_violation | outside the editable set (modified): bench.py", proc.stdout)
        self.assertIn("constraint peak_items<=+10%: baseline 1000 -> best 1000", proc.stdout)
        self.assertIn("stopped: iterations_exhausted", proc.stdout)
        self.assertIn("assert found", (repo / "bench.py").read_text(), "the out-of-scope edit was reverted")


if __name__ == "__main__":
    unittest.main()
