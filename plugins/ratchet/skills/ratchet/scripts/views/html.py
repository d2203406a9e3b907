"""The morning report as one self-contained HTML page. Pure.

`page(report)` returns the whole document: inline CSS and SVG, no script,
no network, nothing to load. It opens from disk in any browser, follows the
reader's light or dark scheme (`prefers-color-scheme`), and stays legible on
a phone (the charts scale by their viewBox, with larger text and fewer tick
labels on a narrow screen; wide tables scroll inside their box). Hovering a
chart point shows its iteration, description, effect and decision (an SVG
`<title>`). Every number drawn is also in a table.
"""

from __future__ import annotations

from html import escape

from views import charts
from views.charts import PALETTE, Effects, Frame, Progress
from views.report import (LABELS, Iteration, Report, better, constraint_totals, duration, effect_text, interval,
                          num, pct, short, signed, total_text, where_saved)

CMD = "ratchet.py"


def esc(x) -> str:
    return escape("" if x is None else str(x), quote=True)


def _f(v: float) -> str:
    """A coordinate, short."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


# -- CSS ---------------------------------------------------------------------------

def _palette_css(dark: bool) -> str:
    return " ".join(f"--c-{d}:{c[1 if dark else 0]};" for d, c in PALETTE.items())


def stylesheet() -> str:
    classes = "\n".join(f".{charts.css_class(d)}{{--c:var(--c-{d})}}" for d in PALETTE)
    return f"""
