"""`run-trial` (measure the current iteration) and `score` (a metric the
parser could not read, supplied from the captured report)."""

from __future__ import annotations

import math
from pathlib import Path

from commands.common import locked, now, protected_problems, require_head_at_best
from core import design as design_mod
from core import extract
from core.errors import UsageError
from core.runstate import next_step, phase_of
from shell import fingerprints, gitops, measure
from shell.context import Run
from views import answer


def _start_iteration(run: Run, hypothesis: str | None) -> dict:
    """Snapshot the candidate as the model left it, before any trial runs."""
    head = require_head_at_best(run)
    candidate = gitops.snapshot(run.root, head, f"ratchet candidate iter {run.iteration}",
                                exclude=run.exclude_paths())
    same = gitops.tree_of(run.root, candidate) == gitops.tree_of(run.root, head)
    if run.iteration == 0 and not same:
        raise UsageError("the baseline must measure the start commit unchanged; undo your edits first "
                         "(see instructions/reverting.md)")
    if run.iteration > 0 and same:
        raise UsageError("the working tree equals the best commit: there is no change to measure; "
                         "make one change first")
    return {"iter": run.iteration, "hypothesis": hypothesis or "", "candidate": candidate,
            "home": candidate, "base": head, "trials": [], "started": now()}


def run_trial(cwd: Path, run_all: bool, hypothesis: str | None) -> dict:
    """Run the next trial (or all remaining ones) of the current iteration."""
    with locked(cwd) as run:
        cur = run.current
        problems = protected_problems(run) + run.tampered
        if problems:
            cur = cur or {"iter": run.iteration, "hypothesis": hypothesis or "", "trials": []}
            cur["integrity_problems"] = problems
            run.store.write_sealed("current.json", cur, run.key)
            return {"iter": cur["iter"], "integrity_violation": problems, "next": next_step("decide")}
        if cur is None:
            cur = _start_iteration(run, hypothesis)
            run.store.write_sealed("current.json", cur, run.key)
        elif hypothesis and not cur.get("hypothesis"):
            cur["hypothesis"] = hypothesis
        run.current = cur
        if not run.measurement_done(cur) and not any(t["status"] == "needs_score" for t in cur["trials"]):
            measure.measure(run, cur, run_all)
        rf = run.report_file()
        if rf is not None:  # the report file as run-trial leaves it; decide checks nobody touched it since
            cur["report_stamp"] = fingerprints.file_stamp(rf)
            run.store.write_sealed("current.json", cur, run.key)
        done = run.measurement_done(cur)
    out = {"iter": cur["iter"], "trials_done": len(cur["trials"]), "trials_needed": run.trials_needed(),
           "next": next_step(phase_of(cur, cur["iter"], done), critic=run.config.critic)}
    paired = run.design is not None and run.design.is_paired and cur["iter"] > 0
    if paired:
        out["pairs"] = len(design_mod.complete_pairs(cur["trials"]))
        out["test"] = answer.test_view(run.test_of(cur["trials"]).to_dict())
    out.update(answer.trials_view(cur["trials"], paired))
    return out


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
