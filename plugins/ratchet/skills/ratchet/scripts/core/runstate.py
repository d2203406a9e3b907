"""Where a run stands, derived from plain data. Pure.

Nothing here is stored: the iteration number, the best result, the phase and
the next step are all recomputed from config + history (results.jsonl
records) + current (the iteration in progress), so they can never disagree
with the log.
"""

from __future__ import annotations

from core import decision

CMD = "ratchet.py"


def best_of(history: list[dict]) -> dict | None:
    """{score, sha, iter} of the last kept record (the baseline counts)."""
    for rec in reversed(history):
        if rec.get("kept"):
            return {"score": rec.get("avg"), "sha": rec.get("sha"), "iter": rec.get("iter")}
    return None


def next_iteration(history: list[dict]) -> int:
    return history[-1]["iter"] + 1 if history else 0


def design_of(history: list[dict]) -> dict | None:
    """The measurement design chosen at the baseline (None before it)."""
    return history[0].get("design") if history and history[0].get("decision") == "baseline" else None


def confirmation_of(history: list[dict]) -> dict | None:
    """The latest confirmation run, if it measured the current best."""
    best = best_of(history)
    for rec in reversed(history):
        conf = rec.get("confirmation")
        if conf:
            return conf if best and conf.get("b_sha") == best["sha"] else None
    return None


def stop_of(cfg: dict, history: list[dict], extra: dict | None = None) -> dict:
    """{"stopped": bool, "reason": str|None} from the stop rules in decision.

    `extra` is a record not yet in `history` (decide asks "would this stop?").
    With a noisy metric the threshold only counts once a confirmation run
    of the current best says so."""
    history = history + [extra] if extra else history
    best = best_of(history)
    design = design_of(history)
    confirmed = None
    if design and design["kind"] != "exact":
        conf = confirmation_of(history)
        confirmed = bool(conf and conf.get("threshold_reached"))
    reason = decision.stop_reason(
        history=history, direction=cfg["direction"], iterations=cfg["iterations"],
        patience=cfg["patience"], max_consecutive_crashes=cfg["max_consecutive_crashes"],
        threshold=cfg.get("threshold"), best_score=best["score"] if best else None,
        threshold_confirmed=confirmed)
    return {"stopped": reason is not None, "reason": reason}


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
    if not trials and iteration == 0:
        return "baseline"
    return "measuring" if current else "propose"


def next_step(phase: str, stop: dict, critic: bool = False, runner_up: str | None = None) -> str:
    """One plain instruction for the model."""
    if stop["stopped"]:
        return f"stop: the run is over ({stop['reason']}); show `{CMD} status --format text` to the user"
    return {
        "baseline": f"measure the unchanged code: {CMD} run-trial --all, then {CMD} decide --description baseline",
        "propose": (f"critic mode: get two proposals and a verdict (instructions/critic-mode.md), then "
                    f"{CMD} run-trial --all" if critic else
                    f"make ONE change, then {CMD} run-trial --all --hypothesis TEXT")
                   + (f" (runner-up from last iteration available: {runner_up})" if runner_up else ""),
        "measuring": f"{CMD} run-trial --all",
        "needs_score": (f"the parser found no metric: read the report named in the trial and run "
                        f"{CMD} score --value NUMBER (copied from the report), or {CMD} decide to count it as a crash"),
        "decide": f"{CMD} decide --description TEXT",
    }[phase]


def summarize(rec: dict) -> dict:
    """The few fields of a record the model needs in `recent`."""
    return {k: rec.get(k) for k in ("iter", "decision", "avg", "kept", "description")}
