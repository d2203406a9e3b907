"""The morning report's pure parts: the model built from the records, what
goes on the charts (points, scales, colours by decision), the HTML page and
the Markdown summary, and finalize's commit messages and grouping. Runs with
one iteration, only crashes, an exact (deterministic) design and a noisy one."""

import re
import unittest

from core.decision import DECISIONS, KEPT
from core.finalize import branch_names, group_disjoint, kept_changes
from views import charts, commits, html, markdown
from views import report as model

META = {"run_id": "20260101-000000-abcd", "branch": "ratchet/20260101-000000-abcd", "start_sha": "a" * 40,
        "start_branch": "main"}
CAL = {"n": 30, "median": 100.0, "mad": 3.0, "robust_sd": 4.4, "sd_method": "mad", "noise_sd": 4.5,
       "relative_spread": 0.045, "deterministic": False, "mde": 3.1, "mde_relative": 0.031, "max_pairs": 50,
       "max_trials": 100, "seconds_full_budget": 120.0}
SEQUENTIAL = {"kind": "sequential", "min_pairs": 4, "max_pairs": 50}


def trials(n, status="ok", seconds=0.5):
    return [{"trial": i + 1, "side": "AB"[i % 2], "pair": i // 2, "status": status,
             "score": 1.0 if status == "ok" else None, "duration_s": seconds} for i in range(n)]


def baseline(avg=100.0, design=SEQUENTIAL, cal=CAL, n=30):
    return {"iter": 0, "decision": "baseline", "kept": True, "avg": avg, "delta": None, "test": None,
            "sha": "a" * 40, "description": "baseline", "n_trials": n, "trials": trials(n),
            "started": "2026-01-01T00:00:00Z", "timestamp": "2026-01-01T00:00:30Z", "margin": 0.0,
            "calibration": cal, "design": design}


def paired(it, decision, avg, effect, low, high, margin=1.5, best_before=100.0, **extra):
    rec = {"iter": it, "decision": decision, "kept": decision in KEPT, "avg": avg, "delta": effect,
           "best_before": best_before, "margin": margin, "sha": f"{it:040x}", "description": f"change {it}",
           "hypothesis": f"idea {it}", "n_trials": 8, "trials": trials(8), "incumbent_scores": [best_before] * 4,
           "test": {"effect": effect, "ci_low": low, "ci_high": high, "p_value": 0.001, "n_pairs": 4,
                    "outcome": "keep" if decision == "improve" else "discard", "reason": "r"},
           "started": "2026-01-01T00:01:00Z", "timestamp": "2026-01-01T00:01:20Z", "reason": "r"}
    if decision not in KEPT:
        rec.update(attempt_ref=f"refs/ratchet/{META['run_id']}/iter-{it:04d}", patch=f".ratchet/patches/iter-{it:04d}.diff")
    rec.update(extra)
    return rec


def failed(it, decision="crash", reason="a candidate trial crashed", **extra):
    rec = {"iter": it, "decision": decision, "kept": False, "avg": None, "delta": None, "test": None,
           "best_before": 100.0, "margin": 1.5, "sha": f"{it:040x}", "description": f"broken {it}",
           "n_trials": 2, "trials": trials(1) + trials(1, "crash"), "reason": reason,
           "attempt_ref": f"refs/ratchet/x/iter-{it:04d}", "patch": f".ratchet/patches/iter-{it:04d}.diff",
           "started": "2026-01-01T00:02:00Z", "timestamp": "2026-01-01T00:02:05Z"}
    rec.update(extra)
    return rec


CONFIRMED = {"source": "confirmation", "gain": 12.0, "gain_low": 10.5, "gain_high": 13.4, "relative_gain": 0.12,
             "relative_low": 0.105, "relative_high": 0.134, "n_pairs": 16}


