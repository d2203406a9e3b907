"""The morning report's data: a small model of a run built from its records.
Pure.

`build(records, ...)` turns the results log (every record, baseline first)
into a `Report`: one `Iteration` per record, with the running best, the
paired effect and its 95% interval (noisy designs), the margin that counted,
trials and time spent, where a reverted attempt is saved, and telemetry when
a record carries it. The page (`views.html`), its charts (`views.charts`)
and the Markdown summary (`views.markdown`) read only this model, so what
they show is decided here once.

Effects are gains: positive = better, whatever the direction (for `min` the
metric went down).
"""

import datetime as _dt
from typing import NamedTuple

from core.decision import DECISIONS, KEPT

REVERTED = tuple(d for d in DECISIONS if d not in KEPT)
LABELS = {
    "baseline": "baseline", "improve": "kept", "regress": "regress", "no_change": "no change",
    "inconclusive": "inconclusive", "crash": "crash", "guard_failed": "guard failed",
    "integrity_violation": "integrity violation", "constraint_failed": "constraint failed",
    "agent_no_edit": "agent made no change", "agent_failed": "agent failed", "agent_used_git": "agent ran git",
}


class Iteration(NamedTuple):
    """One record of the log, as the report shows it. `best`: the running
    best after this iteration; `effect`/`low`/`high`: the gain over the best
    before it and its 95% interval (None when not measured); `sha`: the
    commit on the run branch (kept) or the saved attempt (reverted)."""

    iter: int
    decision: str
    kept: bool
    mean: float | None
    best: float | None
    best_before: float | None
    effect: float | None
    low: float | None
    high: float | None
    margin: float | None
    p_value: float | None
    pairs: int | None
    trials: int
    failed_trials: int
    trial_seconds: float
    wall_seconds: float | None
    description: str
    hypothesis: str
    reason: str
    sha: str | None
    saved_ref: str | None = None
    patch: str | None = None
    problems: tuple = ()
    telemetry: dict | None = None
    constraints: tuple = ()  # one line per judged --constraint (`core.constraints.Check.line`)

    @property
    def label(self) -> str:
        return LABELS.get(self.decision, self.decision)

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def relative_effect(self) -> float | None:
        """The effect as a fraction of the best before it."""
        if self.effect is None or not self.best_before:
            return None
        return self.effect / abs(self.best_before)


class Report(NamedTuple):
    run_id: str
    metric: str
    direction: str
    branch: str | None
    start_sha: str | None
    start_branch: str | None
    iterations: tuple
    design: dict | None = None
    calibration: dict | None = None
    total: dict | None = None
    stop: dict = {"stopped": False, "reason": None}  # only read: the default is shared
    warnings: tuple = ()
    in_progress: dict | None = None
    generated: str = ""
    scope: tuple = ()  # "editable: src/" and each "constraint: peak_mb<=+2%" of the run

    @property
    def baseline(self) -> Iteration | None:
        first = self.iterations[0] if self.iterations else None
        return first if first and first.decision == "baseline" else None

    @property
    def best(self) -> Iteration | None:
        """The last kept iteration (the baseline when nothing else was kept)."""
        kept = [it for it in self.iterations if it.kept]
        return kept[-1] if kept else None

    @property
    def kept_changes(self) -> list[Iteration]:
        return [it for it in self.iterations if it.kept and it.iter > 0]

    @property
    def reverted(self) -> list[Iteration]:
        return [it for it in self.iterations if not it.kept]

    @property
    def paired(self) -> bool:
        return bool(self.design) and self.design.get("kind") != "exact"

    @property
    def counts(self) -> dict[str, int]:
        """Iterations by decision, in the order of core.decision.DECISIONS
        (decisions that never happened left out)."""
        out = {d: 0 for d in DECISIONS}
        for it in self.iterations:
            out[it.decision] = out.get(it.decision, 0) + 1
        return {d: n for d, n in out.items() if n}

    @property
    def trials(self) -> int:
        return sum(it.trials for it in self.iterations)

    @property
    def wall_seconds(self) -> float:
        return sum(it.wall_seconds if it.wall_seconds is not None else it.trial_seconds for it in self.iterations)

    @property
    def headline_change(self) -> float | None:
        """best / baseline - 1 (signed: the metric's own change)."""
        base, best = self.baseline, self.best
        if not base or not best or base.mean is None or best.mean is None or not base.mean:
            return None
        return best.mean / base.mean - 1.0

    @property
    def telemetry(self) -> dict | None:
        """Telemetry summed over the iterations that have it; None when none has."""
        rows = [it.telemetry for it in self.iterations if it.telemetry]
        if not rows:
            return None
        out: dict = {}
        for row in rows:
            for key, value in row.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[key] = out.get(key, 0) + value
        return out


def _seconds(start: str | None, end: str | None) -> float | None:
    """Seconds between two ISO timestamps (`2026-01-01T00:00:00Z`); None when either is missing."""
    if not start or not end:
        return None
    try:
        a = _dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = _dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max((b - a).total_seconds(), 0.0)