:root{{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;
--grid:#e6eaef;--best:#1f2328;--good:#007a5a;--warn-bg:#fff8c5;--warn-line:#d4a72c;{_palette_css(False)}}}
@media (prefers-color-scheme:dark){{:root{{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;
--soft:#151b23;--grid:#262c36;--best:#e6edf3;--good:#2ec4a0;--warn-bg:#2e2a1a;--warn-line:#9e7a1f;
{_palette_css(True)}}}}}
{classes}
*{{box-sizing:border-box}}
body{{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}}
main{{max-width:1080px;margin:0 auto;padding:24px 20px 48px}}
h1{{font-size:1.6rem;line-height:1.25;margin:0 0 4px}}
h2{{font-size:1.15rem;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}}
p{{margin:6px 0}}
.sub,.note,figcaption{{color:var(--muted);font-size:.9rem}}
code{{font:.85em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);
padding:1px 4px;border-radius:4px;word-break:break-all}}
.cards{{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px;margin:18px 0}}
.card{{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:var(--soft)}}
.card .k{{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}}
.card .v{{font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}}
.card .s{{color:var(--muted);font-size:.85rem}}
.card.good .v{{color:var(--good)}}
.warn{{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:8px;padding:8px 12px;margin:12px 0}}
.warn ul{{margin:4px 0;padding-left:20px}}
figure{{margin:8px 0;overflow-x:auto}}
svg.chart{{display:block;width:100%;height:auto}}
.chart text{{fill:var(--muted);font-size:13px}}
.chart .axis{{stroke:var(--line);stroke-width:1}}
.chart .grid{{stroke:var(--grid);stroke-width:1}}
.chart .zero{{stroke:var(--muted);stroke-width:1.2}}
.chart .strip{{fill:var(--soft)}}
.chart .best{{fill:none;stroke:var(--best);stroke-width:2.2;stroke-linejoin:round}}
.chart .pt{{fill:var(--c);stroke:var(--c);stroke-width:2}}
.chart .pt.reverted{{fill:var(--bg)}}
.chart .fx{{fill:var(--c);stroke:var(--bg);stroke-width:1}}
.chart .ci{{stroke:var(--c);stroke-width:2.5;stroke-linecap:round}}
.chart .margin{{stroke:var(--fg);stroke-width:1.4;stroke-dasharray:5 4;opacity:.7}}
.chart g.hit:hover .pt,.chart g.hit:hover .fx{{stroke-width:4}}
.legend{{display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:6px 0;list-style:none;font-size:.88rem}}
.legend li{{display:flex;align-items:center;gap:6px}}
.sw{{display:inline-block;width:12px;height:12px;border-radius:50%;background:var(--c);border:2px solid var(--c)}}
.sw.reverted{{background:var(--bg)}}
.sw.line{{width:22px;height:0;border-radius:0;border:0;border-top:2.5px solid var(--best)}}
.sw.dash{{width:22px;height:0;border-radius:0;border:0;border-top:2px dashed var(--fg);opacity:.7}}
.scroll{{overflow-x:auto;margin:8px 0}}
table{{border-collapse:collapse;width:100%;font-size:.85rem}}
th,td{{text-align:left;padding:5px 6px;border-bottom:1px solid var(--line);vertical-align:top}}
th{{color:var(--muted);font-weight:600;vertical-align:bottom}}
td.n{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}
th.n{{text-align:right}}
tr.total td{{font-weight:600}}
code.path{{word-break:normal;white-space:normal}}
.desc{{display:inline-block;min-width:9em}}
.tag{{display:inline-flex;align-items:center;gap:5px;white-space:nowrap}}
.tag::before{{content:"";width:9px;height:9px;border-radius:50%;background:var(--c)}}
.narrow{{display:none}}
@media (max-width:640px){{
main{{padding:16px 12px 32px}}
h1{{font-size:1.3rem}}
.wide{{display:none}}
.narrow{{display:block}}
table.stack thead{{display:none}}
table.stack,table.stack tbody,table.stack tr,table.stack td{{display:block;width:100%}}
table.stack tr{{border:1px solid var(--line);border-radius:8px;margin:0 0 10px;padding:4px 0}}
table.stack td{{display:flex;gap:12px;justify-content:space-between;text-align:right;border:0;padding:3px 10px}}
table.stack td::before{{content:attr(data-label);color:var(--muted);font-weight:600;text-align:left;
white-space:nowrap}}
table.stack td:empty{{display:none}}
.desc{{min-width:0}}
}}
"""


# -- SVG ---------------------------------------------------------------------------

def _axes(frame: Frame, label_y: float) -> list[str]:
    out = []
    for i, t in enumerate(frame.y_ticks):
        odd = " odd" if i % 2 else ""
        out.append(f'<line class="grid" x1="{_f(frame.left)}" x2="{_f(frame.right)}" y1="{_f(t.pos)}" '
                   f'y2="{_f(t.pos)}"/>')
        out.append(f'<text class="ytick{odd}" x="{_f(frame.left - 8)}" y="{_f(t.pos)}" text-anchor="end" '
                   f'dominant-baseline="middle">{esc(t.label)}</text>')
    out.append(f'<line class="axis" x1="{_f(frame.left)}" x2="{_f(frame.left)}" y1="{_f(frame.top)}" '
               f'y2="{_f(frame.bottom)}"/>')
    out.append(f'<line class="axis" x1="{_f(frame.left)}" x2="{_f(frame.right)}" y1="{_f(frame.bottom)}" '
               f'y2="{_f(frame.bottom)}"/>')
    for i, t in enumerate(frame.x_ticks):
        odd = " odd" if i % 2 else ""
        out.append(f'<text class="xtick{odd}" x="{_f(t.pos)}" y="{_f(label_y)}" text-anchor="middle" '
                   f'dominant-baseline="hanging">{esc(t.label)}</text>')
    mid_x = (frame.left + frame.right) / 2
    out.append(f'<text class="xlabel" x="{_f(mid_x)}" y="{_f(frame.height - 6)}" text-anchor="middle">'
               f'{esc(frame.x_label)}</text>')
    mid_y = (frame.top + frame.bottom) / 2
    out.append(f'<text class="ylabel" x="0" y="0" transform="translate(16 {_f(mid_y)}) rotate(-90)" '
               f'text-anchor="middle" dominant-baseline="hanging">{esc(frame.y_label)}</text>')
    return out


def _svg(frame: Frame, ident: str, label: str, body: list[str]) -> str:
    return (f'<svg class="chart" id="{ident}" viewBox="0 0 {frame.width} {frame.height}" role="img" '
            f'aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>")


def _figures(wide: str, narrow: str) -> str:
    """The same chart drawn twice: wide for a desktop, narrow for a phone
    (CSS shows one), so text keeps a legible size on both."""
    return f'<figure class="wide">{wide}</figure><figure class="narrow">{narrow}</figure>'


def progress_svg(chart: Progress, ident: str = "progress") -> str:
    """Chart 1: the running best and one point per iteration."""
    fr = chart.frame
    body = []
    if chart.strip_y is not None:
        top = chart.strip_y - charts.STRIP / 2 + 2
        body.append(f'<rect class="strip" x="{_f(fr.left)}" y="{_f(top)}" width="{_f(fr.right - fr.left)}" '
                    f'height="{_f(charts.STRIP - 4)}" rx="3"/>')
        body.append(f'<text x="{_f(fr.left - 8)}" y="{_f(chart.strip_y)}" text-anchor="end" '
                    f'dominant-baseline="middle">no score</text>')
    label_y = (chart.strip_y + charts.STRIP / 2 if chart.strip_y is not None else fr.bottom) + 8
    body += _axes(fr, label_y)
    if len(chart.best_path) > 1:
        pts = " ".join(f"{_f(x)},{_f(y)}" for x, y in chart.best_path)
        body.append(f'<polyline class="best" points="{pts}"><title>running best</title></polyline>')
    for p in chart.points:
        state = "kept" if p.kept else "reverted"
        body.append(f'<g class="hit"><title>{esc(p.title)}</title><circle class="pt {p.cls} {state}" '
                    f'data-iter="{p.iter}" cx="{_f(p.x)}" cy="{_f(p.y)}" r="6"/></g>')
    return _svg(fr, ident, "running best and every candidate's mean, by iteration", body)


def effects_svg(chart: Effects, ident: str = "effects") -> str:
    """Chart 2: each iteration's effect, its 95% interval, the margin and zero."""
    fr = chart.frame
    body = _axes(fr, fr.bottom + 8)
    body.append(f'<line class="zero" x1="{_f(fr.left)}" x2="{_f(fr.right)}" y1="{_f(chart.zero_y)}" '
                f'y2="{_f(chart.zero_y)}"/>')
    for x0, x1, y in chart.margins:
        body.append(f'<line class="margin" x1="{_f(x0)}" x2="{_f(x1)}" y1="{_f(y)}" y2="{_f(y)}"/>')
    cap = min(chart.half_slot * 0.35, 7)
    for m in chart.marks:
        parts = [f"<title>{esc(m.title)}</title>"]
        if m.y_low is not None:
            parts.append(f'<line class="ci {m.cls}" x1="{_f(m.x)}" x2="{_f(m.x)}" y1="{_f(m.y_low)}" '
                         f'y2="{_f(m.y_high)}"/>')
            for yy in (m.y_low, m.y_high):
                parts.append(f'<line class="ci {m.cls}" x1="{_f(m.x - cap)}" x2="{_f(m.x + cap)}" '
                             f'y1="{_f(yy)}" y2="{_f(yy)}"/>')
        parts.append(f'<circle class="fx {m.cls}" data-iter="{m.iter}" cx="{_f(m.x)}" cy="{_f(m.y)}" r="5"/>')
        body.append('<g class="hit">' + "".join(parts) + "</g>")
    return _svg(fr, ident, "each iteration's effect with its 95% interval against the margin", body)


# -- HTML pieces ------------------------------------------------------------------

def _tag(decision: str) -> str:
    return f'<span class="tag {charts.css_class(decision)}">{esc(LABELS.get(decision, decision))}</span>'


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), foot: list[str] | None = None,
           stack: bool = True) -> str:
    """A table; cells are already HTML. Columns in `numeric` are right-aligned.
    `stack`: on a phone each row becomes a small card of "label value"
    lines (the label comes from the column's head, `data-label`)."""
    def num_cls(i):
        return ' class="n"' if i in numeric else ""

    def td(i, c):
        label = f' data-label="{esc(head[i])}"' if head[i] else ""
        return f"<td{num_cls(i)}{label}><span>{c}</span></td>" if c else f"<td{num_cls(i)}></td>"
    out = ['<div class="scroll"><table class="stack">' if stack else '<div class="scroll"><table>']
    if any(head):
        out += ["<thead><tr>"] + [f"<th{num_cls(i)}>{esc(h)}</th>" for i, h in enumerate(head)] + ["</tr></thead>"]
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(td(i, c) for i, c in enumerate(row)) + "</tr>")
    if foot:
        out.append('<tr class="total">' + "".join(td(i, c) for i, c in enumerate(foot)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _card(key: str, value: str, sub: str = "", good: bool = False) -> str:
    return (f'<div class="card{" good" if good else ""}"><div class="k">{esc(key)}</div>'
            f'<div class="v">{esc(value)}</div>' + (f'<div class="s">{esc(sub)}</div>' if sub else "") + "</div>")


def headline(r: Report) -> str:
    base, best = r.baseline, r.best
    if base and best and base.mean is not None and best.mean is not None:
        change = r.headline_change
        tail = f" ({pct(change)})" if change is not None and best.iter else " (no change kept)"
        return f"{r.metric}: {num(base.mean)} → {num(best.mean)}{tail}"
    return f"{r.metric}: no baseline measured"


def _status_line(r: Report) -> str:
    if r.stop.get("stopped"):
        return f"stopped: {r.stop.get('reason')}"
    if r.in_progress:
        return f"running: iteration {r.in_progress.get('iter')} being measured"
    return "running"


def cards(r: Report) -> str:
    out = ['<section class="cards">']
    base, best = r.baseline, r.best
    out.append(_card("baseline", num(base.mean) if base else "none",
                     f"{base.trials} runs" if base else "the baseline did not finish"))
    if best and base:
        change = r.headline_change
        out.append(_card("best", num(best.mean),
                         f"iteration {best.iter}" + (f", {pct(change)}" if change is not None and best.iter else "")))
    tot = r.total
    if tot and tot.get("source") == "confirmation":
        out.append(_card("confirmed gain (95%)", signed(tot["gain"]),
                         f"{interval(tot.get('gain_low'), tot.get('gain_high'))}, {tot.get('n_pairs')} pairs",
                         good=(tot.get("gain_low") or 0) > 0))
    elif tot:
        rel = tot.get("relative_gain")
        out.append(_card("total gain (exact)", signed(tot["gain"]), pct(rel) if rel is not None else "",
                         good=tot["gain"] > 0))
    elif r.paired and len(r.kept_changes):
        out.append(_card("confirmed gain", "not yet", "confirmed when the run stops"))
    n = len([it for it in r.iterations if it.iter > 0])
    out.append(_card("iterations", str(n), f"{len(r.kept_changes)} kept, {n - len(r.kept_changes)} reverted"))
    out.append(_card("measuring time", duration(r.wall_seconds), f"{r.trials} runs of the benchmark"))
    tel = r.telemetry
    if tel and "cost_usd" in tel:
        out.append(_card("model cost", f"${tel['cost_usd']:.2f}", _tokens(tel)))
    out.append("</section>")
    return "".join(out)


def _tokens(tel: dict) -> str:
    ins, outs = tel.get("input_tokens"), tel.get("output_tokens")
    if ins is None and outs is None:
        return ""
    return f"{int(ins or 0):,} in / {int(outs or 0):,} out tokens"


def legend(r: Report) -> str:
    seen = []
    for it in r.iterations:
        key = ("kept" if it.kept else it.decision)
        if key not in seen:
            seen.append(key)
    items = ['<li><span class="sw line"></span>running best</li>']
    for key in seen:
        if key == "kept":
            items.append(f'<li><span class="sw {charts.css_class("improve")}"></span>kept (filled)</li>')
        else:
            items.append(f'<li><span class="sw reverted {charts.css_class(key)}"></span>'
                         f'{esc(LABELS.get(key, key))}</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def effects_legend(r: Report) -> str:
    decisions = list(dict.fromkeys(it.decision for it in r.iterations if it.iter > 0 and it.effect is not None))
    items = [f'<li><span class="sw {charts.css_class(d)}"></span>{esc(LABELS.get(d, d))}</li>' for d in decisions]
    items.append('<li><span class="sw dash"></span>margin a keep had to beat</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def _path(p: str) -> str:
    """A ref or a path that may break only after a slash."""
    return f'<code class="path">{"/<wbr>".join(esc(part) for part in p.split("/"))}</code>'


def _saved(it: Iteration) -> str:
    return "<br>".join(_path(p) for p in where_saved(it)) or '<span class="note">not saved</span>'


def kept_table(r: Report) -> str:
    rows = []
    for it in r.kept_changes:
        rows.append([str(it.iter), f"<code>{esc(short(it.sha))}</code>", esc(it.description),
                     esc(effect_text(it)), esc(pct(it.relative_effect)), esc(num(it.mean)), str(it.trials)]
                    + (["<br>".join(esc(c) for c in it.constraints)] if r.scope else []))
    if not rows:
        return '<p class="note">No change was kept: the branch is the start commit.</p>'
    return _table(["iter", "commit", "change", "effect [95%]", "relative", "mean", "runs"]
                  + (["constraints"] if r.scope else []), rows, {0, 3, 4, 5, 6})


def reverted_table(r: Report) -> str:
    rows = []
    for it in r.reverted:
        why = it.reason if it.reason else ""
        if it.problems:
            why = "; ".join(dict.fromkeys(it.problems))
        rows.append([str(it.iter), _tag(it.decision), esc(it.description), esc(effect_text(it)),
                     esc(why), _saved(it)])
    if not rows:
        return '<p class="note">Nothing was reverted.</p>'
    return _table(["iter", "decision", "change", "effect [95%]", "why", "saved as"], rows, {0, 3})


def iterations_table(r: Report) -> str:
    rows = []
    for it in r.iterations:
        runs = str(it.trials) + (f" ({it.pairs} pairs)" if it.pairs else "")
        runs += f", {it.failed_trials} failed" if it.failed_trials else ""
        effect = esc(signed(it.effect)) + (f"<br>{esc(interval(it.low, it.high))}" if it.has_interval else "")
        rows.append([str(it.iter), _tag(it.decision), f'<span class="desc">{esc(it.description)}</span>',
                     esc(num(it.mean)), esc(num(it.best)), effect, esc(num(it.margin)),
                     esc(num(it.p_value, 2)), esc(runs), esc(duration(it.trial_seconds)),
                     esc(duration(it.wall_seconds))])
    foot = ["", "total", "", "", "", "", "", "", str(r.trials),
            esc(duration(sum(it.trial_seconds for it in r.iterations))), esc(duration(r.wall_seconds))]
    return _table(["iter", "decision", "change", "mean", "best after", "effect [95%]", "margin", "p", "runs",
                   "benchmark", "wall time"], rows, {0, 3, 4, 5, 6, 7, 8, 9, 10}, foot)


def calibration_table(r: Report) -> str:
    cal, design = r.calibration, r.design
    if not cal or not design:
        return '<p class="note">No calibration: the baseline did not finish.</p>'
    kind = design.get("kind")
    if kind == "exact":
        how = f"exact: every baseline run printed the same value; {design.get('trials')} run per candidate"
    elif kind == "fixed":
        how = f"fixed: {design.get('max_pairs')} interleaved pairs per candidate, one test"
    else:
        how = (f"sequential: {design.get('min_pairs')} to {design.get('max_pairs')} interleaved pairs per "
               "candidate, until the test decides")
    rows = [
        ["design", esc(how)],
        ["baseline runs", esc(cal.get("n"))],
        ["median", esc(num(cal.get("median"), 6))],
        ["noise (robust sd)", esc(num(cal.get("noise_sd")))
         + (f" ({esc(pct(cal.get('relative_spread')).lstrip('+'))} of the metric)"
            if cal.get("relative_spread") is not None else "")],
        ["deterministic", "yes" if cal.get("deterministic") else "no"],
    ]
    if not cal.get("deterministic"):
        rel = cal.get("mde_relative")
        rows.append(["smallest change resolved", esc(num(cal.get("mde")))
                     + (f" ({esc(pct(rel).lstrip('+'))})" if rel is not None else "")])
        if cal.get("seconds_full_budget") is not None:
            rows.append(["time of a full budget", esc(duration(cal["seconds_full_budget"]))])
    return _table(["", ""], rows, stack=False)


def telemetry_table(r: Report) -> str:
    keys = list(r.telemetry or {})
    rows = [[str(it.iter)] + [esc(_tel(it.telemetry.get(k))) for k in keys]
            for it in r.iterations if it.telemetry]
    foot = ["total"] + [esc(_tel(r.telemetry[k])) for k in keys]
    return _table(["iter"] + keys, rows, set(range(len(keys) + 1)), foot)


def _tel(v) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def page(r: Report, markdown_name: str = "report.md") -> str:
    """The whole HTML document."""
    meta = [f"run <code>{esc(r.run_id)}</code>"]
    if r.branch:
        meta.append(f"branch <code>{esc(r.branch)}</code>")
    if r.start_sha:
        meta.append(f"from <code>{esc(short(r.start_sha))}</code>"
                    + (f" on <code>{esc(r.start_branch)}</code>" if r.start_branch else ""))
    meta.append(esc(_status_line(r)))
    if r.generated:
        meta.append(f"generated {esc(r.generated)}")
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta name="color-scheme" content="light dark">',
           f"<title>ratchet report: {esc(r.metric)} ({esc(r.run_id)})</title>",
           f"<style>{stylesheet()}</style></head><body><main>",
           f"<header><h1>{esc(headline(r))}</h1>",
           f'<p class="sub">{esc(better(r.direction))} · ' + " · ".join(meta) + "</p></header>"]
    tot = total_text(r.total)
    if tot:
        out.append(f"<p><strong>{'Confirmed' if r.total.get('source') == 'confirmation' else 'Total'} gain:"
                   f"</strong> {esc(tot)}</p>")
        out += [f'<p class="note">{esc(line)}</p>' for line in constraint_totals(r.total)]
    out.append(cards(r))
    if r.scope:
        out.append('<p class="note">' + " · ".join(f"<code>{esc(line)}</code>" for line in r.scope) + "</p>")
    notes = list(r.warnings)
    if r.in_progress:
        notes.append(f"iteration {r.in_progress.get('iter')} is being measured "
                     f"({r.in_progress.get('trials', 0)} runs so far); this page shows the finished iterations")
    if notes:
        out.append('<div class="warn"><strong>Warnings</strong><ul>'
                   + "".join(f"<li>{esc(w)}</li>" for w in notes) + "</ul></div>")
    if r.iterations:
        out.append("<section><h2>How the best moved</h2>")
        out.append(_figures(progress_svg(charts.progress(r)),
                            progress_svg(charts.progress(r, charts.NARROW), "progress-narrow")))
        out.append(legend(r))
        out.append('<p class="note">Each point is one iteration: the mean of the candidate\'s runs, coloured by '
                   "the decision (filled = kept, hollow = reverted). The line is the running best. Crashes "
                   "and integrity violations have no score and sit on the strip below. Hover a point for "
                   "its description and effect.</p></section>")
        eff = charts.effects(r)
        if eff is not None:
            out.append("<section><h2>Each change's effect, with its 95% interval</h2>")
            out.append(_figures(effects_svg(eff), effects_svg(charts.effects(r, charts.NARROW), "effects-narrow")))
            out.append(effects_legend(r))
            out.append('<p class="note">The effect is the improvement over the best commit, measured in '
                       "interleaved pairs (positive = better). A change is kept only when the test says it is "
                       "significant and larger than the dashed margin; an interval that crosses the margin "
                       "means the benchmark could not tell.</p></section>")
        elif r.design and not r.paired:
            out.append('<p class="note">Deterministic metric: each effect is an exact difference, with no '
                       "interval (see the tables).</p>")
    out.append(f"<section><h2>Kept changes</h2>{kept_table(r)}</section>")
    out.append(f"<section><h2>Reverted attempts</h2>{reverted_table(r)}"
               '<p class="note">Every reverted attempt is saved as a commit under <code>refs/ratchet/</code> '
               "(<code>git show REF</code>) and as a patch (<code>git apply FILE</code>).</p></section>")
    out.append(f"<section><h2>Every iteration</h2>{iterations_table(r)}</section>")
    out.append(f"<section><h2>Calibration</h2>{calibration_table(r)}</section>")
    if r.telemetry:
        out.append(f"<section><h2>Telemetry</h2>{telemetry_table(r)}</section>")
    out.append("<section><h2>Next</h2>"
               f"<p><code>{CMD} finalize</code> makes a branch for review from the start commit, one commit "
               f"per kept change with its numbers in the message (<code>--squash</code>: one commit; "
               f"<code>--split</code>: one branch per group of changes touching separate files). "
               f"<code>{esc(markdown_name)}</code>, next to this page, is the same summary for a pull "
               "request.</p></section>")
    out.append("</main></body></html>\n")
    return "\n".join(out)
