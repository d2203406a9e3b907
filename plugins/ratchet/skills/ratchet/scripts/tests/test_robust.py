"""Tests for robust.py: trimmed mean and its intervals, Hodges-Lehmann with
the signed-rank interval, Qn scale.  Stdlib unittest; seeded randomness only."""

import math
import random
import unittest

from core import robust


class TestTrimmed(unittest.TestCase):
    DATA = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100]   # g = 2: trims 1, 2 and 9, 100

    def test_trimmed_mean_by_hand(self):
        self.assertEqual(robust.trimmed_mean(self.DATA), 5.5)       # mean(3..8)
        self.assertEqual(robust.trimmed_mean(self.DATA, 0.0), 14.5)  # plain mean
        self.assertEqual(robust.trimmed_mean([4, 1, 3, 2]), 2.5)     # n=4: g=0

    def test_winsorized_variance_by_hand(self):
        # winsorized: 3 3 3 4 5 6 7 8 8 8, mean 5.5, SSD 42.5
        self.assertAlmostEqual(robust.winsorized_variance(self.DATA), 42.5 / 9, places=12)
        self.assertAlmostEqual(robust.winsorized_variance([1, 2, 3, 4], 0.0), 5 / 3, places=12)

    def test_ci_by_hand(self):
        r = robust.trimmed_mean_ci(self.DATA)
        se = math.sqrt(42.5 / (6 * 5))            # Yuen: SSD_w / (h (h - 1)), h = 6
        self.assertAlmostEqual(r["se"], se, places=12)
        self.assertEqual(r["df"], 5)
        self.assertAlmostEqual(r["high"] - r["estimate"], 2.570582 * se, places=5)
        self.assertAlmostEqual(r["estimate"] - r["low"], 2.570582 * se, places=5)

    def test_one_outlier_barely_moves_it(self):
        clean = [10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 10.3, 9.7, 10.1, 9.9]
        spiked = clean[:-1] + [1000.0]
        self.assertAlmostEqual(robust.trimmed_mean(spiked), robust.trimmed_mean(clean), delta=0.05)
        self.assertLess(robust.trimmed_mean_ci(spiked)["se"], 3 * robust.trimmed_mean_ci(clean)["se"])

    def test_all_equal_collapses(self):
        r = robust.trimmed_mean_ci([3.0] * 7)
        self.assertEqual((r["estimate"], r["low"], r["high"], r["se"]), (3.0, 3.0, 3.0, 0.0))

    def test_winsorizing_removing_all_spread_falls_back(self):
        r = robust.trimmed_mean_ci([-5, 0, 0, 0, 0, 3])
        self.assertEqual(r["estimate"], 0.0)
        self.assertGreater(r["se"], 0.0)
        self.assertLess(r["low"], 0.0)
        self.assertGreater(r["high"], 0.0)

    def test_too_little_or_bad_data(self):
        with self.assertRaises(robust.StatisticsError):
            robust.trimmed_mean([])
        with self.assertRaises(robust.StatisticsError):
            robust.winsorized_variance([1.0])
        with self.assertRaises(ValueError):
            robust.trimmed_mean([1.0, float("nan")])
        with self.assertRaises(ValueError):
            robust.trimmed_mean([1.0, 2.0], 0.5)

    def test_yuen_two_sample(self):
        r = robust.yuen_ci([10, 11, 12, 13, 14], [8, 9, 10, 11, 12])
        self.assertAlmostEqual(r["estimate"], 2.0)
        self.assertLess(r["low"], 2.0)
        self.assertGreater(r["high"], 2.0)
        same = robust.yuen_ci([5.0] * 4, [3.0] * 6)
        self.assertEqual((same["low"], same["high"]), (2.0, 2.0))


class TestHodgesLehmann(unittest.TestCase):
    def test_estimate_is_median_of_walsh_averages(self):
        self.assertEqual(robust.hodges_lehmann_ci([1, 2, 3])["estimate"], 2.0)
        # Walsh averages of 0, 1, 10: 0, .5, 1, 5, 5.5, 10 -> median 3
        self.assertEqual(robust.hodges_lehmann_ci([0, 1, 10])["estimate"], 3.0)

    def test_signed_rank_table_n10(self):
        # Wilcoxon table, n = 10, two-sided 0.05: reject when T <= 8 (P = 25/1024)
        data = list(range(10))
        walsh = sorted((data[i] + data[j]) / 2 for i in range(10) for j in range(i, 10))
        r = robust.hodges_lehmann_ci(data)
        self.assertEqual(r["low"], walsh[8])
        self.assertEqual(r["high"], walsh[55 - 9])
        self.assertAlmostEqual(r["confidence"], 1 - 2 * 25 / 1024, places=12)

    def test_achieved_level_never_below_request(self):
        for n in range(6, 130, 7):
            with self.subTest(n=n):
                self.assertGreaterEqual(robust.hodges_lehmann_ci(list(range(n)))["confidence"], 0.95 - 1e-3)

    def test_too_few_for_95_reports_achieved(self):
        r = robust.hodges_lehmann_ci([3, 1, 4, 1.5, 5])
        self.assertEqual((r["low"], r["high"]), (1, 5))
        self.assertAlmostEqual(r["confidence"], 1 - 2 / 32)

    def test_coverage_gaussian(self):
        rng = random.Random(1)
        hits = sum(
            (lambda r: r["low"] <= 0 <= r["high"])(robust.hodges_lehmann_ci([rng.gauss(0, 1) for _ in range(16)]))
            for _ in range(1500))
        self.assertGreater(hits / 1500, 0.935)   # exact level 95.6%; 1500 draws: sd 0.5 points

    def test_all_equal(self):
        r = robust.hodges_lehmann_ci([2.5] * 8)
        self.assertEqual((r["estimate"], r["low"], r["high"]), (2.5, 2.5, 2.5))


class TestQn(unittest.TestCase):
    def test_qn_by_hand(self):
        # 1..10: pairwise differences, 15th smallest (h = 6, k = 15) is 2
        self.assertAlmostEqual(robust.qn_scale(range(1, 11)), 2.2219 * (10 / 13.8) * 2)
        rng = random.Random(5)
        self.assertAlmostEqual(robust.qn_scale([rng.gauss(0, 3) for _ in range(600)]), 3.0, delta=0.25)


if __name__ == "__main__":
    unittest.main()
