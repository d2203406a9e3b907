"""`decide`: gather the facts of the iteration, apply the rule
(`core.decision.decide`), act on the outcome (commit or revert, confirm, log)."""

from __future__ import annotations

import os
from pathlib import Path

from commands.common import (finish_pending, fingerprint, locked, now, protected_problems, refuse_other_work,
                             runner_up_hint, scope_problems, store_of)
from commands.trial import drive
from core import constraints, decision, design, waiting
from core.errors import UsageError
from core.runstate import CMD, next_step, phase_of
from shell import fingerprints, gitops, measure, runner, worker
from shell.context import Run
from views import answer
from views.status import total, warnings


def _late_edits(run: Run, cur: dict, final: str) -> list[str]:
    """Files changed after the trials started (measured one thing, would
    commit another). New files are run outputs and are ignored."""
    if not cur.get("candidate") or final == cur["candidate"]:
        return []
    changed = gitops.name_status(run.root, cur["candidate"], final)
    return [f"{path} changed after the trials started" for st, path in changed if st != "A"]


def _report_problems(run: Run, cur: dict) -> list[str]:
    """The report file changed since run-trial finished (a planted report)."""
    rf = run.report_file()
    if rf is None or "report_stamp" not in cur:
        return []
    if fingerprints.file_stamp(rf) != cur["report_stamp"]:
        return [f"report file {run.config.report_source} was modified after the last trial"]
    return []


def _unrestorable(run: Run) -> list[str]:
    """Protected files a revert cannot put back (git-ignored ones ratchet never touches)."""
    tracked = set(gitops.git(run.root, "ls-files", "-z").split("\0"))
    now_prints = fingerprint(run.root, run.config.protect)
    return [p for p in fingerprints.compare(run.meta.get("protected", {}), now_prints)
            if p.split(": ", 1)[1] not in tracked]


def _run_guard(run: Run, it: int) -> dict:
    files = run.store.report_files(run.store.label(it, "guard"))
    o = runner.run(run.config.guard_command, run.workdir, files["txt"], files["err"], run.config.trial_timeout_seconds,
                   watch=run.watch)
    return {"passed": o.ok, "exit_code": o.exit_code, "timed_out": o.timed_out,
            "duration_s": o.duration_s, "output": run.store.rel(files["txt"])}


def _extra_fields(run: Run, cur: dict) -> dict:
    """Mode-specific record fields: critic mode's, when the run uses it."""
    if not run.store.path("proposals").exists():
        return {}
    from critic import proposals  # critic mode is imported only when it was used
    return proposals.record_fields(run, cur)


def _candidate_tree(run: Run, cur: dict) -> str:
    """The measured snapshot's tree (recorded by run-trial; asked from git
    for a current.json of an older version)."""
    return cur.get("candidate_tree") or gitops.tree_of(run.root, cur["candidate"])


def _final(run: Run, cur: dict) -> str:
    """The work tree at decide time as a commit: the candidate itself when
    its tree is unchanged (the common case: no commit is made), else a new
    snapshot commit."""
    tree = gitops.snapshot_tree(run.root, run.expected_head, exclude=run.excluded)
    candidate = cur.get("candidate")
    if candidate and tree == _candidate_tree(run, cur):
        return candidate
    return gitops.commit_tree(run.root, tree, run.expected_head, f"ratchet attempt iter {cur['iter']}")


def _facts(run: Run, cur: dict, description: str, extra: dict | None = None) -> decision.Facts:
    final = _final(run, cur)
    candidate = cur.get("candidate")
    problems = (list(cur.get("integrity_problems", [])) + run.tampered + protected_problems(run)
                + _report_problems(run, cur) + _late_edits(run, cur, final)
                + (scope_problems(run, cur["base"], candidate) if candidate else []))
    problems = list(dict.fromkeys(problems))
    return decision.Facts(
        iteration=cur["iter"], hypothesis=cur.get("hypothesis", ""), description=description,
        trials=cur.get("trials", []), config=run.config, summary=run.summary, margin=run.margin(),
        integrity_problems=problems, start_sha=run.start_sha, candidate=candidate, final=final,
        final_differs=bool(candidate) and final != candidate,
        unrestorable=_unrestorable(run) if problems else [], extra={**_extra_fields(run, cur), **(extra or {})},
        started=cur.get("started"), now=now(), elapsed=run.elapsed)


