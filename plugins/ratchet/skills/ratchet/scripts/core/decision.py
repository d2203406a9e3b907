"""The keep/revert rule and the stop conditions. Pure functions over plain data.

`decide(facts)` is the whole decision step of an iteration: it takes what
the shell gathered (integrity findings, trials, design, guard outcome,
config, history summary) and returns an `Outcome`: the verdict, the record
to append, whether the guard must run first and whether a confirmation run
is due. The shell then acts on it (commit or revert, log, confirm).

Decisions, in the order they are checked:

- `integrity_violation`: a protected file or ratchet's own state changed.
- `crash`: a trial exited non-zero, timed out, or printed no metric.
- `baseline`: iteration 0, measured like every other iteration, always kept.
- `improve` / `regress` / `no_change`: for a deterministic metric, the
  candidate's mean against the best score with the `--min-improvement`
  margin (`judge`, `classify`); for a noisy one, the sequential test on pairs
  of incumbent and candidate measured interleaved (`judge_paired`, which adds
  `inconclusive`: the cap was reached without a clear answer).
- `constraint_failed`: an improvement that broke a `--constraint` (or was
  not shown to keep it: `core.constraints`); checked before the guard runs.
- `guard_failed`: an improvement whose guard command did not exit 0.
- `agent_no_edit`, `agent_failed`, `agent_used_git` (`ratchet.py loop` only,
  `Facts.agent_outcome`): the agent made no change, failed (exit, timeout,
  malformed answer), or ran git itself; nothing was measured.

Only `baseline` and `improve` are kept.
"""

from statistics import fmean
from typing import NamedTuple

from core import budget, escalation
from core import constraints as constraints_mod
from core import design as design_mod
from core import stats
from core.config import Config
from core.design import Design
from core.direction import crossed, gain
from core.history import STATE_EDITS, Summary, fold

__all__ = ["KEPT", "DECISIONS", "gain", "crossed", "classify", "Verdict", "judge", "judge_paired",
           "apply_guard", "stop_reason", "stop_of", "Facts", "Outcome", "decide", "judge_confirmation",
           "commit_message"]

KEPT = frozenset({"baseline", "improve"})
DECISIONS = ("baseline", "improve", "regress", "no_change", "inconclusive", "crash", "guard_failed",
             "integrity_violation", "constraint_failed", "agent_no_edit", "agent_failed", "agent_used_git")
AGENT_OUTCOMES = ("agent_no_edit", "agent_failed", "agent_used_git")
TRIAL_FIELDS = ("trial", "side", "pair", "status", "score", "score_source", "exit_code", "timed_out",
                "duration_s", "report", "problem", "metrics")


def classify(direction: str, best: float, candidate: float, margin: float) -> str:
    """'improve' when better by more than `margin`; 'regress' when worse at
    all; otherwise 'no_change'. `margin` >= 0, in metric units."""
    g = gain(direction, best, candidate)
    if g > margin:
        return "improve"
    if g < 0:
        return "regress"
    return "no_change"


class Verdict(NamedTuple):
    decision: str
    avg: float | None
    delta: float | None  # gain over the best, positive = better
    reason: str
    test: dict | None = None  # the sequential test's numbers (paired designs)


