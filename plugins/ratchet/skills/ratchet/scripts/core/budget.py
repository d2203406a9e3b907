"""The wall-clock budget (`--budget 8h`): durations, and what fits in what is left. Pure.

The budget counts from `init`. The baseline's calibration is capped at
`CALIBRATION_SHARE` of it; before each iteration, the expected cost of one
more (the mean wall time of the iterations so far, or, before the first one,
an estimate from the trial time) plus the time reserved for the final
confirmation run (noisy metrics) must fit in what is left, or the run stops
as `budget_exhausted`, so its honest total is measured inside the budget.
"""

from __future__ import annotations

import math
import re

CALIBRATION_SHARE = 0.10
MIN_CALIBRATION = 5  # = core.design.DETERMINISM_PROBE: fewer cannot tell noise from a constant
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)


def parse_duration(text: str) -> float | None:
    """Seconds in '8h', '90m', '1h30m', '45s', '2d' or a bare number of
    seconds; None when `text` is none of these."""
    raw = text.strip().lower()
    try:
        value = float(raw)
        return value if math.isfinite(value) else None
    except ValueError:
        pass
    parts = _PART.findall(raw)
    if not parts or _PART.sub("", raw).strip():
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def text(seconds: float | None) -> str:
    """'1h02m', '3m12s', '45s' for people."""
    if seconds is None:
        return "?"
    s = int(round(max(seconds, 0)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m"
    return f"{m}m{sec:02d}s" if m else f"{sec}s"


def calibration_runs(budget: float | None, wanted: int, trial_seconds: list[float]) -> int:
    """Baseline runs to calibrate on: `wanted`, capped so calibration takes
    at most CALIBRATION_SHARE of the budget (at least MIN_CALIBRATION)."""
    if not budget or not trial_seconds:
        return wanted
    mean = sum(trial_seconds) / len(trial_seconds)
    if mean <= 0:
        return wanted
    return max(min(MIN_CALIBRATION, wanted), min(wanted, int(CALIBRATION_SHARE * budget / mean)))


def iteration_estimate(iter_seconds: float, iters: int, trial_seconds: float, trials: int,
                       max_trials: int | None) -> float | None:
    """Expected wall time of one more iteration: the mean of those so far;
    before the first, half the design's trial cap at the mean trial time."""
    if iters:
        return iter_seconds / iters
    if trials and max_trials:
        return max_trials / 2 * trial_seconds / trials
    return None


def confirmation_reserve(paired: bool, confirm_pairs: int, trial_seconds: float, trials: int) -> float:
    """Time kept for the final confirmation run (noisy metrics only)."""
    if not paired or not confirm_pairs or not trials:
        return 0.0
    return 2 * confirm_pairs * trial_seconds / trials


def exhausted(budget: float | None, elapsed: float | None, next_cost: float | None, reserve: float) -> bool:
    """One more iteration (and the confirmation) no longer fits."""
    if not budget or elapsed is None:
        return False
    return budget - elapsed < (next_cost or 0.0) + reserve
