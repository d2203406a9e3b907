"""Tests for tdist.py: Student's t tail, distribution function and quantile
against tables and closed forms.  Stdlib unittest."""

import math
import unittest

from core import tdist


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
                self.assertAlmostEqual(tdist.t_ppf(p, df), expected, places=3)

    def test_cdf_matches_table(self):
        for p, df, t in self.TABLE:
            with self.subTest(p=p, df=df):
                self.assertAlmostEqual(tdist.t_cdf(t, df), p, delta=2e-4)

    def test_closed_forms_df1_df2(self):
        for t in (-30.0, -2.5, -0.3, 0.0, 0.7, 4.0, 100.0):
            self.assertAlmostEqual(tdist.t_cdf(t, 1), 0.5 + math.atan(t) / math.pi, places=12)
            self.assertAlmostEqual(tdist.t_cdf(t, 2), 0.5 + t / (2 * math.sqrt(2 + t * t)), places=12)

    def test_far_tail_keeps_relative_precision(self):
        t = 1e4
        exact = 0.5 - math.atan(t) / math.pi        # ~3.2e-5 for df = 1
        self.assertAlmostEqual(tdist.t_sf(t, 1) / exact, 1.0, places=7)
        self.assertGreater(tdist.t_sf(60.0, 30), 0.0)
        self.assertLess(tdist.t_sf(60.0, 30), 1e-25)

    def test_symmetry_and_roundtrip(self):
        for df in (1, 2, 3, 3.5, 7, 29, 100.5, 1e9, math.inf):
            for p in (1e-9, 0.001, 0.2, 0.5, 0.8, 0.975, 1 - 1e-9):
                with self.subTest(df=df, p=p):
                    t = tdist.t_ppf(p, df)
                    self.assertAlmostEqual(tdist.t_cdf(t, df), p, delta=1e-9 * max(1.0, 1 / p))
                    self.assertAlmostEqual(tdist.t_ppf(1 - p, df), -t, delta=1e-9 * max(1.0, abs(t)))

    def test_large_df_is_normal(self):
        self.assertAlmostEqual(tdist.t_ppf(0.975, math.inf), 1.959964, places=5)
        self.assertAlmostEqual(tdist.t_ppf(0.975, 1e6), 1.959966, places=5)

    def test_bad_arguments(self):
        for bad in ((0.5, 0), (0.5, -1), (0.0, 5), (1.0, 5), (float("nan"), 5)):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                tdist.t_ppf(*bad)
        with self.assertRaises(ValueError):
            tdist.t_sf(float("nan"), 3)


if __name__ == "__main__":
    unittest.main()
