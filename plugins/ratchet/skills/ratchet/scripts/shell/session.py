"""The Claude Code session that drives a run: `.ratchet/session.json`.

Claude Code gives the processes of its Bash tool the session's id
(`CLAUDE_CODE_SESSION_ID`); the plugin's hooks get the same id as
`session_id`. Every ratchet command run inside Claude Code against an
existing run records it here (the claim), with a counter of the ratchet
commands that session ran, so that

- the Stop hook blocks an early end of turn only in the session that drives
  the run, never in another session working in the same repository;
- the hook's loop guard can tell whether the model ran any ratchet command
  since the hook last blocked it (the counter moved).

The claim moves to the latest session that ran a ratchet command (a run
resumed in a new session is claimed by it). Recording is cheap (nothing at
all outside Claude Code or without a run), never fails the command and
never creates `.ratchet/`.

    {"session_id": "...", "run_id": "...", "claimed": "<UTC>", "updated": "<UTC>",
     "commands": 7, "stop_hook": {...}}

`stop_hook` is the Stop hook's own state (`core.stopguard`); a new claim
drops it. Writers (ratchet commands, the hook) take a short lock of their
own (`session.lock`), never the run's lock, which a long command may hold.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

from shell.store import DIRNAME, atomic_write, dumps

FILE = "session.json"
LOCK = "session.lock"
LOG = "hook.log"
STOP_REQUESTED = "stop-requested"  # written by `ratchet.py stop` (shell.store.STOP_REQUEST)
ENV = "CLAUDE_CODE_SESSION_ID"
LOCK_WAIT_S = 1.0


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def valid_id(value) -> bool:
    """A session id as Claude Code makes them (a UUID): short printable text."""
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable()


def read(state_dir: Path) -> dict | None:
    """session.json as a dict; None when absent or not a JSON object."""
    try:
        obj = json.loads((state_dir / FILE).read_text())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


@contextlib.contextmanager
def updating(state_dir: Path):
    """Read-modify-write of session.json under its own lock: yields the
    current content (a dict, empty when there is none) to change in place;
    written atomically on exit when it changed. TimeoutError when the lock
    stays taken for LOCK_WAIT_S (its holders hold it for microseconds)."""
    fd = os.open(state_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{DIRNAME}/{LOCK} stayed locked") from None
                time.sleep(0.01)
        state = read(state_dir) or {}
        before = json.dumps(state, sort_keys=True)
        yield state
        if json.dumps(state, sort_keys=True) != before:
            atomic_write(state_dir / FILE, dumps(state).encode())
    finally:
        os.close(fd)


def _run_id(state_dir: Path) -> str | None:
    """The run id config.json names (not verified: only for matching a claim to its run)."""
    try:
        run_id = json.loads((state_dir / "config.json").read_text()).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None
    return run_id if isinstance(run_id, str) else None


def claim(cwd: Path | None = None, environ=None) -> None:
    """Record that the session in `environ` (default: this process's) ran a
    ratchet command against the run of the repository around `cwd` (default:
    the current directory). Does nothing outside Claude Code or without a
    run; never raises."""
    try:
        cwd = Path.cwd() if cwd is None else cwd
        sid = (os.environ if environ is None else environ).get(ENV, "")
        if not valid_id(sid):
            return
        from shell import gitops  # only now: a command outside Claude Code pays nothing
        state_dir = gitops.repo_root(cwd) / DIRNAME
        if not (state_dir / "config.json").is_file():
            return
        run_id = _run_id(state_dir)
        with updating(state_dir) as state:
            if state.get("session_id") != sid or state.get("run_id") != run_id:
                state.clear()
                state.update(session_id=sid, run_id=run_id, claimed=now(), commands=0)
            count = state.get("commands")
            state["commands"] = (count if isinstance(count, int) else 0) + 1
            state["updated"] = now()
    except Exception:  # noqa: BLE001 - the claim must never fail the command
        pass


def log(state_dir: Path, line: str) -> None:
    """Append one line to .ratchet/hook.log (what the hooks decided and why)."""
    with open(state_dir / LOG, "a") as fh:
        fh.write(f"{now()} {line}\n")


def stop_requested(state_dir: Path) -> bool:
    """`ratchet.py stop` asked the run to stop (`.ratchet/stop-requested`;
    `shell.context.load` reports it as the stop reason user_stopped too, and
    init archives it with the run)."""
    return (state_dir / STOP_REQUESTED).exists()
