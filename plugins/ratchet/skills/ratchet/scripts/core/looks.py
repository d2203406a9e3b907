"""The look schedule of the sequential test and its alpha-spending levels.

Pure functions over plain numbers: no I/O, standard library only.

Looks are planned at ``n = min_pairs, min_pairs + look_every, ...`` and at
``max_pairs`` (`look_schedule`, `next_pairs`).  The false-keep rate (keeping
a change whose true effect is <= 0) is controlled with a group-sequential
*alpha-spending* boundary (Lan & DeMets 1983) using the Hwang-Shih-DeCani
family ``alpha(t) = alpha * (1 - exp(-gamma t)) / (1 - exp(-gamma))``
(``gamma = 0``: linear, ``alpha * t``), with ``t`` the information fraction
``n / max_pairs``.  ``gamma = -4`` is close to O'Brien-Fleming (strict early
looks), ``gamma = 1`` close to Pocock.  The exact one-sided normal-theory
boundaries are computed by numerical integration of the Brownian-motion
recursion (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
ch. 19) and converted to nominal per-look levels ``alpha_k``
(`look_levels`, `nominal_levels`).  `stats.sequential_verdict` applies them
to the Student-t p-value (the usual way to use a normal-theory boundary
with an estimated variance).  Futility is *non-binding*: the boundaries
ignore it, so stopping for futility (or for any other reason, like an
interrupted run) can only lower the false-keep rate.

The defaults below are those of the sequential test (`stats.DEFAULTS` is
built from them).  An impossible schedule or alpha raises `ValueError`.
"""

from __future__ import annotations

import math
from functools import lru_cache

from core import checks

__all__ = [
    "ALPHA", "MIN_PAIRS", "MAX_PAIRS", "LOOK_EVERY", "SPENDING",
    "look_schedule", "look_levels", "nominal_levels", "next_pairs",
]

ALPHA = 0.05       # one-sided false-keep rate over all looks
MIN_PAIRS = 4      # first look
MAX_PAIRS = 50     # cap (50 pairs = 100 trials)
LOOK_EVERY = 2     # looks after complete ABBA blocks only
SPENDING = 0.0     # Hwang-Shih-DeCani gamma of the alpha-spending function (0: linear)


# --------------------------------------------------------------------------
# the schedule


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


def look_schedule(min_pairs: int = MIN_PAIRS, max_pairs: int = MAX_PAIRS,
                  look_every: int = LOOK_EVERY) -> tuple[int, ...]:
    """Planned looks (numbers of pairs): min_pairs, min_pairs + look_every,
    ..., and always max_pairs last."""
    _check_schedule(min_pairs, max_pairs, look_every)
    looks = list(range(min_pairs, max_pairs, look_every))
    looks.append(max_pairs)
    return tuple(looks)


def next_pairs(n_pairs: int, *, min_pairs: int = MIN_PAIRS,
               max_pairs: int = MAX_PAIRS, look_every: int = LOOK_EVERY,
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
# alpha spending


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
def nominal_levels(looks: tuple[int, ...], alpha: float, gamma: float) -> tuple[float, ...]:
    """Nominal one-sided per-look levels alpha_k spending ``alpha`` exactly
    (normal theory) along the Hwang-Shih-DeCani(gamma) function.

    ``looks`` is a schedule from `look_schedule`; the arguments are not
    checked (`look_levels` checks them).  Results are cached.
    """
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


def look_levels(*, alpha: float = ALPHA, min_pairs: int = MIN_PAIRS,
                max_pairs: int = MAX_PAIRS, look_every: int = LOOK_EVERY,
                spending: float = SPENDING) -> list[tuple[int, float]]:
    """The planned looks with their nominal one-sided levels: ``[(n_pairs,
    alpha_k), ...]``.  Under normal theory the probability of ever keeping a
    no-op (ignoring futility stops) is exactly ``alpha``."""
    alpha = checks.probability(alpha, "alpha", 0.5)
    looks = look_schedule(min_pairs, max_pairs, look_every)
    return list(zip(looks, nominal_levels(looks, alpha, float(spending))))
