import unittest

from core.decision import apply_guard, classify, crossed, gain, judge, stop_reason


def rec(i, decision, kept=None):
    return {"iter": i, "decision": decision, "kept": decision in ("baseline", "improve") if kept is None else kept}


def stop(history, **kw):
    args = dict(direction="min", iterations=20, patience=0, max_consecutive_crashes=3,
                threshold=None, best_score=None)
    args.update(kw)
    return stop_reason(history=history, **args)


class Classify(unittest.TestCase):
    def test_gain_is_positive_when_better_in_either_direction(self):
        self.assertEqual(gain("min", 10, 8), 2)
        self.assertEqual(gain("max", 10, 12), 2)
        self.assertEqual(gain("max", 10, 8), -2)

    def test_minimize(self):
        self.assertEqual(classify("min", 10.0, 9.0, 0.0), "improve")
        self.assertEqual(classify("min", 10.0, 11.0, 0.0), "regress")
        self.assertEqual(classify("min", 10.0, 10.0, 0.0), "no_change")

    def test_maximize(self):
        self.assertEqual(classify("max", 10.0, 11.0, 0.0), "improve")
        self.assertEqual(classify("max", 10.0, 9.0, 0.0), "regress")
        self.assertEqual(classify("max", 10.0, 10.0, 0.0), "no_change")

    def test_margin_must_be_exceeded(self):
        self.assertEqual(classify("min", 10.0, 9.5, 0.5), "no_change")
        self.assertEqual(classify("min", 10.0, 9.4, 0.5), "improve")
        self.assertEqual(classify("max", 10.0, 10.5, 0.5), "no_change")
        self.assertEqual(classify("max", 10.0, 10.6, 0.5), "improve")

    def test_worse_within_margin_is_still_a_regression(self):
        self.assertEqual(classify("min", 10.0, 10.1, 0.5), "regress")


class Judge(unittest.TestCase):
    def judge(self, **kw):
        args = dict(iteration=1, scores=[9.0, 9.2], direction="min", best=10.0, margin=0.0,
                    integrity_problems=[])
        args.update(kw)
        return judge(**args)

    def test_mean_of_trials_is_compared(self):
        v = self.judge(scores=[9.0, 12.0])
        self.assertEqual(v.avg, 10.5)
        self.assertEqual(v.decision, "regress")
        self.assertAlmostEqual(v.delta, -0.5)

    def test_baseline_is_kept_without_a_best(self):
        v = self.judge(iteration=0, best=None, scores=[3.0, 5.0])
        self.assertEqual((v.decision, v.avg), ("baseline", 4.0))

    def test_any_crashed_trial_makes_a_crash(self):
        self.assertEqual(self.judge(scores=[9.0, None]).decision, "crash")
        self.assertEqual(self.judge(scores=[]).decision, "crash")

    def test_integrity_beats_everything(self):
        v = self.judge(scores=[1.0], integrity_problems=["protected file modified: bench.py"])
        self.assertEqual(v.decision, "integrity_violation")
        self.assertIn("bench.py", v.reason)

    def test_guard_failure_only_affects_improvements(self):
        self.assertEqual(apply_guard(self.judge(), False).decision, "guard_failed")
        self.assertEqual(apply_guard(self.judge(), True).decision, "improve")
        self.assertEqual(apply_guard(self.judge(scores=[11.0]), False).decision, "regress")


class StopConditions(unittest.TestCase):
    def test_nothing_stops_a_fresh_run(self):
        self.assertIsNone(stop([]))
        self.assertIsNone(stop([rec(0, "baseline")]))

    def test_failed_baseline_stops(self):
        self.assertEqual(stop([rec(0, "crash")]), "baseline_failed")

    def test_iterations_cap_counts_iterations_after_the_baseline(self):
        h = [rec(0, "baseline")] + [rec(i, "improve") for i in range(1, 3)]
        self.assertIsNone(stop(h, iterations=3))
        self.assertEqual(stop(h + [rec(3, "regress")], iterations=3), "iterations_exhausted")

    def test_patience_counts_non_kept_in_a_row(self):
        h = [rec(0, "baseline"), rec(1, "regress"), rec(2, "improve"), rec(3, "no_change"), rec(4, "crash")]
        self.assertIsNone(stop(h, patience=3))
        self.assertEqual(stop(h + [rec(5, "guard_failed")], patience=3), "patience_exhausted")

    def test_patience_zero_is_off(self):
        h = [rec(0, "baseline")] + [rec(i, "regress") for i in range(1, 10)]
        self.assertIsNone(stop(h, patience=0))

    def test_crash_budget_counts_consecutive_crashes(self):
        h = [rec(0, "baseline"), rec(1, "crash"), rec(2, "regress"), rec(3, "crash"), rec(4, "crash")]
        self.assertIsNone(stop(h, max_consecutive_crashes=3))
        self.assertEqual(stop(h + [rec(5, "crash")], max_consecutive_crashes=3), "crash_budget_exhausted")

    def test_threshold_is_direction_aware(self):
        h = [rec(0, "baseline"), rec(1, "improve")]
        self.assertEqual(stop(h, threshold=5.0, best_score=5.0, direction="min"), "threshold_reached")
        self.assertIsNone(stop(h, threshold=5.0, best_score=5.1, direction="min"))
        self.assertEqual(stop(h, threshold=5.0, best_score=5.1, direction="max"), "threshold_reached")
        self.assertIsNone(stop(h, threshold=5.0, best_score=4.9, direction="max"))
        self.assertTrue(crossed("min", 1, 2) and crossed("max", 2, 1))

    def test_unrecoverable_integrity_stops(self):
        h = [rec(0, "baseline"), {**rec(1, "integrity_violation"), "unrecoverable": ["x"]}]
        self.assertEqual(stop(h), "integrity_unrecoverable")


if __name__ == "__main__":
    unittest.main()
