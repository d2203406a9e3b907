"""The sequential keep/discard test and the decisions around it.

Pure functions over plain floats: no I/O, standard library only, Python 3.10+.
The building blocks live in their own modules: `tdist` (Student's t
distribution), `robust` (trimmed mean, Hodges-Lehmann and Qn estimators
with their intervals), `looks` (the look schedule and alpha spending) and
`checks` (argument checks).  This module holds the decision-level API:
pairs, calibration, the sequential test, the end-of-run confirmation and,
for comparison, the naive rule.

Measurement design (the caller's job)
-------------------------------------
A candidate change B is compared with the incumbent A (the current best
commit) in *pairs*, measured interleaved in ABBA order: pair ``k`` is run as
A then B when ``k`` is even, B then A when ``k`` is odd (`pair_order`).  Within
two consecutive pairs a linear drift of the machine (thermal, background load)
adds ``+s`` to one difference and ``-s`` to the other, so it cancels; looks are
therefore only taken after an even number of pairs.  Each pair ``(a, b)``
gives an *improvement* ``d = a - b`` when smaller is better (``direction ==
"min"``) or ``d = b - a`` when larger is better (``"max"``): positive means the
candidate is better.  Crashed trials are excluded by the caller: a pair with a
crashed side is dropped, and every function here takes finite floats.

The test
--------
`sequential_verdict` runs a one-sample *20%-trimmed-mean t-test* on the paired
improvements (Tukey & McLaughlin 1963; Yuen's trimmed test for dependent
samples, Wilcox, *Introduction to Robust Estimation and Hypothesis Testing*,
ch. 4-5): the estimate is the mean of the middle 60% of the sorted
differences, its standard error comes from the 20%-winsorized variance, and
the statistic is referred to Student's t with ``h - 1`` degrees of freedom,
``h`` being the number of untrimmed values (`robust.trimmed_stats`).  Why
this test and not the plain mean t-test or a rank test:

* timings have one-sided, heavy right tails (a GC pause, a cache flush, a
  noisy neighbour).  In a paired difference a spike in either side becomes an
  outlier on one side of the sample.  One outlier drags the mean and inflates
  the ordinary variance, costing both validity and power; trimming 20% on each
  side removes it, and winsorizing keeps the variance estimate honest;
* under Gaussian noise it loses little (asymptotic efficiency 0.87
  relative to the mean, see `robust.trim_variance_factor`);
* it estimates an effect *in metric units* (the trimmed mean improvement),
  which is what ``--min-improvement`` is expressed in;
* it is a studentized statistic whose null distribution is close to
  Student's t at every ``n``, so the normal-theory group-sequential
  boundaries of `looks` apply to it directly.  Rank statistics would need
  their own sequential boundaries.

Decision rule at a look with ``n`` pairs (estimate ``est``, standard error
``se``, ``df`` degrees of freedom, indifference point ``m = min_effect >= 0``):

* ``keep``     when the one-sided p-value of H0: effect <= 0 is at most the
  look's nominal level ``alpha_k`` **and** ``est > m``;
* ``discard``  (futility) when ``est < m`` and the data favour "no effect"
  over "an effect of ``2 m``" by a likelihood ratio of at least
  ``(1 - alpha) / futility``: Wald's lower SPRT boundary with
  ``beta = futility``.  The likelihood is the Student-t density of the
  studentized estimate (`_studentized_llr`), which equals Wald's normal
  statistic for large ``df`` and is more cautious when ``se`` comes from a
  handful of pairs.  The boundary shrinks like ``se^2``, not ``se``, so
  no-ops whose estimate hovers a bit above zero are still stopped well
  before the cap, unlike with a fixed-level upper confidence bound (which
  was tried first: at the same power it needed ~10% more trials);
* ``discard``  also when the candidate is significantly *worse*: the
  one-sided p-value of H0: effect >= 0 is at most ``alpha`` (catches
  catastrophic regressions, which the heavy-tailed t-likelihood alone is
  slow to call);
* ``inconclusive`` when none of these holds at ``max_pairs`` (the caller
  reverts);
* ``continue`` otherwise.  `Verdict.next_pairs` says how many pairs to run
  before the next look.

``min_effect`` is the *indifference point*: changes at or below zero must not
be kept (false keeps are controlled at level ``alpha``), changes of about
``2 * min_effect`` should be kept with high power, and a change of exactly
``min_effect`` is about a coin flip.  When noise and budget cannot resolve
that (``2 * min_effect`` below the minimum detectable effect),
`check_resolution` says so and returns the raised ``effective_min_effect``
the caller should pass instead.  With ``min_effect == 0`` and noisy data the
futility rule has no alternative to weigh "no effect" against and only clear
regressions are discarded, so no-ops run to the cap: that is why the caller
always passes ``check_resolution(...)["effective_min_effect"]``.

Error control under repeated looks
----------------------------------
Looks are planned at ``n = min_pairs, min_pairs + look_every, ...`` and at
``max_pairs``.  The false-keep rate (keeping a change whose true effect is
<= 0) is controlled by a group-sequential alpha-spending boundary, converted
to nominal per-look levels ``alpha_k`` and applied to the Student-t p-value;
the module docstring of `looks` explains the spending function and how the
levels are computed.  Futility is non-binding, so stopping for futility (or
for any other reason, like an interrupted run) can only lower the
false-keep rate.

Defaults (`DEFAULTS`): alpha 0.05, futility 0.25, looks at 4, 6, ..., 50
pairs, linear spending, 20% trimming.  They were chosen with
``bench/decisions.py`` (improvements of size d, noise sd = d, min_effect
d/2): among the designs tried this one keeps >= 80% of real improvements
with <= 20 trials per iteration on average and >= 75% under 10% outliers,
while the false-keep rate stays below alpha by construction.

End of run
----------
`confirm` measures the original baseline against the final best once more,
interleaved, and reports the total gain with a Hodges-Lehmann /
signed-rank interval, which is exact (distribution-free) for paired
differences of two sides that share one noise distribution.

Failure modes
-------------
Bad arguments (unknown direction, negative min_effect, NaN/inf data, an
impossible schedule) raise `ValueError`; too little data for a quantity that
needs it raises `statistics.StatisticsError` (a `ValueError` subclass), as
the `statistics` module does.
"""

