"""The decision step, `core.decision.decide`, branch by branch: plain data
in, decision + record + guard/confirmation flags out. No git, no processes."""

import unittest

from core import decision
from core.config import Config, MinImprovement
from core.history import LOG_EDITED, Summary

START = "s" * 40


def cfg(**kw) -> Config:
    base = dict(run_command="x", direction="min", metric_name="t", report_source="stdout",
                calibration_runs=10, max_pairs=12, confirm_pairs=4)
    base.update(kw)
    return Config(**base)


def trial(n, score, side="B", pair=None, status="ok"):
    return {"trial": n, "side": side, "pair": n - 1 if pair is None else pair, "status": status,
            "score": score if status == "ok" else None, "duration_s": 0.5, "report": f"r{n}", "problem": ""}


def facts(config: Config, summary: Summary, trials, iteration=1, **kw) -> decision.Facts:
    base = dict(iteration=iteration, hypothesis="h", description=" change ", trials=trials, config=config,
                summary=summary, margin=0.0, integrity_problems=[], start_sha=START,
                candidate="c" * 40, final="f" * 40, now="2026-12-01T00:00:00Z")
    base.update(kw)
    return decision.Facts(**base)


def baseline(config: Config, scores) -> Summary:
    """The summary after a baseline measured `scores` (through decide itself)."""
    out = decision.decide(facts(config, Summary(), [trial(i + 1, s) for i, s in enumerate(scores)], iteration=0,
                                candidate=START))
    return Summary.of([out.record])


NOISY = [100.0, 101.2, 99.1, 100.4, 98.7, 100.9, 99.5, 100.2, 101.0, 99.8]


def pairs(diffs, a=100.0):
    """Interleaved trials whose per-pair improvement (min: a - b) is `diffs`."""
    out = []
    for k, d in enumerate(diffs):
        order = "AB" if k % 2 == 0 else "BA"
        for side in order:
            out.append(trial(len(out) + 1, a if side == "A" else a - d, side=side, pair=k))
    return out


class Baseline(unittest.TestCase):
    def test_baseline_is_kept_with_its_calibration_and_design(self):
        out = decision.decide(facts(cfg(), Summary(), [trial(i + 1, 5.0) for i in range(5)], iteration=0,
                                    candidate=START))
        rec = out.record
        self.assertEqual((rec["decision"], rec["kept"], rec["sha"]), ("baseline", True, START))
        self.assertEqual(rec["design"], {"kind": "exact", "trials": 1})
        self.assertTrue(rec["calibration"]["deterministic"])
        self.assertFalse(out.needs_guard or out.confirm_due)
        self.assertEqual(rec["description"], "change")

    def test_noisy_baseline_chooses_the_sequential_design(self):
        s = baseline(cfg(), NOISY)
        self.assertEqual(s.baseline["design"], {"kind": "sequential", "min_pairs": 4, "max_pairs": 12})
        self.assertEqual(s.first["slowest_trial_s"], 0.5)

    def test_crashed_baseline_is_a_crash_and_stops_the_run(self):
        out = decision.decide(facts(cfg(), Summary(), [trial(1, None, status="crash")], iteration=0))
        self.assertEqual(out.record["decision"], "crash")
        self.assertEqual(decision.stop_of(cfg(), Summary.of([out.record]))["reason"], "baseline_failed")


