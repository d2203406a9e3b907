"""Faults a fault-injection run found, each pinned: edited state is never
reported as fact, an edited config.json is an integrity violation like any
other, bad bytes in arguments and a `.ratchet` file are refused before
anything is written, no command prints a traceback, and state is read only
under the lock."""

import importlib
import json
import os
import subprocess
import sys
import unittest
from pathlib import Path
from unittest import mock

from tests.support import GIT_ENV, RATCHET, RepoTestCase, git


def tree_bytes(root) -> dict:
    """Every file under `root` (.git included) with its bytes and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            data = os.readlink(path).encode() if os.path.islink(path) else Path(path).read_bytes()
            out[os.path.relpath(path, root)] = (st.st_mode, data)
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = (os.lstat(os.path.join(dirpath, d)).st_mode, b"")
    return out


class EditedState(RepoTestCase):
    def start_run(self):
        self.init()
        self.iteration("baseline")

    def test_a_forged_score_in_the_log_is_never_reported_as_the_best(self):
        self.start_run()
        self.write("work.py", "N = 900\n")
        self.iteration("smaller")
        log = self.repo / ".ratchet" / "results.jsonl"
        log.write_text(log.read_text().replace('"avg": 900.0', '"avg": 1.0'))
        st = self.ok("status")
        self.assertEqual(st["best"]["score"], 900.0)
        self.assertIn("results.jsonl was edited outside ratchet", st["warnings"])
        self.assertNotIn("1.0", self.cli("status", "--format", "text").stdout.split("baseline")[-1].split("\n")[0])

    def test_an_edited_config_is_an_integrity_violation_that_reverts_logs_and_stops(self):
        self.start_run()
        cfg_path = self.repo / ".ratchet" / "config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["config"]["iterations"] = 1000  # e.g. to run longer than the user asked
        cfg_path.write_text(json.dumps(cfg))
        self.write("work.py", "N = 10\n")
        st = self.ok("status")
        self.assertTrue(any("config.json was edited" in w for w in st["warnings"]), st["warnings"])
        self.assertIn("integrity_violation", self.ok("run-trial", "--all"))
        out = self.ok("decide", "--description", "with an edited config")
        self.assertEqual((out["decision"], out["kept"]), ("integrity_violation", False))
        self.assertEqual(out["stop"], {"stopped": True, "reason": "integrity_unrecoverable"})
        self.assertEqual(self.read("work.py"), "N = 1000\n")  # the tree is restored
        rec = self.results()[-1]
        self.assertEqual((rec["iter"], rec["decision"]), (1, "integrity_violation"))
        self.assertTrue(any("config.json was edited" in p for p in rec["unrecoverable"]))
        res = self.cli("run-trial", "--all")
        self.assertEqual(res.code, 2)
        self.assertIn("integrity_unrecoverable", res.stderr)

    def test_config_and_its_copy_both_edited_is_a_clear_error(self):
        self.start_run()
        for name in ("config.json", "config.bak.json"):
            (self.repo / ".ratchet" / name).write_text("{}")
        res = self.cli("status")
        self.assertEqual(res.code, 2)
        self.assertIn("config.json was edited outside ratchet", res.stderr)


class RefusedBeforeAnyWrite(RepoTestCase):
    def run_bytes(self, *args: bytes):
        return subprocess.run([sys.executable.encode(), str(RATCHET).encode(), *args], cwd=self.repo,
                              capture_output=True, env={**os.environ, **GIT_ENV}, stdin=subprocess.DEVNULL)

    def assert_refused(self, proc, text: str):
        err = proc.stderr.decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 2, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertNotIn("Traceback", err)
        self.assertIn(text, err)

    def test_non_utf8_bytes_in_an_argument_are_refused_and_nothing_is_written(self):
        before = tree_bytes(self.repo)
        proc = self.run_bytes(b"init", b"--run-command", b"python3 bench.py", b"--direction", b"min",
                              b"--metric-name", b"score", b"--report-source", b"stdout", b"--instructions", b"caf\xe9")
        self.assert_refused(proc, "is not valid UTF-8")
        self.assertEqual(tree_bytes(self.repo), before)
        self.assertEqual(git(self.repo, "branch", "--show-current"), "main")

    def test_a_ratchet_file_where_the_state_folder_goes_is_refused(self):
        self.write(".ratchet", "mine\n")
        git(self.repo, "add", ".ratchet")
        git(self.repo, "commit", "-qm", "a file named .ratchet")
        before = tree_bytes(self.repo)
        res = self.cli("init", "--run-command", "python3 bench.py", "--direction", "min", "--metric-name", "score",
                       "--report-source", "stdout")
        self.assertEqual(res.code, 2, res.stderr)
        self.assertIn("exists and is not a folder", res.stderr)
        self.assertNotIn("Traceback", res.stderr)
        self.assertEqual(tree_bytes(self.repo), before)

    def test_an_unexpected_error_is_one_line_and_exit_1(self):
        self.init()
        code = ("import sys; sys.path.insert(0, %r); import ratchet\n"
                "from commands import status\n"
                "def boom(*a, **k): raise RuntimeError('disk on fire\\nsecond line')\n"
                "status.status = boom\n"
                "sys.exit(ratchet.main(['status']))\n" % str(RATCHET.parent))
        proc = subprocess.run([sys.executable, "-c", code], cwd=self.repo, capture_output=True, text=True,
                              env={**os.environ, **GIT_ENV})
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertIn("internal error: RuntimeError: disk on fire second line", proc.stderr)


class LockBeforeRead(RepoTestCase):
    def test_writers_read_the_state_only_while_holding_the_lock(self):
        """A writer that gets the lock as another releases it must not work
        from a read taken before: every load happens inside the lock."""
        from commands import decide, trial
        from shell import context, store
        self.init()
        events = []
        real_lock, real_load = store.Store.lock, context.load

        def lock(self_, *args, **kw):
            cm = real_lock(self_, *args, **kw)

            class Tracked:
                def __enter__(self2):
                    r = cm.__enter__()
                    events.append("locked")
                    return r

                def __exit__(self2, *exc):
                    events.append("unlocked")
                    return cm.__exit__(*exc)
            return Tracked()

        def load(cwd):
            events.append("load")
            return real_load(cwd)

        common, status = importlib.import_module("commands.common"), importlib.import_module("commands.status")
        with mock.patch.object(store.Store, "lock", lock), \
                mock.patch.object(common, "load", load), mock.patch.object(status, "load", load):
            trial.run_trial(self.repo, True, None)
            decide.decide(self.repo, "baseline")
        inside, depth = [], 0
        for e in events:
            depth += {"locked": 1, "unlocked": -1}.get(e, 0)
            if e == "load":
                inside.append(depth > 0)
        self.assertTrue(inside)
        self.assertTrue(all(inside), events)


if __name__ == "__main__":
    unittest.main()