def noisy_run():
    return [baseline(), paired(1, "improve", 90.0, 10.0, 8.0, 12.0),
            paired(2, "regress", 97.0, -7.0, -9.0, -5.0, best_before=90.0),
            paired(3, "inconclusive", 89.5, 0.5, -2.0, 3.0, best_before=90.0),
            failed(4), failed(5, "integrity_violation", "protected file modified: bench.py",
                              integrity=["protected file modified: bench.py"], n_trials=0, trials=[]),
            paired(6, "improve", 88.0, 2.0, 1.6, 2.4, best_before=90.0)]


def build(records, **kw):
    kw.setdefault("total", None)
    return model.build(records, meta=META, metric="wall_time", direction="min", **kw)


def exact_run():
    design, cal = {"kind": "exact", "trials": 1}, {**CAL, "deterministic": True, "noise_sd": 0.0,
                                                   "relative_spread": 0.0, "mde": 0.0, "mde_relative": 0.0}
    recs = [baseline(1000.0, design, cal, n=5)]
    for it, (decision, avg) in enumerate([("improve", 800.0), ("regress", 900.0), ("no_change", 800.0)], 1):
        best_before = 1000.0 if it == 1 else 800.0
        recs.append({"iter": it, "decision": decision, "kept": decision in KEPT, "avg": avg,
                     "delta": best_before - avg, "test": None, "best_before": best_before, "margin": 0.0,
                     "sha": f"{it:040x}", "description": f"exact {it}", "n_trials": 1, "trials": trials(1),
                     "started": "2026-01-01T00:00:00Z", "timestamp": "2026-01-01T00:00:01Z"})
    return recs


class Model(unittest.TestCase):
    def test_running_best_follows_only_kept_iterations(self):
        r = build(noisy_run())
        self.assertEqual([it.best for it in r.iterations], [100.0, 90.0, 90.0, 90.0, 90.0, 90.0, 88.0])
        self.assertEqual([it.iter for it in r.kept_changes], [1, 6])
        self.assertEqual([it.iter for it in r.reverted], [2, 3, 4, 5])
        self.assertEqual(r.best.iter, 6)

    def test_effect_and_interval_come_from_the_paired_test(self):
        it = build(noisy_run()).iterations[1]
        self.assertEqual((it.effect, it.low, it.high, it.pairs), (10.0, 8.0, 12.0, 4))
        self.assertAlmostEqual(it.relative_effect, 0.10)
        self.assertEqual(model.effect_text(it), "+10 [+8, +12]")

    def test_reverted_attempts_say_where_they_are_saved(self):
        it = build(noisy_run()).iterations[2]
        self.assertEqual(model.where_saved(it), [f"refs/ratchet/{META['run_id']}/iter-0002",
                                                 ".ratchet/patches/iter-0002.diff"])

    def test_counts_by_decision_in_decision_order(self):
        counts = build(noisy_run()).counts
        self.assertEqual(counts, {"baseline": 1, "improve": 2, "regress": 1, "inconclusive": 1, "crash": 1,
                                  "integrity_violation": 1})
        self.assertEqual(list(counts), [d for d in DECISIONS if d in counts])

    def test_trials_and_wall_time_per_iteration(self):
        r = build(noisy_run())
        first = r.iterations[0]
        self.assertEqual((first.trials, first.wall_seconds), (30, 30.0))
        self.assertAlmostEqual(first.trial_seconds, 15.0)
        self.assertEqual(r.iterations[4].failed_trials, 1)
        self.assertEqual(r.trials, 30 + 8 * 4 + 2 + 0)

    def test_exact_design_effect_is_the_difference_without_interval(self):
        r = build(exact_run())
        it = r.iterations[1]
        self.assertEqual((it.effect, it.has_interval), (200.0, False))
        self.assertFalse(r.paired)
        self.assertAlmostEqual(r.headline_change, -0.2)

    def test_telemetry_is_summed_when_present_and_absent_otherwise(self):
        self.assertIsNone(build(noisy_run()).telemetry)
        recs = noisy_run()
        recs[1]["telemetry"] = {"cost_usd": 0.25, "input_tokens": 1000, "output_tokens": 200}
        recs[2]["telemetry"] = {"cost_usd": 0.5, "input_tokens": 3000, "output_tokens": 100}
        self.assertEqual(build(recs).telemetry, {"cost_usd": 0.75, "input_tokens": 4000, "output_tokens": 300})

    def test_old_records_without_optional_fields_still_build(self):
        r = build([{"iter": 0, "decision": "baseline", "kept": True, "avg": 3.0},
                   {"iter": 1, "decision": "improve", "kept": True, "avg": 2.0, "delta": 1.0}])
        self.assertEqual([it.best for it in r.iterations], [3.0, 2.0])
        self.assertIn("ratchet: wall_time 3 → 2", markdown.summary(r))