def decide(cwd: Path, description: str, wait: float | None = None, extra: dict | None = None) -> dict:
    """Decide the current iteration, keep or revert, log it, check stops.
    The guard and the confirmation run go to the measurement worker; when
    they outlast the wait bound the answer says `running` and calling
    decide again picks up where they are. `extra`: fields added to the
    record (`ratchet.py loop`: the agent's telemetry)."""
    if not description.strip():
        raise UsageError("--description must not be empty: say what the change was")
    bound = waiting.bound(wait, os.environ.get("BASH_DEFAULT_TIMEOUT_MS"))
    store = store_of(cwd)
    refuse_other_work(store, ("guard", "confirm"))
    return drive(cwd, store, bound, lambda run, spawned: _step(run, description, spawned, extra),
                 "decide --description TEXT (the same)", done=_job_done)


def _job_done(run: Run) -> bool:
    """The worker's guard or confirmation run has its result on disk."""
    job, cur = (worker.info(run.store) or {}).get("job"), run.current or {}
    if job == "guard":
        return (cur.get("guard") or {}).get("result") is not None
    box = cur.get("confirm")
    return job == "confirm" and bool(box) and design.confirmation(
        box["trials"], run.config.confirm_pairs, run.config.direction) is not None


def _worker_failed(run: Run, spawned: int | None, what: str) -> None:
    if spawned is None:
        return
    w = worker.info(run.store) or {}
    if w.get("exit"):
        raise UsageError(f"the {what} stopped ({w.get('error', 'unknown error')}); run {CMD} decide again "
                         f"to go on (details: .ratchet/{worker.LOG})")


def record_agent_outcome(cwd: Path, outcome: str, reason: str, description: str, hypothesis: str = "",
                         extra: dict | None = None, wait: float | None = None) -> dict:
    """Start an iteration nothing is measured for (`ratchet.py loop`: the agent made no
    change, failed, or ran git) and decide it with `decide`: the same facts, rule and
    actions (integrity findings still win: a protected file touched is an
    `integrity_violation`; the attempt is saved like every reverted one, the best commit
    restored; a confirmation run when the run stops)."""
    if outcome not in decision.AGENT_OUTCOMES:
        raise UsageError(f"unknown agent outcome {outcome!r}")
    with locked(cwd) as run:
        if run.current is not None:
            raise UsageError(f"iteration {run.iteration} is being measured; decide it first")
        run.store.write_sealed("current.json", {"iter": run.iteration, "hypothesis": hypothesis, "trials": [],
                                                "started": now(), "agent_outcome": [outcome, reason]}, run.key)
    return decide(cwd, description or outcome, wait, extra)


