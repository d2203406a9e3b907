"""Tests for stats.py: distributions, robust estimators, the sequential test,
calibration and confirmation.  Stdlib unittest; seeded randomness only."""

import dataclasses
import math
import random
import unittest

import stats


def min_pairs_from(diffs, base=100.0):
    """Pairs (a, b) whose improvement a - b (direction "min") is each diff."""
    return [(base, base - d) for d in diffs]


class TestStudentT(unittest.TestCase):
    # two-sided 95% / one-sided critical values from standard t tables
    TABLE = [
        (0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 5, 2.571), (0.975, 10, 2.228),
        (0.975, 30, 2.042), (0.95, 5, 2.015), (0.95, 20, 1.725), (0.99, 30, 2.457),
        (0.995, 2, 9.925), (0.995, 10, 3.169), (0.9, 20, 1.325), (0.8, 3, 0.978),
    ]

    def test_quantiles_match_table(self):
        for p, df, expected in self.TABLE:
            with self.subTest(p=p, df=df):
                self.assertAlmostEqual(stats.t_ppf(p, df), expected, places=3)

    def test_cdf_matches_table(self):
        for p, df, t in self.TABLE:
            with self.subTest(p=p, df=df):
                self.assertAlmostEqual(stats.t_cdf(t, df), p, delta=2e-4)

    def test_closed_forms_df1_df2(self):
        for t in (-30.0, -2.5, -0.3, 0.0, 0.7, 4.0, 100.0):
            self.assertAlmostEqual(stats.t_cdf(t, 1), 0.5 + math.atan(t) / math.pi, places=12)
            self.assertAlmostEqual(stats.t_cdf(t, 2), 0.5 + t / (2 * math.sqrt(2 + t * t)), places=12)

    def test_far_tail_keeps_relative_precision(self):
        t = 1e4
        exact = 0.5 - math.atan(t) / math.pi        # ~3.2e-5 for df = 1
        self.assertAlmostEqual(stats.t_sf(t, 1) / exact, 1.0, places=7)
        self.assertGreater(stats.t_sf(60.0, 30), 0.0)
        self.assertLess(stats.t_sf(60.0, 30), 1e-25)

    def test_symmetry_and_roundtrip(self):
        for df in (1, 2, 3, 3.5, 7, 29, 100.5, 1e9, math.inf):
            for p in (1e-9, 0.001, 0.2, 0.5, 0.8, 0.975, 1 - 1e-9):
                with self.subTest(df=df, p=p):
                    t = stats.t_ppf(p, df)
                    self.assertAlmostEqual(stats.t_cdf(t, df), p, delta=1e-9 * max(1.0, 1 / p))
                    self.assertAlmostEqual(stats.t_ppf(1 - p, df), -t, delta=1e-9 * max(1.0, abs(t)))

    def test_large_df_is_normal(self):
        self.assertAlmostEqual(stats.t_ppf(0.975, math.inf), 1.959964, places=5)
        self.assertAlmostEqual(stats.t_ppf(0.975, 1e6), 1.959966, places=5)

    def test_bad_arguments(self):
        for bad in ((0.5, 0), (0.5, -1), (0.0, 5), (1.0, 5), (float("nan"), 5)):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                stats.t_ppf(*bad)
        with self.assertRaises(ValueError):
            stats.t_sf(float("nan"), 3)