class Scales(unittest.TestCase):
    def test_scale_maps_domain_ends_to_range_ends(self):
        s = charts.Scale(0.0, 10.0, 300.0, 20.0)
        self.assertEqual((s(0.0), s(10.0), s(5.0)), (300.0, 20.0, 160.0))
        self.assertEqual(charts.Scale(1.0, 1.0, 0.0, 100.0)(1.0), 50.0)

    def test_ticks_are_round_numbers_inside_the_range(self):
        self.assertEqual(charts.ticks(0.0031, 0.0952), [0.02, 0.04, 0.06, 0.08])
        self.assertEqual(charts.ticks(-0.09, 0.1), [-0.05, 0.0, 0.05, 0.1])
        self.assertEqual(charts.ticks(0.0, 1000.0), [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0])

    def test_extent_pads_and_handles_a_single_value(self):
        self.assertEqual(charts.extent([5.0]), (4.75, 5.25))
        self.assertEqual(charts.extent([0.0]), (-0.5, 0.5))
        self.assertEqual(charts.extent([]), (0.0, 1.0))
        lo, hi = charts.extent([0.0, 10.0])
        self.assertLess(lo, 0.0)
        self.assertGreater(hi, 10.0)

    def test_iteration_ticks_are_integers_covering_the_run(self):
        self.assertEqual(charts.iteration_ticks(4), [0, 1, 2, 3, 4])
        self.assertEqual(charts.iteration_ticks(50), [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50])
        self.assertEqual(charts.iteration_ticks(0), [0])


class Colours(unittest.TestCase):
    def test_every_decision_has_a_colour_in_both_schemes(self):
        for d in DECISIONS:
            self.assertRegex(charts.colour(d), r"^#[0-9a-f]{6}$")
            self.assertRegex(charts.colour(d, dark=True), r"^#[0-9a-f]{6}$")
            self.assertNotEqual(charts.colour(d), charts.colour(d, dark=True))

    def test_kept_decisions_share_a_colour_and_reverted_ones_are_distinct(self):
        self.assertEqual(charts.colour("baseline"), charts.colour("improve"))
        reverted = [charts.colour(d) for d in DECISIONS if d not in KEPT]
        self.assertEqual(len(set(reverted)), len(reverted))
        self.assertNotIn(charts.colour("improve"), reverted)

    def test_each_point_carries_its_decision_class(self):
        chart = charts.progress(build(noisy_run()))
        self.assertEqual([p.cls for p in chart.points],
                         ["d-baseline", "d-improve", "d-regress", "d-inconclusive", "d-crash",
                          "d-integrity_violation", "d-improve"])