def _step(run: Run, description: str, spawned: int | None, extra: dict | None = None) -> dict | int:
    """Under the lock: the answer, or the pid of a worker just started for
    the guard or the confirmation run."""
    cur = run.current
    if cur is None and run.tampered:  # current.json itself was edited: decide on what is left
        cur = {"iter": run.iteration, "hypothesis": "", "trials": []}
    flagged = bool(cur and (cur.get("integrity_problems") or run.tampered or cur.get("agent_outcome")))
    if cur is None or (not cur.get("trials") and not flagged):
        raise UsageError(f"nothing to decide: run {CMD} run-trial --all first")
    waiting_score = any(t["status"] == "needs_score" for t in cur["trials"])
    if not (flagged or waiting_score or run.measurement_done(cur)):
        raise UsageError(f"the measurement is not finished: run {CMD} run-trial --all first")
    facts = _facts(run, cur, description, extra)
    if cur.get("agent_outcome"):
        facts = facts._replace(agent_outcome=tuple(cur["agent_outcome"]))
    outcome = decision.decide(facts)
    if outcome.needs_guard:
        guard = (cur.get("guard") or {}).get("result") if (cur.get("guard") or {}).get("for") == facts.candidate else None
        if guard is None:
            _worker_failed(run, spawned, "guard command")
            return _start(run, cur, "guard", lambda watch: _guard_job(run, cur, facts.candidate, watch))
        outcome = decision.decide(facts._replace(guard=guard))
    record, best_sha = outcome.record, facts.best_sha
    if record["kept"] and cur["iter"] > 0:
        kept = cur.get("kept_commit") or {}
        if kept.get("for") != facts.candidate:
            message = decision.commit_message(record, run.config.metric_name, run.key)
            kept = {"for": facts.candidate, "sha": gitops.commit_tree(
                run.root, _candidate_tree(run, cur), best_sha, message)}
            cur["kept_commit"] = kept
        record["sha"] = kept["sha"]
    cur.setdefault("home", facts.final)  # flagged before any trial: return to the tree as it is
    if outcome.confirm_due:
        a_sha, b_sha = run.start_sha, record["sha"] if record["kept"] else best_sha
        box = cur.get("confirm")
        conf = (design.confirmation(box["trials"], run.config.confirm_pairs, run.config.direction)
                if box and box.get("b") == b_sha else None)
        if conf is None:
            _worker_failed(run, spawned, "confirmation run")
            if box and box.get("b") != b_sha:
                cur.pop("confirm")
            run.store.write_sealed("current.json", cur, run.key)
            return _start(run, cur, "confirm", lambda watch: _confirm_job(run, cur, a_sha, b_sha, watch))
        if run.config.constraints and "error" not in conf:
            conf = {**conf, "constraints": constraints.confirmation_totals(run.config.constraint_specs, box["trials"])}
        record["confirmation"] = decision.judge_confirmation({**conf, "a_sha": a_sha, "b_sha": b_sha}, run.config)
    cur["deciding"] = {"record": record, "best_sha": best_sha}
    run.store.write_sealed("current.json", cur, run.key)
    record, run = finish_pending(run, cur["deciding"])
    return _answer(run, record)


def _start(run: Run, cur: dict, job: str, work) -> int:
    run.store.write_sealed("current.json", cur, run.key)
    return worker.start(run, run.lock_fd, job, work)


def _guard_job(run: Run, cur: dict, candidate: str | None, watch) -> None:
    run.watch = watch
    cur["guard"] = {"for": candidate, "result": _run_guard(run, cur["iter"])}
    run.store.write_sealed("current.json", cur, run.key)


def _confirm_job(run: Run, cur: dict, a_sha: str, b_sha: str, watch) -> None:
    run.watch = watch
    measure.confirm(run, cur, a_sha, b_sha, run.config.confirm_pairs)


def _answer(run: Run, record: dict) -> dict:
    """What the model reads after a decision. run-trial's answer already
    showed the test; this adds its interval to `delta` (the effect) and
    nothing twice."""
    stop = run.stop
    runner_up = runner_up_hint(run) if not stop["stopped"] else None
    out = {
        "iter": record["iter"], "decision": record["decision"], "kept": record["kept"],
        "avg": record["avg"], "delta": record["delta"], "reason": record["reason"],
        "best": run.best, "stop": stop,
        "next": next_step(phase_of(None, run.iteration, False), stop, run.config.critic, runner_up,
                          run.directive_text()),
    }
    if run.config.instructions:
        out["instructions"] = run.config.instructions
    if record.get("constraints"):
        out["constraints"] = answer.constraint_lines(record["constraints"])
    test = record.get("test")
    if test and test.get("ci_low") is not None:
        out["interval"] = answer.rounded([test["ci_low"], test["ci_high"]], answer.STAT_DIGITS)
    if record.get("calibration"):
        cal = record["calibration"]
        out["calibration"] = {"design": record["design"]["kind"], "deterministic": cal["deterministic"],
                              "relative_spread": cal["relative_spread"], "mde": cal["mde"],
                              "seconds_full_budget": cal["seconds_full_budget"]}
        out["warnings"] = warnings(run)
    if stop["stopped"] or record.get("confirmation"):
        out["total"] = total(run.summary, run.config.direction)
    return out
