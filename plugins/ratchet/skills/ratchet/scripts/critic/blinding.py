"""Blinding for critic mode: the critic sees the valid proposals as X and Y,
in a random order, with nothing that tells which proposer wrote which.

Pure (the seed comes from the caller: `proposals.new_seed`):

- `order_for_seed(seed)` / `blind(valid_slots, seed)`: the judge's order and
  the label -> proposer mapping.
- `redact_identity(text)`: remove proposer names and style labels;
  `names_a_proposer(text)`: the check that none is left.
- `render_packet(iteration, entries, context)`: the packet the critic reads.
"""

from __future__ import annotations

import random
import re

SLOTS = ("a", "b")
LABELS = ("X", "Y")
HEADLINE_CHARS = 300


def order_for_seed(seed: int) -> list[str]:
    """The order in which the two slots are shown: deterministic per seed."""
    order = list(SLOTS)
    random.Random(seed).shuffle(order)
    return order


def blind(valid_slots: list[str] | tuple[str, ...], seed: int) -> dict:
    """Labels for the valid proposals. {"seed", "order", "labels": {label: slot},
    "shown_first"}. The packet shows labels in LABELS order (X first)."""
    order = [s for s in order_for_seed(seed) if s in valid_slots]
    labels = {LABELS[k]: slot for k, slot in enumerate(order)}
    return {"seed": seed, "order": order, "labels": labels,
            "shown_first": LABELS[0] if labels else None}


_ROLE = r"(?:conservative|radical|incremental|exploratory|exploitative|explorer|refiner|bold|safe|structural)"
_NOUN = r"(?:proposer|proposal|approach|candidate|option|agent|change|idea)"
_NAME = r"(?:ratchet[:\-]\s*)?ratchet-proposer-[ab]\b|\bproposer[\s_\-]*[\"'(\[]?[ab]\b[\"')\]]?"
_HEADER_LINE_RE = re.compile(
    rf"^[\s#>*_\-=\[(]*(?:{_NAME}|(?:the\s+)?{_ROLE}(?:\s+{_NOUN})?|{_ROLE}\s*/\s*\w+)[\s:.\-)\]*_=]*$",
    re.IGNORECASE)
_TAG_RE = re.compile(rf"[(\[]\s*(?:the\s+)?{_ROLE}(?:\s+{_NOUN})?\s*[)\]]", re.IGNORECASE)
_SELF_RE = re.compile(rf"(?:{_NAME}|\b(?:the\s+|an?\s+)?{_ROLE}\s+proposer\b)", re.IGNORECASE)


def redact_identity(text: str) -> str:
    """Remove what could tell the critic who wrote a proposal: proposer names
    anywhere, style labels used as headers or tags ("## Conservative
    proposal", "(radical)"), and "the <style> proposer" phrases."""
    lines = [ln for ln in text.split("\n") if not _HEADER_LINE_RE.match(ln)]
    out = "\n".join(lines)
    out = _TAG_RE.sub("", out)
    out = _SELF_RE.sub("the author", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def names_a_proposer(text: str) -> bool:
    """True when `text` still names a proposer (used by tests and as a guard)."""
    return bool(re.search(r"proposer[\s_\-]*[\"'(\[]?[ab]\b|ratchet-proposer", text, re.IGNORECASE))


def _fence_for(body: str) -> str:
    longest = max((len(m.group(0)) for m in re.finditer(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def one_line(text: str, limit: int = HEADLINE_CHARS) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def render_packet(iteration: int, entries: dict[str, dict], context: dict) -> str:
    """The critic's packet. `entries` maps label -> {"hypothesis", "expected",
    "rationale", "diff", "paths"}; shown in LABELS order. `context` may hold
    "goal", "best", "protected" (list), "editable" (list), "history" (list of one-line strings),
    "instructions". Never names a proposer: prose is redacted here; diffs are
    shown verbatim (they are what would be applied)."""
    out = [f"# Critic packet: iteration {iteration}", ""]
    if context.get("goal"):
        out.append(f"Goal: {context['goal']}")
    if context.get("best"):
        out.append(f"Best so far: {context['best']}")
    protected = list(context.get("protected") or [])
    out.append("Off limits (a change touching these is invalid): "
               + ", ".join(protected + [".ratchet/"]))
    if context.get("editable"):
        out.append("Editable (a change touching anything else is invalid): " + ", ".join(context["editable"]))
    if context.get("instructions"):
        out += ["", "Run-specific rules:", context["instructions"].strip()]
    history = context.get("history") or []
    if history:
        out += ["", "Recent iterations (oldest first):"] + [f"- {h}" for h in history]
    labels = [lab for lab in LABELS if lab in entries]
    out.append("")
    if len(labels) == 2:
        out.append("Two candidate changes follow, labelled X and Y. Labels and order were "
                   "assigned at random; judge each on its merits.")
    elif len(labels) == 1:
        out.append("One candidate change follows, labelled X (only one passed validation). "
                   "Pick it, or \"neither\" if it is not worth measuring.")
    for lab in labels:
        e = entries[lab]
        rationale = redact_identity(e.get("rationale", "")) or "(none given)"
        diff = e.get("diff", "")
        fence = _fence_for(diff)
        out += ["", f"## Candidate {lab}", "",
                f"Hypothesis: {one_line(redact_identity(e.get('hypothesis', ''))) or '(none given)'}",
                f"Expected effect: {one_line(redact_identity(e.get('expected', ''))) or '(none given)'}",
                "Rationale:", rationale, "",
                f"Files: {', '.join(e.get('paths') or []) or '(none)'}",
                f"{fence}diff", diff.rstrip("\n"), fence]
    out += ["", "Answer with the verdict JSON only: "
            '{"pick": "X"|"Y"|"neither", "confidence": 0..1, "integrity_concerns": [...], '
            '"reasons": "..."}', ""]
    return "\n".join(out)
