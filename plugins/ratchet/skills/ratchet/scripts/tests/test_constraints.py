"""--constraint: the syntax, the non-inferiority test, and how it joins the decision."""

import math
import random
import unittest

from core import constraints as C
from core import looks, stats
from core.config import parse_init_args
from core.errors import UsageError

REQUIRED = ["--run-command", "x", "--direction", "min", "--metric-name", "t", "--report-source", "stdout"]


def trial(side, pair, value, status="ok", name="mem"):
    return {"side": side, "pair": pair, "status": status, "metrics": {name: value}}


class Syntax(unittest.TestCase):
    def test_each_form_parses_to_its_meaning(self):
        cases = {
            "peak_mb<=+2%": ("peak_mb", "<=", 2.0, True, True, "min"),
            "accuracy>=-0.001": ("accuracy", ">=", 0.001, True, False, "max"),
            "errors<=0": ("errors", "<=", 0.0, False, False, "min"),
            "hit_rate >= 0.9": ("hit_rate", ">=", 0.9, False, False, "max"),
            "stats.rss<=+0": ("stats.rss", "<=", 0.0, True, False, "min"),
            "a>=-1.5%": ("a", ">=", 1.5, True, True, "max"),
        }
        for text, (name, op, value, relative, percent, direction) in cases.items():
            c = C.parse(text)
            self.assertEqual((c.name, c.op, c.value, c.relative, c.percent, c.direction),
                             (name, op, value, relative, percent, direction), text)
            self.assertEqual(C.parse(c.text), c, "the normalized text parses back to the same constraint")

    def test_every_malformed_form_is_one_line_saying_what_to_write(self):
        cases = {
            "peak_mb<2%": "needs <= or >=",
            "peak_mb=2": "needs <= or >=",
            "peak_mb==2": "needs <= or >=",
            "peak_mb=>2": "needs <= or >=",
            "a<=b<=c": "needs <= or >=",
            "peak_mb": "needs <= or >=",
            "<=+2%": "needs a metric name",
            "peak_mb<=": "needs a limit",
            "peak_mb<=abc": "is not a number",
            "peak_mb<=+2%%": "is not a number",
            "peak_mb<=nan": "finite",
            "peak_mb<=+inf": "finite",
            "peak_mb<=2%": "write peak_mb<=+2%",
            "acc>=1%": "write acc>=-1%",
            "peak_mb<=-2%": "peak_mb<=+2%",
            "acc>=+0.1": "acc>=-0.1",
        }
        for text, hint in cases.items():
            with self.assertRaises(UsageError, msg=text) as cm:
                C.parse(text)
            msg = str(cm.exception)
            self.assertIn(hint, msg, text)
            self.assertNotIn("\n", msg)
            self.assertIn("--constraint", msg)

    def test_the_primary_metric_and_two_of_a_kind_are_refused(self):
        with self.assertRaisesRegex(UsageError, "primary metric"):
            parse_init_args(REQUIRED + ["--constraint", "t<=+1"])
        with self.assertRaisesRegex(UsageError, "two of a kind"):
            parse_init_args(REQUIRED + ["--constraint", "mem<=+1", "--constraint", "mem<=+2%"])
        cfg = parse_init_args(REQUIRED + ["--constraint", "mem<=+2%", "--constraint", "mem <= 512"])
        self.assertEqual(cfg.constraints, ("mem<=+2%", "mem<=512"), "a tolerance and a bound on one metric")

    def test_a_percent_tolerance_is_of_the_baseline_value(self):
        self.assertAlmostEqual(C.parse("m<=+2%").tolerance(250.0), 5.0)
        self.assertAlmostEqual(C.parse("m>=-2%").tolerance(-250.0), 5.0, msg="of its size, whatever the sign")
        self.assertEqual(C.parse("m<=+3").tolerance(250.0), 3.0)


