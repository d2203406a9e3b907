"""Tests for stats.py: pairs, calibration, the sequential test, confirmation
and the naive rule.  Stdlib unittest; seeded randomness only."""

import math
import random
import unittest

from core import looks
from core import stats


def min_pairs_from(diffs, base=100.0):
    """Pairs (a, b) whose improvement a - b (direction "min") is each diff."""
    return [(base, base - d) for d in diffs]


class TestPairs(unittest.TestCase):
    def test_pair_order_abba(self):
        self.assertEqual([stats.pair_order(k) for k in range(5)], ["AB", "BA", "AB", "BA", "AB"])
        with self.assertRaises(ValueError):
            stats.pair_order(-1)

    def test_improvements_both_directions(self):
        self.assertEqual(stats.improvements([(10, 8), (5, 6)], "min"), [2, -1])
        self.assertEqual(stats.improvements([(10, 8), (5, 6)], "max"), [-2, 1])
        with self.assertRaises(ValueError):
            stats.improvements([(1, 2)], "up")


class TestCalibrate(unittest.TestCase):
    def test_known_values(self):
        c = stats.calibrate([10, 11, 12, 13, 14], 50, seconds_per_trial=2.0)
        self.assertEqual(c["median"], 12)
        self.assertEqual(c["mad"], 1)
        self.assertAlmostEqual(c["robust_sd"], 1.4826)
        self.assertAlmostEqual(c["relative_spread"], 1.4826 / 12)
        self.assertFalse(c["deterministic"])
        self.assertGreater(c["mde"], 0)
        self.assertEqual(c["max_trials"], 100)
        self.assertEqual(c["seconds_full_budget"], 200.0)
        self.assertIsNone(stats.calibrate([1, 2], 50)["seconds_full_budget"])

    def test_deterministic(self):
        c = stats.calibrate([7.25] * 5, 50)
        self.assertTrue(c["deterministic"])
        self.assertEqual((c["mde"], c["robust_sd"], c["sd_method"]), (0.0, 0.0, "zero"))

    def test_mad_zero_but_not_identical(self):
        c = stats.calibrate([5, 5, 5, 5, 5, 6], 50)
        self.assertEqual(c["sd_method"], "mean_abs_dev")
        self.assertAlmostEqual(c["robust_sd"], math.sqrt(math.pi / 2) / 6)
        self.assertFalse(c["deterministic"])
        self.assertGreater(c["mde"], 0)

    def test_mde_scales_with_noise_and_budget(self):
        rng = random.Random(3)
        values = [rng.gauss(100, 1) for _ in range(25)]
        c1 = stats.calibrate(values, 50)
        c2 = stats.calibrate([100 + 2 * (v - 100) for v in values], 50)
        self.assertAlmostEqual(c2["mde"], 2 * c1["mde"], places=9)
        self.assertLess(stats.calibrate(values, 100)["mde"], c1["mde"])
        self.assertGreater(stats.calibrate(values, 20)["mde"], c1["mde"])

    def test_mde_is_about_right_for_the_default_design(self):
        # noise sd 1: the default design keeps improvements of ~0.65-0.7 sd
        rng = random.Random(4)
        c = stats.calibrate([rng.gauss(0, 1) for _ in range(2000)], 50)
        self.assertAlmostEqual(c["mde"], 0.65, delta=0.05)

    def test_errors(self):
        with self.assertRaises(stats.StatisticsError):
            stats.calibrate([1.0], 50)
        with self.assertRaises(ValueError):
            stats.calibrate([1.0, 2.0], 2)            # budget below min_pairs


class TestCheckResolution(unittest.TestCase):
    CAL = {"mde": 1.0, "deterministic": False, "relative_spread": 0.05, "max_pairs": 50}

    def test_resolvable(self):
        r = stats.check_resolution(0.5, self.CAL)
        self.assertTrue(r["resolvable"])
        self.assertEqual((r["effective_min_effect"], r["message"]), (0.5, ""))

    def test_too_small_is_raised_to_half_the_mde(self):
        for m in (0.0, 0.2, 0.4999):
            r = stats.check_resolution(m, self.CAL)
            with self.subTest(m=m):
                self.assertFalse(r["resolvable"])
                self.assertEqual(r["effective_min_effect"], 0.5)
                self.assertIn("min-improvement", r["message"])

    def test_deterministic_resolves_anything(self):
        r = stats.check_resolution(0.0, {"mde": 0.0, "deterministic": True, "max_pairs": 50})
        self.assertTrue(r["resolvable"])
        self.assertEqual(r["effective_min_effect"], 0.0)

    def test_negative_min_effect(self):
        with self.assertRaises(ValueError):
            stats.check_resolution(-0.1, self.CAL)