class TestTrimmed(unittest.TestCase):
    DATA = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100]   # g = 2: trims 1, 2 and 9, 100

    def test_trimmed_mean_by_hand(self):
        self.assertEqual(stats.trimmed_mean(self.DATA), 5.5)       # mean(3..8)
        self.assertEqual(stats.trimmed_mean(self.DATA, 0.0), 14.5)  # plain mean
        self.assertEqual(stats.trimmed_mean([4, 1, 3, 2]), 2.5)     # n=4: g=0

    def test_winsorized_variance_by_hand(self):
        # winsorized: 3 3 3 4 5 6 7 8 8 8, mean 5.5, SSD 42.5
        self.assertAlmostEqual(stats.winsorized_variance(self.DATA), 42.5 / 9, places=12)
        self.assertAlmostEqual(stats.winsorized_variance([1, 2, 3, 4], 0.0), 5 / 3, places=12)

    def test_ci_by_hand(self):
        r = stats.trimmed_mean_ci(self.DATA)
        se = math.sqrt(42.5 / (6 * 5))            # Yuen: SSD_w / (h (h - 1)), h = 6
        self.assertAlmostEqual(r["se"], se, places=12)
        self.assertEqual(r["df"], 5)
        self.assertAlmostEqual(r["high"] - r["estimate"], 2.570582 * se, places=5)
        self.assertAlmostEqual(r["estimate"] - r["low"], 2.570582 * se, places=5)

    def test_one_outlier_barely_moves_it(self):
        clean = [10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 10.3, 9.7, 10.1, 9.9]
        spiked = clean[:-1] + [1000.0]
        self.assertAlmostEqual(stats.trimmed_mean(spiked), stats.trimmed_mean(clean), delta=0.05)
        self.assertLess(stats.trimmed_mean_ci(spiked)["se"], 3 * stats.trimmed_mean_ci(clean)["se"])

    def test_all_equal_collapses(self):
        r = stats.trimmed_mean_ci([3.0] * 7)
        self.assertEqual((r["estimate"], r["low"], r["high"], r["se"]), (3.0, 3.0, 3.0, 0.0))

    def test_winsorizing_removing_all_spread_falls_back(self):
        r = stats.trimmed_mean_ci([-5, 0, 0, 0, 0, 3])
        self.assertEqual(r["estimate"], 0.0)
        self.assertGreater(r["se"], 0.0)
        self.assertLess(r["low"], 0.0)
        self.assertGreater(r["high"], 0.0)

    def test_too_little_or_bad_data(self):
        with self.assertRaises(stats.StatisticsError):
            stats.trimmed_mean([])
        with self.assertRaises(stats.StatisticsError):
            stats.winsorized_variance([1.0])
        with self.assertRaises(ValueError):
            stats.trimmed_mean([1.0, float("nan")])
        with self.assertRaises(ValueError):
            stats.trimmed_mean([1.0, 2.0], 0.5)

    def test_yuen_two_sample(self):
        r = stats.yuen_ci([10, 11, 12, 13, 14], [8, 9, 10, 11, 12])
        self.assertAlmostEqual(r["estimate"], 2.0)
        self.assertLess(r["low"], 2.0)
        self.assertGreater(r["high"], 2.0)
        same = stats.yuen_ci([5.0] * 4, [3.0] * 6)
        self.assertEqual((same["low"], same["high"]), (2.0, 2.0))


class TestHodgesLehmann(unittest.TestCase):
    def test_estimate_is_median_of_walsh_averages(self):
        self.assertEqual(stats.hodges_lehmann_ci([1, 2, 3])["estimate"], 2.0)
        # Walsh averages of 0, 1, 10: 0, .5, 1, 5, 5.5, 10 -> median 3
        self.assertEqual(stats.hodges_lehmann_ci([0, 1, 10])["estimate"], 3.0)

    def test_signed_rank_table_n10(self):
        # Wilcoxon table, n = 10, two-sided 0.05: reject when T <= 8 (P = 25/1024)
        data = list(range(10))
        walsh = sorted((data[i] + data[j]) / 2 for i in range(10) for j in range(i, 10))
        r = stats.hodges_lehmann_ci(data)
        self.assertEqual(r["low"], walsh[8])
        self.assertEqual(r["high"], walsh[55 - 9])
        self.assertAlmostEqual(r["confidence"], 1 - 2 * 25 / 1024, places=12)

    def test_achieved_level_never_below_request(self):
        for n in range(6, 130, 7):
            with self.subTest(n=n):
                self.assertGreaterEqual(stats.hodges_lehmann_ci(list(range(n)))["confidence"], 0.95 - 1e-3)

    def test_too_few_for_95_reports_achieved(self):
        r = stats.hodges_lehmann_ci([3, 1, 4, 1.5, 5])
        self.assertEqual((r["low"], r["high"]), (1, 5))
        self.assertAlmostEqual(r["confidence"], 1 - 2 / 32)

    def test_coverage_gaussian(self):
        rng = random.Random(1)
        hits = sum(
            (lambda r: r["low"] <= 0 <= r["high"])(stats.hodges_lehmann_ci([rng.gauss(0, 1) for _ in range(16)]))
            for _ in range(1500))
        self.assertGreater(hits / 1500, 0.935)   # exact level 95.6%; 1500 draws: sd 0.5 points

    def test_all_equal(self):
        r = stats.hodges_lehmann_ci([2.5] * 8)
        self.assertEqual((r["estimate"], r["low"], r["high"]), (2.5, 2.5, 2.5))


