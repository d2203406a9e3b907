"""The morning report as Markdown, to paste into a pull request body. Pure.

The headline (baseline -> best, the confirmed gain with its interval), the
kept changes with their effects, the iterations by decision, cost when the
records carry telemetry, and any warnings. GitHub-flavoured tables; every
cell is escaped so a description with `|` or a newline cannot break one.
"""

from __future__ import annotations

from views.report import (LABELS, Report, better, constraint_totals, duration, effect_text, num, pct, short,
                          total_text)


def cell(text) -> str:
    """Table-safe text: one line, pipes escaped."""
    s = " ".join(str("" if text is None else text).split())
    return s.replace("\\", "\\\\").replace("|", "\\|")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def headline(r: Report) -> str:
    base, best = r.baseline, r.best
    if not base or base.mean is None:
        return f"ratchet: {r.metric}, no baseline measured"
    line = f"ratchet: {r.metric} {num(base.mean)} → {num(best.mean)}"
    change = r.headline_change
    if change is not None and best.iter:
        line += f" ({pct(change)}, {better(r.direction)})"
    else:
        line += f" (no change kept, {better(r.direction)})"
    return line


def summary(r: Report) -> str:
    """The Markdown summary of a run."""
    out = [f"## {headline(r)}", ""]
    tot = total_text(r.total)
    if tot:
        word = "Confirmed gain" if r.total.get("source") == "confirmation" else "Total gain"
        out += [f"**{word}: {tot}**", ""]
        out += [f"- {cell(line)}" for line in constraint_totals(r.total)]
        out += [""] if constraint_totals(r.total) else []
    elif r.paired and r.kept_changes:
        out += ["Gain not confirmed yet: the confirmation run happens when the run stops.", ""]
    n = len([it for it in r.iterations if it.iter > 0])
    facts = [f"Run `{r.run_id}`"]
    if r.branch:
        facts.append(f"branch `{r.branch}`")
    facts.append(f"{n} iteration{'s' if n != 1 else ''} after the baseline")
    facts.append(f"{r.trials} benchmark runs in {duration(r.wall_seconds)}")
    facts.append(f"stopped: {r.stop.get('reason')}" if r.stop.get("stopped") else "still running")
    line = ", ".join(facts) + "."
    if r.design:
        line += f" Design: {r.design.get('kind')}"
        cal = r.calibration or {}
        if cal.get("relative_spread") is not None and not cal.get("deterministic"):
            line += f" (noise {100 * cal['relative_spread']:.3g}% of the metric"
            line += f", smallest change resolved ~{num(cal.get('mde'))})" if cal.get("mde") is not None else ")"
        line += "."
    out += [line, ""]
    if r.scope:
        out += ["Scope: " + "; ".join(f"`{cell(line)}`" for line in r.scope) + ".", ""]
    kept = r.kept_changes
    out.append("### Kept changes")
    out.append("")
    if kept:
        unit = "effect [95% interval]" if r.paired else "effect (exact)"
        side = ["constraints"] if r.scope else []
        out += _table(["iter", "commit", "change", unit, "runs"] + side,
                      [[str(it.iter), f"`{short(it.sha)}`", cell(it.description), cell(effect_text(it)),
                        str(it.trials)] + ([cell("; ".join(it.constraints))] if side else []) for it in kept])
        out.append("")
        out.append(f"Effects are improvements in {cell(r.metric)} over the best before each change "
                   "(positive = better).")
    else:
        out.append("No change was kept.")
    out.append("")
    out.append("### Iterations by decision")
    out.append("")
    out += _table(["decision", "count"], [[cell(LABELS.get(d, d)), str(c)] for d, c in r.counts.items()])
    out.append("")
    tel = r.telemetry
    if tel:
        out.append("### Cost")
        out.append("")
        rows = [[cell(k), cell(f"{v:.4g}" if isinstance(v, float) else f"{v:,}")] for k, v in tel.items()]
        out += _table(["telemetry", "total"], rows)
        out.append("")
    if r.warnings:
        out.append("### Warnings")
        out.append("")
        out += [f"- {' '.join(str(w).split())}" for w in r.warnings]
        out.append("")
    out.append("_Measured by ratchet: every number above was computed by ratchet.py from the benchmark's own "
               "output._")
    return "\n".join(out) + "\n"