class ProgressChart(unittest.TestCase):
    def test_one_point_per_iteration_with_missing_scores_on_the_strip(self):
        chart = charts.progress(build(noisy_run()))
        self.assertEqual([p.iter for p in chart.points], list(range(7)))
        missing = [p for p in chart.points if p.missing]
        self.assertEqual([p.iter for p in missing], [4, 5])
        self.assertTrue(all(p.y == chart.strip_y for p in missing))
        self.assertTrue(all(p.y < chart.frame.bottom for p in chart.points if not p.missing))
        self.assertGreater(chart.strip_y, chart.frame.bottom)

    def test_points_go_left_to_right_and_lower_values_sit_lower(self):
        pts = charts.progress(build(noisy_run())).points
        xs = [p.x for p in pts]
        self.assertEqual(xs, sorted(xs))
        self.assertGreater(pts[1].y, pts[0].y)  # 90 is drawn below 100 (y grows downwards)

    def test_running_best_is_a_step_line_that_never_gets_worse(self):
        chart = charts.progress(build(noisy_run()))
        ys = [y for _, y in chart.best_path]
        self.assertEqual(ys, sorted(ys))  # min: the best only goes down, i.e. y only grows
        xs = [x for x, _ in chart.best_path]
        self.assertEqual(xs, sorted(xs))
        for (x0, y0), (x1, y1) in zip(chart.best_path, chart.best_path[1:]):
            self.assertTrue(x0 == x1 or y0 == y1, "segments are horizontal or vertical")

    def test_hover_text_names_iteration_description_effect_and_decision(self):
        title = charts.progress(build(noisy_run())).points[2].title
        self.assertIn("iteration 2: regress", title)
        self.assertIn("change 2", title)
        self.assertIn("effect -7 [-9, -5]", title)

    def test_a_run_with_one_iteration_has_one_point_and_no_effect_chart(self):
        r = build([baseline()])
        chart = charts.progress(r)
        self.assertEqual(len(chart.points), 1)
        self.assertIsNone(chart.strip_y)
        self.assertTrue(chart.frame.left < chart.points[0].x < chart.frame.right)
        self.assertIsNone(charts.effects(r))

    def test_a_run_of_only_crashes_puts_every_point_on_the_strip(self):
        recs = [failed(0, reason="1 of 1 trials crashed"), ]
        r = build(recs)
        chart = charts.progress(r)
        self.assertEqual(len(chart.points), 1)
        self.assertTrue(chart.points[0].missing)
        self.assertEqual(chart.best_path, ())
        self.assertIsNone(r.baseline)


class EffectChart(unittest.TestCase):
    def test_noisy_run_draws_each_measured_effect_with_its_interval(self):
        chart = charts.effects(build(noisy_run()))
        self.assertEqual([m.iter for m in chart.marks], [1, 2, 3, 6])
        for m in chart.marks:
            self.assertLessEqual(m.y_high, m.y)  # the upper bound is higher on screen
            self.assertGreaterEqual(m.y_low, m.y)
        self.assertEqual(len(chart.margins), 6)  # the margin that counted, for every iteration after the baseline
        self.assertTrue(chart.frame.top < chart.zero_y < chart.frame.bottom)
        margin_y = chart.margins[0][2]
        self.assertLess(margin_y, chart.zero_y)  # a positive margin is above zero

    def test_exact_design_has_no_interval_chart(self):
        self.assertIsNone(charts.effects(build(exact_run())))


