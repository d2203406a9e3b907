"""The measurement worker: long work in a process of its own, detached from
whoever asked for it.

A command that has to run trials (run-trial), the guard or the confirmation
run (decide) does not run them itself: holding the writers' lock, it forks a
worker that inherits the lock, runs the job, records every result in
`.ratchet/` as it goes, and exits; the command waits for it only up to a
bound (`core.waiting`), then answers `running`. The worker is in a session
of its own (`setsid`) with its standard streams on `.ratchet/worker.log`, so
a killed command, an ended `claude -p`, a closed terminal or a new session
never stops or disturbs it; and since it holds the lock, there is one
measurement per repository, and a second command joins the wait instead.

No orphans: TERM, HUP and INT make the worker kill the running trial's whole
process group and exit; a watchdog process (`runner.Watchdog`) kills the
group if the worker is SIGKILLed. A worker that died is noticed by the next
command (the lock is free, `worker.json` remains): its unfinished trial was
never recorded (nor, in an interleaved measurement, the quick trials
before it that took less than half a second together: `shell.measure`), so
it is simply run again.

`worker.json`: {pid, job, iter, started, [exit, error]}: written by the
parent right after the fork (the worker starts its job meanwhile and waits
for that write only before recording its own), completed by the worker
with its exit status at the end. It is not made durable: after a power cut
no worker is alive, and an old, torn or missing worker.json all read as
"no worker" or "a worker that died", whose unfinished trial is run again.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import sys
import time

from shell import runner
from shell.store import atomic_write, stamp_lock

STATE = "worker.json"
LOG = "worker.log"


class Interrupted(BaseException):
    """A signal asked the worker to stop (its trial is dropped)."""


def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def info(store) -> dict | None:
    try:
        return json.loads(store.path(STATE).read_text())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a dead worker whose parent
    has not reaped it yet is dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): the kill probe is all there is


def running(store) -> dict | None:
    """The worker's info while one is measuring (alive, not finished)."""
    w = info(store)
    if w and "exit" not in w and alive(int(w.get("pid", 0))):
        return w
    return None


def finishing(store) -> dict | None:
    """The info of a worker that has recorded its exit status but not yet
    exited: it still holds the lock, for the moment its exit takes."""
    w = info(store)
    if w and "exit" in w and alive(int(w.get("pid", 0))):
        return w
    return None


def died(store) -> dict | None:
    """The info of a worker that died without finishing (killed, reboot)."""
    w = info(store)
    if w and "exit" not in w and not alive(int(w.get("pid", 0))):
        return w
    return None


def start(run, lock_fd: int, job: str, work) -> int:
    """Fork a worker that inherits `lock_fd` (so the lock stays held until it
    exits) and runs `work(watchdog)`. Returns its pid; the caller must leave
    the lock's `with` block (closing its own descriptor) right after."""
    store = run.store
    log_path = store.path(LOG)
    sys.stdout.flush()
    sys.stderr.flush()
    go_r, go_w = os.pipe()  # closed by the parent once worker.json names the worker
    done_r, done_w = os.pipe()  # the child holds done_w until it exits: the parent wakes at once
    about = {"job": job, "iter": (run.current or {}).get("iter"), "started": time.time()}
    pid = os.fork()
    if pid:  # worker.json names the worker before anyone can see the lock held by it
        os.close(go_r)
        os.close(done_w)
        _exits[pid] = done_r
        atomic_write(store.path(STATE), json.dumps({"pid": pid, **about}).encode(), durable=False)
        os.close(go_w)
        return pid
    code = 0
    try:  # the child: never returns into the caller's code
        os.close(go_w)
        os.close(done_r)
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        low = 3  # every descriptor but the standard streams, the lock and the two pipes
        for fd in sorted({lock_fd, done_w, go_r}) + [256]:
            os.closerange(low, fd)
            low = fd + 1
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        stamp_lock(lock_fd)
        me = {"pid": os.getpid(), **about}  # what the parent writes to worker.json meanwhile (its fsync overlaps the work)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, _on_signal)
        watchdog = runner.Watchdog()
        try:
            work(watchdog)
            me["exit"] = 0
        except Interrupted as exc:
            me.update(exit=128, error=f"stopped by {exc}")
        except BaseException as exc:  # noqa: BLE001 - recorded for the next command
            import traceback  # only on this path (milliseconds to import)
            traceback.print_exc()
            me.update(exit=1, error=" ".join(f"{type(exc).__name__}: {exc}".split())[:300])
        finally:
            watchdog.close()
        code = me["exit"]
        while True:  # the exit status goes over the parent's worker.json, never under it
            try:
                os.read(go_r, 1)
                break
            except Interrupted:
                continue  # the work is over: a stop asked now has nothing left to stop
        atomic_write(store.path(STATE), json.dumps(me).encode(), durable=False)
        fcntl.flock(lock_fd, fcntl.LOCK_UN)  # free now: the kernel frees it only a moment after the exit
        os.close(done_w)  # the parent wakes with the lock free
    except BaseException:  # noqa: BLE001
        code = 1
    finally:
        os._exit(code)


_exits: dict[int, int] = {}  # our own workers: pid -> read end of the pipe their exit closes


def wait_exit(pid: int | None, timeout: float) -> bool:
    """Wait up to `timeout` seconds for our own worker `pid` to exit; True
    when it has (woken by its pipe closing, not by polling)."""
    fd = _exits.get(pid)
    if fd is None:
        return True
    ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
    if not ready:
        return False
    os.close(_exits.pop(pid))
    reap(pid)
    return True


def reap(pid: int | None) -> None:
    """Collect our own worker child once it has exited (no zombie)."""
    if pid:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def stop(store, timeout: float = 10.0) -> bool:
    """Ask a running worker to stop (SIGTERM: it kills its trial and exits);
    SIGKILL after `timeout` (the watchdog then kills the trial). True when a
    worker was running."""
    w = running(store)
    if not w:
        return False
    pid = int(w["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        reap(pid)
        time.sleep(0.05)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return True
