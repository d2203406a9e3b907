"""The measurement design of an iteration, and the interleaving order. Pure.

The design is chosen once, from the baseline's calibration runs:

- ``exact``: the metric is deterministic (every calibration run printed the
  same value). One candidate trial (or ``--trials N``) against the stored
  best, compared exactly: nothing statistical costs extra time.
- ``fixed``: noisy metric and ``--trials N`` given: N interleaved pairs, one
  test at the end.
- ``sequential``: noisy metric, no ``--trials``: pairs until the sequential
  test decides, at most ``--max-pairs``.

In the paired designs each trial is a dict with ``side`` ("A" = the
incumbent, i.e. the best commit re-measured now; "B" = the candidate),
``pair`` (index) and ``status``/``score``. Pair k runs in
``stats.pair_order(k)`` order (AB, BA, AB, ...), so slow drift cancels. A
crashed incumbent trial abandons its pair (the machine hiccuped, the change
is not to blame) up to `MAX_A_CRASHES`; a crashed candidate trial ends the
iteration as a crash. Crashed trials never enter the statistics.
"""

from __future__ import annotations

from core import stats

MAX_A_CRASHES = 2
DETERMINISM_PROBE = 5  # baseline runs that, all equal, end calibration early


def baseline_done(trials: list[dict], needed: int) -> bool:
    """Calibration is complete: `needed` runs, a failed run, or the first
    `DETERMINISM_PROBE` runs all identical (a deterministic metric need not
    pay for a noise estimate)."""
    if any(t["status"] != "ok" for t in trials) or len(trials) >= needed:
        return True
    head = [t["score"] for t in trials[:DETERMINISM_PROBE]]
    return len(head) == DETERMINISM_PROBE and len(set(head)) == 1


def design_of(calibration: dict, trials: int | None, max_pairs: int) -> dict:
    """The design for every iteration after the baseline."""
    if calibration.get("deterministic"):
        return {"kind": "exact", "trials": trials or 1}
    if trials:
        return {"kind": "fixed", "min_pairs": max(trials, 2), "max_pairs": max(trials, 2)}
    return {"kind": "sequential", "min_pairs": stats.DEFAULTS["min_pairs"], "max_pairs": max_pairs}


def schedule(design: dict) -> dict:
    """Keyword arguments for stats.sequential_verdict's look schedule."""
    lo, hi = design["min_pairs"], design["max_pairs"]
    every = stats.DEFAULTS["look_every"] if design["kind"] == "sequential" else max(hi - lo, 1)
    return {"min_pairs": lo, "max_pairs": hi, "look_every": every}


def complete_pairs(trials: list[dict]) -> list[tuple[float, float]]:
    """(a, b) of every pair whose two trials both succeeded, in order."""
    by_pair: dict[int, dict] = {}
    for t in trials:
        if t["status"] == "ok":
            by_pair.setdefault(t["pair"], {})[t["side"]] = t["score"]
    return [(p["A"], p["B"]) for _, p in sorted(by_pair.items()) if "A" in p and "B" in p]


def a_crashes(trials: list[dict]) -> int:
    return sum(1 for t in trials if t["side"] == "A" and t["status"] != "ok")


def b_failed(trials: list[dict]) -> bool:
    """A candidate trial crashed or is waiting for a score."""
    return any(t["side"] == "B" and t["status"] != "ok" for t in trials)


def next_trial(trials: list[dict]) -> tuple[int, str]:
    """(pair, side) of the trial to run next."""
    if not trials:
        return 0, stats.pair_order(0)[0]
    last = trials[-1]
    k = last["pair"]
    done_sides = {t["side"] for t in trials if t["pair"] == k}
    abandoned = any(t["pair"] == k and t["status"] != "ok" for t in trials)
    if abandoned or len(done_sides) == 2:
        return k + 1, stats.pair_order(k + 1)[0]
    return k, stats.pair_order(k)[1]