class TestSequentialVerdict(unittest.TestCase):
    def test_clear_improvement_kept_at_first_look(self):
        v = stats.sequential_verdict(min_pairs_from([2.1, 1.9, 2.05, 1.95]), "min", 0.5)
        self.assertEqual(v.outcome, "keep")
        self.assertEqual((v.n_pairs, v.n_trials, v.next_pairs), (4, 8, 0))
        self.assertAlmostEqual(v.effect, 2.0)
        self.assertLess(v.ci_low, 2.0)
        self.assertGreater(v.ci_high, 2.0)
        self.assertLessEqual(v.p_value, v.alpha_look)

    def test_both_directions(self):
        better_if_max = [(10.0, 12.1), (10.0, 11.9), (10.0, 12.05), (10.0, 11.95)]
        self.assertEqual(stats.sequential_verdict(better_if_max, "max", 0.5).outcome, "keep")
        v = stats.sequential_verdict(better_if_max, "min", 0.5)
        self.assertEqual(v.outcome, "discard")
        self.assertLess(v.effect, 0)

    def test_clearly_worse_discarded_early(self):
        v = stats.sequential_verdict(min_pairs_from([-2.1, -1.9, -2.05, -1.95]), "min", 0.5)
        self.assertEqual((v.outcome, v.n_pairs), ("discard", 4))
        self.assertIn("worse", v.reason)

    def test_keep_requires_effect_above_min_effect(self):
        data = min_pairs_from([1.01, 0.99, 1.02, 0.98])     # effect 1, very significant
        self.assertEqual(stats.sequential_verdict(data, "min", 0.9).outcome, "keep")
        self.assertNotEqual(stats.sequential_verdict(data, "min", 1.0).outcome, "keep")
        self.assertEqual(stats.sequential_verdict(data, "min", 1.5).outcome, "discard")

    def test_borderline_continues_before_cap(self):
        v = stats.sequential_verdict(min_pairs_from([1.2, -0.4, 0.9, 0.1]), "min", 0.5)
        self.assertEqual(v.outcome, "continue")
        self.assertEqual(v.next_pairs, 2)
        self.assertIsNotNone(v.p_value)

    def test_inconclusive_at_cap(self):
        diffs = [3, -2, 2.5, -1.5, 1, 0.5]
        kw = dict(min_pairs=4, max_pairs=6)
        self.assertEqual(stats.sequential_verdict(min_pairs_from(diffs[:4]), "min", 0.3, **kw).outcome, "continue")
        v = stats.sequential_verdict(min_pairs_from(diffs), "min", 0.3, **kw)
        self.assertEqual((v.outcome, v.next_pairs), ("inconclusive", 0))
        self.assertGreater(v.effect, 0.3)
        # more pairs than the cap: judged like the last look, never "continue"
        self.assertEqual(stats.sequential_verdict(min_pairs_from(diffs + [0.1]), "min", 0.3, **kw).outcome,
                         "inconclusive")

    def test_between_looks_and_too_few(self):
        self.assertEqual(stats.sequential_verdict([], "min").next_pairs, 4)
        v = stats.sequential_verdict(min_pairs_from([5, 5.1, 4.9, 5.2, 5.0]), "min", 0.5)  # n = 5: no look
        self.assertEqual((v.outcome, v.next_pairs), ("continue", 1))
        v = stats.sequential_verdict(min_pairs_from([1.0, 1.0, 1.0]), "min", 0.5)  # zero spread, no look
        self.assertEqual((v.outcome, v.next_pairs), ("continue", 1))

    def test_ties_mostly_zero(self):
        v = stats.sequential_verdict(min_pairs_from([0, 0, 0, 0, 0.5, 0, 0, 0, 0, -0.2]), "min", 0.1)
        self.assertEqual(v.outcome, "discard")
        self.assertEqual(v.effect, 0.0)

    def test_zero_spread_is_exact(self):
        same = min_pairs_from([1.0] * 4)
        v = stats.sequential_verdict(same, "min", 0.5)
        self.assertEqual((v.outcome, v.effect, v.ci_low, v.ci_high), ("keep", 1.0, 1.0, 1.0))
        self.assertEqual(stats.sequential_verdict(same, "min", 1.0).outcome, "discard")   # not > min_effect
        self.assertEqual(stats.sequential_verdict(min_pairs_from([0.0] * 4), "min", 0.0).outcome, "discard")

    def test_deterministic_mode(self):
        self.assertEqual(stats.sequential_verdict([], "min", deterministic=True).next_pairs, 1)
        v = stats.sequential_verdict([(10.0, 9.8)], "min", 0.1, deterministic=True)
        self.assertEqual((v.outcome, v.n_pairs, v.n_trials), ("keep", 1, 2))
        self.assertEqual(stats.sequential_verdict([(10.0, 10.0)], "min", 0.0, deterministic=True).outcome,
                         "discard")
        self.assertEqual(stats.sequential_verdict([(10.0, 10.2)], "max", 0.1, deterministic=True).outcome,
                         "keep")
        # pairs disagree: not deterministic after all, measure like a noisy benchmark
        v = stats.sequential_verdict([(10.0, 9.8), (10.0, 9.9)], "min", 0.1, deterministic=True)
        self.assertEqual((v.outcome, v.next_pairs), ("continue", 2))

    def test_verdict_is_frozen_and_serializable(self):
        v = stats.sequential_verdict(min_pairs_from([1.2, -0.4, 0.9, 0.1]), "min", 0.5)
        with self.assertRaises(AttributeError):
            v.outcome = "keep"
        d = v.to_dict()
        self.assertEqual(d["outcome"], "continue")
        self.assertEqual(set(d), set(stats.Verdict._fields))

    def test_bad_arguments(self):
        pairs = min_pairs_from([1, 2, 3, 4])
        for kw in (dict(direction="up"), dict(min_effect=-1), dict(min_effect=float("nan")),
                   dict(alpha=0.0), dict(futility=0.6), dict(max_pairs=2)):
            args = dict(direction="min", min_effect=0.5)
            args.update(kw)
            with self.subTest(kw=kw), self.assertRaises(ValueError):
                stats.sequential_verdict(pairs, args.pop("direction"), args.pop("min_effect"), **args)

    def test_studentized_llr_is_wald_for_large_df(self):
        # normal SPRT: delta1 (est - delta1 / 2) / se^2 = 1 * (0.3 - 0.5) / 0.04 = -5
        self.assertAlmostEqual(stats._studentized_llr(0.3, 0.2, 1e9, 1.0), -5.0, places=5)
        self.assertGreater(stats._studentized_llr(0.3, 0.2, 3, 1.0), -5.0)   # heavy tails temper it
        self.assertEqual(stats._studentized_llr(0.3, 0.2, 3, 0.0), 0.0)


