"""The log's summary: folding records one by one gives what the whole
history says, and the store verifies and reads it at a cost that does not
grow with the log (only new records are read)."""

import json
import os
import random
import shutil
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from core.history import TAIL, Summary, fold, light, seconds_between, stamp_seconds
from shell.store import Store

DECISIONS = ["improve", "regress", "no_change", "crash", "inconclusive", "integrity_violation"]


def random_history(rng: random.Random, n: int) -> list[dict]:
    recs = [{"iter": 0, "decision": rng.choice(["baseline", "baseline", "crash"]), "kept": True, "avg": 10.0,
             "sha": "s0", "design": {"kind": "exact", "trials": 1}, "trials": [{"duration_s": 1.5}]}]
    recs[0]["kept"] = recs[0]["decision"] == "baseline"
    for i in range(1, n):
        d = rng.choice(DECISIONS)
        rec = {"iter": i, "decision": d, "kept": d == "improve", "avg": rng.random(), "sha": f"s{i}",
               "trials": [{"duration_s": 0.1}] * 3}
        if rng.random() < 0.2:
            rec["confirmation"] = {"b_sha": f"s{rng.randrange(i + 1)}", "gain": 1.0}
        recs.append(rec)
    return recs


def trailing(history, predicate):
    n = 0
    for rec in reversed(history):
        if rec["iter"] == 0 or not predicate(rec):
            break
        n += 1
    return n


class Fold(unittest.TestCase):
    def test_the_summary_says_what_the_whole_history_says(self):
        rng = random.Random(7)
        for n in (1, 2, 5, 30):
            for _ in range(40):
                h = random_history(rng, n)
                s = Summary.of(h)
                kept = [r for r in h if r["kept"]]
                best = {"score": kept[-1]["avg"], "sha": kept[-1]["sha"], "iter": kept[-1]["iter"]} if kept else None
                self.assertEqual(s.best, best)
                self.assertEqual(s.next_iteration, n)
                self.assertEqual(s.iterations_done, n - 1)
                self.assertEqual(s.trailing_crashes, trailing(h, lambda r: r["decision"] == "crash"))
                self.assertEqual(s.trailing_not_kept, trailing(h, lambda r: not r["kept"]))
                confs = [r["confirmation"] for r in h if r.get("confirmation")]
                latest = confs[-1] if confs else None
                self.assertEqual(s.current_confirmation,
                                 latest if latest and best and latest["b_sha"] == best["sha"] else None)
                self.assertEqual(list(s.tail), [light(r) for r in h[-TAIL:]])
                self.assertEqual(s.first["slowest_trial_s"], 1.5)

    def test_light_records_drop_the_per_trial_lists(self):
        rec = {"iter": 1, "trials": [1], "trial_scores": [2], "incumbent_scores": [3], "avg": 1.0}
        self.assertEqual(light(rec), {"iter": 1, "avg": 1.0})

    def test_round_trip_through_json(self):
        s = Summary.of(random_history(random.Random(1), 12))
        self.assertEqual(Summary.from_dict(json.loads(json.dumps(s.to_dict()))), s)

    def test_baseline_is_record_zero_only_when_it_was_measured(self):
        self.assertIsNone(Summary.of([{"iter": 0, "decision": "crash", "kept": False}]).baseline)
        self.assertEqual(fold(Summary(), {"iter": 0, "decision": "baseline", "kept": True})
                         .baseline["decision"], "baseline")