import math
from statistics import StatisticsError
from typing import NamedTuple

from core import checks
from core import direction as direction_mod
from core import looks
from core import robust
from core import tdist

__all__ = [
    "DIRECTIONS", "DEFAULTS", "StatisticsError",
    "pair_order", "improvements",
    "calibrate", "check_resolution",
    "Verdict", "sequential_verdict",
    "confirm", "threshold_reached",
    "naive_verdict",
]

DIRECTIONS = direction_mod.DIRECTIONS

#: Default design of the sequential test (tuned with ``bench/decisions.py``);
#: the look schedule and alpha spending come from `looks`.
DEFAULTS = {
    "alpha": looks.ALPHA,            # one-sided false-keep rate over all looks
    "futility": 0.25,                # Wald's beta: discard when LR(no effect : 2 min_effect) >= (1-alpha)/futility
    "min_pairs": looks.MIN_PAIRS,    # first look
    "max_pairs": looks.MAX_PAIRS,    # cap
    "look_every": looks.LOOK_EVERY,  # looks after complete ABBA blocks only
    "spending": looks.SPENDING,      # Hwang-Shih-DeCani gamma of the alpha-spending function
    "trim": 0.2,                     # proportion trimmed from each end
}

_MAD_TO_SD = 1.4826          # 1 / Phi^-1(3/4): MAD -> sd for normal data
_MEAN_AD_TO_SD = math.sqrt(math.pi / 2)  # mean |x - median| -> sd for normal data


# --------------------------------------------------------------------------
# validation helpers


_check_direction = direction_mod.check


