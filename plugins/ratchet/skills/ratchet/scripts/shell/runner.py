"""Running one trial of a shell command.

`run(command, cwd, stdout_path, stderr_path, timeout)` runs `command` with
`/bin/sh -c` in its own process group, stdin closed, and streams stdout and
stderr to files as they arrive (never held in memory). Each stream keeps its
first `HEAD_BYTES` and last `TAIL_BYTES`; what lies between is dropped and a
marker line says how much, so a command printing gigabytes costs bounded disk
and memory while the summary it prints at the end survives.

On timeout the whole process group (grandchildren included) gets SIGTERM,
then SIGKILL after `GRACE_SECONDS`. When the command exits on its own, any
process it left behind in its group is killed too, so stragglers cannot skew
the next trial. When the wait is interrupted (a signal handler raising, see
`shell.worker`), the group is killed before the exception goes on. `watch`
(a `Watchdog`) is told the group while it runs, so even a SIGKILL of this
process ends the benchmark.
"""

import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import NamedTuple

HEAD_BYTES = 8 * 1024 * 1024
TAIL_BYTES = 1024 * 1024
GRACE_SECONDS = 2.0
CHUNK = 64 * 1024


class Outcome(NamedTuple):
    """What happened. `exit_code` is negative (-signal) when killed by a signal."""

    exit_code: int | None
    timed_out: bool
    duration_s: float
    stdout_bytes: int
    stderr_bytes: int
    truncated: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def _pump(stream, path: Path, counters: dict, key: str) -> None:
    """Copy `stream` to `path`: head in place, a tail ring, a marker between."""
    total = 0
    tail = bytearray()
    with open(path, "wb") as out:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            room = HEAD_BYTES - total
            if room > 0:
                out.write(chunk[:room])
            if len(chunk) > room:
                tail += chunk[max(room, 0):]
                if len(tail) > TAIL_BYTES:
                    del tail[:len(tail) - TAIL_BYTES]
            total += len(chunk)
        if total > HEAD_BYTES:
            dropped = total - HEAD_BYTES - len(tail)
            if dropped > 0:
                out.write(f"\n[ratchet: {dropped} bytes dropped from the middle]\n".encode())
            out.write(tail)
    stream.close()
    counters[key] = total


def copy_capped(src: Path, dst: Path) -> int:
    """Copy file `src` to `dst` keeping head and tail like a stream; returns
    the source size in bytes."""
    counters: dict = {}
    _pump(open(src, "rb"), dst, counters, "n")
    return counters["n"]


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _parents() -> dict[int, int]:
    """{pid: parent pid} of every process (Linux /proc; `ps` elsewhere)."""
    out = {}
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as fh:
                        out[int(name)] = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        return out
    try:
        text = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            out[int(parts[0])] = int(parts[1])
    return out


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (children first), whatever their process group
    or session: a program that starts its children with `setsid` (the Claude Code CLI's
    Bash tool does) escapes a group kill, not this list."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop(0)
        if p not in out:
            out.append(p)
            todo.extend(children.get(p, []))
    return out


def kill_tree(pids: list[int]) -> None:
    """SIGKILL each of `pids` and its process group (the caller collected them while
    their parent was alive, or is their subreaper)."""
    for p in pids:
        _kill_group(p, signal.SIGKILL)
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Watchdog:
    """Kills the running trial's process group if this process dies, even by
    SIGKILL: a `/bin/sh` in a session of its own reads process-group ids
    from a pipe whose write end only this process holds (the group of the
    trial now running, 0 when none); when the pipe closes and the last id
    is not 0, it kills that group. Pipes work wherever ratchet does (Linux
    and macOS), unlike a parent-death signal, which reaches only the direct
    child and not the benchmark's own children; and `sh` starts in a
    millisecond, so watching costs the measurement nothing."""

    SCRIPT = ("trap '' INT HUP; last=0; while read -r pg; do last=$pg; done; "
              "[ \"$last\" -gt 0 ] 2>/dev/null && kill -KILL -\"$last\" 2>/dev/null; exit 0")

    def __init__(self):
        self.proc = subprocess.Popen(["/bin/sh", "-c", self.SCRIPT], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, text=True)

    def watch(self, pgid: int) -> None:
        """`pgid` is running (0: nothing is)."""
        try:
            self.proc.stdin.write(f"{pgid}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def close(self) -> None:
        self.watch(0)
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait()


def wait(proc: subprocess.Popen, timeout: float | None) -> None:
    """`proc.wait(timeout)`, woken the moment the process exits where the
    system tells (a pidfd: Linux 5.3 and later). Popen.wait with a timeout
    checks after sleeps of 1, 2, 4 ... ms instead, which would add up to as
    much again to a quick trial's time. Raises subprocess.TimeoutExpired
    as it does."""
    fd = None
    if timeout is not None and hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(proc.pid)
        except OSError:  # an older kernel: Popen's own wait
            pass
    if fd is None:
        proc.wait(timeout=timeout)
        return
    try:
        poller = select.poll()  # not select(): no limit on the descriptor's number
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while not poller.poll(max(0.0, min(deadline - time.monotonic(), 86400.0)) * 1000):
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    proc.wait()


def run(command: str, cwd: Path, stdout_path: Path, stderr_path: Path,
        timeout: float | None, env: dict | None = None, watch: Watchdog | None = None,
        tree: bool = False) -> Outcome:
    """Run `command` once; see the module docstring for the guarantees.
    `tree`: also kill every descendant, even those in sessions of their own
    (`descendants`), before the group is killed."""
    start = time.monotonic()
    proc = subprocess.Popen(
        command, shell=True, cwd=str(cwd), env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    if watch:
        watch.watch(proc.pid)
    counters: dict = {}
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, stdout_path, counters, "out"), daemon=True),
             threading.Thread(target=_pump, args=(proc.stderr, stderr_path, counters, "err"), daemon=True)]
    for t in pumps:
        t.start()
    timed_out = False
    try:
        try:
            wait(proc, timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            if tree:
                kill_tree(descendants(proc.pid))
            _kill_group(proc.pid, signal.SIGTERM)
            try:
                wait(proc, GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        duration = time.monotonic() - start
    finally:  # on an interrupt too: nothing of the trial may outlive it
        if tree:
            kill_tree(descendants(proc.pid))
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        if watch:
            watch.watch(0)
    for t in pumps:
        t.join(timeout=10)
    out_n, err_n = counters.get("out", 0), counters.get("err", 0)
    return Outcome(
        exit_code=proc.returncode, timed_out=timed_out, duration_s=round(duration, 4),
        stdout_bytes=out_n, stderr_bytes=err_n,
        truncated=max(out_n, err_n) > HEAD_BYTES + TAIL_BYTES,
    )