def _number(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x == x else None


def iteration_of(rec: dict, best: float | None) -> Iteration:
    """`rec` as the report shows it; `best`: the running best after it."""
    test = rec.get("test") or {}
    trials = rec.get("trials") or []
    it = rec.get("iter", 0)
    effect = _number(test.get("effect")) if test else None
    if effect is None and it > 0:
        effect = _number(rec.get("delta"))
    tel = rec.get("telemetry")
    return Iteration(
        iter=it, decision=rec.get("decision", "?"), kept=bool(rec.get("kept")), mean=_number(rec.get("avg")),
        best=best, best_before=_number(rec.get("best_before")), effect=effect,
        low=_number(test.get("ci_low")), high=_number(test.get("ci_high")),
        margin=_number(rec.get("margin")) if it > 0 else None, p_value=_number(test.get("p_value")),
        pairs=test.get("n_pairs") if test else None,
        trials=rec.get("n_trials", len(trials)) or 0,
        failed_trials=sum(1 for t in trials if t.get("status") != "ok"),
        trial_seconds=sum(_number(t.get("duration_s")) or 0.0 for t in trials),
        wall_seconds=_seconds(rec.get("started"), rec.get("timestamp")),
        description=(rec.get("description") or "").strip(), hypothesis=(rec.get("hypothesis") or "").strip(),
        reason=rec.get("reason") or "", sha=rec.get("sha"),
        saved_ref=rec.get("attempt_ref"), patch=rec.get("patch"),
        problems=tuple(rec.get("integrity") or ()) + tuple(rec.get("unrecoverable") or ()),
        telemetry=dict(tel) if isinstance(tel, dict) and tel else None,
        constraints=tuple(constraint_lines(rec)),
    )


def constraint_lines(rec: dict) -> list[str]:
    """A record's constraint checks, one line each (none when it has none or
    they cannot be read: the report still shows the rest)."""
    from views.answer import constraint_lines as lines
    try:
        return lines(rec.get("constraints") or [])
    except (TypeError, KeyError, ValueError):
        return []


def iterations_of(records: list[dict]) -> tuple[Iteration, ...]:
    """Every record as an `Iteration`, with the running best carried along."""
    out, best = [], None
    for rec in records:
        if rec.get("kept") and _number(rec.get("avg")) is not None:
            best = _number(rec.get("avg"))
        out.append(iteration_of(rec, best))
    return tuple(out)


def build(records: list[dict], *, meta: dict, metric: str, direction: str, total: dict | None = None,
          stop: dict | None = None, warnings=(), in_progress: dict | None = None, generated: str = "",
          scope=()) -> Report:
    """The report of a run. `records`: the results log in order; `meta`:
    config.json (run_id, branch, start_sha, start_branch); `total`:
    `views.status.total`; `in_progress`: {iter, trials} of an iteration
    being measured, if any."""
    first = records[0] if records else {}
    return Report(
        run_id=str(meta.get("run_id", "")), metric=metric, direction=direction, branch=meta.get("branch"),
        start_sha=meta.get("start_sha"), start_branch=meta.get("start_branch"),
        iterations=iterations_of(records),
        design=first.get("design"), calibration=first.get("calibration"), total=total,
        stop=stop or {"stopped": False, "reason": None}, warnings=tuple(warnings),
        in_progress=in_progress, generated=generated, scope=tuple(scope),
    )


# -- formatting shared by the page and the Markdown ------------------------------

def num(x, digits: int = 4) -> str:
    return "" if x is None else f"{x:.{digits}g}"


def signed(x, digits: int = 4) -> str:
    return "" if x is None else f"{x:+.{digits}g}"


def pct(x, digits: int = 3) -> str:
    return "" if x is None else f"{100 * x:+.{digits}g}%"


def interval(low, high, digits: int = 4) -> str:
    if low is None or high is None:
        return ""
    return f"[{signed(low, digits)}, {signed(high, digits)}]"


def duration(seconds) -> str:
    """12.3 s, 4 min 05 s, 2 h 03 min."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def short(sha: str | None) -> str:
    return (sha or "")[:7]


def better(direction: str) -> str:
    return "lower is better" if direction == "min" else "higher is better"


def effect_text(it: Iteration) -> str:
    """+0.0827 [+0.0729, +0.0925], or the exact difference, or ''."""
    if it.effect is None:
        return ""
    if it.has_interval:
        return f"{signed(it.effect)} {interval(it.low, it.high)}"
    return signed(it.effect)


def total_text(total: dict | None) -> str:
    """The confirmed total in one line ('' when there is none)."""
    if not total:
        return ""
    rel = total.get("relative_gain")
    if total.get("source") == "confirmation":
        out = f"{signed(total['gain'])} {interval(total.get('gain_low'), total.get('gain_high'))} (95%"
        if rel is not None and total.get("relative_low") is not None:
            out += f"; {pct(rel)} [{pct(total['relative_low'])}, {pct(total['relative_high'])}]"
        return out + f"; baseline vs best re-measured in {total.get('n_pairs')} interleaved pairs)"
    return f"{signed(total['gain'])}" + (f" ({pct(rel)})" if rel is not None else "") + " (exact: deterministic metric)"


def constraint_totals(total: dict | None) -> list[str]:
    """The confirmation run's whole-run change of each constraint metric, one line each."""
    return [f"{c['metric']}: {num(c['baseline'])} → {num(c['best'])}, change {signed(c['change'])} "
            f"{interval(c['low'], c['high'])} (95%, baseline vs best)"
            for c in (total or {}).get("constraints", [])]


def where_saved(it: Iteration) -> list[str]:
    """Where a reverted attempt can be found again."""
    return [p for p in (it.saved_ref, it.patch) if p]