def run_candidate(rng, effect, sigma, min_effect, direction="min", spike=0.0):
    """One candidate judged like ratchet does: ABBA pairs, looks by next_pairs."""
    pairs = []
    sign = 1.0 if direction == "min" else -1.0

    def measure(true):
        x = true + rng.gauss(0, sigma)
        return x + sign * rng.uniform(5, 20) * sigma if spike and rng.random() < spike else x

    a_true = 100.0
    b_true = a_true - effect if direction == "min" else a_true + effect
    while True:
        for _ in range(looks.next_pairs(len(pairs))):
            if stats.pair_order(len(pairs)) == "AB":
                a = measure(a_true)
                b = measure(b_true)
            else:
                b = measure(b_true)
                a = measure(a_true)
            pairs.append((a, b))
        v = stats.sequential_verdict(pairs, direction, min_effect)
        if v.outcome != "continue":
            return v


class TestErrorRates(unittest.TestCase):
    """Seeded simulations: small, but large enough to catch a broken rule."""

    def test_false_keeps_of_noops_below_alpha(self):
        rng = random.Random(11)
        for direction in ("min", "max"):
            kept = sum(run_candidate(rng, 0.0, 1.0, 0.5, direction).outcome == "keep" for _ in range(300))
            with self.subTest(direction=direction):
                self.assertLessEqual(kept / 300, 0.07)   # design ~3%; alpha 5%

    def test_false_keeps_with_min_effect_zero_and_no_futility(self):
        # min_effect 0 (no futility alternative): runs to the cap, still <= alpha
        rng = random.Random(12)
        kept = sum(run_candidate(rng, 0.0, 1.0, 0.0).outcome == "keep" for _ in range(200))
        self.assertLessEqual(kept / 200, 0.08)

    def test_power_for_real_improvements(self):
        rng = random.Random(13)
        kept = sum(run_candidate(rng, 1.0, 1.0, 0.5).outcome == "keep" for _ in range(200))
        self.assertGreaterEqual(kept / 200, 0.72)     # design ~84%

    def test_robust_to_one_sided_spikes(self):
        rng = random.Random(14)
        noop = sum(run_candidate(rng, 0.0, 1.0, 0.5, spike=0.1).outcome == "keep" for _ in range(200))
        good = sum(run_candidate(rng, 1.0, 1.0, 0.5, spike=0.1).outcome == "keep" for _ in range(200))
        self.assertLessEqual(noop / 200, 0.08)
        self.assertGreaterEqual(good / 200, 0.65)     # design ~80%