class TestPairsAndSchedule(unittest.TestCase):
    def test_pair_order_abba(self):
        self.assertEqual([stats.pair_order(k) for k in range(5)], ["AB", "BA", "AB", "BA", "AB"])
        with self.assertRaises(ValueError):
            stats.pair_order(-1)

    def test_improvements_both_directions(self):
        self.assertEqual(stats.improvements([(10, 8), (5, 6)], "min"), [2, -1])
        self.assertEqual(stats.improvements([(10, 8), (5, 6)], "max"), [-2, 1])
        with self.assertRaises(ValueError):
            stats.improvements([(1, 2)], "up")

    def test_look_schedule(self):
        self.assertEqual(stats.look_schedule(4, 12, 2), (4, 6, 8, 10, 12))
        self.assertEqual(stats.look_schedule(4, 9, 2), (4, 6, 8, 9))   # cap is always a look
        for bad in ((1, 10, 2), (6, 4, 2), (4, 10, 0), (4.0, 10, 2)):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                stats.look_schedule(*bad)

    def test_next_pairs(self):
        kw = dict(min_pairs=4, max_pairs=10, look_every=2)
        self.assertEqual([stats.next_pairs(n, **kw) for n in (0, 3, 4, 5, 8, 10, 12)], [4, 1, 2, 1, 2, 0, 0])
        self.assertEqual(stats.next_pairs(0, deterministic=True), 1)
        self.assertEqual(stats.next_pairs(1, deterministic=True), 0)


class TestAlphaSpending(unittest.TestCase):
    def test_recursion_against_published_constants(self):
        # Jennison & Turnbull tables 2.1 / 2.3: two-sided 0.05 = one-sided 0.025
        pocock5 = stats._crossing_probabilities([2.413] * 5, [1, 2, 3, 4, 5])
        obf5 = stats._crossing_probabilities([2.040 * math.sqrt(5 / k) for k in range(1, 6)], [1, 2, 3, 4, 5])
        pocock2 = stats._crossing_probabilities([2.178] * 2, [1, 2])
        for probs in (pocock5, obf5, pocock2):
            self.assertAlmostEqual(sum(probs), 0.025, delta=2e-4)

    def test_levels_spend_exactly_alpha(self):
        for gamma in (-4.0, 0.0, 1.0):
            levels = stats.look_levels(alpha=0.05, min_pairs=4, max_pairs=20, look_every=2, spending=gamma)
            looks = [n for n, _ in levels]
            zs = [stats._NORMAL.inv_cdf(1 - a) for _, a in levels]
            with self.subTest(gamma=gamma):
                self.assertAlmostEqual(sum(stats._crossing_probabilities(zs, looks)), 0.05, delta=3e-4)
                # each nominal level is below the total (a union bound would be looser)
                self.assertTrue(all(a < 0.05 for _, a in levels))
                self.assertGreater(sum(a for _, a in levels), 0.05)

    def test_single_look_is_alpha(self):
        [(n, level)] = stats.look_levels(alpha=0.05, min_pairs=10, max_pairs=10)
        self.assertEqual(n, 10)
        self.assertAlmostEqual(level, 0.05, places=9)

    def test_obrien_fleming_like_is_strict_early(self):
        obf = stats.look_levels(spending=-4.0)
        pocock = stats.look_levels(spending=1.0)
        self.assertLess(obf[0][1], pocock[0][1])
        self.assertGreater(obf[-1][1], pocock[-1][1])


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

    def test_qn_by_hand(self):
        # 1..10: pairwise differences, 15th smallest (h = 6, k = 15) is 2
        self.assertAlmostEqual(stats.qn_scale(range(1, 11)), 2.2219 * (10 / 13.8) * 2)
        rng = random.Random(5)
        self.assertAlmostEqual(stats.qn_scale([rng.gauss(0, 3) for _ in range(600)]), 3.0, delta=0.25)

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
        with self.assertRaises(dataclasses.FrozenInstanceError):
            v.outcome = "keep"
        d = v.to_dict()
        self.assertEqual(d["outcome"], "continue")
        self.assertEqual(set(d), {f.name for f in dataclasses.fields(stats.Verdict)})

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
        for _ in range(stats.next_pairs(len(pairs))):
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
