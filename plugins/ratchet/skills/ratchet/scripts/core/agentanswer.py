"""The agent's answer in `ratchet.py loop`: a fixed, parseable shape. Pure.

The agent ends its work with (labels case-insensitive, anywhere in its final text; the
last occurrence of a label wins, so a preamble that quotes the shape does no harm):

    HYPOTHESIS: what the change should do to the metric, and why
    DESCRIPTION: one line: what changed
    IDEA_TRIED: 3            (optional: the backlog idea this change tries, or none)
    IDEAS:                   (optional: ideas for later, one per line starting with "- ")
    - another idea

`parse(text)` returns an `Answer` or raises `Malformed` (a one-line reason). It never
raises anything else, whatever the text: the loop records a malformed answer as an
`agent_failed` iteration.
"""

import re
from typing import NamedTuple

SHAPE = ("HYPOTHESIS: what the change should do to the metric, and why\n"
         "DESCRIPTION: one line: what changed\n"
         "IDEA_TRIED: the number of the backlog idea this change tries, or none\n"
         "IDEAS:\n"
         "- an idea for a later iteration (optional, one per line)")
MAX_HYPOTHESIS = 500
MAX_DESCRIPTION = 200
MAX_IDEAS = 5

_LABEL = re.compile(r"^\s*[*#>\-\s]*\**\s*(HYPOTHESIS|DESCRIPTION|IDEA_TRIED|IDEAS)\s*\**\s*:\s*(.*)$", re.I)


class Malformed(ValueError):
    """The answer does not have the fixed shape; the message says what is missing."""


class Answer(NamedTuple):
    hypothesis: str
    description: str
    ideas: tuple = ()
    idea_tried: int | None = None


def _clean(text: str) -> str:
    return " ".join(text.replace("`", "").split()).strip(" *")


def parse(text) -> Answer:
    """See the module docstring."""
    if not isinstance(text, str) or not text.strip():
        raise Malformed("the agent's answer is empty")
    found: dict[str, str] = {}
    ideas: list[str] = []
    in_ideas = False
    for line in text.splitlines():
        m = _LABEL.match(line)
        if m:
            label, rest = m.group(1).upper(), m.group(2)
            in_ideas = label == "IDEAS"
            if in_ideas:
                ideas = [rest] if _clean(rest) else []
            else:
                found[label] = rest
            continue
        if in_ideas:
            stripped = line.strip()
            if stripped.startswith(("- ", "* ")) or re.match(r"^\d+[.)]\s", stripped):
                ideas.append(re.sub(r"^([-*]|\d+[.)])\s+", "", stripped))
            elif stripped:
                in_ideas = False
    missing = [k for k in ("HYPOTHESIS", "DESCRIPTION") if not _clean(found.get(k, ""))]
    if missing:
        raise Malformed(f"the agent's answer has no {' and no '.join(missing)} line (expected the fixed shape)")
    hypothesis, description = _clean(found["HYPOTHESIS"]), _clean(found["DESCRIPTION"])
    if len(description) > MAX_DESCRIPTION:
        raise Malformed(f"the agent's DESCRIPTION is {len(description)} characters; one line of at most "
                        f"{MAX_DESCRIPTION} was asked for")
    tried = None
    raw = _clean(found.get("IDEA_TRIED", ""))
    if raw and raw.lower() not in ("none", "no", "-", "n/a"):
        m = re.match(r"^#?(\d+)\b", raw)
        if not m:
            raise Malformed(f"the agent's IDEA_TRIED is {raw[:40]!r}; give an idea's number or none")
        tried = int(m.group(1))
    ideas = [i for i in (_clean(x) for x in ideas) if i][:MAX_IDEAS]
    return Answer(hypothesis[:MAX_HYPOTHESIS], description, ideas, tried)


def outcome_of(*, exit_code: int | None, timed_out: bool, timeout: float | None, is_error: bool, answer: str,
               git_moved: str | None, changed: bool) -> tuple[str | None, str, Answer | None]:
    """What one agent run amounts to, before anything is measured: (decision, reason,
    answer). decision is None when the change is to be measured; otherwise one of
    `agent_used_git` (`git_moved` says what moved), `agent_failed` (timed out, exited
    non-zero, reported an error, or answered in the wrong shape) or `agent_no_edit`."""
    if git_moved:
        return "agent_used_git", f"the agent ran git itself ({git_moved}); put back, change discarded", None
    if timed_out:
        return "agent_failed", f"the agent timed out after {timeout:g} s (--agent-timeout); its processes were killed", None
    if exit_code == 127:
        return "agent_failed", ("the agent command was not found (exit code 127): is claude on PATH, or is "
                                "--agent-command right?"), None
    if exit_code != 0:
        return "agent_failed", f"the agent exited with code {exit_code}", None
    if is_error:
        return "agent_failed", "the agent's result says it failed (is_error)", None
    try:
        parsed = parse(answer)
    except Malformed as exc:
        return "agent_failed", f"malformed answer: {exc}", None
    if not changed:
        return "agent_no_edit", "the agent made no change to the tree", parsed
    return None, "", parsed
