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

The integration costs ~2 ms per look (~0.1 s for the default 50 pairs), so
the schedules the product uses are precomputed: `core/looks_table.py` holds
the levels for alpha = ALPHA, spending = SPENDING, min_pairs = MIN_PAIRS,
look_every = LOOK_EVERY and every max_pairs from MIN_PAIRS + 1 to
TABLE_MAX_PAIRS (the sequential design at any --max-pairs up to that), and
a single look (the fixed design, and the sequential design at max_pairs =
min_pairs) is ``alpha`` itself.  Any other schedule is integrated.
Regenerate the table after changing the recursion or a default:
``python3 -m core.looks --table > core/looks_table.py`` (from the scripts
directory, about 10 s);
``python3 -m core.looks --check`` compares every entry with the integration.

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
TABLE_MAX_PAIRS = 100  # core/looks_table.py covers max_pairs MIN_PAIRS + 1 .. this


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


def nominal_levels(looks: tuple[int, ...], alpha: float, gamma: float) -> tuple[float, ...]:
    """Nominal one-sided per-look levels alpha_k spending ``alpha`` exactly
    (normal theory) along the Hwang-Shih-DeCani(gamma) function.

    ``looks`` is a schedule from `look_schedule`; the arguments are not
    checked (`look_levels` checks them).  A single look is ``alpha``; the
    default schedules come from the precomputed table (`_tabulated`); others
    are integrated (`_integrated_levels`, cached).
    """
    looks = tuple(looks)
    if len(looks) == 1 and alpha > 0:
        return (float(alpha),)
    return _tabulated(looks, alpha, gamma) or _integrated_levels(looks, float(alpha), float(gamma))


def _default_schedule(max_pairs: int) -> tuple[int, ...]:
    return tuple(range(MIN_PAIRS, max_pairs, LOOK_EVERY)) + (max_pairs,)


def _tabulated(looks: tuple[int, ...], alpha: float, gamma: float) -> tuple[float, ...] | None:
    """The precomputed levels for `looks`, or None when it is not a
    default schedule (alpha, spending, min_pairs, look_every) in the table."""
    if alpha != ALPHA or gamma != SPENDING or not MIN_PAIRS < looks[-1] <= TABLE_MAX_PAIRS:
        return None
    if looks != _default_schedule(looks[-1]):
        return None
    from core import looks_table  # imported only when a noisy test needs it
    levels = looks_table.levels(looks[-1])
    return levels if levels is not None and len(levels) == len(looks) else None


@lru_cache(maxsize=64)
def _integrated_levels(looks: tuple[int, ...], alpha: float, gamma: float) -> tuple[float, ...]:
    """`nominal_levels` by numerical integration (the table's source)."""
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


# --------------------------------------------------------------------------
# the precomputed table (core/looks_table.py)


def table_source(hi: int = TABLE_MAX_PAIRS) -> str:
    """The text of core/looks_table.py: the integrated levels of every
    default schedule with max_pairs MIN_PAIRS + 1 .. `hi`."""
    import textwrap

    lines = [
        '"""Nominal per-look levels of the sequential test\'s default schedules, precomputed.',
        "",
        "Generated by `python3 -m core.looks --table > core/looks_table.py` from",
        "`looks._integrated_levels`; do not edit.  LEVELS[max_pairs] holds the levels at looks",
        f"{MIN_PAIRS}, {MIN_PAIRS + LOOK_EVERY}, ..., max_pairs for alpha = {ALPHA!r} and spending"
        f" (Hwang-Shih-DeCani gamma) = {SPENDING!r},",
        "as exact float reprs separated by spaces (strings compile ten times faster than",
        "tuples of floats when no .pyc can be written; `levels(max_pairs)` parses one).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"ALPHA = {ALPHA!r}",
        f"SPENDING = {SPENDING!r}",
        f"MIN_PAIRS = {MIN_PAIRS!r}",
        f"LOOK_EVERY = {LOOK_EVERY!r}",
        "",
        "LEVELS = {",
    ]
    for n in range(MIN_PAIRS + 1, hi + 1):
        levels = _integrated_levels(_default_schedule(n), ALPHA, SPENDING)
        body = textwrap.wrap(" ".join(repr(x) for x in levels), 90)
        lines.append(f"    {n}: (" + " \"\n         ".join(f'"{b}' for b in body) + '"),')
    lines += ["}", "", "",
              "def levels(max_pairs: int) -> tuple[float, ...] | None:",
              '    """The levels for `max_pairs`, or None outside the table."""',
              "    text = LEVELS.get(max_pairs)",
              "    return None if text is None else tuple(float(x) for x in text.split())"]
    return "\n".join(lines) + "\n"


def check_table(max_pairs=None, tolerance: float = 1e-9) -> list[str]:
    """Entries of the table that differ from the integration by more than
    `tolerance` (relative), or whose defaults no longer match this module;
    `max_pairs`: the entries to check (default: all)."""
    from core import looks_table
    problems = [f"{name} is {getattr(looks_table, name)!r} in the table, {value!r} here"
                for name, value in (("ALPHA", ALPHA), ("SPENDING", SPENDING), ("MIN_PAIRS", MIN_PAIRS),
                                    ("LOOK_EVERY", LOOK_EVERY)) if getattr(looks_table, name) != value]
    wanted = range(MIN_PAIRS + 1, TABLE_MAX_PAIRS + 1) if max_pairs is None else max_pairs
    for n in wanted:
        table = looks_table.levels(n)
        exact = _integrated_levels(_default_schedule(n), ALPHA, SPENDING)
        if table is None or len(table) != len(exact):
            problems.append(f"max_pairs {n}: missing or of the wrong length")
        elif any(abs(a - b) > tolerance * abs(b) for a, b in zip(table, exact)):
            worst = max(abs(a - b) / abs(b) for a, b in zip(table, exact))
            problems.append(f"max_pairs {n}: off by {worst:.2g} (relative)")
    return problems


if __name__ == "__main__":  # python3 -m core.looks --table > core/looks_table.py | --check
    import sys

    if sys.argv[1:] == ["--table"]:
        sys.stdout.write(table_source())
    elif sys.argv[1:] == ["--check"]:
        found = check_table()
        print("\n".join(found) or "the table matches the integration")
        sys.exit(1 if found else 0)
    else:
        sys.exit("usage: python3 -m core.looks --table > core/looks_table.py | --check")
