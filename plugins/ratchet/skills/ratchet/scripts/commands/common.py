"""What every writing command does first: take the lock, load the run under
it, finish interrupted work, check the run can go on.

Crash safety: `decide` records its intent in current.json before touching
git; every writing command first finishes such a pending decision
(`resume`), idempotently, so a run killed at any point resumes with nothing
lost and nothing counted twice.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from core import scope
from core.errors import UsageError
from core.history import LOG_EDITED, STATE_EDITS, fold
from shell import fingerprints, gitops, measure, worker
from shell.context import Run, load
from shell.store import Store


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def store_of(cwd: Path) -> Store:
    """The store of the run around `cwd`; UsageError when there is none."""
    store = Store(gitops.repo_root(cwd))
    if not store.exists():
        raise UsageError("no ratchet run in this repository; start one with ratchet.py init ...")
    return store


@contextlib.contextmanager
def locked(cwd: Path, *, running: bool = True, wait: float = 0.0):
    """The run, loaded while holding the writers' lock (never from a read
    taken before it), with interrupted work finished. `running`: refuse a
    stopped run. `wait`: seconds to wait for the lock (Busy after)."""
    with store_of(cwd).lock(wait) as fd:
        run = resume(load(cwd), cwd)
        run.lock_fd = fd
        if running:
            require_running(run)
        yield run


def refuse_other_work(store: Store, joins: tuple[str, ...]) -> None:
    """UsageError at once when the measurement worker runs a job this
    command does not wait for (`joins`: the jobs it does)."""
    w = worker.running(store)
    if w and w.get("job") not in joins:
        what = {"trials": "run-trial --all", "guard": "decide", "confirm": "decide"}.get(w.get("job"), "status")
        raise UsageError(f"another ratchet command is running in this repository (the measurement worker, "
                         f"pid {w.get('pid')}, job {w.get('job')}); wait for it with ratchet.py {what}")


def require_running(run: Run) -> None:
    stop = run.stop
    if stop["stopped"]:
        raise UsageError(f"the run has stopped ({stop['reason']}); start a new one with init")


def require_head_at_best(run: Run, head_answer=None) -> str:
    """HEAD's sha, which must be the best commit (the start before the
    baseline); `head_answer`: a `gitops.head_sha_later` already asking."""
    head = head_answer() if head_answer else gitops.head_sha(run.root)
    if head != run.expected_head:
        raise UsageError(f"HEAD is {str(head)[:10]} but ratchet expects {run.expected_head[:10]}; "
                         "read instructions/reverting.md")
    return head


def fingerprint(root: Path, globs) -> dict[str, str]:
    """Protected files' fingerprints; caches git ignores inside a protected folder don't count."""
    return fingerprints.fingerprint(root, globs, lambda paths: gitops.ignored_among(root, paths))


def protected_problems(run: Run) -> list[str]:
    return fingerprints.compare(run.meta.get("protected", {}), fingerprint(run.root, run.config.protect))


def scope_problems(run: Run, base: str, candidate: str) -> list[str]:
    """How the change from `base` to `candidate` leaves `--editable` (none without it)."""
    if not run.config.editable:
        return []
    changes = gitops.name_status(run.root, base, candidate)
    links = gitops.symlink_targets(run.root, candidate, [p for st, p in changes if st != "D"])
    return scope.problems(changes, links, run.config.editable)


def finish_pending(run: Run, pending: dict) -> tuple[dict, Run]:
    """Carry out `pending` (the decision recorded in current.json's
    "deciding"). Idempotent: each step checks whether it already happened.
    Returns the record as logged and the run after it."""
    record, best_sha = dict(pending["record"]), pending["best_sha"]
    it = record["iter"]
    root, excl = run.root, run.excluded
    if record["kept"] and it > 0:
        gitops.advance_head(root, record["sha"], best_sha, sync_index=False)  # the restore resets the index
        gitops.restore(root, record["sha"], exclude=excl)
    elif it > 0:
        ref = run.store.attempt_ref(run.key, it)
        if record.get("final_sha"):
            gitops.save_ref(root, ref + "-final", record["final_sha"])
        if record.get("sha"):
            gitops.save_ref(root, ref, record["sha"])
            patch = run.store.patch_path(it)
            patch.write_text(gitops.diff(root, best_sha, record["sha"]))
            record.update(attempt_ref=ref, patch=run.store.rel(patch))
        gitops.restore(root, best_sha, exclude=excl)
    else:
        gitops.restore(root, best_sha, exclude=excl)
    summary = run.summary
    last = summary.last
    if not last or last["iter"] != it:
        record = run.store.append_result(record, run.key, summary, trusted=LOG_EDITED not in run.tampered)
        summary = fold(summary, record)
    run.store.clear("current.json")
    return record, run.replace(summary=summary, current=None,
                               tampered=[p for p in run.tampered if p in STATE_EDITS])


def resume(run: Run, cwd: Path) -> Run:
    """Undo what a crash interrupted: put the candidate back in place if the
    incumbent's code was showing, and finish a pending decision. Returns the
    fresh run."""
    if run.current and measure.heal(run, run.current):
        run = load(cwd)
    if run.current and run.current.get("deciding"):
        return finish_pending(run, run.current["deciding"])[1]
    return run


def runner_up_hint(run: Run) -> str | None:
    """Critic mode's note for `next` when a runner-up is waiting (critic
    modules are imported only when the run has used critic mode)."""
    if not run.store.path("proposals").exists():
        return None
    from critic import proposals
    return proposals.runner_up_hint(run)
