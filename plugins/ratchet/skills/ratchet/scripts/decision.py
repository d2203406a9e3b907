"""The keep/revert rule and the stop conditions. Pure functions over plain data.

Decisions, in the order they are checked:

- `integrity_violation`: a protected file or ratchet's own state changed.
- `crash`: a trial exited non-zero, timed out, or printed no metric.
- `baseline`: iteration 0, measured like every other iteration, always kept.
- `improve` / `regress` / `no_change`: the candidate's mean against the best
  score, with the `--min-improvement` margin (see `classify`).
- `guard_failed`: an improvement whose guard command did not exit 0.

Only `baseline` and `improve` are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

KEPT = frozenset({"baseline", "improve"})
DECISIONS = ("baseline", "improve", "regress", "no_change", "crash", "guard_failed",
             "integrity_violation")


def gain(direction: str, best: float, candidate: float) -> float:
    """How much better `candidate` is than `best` (positive = better)."""
    return best - candidate if direction == "min" else candidate - best


def classify(direction: str, best: float, candidate: float, margin: float) -> str:
    """'improve' when better by more than `margin`; 'regress' when worse at
    all; otherwise 'no_change'. `margin` >= 0, in metric units."""
    g = gain(direction, best, candidate)
    if g > margin:
        return "improve"
    if g < 0:
        return "regress"
    return "no_change"


@dataclass(frozen=True)
class Verdict:
    decision: str
    avg: float | None
    delta: float | None  # gain over the best, positive = better
    reason: str


def judge(*, iteration: int, scores: list[float | None], direction: str,
          best: float | None, margin: float, integrity_problems: list[str]) -> Verdict:
    """Decide an iteration before the guard runs.

    `scores` holds one entry per trial, None for a crashed trial. `best` is
    None only for the baseline. The caller runs the guard command when the
    result is 'improve' and then calls `apply_guard`.
    """
    if integrity_problems:
        return Verdict("integrity_violation", None, None, "; ".join(integrity_problems))
    if not scores or any(s is None for s in scores):
        crashed = sum(1 for s in scores if s is None)
        return Verdict("crash", None, None, f"{crashed} of {len(scores)} trials crashed"
                       if scores else "no trials ran")
    avg = fmean(scores)
    if iteration == 0 or best is None:
        return Verdict("baseline", avg, None, "baseline measured")
    decision = classify(direction, best, avg, margin)
    delta = gain(direction, best, avg)
    return Verdict(decision, avg, delta, f"mean {avg:g} vs best {best:g} (margin {margin:g})")


def apply_guard(verdict: Verdict, guard_passed: bool) -> Verdict:
    """An improvement whose guard failed becomes 'guard_failed'."""
    if verdict.decision == "improve" and not guard_passed:
        return Verdict("guard_failed", verdict.avg, verdict.delta, "guard command failed")
    return verdict


def crossed(direction: str, score: float, threshold: float) -> bool:
    """True when `score` is at or beyond `threshold` in the good direction."""
    return score <= threshold if direction == "min" else score >= threshold


def _trailing(history: list[dict], predicate) -> int:
    n = 0
    for rec in reversed(history):
        if rec.get("iter", 0) == 0 or not predicate(rec):
            break
        n += 1
    return n


def stop_reason(*, history: list[dict], direction: str, iterations: int, patience: int,
                max_consecutive_crashes: int, threshold: float | None,
                best_score: float | None) -> str | None:
    """Why the loop must stop now, or None to go on.

    `history` is the finalized records (dicts with `iter`, `decision`, `kept`),
    baseline first. Reasons: baseline_failed, threshold_reached,
    crash_budget_exhausted, patience_exhausted, iterations_exhausted,
    integrity_unrecoverable.
    """
    if not history:
        return None
    last = history[-1]
    if last.get("unrecoverable"):
        return "integrity_unrecoverable"
    if history[0].get("decision") != "baseline":
        return "baseline_failed"
    if threshold is not None and best_score is not None and crossed(direction, best_score, threshold):
        return "threshold_reached"
    if _trailing(history, lambda r: r.get("decision") == "crash") >= max_consecutive_crashes:
        return "crash_budget_exhausted"
    if patience and _trailing(history, lambda r: not r.get("kept")) >= patience:
        return "patience_exhausted"
    if sum(1 for r in history if r.get("iter", 0) > 0) >= iterations:
        return "iterations_exhausted"
    return None
