"""One agent run of `ratchet.py loop`: the process, its files, and what it left.

`run(...)` writes the prompt to `.ratchet/agents/iter-NNNN-prompt.md`, runs the agent
command with `/bin/sh -c` in the repository root, the prompt on its stdin and its path in
`RATCHET_PROMPT_FILE`, in its own process group under a `runner.Watchdog` (so the whole
group dies on `--agent-timeout`, on an interrupt, and even when the loop is SIGKILLed),
and streams stdout/stderr to `iter-NNNN-agent.txt` / `-agent.err`. Processes the agent
started in sessions of their own (the Claude Code CLI runs each Bash command with
`setsid`) are killed too: the descendants are collected before the kill, and on Linux
this process is their subreaper (`become_subreaper`), so those orphaned by an agent
that exited are swept right after it (`sweep`). Then it reads the
output (`core.telemetry.parse_stream`) and saves what it learnt in `iter-NNNN-agent.json`,
so a loop resumed after a crash still records the agent's telemetry.

`default_command(config)` is the Claude Code CLI in print mode with stream-json output and
only the tools needed to read and edit code: no Bash (so no git and no benchmark), no web,
Edit/Write denied on the protected files and on `.ratchet/` and, with `--editable`,
allowed only on the editable globs.
"""

import ctypes
import json
import os
import shlex
from pathlib import Path
from typing import NamedTuple

from core import telemetry
from shell import runner, worker
from shell.store import Store, atomic_write, dumps

PR_SET_CHILD_SUBREAPER = 36

READ_EDIT_TOOLS = ("Read", "Edit", "Write", "Glob", "Grep")
DENIED_TOOLS = ("Bash", "WebFetch", "WebSearch", "NotebookEdit", "Task", "Agent", "Skill")


def _rule_paths(glob: str) -> list[str]:
    """The permission-rule paths of a ratchet glob: a folder covers what lies below it."""
    glob = glob.strip()
    if glob.endswith("/"):
        return [glob + "**"]
    if not any(c in glob for c in "*?["):  # a file, or a folder named without its slash
        return [glob, glob + "/**"]
    return [glob]


def default_command(protect: tuple[str, ...] = (), editable: tuple[str, ...] = ()) -> str:
    """`claude -p` with stream-json output and read/edit tools only (see the module
    docstring); with `--editable`, Edit and Write are allowed on those globs only."""
    denied = list(DENIED_TOOLS)
    for g in tuple(protect) + (".ratchet/",):
        for path in _rule_paths(g):
            denied += [f"Edit({path})", f"Write({path})"]
    allowed = list(READ_EDIT_TOOLS)
    if editable:
        allowed = [t for t in allowed if t not in ("Edit", "Write")]
        allowed += [f"{tool}({path})" for g in editable for path in _rule_paths(g) for tool in ("Edit", "Write")]
    args = ["claude", "-p", "--output-format", "stream-json", "--verbose",
            "--allowedTools", ",".join(allowed), "--disallowedTools", *denied]
    return shlex.join(args)


class AgentRun(NamedTuple):
    exit_code: int | None
    timed_out: bool
    wall_s: float
    answer: str                # the result text (stream-json) or the whole stdout
    telemetry: dict            # core.telemetry fields (zeros and metered=False without a result event)
    notes: list                # permission denials and tool errors, for the next prompt
    files: dict                # prompt, stdout, stderr (relative to the root)

    def to_dict(self) -> dict:
        return {"exit_code": self.exit_code, "timed_out": self.timed_out, "wall_s": self.wall_s,
                "answer": self.answer, "telemetry": self.telemetry, "notes": self.notes, "files": self.files}

    @classmethod
    def from_dict(cls, d: dict) -> "AgentRun":
        return cls(d.get("exit_code"), bool(d.get("timed_out")), float(d.get("wall_s") or 0.0),
                   str(d.get("answer") or ""), dict(d.get("telemetry") or {}), list(d.get("notes") or []),
                   dict(d.get("files") or {}))


def become_subreaper() -> bool:
    """Linux: orphans of our descendants are reparented to this process (not init), so
    `sweep` finds them. False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def sweep(store: Store) -> list[int]:
    """Kill what an agent left behind: every descendant of this process but the
    measurement worker (none runs while an agent does; checked all the same). Returns
    the pids killed."""
    keep = set()
    w = worker.running(store)
    if w:
        keep.add(int(w["pid"]))
        keep.update(runner.descendants(int(w["pid"])))
    doomed = [p for p in runner.descendants(os.getpid()) if p not in keep and worker.alive(p)]
    runner.kill_tree(doomed)
    for p in doomed:
        try:
            os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            pass
    return doomed


def paths(store: Store, iteration: int) -> dict[str, Path]:
    folder = store.path("agents")
    label = store.label(iteration)
    return {"prompt": folder / f"{label}-prompt.md", "stdout": folder / f"{label}-agent.txt",
            "stderr": folder / f"{label}-agent.err", "result": folder / f"{label}-agent.json"}


def saved(store: Store, iteration: int) -> AgentRun | None:
    """The agent run already made for `iteration` (a resumed loop), if any."""
    try:
        return AgentRun.from_dict(json.loads(paths(store, iteration)["result"].read_text()))
    except (OSError, ValueError, TypeError):
        return None


def run(store: Store, root: Path, iteration: int, command: str, prompt: str, timeout: float | None) -> AgentRun:
    """Run the agent once for `iteration`; see the module docstring."""
    p = paths(store, iteration)
    p["prompt"].parent.mkdir(parents=True, exist_ok=True)
    atomic_write(p["prompt"], prompt.encode())
    env = {**os.environ, "RATCHET_PROMPT_FILE": str(p["prompt"]), "RATCHET_ITERATION": str(iteration)}
    watch = runner.Watchdog()
    try:
        o = runner.run(f"( {command}\n) < {shlex.quote(str(p['prompt']))}", root, p["stdout"], p["stderr"],
                       timeout, env=env, watch=watch, tree=True)
    finally:
        watch.close()
        sweep(store)
    stream = telemetry.parse_stream(p["stdout"].read_text(errors="replace"))
    tel = dict(stream.telemetry) if stream.telemetry else {"metered": False, "duration_ms": int(o.duration_s * 1000)}
    tel.setdefault("metered", True)
    out = AgentRun(o.exit_code, o.timed_out, o.duration_s, stream.answer, tel, stream.notes,
                   {k: store.rel(v) for k, v in p.items() if k != "result"})
    atomic_write(p["result"], dumps(out.to_dict()).encode())
    return out
