"""The small views the model reads inside command answers, and the rounding
every answer goes through. Pure.

Every byte of an answer is paid on every iteration of a long run: floats are
rounded to `DIGITS` significant digits (far beyond any benchmark's noise, so
no decision-relevant digit is lost: the full values stay in results.jsonl),
a long list of trials is summarized, and no block appears twice.
"""

from __future__ import annotations

from statistics import median

DIGITS = 6
LISTED_TRIALS = 5  # up to this many trials are listed one by one; more are summarized


def rounded(obj, digits: int = DIGITS):
    """`obj` with every float rounded to `digits` significant digits."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if obj == obj and obj not in (float("inf"), float("-inf")) else obj
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


STAT_DIGITS = 4  # an effect or an interval bound: its 5th digit is far inside the interval's own noise


def test_view(test: dict) -> dict:
    """The sequential test's numbers, to the digits that matter."""
    out = {k: test[k] for k in ("outcome", "effect", "ci_low", "ci_high", "p_value", "n_pairs", "reason")}
    return {k: rounded(v, STAT_DIGITS) if k != "n_pairs" else v for k, v in out.items()}


def trial_view(t: dict) -> dict:
    view = {k: t[k] for k in ("trial", "status", "score", "exit_code", "duration_s")}
    if t.get("side") == "A":
        view["side"] = "A"
    if t["status"] != "ok":
        view.update(problem=t.get("problem", ""), report=t["report"], log=t.get("log"))
    return view


def trials_view(trials: list[dict], paired: bool) -> dict:
    """{"trials": [...]} for an answer. Paired designs list only failed
    trials (the test block carries the numbers); otherwise every trial when
    there are few, else the failed ones plus "scores" {n, min, median, max}."""
    listed = trials if not paired and len(trials) <= LISTED_TRIALS else [t for t in trials if t["status"] != "ok"]
    out = {"trials": [trial_view(t) for t in listed]}
    scores = [t["score"] for t in trials if t["status"] == "ok" and t.get("side", "B") == "B"]
    if scores and not paired and len(trials) > LISTED_TRIALS:
        out["scores"] = {"n": len(scores), "min": min(scores), "median": median(scores), "max": max(scores)}
    return out


def constraint_lines(checks: list[dict]) -> list[str]:
    """One line per judged constraint (`core.constraints.Check.line`)."""
    from core.constraints import Check
    return [Check(**c).line() for c in checks]
