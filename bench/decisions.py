#!/usr/bin/env python3
"""Benchmark ratchet's keep/discard rule against the naive rule, by simulation.

Run from the repository root:  python3 bench/decisions.py [--quick] [--runs N]

Imports the real ``stats.py`` and ``looks.py`` from plugins/ratchet/skills/ratchet/scripts.
Standard library only; deterministic seeds (same output on every run).

Model.  Units are d, the size of a real improvement.  The benchmark's true
value starts at 100 and the metric is noisy; odd-numbered runs minimize it
(a time), even-numbered runs maximize it (a throughput), so both directions
are exercised.  Every iteration proposes one candidate whose true effect is
a no-op (70%), an improvement of +d (20%) or a regression of -d (10%).  A
measurement at time t (one unit per trial, counted over the whole run) is
the true value of the code measured + background(t) + noise.  The user's
--min-improvement is d/2 in every scenario (for both rules).

* ratchet: 30 calibration runs of the baseline, `stats.calibrate`,
  `stats.check_resolution` (warns, raises the effective min-improvement),
  then per iteration ABBA-interleaved pairs of incumbent and candidate
  judged by `stats.sequential_verdict` at the looks given by `looks.next_pairs`
  (inconclusive = reverted).  At the end, one confirmation run of 16 ABBA
  pairs, original baseline vs final best, judged by `stats.confirm`.
* naive: 5 baseline trials give the stored best (their mean); per iteration
  5 candidate trials, kept iff their mean beats the stored best by more than
  the min-improvement (`stats.naive_verdict`); the stored best becomes that
  mean.

Scenarios: Gaussian noise sd d/4, d, 3d; sd d plus background load (a
3d-amplitude sine over 400 trials plus steps of 1..4 d, either way, about
every 150 trials; it moves A and B alike by the time they are measured); sd
d plus 10% one-sided spikes of +5..+20 sd (in the bad direction) on any
trial; and a run of no-ops only, for the confirmation check.  The
confirmation size, 16 pairs, is one where the discrete signed-rank level is
95.6%; it is >= 95% at every size, but a size with a level of exactly
95.0x% would make the ">= 95% of runs" check a coin flip.

Reported per scenario: false keeps (kept with true effect <= 0, % of such
candidates), kept regressions (% of regressions), power (% of improvements
kept), trials per iteration (both sides for ratchet, calibration and
confirmation excluded), and the true quality reached (sum of the true
effects kept, in d, mean over runs).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from multiprocessing import Pool

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(os.path.dirname(HERE), "plugins", "ratchet", "skills", "ratchet", "scripts")
sys.path.insert(0, SCRIPTS)

from core import config  # noqa: E402  (ratchet's own defaults)
from core import constraints  # noqa: E402
from core import looks  # noqa: E402  (the real modules, not copies)
from core import stats  # noqa: E402

D = 1.0                 # size of a real improvement
BASE = 100.0            # true value of the original code
MIN_EFFECT = 0.5 * D    # the user's --min-improvement
ITERATIONS = 50
CALIBRATION_RUNS = config.CALIBRATION_RUNS   # the defaults a user gets
NAIVE_TRIALS = 5
FULL_RUNS = 2000        # runs per scenario of the full benchmark, judged strictly
CONFIRM_PAIRS = config.CONFIRM_PAIRS
assert config.MAX_PAIRS == stats.DEFAULTS["max_pairs"], "the product's --max-pairs default must be what is benchmarked"
P_NOOP, P_IMPROVE = 0.70, 0.20   # the rest are regressions

# name -> (sigma in d, drift?, outlier fraction, all no-op?)
SCENARIOS = {
    "gauss-d/4": dict(sigma=0.25, drift=False, outliers=0.0, noop_only=False,
                      title="Gaussian noise, sigma = d/4"),
    "gauss-d": dict(sigma=1.0, drift=False, outliers=0.0, noop_only=False,
                    title="Gaussian noise, sigma = d"),
    "gauss-3d": dict(sigma=3.0, drift=False, outliers=0.0, noop_only=False,
                     title="Gaussian noise, sigma = 3d"),
    "drift": dict(sigma=1.0, drift=True, outliers=0.0, noop_only=False,
                  title="sigma = d + slow drift and step changes in background load"),
    "outliers": dict(sigma=1.0, drift=False, outliers=0.10, noop_only=False,
                     title="sigma = d + 10% one-sided outliers (+5..+20 sigma)"),
    "all-noop": dict(sigma=1.0, drift=False, outliers=0.0, noop_only=True,
                     title="all candidates are no-ops, sigma = d (confirmation check)"),
    "constraint": dict(sigma=1.0, drift=False, outliers=0.0, noop_only=False, constraint=True,
                       title="sigma = d on the metric and on a constraint side<=+d; 30% of the "
                             "improvements also worsen side by 2d"),
}
TOLERANCE = D          # the constraint scenario's side<=+d
P_VIOLATES = 0.30      # share of the real improvements that also worsen the side metric by 2 * TOLERANCE
SIDE = constraints.parse(f"side<=+{TOLERANCE:g}")


class Machine:
    """Noisy measurements of a true value; one call = one trial (time + 1)."""

    def __init__(self, rng: random.Random, sigma: float, drift: bool, outliers: float, sign: float):
        self.rng, self.sigma, self.drift, self.outliers = rng, sigma, drift, outliers
        self.sign = sign            # +1: larger is worse (min); -1: smaller is worse (max)
        self.t = 0
        self.level = 0.0            # step changes of the background load
        self.phase = rng.uniform(0, 2 * math.pi)

    def background(self) -> float:
        if not self.drift:
            return 0.0
        # slow load: 3d amplitude over a 400-trial period, plus steps of
        # 1..4 d (either way) at about one every 150 trials
        if self.rng.random() < 1 / 150:
            self.level += self.rng.choice((-1, 1)) * self.rng.uniform(1.0, 4.0) * D
        return 3.0 * D * math.sin(2 * math.pi * self.t / 400 + self.phase) + self.level

    def measure(self, true_value: float) -> float:
        self.t += 1
        x = true_value + self.background() + self.rng.gauss(0.0, self.sigma)
        if self.outliers and self.rng.random() < self.outliers:
            x += self.sign * self.rng.uniform(5.0, 20.0) * self.sigma
        return x


def candidate_effects(seed: str, noop_only: bool) -> list[float]:
    rng = random.Random(seed + ":effects")
    out = []
    for _ in range(ITERATIONS):
        u = rng.random()
        out.append(0.0 if noop_only or u < P_NOOP else (D if u < P_NOOP + P_IMPROVE else -D))
    return out


def side_effects(seed: str, effects: list[float]) -> list[float]:
    """True change of the side metric per candidate (positive = worse):
    2 * TOLERANCE for P_VIOLATES of the real improvements, else 0."""
    rng = random.Random(seed + ":side")
    return [2 * TOLERANCE if e > 0 and rng.random() < P_VIOLATES else 0.0 for e in effects]


def value_of(gain: float, direction: str) -> float:
    """True metric of code whose total true gain over the original is `gain`."""
    return BASE - gain if direction == "min" else BASE + gain


def run_ratchet(sc: dict, seed: str, direction: str, effects: list[float], side: list[float] | None = None) -> dict:
    """One run; with `side` (true side-metric changes per candidate) the
    constraint SIDE is checked on the same pairs, as the product does
    (`constraints.check` at `constraints.look_level`, `constraints.settled`)."""
    rng = random.Random(seed + ":ratchet")
    m = Machine(rng, sc["sigma"], sc["drift"], sc["outliers"], 1.0 if direction == "min" else -1.0)
    sm = Machine(random.Random(seed + ":side-noise"), sc["sigma"], False, 0.0, 1.0)
    side_level = 0.0   # true side value of the incumbent (SIDE is min: larger is worse)
    calib_values = [m.measure(value_of(0.0, direction)) for _ in range(CALIBRATION_RUNS)]
    max_pairs = stats.DEFAULTS["max_pairs"]
    cal = stats.calibrate(calib_values, max_pairs)
    res = stats.check_resolution(MIN_EFFECT, cal)
    m_eff = res["effective_min_effect"]
    gain = 0.0
    kept, trials = [], 0
    schedule = {"min_pairs": stats.DEFAULTS["min_pairs"], "max_pairs": max_pairs,
                "look_every": stats.DEFAULTS["look_every"]}
    for i, e in enumerate(effects):
        pairs: list[tuple[float, float]] = []
        side_gains: list[float] = []
        v = None
        a_true, b_true = value_of(gain, direction), value_of(gain + e, direction)
        s_b = side_level + (side[i] if side else 0.0)
        while True:
            for _ in range(looks.next_pairs(len(pairs), deterministic=cal["deterministic"])):
                if stats.pair_order(len(pairs)) == "AB":
                    a, sa = m.measure(a_true), sm.measure(side_level)
                    b, sb = m.measure(b_true), sm.measure(s_b)
                else:
                    b, sb = m.measure(b_true), sm.measure(s_b)
                    a, sa = m.measure(a_true), sm.measure(side_level)
                pairs.append((a, b))
                side_gains.append(sa - sb)
            if side is None or v is None or v.outcome == "continue":
                # the primary test stops at its first verdict; pairs measured after it for an open
                # constraint never change it (core.design.test_of, frozen)
                v = stats.sequential_verdict(pairs, direction, m_eff, deterministic=cal["deterministic"])
            if side is None:
                if v.outcome != "continue":
                    break
                continue
            check = constraints.check(SIDE, side_gains, SIDE.tolerance(None),
                                      constraints.look_level(1, schedule, len(pairs)))
            if constraints.settled(v.outcome, [check], len(pairs) >= max_pairs):
                break
        trials += 2 * len(pairs)
        keep = v.outcome == "keep" and (side is None or check.status == "pass")
        if keep:
            gain += e
            side_level = s_b
        kept.append(keep)
    # confirmation: original baseline vs final best, interleaved
    base_vals, best_vals = [], []
    for k in range(CONFIRM_PAIRS):
        if stats.pair_order(k) == "AB":
            base_vals.append(m.measure(value_of(0.0, direction)))
            best_vals.append(m.measure(value_of(gain, direction)))
        else:
            best_vals.append(m.measure(value_of(gain, direction)))
            base_vals.append(m.measure(value_of(0.0, direction)))
    c = stats.confirm(base_vals, best_vals, direction)
    return {"kept": kept, "trials": trials, "quality": gain, "warned": not res["resolvable"],
            "confirm_covers_truth": c["gain_low"] <= gain <= c["gain_high"],
            "confirm_contains_zero": c["gain_low"] <= 0.0 <= c["gain_high"]}


def run_naive(sc: dict, seed: str, direction: str, effects: list[float]) -> dict:
    rng = random.Random(seed + ":naive")
    m = Machine(rng, sc["sigma"], sc["drift"], sc["outliers"], 1.0 if direction == "min" else -1.0)
    best = math.fsum(m.measure(value_of(0.0, direction)) for _ in range(NAIVE_TRIALS)) / NAIVE_TRIALS
    gain = 0.0
    kept = []
    for e in effects:
        vals = [m.measure(value_of(gain + e, direction)) for _ in range(NAIVE_TRIALS)]
        ok, best = stats.naive_verdict(vals, best, direction, MIN_EFFECT)
        if ok:
            gain += e
        kept.append(ok)
    return {"kept": kept, "trials": NAIVE_TRIALS * ITERATIONS, "quality": gain}


def simulate(job: tuple[str, int]) -> dict:
    name, run = job
    sc = SCENARIOS[name]
    seed = f"{name}:{run}"
    direction = "min" if run % 2 else "max"
    effects = candidate_effects(seed, sc["noop_only"])
    if sc.get("constraint"):
        side = side_effects(seed, effects)
        return {"scenario": name, "effects": effects, "side": side,
                "ratchet": run_ratchet(sc, seed, direction, effects, side),
                "unconstrained": run_ratchet(sc, seed, direction, effects)}
    return {"scenario": name, "effects": effects,
            "ratchet": run_ratchet(sc, seed, direction, effects),
            "naive": run_naive(sc, seed, direction, effects)}


def summarize_constraint(results: list[dict]) -> dict:
    """Rates of the constraint scenario, with the constraint checked and
    without (the same runs, seeds and candidates)."""
    out = {"runs": len(results)}
    for rule in ("ratchet", "unconstrained"):
        n = {"violating": 0, "clean": 0, "noop": 0}
        k = dict.fromkeys(n, 0)
        trials = 0.0
        for r in results:
            for e, s, kept in zip(r["effects"], r["side"], r[rule]["kept"]):
                kind = "violating" if s > 0 else "clean" if e > 0 else "noop" if e == 0 else None
                if kind:
                    n[kind] += 1
                    k[kind] += kept
            trials += r[rule]["trials"]
        out[rule] = {kind: 100.0 * k[kind] / n[kind] if n[kind] else float("nan") for kind in n}
        out[rule]["trials"] = trials / (len(results) * ITERATIONS)
        out["counts"] = n
    return out


def print_constraint_table(s: dict) -> None:
    n = s["counts"]
    print(f"\n== constraint: {SCENARIOS['constraint']['title']}")
    print(f"   {s['runs']} runs x {ITERATIONS} iterations: {n['clean']} clean improvements, {n['violating']} "
          f"improvements that worsen side by 2d, {n['noop']} no-ops; side checked at alpha "
          f"{stats.DEFAULTS['alpha']:g} on the same pairs")
    print(f"   {'':38}{'checked':>10}{'ignored':>10}")
    for label, key in (("violating improvements kept", "violating"), ("power (clean improvements kept)", "clean"),
                       ("false keeps (no-ops kept)", "noop"), ("trials per iteration", "trials")):
        pct = key != "trials"
        print(f"   {label:38}{fmt(s['ratchet'][key], pct):>10}{fmt(s['unconstrained'][key], pct):>10}")


def calibration_warn_rate(job: tuple[str, int, int]) -> float:
    """% of calibrations of `n_calib` baseline runs that warn (min-improvement d/2)."""
    name, n_calib, runs = job
    sc = SCENARIOS[name]
    warned = 0
    for run in range(runs):
        rng = random.Random(f"{name}:{run}:calibration-{n_calib}")
        m = Machine(rng, sc["sigma"], sc["drift"], sc["outliers"], 1.0)
        cal = stats.calibrate([m.measure(BASE) for _ in range(n_calib)], stats.DEFAULTS["max_pairs"])
        warned += not stats.check_resolution(MIN_EFFECT, cal)["resolvable"]
    return 100.0 * warned / runs


def summarize(results: list[dict]) -> dict:
    out = {}
    for rule in ("ratchet", "naive"):
        null = null_kept = reg = reg_kept = imp = imp_kept = 0
        trials = quality = 0.0
        for r in results:
            res = r[rule]
            for e, k in zip(r["effects"], res["kept"]):
                if e <= 0:
                    null += 1
                    null_kept += k
                if e < 0:
                    reg += 1
                    reg_kept += k
                if e > 0:
                    imp += 1
                    imp_kept += k
            trials += res["trials"]
            quality += res["quality"]
        runs = len(results)
        out[rule] = {
            "false_keep": 100.0 * null_kept / null if null else float("nan"),
            "kept_regression": 100.0 * reg_kept / reg if reg else float("nan"),
            "power": 100.0 * imp_kept / imp if imp else float("nan"),
            "trials": trials / (runs * ITERATIONS),
            "quality": quality / runs / D,
            "counts": (null, reg, imp),
        }
    rr = [r["ratchet"] for r in results]
    out["warned"] = 100.0 * sum(r["warned"] for r in rr) / len(rr)
    out["confirm_truth"] = 100.0 * sum(r["confirm_covers_truth"] for r in rr) / len(rr)
    out["confirm_zero"] = 100.0 * sum(r["confirm_contains_zero"] for r in rr) / len(rr)
    out["runs"] = len(results)
    return out


def fmt(x: float, pct: bool) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.1f}%" if pct else f"{x:.1f}"


def print_table(name: str, s: dict) -> None:
    sc = SCENARIOS[name]
    null, reg, imp = s["ratchet"]["counts"]
    print(f"\n== {name}: {sc['title']}")
    print(f"   {s['runs']} runs x {ITERATIONS} iterations: {imp} improvements, "
          f"{null - reg} no-ops, {reg} regressions; min-improvement = d/2")
    print(f"   {'':34}{'ratchet':>10}{'naive':>10}")
    rows = [("false keeps (true effect <= 0)", "false_keep", True),
            ("kept regressions", "kept_regression", True),
            ("power (improvements kept)", "power", True),
            ("trials per iteration", "trials", False),
            ("true quality after 50 iters (d)", "quality", False)]
    for label, key, pct in rows:
        print(f"   {label:34}{fmt(s['ratchet'][key], pct):>10}{fmt(s['naive'][key], pct):>10}")
    print(f"   calibration ({CALIBRATION_RUNS} baseline runs) warned before iteration 1: {s['warned']:.1f}% of runs")
    if "warn_by_size" in s:
        sizes = ", ".join(f"{n} runs: {w:.1f}%" for n, w in s["warn_by_size"])
        print(f"   (warning rate by calibration size, separate draws: {sizes})")
    what = "contains 0" if sc["noop_only"] else "contains the true total gain"
    pct = s["confirm_zero"] if sc["noop_only"] else s["confirm_truth"]
    print(f"   confirmation 95% interval {what}: {pct:.1f}% of runs")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (a few seconds); rates are rough")
    ap.add_argument("--runs", type=int, default=None, help="runs per scenario (default 2000, quick 100)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    runs = args.runs or (100 if args.quick else FULL_RUNS)
    rough = runs < FULL_RUNS  # fewer runs than the full benchmark: judge rates with their sampling error
    t0 = time.time()
    jobs = [(name, r) for name in SCENARIOS for r in range(runs)]
    if args.workers > 1:
        with Pool(args.workers) as pool:
            results = pool.map(simulate, jobs, chunksize=8)
    else:
        results = [simulate(j) for j in jobs]
    summary = {name: (summarize_constraint if SCENARIOS[name].get("constraint") else summarize)(
        [r for r in results if r["scenario"] == name]) for name in SCENARIOS}
    sizes = (10, 20, 30)
    cal_jobs = [(name, n, runs) for name in ("gauss-d", "gauss-3d") for n in sizes]
    if args.workers > 1:
        with Pool(args.workers) as pool:
            rates = pool.map(calibration_warn_rate, cal_jobs)
    else:
        rates = [calibration_warn_rate(j) for j in cal_jobs]
    for (name, n, _), rate in zip(cal_jobs, rates):
        summary[name].setdefault("warn_by_size", []).append((n, rate))

    d = stats.DEFAULTS
    print(f"ratchet decision benchmark: {runs} runs per scenario, {ITERATIONS} iterations per run"
          f"{' (fewer than the full ' + str(FULL_RUNS) + ': rates are rough)' if rough else ''}")
    print(f"design: alpha={d['alpha']} spending gamma={d['spending']} futility={d['futility']} "
          f"looks at {d['min_pairs']},{d['min_pairs'] + d['look_every']},...,{d['max_pairs']} pairs, "
          f"{int(100 * d['trim'])}% trimmed-mean t-test")
    for name in SCENARIOS:
        if SCENARIOS[name].get("constraint"):
            print_constraint_table(summary[name])
        else:
            print_table(name, summary[name])

    g, dr, o, g3 = (summary[k]["ratchet"] for k in ("gauss-d", "drift", "outliers", "gauss-3d"))
    null = lambda s_: s_["counts"][0]   # noqa: E731  candidates with true effect <= 0
    regs = lambda s_: s_["counts"][1]   # noqa: E731
    imps = lambda s_: s_["counts"][2]   # noqa: E731

    def se(pct: float, n: int) -> float:
        """Binomial standard error, in points, of a rate near `pct` over n."""
        return 100.0 * math.sqrt(max(pct, 0.5) / 100 * (1 - min(pct, 99.5) / 100) / max(n, 1))

    # (label, observed, limit, "<=" or ">=", standard error in points, shown)
    targets = [
        ("sigma=d: false keeps <= 5%", g["false_keep"], 5.0, "<=", se(5, null(g)), f"{g['false_keep']:.2f}%"),
        ("sigma=d: kept regressions <= 0.5%", g["kept_regression"], 0.5, "<=", se(0.5, regs(g)),
         f"{g['kept_regression']:.2f}%"),
        ("sigma=d: power >= 80%", g["power"], 80.0, ">=", se(80, imps(g)), f"{g['power']:.1f}%"),
        ("sigma=d: <= 20 trials per iteration", g["trials"], 20.0, "<=", 0.0, f"{g['trials']:.1f}"),
        ("drift: false keeps up by <= 1 point", dr["false_keep"] - g["false_keep"], 1.0, "<=",
         math.hypot(se(g["false_keep"], null(g)), se(dr["false_keep"], null(dr))),
         f"{dr['false_keep'] - g['false_keep']:+.2f} points"),
        ("drift: power down by <= 5 points", g["power"] - dr["power"], 5.0, "<=",
         math.hypot(se(g["power"], imps(g)), se(dr["power"], imps(dr))),
         f"{dr['power'] - g['power']:+.1f} points"),
        ("outliers: false keeps <= 6%", o["false_keep"], 6.0, "<=", se(6, null(o)), f"{o['false_keep']:.2f}%"),
        ("outliers: power >= 75%", o["power"], 75.0, ">=", se(75, imps(o)), f"{o['power']:.1f}%"),
        ("sigma=3d: warning before iteration 1 (every run)", summary["gauss-3d"]["warned"], 100.0, ">=", 0.0,
         f"{summary['gauss-3d']['warned']:.1f}% of runs"),
        ("sigma=3d: false keeps <= 5%", g3["false_keep"], 5.0, "<=", se(5, null(g3)), f"{g3['false_keep']:.2f}%"),
        ("all-no-op: confirmation interval contains 0 in >= 95% of runs", summary["all-noop"]["confirm_zero"],
         95.0, ">=", se(95, summary["all-noop"]["runs"]), f"{summary['all-noop']['confirm_zero']:.1f}%"),
    ]
    c = summary["constraint"]
    cr, cu, cn = c["ratchet"], c["unconstrained"], c["counts"]
    targets += [
        ("constraint: improvements that break it kept <= 5%", cr["violating"], 5.0, "<=", se(5, cn["violating"]),
         f"{cr['violating']:.2f}%"),
        ("constraint: power on clean improvements down by <= 3 points", cu["clean"] - cr["clean"], 3.0, "<=",
         math.hypot(se(cr["clean"], cn["clean"]), se(cu["clean"], cn["clean"])),
         f"{cr['clean'] - cu['clean']:+.1f} points"),
        ("constraint: false keeps on no-ops within 1 point", abs(cr["noop"] - cu["noop"]), 1.0, "<=",
         math.hypot(se(cr["noop"], cn["noop"]), se(cu["noop"], cn["noop"])),
         f"{cr['noop'] - cu['noop']:+.2f} points"),
    ]
    print()
    if rough:
        print(f"{runs} runs: too few for exact rates; a rate target passes within 2 standard errors "
              f"(the full {FULL_RUNS}-run benchmark judges strictly)")
    failed = 0
    for label, observed, limit, op, err, shown in targets:
        slack = 2 * err if rough else 0.0
        ok = observed <= limit + slack if op == "<=" else observed >= limit - slack
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}  ({shown})")
    print(f"\n{len(jobs)} simulated runs in {time.time() - t0:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
