"""What a run looks like from outside: the `status` answer for the model and
the table for people. Pure over a `core.runstate.RunState` (and, for the
table, the full history the caller read).
"""

from __future__ import annotations

from core import budget
from core.design import Design
from core.direction import gain
from core.history import Summary
from core.runstate import RunState, next_step, summarize

RECENT = 5


def status_dict(run: RunState, runner_up: str | None = None, measuring: dict | None = None) -> dict:
    """The `status` answer. `runner_up`: critic mode's hint for `next`;
    `measuring`: the worker's progress while one runs (job, trials, elapsed, eta)."""
    cfg = run.config
    stop = run.stop
    phase = run.phase()
    trials = (run.current or {}).get("trials", [])
    baseline = run.summary.baseline
    design = run.design
    out = {
        "run_id": run.key, "branch": run.meta.get("branch"), "iter": run.iteration, "phase": phase,
        "trials": {"done": len(trials), "needed": run.trials_needed()},
        "baseline": {"score": baseline["avg"], "sha": baseline["sha"]} if baseline else None,
        "best": run.best, "design": design.kind if design else None, "trial_timeout_s": run.trial_timeout(),
        "recent": [summarize(r) for r in run.summary.tail[-RECENT:]],
        "stop": stop, "total": total(run.summary, cfg.direction), "instructions": cfg.instructions,
        "warnings": warnings(run),
        "next": next_step(phase, stop, cfg.critic, runner_up, run.directive_text()),
    }
    if cfg.editable:
        out["editable"] = list(cfg.editable)
    if cfg.constraints:
        out["constraints"] = constraints_view(run)
    if run.current and run.current.get("hypothesis"):
        out["hypothesis"] = run.current["hypothesis"]
    budget_view = run.budget_view()
    if budget_view:
        out["budget"] = budget_view
    if measuring:
        out["measuring"] = measuring
    out["escalation"] = run.escalation.to_dict()
    if run.summary.agent:
        out["agent"] = agent_totals(run.summary.agent)
    return out


def constraints_view(run: RunState) -> list[dict]:
    """Each constraint with its baseline and best values (the best's as
    measured when it was kept) and, for a relative one, the tolerance of
    each change in metric units (`core.constraints`)."""
    cal = (run.summary.baseline or {}).get("constraint_calibration") or {}
    best = (run.best or {}).get("metrics") or {}
    out = []
    for c in run.config.constraint_specs:
        level = (cal.get(c.name) or {}).get("level")
        row = {"constraint": c.text, "baseline": level, "best": best.get(c.name)}
        if c.relative and level is not None:
            row["tolerance"] = c.tolerance(level)
        out.append(row)
    return out


def agent_totals(t: dict) -> dict:
    """The agent runs' telemetry totals (`ratchet.py loop`), rounded for reading."""
    return {"runs": t.get("runs", 0), "runs_unmetered": t.get("runs_unmetered", 0),
            "cost_usd": round(t.get("cost_usd", 0.0), 4), "seconds": round(t.get("seconds", 0.0), 1),
            **{k: t.get(k, 0) for k in ("input_tokens", "output_tokens", "cache_read_tokens",
                                        "cache_creation_tokens", "turns", "tool_errors", "permission_denials")}}


def warnings(run: RunState) -> list[str]:
    out = list(run.tampered)
    for row, c in zip(constraints_view(run) if run.config.constraints else [], run.config.constraint_specs):
        if not c.relative and row["baseline"] is not None and gain(c.direction, c.value, row["baseline"]) < 0:
            out.append(f"the baseline itself breaks {c.text} (value {row['baseline']:.6g}): "
                       "no change is kept until one meets it")
    if run.torn:
        out.append("results.jsonl ended in a torn line (interrupted write); it was ignored")
    res = run.resolution()
    if res and res["message"]:
        out.append(res["message"])
    return out


