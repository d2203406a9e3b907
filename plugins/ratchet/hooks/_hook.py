"""What both hook scripts share: read the input, find the run cheaply, call
ratchet's code, print its answer, and fail open.

A hook runs at every end of turn (Stop) of every session of every user who
installed the plugin, so the common case, no ratchet run here, must cost
nothing: it is decided with the standard library alone (a walk up to the
repository's top and a stat), before any of ratchet's modules is imported.
Any error, or a hook that takes longer than TIME_LIMIT_S, prints nothing on
stdout (one line on stderr) and exits 0: the session goes on as if the
plugin had no hooks.
"""

import json
import os
import signal
import sys

PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKILL_DIR = os.path.join(PLUGIN_ROOT, "skills", "ratchet")
SCRIPTS = os.path.join(SKILL_DIR, "scripts")
TIME_LIMIT_S = 10


def state_dir(cwd):
    """`.ratchet/` of the repository around `cwd` when it holds a run, else
    None. The top is the nearest folder holding `.git` (as git finds it)."""
    here = os.path.abspath(cwd)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            found = os.path.join(here, ".ratchet")
            return found if os.path.isfile(os.path.join(found, "config.json")) else None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def claimed_by(found):
    """The session id session.json names, or None."""
    try:
        with open(os.path.join(found, "session.json")) as fh:
            claim = json.load(fh)
    except (OSError, ValueError):
        return None
    return claim.get("session_id") if isinstance(claim, dict) else None


def _timeout(signum, frame):
    raise TimeoutError("hook time limit")


def run(decide):
    """Read the hook's JSON input, call decide(payload) -> dict | None, print
    the dict as JSON. Always exit 0; print nothing on any error."""
    try:
        if hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, _timeout)
            signal.alarm(TIME_LIMIT_S)
        payload = json.loads(sys.stdin.read() or "{}")
        if not isinstance(payload, dict):
            return 0
        out = decide(payload)
        if out:
            text = json.dumps(out, ensure_ascii=False)
            signal.alarm(0)
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
    except BaseException as exc:  # noqa: BLE001 - fail open: never stop a session because of ratchet
        try:  # one line for whoever looks (the CLI does not show it to the model)
            sys.stderr.write("ratchet hook: %s: %s; allowed (fail open)\n"
                             % (type(exc).__name__, " ".join(str(exc).split())[:300]))
        except BaseException:  # noqa: BLE001
            pass
    return 0


def ratchet_hooks():
    """ratchet's commands.hooks, imported from the skill's scripts (works under python3 -I)."""
    if SCRIPTS not in sys.path:
        sys.path.insert(0, SCRIPTS)
    from commands import hooks
    return hooks
