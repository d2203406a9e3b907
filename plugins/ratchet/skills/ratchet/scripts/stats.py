"""Robust statistics and the sequential keep/discard test.

Pure functions over plain floats: no I/O, standard library only, Python 3.10+.

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
``h`` being the number of untrimmed values.  Why this test and not the plain
mean t-test or a rank test:

* timings have one-sided, heavy right tails (a GC pause, a cache flush, a
  noisy neighbour).  In a paired difference a spike in either side becomes an
  outlier on one side of the sample.  One outlier drags the mean and inflates
  the ordinary variance, costing both validity and power; trimming 20% on each
  side removes it, and winsorizing keeps the variance estimate honest;
* under Gaussian noise it loses little (asymptotic efficiency 0.87
  relative to the mean, see `_trim_variance_factor`);
* it estimates an effect *in metric units* (the trimmed mean improvement),
  which is what ``--min-improvement`` is expressed in;
* it is a studentized statistic whose null distribution is close to
  Student's t at every ``n``, so the normal-theory group-sequential
  boundaries below apply to it directly.  Rank statistics would need their
  own sequential boundaries.

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
<= 0) is controlled with a group-sequential *alpha-spending* boundary (Lan &
DeMets 1983) using the Hwang-Shih-DeCani family
``alpha(t) = alpha * (1 - exp(-gamma t)) / (1 - exp(-gamma))`` (``gamma = 0``:
linear, ``alpha * t``), with ``t`` the information fraction
``n / max_pairs``.  ``gamma = -4`` is close to O'Brien-Fleming (strict early
looks), ``gamma = 1`` close to Pocock.  The exact one-sided normal-theory
boundaries are computed by numerical integration of the Brownian-motion
recursion (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
ch. 19), converted to nominal per-look levels ``alpha_k`` (`look_levels`),
and applied to the Student-t p-value (the usual way to use a normal-theory
boundary with an estimated variance).  Futility is *non-binding*: the
boundaries ignore it, so stopping for futility (or for any other reason,
like an interrupted run) can only lower the false-keep rate.

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

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from statistics import NormalDist, StatisticsError

__all__ = [
    "DIRECTIONS", "DEFAULTS", "StatisticsError",
    "t_cdf", "t_sf", "t_ppf",
    "trimmed_mean", "winsorized_variance", "trimmed_mean_ci", "yuen_ci", "hodges_lehmann_ci",
    "qn_scale",
    "pair_order", "improvements",
    "look_schedule", "look_levels", "next_pairs",
    "calibrate", "check_resolution",
    "Verdict", "sequential_verdict",
    "confirm", "threshold_reached",
    "naive_verdict",
]

DIRECTIONS = ("min", "max")

#: Default design of the sequential test (tuned with ``bench/decisions.py``).
DEFAULTS = {
    "alpha": 0.05,       # one-sided false-keep rate over all looks
    "futility": 0.25,    # Wald's beta: discard when LR(no effect : 2 min_effect) >= (1-alpha)/futility
    "min_pairs": 4,      # first look
    "max_pairs": 50,     # cap (50 pairs = 100 trials)
    "look_every": 2,     # looks after complete ABBA blocks only
    "spending": 0.0,     # Hwang-Shih-DeCani gamma of the alpha-spending function (0: linear)
    "trim": 0.2,         # proportion trimmed from each end
}

_NORMAL = NormalDist()
_MAD_TO_SD = 1.4826          # 1 / Phi^-1(3/4): MAD -> sd for normal data
_MEAN_AD_TO_SD = math.sqrt(math.pi / 2)  # mean |x - median| -> sd for normal data


# --------------------------------------------------------------------------
# validation helpers


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'min' or 'max', got {direction!r}")


def _floats(data, what: str = "data") -> list[float]:
    out = []
    for x in data:
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"{what} must be finite numbers, got {x!r}")
        out.append(x)
    return out


def _check_min_effect(min_effect: float) -> float:
    min_effect = float(min_effect)
    if not math.isfinite(min_effect) or min_effect < 0:
        raise ValueError(f"min_effect must be a finite number >= 0, got {min_effect!r}")
    return min_effect


def _check_prob(p: float, name: str, upper: float = 1.0) -> float:
    p = float(p)
    if not 0.0 < p < upper:
        raise ValueError(f"{name} must be in (0, {upper:g}), got {p!r}")
    return p


# --------------------------------------------------------------------------
# Student's t distribution (regularized incomplete beta by continued fraction)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta (modified Lentz method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            return h
    return h  # pragma: no cover - converges in far fewer steps for our a, b


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _check_df(df: float) -> float:
    df = float(df)
    if not df > 0:  # also rejects NaN
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")
    return df


def t_sf(t: float, df: float) -> float:
    """Upper tail P(T > t) of Student's t with ``df`` > 0 degrees of freedom.

    ``df`` may be fractional (Welch/Yuen) or ``math.inf`` (standard normal).
    Accurate to about 1e-12 absolute; computed from the regularized incomplete
    beta so far tails keep their relative precision.
    """
    df = _check_df(df)
    t = float(t)
    if math.isnan(t):
        raise ValueError("t must not be NaN")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if math.isinf(df) or df > 1e7:
        return _NORMAL.cdf(-t) if t > -8 else 1.0 - _NORMAL.cdf(t)
    t2 = t * t
    if t2 < df:
        # two-sided central mass I_{t^2/(df+t^2)}(1/2, df/2), precise near 0
        tail = 0.5 * (1.0 - _betainc(0.5, 0.5 * df, t2 / (df + t2)))
    else:
        tail = 0.5 * _betainc(0.5 * df, 0.5, df / (df + t2))
    return tail if t >= 0 else 1.0 - tail


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` > 0 degrees of freedom."""
    return t_sf(-float(t), df)


