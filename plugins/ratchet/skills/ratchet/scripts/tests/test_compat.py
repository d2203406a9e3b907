"""Runs made by the previous version of the code still load and go on.

`fixtures/v1-runs.tar.gz` holds three repositories with their `.ratchet/`,
made by the code before the layered rewrite (no head.json), and what its
`status` answered for each: `exact` (deterministic metric, 1 iteration
decided), `noisy` (sequential design, 2 iterations decided, the third
measured one trial in) and `demo` (examples/demo.sh, stopped, with a
confirmation run)."""

import json
import shutil
import tarfile
import tempfile
import unittest
from pathlib import Path

from core.seals import broken_links
from tests.support import RepoTestCase, git

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v1-runs.tar.gz"
ADDED = ("escalation",)  # status fields added since (ratchet.py loop's escalation), checked separately


def assert_close(test: unittest.TestCase, old, new, where="status"):
    """Equal, except floats, which the new answers round to 6 significant digits."""
    if isinstance(old, float) and isinstance(new, (int, float)):
        test.assertAlmostEqual(old, new, delta=abs(old) * 1e-5 + 1e-12, msg=where)
    elif isinstance(old, dict) and isinstance(new, dict):
        test.assertEqual(sorted(old), sorted(new), where)
        for k in old:
            assert_close(test, old[k], new[k], f"{where}.{k}")
    elif isinstance(old, list) and isinstance(new, list):
        test.assertEqual(len(old), len(new), where)
        for i, (a, b) in enumerate(zip(old, new)):
            assert_close(test, a, b, f"{where}[{i}]")
    else:
        test.assertEqual(old, new, where)


class PreviousVersionRuns(RepoTestCase):
    def setUp(self):
        super().setUp()
        self.fx = Path(tempfile.mkdtemp(prefix="ratchet-v1-"))
        self.addCleanup(shutil.rmtree, self.fx, True)
        with tarfile.open(FIXTURES) as tar:
            tar.extractall(self.fx, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))

    def load(self, name: str) -> Path:
        self.repo = self.fx / name
        return self.repo

    def test_status_of_each_old_run_is_unchanged(self):
        for name in ("exact", "noisy", "demo"):
            with self.subTest(name):
                self.load(name)
                old = json.loads((self.fx / f"{name}.status.json").read_text())
                new = self.ok("status")
                self.assertEqual(set(new["escalation"]), {"level", "misses", "pivots", "text"})
                assert_close(self, old, {k: v for k, v in new.items() if k not in ADDED}, name)
                self.assertEqual(self.cli("status", "--format", "text").stdout,
                                 (self.fx / f"{name}.status.txt").read_text())

    def test_an_old_exact_run_goes_on_and_keeps_one_valid_chain(self):
        repo = self.load("exact")
        (repo / "code.py").write_text("x=3\n")
        self.ok("run-trial", "--all", "--hypothesis", "h2")
        out = self.ok("decide", "--description", "another no-op")
        self.assertEqual((out["iter"], out["decision"]), (2, "no_change"))
        records = [json.loads(ln) for ln in (repo / ".ratchet" / "results.jsonl").read_text().splitlines()]
        self.assertEqual([r["iter"] for r in records], [0, 1, 2])
        run_id = json.loads((repo / ".ratchet" / "config.json").read_text())["run_id"]
        self.assertEqual(broken_links(records, run_id), [])
        self.assertTrue((repo / ".ratchet" / "head.json").is_file())
        self.assertEqual(self.ok("status")["iter"], 3)

    def test_an_old_noisy_run_finishes_its_interrupted_iteration(self):
        repo = self.load("noisy")
        before = self.ok("status")
        self.assertEqual((before["iter"], before["phase"], before["trials"]["done"]), (3, "measuring", 1))
        out = self.ok("run-trial", "--all")
        self.assertGreater(out["trials_done"], 1)
        dec = self.ok("decide", "--description", "level 80")
        self.assertEqual((dec["iter"], dec["decision"], dec["kept"]), (3, "improve", True))
        self.assertEqual(git(repo, "show", "HEAD:level.txt"), "80")

    def test_an_old_stopped_run_stays_stopped(self):
        self.load("demo")
        res = self.cli("run-trial", "--all")
        self.assertEqual(res.code, 2)
        self.assertIn("the run has stopped (patience_exhausted)", res.stderr)


if __name__ == "__main__":
    unittest.main()
