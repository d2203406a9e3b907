"""Where a run stands, derived from plain data. Pure.

Nothing here is stored: the iteration number, the best result, the phase and
the next step are all recomputed from the config, the log's summary
(`core.history.Summary`) and the iteration in progress (current.json), so
they can never disagree with the log.
"""

from __future__ import annotations

from core import budget, constraints, decision, escalation
from core import design as design_mod
from core import stats
from core.config import Config
from core.design import Design
from core.history import Summary, stamp_seconds

CMD = "ratchet.py"


class RunState:
    """A run as read from `.ratchet/`: `meta` is config.json (run_id,
    start_sha, branch, workdir, protected fingerprints), `summary` the
    verified log, `current` the iteration in progress, `tampered` the
    integrity problems found while loading, `torn` whether the log ended in
    a cut line. `clock`: the time now (epoch seconds, given by the shell);
    `user_stop`: the user's stop request (`ratchet.py stop`), if any."""

    FIELDS = ("meta", "config", "summary", "torn", "current", "tampered", "clock", "user_stop")

    def __init__(self, meta: dict, config: Config, summary: Summary, torn: bool, current: dict | None,
                 tampered: list, clock: float | None = None, user_stop: dict | None = None):
        self.meta, self.config, self.summary, self.torn = meta, config, summary, torn
        self.current, self.tampered, self.clock, self.user_stop = current, tampered, clock, user_stop

    def replace(self, **changes):
        """A new state of the same class with `changes` (what is derived is derived anew)."""
        return type(self)(**{**{name: getattr(self, name) for name in self.FIELDS}, **changes})

    @property
    def key(self) -> str:
        return self.meta["run_id"]

    @property
    def start_sha(self) -> str:
        return self.meta["start_sha"]

    @property
    def best(self) -> dict | None:
        return self.summary.best

    @property
    def expected_head(self) -> str:
        """The commit HEAD must be at between iterations: the best (the start before the baseline)."""
        return self.best["sha"] if self.best else self.start_sha

    @property
    def iteration(self) -> int:
        return self.summary.next_iteration

    @property
    def design(self) -> Design | None:
        """The measurement design chosen at the baseline (None before it)."""
        return Design.from_dict((self.summary.baseline or {}).get("design"))

    @property
    def calibration(self) -> dict | None:
        return self.summary.baseline.get("calibration") if self.design else None

    @property
    def elapsed(self) -> float | None:
        """Seconds since init."""
        try:
            created = stamp_seconds(self.meta["created"])
        except (KeyError, TypeError, ValueError):
            return None
        return None if self.clock is None else self.clock - created

    @property
    def stop(self) -> dict:
        """Why the run is over, if it is. The budget keeps a new iteration
        from starting, but one in progress is always measured and decided."""
        if self.user_stop:
            return {"stopped": True, "reason": self.user_stop.get("reason") or "user_stopped"}
        elapsed = None if self.current else self.elapsed
        return decision.stop_of(self.config, self.summary, elapsed)

    @property
    def escalation(self) -> escalation.Directive:
        """The escalation directive for the next change (`core.escalation`)."""
        return escalation.of_config(self.config, self.summary.trailing_not_kept)

    def directive_text(self) -> str | None:
        """The directive's text for `next`, when it asks for more than a fresh idea."""
        d = self.escalation
        return d.text if d.level not in ("explore", "plateau") else None

    def budget_view(self) -> dict | None:
        """--budget: total, elapsed, left, and the mean cost of an iteration (seconds)."""
        total = self.config.budget_seconds
        if not total:
            return None
        elapsed = self.elapsed
        s = self.summary
        return {"seconds": total, "elapsed_s": elapsed, "left_s": None if elapsed is None else total - elapsed,
                "iteration_mean_s": s.iter_seconds / s.iters_timed if s.iters_timed else None}

    def baseline_needed(self, trials: list[dict]) -> int:
        """Calibration runs, capped by --budget once the first runs' time is known."""
        return budget.calibration_runs(self.config.budget_seconds, self.config.baseline_trials,
                                       [t["duration_s"] for t in trials if t.get("duration_s") is not None])

    def resolution(self) -> dict | None:
        """stats.check_resolution of --min-improvement (in metric units,
        against the current best) for a noisy metric; None otherwise."""
        if not self.design or self.design.is_exact:
            return None
        return stats.check_resolution(self.config.min_improvement.margin(self.best["score"]), self.calibration)

    def margin(self) -> float:
        """--min-improvement in metric units against the current best; for a
        noisy metric raised to what the benchmark can resolve."""
        res = self.resolution()
        if res is not None:
            return res["effective_min_effect"]
        return self.config.min_improvement.margin(self.best["score"]) if self.best else 0.0

    def measurement_done(self, cur: dict | None) -> bool:
        if cur is None:
            return False
        trials = cur.get("trials", [])
        if not (self.config.constraints and cur["iter"] > 0 and self.design and self.design.is_paired):
            return design_mod.measurement_done(cur["iter"], trials, self.design,
                                               baseline_trials=self.baseline_needed(trials),
                                               direction=self.config.direction, min_effect=self.margin())
        # paired, with constraints: the test once, then whether an open constraint needs more pairs
        if design_mod.b_failed(trials) or design_mod.a_crashes(trials) > design_mod.MAX_A_CRASHES:
            return True
        outcome = self.test_of(trials).outcome
        if outcome == "continue":
            return False
        at_cap = len(design_mod.complete_pairs(trials)) >= self.design.max_pairs
        return constraints.settled(outcome, self.constraint_checks(trials), at_cap)

    def constraint_checks(self, trials: list[dict]) -> list:
        """The constraints judged on an iteration's trials so far (`core.constraints`)."""
        if not self.config.constraints or not self.design:
            return []
        return constraints.for_iteration(self.config.constraint_specs, self.summary, self.design, trials)

    def test_of(self, trials: list[dict]) -> stats.Verdict:
        """The sequential test on `trials` with this run's design and margin."""
        return design_mod.test_of(trials, self.design, self.config.direction, self.margin(),
                                  frozen=bool(self.config.constraints))

    def trials_needed(self) -> int:
        """Trials the current iteration needs at most (for status)."""
        if self.iteration == 0 or self.design is None:
            return self.baseline_needed((self.current or {}).get("trials", []))
        return self.design.max_trials()

    def trial_timeout(self) -> float | None:
        """--trial-timeout-seconds; unset, 10x the slowest baseline trial (at
        least 60 s) once the baseline exists, so one hanging change cannot
        stall an overnight run. None during the baseline."""
        if self.config.trial_timeout_seconds is not None:
            return self.config.trial_timeout_seconds
        if not self.design:
            return None
        return max(60.0, 10.0 * (self.summary.first.get("slowest_trial_s") or 0.0))

    def phase(self) -> str:
        """stopped | baseline | propose | measuring | needs_score | decide."""
        if self.stop["stopped"]:
            return "stopped"
        return phase_of(self.current, self.iteration, self.measurement_done(self.current))


