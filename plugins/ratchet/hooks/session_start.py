#!/usr/bin/env python3
"""ratchet's SessionStart hook (matcher "compact|resume"): after a compaction
or a resume, put a short reminder of the run in progress into the model's
context: the run id, the iteration, the exact status command, and that the
run's instructions are binding.

Input (stdin): the hook's JSON (session_id, cwd, source, ...). Output:
nothing, or {"hookSpecificOutput": {"hookEventName": "SessionStart",
"additionalContext": "..."}}. Silent when there is no run or it is stopped,
for any other source, and on any error. The glue: scripts/commands/hooks.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # works under python3 -I

import _hook  # noqa: E402


def decide(payload):
    if payload.get("source") not in ("compact", "resume"):
        return None
    if _hook.state_dir(payload.get("cwd") or os.getcwd()) is None:
        return None
    from pathlib import Path
    return _hook.ratchet_hooks().session_start(payload, Path(_hook.SKILL_DIR))


if __name__ == "__main__":
    sys.exit(_hook.run(decide))
