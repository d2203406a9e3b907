import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from core.errors import UsageError
from core.seals import broken_links
from shell.store import Store, TamperedState, atomic_write
from tests.support import SCRIPTS

KEY = "run-1"


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.root = Path(tempfile.mkdtemp(prefix="ratchet-store-"))
        self.store = Store(self.root)
        self.store.dir.mkdir()

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def results_path(self):
        return self.store.path("results.jsonl")


class AtomicWrites(StoreTest):
    def test_atomic_write_replaces_whole_file_and_leaves_no_temp(self):
        p = self.store.path("x.json")
        atomic_write(p, b"old")
        atomic_write(p, b"new")
        self.assertEqual(p.read_bytes(), b"new")
        self.assertEqual([f.name for f in self.store.dir.iterdir()], ["x.json"])

    def test_sealed_file_round_trips_and_detects_edits(self):
        self.store.write_sealed("current.json", {"iter": 3, "trials": [1.0]}, KEY)
        self.assertEqual(self.store.read_sealed("current.json", KEY)["iter"], 3)
        p = self.store.path("current.json")
        p.write_text(p.read_text().replace("1.0", "0.5"))
        with self.assertRaises(TamperedState):
            self.store.read_sealed("current.json", KEY)

    def test_absent_sealed_file_reads_as_none(self):
        self.assertIsNone(self.store.read_sealed("current.json", KEY))


class ResultsLog(StoreTest):
    def test_history_is_appended_in_order_and_chained(self):
        for i in range(3):
            self.store.append_result({"iter": i, "avg": float(i)}, KEY)
        records, torn = self.store.read_results()
        self.assertFalse(torn)
        self.assertEqual([r["iter"] for r in records], [0, 1, 2])
        self.assertEqual(broken_links(records, KEY), [])

    def test_edited_record_breaks_the_chain(self):
        for i in range(3):
            self.store.append_result({"iter": i, "avg": 10.0 - i}, KEY)
        lines = self.results_path().read_text().splitlines()
        rec = json.loads(lines[1])
        rec["avg"] = 1.0
        lines[1] = json.dumps(rec, sort_keys=True)
        self.results_path().write_text("\n".join(lines) + "\n")
        records, _ = self.store.read_results()
        self.assertEqual(broken_links(records, KEY), [1])

    def test_torn_last_line_is_reported_and_ignored(self):
        self.store.append_result({"iter": 0, "avg": 1.0}, KEY)
        with open(self.results_path(), "a") as fh:
            fh.write('{"iter": 1, "avg": 0.')
        records, torn = self.store.read_results()
        self.assertTrue(torn)
        self.assertEqual([r["iter"] for r in records], [0])

    def test_append_after_a_torn_line_sets_it_aside(self):
        self.store.append_result({"iter": 0, "avg": 1.0}, KEY)
        with open(self.results_path(), "a") as fh:
            fh.write('{"iter": 1, "av')
        self.store.append_result({"iter": 1, "avg": 0.5}, KEY)
        records, torn = self.store.read_results()
        self.assertFalse(torn)
        self.assertEqual([r["avg"] for r in records], [1.0, 0.5])
        self.assertEqual(broken_links(records, KEY), [])
        self.assertIn('"av', self.store.path("results.torn").read_text())

    def test_complete_record_missing_only_its_newline_is_kept(self):
        self.store.append_result({"iter": 0, "avg": 1.0}, KEY)
        data = self.results_path().read_bytes()
        self.results_path().write_bytes(data.rstrip(b"\n"))
        records, torn = self.store.read_results()
        self.assertFalse(torn)
        self.assertEqual(len(records), 1)
        self.store.append_result({"iter": 1, "avg": 0.5}, KEY)
        self.assertEqual(len(self.store.read_results()[0]), 2)

    def test_garbage_in_the_middle_is_tampering(self):
        self.results_path().write_text('{"iter": 0}\nnot json\n{"iter": 1}\n')
        with self.assertRaises(TamperedState):
            self.store.read_results()


class Archive(StoreTest):
    def test_archive_moves_the_run_files(self):
        self.store.write_sealed("config.json", {"run_id": "old"}, "old")
        self.store.append_result({"iter": 0}, "old")
        self.store.report_files("iter-0000-trial-01")["txt"].write_text("score: 1")
        dest = self.store.archive("old")
        self.assertEqual(dest, self.store.path("runs", "old"))
        self.assertTrue((dest / "config.json").is_file())
        self.assertTrue((dest / "reports" / "iter-0000-trial-01.txt").is_file())
        self.assertFalse(self.store.exists())
        self.assertFalse(self.results_path().exists())

    def test_archive_without_a_run_does_nothing(self):
        self.assertIsNone(self.store.archive("x"))


class Lock(StoreTest):
    def hold_lock_in_child(self):
        code = ("import sys, time; sys.path.insert(0, %r); from shell.store import Store; from pathlib import Path\n"
                "with Store(Path(%r)).lock():\n    print('held', flush=True); time.sleep(60)\n"
                % (str(SCRIPTS), str(self.root)))
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.stdout.close)
        self.assertEqual(child.stdout.readline().strip(), "held")
        return child

    def test_second_writer_is_refused_with_the_holders_pid(self):
        child = self.hold_lock_in_child()
        try:
            with self.assertRaises(UsageError) as ctx:
                with self.store.lock():
                    pass
            self.assertIn(f"pid {child.pid}", str(ctx.exception))
        finally:
            child.kill()
            child.wait()

    def test_lock_of_a_killed_process_is_recovered(self):
        child = self.hold_lock_in_child()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        time.sleep(0.05)
        with self.store.lock():
            self.assertEqual(self.store.path("lock").read_text(), str(os.getpid()))


if __name__ == "__main__":
    unittest.main()
