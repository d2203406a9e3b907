"""How long one command may wait for a measurement, and what is left. Pure.

The client's Bash tool gives a call 120 s by default and moves a longer call
to the background, where its answer never reaches the model. So no ratchet
command waits longer than `bound()`: 90 s by default, or less when the
user lowered the tool's timeout (`BASH_DEFAULT_TIMEOUT_MS`, which the Bash
tool's environment carries when set). The measurement itself goes on in
the worker; the answer then says `running` and how much is left.
"""

from __future__ import annotations

DEFAULT_WAIT = 90.0   # seconds: comfortably below the client's 120 s
MIN_WAIT = 0.5
SHARE = 0.75          # of the client's timeout, minus a second for ratchet's own start and answer


def bound(requested: float | None, bash_timeout_ms: str | None) -> float:
    """Seconds a command may wait: `requested` (--wait) when given, else
    the default, kept below a lowered client timeout."""
    if requested is not None:
        return max(0.0, requested)
    try:
        client = float(bash_timeout_ms) / 1000.0 if bash_timeout_ms else None
    except ValueError:
        client = None
    if client is None or client <= 0:
        return DEFAULT_WAIT
    return max(MIN_WAIT, min(DEFAULT_WAIT, SHARE * client - 1.0))


def eta(durations: list[float], done: int, needed: int) -> float | None:
    """Seconds left for `needed - done` more trials at the mean duration so
    far (None before the first trial). For the sequential design `needed`
    is its cap, so this is an upper bound."""
    if not durations:
        return None
    return max(0, needed - done) * sum(durations) / len(durations)
