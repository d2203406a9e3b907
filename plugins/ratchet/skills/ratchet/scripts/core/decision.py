"""The keep/revert rule and the stop conditions. Pure functions over plain data.

Decisions, in the order they are checked:

- `integrity_violation`: a protected file or ratchet's own state changed.
- `crash`: a trial exited non-zero, timed out, or printed no metric.
- `baseline`: iteration 0, measured like every other iteration, always kept.
- `improve` / `regress` / `no_change`: for a deterministic metric, the
  candidate's mean against the best score with the `--min-improvement`
  margin (`judge`, `classify`); for a noisy one, the sequential test on pairs
  of incumbent and candidate measured interleaved (`judge_paired`, which adds
  `inconclusive`: the cap was reached without a clear answer).
- `guard_failed`: an improvement whose guard command did not exit 0.

Only `baseline` and `improve` are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

KEPT = frozenset({"baseline", "improve"})
DECISIONS = ("baseline", "improve", "regress", "no_change", "inconclusive", "crash", "guard_failed",
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
    test: dict | None = None  # the sequential test's numbers (paired designs)


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


def judge_paired(*, test: dict | None, candidate_scores: list[float], candidate_failed: bool,
                 incumbent_crashes: int, max_incumbent_crashes: int,
                 integrity_problems: list[str]) -> Verdict:
    """Decide an iteration measured in interleaved pairs.

    `test` is `stats.Verdict.to_dict()` for the complete pairs (None when no
    pair completed). keep -> improve; discard -> regress when the whole
    interval is below zero, else no_change; the cap without an answer ->
    inconclusive. A failed candidate trial is a crash; so is an incumbent
    that crashed more than `max_incumbent_crashes` times (the benchmark is
    unreliable, not the change).
    """
    if integrity_problems:
        return Verdict("integrity_violation", None, None, "; ".join(integrity_problems))
    if candidate_failed:
        return Verdict("crash", None, None, "a candidate trial crashed")
    if incumbent_crashes > max_incumbent_crashes:
        return Verdict("crash", None, None,
                       f"the incumbent crashed {incumbent_crashes} times: the benchmark itself is unreliable")
    if test is None or test["outcome"] == "continue":
        return Verdict("crash", None, None, "the measurement did not finish")
    avg = fmean(candidate_scores) if candidate_scores else None
    outcome, effect = test["outcome"], test["effect"]
    if outcome == "keep":
        decision = "improve"
    elif outcome == "discard":
        high = test["ci_high"]
        decision = "regress" if high is not None and high < 0 else "no_change"
    else:
        decision = "inconclusive"
    return Verdict(decision, avg, effect, test["reason"], test)


def apply_guard(verdict: Verdict, guard_passed: bool) -> Verdict:
    """An improvement whose guard failed becomes 'guard_failed'."""
    if verdict.decision == "improve" and not guard_passed:
        return Verdict("guard_failed", verdict.avg, verdict.delta, "guard command failed", verdict.test)
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
                best_score: float | None, threshold_confirmed: bool | None = None) -> str | None:
    """Why the loop must stop now, or None to go on.

    `history` is the finalized records (dicts with `iter`, `decision`, `kept`),
    baseline first. For a noisy metric `threshold_confirmed` is the verdict of
    the confirmation run of the current best (None: not measured, or a
    deterministic metric, where `best_score` alone counts). Reasons:
    baseline_failed, threshold_reached, crash_budget_exhausted,
    patience_exhausted, iterations_exhausted, integrity_unrecoverable.
    """
    if not history:
        return None
    last = history[-1]
    if last.get("unrecoverable"):
        return "integrity_unrecoverable"
    if history[0].get("decision") != "baseline":
        return "baseline_failed"
    if threshold is not None and best_score is not None and crossed(direction, best_score, threshold) \
            and threshold_confirmed is not False:
        return "threshold_reached"
    if _trailing(history, lambda r: r.get("decision") == "crash") >= max_consecutive_crashes:
        return "crash_budget_exhausted"
    if patience and _trailing(history, lambda r: not r.get("kept")) >= patience:
        return "patience_exhausted"
    if sum(1 for r in history if r.get("iter", 0) > 0) >= iterations:
        return "iterations_exhausted"
    return None