class Page(unittest.TestCase):
    def page(self, records, **kw):
        return html.page(build(records, **kw))

    def test_page_is_self_contained_with_light_and_dark_scheme(self):
        text = self.page(noisy_run(), total=CONFIRMED)
        self.assertNotIn("<script", text.lower())
        self.assertNotRegex(text, r"""(src|href)=["']?(https?:)?//""")
        self.assertNotIn("@import", text)
        self.assertIn("prefers-color-scheme:dark", text)
        self.assertIn('name="viewport"', text)
        self.assertRegex(text, r'<svg class="chart" id="progress" viewBox="0 0 \d+ \d+"')

    def test_progress_chart_has_one_point_per_iteration(self):
        text = self.page(noisy_run())
        svg = re.search(r'<svg[^>]*id="progress".*?</svg>', text, re.S).group(0)
        self.assertEqual(re.findall(r'<circle class="pt [^"]*" data-iter="(\d+)"', svg),
                         [str(i) for i in range(7)])
        self.assertEqual(svg.count("<title>"), 7 + 1)  # every point, and the best line

    def test_page_shows_total_calibration_warnings_kept_and_reverted(self):
        text = self.page(noisy_run(), total=CONFIRMED, warnings=["too noisy <here>"])
        for needle in ("Confirmed gain", "+12 [+10.5, +13.4]", "Kept changes", "Reverted attempts",
                       "refs/<wbr>ratchet/", "Calibration", "sequential: 4 to 50", "too noisy &lt;here&gt;",
                       'id="effects"', "Every iteration"):
            self.assertIn(needle, text)
        self.assertNotIn("<here>", text)

    def test_descriptions_are_escaped_everywhere(self):
        recs = noisy_run()
        recs[1]["description"] = '<img src=x onerror="alert(1)"> & more'
        text = self.page(recs)
        self.assertNotIn("<img", text)
        self.assertIn("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more", text)

    def test_telemetry_section_only_when_records_have_it(self):
        self.assertNotIn("Telemetry", self.page(noisy_run()))
        recs = noisy_run()
        recs[1]["telemetry"] = {"cost_usd": 1.5, "input_tokens": 12000, "output_tokens": 800}
        text = self.page(recs)
        self.assertIn("Telemetry", text)
        self.assertIn("$1.50", text)

    def test_pages_of_edge_runs_render(self):
        for records in ([baseline()], [failed(0)], exact_run(), [], noisy_run()):
            text = self.page(records)
            self.assertTrue(text.startswith("<!doctype html>"))
            self.assertTrue(text.rstrip().endswith("</html>"))
        self.assertIn("Deterministic metric", self.page(exact_run()))
        self.assertIn("no baseline measured", self.page([failed(0)]))


class Markdown(unittest.TestCase):
    def test_headline_total_kept_changes_and_counts(self):
        md = markdown.summary(build(noisy_run(), total=CONFIRMED, stop={"stopped": True, "reason": "patience_exhausted"}))
        lines = md.splitlines()
        self.assertEqual(lines[0], "## ratchet: wall_time 100 → 88 (-12%, lower is better)")
        self.assertIn("**Confirmed gain: +12 [+10.5, +13.4] (95%; +12% [+10.5%, +13.4%]; baseline vs best "
                      "re-measured in 16 interleaved pairs)**", md)
        self.assertIn("| 1 | `0000000` | change 1 | +10 [+8, +12] | 8 |", md)
        self.assertIn("| 6 | `0000000` | change 6 | +2 [+1.6, +2.4] | 8 |", md)
        self.assertIn("| integrity violation | 1 |", md)
        self.assertIn("stopped: patience_exhausted", md)
        self.assertNotIn("### Cost", md)

    def test_cost_section_when_telemetry_exists(self):
        recs = noisy_run()
        recs[1]["telemetry"] = {"cost_usd": 0.125, "input_tokens": 5000}
        md = markdown.summary(build(recs))
        self.assertIn("### Cost", md)
        self.assertIn("| cost_usd | 0.125 |", md)
        self.assertIn("| input_tokens | 5,000 |", md)

    def test_table_cells_cannot_break_the_table(self):
        recs = noisy_run()
        recs[1]["description"] = "a | b\nc"
        md = markdown.summary(build(recs))
        self.assertIn("| a \\| b c |", md)

    def test_one_iteration_only_crashes_and_exact_runs(self):
        self.assertIn("No change was kept.", markdown.summary(build([baseline()])))
        self.assertIn("no baseline measured", markdown.summary(build([failed(0)])))
        md = markdown.summary(build(exact_run(), total={"source": "exact", "gain": 200.0, "relative_gain": 0.2}))
        self.assertIn("**Total gain: +200 (+20%) (exact: deterministic metric)**", md)
        self.assertIn("effect (exact)", md)
        self.assertIn("| 1 | `0000000` | exact 1 | +200 | 1 |", md)

    def test_unconfirmed_noisy_gain_is_said_to_be_unconfirmed(self):
        self.assertIn("Gain not confirmed yet", markdown.summary(build(noisy_run())))