def _t_pdf(t: float, df: float) -> float:
    if math.isinf(df) or df > 1e7:
        return _NORMAL.pdf(t)
    return math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
                    - 0.5 * math.log(df * math.pi) - (df + 1) / 2 * math.log1p(t * t / df))


@lru_cache(maxsize=4096)
def _t_ppf_cached(p: float, df: float) -> float:
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -_t_ppf_cached(1.0 - p, df)
    q = 1.0 - p  # upper tail we want
    if math.isinf(df) or df > 1e7:
        return _NORMAL.inv_cdf(p)
    if df == 1.0:
        return math.tan(math.pi * (p - 0.5))
    if df == 2.0:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    # bracket [lo, hi] with sf(lo) >= q >= sf(hi), then safeguarded Newton
    lo, hi = 0.0, max(1.0, 2.0 * _NORMAL.inv_cdf(p))
    while t_sf(hi, df) > q:
        lo, hi = hi, hi * 2.0
    x = 0.5 * (lo + hi)
    for _ in range(200):
        f = t_sf(x, df) - q           # decreasing in x
        if f > 0:
            lo = x
        else:
            hi = x
        pdf = _t_pdf(x, df)
        step = f / pdf if pdf > 0 else 0.0
        nxt = x + step                # sf' = -pdf, so Newton: x - f/(-pdf)
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) <= 1e-13 * max(1.0, abs(x)):
            return nxt
        x = nxt
    return x  # pragma: no cover


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t: the ``t`` with ``P(T <= t) == p``, 0 < p < 1.

    Exact closed forms for ``df`` 1 and 2, safeguarded Newton iteration on
    `t_sf` otherwise (relative accuracy about 1e-12).  Results are cached.
    """
    p = _check_prob(p, "p")
    return _t_ppf_cached(p, _check_df(df))


# --------------------------------------------------------------------------
# trimmed statistics


def _trim_count(n: int, trim: float) -> int:
    if not 0.0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim!r}")
    return int(math.floor(trim * n + 1e-9))


def trimmed_mean(data, proportion: float = 0.2) -> float:
    """Mean after removing ``g = floor(proportion * n)`` values from each end.

    ``proportion`` = 0 gives the ordinary mean.  Raises StatisticsError on
    empty data.
    """
    xs = sorted(_floats(data))
    if not xs:
        raise StatisticsError("trimmed_mean requires at least one data point")
    g = _trim_count(len(xs), proportion)
    core = xs[g:len(xs) - g]
    return math.fsum(core) / len(core)


def _winsorized(xs_sorted: list[float], g: int) -> list[float]:
    n = len(xs_sorted)
    if g == 0:
        return xs_sorted
    lo, hi = xs_sorted[g], xs_sorted[n - g - 1]
    return [lo] * g + xs_sorted[g:n - g] + [hi] * g


def winsorized_variance(data, proportion: float = 0.2) -> float:
    """Sample variance (denominator n - 1) of the winsorized data.

    The ``g = floor(proportion * n)`` smallest values are replaced by the
    ``g+1``-th smallest and likewise at the top.  Requires n >= 2.
    """
    xs = sorted(_floats(data))
    n = len(xs)
    if n < 2:
        raise StatisticsError("winsorized_variance requires at least two data points")
    w = _winsorized(xs, _trim_count(n, proportion))
    mu = math.fsum(w) / n
    return math.fsum((x - mu) ** 2 for x in w) / (n - 1)


@dataclass(frozen=True)
class _Trimmed:
    n: int
    est: float       # trimmed mean
    se: float        # standard error (0 only when all values are equal)
    df: float        # degrees of freedom of the reference t distribution
    all_equal: bool
    fallback: bool   # winsorizing removed all spread: untrimmed se used


def _trimmed_stats(xs: list[float], trim: float) -> _Trimmed:
    """Tukey-McLaughlin trimmed mean, its standard error and df (n >= 2)."""
    xs = sorted(xs)
    n = len(xs)
    g = _trim_count(n, trim)
    h = n - 2 * g
    core = xs[g:n - g]
    est = math.fsum(core) / h
    all_equal = xs[0] == xs[-1]
    if all_equal:
        return _Trimmed(n, xs[0], 0.0, float(max(h - 1, 1)), True, False)
    w = _winsorized(xs, g)
    wm = math.fsum(w) / n
    ssd = math.fsum((x - wm) ** 2 for x in w)
    if ssd > 0 and h >= 2:
        # Yuen: se^2 = (n - 1) s_w^2 / (h (h - 1)) = SSD_w / (h (h - 1))
        return _Trimmed(n, est, math.sqrt(ssd / (h * (h - 1))), float(h - 1), False, False)
    # Winsorizing removed all spread although the data are not all equal
    # (e.g. [-5, 0, 0, 0, 0, 3]): fall back to the untrimmed standard error,
    # which is larger, with n - 1 degrees of freedom.
    mu = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - mu) ** 2 for x in xs) / (n - 1))
    return _Trimmed(n, est, sd / math.sqrt(n), float(n - 1), False, True)


def trimmed_mean_ci(data, confidence: float = 0.95, proportion: float = 0.2) -> dict:
    """Trimmed mean with its two-sided confidence interval (Tukey-McLaughlin).

    Returns ``{"estimate", "low", "high", "se", "df", "n"}``.  With all values
    equal the interval collapses to the value (se 0).  Requires n >= 2.
    """
    xs = _floats(data)
    if len(xs) < 2:
        raise StatisticsError("trimmed_mean_ci requires at least two data points")
    confidence = _check_prob(confidence, "confidence")
    s = _trimmed_stats(xs, proportion)
    half = t_ppf(0.5 + confidence / 2, s.df) * s.se
    return {"estimate": s.est, "low": s.est - half, "high": s.est + half,
            "se": s.se, "df": s.df, "n": s.n}


def yuen_ci(x, y, confidence: float = 0.95, proportion: float = 0.2) -> dict:
    """Yuen's interval for trimmed-mean difference ``tm(x) - tm(y)`` of two
    *independent* samples (Welch-type degrees of freedom).

    Returns ``{"estimate", "low", "high", "se", "df"}``; each sample needs at
    least two values.  Use `trimmed_mean_ci` on paired differences instead
    whenever the measurements were paired.
    """
    sx = _trimmed_stats(_floats(x, "x"), proportion) if len(x) >= 2 else None
    sy = _trimmed_stats(_floats(y, "y"), proportion) if len(y) >= 2 else None
    if sx is None or sy is None:
        raise StatisticsError("yuen_ci requires at least two values in each sample")
    confidence = _check_prob(confidence, "confidence")
    vx, vy = sx.se ** 2, sy.se ** 2
    est = sx.est - sy.est
    if vx + vy == 0:
        return {"estimate": est, "low": est, "high": est, "se": 0.0, "df": math.inf}
    df = (vx + vy) ** 2 / ((vx ** 2 / sx.df if vx else 0.0) + (vy ** 2 / sy.df if vy else 0.0))
    se = math.sqrt(vx + vy)
    half = t_ppf(0.5 + confidence / 2, df) * se
    return {"estimate": est, "low": est - half, "high": est + half, "se": se, "df": df}


@lru_cache(maxsize=128)
def _signed_rank_counts(n: int) -> tuple[int, ...]:
    """counts[s] = number of subsets of {1..n} whose sum is s (exact null
    distribution of the Wilcoxon signed-rank statistic, times 2^n)."""
    counts = [1]
    for r in range(1, n + 1):
        nxt = counts + [0] * r
        for s_, c in enumerate(counts):
            nxt[s_ + r] += c
        counts = nxt
    return tuple(counts)


def _signed_rank_lower_tail_index(n: int, tail: float) -> int:
    """Largest k >= 0 with P(T+ <= k - 1) <= tail (0 when even P(T+ = 0) is
    too large).  Exact for n <= 100, normal approximation with continuity
    correction above."""
    if n <= 100:
        counts = _signed_rank_counts(n)
        total = 2 ** n
        cum = 0
        k = 0
        for c in counts:
            if (cum + c) / total > tail:
                break
            cum += c
            k += 1
        return k
    mean = n * (n + 1) / 4
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    # P(T+ <= k - 1) ~ Phi((k - 1 + 0.5 - mean) / sd) <= tail
    return max(0, int(math.floor(mean + _NORMAL.inv_cdf(tail) * sd + 0.5)))


def hodges_lehmann_ci(data, confidence: float = 0.95) -> dict:
    """Hodges-Lehmann location estimate with the Wilcoxon signed-rank
    interval (Walsh averages), for paired differences.

    The estimate is the median of the ``n (n + 1) / 2`` Walsh averages
    ``(x_i + x_j) / 2, i <= j``; the interval runs from the k-th smallest to
    the k-th largest of them, k from the exact signed-rank distribution
    (n <= 100; normal approximation above).  If the differences are
    symmetric about their centre - true for interleaved pairs whenever both
    sides share one noise distribution, however skewed or spiky - the
    coverage is at least ``confidence`` for every n (discreteness makes it
    conservative): the interval is distribution-free.

    Returns ``{"estimate", "low", "high", "n", "confidence"}`` where
    ``confidence`` is the coverage actually achieved.  When n is too small
    for the requested confidence (n < 6 at 95%), the interval is
    [min, max] and the achieved confidence ``1 - 2^(1-n)`` is reported.
    Requires n >= 2.
    """
    xs = sorted(_floats(data))
    n = len(xs)
    if n < 2:
        raise StatisticsError("hodges_lehmann_ci requires at least two data points")
    confidence = _check_prob(confidence, "confidence")
    walsh = sorted((xs[i] + xs[j]) / 2 for i in range(n) for j in range(i, n))
    m = len(walsh)
    est = (walsh[(m - 1) // 2] + walsh[m // 2]) / 2
    k = _signed_rank_lower_tail_index(n, (1 - confidence) / 2)
    if k < 1:
        k = 1
    if n <= 100:
        achieved = 1 - 2 * sum(_signed_rank_counts(n)[:k]) / 2 ** n
    else:
        mean = n * (n + 1) / 4
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        achieved = 1 - 2 * _NORMAL.cdf((k - 1 + 0.5 - mean) / sd)
    return {"estimate": est, "low": walsh[k - 1], "high": walsh[m - k], "n": n,
            "confidence": achieved}


def _trim_variance_factor(trim: float) -> float:
    """Asymptotic variance of the trimmed mean relative to the mean, for
    normal data: ``sigma_w^2 / (1 - 2 trim)^2`` (1.145 at 20%)."""
    if trim == 0:
        return 1.0
    z = _NORMAL.inv_cdf(1 - trim)
    core = (1 - 2 * trim) - 2 * z * _NORMAL.pdf(z)   # integral of x^2 phi over |x| < z
    return (core + 2 * trim * z * z) / (1 - 2 * trim) ** 2


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
        a, b = _floats((a, b), "pair values")
        out.append(a - b if direction == "min" else b - a)
    return out


# --------------------------------------------------------------------------
# look schedule and alpha spending


def _check_schedule(min_pairs: int, max_pairs: int, look_every: int) -> None:
    for name, v in (("min_pairs", min_pairs), ("max_pairs", max_pairs), ("look_every", look_every)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"{name} must be an integer, got {v!r}")
    if min_pairs < 2:
        raise ValueError(f"min_pairs must be >= 2, got {min_pairs}")
    if max_pairs < min_pairs:
        raise ValueError(f"max_pairs ({max_pairs}) must be >= min_pairs ({min_pairs})")
    if look_every < 1:
        raise ValueError(f"look_every must be >= 1, got {look_every}")


def look_schedule(min_pairs: int = DEFAULTS["min_pairs"], max_pairs: int = DEFAULTS["max_pairs"],
                  look_every: int = DEFAULTS["look_every"]) -> tuple[int, ...]:
    """Planned looks (numbers of pairs): min_pairs, min_pairs + look_every,
    ..., and always max_pairs last."""
    _check_schedule(min_pairs, max_pairs, look_every)
    looks = list(range(min_pairs, max_pairs, look_every))
    looks.append(max_pairs)
    return tuple(looks)


def _spent(t: float, alpha: float, gamma: float) -> float:
    """Hwang-Shih-DeCani spending function: cumulative alpha at fraction t."""
    if t >= 1:
        return alpha
    if gamma == 0:
        return alpha * t
    return alpha * (1 - math.exp(-gamma * t)) / (1 - math.exp(-gamma))


def _phi_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


_GRID = 121  # integration points per look (odd; trapezoid on a uniform grid)


def _crossing_recursion(informations, boundary_for_look):
    """Normal-theory one-sided group-sequential recursion.

    S_k is Brownian motion observed at ``informations[k]`` (so Z_k =
    S_k / sqrt(I_k) is standard normal under H0).  ``boundary_for_look(k,
    exceed)`` returns the z boundary c_k, given ``exceed(b)`` = P(not stopped
    before k and S_k >= b).  Returns the list of per-look crossing
    probabilities.  Trapezoid rule on a grid truncated at -8 sd.
    """
    probs = []
    grid: list[float] = []
    dens: list[float] = []
    weights: list[float] = []
    prev_info = 0.0
    for k, info in enumerate(informations):
        delta = info - prev_info
        sd = math.sqrt(delta)
        if k == 0:
            def exceed(b, sd=sd):
                return _phi_sf(b / sd)
        else:
            def exceed(b, sd=sd, grid=grid, dens=dens, weights=weights):
                return math.fsum(w * f * _phi_sf((b - u) / sd)
                                 for u, f, w in zip(grid, dens, weights))
        c = boundary_for_look(k, exceed)
        b = c * math.sqrt(info)
        probs.append(exceed(b))
        # density of S_k on the continuation region (-8 sd_total, b)
        lo = -8.0 * math.sqrt(info)
        if b <= lo:
            break
        step = (b - lo) / (_GRID - 1)
        new_grid = [lo + i * step for i in range(_GRID)]
        new_w = [step] * _GRID
        new_w[0] = new_w[-1] = step / 2
        if k == 0:
            new_dens = [math.exp(-0.5 * (s / sd) ** 2) / (sd * math.sqrt(2 * math.pi)) for s in new_grid]
        else:
            norm = 1.0 / (sd * math.sqrt(2 * math.pi))
            pre = [w * f for f, w in zip(dens, weights)]
            new_dens = [norm * math.fsum(p * math.exp(-0.5 * ((s - u) / sd) ** 2)
                                         for u, p in zip(grid, pre))
                        for s in new_grid]
        grid, dens, weights = new_grid, new_dens, new_w
        prev_info = info
    return probs


def _crossing_probabilities(z_boundaries, informations) -> list[float]:
    """Per-look probabilities of first crossing fixed z boundaries under H0
    (used by the tests to check the recursion against published constants)."""
    return _crossing_recursion(informations, lambda k, exceed: z_boundaries[k])


@lru_cache(maxsize=64)
def _nominal_levels(looks: tuple[int, ...], alpha: float, gamma: float) -> tuple[float, ...]:
    """Nominal one-sided per-look levels alpha_k spending ``alpha`` exactly
    (normal theory) along the Hwang-Shih-DeCani(gamma) function."""
    n_max = looks[-1]
    targets = []
    prev = 0.0
    for n in looks:
        cum = _spent(n / n_max, alpha, gamma)
        targets.append(max(cum - prev, 0.0))
        prev = cum

    def boundary(k, exceed):
        target = targets[k]
        if target <= 1e-15:
            return 40.0
        lo, hi = -10.0, 40.0  # z scale; exceed() is decreasing in b
        root_info = math.sqrt(informations[k])
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if exceed(mid * root_info) > target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    informations = [float(n) for n in looks]
    zs = []

    def record(k, exceed):
        c = boundary(k, exceed)
        zs.append(c)
        return c

    _crossing_recursion(informations, record)
    while len(zs) < len(looks):  # pragma: no cover - only if alpha is ~1
        zs.append(-10.0)
    return tuple(_phi_sf(c) for c in zs)


def look_levels(*, alpha: float = DEFAULTS["alpha"], min_pairs: int = DEFAULTS["min_pairs"],
                max_pairs: int = DEFAULTS["max_pairs"], look_every: int = DEFAULTS["look_every"],
                spending: float = DEFAULTS["spending"]) -> list[tuple[int, float]]:
    """The planned looks with their nominal one-sided levels: ``[(n_pairs,
    alpha_k), ...]``.  Under normal theory the probability of ever keeping a
    no-op (ignoring futility stops) is exactly ``alpha``."""
    alpha = _check_prob(alpha, "alpha", 0.5)
    looks = look_schedule(min_pairs, max_pairs, look_every)
    return list(zip(looks, _nominal_levels(looks, alpha, float(spending))))


def next_pairs(n_pairs: int, *, min_pairs: int = DEFAULTS["min_pairs"],
               max_pairs: int = DEFAULTS["max_pairs"], look_every: int = DEFAULTS["look_every"],
               deterministic: bool = False) -> int:
    """How many more pairs to run before the next look, given ``n_pairs``
    already measured.  0 means no further look is planned (the cap is
    reached).  Deterministic benchmarks look after every pair (one suffices).
    """
    if n_pairs < 0:
        raise ValueError(f"n_pairs must be >= 0, got {n_pairs}")
    if deterministic:
        return 1 if n_pairs == 0 else 0
    for look in look_schedule(min_pairs, max_pairs, look_every):
        if look > n_pairs:
            return look - n_pairs
    return 0


# --------------------------------------------------------------------------
# calibration


_QN_SMALL = {2: 0.399, 3: 0.994, 4: 0.512, 5: 0.844, 6: 0.611, 7: 0.857, 8: 0.669, 9: 0.872}


def qn_scale(data) -> float:
    """Rousseeuw-Croux Qn scale estimate, consistent for the normal sd.

    ``2.2219 * d_n * k-th smallest |x_i - x_j|`` (i < j) with
    ``k = C(h, 2)``, ``h = n // 2 + 1`` and the small-sample factor ``d_n``.
    50% breakdown like the MAD but 82% Gaussian efficiency instead of 37%, so
    it is much steadier on the 10-20 values of a calibration.  O(n^2 log n).
    0 when more than about half the values tie.  Requires n >= 2.
    """
    xs = _floats(data)
    n = len(xs)
    if n < 2:
        raise StatisticsError("qn_scale requires at least two data points")
    h = n // 2 + 1
    k = h * (h - 1) // 2
    diffs = sorted(abs(xs[i] - xs[j]) for i in range(n) for j in range(i + 1, n))
    if n in _QN_SMALL:
        dn = _QN_SMALL[n]
    else:
        dn = n / (n + 1.4) if n % 2 else n / (n + 3.8)
    return 2.2219 * dn * diffs[k - 1]


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
    * ``noise_sd``: the Qn scale (`qn_scale`), as robust as the MAD but
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
    xs = _floats(values, "values")
    if len(xs) < 2:
        raise StatisticsError("calibrate requires at least two baseline values")
    if not isinstance(trials_per_side, int) or trials_per_side < min_pairs:
        raise ValueError(f"trials_per_side must be an integer >= min_pairs ({min_pairs}), got {trials_per_side!r}")
    _check_prob(power, "power")
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
    noise = qn_scale(xs) if n <= 2000 else sd
    if noise == 0:
        noise = sd
    max_pairs = trials_per_side
    if deterministic:
        mde = 0.0
    else:
        levels = look_levels(alpha=alpha, min_pairs=min_pairs, max_pairs=max_pairs,
                             look_every=look_every, spending=spending)
        alpha_last = levels[-1][1]
        h = max_pairs - 2 * _trim_count(max_pairs, trim)
        df = max(h - 1, 1)
        se = math.sqrt(2.0 * _trim_variance_factor(trim) / max_pairs) * noise
        mde = (t_ppf(1 - alpha_last, df) + t_ppf(power, df)) * se
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
    msg = (f"min-improvement {m:g} is below what {calibration['max_pairs']} pairs can resolve"
           f"{spread}: the smallest improvement kept reliably is ~{mde:.4g}; "
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


@dataclass(frozen=True)
class Verdict:
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
        return asdict(self)


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
    ``look_every``: the look schedule (`look_schedule`); ``spending``: the
    Hwang-Shih-DeCani gamma; ``trim``: trimmed proportion per end.

    Between planned looks the outcome is ``continue``.  All differences equal
    (zero spread) is decided exactly: keep iff the common difference is
    > min_effect (and > 0).  With ``deterministic=True`` that exact rule
    applies from the first pair; if the pairs then disagree the benchmark is
    not deterministic after all and the statistical rule takes over.
    """
    _check_direction(direction)
    m = _check_min_effect(min_effect)
    alpha = _check_prob(alpha, "alpha", 0.5)
    futility = _check_prob(futility, "futility", 0.5)
    ci_level = _check_prob(ci_level, "ci_level")
    looks = look_schedule(min_pairs, max_pairs, look_every)
    diffs = improvements(pairs, direction)
    n = len(diffs)
    sched = {"min_pairs": min_pairs, "max_pairs": max_pairs, "look_every": look_every}

    def verdict(outcome, effect=None, lo=None, hi=None, p=None, a_look=None, reason=""):
        more = next_pairs(n, **sched) if outcome == "continue" else 0
        if outcome == "continue" and deterministic and n == 0:
            more = 1
        return Verdict(outcome, effect, lo, hi, ci_level, p, a_look, m, n, 2 * n, more, reason)

    if n == 0:
        return verdict("continue", reason="no pairs yet")

    all_equal = all(d == diffs[0] for d in diffs)
    at_look = n in looks or n >= max_pairs
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
    s = _trimmed_stats(diffs, trim)
    if s.se == 0:  # all equal, between looks of a noisy benchmark
        return verdict("continue", s.est, s.est, s.est, None, None,
                       f"between looks ({n} identical differences so far)")
    half = t_ppf(0.5 + ci_level / 2, s.df) * s.se
    lo, hi = s.est - half, s.est + half
    p_value = t_sf(s.est / s.se, s.df)
    if not at_look:
        return verdict("continue", s.est, lo, hi, p_value, None,
                       f"between looks ({n} pairs; next look after {n + next_pairs(n, **sched)})")

    k = looks.index(n) if n in looks else len(looks) - 1
    a_look = _nominal_levels(looks, alpha, float(spending))[k]
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
    (`hodges_lehmann_ci`): distribution-free, coverage >= ``confidence``
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
    base = _floats(baseline_values, "baseline_values")
    best = _floats(best_values, "best_values")
    if len(base) < 2 or len(best) < 2:
        raise StatisticsError("confirm requires at least two values on each side")
    if paired and len(base) != len(best):
        raise ValueError(f"paired confirmation needs equal lengths, got {len(base)} and {len(best)}")
    confidence = _check_prob(confidence, "confidence")
    if paired:
        ci = hodges_lehmann_ci(improvements(zip(base, best), direction), confidence)
    else:
        ci = yuen_ci(base, best, confidence, trim) if direction == "min" else yuen_ci(best, base, confidence, trim)
    base_level = trimmed_mean(base, trim)
    level = trimmed_mean_ci(best, confidence, trim)
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
    xs = _floats(candidate_values, "candidate_values")
    if not xs:
        raise StatisticsError("naive_verdict requires at least one candidate value")
    mean = math.fsum(xs) / len(xs)
    gain = float(best) - mean if direction == "min" else mean - float(best)
    if gain > m:
        return True, mean
    return False, float(best)