class TestConfirm(unittest.TestCase):
    def test_exact_gain_min_and_max(self):
        c = stats.confirm([10.0] * 6, [8.0] * 6, "min")
        self.assertEqual((c["gain"], c["gain_low"], c["gain_high"]), (2.0, 2.0, 2.0))
        self.assertAlmostEqual(c["relative_gain"], 0.2)
        c = stats.confirm([10.0] * 6, [8.0] * 6, "max")
        self.assertEqual(c["gain"], -2.0)
        self.assertAlmostEqual(c["relative_gain"], -0.2)

    def test_interval_contains_truth_and_narrows(self):
        rng = random.Random(21)

        def run(n, gain):
            base = [100 + rng.gauss(0, 1) for _ in range(n)]
            best = [100 - gain + rng.gauss(0, 1) for _ in range(n)]
            return stats.confirm(base, best, "min")

        small, large = run(10, 3.0), run(60, 3.0)
        for c in (small, large):
            self.assertLess(c["gain_low"], 3.0)
            self.assertGreater(c["gain_high"], 3.0)
            self.assertGreater(c["gain_low"], 0.0)
        self.assertLess(large["gain_high"] - large["gain_low"], small["gain_high"] - small["gain_low"])
        self.assertLess(large["relative_low"], 0.03)
        self.assertGreater(large["relative_high"], 0.03)

    def test_noop_interval_contains_zero_95_percent(self):
        rng = random.Random(22)
        hits = 0
        for _ in range(1000):
            # both sides share one noise distribution, spikes included
            base, best = ([100 + rng.gauss(0, 1) + (rng.uniform(5, 20) if rng.random() < 0.1 else 0)
                           for _ in range(16)] for _side in range(2))
            c = stats.confirm(base, best, "min")
            hits += c["gain_low"] <= 0 <= c["gain_high"]
        self.assertGreaterEqual(hits / 1000, 0.935)   # exact level 95.6% at 16 pairs

    def test_shapes_and_errors(self):
        with self.assertRaises(ValueError):
            stats.confirm([1, 2, 3], [1, 2], "min")
        with self.assertRaises(stats.StatisticsError):
            stats.confirm([1], [1], "min")
        c = stats.confirm([10, 11, 12, 13], [8, 9, 10], "min", paired=False)
        self.assertIsNone(c["n_pairs"])
        self.assertGreater(c["gain"], 0)
        self.assertIsNone(stats.confirm([-1, 1, -1, 1], [0, 0, 0, 0], "min")["relative_gain"])


class TestThresholdReached(unittest.TestCase):
    def test_min_needs_whole_interval_at_or_below(self):
        c = {"direction": "min", "best_level": 9.0, "best_low": 8.5, "best_high": 9.5}
        self.assertTrue(stats.threshold_reached(c, 9.5, "min"))
        self.assertTrue(stats.threshold_reached(c, 10.0, "min"))
        self.assertFalse(stats.threshold_reached(c, 9.2, "min"))     # estimate past it, interval straddles
        self.assertFalse(stats.threshold_reached(c, 8.0, "min"))

    def test_max_needs_whole_interval_at_or_above(self):
        c = {"direction": "max", "best_level": 9.0, "best_low": 8.5, "best_high": 9.5}
        self.assertTrue(stats.threshold_reached(c, 8.5, "max"))
        self.assertFalse(stats.threshold_reached(c, 8.8, "max"))
        self.assertFalse(stats.threshold_reached(c, 10.0, "max"))

    def test_from_confirm_and_errors(self):
        c = stats.confirm([10.0, 10.1, 9.9, 10.0, 10.05, 9.95], [8.0, 8.1, 7.9, 8.0, 8.05, 7.95], "min")
        self.assertTrue(stats.threshold_reached(c, 8.5, "min"))
        self.assertFalse(stats.threshold_reached(c, 8.0, "min"))
        with self.assertRaises(ValueError):
            stats.threshold_reached(c, 8.5, "max")
        with self.assertRaises(ValueError):
            stats.threshold_reached(c, float("inf"), "min")


class TestNaive(unittest.TestCase):
    def test_rule(self):
        self.assertEqual(stats.naive_verdict([9.4] * 5, 10.0, "min", 0.5), (True, 9.4))
        self.assertEqual(stats.naive_verdict([9.6] * 5, 10.0, "min", 0.5), (False, 10.0))
        self.assertEqual(stats.naive_verdict([9.5] * 5, 10.0, "min", 0.5), (False, 10.0))  # strict
        self.assertEqual(stats.naive_verdict([11.0, 10.0], 10.0, "max", 0.4), (True, 10.5))
        with self.assertRaises(stats.StatisticsError):
            stats.naive_verdict([], 10.0, "min")


if __name__ == "__main__":
    unittest.main()
