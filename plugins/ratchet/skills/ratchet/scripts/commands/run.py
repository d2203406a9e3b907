"""The commands: init, status, run-trial, score, decide.

Glue between the pure core (config, extract, decision, state) and the shell
(runner, gitops, integrity, store). Each command returns one JSON-able dict;
bad input raises UsageError before anything is written.

Crash safety: `decide` records its intent in current.json before touching
git; every writing command first finishes such a pending decision
(`resume`), idempotently, so a run killed at any point resumes with
nothing lost and nothing counted twice.
"""

from __future__ import annotations

import datetime as _dt
import math
import secrets
from pathlib import Path

from core import decision
from core import extract
from shell import gitops
from shell import fingerprints as integrity
from core import design as interleave
from shell import measure
from critic import proposals
from views import status as report
from shell import runner
from core import runstate as state
from core import stats
from core.config import build_parser, config_from_namespace
from shell.context import LOG_EDITED, Run, load
from core.errors import UsageError, brief
from shell.store import Store, TamperedState


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- init -------------------------------------------------------------------

def init(argv: list[str], cwd: Path) -> dict:
    """Validate everything, then create .ratchet/, the branch and config.json."""
    ns = build_parser().parse_args(argv)
    instructions_text = None
    if ns.instructions_file is not None and ns.instructions is None:
        path = Path(cwd, ns.instructions_file)
        try:
            instructions_text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UsageError(f"cannot read --instructions-file {ns.instructions_file}: {reason}") from None
    cfg = config_from_namespace(ns, instructions_text)
    root = gitops.repo_root(cwd)
    start = gitops.head_sha(root)
    if start is None:
        raise UsageError("the repository has no commits yet; commit your code first (git commit)")
    workdir = Path(cwd).resolve().relative_to(root.resolve()).as_posix()
    workdir = "" if workdir == "." else workdir
    report_rel = None
    if cfg.report_is_file:
        try:
            report_rel = (root / workdir / cfg.report_source).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"--report-source {cfg.report_source} is outside the repository; "
                             "write the report inside it") from None
    dirty = [p for p in gitops.dirty_paths(root) if p != report_rel]
    if dirty:
        raise UsageError(f"the working tree has uncommitted changes or untracked files ({brief(dirty)}); "
                         "commit them, stash them (git stash -u) or ignore them first")
    store = Store(root)
    with store.lock():
        gitops.ensure_excluded(root, "/.ratchet/")
        previous = None
        if store.exists():
            try:
                old_id = store.read_sealed("config.json", None).get("run_id")
            except TamperedState:
                old_id = None
            previous = store.archive(str(old_id or f"unknown-{secrets.token_hex(3)}"))
        run_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        start_branch = gitops.current_branch(root)
        branch = start_branch
        if not cfg.no_branch:
            branch = f"ratchet/{run_id}"
            gitops.create_branch(root, branch)
        meta = {
            "run_id": run_id, "config": cfg.to_dict(), "start_sha": start,
            "start_branch": start_branch, "branch": branch, "workdir": workdir,
            "protected": _fingerprint(root, cfg.protect), "created": _now(),
        }
        store.write_sealed("config.json", meta, run_id)
    warnings = []
    if not cfg.protect:
        warnings.append("no --protect given: nothing stops an edit to the benchmark itself")
    if cfg.protect and not meta["protected"]:
        warnings.append("--protect matched no files")
    return {
        "ok": True, "run_id": run_id, "branch": branch, "start_sha": start,
        "protected_files": len(meta["protected"]),
        "archived_previous": store.rel(previous) if previous else None,
        "instructions": cfg.instructions, "warnings": warnings,
        "next": state.next_step("baseline", {"stopped": False}),
    }


# -- status -----------------------------------------------------------------

def status(cwd: Path) -> dict:
    """Where the run stands. Finishes interrupted work first when it can."""
    run = load(cwd)
    try:
        with run.store.lock():
            run = resume(run, cwd)
    except UsageError:
        pass  # another command holds the lock: report what is on disk
    return report.status_dict(run)


def status_text(cwd: Path) -> str:
    return report.status_text(load(cwd))


