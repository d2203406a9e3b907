"""What a run looks like from outside: the `status` answer for the model,
the table for people, and the small views other answers embed. Reads only.
"""

from __future__ import annotations

from core import decision
from critic import proposals
from core import runstate as state
from shell.context import Run

RECENT = 5


def status_dict(run: Run) -> dict:
    cfg = run.config
    stop = state.stop_of(run.meta["config"], run.history)
    phase = "stopped" if stop["stopped"] else state.phase_of(run.current, run.iteration,
                                                              run.measurement_done(run.current))
    trials = (run.current or {}).get("trials", [])
    baseline = run.history[0] if run.history and run.history[0].get("decision") == "baseline" else None
    out = {
        "run_id": run.key, "branch": run.meta.get("branch"), "iter": run.iteration, "phase": phase,
        "trials": {"done": len(trials), "needed": run.trials_needed(run.current)},
        "baseline": {"score": baseline["avg"], "sha": baseline["sha"]} if baseline else None,
        "best": run.best, "design": (run.design or {}).get("kind"), "trial_timeout_s": run.trial_timeout(),
        "recent": [state.summarize(r) for r in run.history[-RECENT:]],
        "stop": stop, "total": total(run.history, cfg.direction), "instructions": cfg.instructions,
        "warnings": warnings(run),
        "next": state.next_step(phase, stop, cfg.critic,
                                proposals.runner_up_hint(run)),
    }
    if run.current and run.current.get("hypothesis"):
        out["hypothesis"] = run.current["hypothesis"]
    return out


def warnings(run: Run) -> list[str]:
    out = list(run.tampered)
    if run.torn:
        out.append("results.jsonl ended in a torn line (interrupted write); it was ignored")
    res = run.resolution()
    if res and res["message"]:
        out.append(res["message"])
    return out


def total(history: list[dict], direction: str) -> dict | None:
    """Baseline to best: from the confirmation run when there is one (noisy
    metric, with a 95% interval), else the exact difference (deterministic
    metric). None before the baseline or for a noisy run not yet confirmed."""
    best = state.best_of(history)
    design = state.design_of(history)
    if not best or not design:
        return None
    conf = state.confirmation_of(history)
    if conf and "gain" in conf:
        keys = ("gain", "gain_low", "gain_high", "relative_gain", "relative_low", "relative_high", "n_pairs")
        return {"source": "confirmation", **{k: conf.get(k) for k in keys}}
    if design["kind"] == "exact":
        base = history[0]["avg"]
        gain = decision.gain(direction, base, best["score"])
        return {"source": "exact", "gain": gain, "relative_gain": gain / abs(base) if base else None}
    return None


def status_text(run: Run) -> str:
    """A table for people: every iteration, then the run's state."""
    st = status_dict(run)
    rows = [("iter", "decision", "mean", "delta", "kept", "description")]
    for r in run.history:
        delta = r.get("delta")
        rows.append((str(r["iter"]), r["decision"], _fmt(r.get("avg")),
                     "" if delta is None else f"{delta:+.4g}", "yes" if r.get("kept") else "no",
                     (r.get("description") or "")[:60]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"ratchet run {st['run_id']} on branch {st['branch']}  "
             f"({run.config.metric_name}, {run.config.direction})", ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    best, base = st["best"], st["baseline"]
    lines.append("")
    if best and base:
        lines.append(f"baseline {_fmt(base['score'])} -> best {_fmt(best['score'])} "
                     f"(iter {best['iter']}, {str(best['sha'])[:10]})")
    total = st["total"]
    if total and total["source"] == "confirmation":
        rel = total.get("relative_gain")
        pct = "" if rel is None else (f", {100 * rel:+.3g}% [{100 * total['relative_low']:+.3g}%, "
                                      f"{100 * total['relative_high']:+.3g}%]")
        lines.append(f"confirmed gain {total['gain']:+.4g} [{total['gain_low']:+.4g}, {total['gain_high']:+.4g}] "
                     f"(95%, baseline vs best re-measured in {total['n_pairs']} interleaved pairs{pct})")
    if st["design"]:
        lines.append(f"design: {st['design']}")
    stop = st["stop"]
    lines.append(f"stopped: {stop['reason']}" if stop["stopped"] else f"phase: {st['phase']}")
    lines.extend(f"warning: {w}" for w in st["warnings"])
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    return "" if x is None else f"{x:.6g}"


def test_view(test: dict) -> dict:
    return {k: test[k] for k in ("outcome", "effect", "ci_low", "ci_high", "p_value", "n_pairs", "reason")}


def trial_view(t: dict) -> dict:
    view = {k: t[k] for k in ("trial", "status", "score", "exit_code", "duration_s")}
    if t.get("side") == "A":
        view["side"] = "A"
    if t["status"] != "ok":
        view.update(problem=t.get("problem", ""), report=t["report"], log=t.get("log"))
    return view
