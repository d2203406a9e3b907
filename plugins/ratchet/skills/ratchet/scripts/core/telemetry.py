"""Telemetry of one agent run, read from the Claude Code CLI's stream-json output, and
its totals over a run. Pure.

`parse_stream(text)` reads the JSON lines an agent printed (`claude -p --output-format
stream-json --verbose`): the final `{"type": "result"}` event carries the usage (input,
output and cache tokens), `total_cost_usd`, `num_turns`, `duration_ms`, `session_id`,
`is_error`, `permission_denials` and the answer text (`result`); tool errors are the
`tool_result` blocks with `is_error` in the `user` events. Lines that are not JSON are
skipped, never raised on: an agent that prints plain text has no telemetry, and its whole
output is its answer.

`add(totals, telemetry)` folds one run's numbers into the run's totals
(`core.history.Summary.agent`), shown by `status`.
"""

import json
from typing import NamedTuple

MAX_NOTES = 5      # permission denials / tool errors kept per run (for the next prompt)
NOTE_CHARS = 160
COUNTERS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
            "turns", "tool_errors", "permission_denials")


class Stream(NamedTuple):
    """What an agent's stdout said. `telemetry` is None when it held no result event;
    `answer` is the result text (or the whole output for a plain-text agent)."""

    answer: str
    telemetry: dict | None = None
    notes: tuple = ()  # "permission denied: Bash (git commit)", "tool error: ..."


def _short(text, limit: int = NOTE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _tool_result_text(block: dict) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return str(content or "")


def _int(x) -> int:
    return int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else 0


def parse_stream(text: str) -> Stream:
    """See the module docstring. Never raises on any input text."""
    result, errors, denied_events = None, [], []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "result":
            result = event
        elif kind == "system" and event.get("subtype") == "permission_denied":
            denied_events.append(event)
        elif kind == "user":
            content = (event.get("message") or {}).get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error"):
                    errors.append(_tool_result_text(block))
    if result is None:
        return Stream(answer=text)
    usage = result.get("usage") if isinstance(result.get("usage"), dict) else {}
    denials = result.get("permission_denials") if isinstance(result.get("permission_denials"), list) else []
    denial_notes = []
    for d in denials or denied_events:
        d = d if isinstance(d, dict) else {}
        tool = d.get("tool_name") or d.get("tool") or "a tool"
        what = d.get("tool_input") if isinstance(d.get("tool_input"), dict) else {}
        detail = what.get("command") or what.get("file_path") or ""
        denial_notes.append(f"permission denied: {tool}" + (f" ({_short(detail, 80)})" if detail else ""))
    cost = result.get("total_cost_usd")
    tel = {
        "input_tokens": _int(usage.get("input_tokens")),
        "output_tokens": _int(usage.get("output_tokens")),
        "cache_read_tokens": _int(usage.get("cache_read_input_tokens")),
        "cache_creation_tokens": _int(usage.get("cache_creation_input_tokens")),
        "cost_usd": float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else 0.0,
        "turns": _int(result.get("num_turns")),
        "duration_ms": _int(result.get("duration_ms")),
        "tool_errors": len(errors),
        "permission_denials": max(len(denials), len(denied_events)),
        "session_id": str(result.get("session_id") or ""),
        "is_error": bool(result.get("is_error")),
    }
    notes = (denial_notes + [f"tool error: {_short(e)}" for e in errors])[:MAX_NOTES]
    answer = result.get("result")
    return Stream(answer=answer if isinstance(answer, str) else "", telemetry=tel, notes=notes)


def add(totals: dict, tel: dict | None) -> dict:
    """`totals` (possibly empty) with one agent run's telemetry added; `runs` counts
    agent runs, `cost_usd` and `seconds` are summed; a run without telemetry still counts
    as a run (its cost unknown: `runs_unmetered`)."""
    out = {"runs": 0, "runs_unmetered": 0, "cost_usd": 0.0, "seconds": 0.0, **{k: 0 for k in COUNTERS},
           **(totals or {})}
    if tel is None:
        return out
    out["runs"] += 1
    if not tel.get("metered", True):
        out["runs_unmetered"] += 1
    out["cost_usd"] += float(tel.get("cost_usd") or 0.0)
    out["seconds"] += float(tel.get("duration_ms") or 0) / 1000.0
    for k in COUNTERS:
        out[k] += _int(tel.get(k))
    return out


def mean_cost(totals: dict | None) -> float:
    """Mean cost in USD of one metered agent run so far (0 before any)."""
    t = totals or {}
    metered = t.get("runs", 0) - t.get("runs_unmetered", 0)
    return t.get("cost_usd", 0.0) / metered if metered > 0 else 0.0


def cost_stop(totals: dict | None, cap: float | None) -> bool:
    """True when the next iteration must not start: the spend so far plus the mean cost
    of an iteration would pass `cap` (USD), or the spend already reached it."""
    if cap is None:
        return False
    spent = (totals or {}).get("cost_usd", 0.0)
    return spent >= cap or spent + mean_cost(totals) > cap