# -- run-trial --------------------------------------------------------------

def require_running(run: Run) -> None:
    stop = state.stop_of(run.meta["config"], run.history)
    if stop["stopped"]:
        raise UsageError(f"the run has stopped ({stop['reason']}); start a new one with init")


def _protected_problems(run: Run) -> list[str]:
    now = _fingerprint(run.root, run.config.protect)
    return integrity.compare(run.meta.get("protected", {}), now)


def _fingerprint(root: Path, globs) -> dict[str, str]:
    """Protected files' hashes; caches git ignores inside a protected folder don't count."""
    return integrity.fingerprint(root, globs, lambda paths: gitops.ignored_among(root, paths))


def _start_iteration(run: Run, hypothesis: str | None) -> dict:
    """Snapshot the candidate as the model left it, before any trial runs."""
    best = run.best
    head = gitops.head_sha(run.root)
    expected = best["sha"] if best else run.meta["start_sha"]
    if head != expected:
        raise UsageError(f"HEAD is {str(head)[:10]} but ratchet expects {expected[:10]}; "
                         "read instructions/reverting.md")
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
            "home": candidate, "base": head, "trials": [], "started": _now()}


def run_trial(cwd: Path, run_all: bool, hypothesis: str | None) -> dict:
    """Run the next trial (or all remaining ones) of the current iteration."""
    run = load(cwd)
    with run.store.lock():
        run = resume(run, cwd)
        require_running(run)
        cur = run.current
        problems = _protected_problems(run) + run.tampered
        if problems:
            cur = cur or {"iter": run.iteration, "hypothesis": hypothesis or "", "trials": []}
            cur["integrity_problems"] = problems
            run.store.write_sealed("current.json", cur, run.key)
            return {"iter": cur["iter"], "integrity_violation": problems,
                    "next": state.next_step("decide", {"stopped": False})}
        if cur is None:
            cur = _start_iteration(run, hypothesis)
            run.store.write_sealed("current.json", cur, run.key)
        elif hypothesis and not cur.get("hypothesis"):
            cur["hypothesis"] = hypothesis
        if not run.measurement_done(cur) and not any(t["status"] == "needs_score" for t in cur["trials"]):
            design = run.design
            if cur["iter"] == 0 or design["kind"] == "exact":
                measure.measure_plain(run, cur, run_all)
            else:
                measure.measure_pairs(run, cur, design, run.margin(), run_all)
        rf = run.report_file()
        if rf is not None:  # the report file as run-trial leaves it; decide checks nobody touched it since
            cur["report_stamp"] = integrity.file_stamp(rf)
            run.store.write_sealed("current.json", cur, run.key)
        phase = state.phase_of(cur, cur["iter"], run.measurement_done(cur))
    out = {
        "iter": cur["iter"], "trials_done": len(cur["trials"]), "trials_needed": run.trials_needed(cur),
        "next": state.next_step(phase, {"stopped": False}, run.config.critic),
    }
    paired = run.design is not None and run.design["kind"] != "exact" and cur["iter"] > 0
    if paired:
        out["pairs"] = len(interleave.complete_pairs(cur["trials"]))
        out["test"] = report.test_view(measure.test_of(run, cur["trials"], run.design, run.margin()).to_dict())
        out["trials"] = [report.trial_view(t) for t in cur["trials"] if t["status"] != "ok"]
    else:
        out["trials"] = [report.trial_view(t) for t in cur["trials"]]
    return out


# -- score ------------------------------------------------------------------