class NonInferiority(unittest.TestCase):
    """`check` against hand-computed values: gains [-1, 0, 1, 2, 3] have a
    20%-trimmed mean 1, standard error sqrt(4 / 6) and 2 degrees of
    freedom, so at level 5% the bounds are 1 -/+ 2.919986 * 0.816497."""

    HALF = 2.9199855803537242 * math.sqrt(4 / 6)
    SPEC = C.parse("m<=+1")

    def test_pass_when_the_lower_bound_clears_the_limit(self):
        r = C.check(self.SPEC, [-1, 0, 1, 2, 3], 1.5, 0.05)
        self.assertEqual(r.status, "pass")
        self.assertAlmostEqual(r.low, 1 - self.HALF, places=9)
        self.assertAlmostEqual(r.high, 1 + self.HALF, places=9)
        self.assertEqual(r.limit, -1.5)

    def test_open_when_the_interval_straddles_the_limit(self):
        self.assertEqual(C.check(self.SPEC, [-1, 0, 1, 2, 3], 1.3, 0.05).status, "open")

    def test_fail_when_the_upper_bound_is_past_the_limit(self):
        r = C.check(self.SPEC, [-6, -5, -4, -3, -2], 1.0, 0.05)
        self.assertEqual(r.status, "fail")
        self.assertAlmostEqual(r.high, -4 + self.HALF, places=9)

    def test_a_stricter_level_widens_the_interval(self):
        self.assertEqual(C.check(self.SPEC, [-1, 0, 1, 2, 3], 1.5, 0.05).status, "pass")
        self.assertEqual(C.check(self.SPEC, [-1, 0, 1, 2, 3], 1.5, 0.01).status, "open")

    def test_zero_variance_is_exact_and_the_limit_itself_is_allowed(self):
        at = C.check(self.SPEC, [-1.0] * 6, 1.0, 0.05)
        self.assertEqual((at.status, at.exact, at.level), ("pass", True, None))
        self.assertEqual(C.check(self.SPEC, [-1.0000001] * 6, 1.0, 0.05).status, "fail")
        self.assertEqual(C.check(self.SPEC, [3.0], 0.0, 0.05).status, "pass", "one exact value is enough")

    def test_no_values_stay_open_and_one_value_is_exact(self):
        self.assertEqual(C.check(self.SPEC, [], 1.0, 0.05).status, "open")
        one = C.check(self.SPEC, [0.5], 1.0, 0.05)
        self.assertEqual((one.status, one.exact), ("pass", True), "a single value is compared exactly")
        two = C.check(self.SPEC, [0.5, 0.9], 1.0, 0.05)
        self.assertEqual((two.n, two.exact), (2, False), "two different values are a sample")

    def test_both_directions_read_worse_the_right_way(self):
        grow = C.parse("mem<=+1")     # smaller is better: B larger than A is worse
        drop = C.parse("acc>=-1")     # larger is better: B smaller than A is worse
        trials = [trial("A", 0, 10.0), trial("B", 0, 13.0), trial("B", 1, 13.0), trial("A", 1, 10.0)]
        self.assertEqual(C.gains_of(grow, trials, None), [-3.0, -3.0])
        drop_trials = [dict(t, metrics={"acc": t["metrics"]["mem"]}) for t in trials]
        self.assertEqual(C.gains_of(drop, drop_trials, None), [3.0, 3.0])
        got = C.checks((grow,), trials, levels={}, incumbent=None, schedule=None, n_pairs=2)
        self.assertEqual(got[0].status, "fail")
        got = C.checks((drop,), drop_trials, levels={}, incumbent=None, schedule=None, n_pairs=2)
        self.assertEqual(got[0].status, "pass")

    def test_a_deterministic_design_compares_with_the_stored_incumbent(self):
        spec = C.parse("mem<=+2%")
        trials = [{"side": "B", "pair": 0, "status": "ok", "metrics": {"mem": 102.0}}]
        ok = C.checks((spec,), trials, levels={"mem": 100.0}, incumbent={"mem": 100.0}, schedule=None, n_pairs=0)
        self.assertEqual((ok[0].status, ok[0].effect, ok[0].limit), ("pass", -2.0, -2.0))
        trials[0]["metrics"]["mem"] = 102.5
        bad = C.checks((spec,), trials, levels={"mem": 100.0}, incumbent={"mem": 100.0}, schedule=None, n_pairs=0)
        self.assertEqual(bad[0].status, "fail")
        self.assertIn("change +2.5, past the limit +2", bad[0].line())

    def test_an_absolute_bound_judges_the_candidate_values_in_their_units(self):
        spec = C.parse("errors<=0")
        trials = [trial("A", 0, 5.0, name="errors"), trial("B", 0, 0.0, name="errors"),
                  trial("B", 1, 0.0, name="errors"), trial("A", 1, 5.0, name="errors")]
        r = C.checks((spec,), trials, levels={}, incumbent=None, schedule=None, n_pairs=2)[0]
        self.assertEqual((r.status, r.effect, r.limit, r.relative), ("pass", 0.0, 0.0, False))
        trials[1]["metrics"]["errors"] = 1.0
        trials[2]["metrics"]["errors"] = 3.0
        r = C.checks((spec,), trials, levels={}, incumbent=None, schedule=None, n_pairs=2)[0]
        self.assertEqual(r.effect, 2.0)
        self.assertLessEqual(r.low, r.effect)
        self.assertGreaterEqual(r.high, r.effect)
        self.assertIn("errors<=0: value 2", r.line())
        high = C.parse("hits>=0.9")
        vals = [trial("B", k, v, name="hits") for k, v in enumerate([0.95, 0.96, 0.94, 0.95, 0.97, 0.96])]
        self.assertEqual(C.checks((high,), vals, levels={}, incumbent=None, schedule=None, n_pairs=0)[0].status,
                         "pass")

    def test_each_constraint_is_tested_at_alpha_over_k_spent_over_the_looks(self):
        sched = {"min_pairs": 4, "max_pairs": 50, "look_every": 2}
        planned = looks.look_schedule(**sched)
        self.assertEqual(C.look_level(1, None, 10), stats.DEFAULTS["alpha"])
        self.assertEqual(C.look_level(2, None, 10), stats.DEFAULTS["alpha"] / 2)
        levels = looks.nominal_levels(planned, stats.DEFAULTS["alpha"] / 2, stats.DEFAULTS["spending"])
        self.assertEqual(C.look_level(2, sched, 4), levels[0])
        self.assertEqual(C.look_level(2, sched, 7), levels[planned.index(6)], "between looks: the last look's level")
        self.assertEqual(C.look_level(2, sched, 50), levels[-1])
        self.assertLess(C.look_level(2, sched, 50), stats.DEFAULTS["alpha"] / 2)

    def test_a_noisy_constraint_exactly_at_its_limit_passes_at_most_alpha(self):
        rng = random.Random(7)
        passes, runs = 0, 3000
        for _ in range(runs):
            gains = [rng.gauss(-1.0, 1.0) for _ in range(12)]  # true change exactly the tolerance
            passes += C.check(self.SPEC, gains, 1.0, 0.05).status == "pass"
        rate = passes / runs
        self.assertLess(rate, 0.05 + 2 * math.sqrt(0.05 * 0.95 / runs))
        self.assertGreater(rate, 0.01, "the test is not trivially conservative")

    def test_settled_waits_for_open_constraints_only_while_the_primary_keeps(self):
        ok, open_, bad = (C.Check("m<=+1", "m", s, 0.0, 0.0, 0.0, -1.0, 4, False, 0.05) for s in ("pass", "open", "fail"))
        self.assertFalse(C.settled("continue", [ok], False))
        self.assertTrue(C.settled("discard", [open_], False))
        self.assertTrue(C.settled("inconclusive", [open_], False))
        self.assertFalse(C.settled("keep", [ok, open_], False))
        self.assertTrue(C.settled("keep", [ok, open_], True), "the cap ends it")
        self.assertTrue(C.settled("keep", [open_, bad], False), "one failure is enough")
        self.assertTrue(C.settled("keep", [ok, ok], False))
        self.assertEqual(C.failed([ok, open_, bad]), [open_, bad], "open at the end counts as failed")

    def test_pairs_measured_for_an_open_constraint_never_change_the_primary_decision(self):
        from core.design import SEQUENTIAL, Design, test_of
        design = Design(SEQUENTIAL, min_pairs=4, max_pairs=50)
        diffs = [10.0, 10.1, 9.9, 10.05, -50.0, -60.0]
        trials = []
        for k, d in enumerate(diffs):
            trials += [{"side": "A", "pair": k, "status": "ok", "score": 100.0},
                       {"side": "B", "pair": k, "status": "ok", "score": 100.0 - d}]
        first = test_of(trials, design, "min", 0.0, frozen=True)
        self.assertEqual((first.outcome, first.n_pairs), ("keep", 4))
        live = test_of(trials, design, "min", 0.0)
        self.assertEqual(live.n_pairs, 6)
        self.assertNotEqual(live.outcome, "keep", "unfrozen, the later pairs would have changed it")
        self.assertEqual(test_of(trials[:8], design, "min", 0.0, frozen=True), test_of(trials[:8], design, "min", 0.0))

    def test_the_confirmation_total_is_per_metric(self):
        specs = (C.parse("mem<=+2%"), C.parse("mem<=120"))
        trials = []
        for k in range(4):
            trials += [trial("A", k, 100.0 + k), trial("B", k, 103.0 + k)]
        totals = C.confirmation_totals(specs, trials)
        self.assertEqual(len(totals), 1)
        self.assertEqual((totals[0]["metric"], totals[0]["change"], totals[0]["n_pairs"]), ("mem", 3.0, 4))


if __name__ == "__main__":
    unittest.main()
