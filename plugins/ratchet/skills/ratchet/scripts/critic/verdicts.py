"""The critic's verdict and what is recorded from it.

Pure (no I/O):

- `parse_verdict_text(text)`, `validate_verdict(obj, labels)`: the critic's
  answer -> a normalized verdict, or UsageError.
- `resolve_pick(state)`, `runner_up(state)`: the slot picked and the valid one
  left over; `runner_up_offer(history)`: that runner-up when it may be
  measured in the next iteration.
- `critic_record(state)`: the "critic" field of a results.jsonl record.
- `position_bias(records)`: how often the first-shown candidate was picked.
"""

from __future__ import annotations

import json
import math
import re

from critic.blinding import LABELS, SLOTS
from core.errors import UsageError

NEITHER = "neither"


# ---- the critic's verdict -----------------------------------------------------

def validate_verdict(obj, labels: list[str] | tuple[str, ...]) -> dict:
    """Normalize a verdict or raise UsageError. `labels` are those shown."""
    if not isinstance(obj, dict):
        raise UsageError("the verdict must be a JSON object with pick, confidence, reasons")
    pick = obj.get("pick")
    if not isinstance(pick, str) or not pick.strip():
        raise UsageError('verdict "pick" must be "X", "Y" or "neither"')
    p = pick.strip()
    p = p.upper() if p.upper() in LABELS else p.lower()
    if p in ("none", "no", "neither"):
        p = NEITHER
    allowed = [*labels, NEITHER]
    if p not in allowed:
        raise UsageError(f"verdict pick {pick!r} is not one of {', '.join(allowed)}")
    conf = obj.get("confidence")
    if isinstance(conf, bool):
        conf = None
    try:
        conf = float(conf)
    except (TypeError, ValueError):
        raise UsageError(f"verdict confidence must be a number in [0, 1], got {obj.get('confidence')!r}") from None
    if not math.isfinite(conf) or not 0.0 <= conf <= 1.0:
        raise UsageError(f"verdict confidence must be in [0, 1], got {obj.get('confidence')!r}")
    concerns = obj.get("integrity_concerns", [])
    if concerns is None:
        concerns = []
    if isinstance(concerns, str):
        concerns = [concerns]
    if not isinstance(concerns, list) or not all(isinstance(c, str) for c in concerns):
        raise UsageError("verdict integrity_concerns must be a list of strings")
    reasons = obj.get("reasons", "")
    if isinstance(reasons, list):
        reasons = " ".join(str(r) for r in reasons)
    if not isinstance(reasons, str) or not reasons.strip():
        raise UsageError("verdict reasons must be a non-empty string")
    return {"pick": p, "confidence": conf,
            "integrity_concerns": [c.strip() for c in concerns if c.strip()],
            "reasons": reasons.strip()[:4000]}


def parse_verdict_text(text: str) -> dict:
    """The JSON object in the critic's answer (bare, fenced, or amid prose).
    Raises UsageError when there is none."""
    s = text.strip()
    candidates = [s]
    candidates += [m.group(1) for m in re.finditer(r"```(?:json)?\s*\n(.*?)\n\s*```", s, re.DOTALL)]
    if "{" in s and "}" in s:
        candidates.append(s[s.index("{"):s.rindex("}") + 1])
    for c in candidates:
        try:
            obj = json.loads(c)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    raise UsageError("no verdict JSON object found in the critic's answer")


# ---- records ------------------------------------------------------------------

def resolve_pick(state: dict) -> str | None:
    """The slot the verdict picked, or None (neither / no verdict)."""
    verdict = state.get("verdict") or {}
    return (state.get("blind") or {}).get("labels", {}).get(verdict.get("pick"))


def runner_up(state: dict) -> str | None:
    """The valid proposal the critic did not pick, when it picked one."""
    picked = resolve_pick(state)
    if picked is None:
        return None
    valid = [s for s in (state.get("blind") or {}).get("order", []) if s != picked]
    return valid[0] if valid else None


def critic_record(state: dict) -> dict:
    """What goes into this iteration's results.jsonl record under "critic"."""
    proposals = {}
    for slot, p in (state.get("proposals") or {}).items():
        proposals[slot] = {
            "hypothesis": p.get("hypothesis", ""),
            "expected": p.get("expected", ""),
            "diff": p.get("diff_path"),
            "diff_sha256": p.get("diff_sha256"),
            "paths": p.get("paths", []),
            "valid": bool(p.get("valid")),
            "problems": p.get("problems", []),
        }
    blind_info = state.get("blind") or {}
    return {
        "mode": state.get("mode", "contest"),
        "source_iter": state.get("source_iter"),
        "proposals": proposals,
        "blind": {"seed": blind_info.get("seed"), "order": blind_info.get("order", []),
                  "labels": blind_info.get("labels", {}),
                  "shown_first": blind_info.get("shown_first")},
        "packet": state.get("packet"),
        "verdict": state.get("verdict"),
        "picked": state.get("picked"),
        "measured": state.get("measured"),
        "runner_up": state.get("runner_up"),
    }



def runner_up_offer(history: list[dict]) -> dict | None:
    """The previous iteration's runner-up when it may be measured now: the
    previous iteration was a contest whose measured pick was not kept, and
    the other proposal was valid. {"from_iter", "slot", "hypothesis", "diff_path", "diff_sha256"}."""
    if not history:
        return None
    last = history[-1]
    c = last.get("critic")
    if last.get("kept") or not isinstance(c, dict) or c.get("mode") != "contest":
        return None
    slot = c.get("runner_up")
    prop = (c.get("proposals") or {}).get(slot or "")
    if not slot or not prop or not prop.get("valid") or not prop.get("diff"):
        return None
    return {"from_iter": last.get("iter"), "slot": slot, "hypothesis": prop.get("hypothesis", ""),
            "diff_path": prop["diff"], "diff_sha256": prop.get("diff_sha256")}


def _binom_two_sided(k: int, n: int) -> float:
    """Exact two-sided binomial test p-value against p = 1/2."""
    if n == 0:
        return 1.0
    probs = [math.comb(n, i) / 2 ** n for i in range(n + 1)]
    pk = probs[k]
    return min(1.0, sum(p for p in probs if p <= pk * (1 + 1e-9)))


def position_bias(records: list[dict]) -> dict:
    """How often the critic picked the candidate shown first.

    `records` are results.jsonl records (their "critic" field is used) or
    critic records. Only contests with two shown candidates and a pick of one
    of them count. With no bias the rate is about 0.5; `p_value` is the exact
    two-sided binomial test and `suspect` is set when p < 0.05 over 10+.
    """
    n = first = neither = 0
    by_slot = {s: 0 for s in SLOTS}
    for rec in records:
        c = rec.get("critic", rec) if isinstance(rec, dict) else None
        if not isinstance(c, dict) or c.get("mode", "contest") != "contest":
            continue
        b = c.get("blind") or {}
        labels = b.get("labels") or {}
        pick = (c.get("verdict") or {}).get("pick")
        if len(labels) != 2:
            continue
        if pick == NEITHER:
            neither += 1
            continue
        if pick not in labels:
            continue
        n += 1
        if pick == (b.get("shown_first") or LABELS[0]):
            first += 1
        by_slot[labels[pick]] = by_slot.get(labels[pick], 0) + 1
    p = _binom_two_sided(first, n)
    return {"contests": n, "first_shown_picked": first,
            "first_shown_rate": (first / n) if n else None,
            "p_value": p, "suspect": n >= 10 and p < 0.05,
            "neither": neither, "picked_by_proposer": by_slot}
