"""`stop`: end the run on the user's request. Stops the measurement worker
(its unfinished trial is dropped), saves the change in progress where every
reverted attempt goes, restores the best commit, records `user_stopped`."""

from __future__ import annotations

from pathlib import Path

from commands.common import locked, now, store_of
from core.runstate import CMD
from shell import gitops, worker
from shell.store import STOP_REQUEST
from views.status import total


def stop(cwd: Path) -> dict:
    store = store_of(cwd)
    stopped_worker = worker.stop(store)
    with locked(cwd, running=False, wait=30.0) as run:
        if run.stop["stopped"]:
            return {"stopped": True, "reason": run.stop["reason"], "already_stopped": True,
                    "best": run.best, "next": f"show `{CMD} status --format text` to the user"}
        saved = _save_work_in_progress(run)
        run.store.clear("current.json")
        request = run.store.write_sealed(STOP_REQUEST, {"reason": "user_stopped", "at": now(),
                                                        "iter": run.iteration, "saved": saved}, run.key)
        run.user_stop = request
    return {"stopped": True, "reason": "user_stopped", "measurement_stopped": stopped_worker,
            "saved": saved, "best": run.best, "total": total(run.summary, run.config.direction),
            "next": f"show `{CMD} status --format text` to the user"}


def _save_work_in_progress(run) -> dict | None:
    """The tree's difference from the best commit, saved as a commit under
    refs/ratchet/<run>/iter-NNNN-stopped and a patch; then the best restored."""
    best = run.expected_head
    exclude = run.excluded
    snap = gitops.snapshot(run.root, best, f"ratchet: work in progress at stop, iter {run.iteration}",
                           exclude=exclude)
    saved = None
    if gitops.tree_of(run.root, snap) != gitops.tree_of(run.root, best):
        ref = run.store.attempt_ref(run.key, run.iteration) + "-stopped"
        gitops.save_ref(run.root, ref, snap)
        patch = run.store.path("patches", f"{run.store.label(run.iteration, 'stopped')}.diff")
        run.store.patch_path(run.iteration)  # creates patches/
        patch.write_text(gitops.diff(run.root, best, snap))
        saved = {"ref": ref, "patch": run.store.rel(patch)}
    if gitops.head_sha(run.root) == best:
        gitops.restore(run.root, best, exclude=exclude)
    return saved