def phase_of(current: dict | None, iteration: int, done: bool) -> str:
    """baseline | propose | measuring | needs_score | decide. `done`: the
    measurement of the current iteration is complete (or crashed)."""
    trials = (current or {}).get("trials", [])
    if (current or {}).get("integrity_problems"):
        return "decide"
    if any(t["status"] == "needs_score" for t in trials):
        return "needs_score"
    if done:
        return "decide"
    if not trials and iteration == 0 and not current:
        return "baseline"
    return "measuring" if current else "propose"


RUNNING = {"stopped": False}


def next_step(phase: str, stop: dict = RUNNING, critic: bool = False, runner_up: str | None = None,
              directive: str | None = None) -> str:
    """One plain instruction for the model; `directive` (the escalation's, when it asks for
    more than a fresh idea) is added to the `propose` step."""
    if stop["stopped"]:
        return f"stop: the run is over ({stop['reason']}); show `{CMD} status --format text` to the user"
    return {
        "baseline": f"measure the unchanged code: {CMD} run-trial --all, then {CMD} decide --description baseline",
        "propose": (f"critic mode: get two proposals and a verdict (instructions/critic-mode.md), then "
                    f"{CMD} run-trial --all" if critic else
                    f"make ONE change, then {CMD} run-trial --all --hypothesis TEXT")
                   + (f" (runner-up from last iteration available: {runner_up})" if runner_up else "")
                   + (f". Escalation: {directive}" if directive else ""),
        "measuring": f"{CMD} run-trial --all",
        "needs_score": (f"the parser found no metric: read the report named in the trial and run "
                        f"{CMD} score --value NUMBER (copied from the report), or {CMD} decide to count it as a crash"),
        "decide": f"{CMD} decide --description TEXT",
    }[phase]


def summarize(rec: dict) -> dict:
    """The few fields of a record the model needs in `recent`."""
    return {k: rec.get(k) for k in ("iter", "decision", "avg", "kept", "description")}
