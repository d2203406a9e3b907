"""`run-trial` (measure the current iteration) and `score` (a metric the
parser could not read, supplied from the captured report)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path


from commands.common import (locked, now, protected_problems, refuse_other_work, require_head_at_best,
                             scope_problems, store_of)
from core import design as design_mod
from core import extract, waiting
from core.errors import UsageError
from core.runstate import CMD, next_step, phase_of
from shell import fingerprints, gitops, measure, worker
from shell.context import Run, load
from shell.store import Busy
from views import answer


def _start_iteration(run: Run, hypothesis: str | None) -> dict:
    """Snapshot the candidate as the model left it, before any trial runs.
    A refusal writes nothing: the baseline's is decided before the snapshot
    (its edits would be new objects); a later iteration's is read from the
    snapshot's tree, before the candidate commit (an unchanged tree is
    HEAD's, already stored; excluded paths keep the best commit's version,
    so editing only them is no change). After the baseline, git checks HEAD
    while the snapshot is built on the best commit; HEAD found elsewhere
    leaves only the snapshot's unreferenced git objects, which git's gc
    removes."""
    if run.iteration == 0:
        head = require_head_at_best(run)
        if [p for p in gitops.dirty_paths(run.root) if p not in run.excluded]:
            raise UsageError("the baseline must measure the start commit unchanged; undo your edits first "
                             "(see instructions/reverting.md)")
        tree = gitops.snapshot_tree(run.root, head, exclude=run.excluded)
    else:
        head_answer = gitops.head_sha_later(run.root)
        tree = gitops.snapshot_tree(run.root, run.expected_head, exclude=run.excluded)
        head = require_head_at_best(run, head_answer)
    same = tree == gitops.tree_of(run.root, head)
    if run.iteration == 0 and not same:
        raise UsageError("the baseline must measure the start commit unchanged; undo your edits first "
                         "(see instructions/reverting.md)")
    if run.iteration > 0 and same:
        raise UsageError("the working tree equals the best commit: there is no change to measure; "
                         "make one change first")
    candidate = gitops.commit_tree(run.root, tree, head, f"ratchet candidate iter {run.iteration}")
    return {"iter": run.iteration, "hypothesis": hypothesis or "", "candidate": candidate,
            "candidate_tree": tree, "home": candidate, "base": head, "trials": [], "started": now()}


def run_trial(cwd: Path, run_all: bool, hypothesis: str | None, wait: float | None = None) -> dict:
    """Run the next trial (or all remaining ones) of the current iteration,
    in the measurement worker; wait for it at most `core.waiting.bound`
    seconds, then answer `running` (the worker goes on)."""
    bound = waiting.bound(wait, os.environ.get("BASH_DEFAULT_TIMEOUT_MS"))
    store = store_of(cwd)
    refuse_other_work(store, ("trials",))
    recovered = worker.died(store)
    out = drive(cwd, store, bound, lambda run, spawned: _step(run, run_all, hypothesis, spawned),
                done=_measured if run_all else None)
    if recovered and "running" not in out and "integrity_violation" not in out:
        out["recovered"] = (f"the measurement process (pid {recovered.get('pid')}) had died; "
                            "its unfinished trial was dropped and run again")
    return out


def _measured(run: Run) -> bool:
    """Every trial the iteration needs is recorded (the worker only has its exit left)."""
    return run.current is not None and run.measurement_done(run.current)


FINISH_GRACE = 1.0  # seconds to wait, past the bound, for a worker that has finished but not yet exited


def drive(cwd: Path, store, bound: float, step, command: str = "run-trial --all", done=None) -> dict:
    """`step(run, spawned)` under the lock until it answers (a dict). When it
    returns the pid of a measurement worker it started, wait for that worker
    (at most until `bound` seconds have passed, else answer `running`: the
    worker goes on, and `command` called again picks up) and step again.
    A worker that is finishing when the bound runs out (its exit recorded,
    or `done(run)`: its job's results all on disk, and it still holds the
    lock) is waited for once, at most min(FINISH_GRACE, bound / 4) more,
    instead of answering `running` (with the results already in) or
    refusing."""
    deadline = time.monotonic() + bound
    spawned, grace = None, True

    def extended() -> bool:
        """The grace, once, for a worker that is finishing: its answer (and the lock) a moment away."""
        nonlocal grace, deadline
        if grace and (worker.finishing(store) or (done and worker.running(store) and done(load(cwd)))):
            grace, deadline = False, time.monotonic() + min(FINISH_GRACE, bound / 4)
            return True
        return False

    while True:
        if spawned is not None and not worker.wait_exit(spawned, deadline - time.monotonic()):
            if extended():
                continue
            worker.reap(spawned)
            return running_answer(load(cwd), bound, command)
        try:
            with locked(cwd, wait=max(0.0, deadline - time.monotonic())) as run:
                out = step(run, spawned)
        except Busy:
            worker.reap(spawned)
            if extended():
                continue
            if worker.running(store):
                return running_answer(load(cwd), bound, command)
            raise
        worker.reap(spawned)
        if isinstance(out, dict):
            return out
        spawned = out


def _step(run: Run, run_all: bool, hypothesis: str | None, spawned: int | None) -> dict | int:
    """Under the lock: the answer, or the pid of a worker just started."""
    cur = run.current
    if spawned is not None and cur is None:  # decided by another command while we waited: never start anew
        return {"iter": run.iteration - 1, "decided": True, "next": next_step(run.phase(), run.stop, run.config.critic)}
    problems = protected_problems(run) + run.tampered
    if problems:
        cur = cur or {"iter": run.iteration, "hypothesis": hypothesis or "", "trials": []}
        cur["integrity_problems"] = problems
        run.store.write_sealed("current.json", cur, run.key)
        return {"iter": cur["iter"], "integrity_violation": problems, "next": next_step("decide")}
    if cur is None:
        cur = _start_iteration(run, hypothesis)
        outside = scope_problems(run, cur["base"], cur["candidate"])
        if outside:  # judged before any trial runs: nothing is measured for a change that cannot be kept
            cur["integrity_problems"] = outside
            run.store.write_sealed("current.json", cur, run.key)
            return {"iter": cur["iter"], "integrity_violation": outside, "next": next_step("decide")}
        run.store.write_sealed("current.json", cur, run.key, keep_old=True)  # lost to a power cut: snapshot again
    elif hypothesis and not cur.get("hypothesis"):
        cur["hypothesis"] = hypothesis
        run.store.write_sealed("current.json", cur, run.key)
    run.current = cur
    waiting_score = any(t["status"] == "needs_score" for t in cur["trials"])
    if spawned is None and not run.measurement_done(cur) and not waiting_score:
        def work(watch):
            run.watch = watch
            measure.measure(run, cur, run_all)
        return worker.start(run, run.lock_fd, "trials", work)
    if spawned is not None:
        failed = worker.info(run.store) or {}
        if failed.get("exit"):
            raise UsageError(f"the measurement stopped ({failed.get('error', 'unknown error')}); "
                             f"run {CMD} run-trial --all to go on (details: .ratchet/{worker.LOG})")
    rf = run.report_file()
    if rf is not None:  # the report file as run-trial leaves it; decide checks nobody touched it since
        cur["report_stamp"] = fingerprints.file_stamp(rf)
        run.store.write_sealed("current.json", cur, run.key)
    return _answer(run, cur)


def _answer(run: Run, cur: dict) -> dict:
    done = run.measurement_done(cur)
    out = {"iter": cur["iter"], "trials_done": len(cur["trials"]), "trials_needed": run.trials_needed(),
           "next": next_step(phase_of(cur, cur["iter"], done), critic=run.config.critic)}
    paired = run.design is not None and run.design.is_paired and cur["iter"] > 0
    if paired:
        out["pairs"] = len(design_mod.complete_pairs(cur["trials"]))
        out["test"] = answer.test_view(run.test_of(cur["trials"]).to_dict())
        checks = run.constraint_checks(cur["trials"])
        if checks:
            out["constraints"] = answer.constraint_lines([c.to_dict() for c in checks])
    out.update(answer.trials_view(cur["trials"], paired))
    return out


def running_answer(run: Run, bound: float, command: str = "run-trial --all") -> dict:
    """While the worker measures: progress, elapsed and an estimate of what is left."""
    w = worker.running(run.store) or {}
    cur = run.current or {}
    trials = cur.get("trials", [])
    box = cur.get("confirm")
    if w.get("job") == "confirm" and box:
        trials = box["trials"]
        needed = 2 * run.config.confirm_pairs
    else:
        needed = run.trials_needed()
    elapsed = time.time() - w["started"] if w.get("started") else None
    left = waiting.eta([t["duration_s"] for t in trials if t.get("duration_s") is not None], len(trials), needed)
    return {"iter": cur.get("iter", run.iteration), "running": w.get("job", "measurement"),
            "trials_done": len(trials), "trials_needed": needed,
            "elapsed_s": None if elapsed is None else round(elapsed, 1),
            "eta_s": None if left is None else round(left, 1),
            "next": f"{CMD} {command} (waits up to {bound:g} s more; the measurement goes on meanwhile)"}


def score(cwd: Path, value: str, trial: int | None) -> dict:
    """Accept a score the model read from a report the parser could not read.

    The number must appear literally in the captured report, and the report
    must be the one ratchet captured (same hash)."""
    with locked(cwd, running=False) as run:
        cur = run.current
        waiting = [t for t in (cur or {}).get("trials", []) if t["status"] == "needs_score"]
        if trial is not None:
            waiting = [t for t in waiting if t["trial"] == trial]
        if not waiting:
            raise UsageError("no trial is waiting for a score; see ratchet.py status")
        t = waiting[0]
        path = run.root / t["report"]
        if fingerprints.sha256_file(path) != t["report_sha256"]:
            raise UsageError(f"{t['report']} changed after the trial; a score can only come from the captured report")
        if not extract.appears_literally(path.read_text(errors="replace"), value):
            raise UsageError(f"{value!r} does not appear in {t['report']}; copy the number exactly as printed")
        number = float(value)
        if not math.isfinite(number):
            raise UsageError(f"{value!r} is not a score (nan/inf); count this trial as a crash with decide")
        t.update(status="ok", score=number, score_source="agent", problem="")
        run.store.write_sealed("current.json", cur, run.key)
        phase = phase_of(cur, cur["iter"], run.measurement_done(cur))
    return {"iter": cur["iter"], "trial": t["trial"], "score": number, "score_source": "agent",
            "next": next_step(phase, critic=run.config.critic)}
