"""The commit messages of `finalize`'s review branches. Pure.

A kept change's message is its description (the subject), the hypothesis,
one sentence with the measurement, then git trailers (parsed by
`git interpret-trailers`, shown by `git log --format=%(trailers)`):

    Ratchet-Run: 20260101-010203-abcd
    Ratchet-Iteration: 3
    Ratchet-Metric: wall_time (min)
    Ratchet-Effect: +0.0827
    Ratchet-Interval: [+0.07294, +0.09246] (95%)
    Ratchet-P-Value: 5.6e-05
    Ratchet-Trials: 8 (4 interleaved pairs, sequential)

A squashed commit carries the confirmed total (or the exact total of a
deterministic metric) and the list of changes. Effects are gains: positive
= better, whatever the direction.
"""

from statistics import fmean
from typing import NamedTuple

from views.report import constraint_lines, interval, num, pct, signed


class Context(NamedTuple):
    run_id: str
    metric: str
    direction: str
    design: str | None  # exact | fixed | sequential


def _one_line(text: str) -> str:
    return " ".join(str(text or "").split())


def subject_and_body(description: str, fallback: str) -> tuple[str, str]:
    """The first line of `description` as the subject, the rest as body."""
    lines = [ln.rstrip() for ln in (description or "").strip().splitlines()]
    subject = _one_line(lines[0]) if lines else ""
    return subject or fallback, "\n".join(lines[1:]).strip()


def _incumbent(rec: dict) -> float | None:
    scores = [s for s in rec.get("incumbent_scores") or [] if isinstance(s, (int, float))]
    return fmean(scores) if scores else rec.get("best_before")


def measurement(rec: dict, ctx: Context) -> str:
    """One sentence: what was measured and how sure it is."""
    test, it = rec.get("test") or {}, rec.get("iter")
    before, after = _incumbent(rec), rec.get("avg")
    head = f"Measured by ratchet in iteration {it} of run {ctx.run_id}"
    if before is not None and after is not None:
        head += f": {ctx.metric} {num(before, 6)} -> {num(after, 6)} ({'lower' if ctx.direction == 'min' else 'higher'} is better)"
    if test.get("ci_low") is not None:
        return (f"{head}, effect {signed(test.get('effect'))}, 95% interval "
                f"{interval(test.get('ci_low'), test.get('ci_high'))}, p = {num(test.get('p_value'), 2)}, "
                f"{test.get('n_pairs')} interleaved pairs ({rec.get('n_trials')} runs).")
    return f"{head}, effect {signed(rec.get('delta'))} (exact: deterministic metric), {rec.get('n_trials')} run(s)."


def change_trailers(rec: dict, ctx: Context) -> list[str]:
    test = rec.get("test") or {}
    out = [f"Ratchet-Run: {ctx.run_id}", f"Ratchet-Iteration: {rec.get('iter')}",
           f"Ratchet-Metric: {_one_line(ctx.metric)} ({ctx.direction})"]
    if test.get("ci_low") is not None:
        out += [f"Ratchet-Effect: {signed(test.get('effect'))}",
                f"Ratchet-Interval: {interval(test.get('ci_low'), test.get('ci_high'))} (95%)",
                f"Ratchet-P-Value: {num(test.get('p_value'), 2)}",
                f"Ratchet-Trials: {rec.get('n_trials')} ({test.get('n_pairs')} interleaved pairs, {ctx.design})"]
    else:
        out += [f"Ratchet-Effect: {signed(rec.get('delta'))}", "Ratchet-Interval: exact (deterministic metric)",
                f"Ratchet-Trials: {rec.get('n_trials')} ({ctx.design or 'exact'})"]
    return out + [f"Ratchet-Constraint: {line}" for line in constraint_lines(rec)]


def change_message(rec: dict, ctx: Context) -> str:
    """The message of one kept change's commit."""
    subject, rest = subject_and_body(rec.get("description", ""), f"ratchet iteration {rec.get('iter')}")
    parts = [subject]
    if rest:
        parts.append(rest)
    if _one_line(rec.get("hypothesis")):
        parts.append(f"Hypothesis: {_one_line(rec['hypothesis'])}")
    parts.append(measurement(rec, ctx))
    parts.append("\n".join(change_trailers(rec, ctx)))
    return "\n\n".join(parts) + "\n"


def change_line(rec: dict) -> str:
    """- description (iteration N): effect +x [lo, hi], K runs"""
    test = rec.get("test") or {}
    subject, _ = subject_and_body(rec.get("description", ""), f"iteration {rec.get('iter')}")
    if test.get("ci_low") is not None:
        eff = f"{signed(test.get('effect'))} {interval(test.get('ci_low'), test.get('ci_high'))}"
    else:
        eff = f"{signed(rec.get('delta'))} (exact)"
    return f"- {subject} (iteration {rec.get('iter')}): effect {eff}, {rec.get('n_trials')} runs"


