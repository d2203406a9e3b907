"""The prompt of one agent run in `ratchet.py loop`. Pure.

`build(PromptInput)` says: the goal (metric, direction), the run's instructions and the
integrity rules, the best so far, the last iterations (hypothesis, description, decision,
effect with its interval), the escalation directive, the ideas backlog (open ones, and
tried ones with their outcome), what the previous agent could not do (permission
denials, tool errors), and the fixed answer shape (`core.agentanswer`).

Bounded: at most `RECENT` iterations, `IDEAS` ideas of each kind and `NOTES` notes are
shown, every free text is clipped, so the prompt's size does not grow with the history
(`MAX_CHARS` is the bound a test holds it to, at 10 and 1000 iterations).
"""

from typing import NamedTuple

from core import agentanswer
from core.config import Config
from core.escalation import Directive

RECENT = 6
IDEAS = 8
NOTES = 5
CLIP = 160
INSTRUCTIONS_CHARS = 2000
RULES_CHARS = 2500
MAX_CHARS = 12000


class PromptInput(NamedTuple):
    config: Config
    iteration: int
    best: dict | None            # {score, sha, iter}
    baseline: float | None       # the baseline's mean
    recent: list                 # the last records (light), oldest first
    directive: Directive
    open_ideas: tuple = ()
    tried_ideas: tuple = ()
    notes: tuple = ()  # the previous agent's permission denials and tool errors
    rules: str = ""              # instructions/integrity.md


def clip(text, limit: int = CLIP) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _num(x) -> str:
    return "-" if x is None else f"{x:.6g}"


def _effect(rec: dict) -> str:
    delta = rec.get("delta")
    if delta is None:
        return ""
    test = rec.get("test") or {}
    lo, hi = test.get("ci_low"), test.get("ci_high")
    ci = f" [{lo:+.4g}, {hi:+.4g}] 95%" if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) else ""
    return f", effect {delta:+.4g}{ci}"


def build(p: PromptInput) -> str:
    cfg = p.config
    better = "lower" if cfg.direction == "min" else "higher"
    out = [f"You are the creative half of a ratchet optimization run (iteration {p.iteration}). Make ONE change "
           f"to the code in this repository that should make the metric `{clip(cfg.metric_name, 80)}` better "
           f"({better} is better).",
           "ratchet measures the change after you finish, and keeps it (a commit) only if the metric really improved; "
           "otherwise it reverts it. You never run the benchmark and never report a score: ratchet does both. "
           "Never run git (ratchet owns git; a commit of yours is detected, undone and the iteration discarded). "
           "Do not edit files under .ratchet/.", ""]
    if cfg.protect:
        out.append("Protected files (touching one discards the iteration as an integrity violation): "
                   + clip(", ".join(cfg.protect), 400))
    if cfg.editable:
        out.append("Editable files (a change to any other file, or a symlink pointing outside them, discards the "
                   "iteration as an integrity violation): " + clip(", ".join(cfg.editable), 400))
    if cfg.constraints:
        out.append("Constraints (side metrics from the same report that must not get worse; a change that breaks "
                   "one is reverted as constraint_failed): " + clip(", ".join(cfg.constraints), 400))
    if cfg.instructions:
        out += ["Instructions of this run (binding):", clip(cfg.instructions, INSTRUCTIONS_CHARS)]
    if p.rules:
        out += ["", clip(p.rules, RULES_CHARS) if len(p.rules) > RULES_CHARS else p.rules.strip()]
    out += ["", "## Where the run stands"]
    if p.best:
        out.append(f"Baseline {_num(p.baseline)}; best so far {_num(p.best.get('score'))} (iteration "
                   f"{p.best.get('iter')}).")
    recent = [r for r in p.recent if r.get("iter", 0) > 0][-RECENT:]
    if recent:
        out.append("Last iterations (oldest first):")
        for r in recent:
            out.append(f"- iter {r.get('iter')}: {r.get('decision')}{_effect(r)}; {clip(r.get('description'), 100)}"
                       f" (hypothesis: {clip(r.get('hypothesis'), 120)})"
                       + (f"; reason: {clip(r.get('reason'), 120)}" if not r.get("kept") and r.get("reason") else ""))
    out += ["", f"## Direction for this change ({p.directive.level})", p.directive.text]
    if p.open_ideas or p.tried_ideas:
        out += ["", "## Ideas backlog"]
        for i in p.open_ideas[:IDEAS]:
            out.append(f"- open #{i['id']}: {clip(i['text'])}")
        for i in p.tried_ideas[:IDEAS]:
            delta = "" if i.get("delta") is None else f", effect {i['delta']:+.4g}"
            out.append(f"- tried #{i['id']} in iter {i.get('tried_iter')}: {i.get('outcome')}{delta}: {clip(i['text'])}")
        out.append("Do not retry a tried idea unless you deliberately refine it; say which open idea you try.")
    if p.notes:
        out += ["", "## What the previous agent could not do (do not try again)"]
        out += [f"- {clip(n)}" for n in p.notes[:NOTES]]
    out += ["", "## When done",
            "Make the one change with your editing tools, then end your final message with exactly these lines:",
            agentanswer.SHAPE]
    return "\n".join(out) + "\n"
