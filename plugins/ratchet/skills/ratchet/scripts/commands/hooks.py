"""The plugin's hooks (plugins/ratchet/hooks/): gather the facts, ask the
core, answer in Claude Code's hook protocol.

`stop(payload, skill_dir)` and `session_start(payload, skill_dir)` take the
hook's JSON input and return the JSON to print, or None (print nothing:
the CLI carries on as without the hook). They read the run the way every
command does (`shell.context.load`) but never take the run's lock, so a
long measurement holding it never delays a hook; the hook scripts catch
every error and allow (fail open).
"""

from __future__ import annotations

import os
from pathlib import Path

from core import stopguard
from core.runstate import next_step
from shell import context, gitops, session
from shell.store import DIRNAME
from views import hooks as view

REMIND_SOURCES = ("compact", "resume")


def _cwd(payload: dict) -> Path:
    cwd = payload.get("cwd")
    return Path(cwd) if isinstance(cwd, str) and cwd else Path(os.getcwd())


def _stopped(run, state_dir: Path) -> bool:
    """The run is over: a stop condition, the user's stop (recorded through
    the same `stop` property) or a stop the user requested and `ratchet.py
    stop` has not finished yet."""
    return session.stop_requested(state_dir) or bool(run.stop["stopped"])


def _next_hint(run) -> str | None:
    try:
        return next_step(run.phase(), run.stop, critic=run.config.critic)
    except Exception:  # noqa: BLE001 - a hint only; status says it anyway
        return None


def stop(payload: dict, skill_dir: Path) -> dict | None:
    """Stop hook: {"decision": "block", "reason": ...} while the run this
    session claimed is not stopped (see core.stopguard); None otherwise."""
    sid = payload.get("session_id")
    if not session.valid_id(sid):
        return None
    cwd = _cwd(payload)
    state_dir = gitops.repo_root(cwd) / DIRNAME
    claim = session.read(state_dir)
    if not (state_dir / "config.json").is_file() or not claim or claim.get("session_id") != sid:
        return None  # not this session's run: no need to load it
    run = context.load(cwd)
    stopped = _stopped(run, state_dir)
    with session.updating(state_dir) as state:  # the claim again, under its lock
        verdict = stopguard.judge(stopguard.StopFacts(sid, state, run.key, stopped))
        if verdict.guard is not None:
            state["stop_hook"] = verdict.guard
            if verdict.newly_released:
                state["stop_hook_released"] = {
                    "at": session.now(), "blocks": verdict.blocks,
                    "why": f"{verdict.blocks} stops in a row blocked with no ratchet command in between"}
    if verdict.newly_released:
        session.log(state_dir, f"stop allowed: session {sid}, run {run.key}: {verdict.blocks} stops in a row "
                               f"were blocked with no ratchet command in between (loop guard)")
    if not verdict.block:
        return None
    reason = view.block_reason(run.key, run.iteration, run.phase(), _next_hint(run), str(skill_dir))
    return {"decision": "block", "reason": reason}


def session_start(payload: dict, skill_dir: Path) -> dict | None:
    """SessionStart hook (after a compaction or a resume): a reminder of the
    run in progress; None when there is none, or it is over."""
    source = payload.get("source")
    if source not in REMIND_SOURCES:
        return None
    cwd = _cwd(payload)
    state_dir = gitops.repo_root(cwd) / DIRNAME
    if not (state_dir / "config.json").is_file():
        return None
    run = context.load(cwd)
    if _stopped(run, state_dir):
        return None
    claim = session.read(state_dir) or {}
    other = bool(claim.get("session_id")) and claim.get("session_id") != payload.get("session_id") \
        and claim.get("run_id") in (None, run.key)
    text = view.reminder(source, run.key, run.iteration, run.phase(), run.config.instructions, str(skill_dir),
                         other_session=other)
    return {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": text}}
