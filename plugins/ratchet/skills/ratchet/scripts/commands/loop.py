"""`loop`: the headless overnight driver. Python runs the whole night; a fresh agent
process makes each change.

Each iteration: build the prompt from the run's state (`core.prompt`), run the agent
(`shell.agent`: its own process group, `--agent-timeout`, telemetry from stream-json),
classify what it did (`core.agentanswer.outcome_of`), then measure and decide through the
interactive flow's own commands (`commands.trial.run_trial`, `commands.decide.decide`, or
`decide.record_agent_outcome` for an iteration with nothing to measure). The model never
runs the benchmark and never types a score.

Stops: every stop condition of the run (`RunState.stop`), plus the loop's own, recorded
as a stop request with its reason: `cost_budget_exhausted` (`--max-cost-usd`: the spend
so far plus the mean cost of an iteration would pass the cap) and
`agent_failures_exhausted` (`--max-agent-failures` failed agent runs in a row).

One loop per repository (`.git/ratchet-loop.lock`); SIGTERM/SIGINT stop the agent or the
measurement (nothing of theirs survives), log the interruption, exit 130; running `loop`
again resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
from pathlib import Path

from commands import decide as decide_cmd
from commands.common import locked, now, protected_problems
from commands.trial import run_trial
from core import agentanswer, ideas, prompt, telemetry
from core.config import Parser
from core.errors import UsageError
from shell import agent, gitops, worker
from shell.context import load
from shell.store import STOP_REQUEST, Busy, Store, TamperedState
from views.status import agent_totals, total

STEP_WAIT = 5.0  # seconds one run-trial/decide call waits before the loop checks for a signal
RULES = Path(__file__).resolve().parents[2] / "instructions" / "integrity.md"
DEFAULT_PLATEAU = "3"
EXIT_INTERRUPTED = 130
LOCK = "ratchet-loop.lock"  # in the git dir: one loop per repository
NO_CLAUDE = ("the default agent is the Claude Code CLI, but `claude` is not on PATH; install it "
             "(npm install -g @anthropic-ai/claude-code) or give --agent-command")
SETTINGS_FILE = "loop.json"  # the loop flags of the run, kept for a resumed loop
SETTINGS = {"agent_command": None, "agent_timeout": "1800", "max_cost_usd": None, "max_agent_failures": "3"}


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived."""


class _Signals:
    """Records SIGTERM/SIGINT; raises `Interrupted` at once only while `hot` (the agent
    runs: `shell.runner` then kills its group), else at the next `check`."""

    def __init__(self):
        self.got, self.hot = None, False

    def __call__(self, signum, frame):
        self.got = signal.Signals(signum).name
        if self.hot:
            raise Interrupted(self.got)

    def check(self):
        if self.got:
            raise Interrupted(self.got)


def build_parser() -> Parser:
    p = Parser(prog="ratchet.py loop", allow_abbrev=False,
               description="Drive a run unattended: a fresh agent per iteration, Python measures and decides. "
                           "Give init's flags to start a run (or a new one after a stopped run); without them, "
                           "resume the run in this repository.")
    p.add_argument("--agent-command", default=None, metavar="CMD",
                   help="shell command of the agent; the prompt is on its stdin and in $RATCHET_PROMPT_FILE "
                        "(default: claude -p with stream-json output and read/edit tools only)")
    p.add_argument("--agent-timeout", default=None, metavar="SECONDS",
                   help="wall-clock cap of one agent run; its whole process group is killed (default 1800)")
    p.add_argument("--max-cost-usd", default=None, metavar="USD",
                   help="stop as cost_budget_exhausted before an iteration whose mean cost would pass this spend")
    p.add_argument("--max-agent-failures", default=None, metavar="N",
                   help="stop as agent_failures_exhausted after N failed agent runs in a row (default 3)")
    p.add_argument("--critic", action="store_true", help=argparse.SUPPRESS)  # refused, with the reason
    return p