def score(cwd: Path, value: str, trial: int | None) -> dict:
    """Accept a score the model read from a report the parser could not read.

    The number must appear literally in the captured report, and the report
    must be the one ratchet captured (same hash)."""
    run = load(cwd)
    with run.store.lock():
        run = resume(run, cwd)
        cur = run.current
        waiting = [t for t in (cur or {}).get("trials", []) if t["status"] == "needs_score"]
        if trial is not None:
            waiting = [t for t in waiting if t["trial"] == trial]
        if not waiting:
            raise UsageError("no trial is waiting for a score; see ratchet.py status")
        t = waiting[0]
        path = run.root / t["report"]
        if integrity.sha256_file(path) != t["report_sha256"]:
            raise UsageError(f"{t['report']} changed after the trial; a score can only come from the captured report")
        if not extract.appears_literally(path.read_text(errors="replace"), value):
            raise UsageError(f"{value!r} does not appear in {t['report']}; copy the number exactly as printed")
        number = float(value)
        if not math.isfinite(number):
            raise UsageError(f"{value!r} is not a score (nan/inf); count this trial as a crash with decide")
        t.update(status="ok", score=number, score_source="agent", problem="")
        run.store.write_sealed("current.json", cur, run.key)
        phase = state.phase_of(cur, cur["iter"], run.measurement_done(cur))
    return {"iter": cur["iter"], "trial": t["trial"], "score": number, "score_source": "agent",
            "next": state.next_step(phase, {"stopped": False}, run.config.critic)}


# -- decide -----------------------------------------------------------------

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
    if integrity.file_stamp(rf) != cur["report_stamp"]:
        return [f"report file {run.config.report_source} was modified after the last trial"]
    return []


def decide(cwd: Path, description: str) -> dict:
    """Decide the current iteration, keep or revert, log it, check stops."""
    if not description.strip():
        raise UsageError("--description must not be empty: say what the change was")
    run = load(cwd)
    with run.store.lock():
        run = resume(run, cwd)
        require_running(run)
        cur = run.current
        if cur is None and run.tampered:  # current.json itself was edited: decide on what is left
            cur = {"iter": run.iteration, "hypothesis": "", "trials": []}
        flagged = bool(cur and (cur.get("integrity_problems") or run.tampered))
        if cur is None or (not cur.get("trials") and not flagged):
            raise UsageError("nothing to decide: run ratchet.py run-trial --all first")
        waiting = any(t["status"] == "needs_score" for t in cur["trials"])
        if not (flagged or waiting or run.measurement_done(cur)):
            raise UsageError("the measurement is not finished: run ratchet.py run-trial --all first")
        best, best_sha = run.best, (run.best["sha"] if run.best else run.meta["start_sha"])
        final = gitops.snapshot(run.root, best_sha, f"ratchet attempt iter {cur['iter']}",
                                exclude=run.exclude_paths())
        problems = (list(cur.get("integrity_problems", [])) + run.tampered + _protected_problems(run)
                    + _report_problems(run, cur) + _late_edits(run, cur, final))
        problems = list(dict.fromkeys(problems))
        verdict, margin = _verdict(run, cur, problems)
        guard = None
        if verdict.decision == "improve" and run.config.guard_command:
            guard = _run_guard(run, cur)
            verdict = decision.apply_guard(verdict, guard["passed"])
        kept = verdict.decision in decision.KEPT
        trials = cur.get("trials", [])
        record = {
            "iter": cur["iter"], "hypothesis": cur.get("hypothesis", ""), "description": description.strip(),
            "decision": verdict.decision, "kept": kept, "reason": verdict.reason,
            "trial_scores": [t["score"] if t["status"] == "ok" else None for t in trials if t["side"] == "B"],
            "incumbent_scores": [t["score"] for t in trials if t["side"] == "A" and t["status"] == "ok"],
            "avg": verdict.avg, "delta": verdict.delta, "test": verdict.test,
            "best_before": best["score"] if best else None, "margin": margin,
            "sha": (cur.get("candidate") or final) if cur["iter"] > 0 else run.meta["start_sha"],
            "integrity": problems, "guard": guard, "n_trials": len(trials),
            "trials": [{k: t.get(k) for k in ("trial", "side", "pair", "status", "score", "score_source",
                                               "exit_code", "timed_out", "duration_s", "report", "problem")}
                       for t in trials],
            "started": cur.get("started"), "timestamp": _now(),
        }
        record.update(proposals.record_fields(run, cur))
        if cur["iter"] == 0 and verdict.decision == "baseline":
            record.update(_calibration(run, trials))
        if kept and cur["iter"] > 0:
            record["candidate"] = cur["candidate"]
            record["sha"] = gitops.commit_tree(run.root, gitops.tree_of(run.root, cur["candidate"]), best_sha,
                                               _commit_message(run, record))
        if cur.get("candidate") and gitops.tree_of(run.root, final) != gitops.tree_of(run.root, cur["candidate"]):
            record["final_sha"] = final  # what the tree held at decide time, kept for audit
        unrestorable = _unrestorable(run, record) + [p for p in run.tampered if p == LOG_EDITED]
        if unrestorable:
            record["unrecoverable"] = unrestorable
        cur.setdefault("home", final)  # no candidate snapshot (flagged before any trial): return to the tree as it is
        confirmation = _maybe_confirm(run, cur, record, best_sha)
        if confirmation:
            record["confirmation"] = confirmation
        cur["deciding"] = {"record": record, "best_sha": best_sha}
        run.store.write_sealed("current.json", cur, run.key)
        record = _finish_pending(run, cur["deciding"])
        run = load(cwd)
    stop = state.stop_of(run.meta["config"], run.history)
    out = {
        "iter": record["iter"], "decision": record["decision"], "kept": record["kept"],
        "avg": record["avg"], "delta": record["delta"], "reason": record["reason"],
        "best": run.best, "stop": stop, "instructions": run.config.instructions,
        "next": state.next_step(state.phase_of(None, run.iteration, False), stop, run.config.critic,
                                proposals.runner_up_hint(run)),
    }
    if record.get("test"):
        out["test"] = report.test_view(record["test"])
    if record.get("calibration"):
        cal = record["calibration"]
        out["calibration"] = {"design": record["design"]["kind"], "deterministic": cal["deterministic"],
                              "relative_spread": cal["relative_spread"], "mde": cal["mde"],
                              "seconds_full_budget": cal["seconds_full_budget"]}
        out["warnings"] = report.warnings(run)
    if stop["stopped"] or record.get("confirmation"):
        out["total"] = report.total(run.history, run.config.direction)
    return out