class Exact(unittest.TestCase):
    def setUp(self):
        self.c = cfg()
        self.s = baseline(self.c, [10.0] * 5)

    def decide(self, score, **kw):
        return decision.decide(facts(kw.pop("config", self.c), self.s, [trial(1, score)], **kw))

    def test_better_is_improve_and_kept_with_its_candidate(self):
        rec = self.decide(8.0).record
        self.assertEqual((rec["decision"], rec["kept"], rec["delta"], rec["candidate"]), ("improve", True, 2.0, "c" * 40))
        self.assertEqual(rec["best_before"], 10.0)

    def test_worse_is_regress_and_equal_is_no_change(self):
        self.assertEqual(self.decide(11.0).record["decision"], "regress")
        self.assertEqual(self.decide(10.0).record["decision"], "no_change")
        self.assertNotIn("candidate", self.decide(11.0).record)

    def test_margin_counts(self):
        self.assertEqual(self.decide(9.5, margin=0.5).record["decision"], "no_change")

    def test_crashed_trial_is_a_crash(self):
        out = decision.decide(facts(self.c, self.s, [trial(1, None, status="crash")]))
        self.assertEqual((out.record["decision"], out.record["trial_scores"]), ("crash", [None]))

    def test_integrity_problems_win_over_a_better_score(self):
        rec = self.decide(1.0, integrity_problems=["protected file modified: bench.py"]).record
        self.assertEqual((rec["decision"], rec["kept"]), ("integrity_violation", False))
        self.assertNotIn("unrecoverable", rec)

    def test_unrestorable_files_and_an_edited_log_make_the_violation_unrecoverable(self):
        rec = self.decide(1.0, integrity_problems=["protected file modified: data.csv", LOG_EDITED],
                          unrestorable=["protected file modified: data.csv"]).record
        self.assertEqual(rec["unrecoverable"], ["protected file modified: data.csv", LOG_EDITED])
        self.assertEqual(decision.stop_of(self.c, Summary.of([self.s.first, rec]))["reason"],
                         "integrity_unrecoverable")

    def test_an_improvement_asks_for_the_guard_then_the_guard_decides(self):
        c = self.c._replace(guard_command="pytest")
        first = self.decide(8.0, config=c)
        self.assertTrue(first.needs_guard)
        self.assertIsNone(first.record)
        f = facts(c, self.s, [trial(1, 8.0)])
        passed = decision.decide(f._replace(guard={"passed": True}))
        failed = decision.decide(f._replace(guard={"passed": False}))
        self.assertEqual((passed.record["decision"], passed.record["kept"]), ("improve", True))
        self.assertEqual((failed.record["decision"], failed.record["kept"]), ("guard_failed", False))

    def test_no_guard_for_a_regression(self):
        self.assertFalse(self.decide(12.0, config=self.c._replace(guard_command="pytest")).needs_guard)

    def test_edits_after_the_trials_are_kept_for_audit(self):
        self.assertEqual(self.decide(11.0, final_differs=True).record["final_sha"], "f" * 40)
        self.assertNotIn("final_sha", self.decide(11.0).record)

    def test_no_confirmation_for_a_deterministic_metric(self):
        self.assertFalse(self.decide(8.0, config=self.c._replace(iterations=1)).confirm_due)

    def test_mode_fields_are_merged_into_the_record(self):
        self.assertEqual(self.decide(9.0, extra={"critic": {"mode": "contest"}}).record["critic"],
                         {"mode": "contest"})


