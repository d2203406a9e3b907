"""The ideas backlog: ideas an agent leaves for later, and what happened when one was
tried. Pure over a plain dict (`.ratchet/ideas.json`, written by `shell.store`).

Shape: `{"next_id": int, "ideas": [{"id", "text", "from_iter", "status": "open"|"tried",
"tried_iter", "outcome", "delta"}]}`. An idea repeated (same text, case and spacing aside)
is not added twice. At most `KEEP` ideas are kept: the oldest tried ones go first, so the
file stays bounded over a long night. `view` gives the few a prompt shows.
"""

from __future__ import annotations

KEEP = 200
TEXT_CHARS = 200


def empty() -> dict:
    return {"next_id": 1, "ideas": []}


def _norm(text: str) -> str:
    return " ".join(str(text).lower().split())


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 3] + "..."


def add(backlog: dict | None, texts: list[str], iteration: int) -> dict:
    """`backlog` with the new ideas of iteration `iteration` appended (open)."""
    b = {"next_id": (backlog or empty())["next_id"], "ideas": [dict(i) for i in (backlog or empty())["ideas"]]}
    seen = {_norm(i["text"]) for i in b["ideas"]}
    for text in texts:
        text = _clip(text)
        if not text or _norm(text) in seen:
            continue
        seen.add(_norm(text))
        b["ideas"].append({"id": b["next_id"], "text": text, "from_iter": iteration, "status": "open",
                           "tried_iter": None, "outcome": None, "delta": None})
        b["next_id"] += 1
    return _bounded(b)


def _bounded(b: dict) -> dict:
    ideas = b["ideas"]
    while len(ideas) > KEEP:
        tried = [i for i in ideas if i["status"] == "tried"]
        ideas.remove(tried[0] if tried else ideas[0])
    return b


def mark_tried(backlog: dict | None, idea_id: int | None, iteration: int, decision: str,
               delta: float | None) -> dict:
    """`backlog` with idea `idea_id` (an open one) marked tried in `iteration` with its
    outcome; unchanged when there is no such open idea."""
    b = {"next_id": (backlog or empty())["next_id"], "ideas": [dict(i) for i in (backlog or empty())["ideas"]]}
    for i in b["ideas"]:
        if i["id"] == idea_id and i["status"] == "open":
            i.update(status="tried", tried_iter=iteration, outcome=decision, delta=delta)
    return b


def is_open(backlog: dict | None, idea_id: int | None) -> bool:
    return any(i["id"] == idea_id and i["status"] == "open" for i in (backlog or empty())["ideas"])


def view(backlog: dict | None, open_limit: int = 8, tried_limit: int = 8) -> tuple[list[dict], list[dict]]:
    """(open ideas, oldest first; tried ideas, latest first), at most the limits each."""
    ideas = (backlog or empty())["ideas"]
    opened = [i for i in ideas if i["status"] == "open"][:open_limit]
    tried = sorted((i for i in ideas if i["status"] == "tried"), key=lambda i: -(i["tried_iter"] or 0))
    return opened, tried[:tried_limit]