def judge(*, iteration: int, scores: list[float | None], direction: str,
          best: float | None, margin: float, integrity_problems: list[str]) -> Verdict:
    """Decide an iteration measured without an incumbent (the baseline, or
    a deterministic metric), before the guard runs.

    `scores` holds one entry per trial, None for a crashed trial. `best` is
    None only for the baseline.
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


# -- stop conditions ------------------------------------------------------------

def _stop_reason(s: Summary, *, direction: str, iterations: int, patience: int, max_consecutive_crashes: int,
                 threshold: float | None, best_score: float | None, threshold_confirmed: bool | None) -> str | None:
    if not s.count:
        return None
    if s.last.get("unrecoverable"):
        return "integrity_unrecoverable"
    if s.first.get("decision") != "baseline":
        return "baseline_failed"
    if threshold is not None and best_score is not None and crossed(direction, best_score, threshold) \
            and threshold_confirmed is not False:
        return "threshold_reached"
    if s.trailing_crashes >= max_consecutive_crashes:
        return "crash_budget_exhausted"
    if patience and s.trailing_not_kept >= patience:
        return "patience_exhausted"
    if s.iterations_done >= iterations:
        return "iterations_exhausted"
    return None


def stop_reason(*, history: list[dict], direction: str, iterations: int, patience: int,
                max_consecutive_crashes: int, threshold: float | None,
                best_score: float | None, threshold_confirmed: bool | None = None) -> str | None:
    """Why the loop must stop now, or None to go on.

    `history` is the finalized records (dicts with `iter`, `decision`, `kept`),
    baseline first. For a noisy metric `threshold_confirmed` is the verdict of
    the confirmation run of the current best (None: not measured, or a
    deterministic metric, where `best_score` alone counts). Reasons:
    baseline_failed, threshold_reached, crash_budget_exhausted,
    patience_exhausted, iterations_exhausted, integrity_unrecoverable
    (`stop_of` adds plateau (escalation) and budget_exhausted, the runstate user_stopped).
    """
    return _stop_reason(Summary.of(history), direction=direction, iterations=iterations, patience=patience,
                        max_consecutive_crashes=max_consecutive_crashes, threshold=threshold,
                        best_score=best_score, threshold_confirmed=threshold_confirmed)


def stop_of(cfg: Config, s: Summary, elapsed: float | None = None, *, ahead: bool = False) -> dict:
    """{"stopped", "reason"} for a run whose log folds to `s`, `elapsed`
    seconds after init. With a noisy metric the threshold only counts once
    a confirmation run of the current best says so.

    `budget_exhausted`: decided ahead, when an iteration is decided
    (`ahead=True`): one more iteration at the mean cost so far (model time
    included) and the confirmation run would not fit in --budget; the
    record keeps that verdict. Between iterations only the reserve for the
    confirmation is checked, so a decision that let the run go on is not
    undone by the seconds the model takes before its next change."""
    design = Design.from_dict((s.baseline or {}).get("design"))
    confirmed = None
    if design and design.is_paired:
        conf = s.current_confirmation
        confirmed = bool(conf and conf.get("threshold_reached"))
    reason = _stop_reason(s, direction=cfg.direction, iterations=cfg.iterations, patience=cfg.patience,
                          max_consecutive_crashes=cfg.max_consecutive_crashes, threshold=cfg.threshold,
                          best_score=s.best["score"] if s.best else None, threshold_confirmed=confirmed)
    if reason is None and s.count and cfg.plateau_after_pivots \
            and escalation.of_config(cfg, s.trailing_not_kept).level == "plateau":
        reason = "plateau"
    if reason is None and design:
        cost, reserve = budget_need(cfg, s)
        if (s.last or {}).get("budget_exhausted") or budget.exhausted(
                cfg.budget_seconds, elapsed, cost if ahead else 0.0, reserve):
            reason = "budget_exhausted"
    return {"stopped": reason is not None, "reason": reason}


def budget_need(cfg: Config, s: Summary) -> tuple[float | None, float]:
    """(expected cost of one more iteration, time reserved for the confirmation), in seconds."""
    design = Design.from_dict((s.baseline or {}).get("design"))
    cost = budget.iteration_estimate(s.iter_seconds, s.iters_timed, s.trial_seconds, s.trials_timed,
                                     design.max_trials() if design else None)
    reserve = budget.confirmation_reserve(bool(design and design.is_paired), cfg.confirm_pairs,
                                          s.trial_seconds, s.trials_timed)
    return cost, reserve


# -- the decision step -------------------------------------------------------------

class Facts(NamedTuple):
    """What the shell knows when an iteration is decided.

    `summary`: the log before this iteration. `margin`: --min-improvement in
    metric units against the best, raised to the resolvable margin for a
    noisy metric. `candidate`: the measured snapshot (None when flagged before
    any trial); `final`: the tree at decide time (`final_differs`: its tree
    is not the candidate's). `unrestorable`: protected files a revert cannot
    put back (git-ignored ones); edited state files (`STATE_EDITS`) are
    unrecoverable too. `guard`: the guard's outcome once it ran.
    `extra`: mode-specific record fields (critic mode)."""

    iteration: int
    hypothesis: str
    description: str
    trials: list
    config: Config
    summary: Summary
    margin: float
    integrity_problems: list
    start_sha: str
    candidate: str | None
    final: str
    final_differs: bool = False
    unrestorable: list | tuple = ()
    guard: dict | None = None
    extra: dict = {}  # only read: the empty default is shared
    started: str | None = None
    now: str = ""
    elapsed: float | None = None  # seconds since init (for --budget)
    agent_outcome: tuple | None = None  # (decision in AGENT_OUTCOMES, reason): loop's unmeasured iterations

    @property
    def design(self) -> Design | None:
        return Design.from_dict((self.summary.baseline or {}).get("design"))

    @property
    def best_sha(self) -> str:
        return self.summary.best["sha"] if self.summary.best else self.start_sha


class Outcome(NamedTuple):
    """`needs_guard`: run the guard and decide again with `Facts.guard`
    (no record yet). `confirm_due`: measure baseline against the best after
    this record before acting. For a kept record `record["sha"]` is the
    candidate snapshot until the shell commits it (`commit_message`)."""

    verdict: Verdict
    record: dict | None
    needs_guard: bool = False
    confirm_due: bool = False


def _verdict(f: Facts) -> Verdict:
    design, best = f.design, f.summary.best
    if f.agent_outcome and not f.integrity_problems:
        return Verdict(f.agent_outcome[0], None, None, f.agent_outcome[1])
    if f.iteration == 0 or design is None or design.is_exact:
        scores = [t["score"] if t["status"] == "ok" else None for t in f.trials]
        return judge(iteration=f.iteration, scores=scores, direction=f.config.direction,
                     best=best["score"] if best else None, margin=f.margin,
                     integrity_problems=f.integrity_problems)
    test = None
    if design_mod.complete_pairs(f.trials):
        test = design_mod.test_of(f.trials, design, f.config.direction, f.margin,
                                  frozen=bool(f.config.constraints)).to_dict()
    return judge_paired(
        test=test, candidate_scores=[t["score"] for t in f.trials if t["side"] == "B" and t["status"] == "ok"],
        candidate_failed=design_mod.b_failed(f.trials), incumbent_crashes=design_mod.a_crashes(f.trials),
        max_incumbent_crashes=design_mod.MAX_A_CRASHES, integrity_problems=f.integrity_problems)


def calibration(cfg: Config, trials: list[dict]) -> dict:
    """The baseline record's `calibration` (noise of its runs) and `design`
    (how every later iteration is measured)."""
    values = [t["score"] for t in trials]
    seconds = sum(t["duration_s"] for t in trials) / len(trials)
    if cfg.trials:  # fixed design: the budget is the user's N pairs, one look
        n = max(cfg.trials, 2)
        cal = stats.calibrate(values, n, seconds, min_pairs=n, look_every=1)
    else:
        cal = stats.calibrate(values, cfg.max_pairs, seconds)
    out = {"calibration": cal}
    noisy_side = False
    if cfg.constraints:
        side = constraints_mod.baseline_calibration(cfg.constraint_specs, trials)
        out["constraint_calibration"] = side
        noisy_side = not all(v["deterministic"] for v in side.values())
    out["design"] = design_mod.choose(cal, cfg.trials, cfg.max_pairs, noisy_side).to_dict()
    return out


def constraint_checks(f: Facts, v: Verdict) -> list:
    """The constraints judged on a measured iteration after the baseline
    (none for a crash, an integrity violation, or a run without them)."""
    specs = f.config.constraint_specs
    if not specs or f.iteration == 0 or f.design is None or v.decision in ("crash", "integrity_violation"):
        return []
    return constraints_mod.for_iteration(specs, f.summary, f.design, f.trials)


def _with_constraints(v: Verdict, checks: list) -> Verdict:
    """An improvement that breaks a constraint becomes `constraint_failed`."""
    bad = constraints_mod.failed(checks)
    if v.decision != "improve" or not bad:
        return v
    return Verdict("constraint_failed", v.avg, v.delta, "; ".join(b.line() for b in bad), v.test)


def _record(f: Facts, v: Verdict, checks: list) -> dict:
    trials, best = f.trials, f.summary.best
    kept = v.decision in KEPT
    rec = {
        "iter": f.iteration, "hypothesis": f.hypothesis, "description": f.description.strip(),
        "decision": v.decision, "kept": kept, "reason": v.reason,
        "trial_scores": [t["score"] if t["status"] == "ok" else None for t in trials if t["side"] == "B"],
        "incumbent_scores": [t["score"] for t in trials if t["side"] == "A" and t["status"] == "ok"],
        "avg": v.avg, "delta": v.delta, "test": v.test,
        "best_before": best["score"] if best else None, "margin": f.margin,
        "sha": (f.candidate or f.final) if f.iteration > 0 else f.start_sha,
        "integrity": f.integrity_problems, "guard": f.guard, "n_trials": len(trials),
        "trials": [{k: t.get(k) for k in TRIAL_FIELDS} for t in trials],
        "started": f.started, "timestamp": f.now,
        **f.extra,
    }
    if f.config.constraints and v.decision not in ("crash", "integrity_violation"):
        rec["metrics"] = constraints_mod.means(f.config.constraint_specs, trials)
    if checks:
        rec["constraints"] = [c.to_dict() for c in checks]
    if f.iteration == 0 and v.decision == "baseline":
        rec.update(calibration(f.config, trials))
    if kept and f.iteration > 0:
        rec["candidate"] = f.candidate
    if f.candidate and f.final_differs:
        rec["final_sha"] = f.final  # what the tree held at decide time, kept for audit
    if v.decision == "integrity_violation":
        unrecoverable = list(f.unrestorable) + [p for p in f.integrity_problems if p in STATE_EDITS]
        if unrecoverable:
            rec["unrecoverable"] = unrecoverable
    return rec


def _confirm_due(f: Facts, rec: dict) -> bool:
    """A noisy run about to stop, or a keep crossing --threshold (which
    counts only if the confirmation interval says so), measures the
    original baseline against the best once more."""
    cfg = f.config
    design = Design.from_dict(rec.get("design")) or f.design
    if not design or design.is_exact or cfg.confirm_pairs == 0:
        return False
    new_best = rec["kept"] and f.iteration > 0
    if not new_best and f.best_sha == f.start_sha:
        return False
    crosses = (cfg.threshold is not None and rec["kept"] and rec["avg"] is not None
               and crossed(cfg.direction, rec["avg"], cfg.threshold))
    stop = stop_of(cfg, fold(f.summary, rec), f.elapsed, ahead=True)
    if stop["reason"] in ("baseline_failed", "integrity_unrecoverable"):
        return False
    return crosses or stop["stopped"]


def decide(f: Facts) -> Outcome:
    """The decision step: the rule above applied to `f`."""
    v = _verdict(f)
    checks = constraint_checks(f, v)
    v = _with_constraints(v, checks)
    if v.decision == "improve" and f.config.guard_command and f.guard is None:
        return Outcome(v, None, needs_guard=True)
    if f.guard is not None:
        v = apply_guard(v, f.guard["passed"])
    rec = _record(f, v, checks)
    if f.iteration > 0 and stop_of(f.config, fold(f.summary, rec), f.elapsed, ahead=True)["reason"] \
            == "budget_exhausted":
        rec["budget_exhausted"] = True
    return Outcome(v, rec, confirm_due=_confirm_due(f, rec))


def judge_confirmation(conf: dict, cfg: Config) -> dict:
    """The confirmation run's record; with a --threshold, whether the whole
    interval of the best lies past it (`threshold_reached`)."""
    if "error" not in conf and cfg.threshold is not None:
        return {**conf, "threshold_reached": stats.threshold_reached(conf, cfg.threshold, cfg.direction)}
    return conf


def commit_message(rec: dict, metric_name: str, run_id: str) -> str:
    """The message of a kept change's commit: the description, then the numbers."""
    test = rec.get("test")
    if test:
        how = (f"effect {test['effect']:+.4g} [{test['ci_low']:.4g}, {test['ci_high']:.4g}], "
               f"p={test['p_value']:.2g}, {rec['n_trials']} trials interleaved")
    else:
        how = f"mean of {len(rec['trial_scores'])} trials"
    return (f"{rec['description']}\n\n"
            f"ratchet: iter {rec['iter']}, {metric_name} {rec['best_before']:g} -> "
            f"{rec['avg']:g} ({how})\n"
            f"ratchet-run: {run_id}\n")
