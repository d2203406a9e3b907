"""When the Stop hook keeps a session going. Pure.

A prompt-driven loop ends whenever the model ends its turn. The plugin's
Stop hook (plugins/ratchet/hooks/stop.py) asks `judge` whether to block
that: only in the session that claimed the run (`shell.session`), only
while the run is not stopped, and not forever: after MAX_BLOCKS blocked
stops in a row with no ratchet command in between (the claim's `commands`
counter did not move), the model is evidently not getting anywhere, so the
stop is allowed and the release is recorded. Any ratchet command re-arms
the guard.

The guard's state lives in the claim, as `stop_hook`:
    {"blocks": n, "at_commands": counter at the last block,
     "released": counter at which the guard let the session end (or absent)}
"""

from typing import NamedTuple

MAX_BLOCKS = 5

# Why the hook decided as it did (logged and tested).
UNCLAIMED = "unclaimed"          # no session claimed the run (it was not driven from Claude Code)
OTHER_SESSION = "other_session"  # another session drives the run
OTHER_RUN = "other_run"          # the claim is of an earlier run
STOPPED = "stopped"              # the run is over (a stop condition, or the user stopped it)
BLOCKED = "blocked"
RELEASED = "released"            # the loop guard let the session end


class StopFacts(NamedTuple):
    """`session_id`: the hook's session; `claim`: session.json (None when
    absent); `run_id`: the run in the repository; `stopped`: it is over."""

    session_id: str | None
    claim: dict | None
    run_id: str | None
    stopped: bool


class StopVerdict(NamedTuple):
    """`block`: keep the session going; `why`: one of the codes above;
    `guard`: the new `stop_hook` state to store (None: leave it as is);
    `newly_released`: the guard let go just now (record why, once)."""

    block: bool
    why: str
    guard: dict | None = None
    newly_released: bool = False
    blocks: int = 0


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def judge(facts: StopFacts) -> StopVerdict:
    claim = facts.claim or {}
    if not claim.get("session_id") or not facts.session_id:
        return StopVerdict(False, UNCLAIMED)
    if claim["session_id"] != facts.session_id:
        return StopVerdict(False, OTHER_SESSION)
    if claim.get("run_id") and facts.run_id and claim["run_id"] != facts.run_id:
        return StopVerdict(False, OTHER_RUN)
    if facts.stopped:
        return StopVerdict(False, STOPPED)
    guard = claim.get("stop_hook") if isinstance(claim.get("stop_hook"), dict) else {}
    commands = _count(claim.get("commands"))
    # A ratchet command since the last block re-arms the guard.
    blocks = _count(guard.get("blocks")) if guard.get("at_commands") == commands else 0
    if blocks >= MAX_BLOCKS:
        newly = guard.get("released") != commands
        return StopVerdict(False, RELEASED, dict(guard, released=commands) if newly else None, newly, blocks)
    return StopVerdict(True, BLOCKED, {"blocks": blocks + 1, "at_commands": commands}, blocks=blocks + 1)