def trailers(message: str) -> dict:
    last = message.strip().split("\n\n")[-1].splitlines()
    out = {}
    for line in last:
        key, _, value = line.partition(": ")
        assert re.fullmatch(r"[A-Za-z-]+", key), line
        out[key] = value
    return out


class CommitMessages(unittest.TestCase):
    ctx = commits.Context(META["run_id"], "wall_time", "min", "sequential")

    def test_a_kept_change_message_carries_effect_interval_and_trials_as_trailers(self):
        msg = commits.change_message(noisy_run()[1], self.ctx)
        self.assertTrue(msg.startswith("change 1\n\nHypothesis: idea 1\n\n"))
        t = trailers(msg)
        self.assertEqual(t["Ratchet-Effect"], "+10")
        self.assertEqual(t["Ratchet-Interval"], "[+8, +12] (95%)")
        self.assertEqual(t["Ratchet-Trials"], "8 (4 interleaved pairs, sequential)")
        self.assertEqual(t["Ratchet-Iteration"], "1")
        self.assertEqual(t["Ratchet-Run"], META["run_id"])

    def test_an_exact_change_says_so(self):
        t = trailers(commits.change_message(exact_run()[1], commits.Context("r", "n", "min", "exact")))
        self.assertEqual((t["Ratchet-Effect"], t["Ratchet-Interval"]), ("+200", "exact (deterministic metric)"))

    def test_a_multi_line_description_keeps_its_first_line_as_subject(self):
        rec = {**noisy_run()[1], "description": "  subject line\nmore detail\n"}
        self.assertTrue(commits.change_message(rec, self.ctx).startswith("subject line\n\nmore detail\n\n"))

    def test_squash_message_carries_the_confirmed_total_and_the_list(self):
        kept = kept_changes(noisy_run())
        msg = commits.squash_message(kept, self.ctx, total=CONFIRMED, baseline=100.0, best=88.0)
        self.assertTrue(msg.startswith("ratchet: wall_time 100 -> 88 (-12%), 2 changes\n"))
        self.assertIn("- change 1 (iteration 1): effect +10 [+8, +12], 8 runs", msg)
        self.assertIn("- change 6 (iteration 6): effect +2 [+1.6, +2.4], 8 runs", msg)
        t = trailers(msg)
        self.assertEqual(t["Ratchet-Effect"], "+12 (confirmed total)")
        self.assertEqual(t["Ratchet-Interval"], "[+10.5, +13.4] (95%)")
        self.assertEqual(t["Ratchet-Iterations"], "1, 6")

    def test_squash_before_confirmation_does_not_claim_a_total(self):
        msg = commits.squash_message(kept_changes(noisy_run()), self.ctx, total=None, baseline=100.0, best=88.0)
        self.assertIn("not confirmed yet", trailers(msg)["Ratchet-Effect"])


class Grouping(unittest.TestCase):
    def test_changes_sharing_a_file_directly_or_through_a_chain_share_a_group(self):
        self.assertEqual(group_disjoint([["a.py"], ["b.py"], ["a.py", "c.py"], ["d.py"], ["c.py", "e.py"]]),
                         [[0, 2, 4], [1], [3]])
        self.assertEqual(group_disjoint([["x"], ["y"], ["x", "y"]]), [[0, 1, 2]])
        self.assertEqual(group_disjoint([]), [])

    def test_branch_names_per_mode(self):
        rid = "20260101-000000-abcd"
        self.assertEqual(branch_names(rid, "commits", None), [f"ratchet/{rid}-review"])
        self.assertEqual(branch_names(rid, "squash", None), [f"ratchet/{rid}-squash"])
        self.assertEqual(branch_names(rid, "split", None, 2), [f"ratchet/{rid}-split-1", f"ratchet/{rid}-split-2"])
        self.assertEqual(branch_names(rid, "split", "perf", 2), ["perf-1", "perf-2"])


if __name__ == "__main__":
    unittest.main()
