"""`decide`: gather the facts of the iteration, apply the rule
(`core.decision.decide`), act on the outcome (commit or revert, confirm, log)."""

from __future__ import annotations

from pathlib import Path

from dataclasses import replace

from commands.common import finish_pending, fingerprint, locked, now, protected_problems, runner_up_hint
from core import decision
from core.errors import UsageError
from core.runstate import next_step, phase_of
from shell import fingerprints, gitops, measure, runner
from shell.context import Run
from views import answer
from views.status import total, warnings


def _late_edits(run: Run, cur: dict, final: str) -> list[str]:
    """Files changed after the trials started (measured one thing, would
    commit another). New files are run outputs and are ignored."""
    if not cur.get("candidate"):
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
    o = runner.run(run.config.guard_command, run.workdir, files["txt"], files["err"], run.config.trial_timeout_seconds)
    return {"passed": o.ok, "exit_code": o.exit_code, "timed_out": o.timed_out,
            "duration_s": o.duration_s, "output": run.store.rel(files["txt"])}


def _extra_fields(run: Run, cur: dict) -> dict:
    """Mode-specific record fields: critic mode's, when the run uses it."""
    if not run.store.path("proposals").exists():
        return {}
    from critic import proposals  # critic mode is imported only when it was used
    return proposals.record_fields(run, cur)


def _facts(run: Run, cur: dict, description: str) -> decision.Facts:
    final = gitops.snapshot(run.root, run.expected_head, f"ratchet attempt iter {cur['iter']}",
                            exclude=run.exclude_paths())
    problems = (list(cur.get("integrity_problems", [])) + run.tampered + protected_problems(run)
                + _report_problems(run, cur) + _late_edits(run, cur, final))
    problems = list(dict.fromkeys(problems))
    candidate = cur.get("candidate")
    return decision.Facts(
        iteration=cur["iter"], hypothesis=cur.get("hypothesis", ""), description=description,
        trials=cur.get("trials", []), config=run.config, summary=run.summary, margin=run.margin(),
        integrity_problems=problems, start_sha=run.start_sha, candidate=candidate, final=final,
        final_differs=bool(candidate) and gitops.tree_of(run.root, final) != gitops.tree_of(run.root, candidate),
        unrestorable=_unrestorable(run) if problems else [], extra=_extra_fields(run, cur),
        started=cur.get("started"), now=now())


def decide(cwd: Path, description: str) -> dict:
    """Decide the current iteration, keep or revert, log it, check stops."""
    if not description.strip():
        raise UsageError("--description must not be empty: say what the change was")
    with locked(cwd) as run:
        cur = run.current
        if cur is None and run.tampered:  # current.json itself was edited: decide on what is left
            cur = {"iter": run.iteration, "hypothesis": "", "trials": []}
        flagged = bool(cur and (cur.get("integrity_problems") or run.tampered))
        if cur is None or (not cur.get("trials") and not flagged):
            raise UsageError("nothing to decide: run ratchet.py run-trial --all first")
        waiting = any(t["status"] == "needs_score" for t in cur["trials"])
        if not (flagged or waiting or run.measurement_done(cur)):
            raise UsageError("the measurement is not finished: run ratchet.py run-trial --all first")
        facts = _facts(run, cur, description)
        outcome = decision.decide(facts)
        if outcome.needs_guard:
            outcome = decision.decide(replace(facts, guard=_run_guard(run, cur["iter"])))
        record, best_sha = outcome.record, facts.best_sha
        if record["kept"] and cur["iter"] > 0:
            record["sha"] = gitops.commit_tree(run.root, gitops.tree_of(run.root, cur["candidate"]), best_sha,
                                               decision.commit_message(record, run.config.metric_name, run.key))
        cur.setdefault("home", facts.final)  # flagged before any trial: return to the tree as it is
        if outcome.confirm_due:
            conf = measure.confirm(run, cur, run.start_sha, record["sha"] if record["kept"] else best_sha,
                                   run.config.confirm_pairs)
            record["confirmation"] = decision.judge_confirmation(conf, run.config)
        cur["deciding"] = {"record": record, "best_sha": best_sha}
        run.store.write_sealed("current.json", cur, run.key)
        record, run = finish_pending(run, cur["deciding"])
    return _answer(run, record)


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
        "next": next_step(phase_of(None, run.iteration, False), stop, run.config.critic, runner_up),
    }
    if run.config.instructions:
        out["instructions"] = run.config.instructions
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
