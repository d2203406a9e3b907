#!/usr/bin/env python3
"""ratchet's Stop hook: while the run this session drives is not stopped,
block the end of the turn with a reason that says how to continue.

Input (stdin): the hook's JSON (session_id, cwd, stop_hook_active, ...).
Output: nothing (allow the stop), or {"decision": "block", "reason": "..."}.
Allows when there is no run, when another session (or none) claimed it,
when it is stopped, after 5 blocked stops in a row with no ratchet command
in between (the loop guard, recorded in .ratchet/hook.log), and on any
error. The rule: scripts/core/stopguard.py; the glue: scripts/commands/hooks.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # works under python3 -I

import _hook  # noqa: E402


def decide(payload):
    found = _hook.state_dir(payload.get("cwd") or os.getcwd())
    if found is None or _hook.claimed_by(found) != payload.get("session_id"):
        return None  # no run here, or not this session's: decided without importing ratchet
    from pathlib import Path
    return _hook.ratchet_hooks().stop(payload, Path(_hook.SKILL_DIR))


if __name__ == "__main__":
    sys.exit(_hook.run(decide))