def _verdict(run: Run, cur: dict, problems: list[str]) -> tuple[decision.Verdict, float]:
    """The decision for `cur` (before the guard) and the margin it used."""
    trials, best, design = cur.get("trials", []), run.best, run.design
    if cur["iter"] == 0 or design is None or design["kind"] == "exact":
        margin = run.config.min_improvement.margin(best["score"]) if best else 0.0
        scores = [t["score"] if t["status"] == "ok" else None for t in trials]
        return decision.judge(iteration=cur["iter"], scores=scores, direction=run.config.direction,
                              best=best["score"] if best else None, margin=margin,
                              integrity_problems=problems), margin
    margin = run.margin()
    test = None
    if interleave.complete_pairs(trials):
        test = measure.test_of(run, trials, design, margin).to_dict()
    verdict = decision.judge_paired(
        test=test, candidate_scores=[t["score"] for t in trials if t["side"] == "B" and t["status"] == "ok"],
        candidate_failed=interleave.b_failed(trials), incumbent_crashes=interleave.a_crashes(trials),
        max_incumbent_crashes=interleave.MAX_A_CRASHES, integrity_problems=problems)
    return verdict, margin


def _calibration(run: Run, trials: list[dict]) -> dict:
    """Noise of the baseline runs and the design every later iteration uses."""
    cfg = run.config
    values = [t["score"] for t in trials]
    seconds = sum(t["duration_s"] for t in trials) / len(trials)
    if cfg.trials:  # fixed design: the budget is the user's N pairs, one look
        n = max(cfg.trials, 2)
        cal = stats.calibrate(values, n, seconds, min_pairs=n, look_every=1)
    else:
        cal = stats.calibrate(values, cfg.max_pairs, seconds)
    return {"calibration": cal, "design": interleave.design_of(cal, cfg.trials, cfg.max_pairs)}


