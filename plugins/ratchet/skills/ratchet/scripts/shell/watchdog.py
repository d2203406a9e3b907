"""Kills the benchmark when the process measuring it dies, even by SIGKILL.

Run as `python3 -I -S watchdog.py` (standard library only, imports nothing
of ratchet's, so it starts in milliseconds) in a session of its own, with a
pipe on stdin whose write end only the measuring process holds. That process
writes a trial's process-group id when the trial starts and `0` when it has
ended. When the pipe closes (the measuring process exited or was killed) and
the last id written is not 0, the whole group is killed: no benchmark, and
none of its children, outlives the process that measures it. Works wherever
pipes do (Linux and macOS), unlike a parent-death signal, which reaches only
the direct child and not the benchmark's own children.
"""

import os
import signal
import sys


def main() -> int:
    last = 0
    for line in sys.stdin:
        try:
            last = int(line.strip() or 0)
        except ValueError:
            continue
    if last > 0:
        try:
            os.killpg(last, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe ends it
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sys.exit(main())
