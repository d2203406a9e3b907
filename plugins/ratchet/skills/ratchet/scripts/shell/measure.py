"""Running trials: one trial, an iteration's trials, a confirmation run.

The shell around `core.design` (which side next) and `stats` (when to stop).
To measure the incumbent, the work tree is switched to the best commit with
`shell.worktree` (HEAD never moves; only files that differ between the two
commits change, so ignored and untracked files stay) and back to the
candidate afterwards. Before switching away, current.json records `showing`
(kept until the measurement ends and the index is settled); `heal` switches
back after a crash, so a run killed while the incumbent's code was in place
resumes on the candidate with nothing lost (the candidate is a commit object
from the first trial on).
"""

from __future__ import annotations

import os

from core import extract
from shell import worktree
from shell import fingerprints as integrity
from core import design
from shell import runner


def one_trial(run, label: str, env_extra: dict, allow_question: bool) -> dict:
    """Run the command once; return the trial record. A failing command is a
    crashed trial, never an exception. `allow_question`: a report with no
    recognisable metric (but some number) waits for `score` instead of
    crashing."""
    cfg = run.config
    p = run.store.report_files(label)
    report = p["txt"]
    out_path, err_path = {"stdout": (report, p["log"]), "stderr": (p["log"], report)}.get(
        cfg.report_source, (p["log"], p["err"]))
    rf = run.report_file()
    before = integrity.file_stamp(rf) if rf else None
    env = dict(os.environ, **env_extra)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # a same-second, same-size edit must not reuse stale .pyc
    timeout = run.trial_timeout()
    outcome = runner.run(cfg.run_command, run.workdir, out_path, err_path, timeout, env, watch=run.watch)
    rec = {"exit_code": outcome.exit_code, "timed_out": outcome.timed_out, "duration_s": outcome.duration_s,
           "report": run.store.rel(report), "log": run.store.rel(p["log"]), "score": None,
           "score_source": None, "problem": ""}
    if rf is not None:
        after = integrity.file_stamp(rf)
        if after is None or after == before:
            return {**rec, "status": "crash",
                    "problem": f"the command did not write the report file {cfg.report_source}"}
        try:
            runner.copy_capped(rf, report)
        except OSError as exc:
            return {**rec, "status": "crash", "problem": f"cannot read the report file: {exc.strerror}"}
    rec["report_sha256"] = integrity.sha256_file(report)
    if outcome.timed_out:
        return {**rec, "status": "crash", "problem": f"timed out after {timeout:g}s"}
    if outcome.exit_code != 0:
        return {**rec, "status": "crash", "problem": f"exit code {outcome.exit_code}"}
    text = report.read_text(errors="replace")
    if not text.strip():
        return {**rec, "status": "crash", "problem": "the report is empty (the command printed nothing)"}
    if cfg.constraints:
        metrics, problem = side_metrics(text, cfg.constraint_specs)
        if problem:
            return {**rec, "status": "crash", "problem": problem}
        rec["metrics"] = metrics
    found = extract.extract(text, cfg.metric_name, cfg.metric_regex)
    if found.value is None:
        if found.absent and extract.has_number(text) and allow_question:
            return {**rec, "status": "needs_score", "problem": found.problem}
        detail = " and the report holds no number" if found.absent and not extract.has_number(text) else ""
        return {**rec, "status": "crash", "problem": found.problem + detail}
    return {**rec, "status": "ok", "score": found.value, "score_source": found.source}


def side_metrics(text: str, specs) -> tuple[dict, str]:
    """({name: value} of every constraint metric in the report, "") or
    ({}, why one is missing): a report without them is a crashed trial."""
    metrics = {}
    for c in specs:
        found = extract.extract(text, c.name)
        if found.value is None:
            return {}, f"constraint metric: {found.problem}"
        metrics[c.name] = found.value
    return metrics, ""


# -- switching the work tree ------------------------------------------------

def show(run, cur: dict, sha: str) -> None:
    """Make the work tree show commit `sha` (`shell.worktree`); `cur["home"]`
    is the tree it shows normally. From the first switch away until
    `go_home`, cur carries `showing`, written to current.json before the
    work tree first leaves home, so `heal` can always get back."""
    shown = cur.get("showing", cur["home"])
    if shown == sha:
        return
    if "showing" not in cur:
        cur["showing"] = sha
        worktree.prefetch(run.root, cur["home"], sha)  # git lists what differs while the marker is made durable
        _save(run, cur, durable_rename=True)
    cur["showing"] = sha  # persisted with the next write; any value means "not settled" to `heal`
    worktree.show(run.root, cur["home"], shown, sha, run.expected_head)


def go_home(run, cur: dict) -> None:
    """Home shown again, the index back to HEAD, the marker cleared."""
    if "showing" not in cur:
        return
    show(run, cur, cur["home"])
    worktree.settle(run.root)
    cur.pop("showing")
    _save(run, cur)  # lost to a power cut, `showing` comes back: `heal` then finds home in place