class VerifiedHead(unittest.TestCase):
    KEY = "run-1"

    def setUp(self):
        self.root = Path(tempfile.mkdtemp(prefix="ratchet-log-"))
        self.addCleanup(shutil.rmtree, self.root, True)
        self.store = Store(self.root)
        self.store.dir.mkdir()
        self.log = self.store.path("results.jsonl")
        self.records = random_history(random.Random(3), 6)
        self.records[0].update(decision="baseline", kept=True)
        for rec in self.records:
            self.store.append_result(rec, self.KEY, Summary.of(self.store.read_results()[0]))

    def no_full_read(self):
        return mock.patch.object(Store, "read_results", side_effect=AssertionError("read the whole log"))

    def test_an_unchanged_log_is_not_read(self):
        with self.no_full_read():
            log = self.store.load_log(self.KEY)
        self.assertEqual((log.summary.count, log.edited, log.torn), (6, False, False))
        self.assertEqual(log.summary, Summary.of(self.store.read_results()[0]))

    def test_records_appended_after_the_head_are_read_alone_and_folded_in(self):
        head = self.store.path("head.json").read_bytes()
        self.store.append_result({"iter": 6, "decision": "improve", "kept": True, "avg": 0.5, "sha": "s6"},
                                 self.KEY, Summary.of(self.store.read_results()[0]))
        self.store.path("head.json").write_bytes(head)  # a crash before the head was written
        with self.no_full_read():
            log = self.store.load_log(self.KEY)
        self.assertEqual((log.summary.count, log.summary.best["sha"], log.edited), (7, "s6", False))

    def test_an_edited_record_is_caught_and_the_verified_summary_is_kept(self):
        verified = self.store.load_log(self.KEY).summary
        text = self.log.read_text()
        first = json.loads(text.splitlines()[0])
        forged = text.replace(json.dumps(first, sort_keys=True), json.dumps({**first, "avg": 10.5}, sort_keys=True))
        self.assertNotEqual(forged, text)
        self.log.write_text(forged)
        log = self.store.load_log(self.KEY)
        self.assertTrue(log.edited)
        self.assertEqual(log.summary, verified)

    def test_an_edit_that_keeps_size_and_restores_the_time_is_still_seen_by_a_new_inode(self):
        st = self.log.stat()
        data = self.log.read_bytes().replace(b'"avg": 10.0', b'"avg": 90.0', 1)
        tmp = self.log.with_name("x")
        tmp.write_bytes(data)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, self.log)
        self.assertTrue(self.store.load_log(self.KEY).edited)

    def test_a_run_without_head_is_verified_in_full(self):
        self.store.path("head.json").unlink()
        log = self.store.load_log(self.KEY)
        self.assertEqual((log.summary.count, log.edited), (6, False))

    def test_a_torn_head_is_verified_in_full_not_an_edit(self):
        """head.json is written without fsync (a cache): a power cut may tear it."""
        full = self.store.path("head.json").read_bytes()
        for torn in (b"", full[:len(full) // 2]):
            self.store.path("head.json").write_bytes(torn)
            log = self.store.load_log(self.KEY)
            self.assertEqual((log.summary.count, log.edited, log.torn), (6, False, False))
            self.assertEqual(log.summary, Summary.of(self.store.read_results()[0]))

    def test_an_append_fsyncs_the_log_not_the_head(self):
        with mock.patch("os.fsync", wraps=os.fsync) as fsync:
            self.store.append_result({"iter": 6, "decision": "crash", "kept": False}, self.KEY,
                                     Summary.of(self.store.read_results()[0]))
        self.assertEqual(fsync.call_count, 1)
        self.assertEqual(self.store.load_log(self.KEY).summary.count, 7)

    def test_a_deleted_log_is_an_edit(self):
        self.log.unlink()
        log = self.store.load_log(self.KEY)
        self.assertTrue(log.edited)
        self.assertEqual(log.summary.count, 6)

    def test_an_untrusted_append_leaves_the_log_to_be_verified_every_time(self):
        self.store.append_result({"iter": 6, "decision": "crash", "kept": False}, self.KEY,
                                 Summary.of(self.store.read_results()[0]), trusted=False)
        self.assertIsNone(json.loads(self.store.path("head.json").read_text())["file"])
        self.assertEqual(self.store.load_log(self.KEY).summary.count, 7)


class Stamps(unittest.TestCase):
    def test_stamp_seconds_agrees_with_datetime(self):
        from datetime import datetime, timezone
        rng = random.Random(8)
        for _ in range(2000):
            t = rng.randint(-30610224000, 253402300799)  # years 1000 to 9999
            text = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.assertEqual(stamp_seconds(text), float(t), text)
        self.assertEqual(stamp_seconds("2024-02-29T12:00:00Z"), datetime(2024, 2, 29, 12, tzinfo=timezone.utc).timestamp())

    def test_not_a_stamp_is_none_between(self):
        for bad in ("", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
                    "2026-01-01 00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z",
                    "2026-01-01T00:00:00", "0000-01-01T00:00:00Z", "2026-01-01T00:00:00Z ", None, 5):
            self.assertIsNone(seconds_between(bad, "2026-01-01T00:00:00Z"), bad)
        self.assertEqual(seconds_between("2025-12-31T23:59:59Z", "2026-01-01T00:00:01Z"), 2.0)


if __name__ == "__main__":
    unittest.main()