class Paired(unittest.TestCase):
    def setUp(self):
        self.c = cfg()
        self.s = baseline(self.c, NOISY)

    def decide(self, trials, **kw):
        return decision.decide(facts(kw.pop("config", self.c), self.s, trials, margin=0.3, **kw))

    def test_clear_win_is_improve(self):
        rec = self.decide(pairs([5.0, 5.2, 4.9, 5.1])).record
        self.assertEqual((rec["decision"], rec["kept"]), ("improve", True))
        self.assertEqual(rec["test"]["outcome"], "keep")
        self.assertEqual(rec["incumbent_scores"], [100.0] * 4)

    def test_clear_loss_is_regress(self):
        self.assertEqual(self.decide(pairs([-5.0, -5.2, -4.9, -5.1])).record["decision"], "regress")

    def test_nothing_is_no_change(self):
        self.assertEqual(self.decide(pairs([0.01, -0.02, 0.015, -0.01])).record["decision"], "no_change")

    def test_the_cap_without_an_answer_is_inconclusive(self):
        c = self.c._replace(max_pairs=4)
        s = baseline(c, NOISY)
        out = decision.decide(facts(c, s, pairs([0.4, -0.1, 0.5, 0.2]), margin=0.3))
        self.assertEqual(out.record["decision"], "inconclusive")

    def test_candidate_crash_and_unreliable_incumbent_are_crashes(self):
        t = pairs([5.0, 5.0]) + [trial(5, None, side="B", pair=2, status="crash")]
        self.assertEqual(self.decide(t).record["decision"], "crash")
        a = [trial(i + 1, None, side="A", pair=i, status="crash") for i in range(3)]
        self.assertIn("incumbent crashed 3 times", self.decide(a).record["reason"])

    def test_an_unfinished_measurement_is_a_crash(self):
        self.assertEqual(self.decide(pairs([5.0])).record["reason"], "the measurement did not finish")

    def test_a_keep_that_ends_the_run_is_confirmed(self):
        out = self.decide(pairs([5.0, 5.2, 4.9, 5.1]), config=self.c._replace(iterations=1))
        self.assertTrue(out.confirm_due)

    def test_a_revert_that_ends_a_run_without_any_keep_is_not_confirmed(self):
        out = self.decide(pairs([-5.0, -5.2, -4.9, -5.1]), config=self.c._replace(iterations=1))
        self.assertFalse(out.confirm_due)

    def test_a_keep_crossing_the_threshold_is_confirmed_before_it_counts(self):
        c = self.c._replace(threshold=96.0)
        out = self.decide(pairs([5.0, 5.2, 4.9, 5.1]), config=c)
        self.assertTrue(out.confirm_due)
        conf = decision.judge_confirmation({"best_high": 95.5, "best_low": 94.0, "direction": "min"}, c)
        self.assertTrue(conf["threshold_reached"])
        self.assertFalse(decision.judge_confirmation({"best_high": 97.0, "best_low": 94.0, "direction": "min"},
                                                     c)["threshold_reached"])
        self.assertEqual(decision.judge_confirmation({"error": "x"}, c), {"error": "x"})

    def test_confirmation_off_means_none(self):
        out = self.decide(pairs([5.0, 5.2, 4.9, 5.1]), config=self.c._replace(iterations=1, confirm_pairs=0))
        self.assertFalse(out.confirm_due)


class CommitMessage(unittest.TestCase):
    def test_message_carries_the_description_and_the_numbers(self):
        rec = {"description": "faster loop", "iter": 3, "best_before": 10.0, "avg": 8.0, "test": None,
               "trial_scores": [8.0], "n_trials": 1}
        msg = decision.commit_message(rec, "wall_time", "run-1")
        self.assertTrue(msg.startswith("faster loop\n\n"))
        self.assertIn("ratchet: iter 3, wall_time 10 -> 8 (mean of 1 trials)", msg)
        self.assertIn("ratchet-run: run-1", msg)


class MinImprovementMargin(unittest.TestCase):
    def test_relative_margin_is_taken_against_the_best(self):
        self.assertEqual(MinImprovement(2.0, True).margin(50.0), 1.0)




class BudgetStop(unittest.TestCase):
    def test_the_budget_is_judged_ahead_at_decide_and_kept_in_the_record(self):
        c = cfg(budget_seconds=100.0)
        s = baseline(c, NOISY)  # 10 trials of 0.5 s: a sequential iteration is estimated at 12 pairs = 6 s
        self.assertEqual(decision.stop_of(c, s, 91.0)["stopped"], False)  # 9 s left: between iterations only the 4 s reserve counts
        self.assertEqual(decision.stop_of(c, s, 91.0, ahead=True)["reason"], "budget_exhausted")  # 6 s + 4 s do not fit
        self.assertEqual(decision.stop_of(c, s, 97.0)["reason"], "budget_exhausted")  # not even the confirmation fits
        late = decision.decide(facts(c, s, pairs([5.0, 5.2, 4.9, 5.1]), margin=0.3, elapsed=91.0,
                                    now="2026-12-01T00:00:30Z"))
        self.assertTrue(late.record["budget_exhausted"])
        self.assertTrue(late.confirm_due)
        after = Summary.of([s.first, late.record])
        self.assertEqual(decision.stop_of(c, after, 0.0)["reason"], "budget_exhausted")
        early = decision.decide(facts(c, s, pairs([5.0, 5.2, 4.9, 5.1]), margin=0.3, elapsed=10.0,
                                     now="2026-12-01T00:00:05Z"))
        self.assertNotIn("budget_exhausted", early.record)


if __name__ == "__main__":
    unittest.main()
