"""Tests for looks.py: the look schedule and the alpha-spending levels
(checked against published group-sequential constants).  Stdlib unittest."""

import math
import unittest
from statistics import NormalDist
from unittest import mock

from core import looks
from core import stats


class TestSchedule(unittest.TestCase):
    def test_look_schedule(self):
        self.assertEqual(looks.look_schedule(4, 12, 2), (4, 6, 8, 10, 12))
        self.assertEqual(looks.look_schedule(4, 9, 2), (4, 6, 8, 9))   # cap is always a look
        for bad in ((1, 10, 2), (6, 4, 2), (4, 10, 0), (4.0, 10, 2)):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                looks.look_schedule(*bad)

    def test_next_pairs(self):
        kw = dict(min_pairs=4, max_pairs=10, look_every=2)
        self.assertEqual([looks.next_pairs(n, **kw) for n in (0, 3, 4, 5, 8, 10, 12)], [4, 1, 2, 1, 2, 0, 0])
        self.assertEqual(looks.next_pairs(0, deterministic=True), 1)
        self.assertEqual(looks.next_pairs(1, deterministic=True), 0)


class TestAlphaSpending(unittest.TestCase):
    def test_recursion_against_published_constants(self):
        # Jennison & Turnbull tables 2.1 / 2.3: two-sided 0.05 = one-sided 0.025
        pocock5 = looks._crossing_probabilities([2.413] * 5, [1, 2, 3, 4, 5])
        obf5 = looks._crossing_probabilities([2.040 * math.sqrt(5 / k) for k in range(1, 6)], [1, 2, 3, 4, 5])
        pocock2 = looks._crossing_probabilities([2.178] * 2, [1, 2])
        for probs in (pocock5, obf5, pocock2):
            self.assertAlmostEqual(sum(probs), 0.025, delta=2e-4)

    def test_levels_spend_exactly_alpha(self):
        for gamma in (-4.0, 0.0, 1.0):
            levels = looks.look_levels(alpha=0.05, min_pairs=4, max_pairs=20, look_every=2, spending=gamma)
            schedule = [n for n, _ in levels]
            zs = [NormalDist().inv_cdf(1 - a) for _, a in levels]
            with self.subTest(gamma=gamma):
                self.assertAlmostEqual(sum(looks._crossing_probabilities(zs, schedule)), 0.05, delta=3e-4)
                # each nominal level is below the total (a union bound would be looser)
                self.assertTrue(all(a < 0.05 for _, a in levels))
                self.assertGreater(sum(a for _, a in levels), 0.05)

    def test_single_look_is_alpha(self):
        [(n, level)] = looks.look_levels(alpha=0.05, min_pairs=10, max_pairs=10)
        self.assertEqual(n, 10)
        self.assertAlmostEqual(level, 0.05, places=9)

    def test_obrien_fleming_like_is_strict_early(self):
        obf = looks.look_levels(spending=-4.0)
        pocock = looks.look_levels(spending=1.0)
        self.assertLess(obf[0][1], pocock[0][1])
        self.assertGreater(obf[-1][1], pocock[-1][1])


class TestTable(unittest.TestCase):
    """The precomputed levels (core/looks_table.py) of the default schedules.
    Every entry: `python3 -m core.looks --check` (about 10 s)."""

    def test_sampled_entries_match_the_integration(self):
        sample = [5, 6, 7, 8, 13, 22, 31, 40, 49, 50, 51, 64, 77, 99, 100]
        self.assertEqual(looks.check_table(sample), [])

    def test_a_wrong_entry_is_reported(self):
        from core import looks_table
        with mock.patch.dict(looks_table.LEVELS, {6: "0.0333 0.0325"}):
            self.assertEqual(len(looks.check_table([6])), 1)

    def test_every_product_schedule_is_tabulated(self):
        self.assertEqual((looks.ALPHA, looks.MIN_PAIRS, looks.LOOK_EVERY, looks.SPENDING),
                         (stats.DEFAULTS["alpha"], stats.DEFAULTS["min_pairs"],
                          stats.DEFAULTS["look_every"], stats.DEFAULTS["spending"]))
        for n in range(looks.MIN_PAIRS + 1, looks.TABLE_MAX_PAIRS + 1):
            planned = looks.look_schedule(looks.MIN_PAIRS, n, looks.LOOK_EVERY)
            with self.subTest(max_pairs=n):
                self.assertEqual(len(looks._tabulated(planned, looks.ALPHA, looks.SPENDING)), len(planned))

    def test_default_and_single_look_schedules_do_not_integrate(self):
        looks._integrated_levels.cache_clear()
        with mock.patch.object(looks, "_crossing_recursion", side_effect=AssertionError("integrated")):
            for n in (4, 5, 50, 100):  # the sequential design at --max-pairs n
                levels = looks.look_levels(max_pairs=n)
                self.assertEqual([k for k, _ in levels], list(looks.look_schedule(4, n, 2)))
            # the fixed design (--trials N): one look at N pairs, the whole alpha
            self.assertEqual(looks.look_levels(min_pairs=10, max_pairs=10, look_every=1), [(10, 0.05)])
            verdict = stats.sequential_verdict([(10.0 + i % 3, 9.0 + i % 2) for i in range(4)], "min")
            self.assertEqual(verdict.n_pairs, 4)

    def test_other_schedules_are_integrated(self):
        looks._integrated_levels.cache_clear()
        for kw in (dict(spending=-4.0), dict(alpha=0.1), dict(max_pairs=looks.TABLE_MAX_PAIRS + 1),
                   dict(min_pairs=6), dict(look_every=3)):
            with self.subTest(**kw):
                self.assertIsNone(looks._tabulated(looks.look_schedule(kw.get("min_pairs", 4),
                                                                       kw.get("max_pairs", 50),
                                                                       kw.get("look_every", 2)),
                                                   kw.get("alpha", 0.05), kw.get("spending", 0.0)))
        calls = []
        real = looks._crossing_recursion
        with mock.patch.object(looks, "_crossing_recursion", side_effect=lambda *a: calls.append(1) or real(*a)):
            looks.look_levels(max_pairs=12, spending=-4.0)
        self.assertEqual(calls, [1])


if __name__ == "__main__":
    unittest.main()