def _positive(flag: str, text: str, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise UsageError(f"{flag} must be a {'whole ' if integer else ''}number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"{flag} must be above 0, got {text!r}")
    return value


def loop(argv: list[str], cwd: Path) -> tuple[dict, int]:
    """Run the loop to a stop condition; (the final answer, the exit code)."""
    ns, init_argv = build_parser().parse_known_args(argv)
    if ns.critic or "--critic" in init_argv:
        raise UsageError("loop does not run critic mode (its proposers and blind critic need the interactive "
                         "session); run /ratchet ... --critic in Claude Code, or drop --critic")
    if init_argv and not init_argv[0].startswith("--"):
        raise UsageError(f"unexpected argument {init_argv[0]!r} (see ratchet.py loop --help)")
    given = {k: getattr(ns, k) for k in SETTINGS if getattr(ns, k) is not None}
    for flag, key, integer in (("--agent-timeout", "agent_timeout", False), ("--max-cost-usd", "max_cost_usd", False),
                               ("--max-agent-failures", "max_agent_failures", True)):
        if key in given:
            _positive(flag, given[key], integer)
    no_claude = "agent_command" not in given and shutil.which("claude") is None
    try:
        root = gitops.repo_root(cwd)
        store = Store(root)
        settings = {**SETTINGS, **_stored_settings(cwd, store), **given}
    except UsageError:
        if no_claude:
            raise UsageError(NO_CLAUDE) from None
        raise
    if no_claude and settings["agent_command"] is None:
        raise UsageError(NO_CLAUDE)
    timeout = _positive("--agent-timeout", settings["agent_timeout"])
    cap = None if settings["max_cost_usd"] is None else _positive("--max-cost-usd", settings["max_cost_usd"])
    max_failures = int(_positive("--max-agent-failures", settings["max_agent_failures"], integer=True))
    ns.agent_command = settings["agent_command"]
    try:
        with store.lock(path=gitops.git_path(root, LOCK)):
            return _drive(cwd, store, ns, init_argv, timeout, cap, max_failures, settings)
    except Busy:
        try:
            pid = gitops.git_path(root, LOCK).read_text().strip() or "?"
        except OSError:
            pid = "?"
        raise UsageError(f"another ratchet.py loop (pid {pid}) is driving the run in this repository; wait for it "
                         "to stop, or end it with ratchet.py stop (or kill -TERM that pid)") from None


def _stored_settings(cwd: Path, store: Store) -> dict:
    """The loop flags a run still going was driven with (`loop.json`), so a
    resumed loop keeps its cost cap, timeout and agent; {} for a new run."""
    if not store.exists():
        return {}
    run = load(cwd)
    if run.stop["stopped"]:
        return {}
    try:
        saved = store.read_sealed(SETTINGS_FILE, run.key) or {}
    except TamperedState:
        raise UsageError(f".ratchet/{SETTINGS_FILE} was edited outside ratchet; give the loop flags again "
                         f"after removing it") from None
    return {k: saved[k] for k in SETTINGS if k in saved}


def _start(cwd: Path, store: Store, init_argv: list[str]) -> str | None:
    """Start a run when init's flags are given and no run goes on; the note to print."""
    going = store.exists() and not load(cwd).stop["stopped"]
    if not init_argv:
        if not store.exists():
            raise UsageError("no ratchet run in this repository; give init's flags to start one "
                             "(ratchet.py loop --run-command ... --direction ... --metric-name ... --report-source ...)")
        return None
    if going:
        return f"resuming run {load(cwd).key} (it has not stopped; the init flags are not used)"
    from commands.init import init
    flags = list(init_argv)
    if not any(a == "--plateau-after-pivots" or a.startswith("--plateau-after-pivots=") for a in flags):
        flags += ["--plateau-after-pivots", DEFAULT_PLATEAU]
    out = init(flags, cwd)
    return f"started run {out['run_id']} on branch {out['branch']}"


def _drive(cwd, store, ns, init_argv, timeout, cap, max_failures, settings) -> tuple[dict, int]:
    note = _start(cwd, store, init_argv)
    run = load(cwd)
    if run.config.critic:
        raise UsageError("this run uses critic mode, which loop does not run; continue it with /ratchet in "
                         "Claude Code")
    if run.stop["stopped"] and note is None:
        return {"stopped": True, "reason": run.stop["reason"], "already_stopped": True, "run_id": run.key,
                "best": run.best, "next": "ratchet.py status --format text"}, 0
    store.write_sealed(SETTINGS_FILE, settings, run.key)
    command = ns.agent_command or agent.default_command(run.config.protect, run.config.editable)
    agent.become_subreaper()
    sig = _Signals()
    old = {s: signal.signal(s, sig) for s in (signal.SIGTERM, signal.SIGINT)}
    log = _Log(store)
    if note:
        _say(note)
    log.write({"event": "start", "run_id": run.key, "agent_command": command})
    try:
        while True:
            sig.check()
            try:
                reason = _step(cwd, store, command, timeout, cap, max_failures, sig, log)
            except UsageError:
                if not load(cwd).stop["stopped"]:
                    raise
                reason = load(cwd).stop["reason"]  # `ratchet.py stop` ended the run meanwhile
            if reason:
                break
    except Interrupted as exc:
        worker.stop(store)  # the measurement must not outlive the loop; its unfinished trial is re-run
        log.write({"event": "interrupted", "signal": str(exc)})
        _say(f"interrupted by {exc}: the agent and the measurement were stopped; run ratchet.py loop again "
             "to resume")
        return {"interrupted": str(exc), "run_id": run.key, "next": "ratchet.py loop (resumes)"}, EXIT_INTERRUPTED
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    run = load(cwd)
    log.write({"event": "stop", "reason": run.stop["reason"]})
    _say(f"stopped: {run.stop['reason']}")
    out = {"stopped": True, "reason": run.stop["reason"], "run_id": run.key, "iterations": run.summary.iterations_done,
           "best": run.best, "total": total(run.summary, run.config.direction),
           "next": "ratchet.py status --format text; ratchet.py report"}
    if run.summary.agent:
        out["agent"] = agent_totals(run.summary.agent)
    return out, 0


def _step(cwd, store, command, timeout, cap, max_failures, sig, log) -> str | None:
    """One step of the loop; the stop reason once the run has stopped."""
    with locked(cwd, running=False) as run:  # interrupted work finished first, as every command does
        pass
    if run.stop["stopped"]:
        return run.stop["reason"]
    cur = run.current
    if run.iteration == 0:
        _measure(cwd, None, sig)
        _report(_until_done(lambda: decide_cmd.decide(cwd, "baseline", STEP_WAIT), sig), None)
        return None
    saved = agent.saved(store, run.iteration)
    if cur is not None:  # an iteration in progress (a resumed loop): finish it as it was started
        answer = _parsed(saved)
        extra = _extra(saved)
        if not cur.get("agent_outcome"):
            _measure(cwd, cur.get("hypothesis"), sig)
        description = answer.description if answer else (cur.get("agent_outcome") or ["resumed"])[0]
        _finish(store, run, answer, _until_done(lambda: decide_cmd.decide(cwd, description, STEP_WAIT, extra), sig),
                log)
        return None
    totals = run.summary.agent
    if telemetry.cost_stop(totals, cap):
        spent = (totals or {}).get("cost_usd", 0.0)
        return _request_stop(cwd, "cost_budget_exhausted", f"spent ${spent:.4f} of ${cap:g}; one more iteration "
                             f"costs ${telemetry.mean_cost(totals):.4f} on average")
    if run.summary.trailing_agent_failures >= max_failures:
        return _request_stop(cwd, "agent_failures_exhausted",
                             f"{run.summary.trailing_agent_failures} failed agent runs in a row")
    if saved is None and _changed(run):
        # a loop killed while its agent worked: the half-made change is saved and discarded
        _finish(store, run, None, _until_done(lambda: decide_cmd.record_agent_outcome(
            cwd, "agent_failed", "the loop was interrupted while the agent worked; its partial change was "
            "discarded", "agent interrupted", wait=STEP_WAIT), sig), log)
        return None
    if saved is None:
        text = prompt.build(_prompt_input(store, run))
        sig.hot = True
        try:
            sig.check()
            saved = agent.run(store, run.root, run.iteration, command, text, timeout)
        finally:
            sig.hot = False
        late = load(cwd)
        if late.stop["stopped"]:  # `ratchet.py stop` while the agent worked: its change is saved, not measured
            from commands.stop import _save_work_in_progress
            with locked(cwd, running=False) as late:
                _save_work_in_progress(late)
            return late.stop["reason"]
    moved = gitops.moved_from(run.root, run.meta.get("branch"), run.expected_head)
    if moved:
        gitops.put_back(run.root, run.meta.get("branch"), run.expected_head)
    decision, reason, answer = agentanswer.outcome_of(
        exit_code=saved.exit_code, timed_out=saved.timed_out, timeout=timeout,
        is_error=bool(saved.telemetry.get("is_error")), answer=saved.answer, git_moved=moved,
        changed=_changed(run))
    extra = _extra(saved)
    if decision:
        if decision == "agent_used_git":
            extra["agent_git"] = moved
        out = _until_done(lambda: decide_cmd.record_agent_outcome(
            cwd, decision, reason, answer.description if answer else prompt.clip(reason, 120),
            answer.hypothesis if answer else "", extra, STEP_WAIT), sig)
    else:
        _measure(cwd, answer.hypothesis, sig)
        out = _until_done(lambda: decide_cmd.decide(cwd, answer.description, STEP_WAIT, extra), sig)
    _finish(store, run, answer, out, log)
    return None


def _changed(run) -> bool:
    return bool([p for p in gitops.dirty_paths(run.root) if p not in run.excluded]) or bool(protected_problems(run))


def _parsed(saved) -> agentanswer.Answer | None:
    try:
        return agentanswer.parse(saved.answer) if saved else None
    except agentanswer.Malformed:
        return None


def _extra(saved) -> dict:
    """The record fields of an agent run: its telemetry, exit and files."""
    if saved is None:
        return {}
    return {"agent": {**saved.telemetry, "exit_code": saved.exit_code, "timed_out": saved.timed_out,
                      "wall_s": saved.wall_s, "notes": saved.notes, "files": saved.files}}


def _measure(cwd: Path, hypothesis: str | None, sig) -> dict:
    """run-trial --all until the measurement is done (the worker measures, this waits)."""
    return _until_done(lambda: run_trial(cwd, True, hypothesis, STEP_WAIT), sig)


def _until_done(call, sig) -> dict:
    while True:
        out = call()
        if "running" not in out:
            return out
        sig.check()


def _finish(store: Store, run, answer, out: dict, log) -> None:
    """After a decision: the ideas backlog updated, one line for people, the loop log."""
    it = out.get("iter", run.iteration)
    if answer is not None:
        b = _ideas(store, run.key)
        if answer.idea_tried is not None:
            b = ideas.mark_tried(b, answer.idea_tried, it, out.get("decision"), out.get("delta"))
        b = ideas.add(b, answer.ideas, it)
        store.write_sealed("ideas.json", b, run.key)
    _report(out, answer)
    log.write({"event": "iteration", "iter": it, "decision": out.get("decision")})


def _ideas(store: Store, key: str) -> dict:
    try:
        return store.read_sealed("ideas.json", key) or ideas.empty()
    except TamperedState:
        return ideas.empty()


def _prompt_input(store: Store, run) -> prompt.PromptInput:
    opened, tried = ideas.view(_ideas(store, run.key))
    previous = agent.saved(store, run.iteration - 1)
    baseline = run.summary.baseline
    try:
        rules = RULES.read_text()
    except OSError:
        rules = ""
    return prompt.PromptInput(config=run.config, iteration=run.iteration, best=run.best,
                              baseline=baseline["avg"] if baseline else None, recent=list(run.summary.tail),
                              directive=run.escalation, open_ideas=opened, tried_ideas=tried,
                              notes=previous.notes if previous else [], rules=rules)


def _request_stop(cwd: Path, reason: str, detail: str) -> str:
    with locked(cwd) as run:
        request = {"reason": reason, "at": now(), "iter": run.iteration, "detail": detail}
        run.store.write_sealed(STOP_REQUEST, request, run.key)
    _say(f"{reason}: {detail}")
    return reason


def _report(out: dict, answer) -> None:
    if "decision" not in out:
        return
    avg = "" if out.get("avg") is None else f", mean {out['avg']:.6g}"
    delta = "" if out.get("delta") is None else f", effect {out['delta']:+.4g}"
    what = f": {answer.description}" if answer else ""
    if out.get("decision", "").startswith("agent_") and out.get("reason"):
        what = f": {out['reason']}"
    _say(f"iter {out['iter']}: {out['decision']}{avg}{delta}{what}")


def _say(line: str) -> None:
    print(f"ratchet loop: {line}", file=sys.stderr, flush=True)


class _Log:
    """`.ratchet/loop.jsonl`: what the loop did (start, iterations, interruptions, stop)."""

    def __init__(self, store: Store):
        self.path = store.path("loop.jsonl")

    def write(self, event: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": now(), **event}, ensure_ascii=False) + "\n")