def total(summary: Summary, direction: str) -> dict | None:
    """Baseline to best: from the confirmation run when there is one (noisy
    metric, with a 95% interval), else the exact difference (deterministic
    metric). None before the baseline or for a noisy run not yet confirmed."""
    best, base = summary.best, summary.baseline
    design = Design.from_dict((base or {}).get("design"))
    if not best or not design:
        return None
    conf = summary.current_confirmation
    if conf and "gain" in conf:
        keys = ("gain", "gain_low", "gain_high", "relative_gain", "relative_low", "relative_high", "n_pairs")
        out = {"source": "confirmation", **{k: conf.get(k) for k in keys}}
        if conf.get("constraints"):
            out["constraints"] = conf["constraints"]
        return out
    if design.is_exact:
        g = gain(direction, base["avg"], best["score"])
        return {"source": "exact", "gain": g, "relative_gain": g / abs(base["avg"]) if base["avg"] else None}
    return None


def status_text(run: RunState, history: list[dict], measuring: dict | None = None) -> str:
    """A table for people: every iteration of `history`, then the run's state."""
    st = status_dict(run, measuring=measuring)
    side = list(dict.fromkeys(c.name for c in run.config.constraint_specs))
    rows = [("iter", "decision", "mean", "delta", *side, "kept", "description")]
    for r in history:
        delta = r.get("delta")
        rows.append((str(r["iter"]), r["decision"], _fmt(r.get("avg")),
                     "" if delta is None else f"{delta:+.4g}",
                     *(_fmt((r.get("metrics") or {}).get(n)) for n in side), "yes" if r.get("kept") else "no",
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
    tot = st["total"]
    if tot and tot["source"] == "confirmation":
        rel = tot.get("relative_gain")
        pct = "" if rel is None else (f", {100 * rel:+.3g}% [{100 * tot['relative_low']:+.3g}%, "
                                      f"{100 * tot['relative_high']:+.3g}%]")
        lines.append(f"confirmed gain {tot['gain']:+.4g} [{tot['gain_low']:+.4g}, {tot['gain_high']:+.4g}] "
                     f"(95%, baseline vs best re-measured in {tot['n_pairs']} interleaved pairs{pct})")
        for c in tot.get("constraints", []):
            lines.append(f"confirmed {c['metric']}: {_fmt(c['baseline'])} -> {_fmt(c['best'])}, "
                         f"change {c['change']:+.4g} [{c['low']:+.4g}, {c['high']:+.4g}] (95%, the whole run)")
    if st["design"]:
        lines.append(f"design: {st['design']}")
    if "editable" in st:
        lines.append(f"editable: {', '.join(st['editable'])}")
    for row in st.get("constraints", []):
        tol = row.get("tolerance")
        lines.append(f"constraint {row['constraint']}: baseline {_fmt(row['baseline'])} -> best {_fmt(row['best'])}"
                     + ("" if tol is None else f" (each change may worsen it by {tol:.4g})"))
    b = st.get("budget")
    if b:
        lines.append(f"budget: {budget.text(b['elapsed_s'])} of {budget.text(b['seconds'])} used, "
                     f"{budget.text(b['left_s'])} left; an iteration takes {budget.text(b['iteration_mean_s'])} "
                     "on average")
    m = st.get("measuring")
    if m:
        lines.append(f"measuring: {m['running']}, {m['trials_done']} of at most {m['trials_needed']} trials, "
                     f"{budget.text(m['elapsed_s'])} so far, at most {budget.text(m['eta_s'])} left")
    a = st.get("agent")
    if a and a["runs"] == a["runs_unmetered"]:
        lines.append(f"agent: {a['runs']} runs, {budget.text(a['seconds'])} (no telemetry: the agent command "
                     "printed no stream-json result)")
    elif a:
        lines.append(f"agent: {a['runs']} runs, ${a['cost_usd']:.4f}, {budget.text(a['seconds'])}, "
                     f"{a['turns']} turns, tokens in {a['input_tokens']} / out {a['output_tokens']} / cache read "
                     f"{a['cache_read_tokens']} / cache write {a['cache_creation_tokens']}, "
                     f"{a['tool_errors']} tool errors, {a['permission_denials']} permission denials"
                     + (f" ({a['runs_unmetered']} runs without telemetry)" if a["runs_unmetered"] else ""))
    esc = st["escalation"]
    stop = st["stop"]
    if esc["level"] != "explore" and not stop["stopped"]:
        lines.append(f"escalation: {esc['level']}: {esc['text']}")
    lines.append(f"stopped: {stop['reason']}" if stop["stopped"] else f"phase: {st['phase']}")
    lines.extend(f"warning: {w}" for w in st["warnings"])
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    return "" if x is None else f"{x:.6g}"
