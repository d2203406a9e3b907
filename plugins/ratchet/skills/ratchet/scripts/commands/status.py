"""`status`: where the run stands and what to do next (JSON for the model,
a table for people)."""

from __future__ import annotations

from pathlib import Path

from commands.common import resume, runner_up_hint, store_of
from commands.trial import running_answer
from shell import worker
from shell.context import load
from shell.store import Busy
from views import status as view


def status(cwd: Path) -> dict:
    """Where the run stands. Finishes interrupted work first when it can;
    while another command holds the lock, reports what is on disk."""
    store = store_of(cwd)
    try:
        with store.lock():
            run = resume(load(cwd), cwd)
    except Busy:
        run = load(cwd)
    return view.status_dict(run, runner_up_hint(run), _measuring(run))


def status_text(cwd: Path) -> str:
    run = load(cwd)
    return view.status_text(run, run.history, _measuring(run))


def _measuring(run) -> dict | None:
    """The worker's progress while it measures."""
    if not worker.running(run.store):
        return None
    out = running_answer(run, 0.0)
    return {k: out[k] for k in ("running", "trials_done", "trials_needed", "elapsed_s", "eta_s")}
