import unittest

from core import design as interleave  # noqa: the module was interleave.py
from core.decision import judge_paired


def t(pair, side, score=1.0, status="ok"):
    return {"pair": pair, "side": side, "score": score if status == "ok" else None, "status": status}


class Order(unittest.TestCase):
    def test_pairs_alternate_ab_then_ba(self):
        trials, order = [], []
        for _ in range(8):
            pair, side = interleave.next_trial(trials)
            order.append(side)
            trials.append(t(pair, side))
        self.assertEqual("".join(order), "ABBAABBA")
        self.assertEqual(len(interleave.complete_pairs(trials)), 4)

    def test_incumbent_crash_abandons_its_pair(self):
        trials = [t(0, "A", status="crash")]
        self.assertEqual(interleave.next_trial(trials), (1, "B"))
        trials += [t(1, "B", 2.0), t(1, "A", 3.0)]
        self.assertEqual(interleave.complete_pairs(trials), [(3.0, 2.0)])
        self.assertEqual(interleave.a_crashes(trials), 1)
        self.assertFalse(interleave.b_failed(trials))

    def test_candidate_failure_is_seen(self):
        self.assertTrue(interleave.b_failed([t(0, "A"), t(0, "B", status="crash")]))
        self.assertTrue(interleave.b_failed([t(0, "B", status="needs_score")]))

    def test_complete_pairs_keep_measurement_order(self):
        trials = [t(0, "A", 10), t(0, "B", 9), t(1, "B", 8), t(1, "A", 11)]
        self.assertEqual(interleave.complete_pairs(trials), [(10, 9), (11, 8)])


class Design(unittest.TestCase):
    def test_deterministic_metric_gets_the_exact_design(self):
        self.assertEqual(interleave.choose({"deterministic": True}, None, 30).to_dict(), {"kind": "exact", "trials": 1})
        self.assertEqual(interleave.choose({"deterministic": True}, 3, 30).to_dict()["trials"], 3)

    def test_noisy_metric_with_trials_is_fixed_and_without_is_sequential(self):
        fixed = interleave.choose({"deterministic": False}, 6, 30).to_dict()
        self.assertEqual((fixed["kind"], fixed["min_pairs"], fixed["max_pairs"]), ("fixed", 6, 6))
        self.assertEqual(interleave.Design.from_dict(fixed).schedule(), {"min_pairs": 6, "max_pairs": 6, "look_every": 1})
        seq = interleave.choose({"deterministic": False}, None, 12).to_dict()
        self.assertEqual((seq["kind"], seq["max_pairs"]), ("sequential", 12))

    def test_fixed_design_needs_two_pairs_at_least(self):
        self.assertEqual(interleave.choose({"deterministic": False}, 1, 30).to_dict()["max_pairs"], 2)


class BaselineCalibration(unittest.TestCase):
    def runs(self, *scores):
        return [t(i, "B", s) for i, s in enumerate(scores)]

    def test_deterministic_metric_stops_after_the_probe(self):
        self.assertFalse(interleave.baseline_done(self.runs(7, 7, 7, 7), 30))
        self.assertTrue(interleave.baseline_done(self.runs(7, 7, 7, 7, 7), 30))

    def test_noisy_metric_runs_the_full_calibration(self):
        self.assertFalse(interleave.baseline_done(self.runs(7, 7, 7, 7, 8), 30))
        self.assertFalse(interleave.baseline_done(self.runs(*range(29)), 30))
        self.assertTrue(interleave.baseline_done(self.runs(*range(30)), 30))

    def test_a_failed_run_ends_calibration(self):
        self.assertTrue(interleave.baseline_done([t(0, "B", status="crash")], 30))


class PairedJudgement(unittest.TestCase):
    def judge(self, test=None, **kw):
        args = dict(test=test, candidate_scores=[1.0, 2.0], candidate_failed=False, incumbent_crashes=0,
                    max_incumbent_crashes=2, integrity_problems=[])
        args.update(kw)
        return judge_paired(**args)

    def fake_test(self, outcome, effect=0.1, high=0.2):
        return {"outcome": outcome, "effect": effect, "ci_low": effect - 0.1, "ci_high": high,
                "p_value": 0.01, "reason": "r"}

    def test_outcomes_map_to_decisions(self):
        self.assertEqual(self.judge(self.fake_test("keep")).decision, "improve")
        self.assertEqual(self.judge(self.fake_test("discard", -1.0, -0.5)).decision, "regress")
        self.assertEqual(self.judge(self.fake_test("discard", 0.01, 0.05)).decision, "no_change")
        self.assertEqual(self.judge(self.fake_test("inconclusive")).decision, "inconclusive")

    def test_effect_and_candidate_mean_are_reported(self):
        v = self.judge(self.fake_test("keep", 0.3, 0.5))
        self.assertEqual((v.avg, v.delta), (1.5, 0.3))
        self.assertEqual(v.test["outcome"], "keep")

    def test_failures_win_over_the_test(self):
        self.assertEqual(self.judge(self.fake_test("keep"), candidate_failed=True).decision, "crash")
        self.assertEqual(self.judge(self.fake_test("keep"), incumbent_crashes=3).decision, "crash")
        self.assertEqual(self.judge(self.fake_test("keep"), incumbent_crashes=2).decision, "improve")
        self.assertEqual(self.judge(self.fake_test("keep"), integrity_problems=["x"]).decision, "integrity_violation")
        self.assertEqual(self.judge(self.fake_test("continue")).decision, "crash")
        self.assertEqual(self.judge(None).decision, "crash")


if __name__ == "__main__":
    unittest.main()