def headline(ctx: Context, baseline: float | None, best: float | None, n: int) -> str:
    line = f"ratchet: {_one_line(ctx.metric)}"
    if baseline is not None and best is not None:
        line += f" {num(baseline)} -> {num(best)}"
        if baseline:
            line += f" ({pct(best / baseline - 1.0)})"
    return line + f", {n} change{'s' if n != 1 else ''}"


def total_trailers(total: dict | None, records: list[dict]) -> list[str]:
    if total and total.get("source") == "confirmation":
        return [f"Ratchet-Effect: {signed(total.get('gain'))} (confirmed total)",
                f"Ratchet-Interval: {interval(total.get('gain_low'), total.get('gain_high'))} (95%)",
                f"Ratchet-Trials: {2 * int(total.get('n_pairs') or 0)} ({total.get('n_pairs')} confirmation pairs)"]
    trials = sum(int(r.get("n_trials") or 0) for r in records)
    if total:
        return [f"Ratchet-Effect: {signed(total.get('gain'))} (exact total)",
                "Ratchet-Interval: exact (deterministic metric)", f"Ratchet-Trials: {trials}"]
    return ["Ratchet-Effect: not confirmed yet (the run has not stopped)", f"Ratchet-Trials: {trials}"]


def total_sentence(total: dict | None) -> str:
    if total and total.get("source") == "confirmation":
        rel = ""
        if total.get("relative_gain") is not None and total.get("relative_low") is not None:
            rel = f" ({pct(total['relative_gain'])} [{pct(total['relative_low'])}, {pct(total['relative_high'])}])"
        return (f"Confirmed gain {signed(total.get('gain'))}, 95% interval "
                f"{interval(total.get('gain_low'), total.get('gain_high'))}{rel}: the baseline and the best "
                f"commit re-measured in {total.get('n_pairs')} interleaved pairs.")
    if total:
        rel = f" ({pct(total['relative_gain'])})" if total.get("relative_gain") is not None else ""
        return f"Total gain {signed(total.get('gain'))}{rel}, exact (deterministic metric)."
    return ("The total is not confirmed yet: ratchet re-measures the baseline against the best when the "
            "run stops. Each change's own effect is listed below.")


def squash_message(records: list[dict], ctx: Context, *, total: dict | None, baseline: float | None,
                   best: float | None) -> str:
    """One commit for every kept change: the confirmed total and the list."""
    parts = [headline(ctx, baseline, best, len(records)), total_sentence(total),
             "Changes, in the order they were kept:\n" + "\n".join(change_line(r) for r in records)]
    trailers = [f"Ratchet-Run: {ctx.run_id}", f"Ratchet-Metric: {_one_line(ctx.metric)} ({ctx.direction})",
                "Ratchet-Iterations: " + ", ".join(str(r.get("iter")) for r in records)]
    parts.append("\n".join(trailers + total_trailers(total, records)))
    return "\n\n".join(parts) + "\n"


def group_subject(records: list[dict], ctx: Context, k: int, n: int) -> str:
    """A group's one-line title: its change's subject, or a count."""
    if len(records) == 1:
        return subject_and_body(records[0].get("description", ""), f"ratchet iteration {records[0].get('iter')}")[0]
    return f"ratchet: {len(records)} changes to {_one_line(ctx.metric)} (group {k} of {n})"


def group_message(records: list[dict], ctx: Context, files: list[str], k: int, n: int) -> str:
    """One commit for a `--split --squash` group: its changes and the files
    they touch (the confirmed total is the whole run's, so it is not claimed
    here)."""
    subject = group_subject(records, ctx, k, n)
    shown = ", ".join(files[:8]) + (f" and {len(files) - 8} more" if len(files) > 8 else "")
    parts = [subject, f"Group {k} of {n} of run {ctx.run_id}: the kept changes touching {shown}. "
             "Built from the start commit on its own; the groups were measured together, not apart.",
             "Changes, in the order they were kept:\n" + "\n".join(change_line(r) for r in records)]
    trials = sum(int(r.get("n_trials") or 0) for r in records)
    parts.append("\n".join([f"Ratchet-Run: {ctx.run_id}", f"Ratchet-Metric: {_one_line(ctx.metric)} ({ctx.direction})",
                            "Ratchet-Iterations: " + ", ".join(str(r.get("iter")) for r in records),
                            f"Ratchet-Trials: {trials}"]))
    return "\n\n".join(parts) + "\n"