def heal(run, cur: dict | None) -> bool:
    """After a crash while switching (another commit's files possibly in
    place, the index not at HEAD), show home again and settle."""
    if not (cur and cur.get("home") and "showing" in cur):
        return False
    box = cur.get("confirm") or {}
    others = [sha for sha in dict.fromkeys([cur.get("base"), box.get("a"), box.get("b")]) if sha and sha != cur["home"]]
    worktree.restore(run.root, cur["home"], others)
    cur.pop("showing")
    run.store.write_sealed("current.json", cur, run.key)
    return True


# -- trials ---------------------------------------------------------------------

def _trial(run, cur: dict, trials: list[dict], side: str, pair: int, kind: str = "trial",
           allow_question: bool = False) -> dict:
    """Run trial number len(trials) + 1 of iteration cur["iter"] (the code
    of `side` is in place) and append its record to `trials` (saved by the
    caller's next `_flush`). `kind` is "trial" or "confirm" (the
    confirmation run)."""
    n = len(trials) + 1
    env = {"RATCHET_ITERATION": str(cur["iter"]), "RATCHET_TRIAL": str(n), "RATCHET_SIDE": side}
    if kind == "confirm":
        env["RATCHET_CONFIRM"] = "1"
    t = one_trial(run, run.store.label(cur["iter"], kind, n), env, allow_question)
    rec = {"trial": n, "side": side, "pair": pair, **t}
    if kind == "confirm":
        rec = {k: rec[k] for k in ("trial", "side", "pair", "status", "score", "problem", "metrics") if k in rec}
    trials.append(rec)
    _unsaved["trial"] = True
    _unsaved["seconds"] += t["duration_s"] or 0.0
    return rec


SAVE_AFTER_S = 0.5  # interleaved trials are saved before the next one once they took this long together
_unsaved = {"trial": False, "seconds": 0.0}  # trials of this process in `cur`, not yet in current.json; their time


def _save(run, cur: dict, durable_rename: bool = False) -> None:
    """current.json := cur, every trial so far included. Unless
    `durable_rename`, a power cut may bring back the previous version
    (whole): the trials it lacks are run again."""
    run.store.write_sealed("current.json", cur, run.key, keep_old=not durable_rename)
    _unsaved.update(trial=False, seconds=0.0)


def _flush(run, cur: dict) -> None:
    """Save the trials not saved yet: before each trial of the candidate
    alone (a kill costs only the trial in progress), before an interleaved
    trial once SAVE_AFTER_S of trials are unsaved, and when a measurement
    ends or stops (an interleaved one's write that brings the candidate home
    saves them too)."""
    if _unsaved["trial"]:
        _save(run, cur)


def _interleaved(run, cur: dict, trials: list[dict], a_sha: str, b_sha: str, done, kind: str, run_all: bool) -> None:
    """Interleaved A/B trials (ABBA pairs, `design.next_trial`) until `done()`
    (or one trial without `run_all`); ends with the home tree in place and
    the index settled (once, not after every switch). A trial is saved
    before the next one runs once the trials not saved yet took
    SAVE_AFTER_S together; quicker ones wait for the next save (a few
    fsyncs per measurement, not one per trial: a kill then costs, besides
    the trial it interrupts, less than SAVE_AFTER_S of trials, run
    again)."""
    try:
        while not done():
            pair, side = design.next_trial(trials)
            if _unsaved["seconds"] >= SAVE_AFTER_S:
                _flush(run, cur)
            show(run, cur, a_sha if side == "A" else b_sha)
            _trial(run, cur, trials, side, pair, kind)
            if not run_all:
                break
    finally:
        go_home(run, cur)


def measure(run, cur: dict, run_all: bool) -> None:
    """The iteration's trials as its design asks: the candidate alone (the
    baseline, a deterministic metric; stopping at the first crash or
    question), or interleaved incumbent/candidate pairs until the test
    decides."""
    try:
        if cur["iter"] > 0 and run.design.is_paired:
            _interleaved(run, cur, cur["trials"], cur["base"], cur["candidate"],
                         lambda: run.measurement_done(cur), "trial", run_all)
            return
        while not run.measurement_done(cur) and all(t["status"] == "ok" for t in cur["trials"]):
            _flush(run, cur)
            _trial(run, cur, cur["trials"], "B", len(cur["trials"]), allow_question=True)
            if not run_all:
                break
    finally:
        _flush(run, cur)


# -- the confirmation run -------------------------------------------------------

def confirm(run, cur: dict, a_sha: str, b_sha: str, pairs: int) -> None:
    """Measure `a_sha` (the original baseline) against `b_sha` (the final
    best) until `design.confirmation` has an answer. Trials persist in
    cur["confirm"], so an interrupted run continues. A crash abandons its
    pair (see design.next_trial), whichever side it hit."""
    box = cur.setdefault("confirm", {"a": a_sha, "b": b_sha, "trials": []})
    trials = box["trials"]
    try:
        _interleaved(run, cur, trials, a_sha, b_sha,
                     lambda: design.confirmation(trials, pairs, run.config.direction) is not None, "confirm", True)
    finally:
        _flush(run, cur)