def _check_min_effect(min_effect: float) -> float:
    min_effect = float(min_effect)
    if not math.isfinite(min_effect) or min_effect < 0:
        raise ValueError(f"min_effect must be a finite number >= 0, got {min_effect!r}")
    return min_effect


# --------------------------------------------------------------------------
# pairs


def pair_order(k: int) -> str:
    """Run order of pair ``k`` (0-based): ``"AB"`` (incumbent first) when k is
    even, ``"BA"`` when odd.  A = incumbent/best, B = candidate."""
    if k < 0:
        raise ValueError(f"pair index must be >= 0, got {k!r}")
    return "AB" if k % 2 == 0 else "BA"


def improvements(pairs, direction: str) -> list[float]:
    """Per-pair improvement of the candidate, positive = better.

    ``pairs`` holds ``(a, b)`` = (incumbent value, candidate value).  Returns
    ``a - b`` for ``"min"``, ``b - a`` for ``"max"``.
    """
    _check_direction(direction)
    out = []
    for pair in pairs:
        a, b = pair
        a, b = checks.finite_floats((a, b), "pair values")
        out.append(direction_mod.gain(direction, a, b))
    return out


# --------------------------------------------------------------------------
# calibration


def calibrate(values, trials_per_side: int = DEFAULTS["max_pairs"], seconds_per_trial: float | None = None,
              *, alpha: float = DEFAULTS["alpha"], power: float = 0.8,
              min_pairs: int = DEFAULTS["min_pairs"], look_every: int = DEFAULTS["look_every"],
              spending: float = DEFAULTS["spending"], trim: float = DEFAULTS["trim"]) -> dict:
    """Summarize repeated baseline runs and what the test budget can resolve.

    ``values``: the metric from >= 2 runs of the unchanged baseline.
    ``trials_per_side``: the budget, i.e. ``max_pairs`` of the sequential test
    (each pair is one incumbent and one candidate trial).
    ``seconds_per_trial``: optional wall time of one trial.

    Returns a dict:

    * ``n``, ``median``, ``mad``;
    * ``robust_sd``: 1.4826 * MAD.  When MAD is 0 but the values are not all
      identical (more than half tie), 1.2533 * mean absolute deviation from
      the median is used instead (``sd_method`` says which: ``"mad"``,
      ``"mean_abs_dev"`` or ``"zero"``);
    * ``noise_sd``: the Qn scale (`robust.qn_scale`), as robust as the MAD but
      far steadier on few values (82% vs 37% Gaussian efficiency); it
      drives the MDE, so that the warning of `check_resolution` does not
      hinge on the MAD's luck: at Gaussian noise 3x a min_effect of half the
      effect of interest, the MAD misses the warning in 11% / 2.4% / 0.7% of
      calibrations of 10 / 20 / 30 runs, Qn in 4% / 0.3% / 0.03%.
      Recommendation: calibrate on 20-30 baseline runs;
    * ``relative_spread``: robust_sd / |median| (None when the median is 0);
    * ``deterministic``: all values identical: ratchet runs one trial per
      side and compares exactly (``sequential_verdict(..., deterministic=True)``);
    * ``mde``: minimum detectable effect, the smallest true improvement the
      sequential test keeps with probability ~``power`` within
      ``max_pairs``.  Normal approximation: paired-difference sd =
      sqrt(2) * noise_sd (independent noise on both sides; positively
      correlated pairs, e.g. shared drift, do better), times the trimmed
      mean's variance factor, with the last look's critical value.  For the
      default design it is within ~10% of the power curve computed with
      the futility boundary included (0.65 vs 0.69 noise sd).  0 when
      deterministic.  ``mde_relative`` = mde / |median|;
    * ``max_pairs``, ``max_trials`` (both sides), ``seconds_full_budget``
      (None unless seconds_per_trial is given).

    Raises StatisticsError for fewer than two values.
    """
    xs = checks.finite_floats(values, "values")
    if len(xs) < 2:
        raise StatisticsError("calibrate requires at least two baseline values")
    if not isinstance(trials_per_side, int) or trials_per_side < min_pairs:
        raise ValueError(f"trials_per_side must be an integer >= min_pairs ({min_pairs}), got {trials_per_side!r}")
    checks.probability(power, "power")
    n = len(xs)
    srt = sorted(xs)
    med = (srt[(n - 1) // 2] + srt[n // 2]) / 2
    devs = sorted(abs(x - med) for x in xs)
    mad = (devs[(n - 1) // 2] + devs[n // 2]) / 2
    deterministic = srt[0] == srt[-1]
    if mad > 0:
        sd, method = _MAD_TO_SD * mad, "mad"
    elif not deterministic:
        sd, method = _MEAN_AD_TO_SD * math.fsum(devs) / n, "mean_abs_dev"
    else:
        sd, method = 0.0, "zero"
    noise = robust.qn_scale(xs) if n <= 2000 else sd
    if noise == 0:
        noise = sd
    max_pairs = trials_per_side
    if deterministic:
        mde = 0.0
    else:
        levels = looks.look_levels(alpha=alpha, min_pairs=min_pairs, max_pairs=max_pairs,
                             look_every=look_every, spending=spending)
        alpha_last = levels[-1][1]
        h = max_pairs - 2 * robust.trim_count(max_pairs, trim)
        df = max(h - 1, 1)
        se = math.sqrt(2.0 * robust.trim_variance_factor(trim) / max_pairs) * noise
        mde = (tdist.t_ppf(1 - alpha_last, df) + tdist.t_ppf(power, df)) * se
    abs_med = abs(med)
    return {
        "n": n,
        "median": med,
        "mad": mad,
        "robust_sd": sd,
        "sd_method": method,
        "noise_sd": noise,
        "relative_spread": sd / abs_med if abs_med > 0 else None,
        "deterministic": deterministic,
        "mde": mde,
        "mde_relative": mde / abs_med if abs_med > 0 else None,
        "max_pairs": max_pairs,
        "max_trials": 2 * max_pairs,
        "seconds_full_budget": (None if seconds_per_trial is None
                                else 2 * max_pairs * float(seconds_per_trial)),
    }


def check_resolution(min_effect: float, calibration: dict) -> dict:
    """Can the benchmark resolve ``min_effect`` within the budget?

    The sequential test treats ``min_effect`` as its indifference point and
    should keep improvements of ``2 * min_effect`` with ~80% power.  That is
    possible only when ``2 * min_effect >= calibration["mde"]``.  Otherwise
    the answer is ``resolvable: False`` with a one-line ``message`` for the
    user, and ``effective_min_effect = mde / 2``: the caller passes that to
    `sequential_verdict`, which makes keeping *harder* (never easier) and
    lets the futility rule stop no-op candidates instead of running every one
    of them to the cap.  Deterministic benchmarks resolve any min_effect.

    Returns ``{"resolvable", "min_effect", "effective_min_effect", "mde",
    "message"}``.
    """
    m = _check_min_effect(min_effect)
    mde = float(calibration["mde"])
    if calibration.get("deterministic") or 2 * m >= mde:
        return {"resolvable": True, "min_effect": m, "effective_min_effect": m,
                "mde": mde, "message": ""}
    eff = mde / 2
    rel = calibration.get("relative_spread")
    spread = f" (noise {100 * rel:.2g}% of the metric)" if rel is not None else ""
    asked = (f"min-improvement {m:g} is below what {calibration['max_pairs']} pairs can resolve" if m > 0 else
             f"no --min-improvement given; with this noise {calibration['max_pairs']} pairs resolve only larger changes")
    msg = (f"{asked}{spread}: the smallest improvement kept reliably is ~{mde:.4g}; "
           f"using an effective min-improvement of {eff:.4g}. "
           f"Reduce the noise or raise --min-improvement.")
    return {"resolvable": False, "min_effect": m, "effective_min_effect": eff,
            "mde": mde, "message": msg}


# --------------------------------------------------------------------------
# the sequential test


def _studentized_llr(est: float, se: float, df: float, delta1: float) -> float:
    """Log likelihood ratio of effect ``delta1`` against effect 0 given the
    studentized estimate: ``log f((est - delta1)/se) - log f(est/se)`` with
    ``f`` the Student-t density with ``df`` degrees of freedom.

    For large ``df`` this is Wald's normal SPRT statistic ``delta1 (est -
    delta1/2) / se^2``; at small ``df`` the heavy t tails temper it, so an
    underestimated standard error from a handful of pairs does not end a
    promising candidate (nor, for the same reason, can a far-out estimate
    alone: clear regressions are caught by the separate "significantly
    worse" rule).
    """
    if delta1 <= 0:
        return 0.0
    t0 = est / se
    t1 = (est - delta1) / se
    return -(df + 1) / 2 * (math.log1p(t1 * t1 / df) - math.log1p(t0 * t0 / df))


class Verdict(NamedTuple):
    """Result of `sequential_verdict`.

    ``outcome``: ``"keep"``, ``"discard"``, ``"inconclusive"`` (cap reached,
    revert) or ``"continue"`` (run ``next_pairs`` more pairs, then ask again).
    ``effect``: trimmed-mean improvement in metric units, positive = better
    (None without data).  ``ci_low``/``ci_high``: two-sided ``ci_level``
    interval of the effect, *not* adjusted for the repeated looks (the
    decision is).  ``p_value``: one-sided p of H0 effect <= 0 at this look
    (unadjusted; compare with ``alpha_look``).  ``reason``: one line.
    """

    outcome: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float
    p_value: float | None
    alpha_look: float | None
    min_effect: float
    n_pairs: int
    n_trials: int
    next_pairs: int
    reason: str

    def to_dict(self) -> dict:
        return self._asdict()


def sequential_verdict(pairs, direction: str, min_effect: float = 0.0, *,
                       alpha: float = DEFAULTS["alpha"], futility: float = DEFAULTS["futility"],
                       min_pairs: int = DEFAULTS["min_pairs"], max_pairs: int = DEFAULTS["max_pairs"],
                       look_every: int = DEFAULTS["look_every"], spending: float = DEFAULTS["spending"],
                       trim: float = DEFAULTS["trim"], deterministic: bool = False,
                       ci_level: float = 0.95) -> Verdict:
    """Decide a candidate from its interleaved pairs (see the module docstring).

    ``pairs``: ``(a, b)`` = (incumbent, candidate) values of the complete
    pairs so far, in measurement order.  ``direction``: ``"min"`` or
    ``"max"``.  ``min_effect``: indifference point in metric units (>= 0);
    pass ``check_resolution(...)["effective_min_effect"]``.

    ``alpha``: one-sided false-keep rate over all looks; ``futility``:
    Wald's beta for the futility boundary (a larger value stops no-ops
    sooner and loses more power); ``min_pairs``, ``max_pairs``,
    ``look_every``: the look schedule (`looks.look_schedule`); ``spending``: the
    Hwang-Shih-DeCani gamma; ``trim``: trimmed proportion per end.

    Between planned looks the outcome is ``continue``.  All differences equal
    (zero spread) is decided exactly: keep iff the common difference is
    > min_effect (and > 0).  With ``deterministic=True`` that exact rule
    applies from the first pair; if the pairs then disagree the benchmark is
    not deterministic after all and the statistical rule takes over.
    """
    _check_direction(direction)
    m = _check_min_effect(min_effect)
    alpha = checks.probability(alpha, "alpha", 0.5)
    futility = checks.probability(futility, "futility", 0.5)
    ci_level = checks.probability(ci_level, "ci_level")
    planned = looks.look_schedule(min_pairs, max_pairs, look_every)
    diffs = improvements(pairs, direction)
    n = len(diffs)
    sched = {"min_pairs": min_pairs, "max_pairs": max_pairs, "look_every": look_every}

    def verdict(outcome, effect=None, lo=None, hi=None, p=None, a_look=None, reason=""):
        more = looks.next_pairs(n, **sched) if outcome == "continue" else 0
        if outcome == "continue" and deterministic and n == 0:
            more = 1
        return Verdict(outcome, effect, lo, hi, ci_level, p, a_look, m, n, 2 * n, more, reason)

    if n == 0:
        return verdict("continue", reason="no pairs yet")

    all_equal = all(d == diffs[0] for d in diffs)
    at_look = n in planned or n >= max_pairs
    if all_equal and (deterministic or at_look):
        d = diffs[0]
        p = 0.0 if d > 0 else 1.0
        if d > m and d > 0:
            return verdict("keep", d, d, d, p, None,
                           f"all {n} pairs improve by exactly {d:g} > min_effect {m:g}")
        return verdict("discard", d, d, d, p, None,
                       f"all {n} pairs differ by exactly {d:g}, not > min_effect {m:g}")

    if n < 2:
        return verdict("continue", diffs[0], None, None, None, None,
                       "not deterministic after all: measuring like a noisy benchmark"
                       if deterministic else "too few pairs")
    s = robust.trimmed_stats(diffs, trim)
    if s.se == 0:  # all equal, between looks of a noisy benchmark
        return verdict("continue", s.est, s.est, s.est, None, None,
                       f"between looks ({n} identical differences so far)")
    half = tdist.t_ppf(0.5 + ci_level / 2, s.df) * s.se
    lo, hi = s.est - half, s.est + half
    p_value = tdist.t_sf(s.est / s.se, s.df)
    if not at_look:
        return verdict("continue", s.est, lo, hi, p_value, None,
                       f"between looks ({n} pairs; next look after {n + looks.next_pairs(n, **sched)})")

    k = planned.index(n) if n in planned else len(planned) - 1
    a_look = looks.nominal_levels(planned, alpha, float(spending))[k]
    if p_value <= a_look and s.est > m:
        return verdict("keep", s.est, lo, hi, p_value, a_look,
                       f"improvement {s.est:.4g} > min_effect {m:g}, p={p_value:.2g} <= {a_look:.2g}")
    if p_value >= 1 - alpha:
        return verdict("discard", s.est, lo, hi, p_value, a_look,
                       f"significantly worse: improvement {s.est:.4g}, one-sided p(worse)={1 - p_value:.2g}")
    llr = _studentized_llr(s.est, s.se, s.df, 2 * m)
    if s.est < m and llr <= math.log(futility / (1 - alpha)):
        return verdict("discard", s.est, lo, hi, p_value, a_look,
                       f"improvement {s.est:.4g} < min_effect {m:g}: the data favour 'no effect' over "
                       f"'{2 * m:g}' by a likelihood ratio of {math.exp(-llr):.3g}")
    if n >= max_pairs:
        return verdict("inconclusive", s.est, lo, hi, p_value, a_look,
                       f"cap of {max_pairs} pairs reached: improvement {s.est:.4g}, p={p_value:.2g}")
    return verdict("continue", s.est, lo, hi, p_value, a_look,
                   f"improvement {s.est:.4g}, p={p_value:.2g} > {a_look:.2g}; not yet decidable")


# --------------------------------------------------------------------------
# end-of-run confirmation


def confirm(baseline_values, best_values, direction: str, *, paired: bool = True,
            confidence: float = 0.95, trim: float = DEFAULTS["trim"]) -> dict:
    """Honest total gain: the original baseline against the final best,
    measured interleaved (ABBA) in one confirmation run.

    With ``paired=True`` (the interleaved design) ``baseline_values[i]`` and
    ``best_values[i]`` form pair i and the gain is the Hodges-Lehmann
    estimate of the per-pair improvements with its signed-rank interval
    (`robust.hodges_lehmann_ci`): distribution-free, coverage >= ``confidence``
    whenever both sides share one noise distribution, robust to spikes.
    (The Tukey-McLaughlin interval used for the sequential decisions covers
    slightly less than nominal in small samples, ~94.7% at n = 30 under
    normal noise: fine for a test whose error rate is checked by
    simulation, not for the one number reported at the end.)  With
    ``paired=False`` Yuen's two-sample trimmed-mean interval is used.
    This is one measurement of the cumulative change, not a sum of per-keep
    estimates (which would carry every keep's winner's-curse bias).

    Returns a dict with ``direction``, ``paired``, ``n_pairs``,
    ``confidence`` (requested), ``gain_confidence`` (achieved; below the
    request only for fewer than 6 pairs at 95%),
    ``gain``/``gain_low``/``gain_high`` (metric units, positive = better),
    ``baseline_level``, ``best_level``/``best_low``/``best_high`` (trimmed
    means and interval of the final best's level, used by
    `threshold_reached`), and ``relative_gain``/``relative_low``/
    ``relative_high`` = gain / |baseline_level| (None when that level is 0;
    the baseline level's own uncertainty is ignored, a second-order effect
    when the noise is small relative to the level).  Needs >= 2 values per
    side; raises ValueError on unequal lengths when paired.
    """
    _check_direction(direction)
    base = checks.finite_floats(baseline_values, "baseline_values")
    best = checks.finite_floats(best_values, "best_values")
    if len(base) < 2 or len(best) < 2:
        raise StatisticsError("confirm requires at least two values on each side")
    if paired and len(base) != len(best):
        raise ValueError(f"paired confirmation needs equal lengths, got {len(base)} and {len(best)}")
    confidence = checks.probability(confidence, "confidence")
    if paired:
        ci = robust.hodges_lehmann_ci(improvements(zip(base, best), direction), confidence)
    else:
        ci = robust.yuen_ci(base, best, confidence, trim) if direction == "min" else robust.yuen_ci(best, base, confidence, trim)
    base_level = robust.trimmed_mean(base, trim)
    level = robust.trimmed_mean_ci(best, confidence, trim)
    scale = abs(base_level)
    rel = (lambda v: v / scale) if scale > 0 else (lambda v: None)
    return {
        "direction": direction,
        "paired": paired,
        "n_pairs": len(base) if paired else None,
        "confidence": confidence,
        "gain_confidence": ci.get("confidence", confidence),
        "gain": ci["estimate"],
        "gain_low": ci["low"],
        "gain_high": ci["high"],
        "baseline_level": base_level,
        "best_level": level["estimate"],
        "best_low": level["low"],
        "best_high": level["high"],
        "relative_gain": rel(ci["estimate"]),
        "relative_low": rel(ci["low"]),
        "relative_high": rel(ci["high"]),
    }


def threshold_reached(confirm_result: dict, threshold: float, direction: str) -> bool:
    """True only when the final best's whole confidence interval is at or
    beyond ``threshold`` (a metric level, like ``--threshold``): for ``"min"``
    ``best_high <= threshold``, for ``"max"`` ``best_low >= threshold``.  A
    point estimate past the threshold with an interval straddling it is not
    enough."""
    _check_direction(direction)
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    if confirm_result.get("direction", direction) != direction:
        raise ValueError("confirm_result was computed for the other direction")
    if direction == "min":
        return confirm_result["best_high"] <= threshold
    return confirm_result["best_low"] >= threshold


# --------------------------------------------------------------------------
# the naive rule (for comparison only)


def naive_verdict(candidate_values, best: float, direction: str, min_effect: float = 0.0) -> tuple[bool, float]:
    """The rule ratchet replaces, kept for the benchmark: the mean of the
    candidate's trials (5 in the benchmark) against the *stored* best score.

    Returns ``(kept, new_best)``: kept iff the mean is better than ``best`` by
    strictly more than ``min_effect``; the stored best becomes that mean.
    """
    _check_direction(direction)
    m = _check_min_effect(min_effect)
    xs = checks.finite_floats(candidate_values, "candidate_values")
    if not xs:
        raise StatisticsError("naive_verdict requires at least one candidate value")
    mean = math.fsum(xs) / len(xs)
    gain = direction_mod.gain(direction, float(best), mean)
    if gain > m:
        return True, mean
    return False, float(best)