def _maybe_confirm(run: Run, cur: dict, record: dict, best_sha: str) -> dict | None:
    """Measure the original baseline against the best in one interleaved run
    when the run is about to stop, or when a keep crosses --threshold (which
    counts only if the interval confirms it). Noisy metrics only."""
    cfg = run.config
    design = record.get("design") or run.design
    if not design or design["kind"] == "exact" or cfg.confirm_pairs == 0:
        return None
    best_after = record["sha"] if record["kept"] else best_sha
    if best_after == run.meta["start_sha"]:
        return None
    crosses = (cfg.threshold is not None and record["kept"] and record["avg"] is not None
               and decision.crossed(cfg.direction, record["avg"], cfg.threshold))
    stop = state.stop_of(run.meta["config"], run.history, extra=record)
    if stop["reason"] in ("baseline_failed", "integrity_unrecoverable") or not (crosses or stop["stopped"]):
        return None
    conf = measure.confirm(run, cur, run.meta["start_sha"], best_after, cfg.confirm_pairs)
    if "error" not in conf and cfg.threshold is not None:
        conf["threshold_reached"] = stats.threshold_reached(conf, cfg.threshold, cfg.direction)
    return conf


def _commit_message(run: Run, record: dict) -> str:
    cfg = run.config
    test = record.get("test")
    if test:
        how = (f"effect {test['effect']:+.4g} [{test['ci_low']:.4g}, {test['ci_high']:.4g}], "
               f"p={test['p_value']:.2g}, {record['n_trials']} trials interleaved")
    else:
        how = f"mean of {len(record['trial_scores'])} trials"
    return (f"{record['description']}\n\n"
            f"ratchet: iter {record['iter']}, {cfg.metric_name} {record['best_before']:g} -> "
            f"{record['avg']:g} ({how})\n"
            f"ratchet-run: {run.key}\n")


def _unrestorable(run: Run, record: dict) -> list[str]:
    """Protected files a revert cannot put back (git-ignored ones ratchet
    never touches). Only meaningful for an integrity violation."""
    if record["decision"] != "integrity_violation":
        return []
    tracked = set(gitops.git(run.root, "ls-files", "-z").split("\0"))
    before = run.meta.get("protected", {})
    now = _fingerprint(run.root, run.config.protect)
    return [p for p in integrity.compare(before, now) if p.split(": ", 1)[1] not in tracked]


def _run_guard(run: Run, cur: dict) -> dict:
    files = run.store.report_files(f"iter-{cur['iter']:04d}-guard")
    o = runner.run(run.config.guard_command, run.workdir, files["txt"], files["err"], run.config.trial_timeout_seconds)
    return {"passed": o.ok, "exit_code": o.exit_code, "timed_out": o.timed_out,
            "duration_s": o.duration_s, "output": run.store.rel(files["txt"])}


def _finish_pending(run: Run, pending: dict) -> dict:
    """Carry out `pending` (the decision recorded in current.json's
    "deciding"). Idempotent: each step checks whether it already happened."""
    record, best_sha = dict(pending["record"]), pending["best_sha"]
    it = record["iter"]
    root, excl = run.root, run.exclude_paths()
    if record["kept"] and it > 0:
        if gitops.head_sha(root) != record["sha"]:
            gitops.advance_head(root, record["sha"], best_sha)
        gitops.restore(root, record["sha"], exclude=excl)
    elif it > 0:
        ref = f"refs/ratchet/{run.key}/iter-{it:04d}"
        if record.get("final_sha"):
            gitops.save_ref(root, ref + "-final", record["final_sha"])
        if record.get("sha"):
            gitops.save_ref(root, ref, record["sha"])
            patch = run.store.path("patches", f"iter-{it:04d}.diff")
            patch.parent.mkdir(exist_ok=True)
            patch.write_text(gitops.diff(root, best_sha, record["sha"]))
            record.update(attempt_ref=ref, patch=run.store.rel(patch))
        gitops.restore(root, best_sha, exclude=excl)
    else:
        gitops.restore(root, best_sha, exclude=excl)
    if not run.history or run.history[-1]["iter"] != it:
        record = run.store.append_result(record, run.key)
    run.store.clear("current.json")
    return record


def resume(run: Run, cwd: Path) -> Run:
    """Undo what a crash interrupted: put the candidate back in place if the
    incumbent's code was showing, and finish a pending decision. Returns the
    fresh run."""
    if run.current and measure.heal(run, run.current):
        run = load(cwd)
    if run.current and run.current.get("deciding"):
        _finish_pending(run, run.current["deciding"])
        return load(cwd)
    return run
