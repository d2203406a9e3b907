"""ratchet: keep a code change only when a measured metric really improved.

The command line behind `ratchet.py`: parse, dispatch to the command's
module, print its answer. Each command prints one JSON object on stdout;
bad input prints one line on stderr and exits 2. Run `ratchet.py COMMAND
--help`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from core import config
from core.errors import UsageError
from shell.gitops import GitError
from shell import session
from shell.store import TamperedState
from views.answer import rounded



def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--wait must be a number of seconds, got {text!r}") from None
    if not 0 <= value <= 86400:
        raise UsageError(f"--wait must be between 0 and 86400 seconds, got {text!r}")
    return value


def _status(sub) -> None:
    s = sub.add_parser("status", help="where the run stands and what to do next")
    s.add_argument("--format", choices=("json", "text"), default="json")


def _run_trial(sub) -> None:
    t = sub.add_parser("run-trial", help="run the next trial of the current iteration")
    t.add_argument("--all", action="store_true", help="run every remaining trial of the iteration")
    t.add_argument("--hypothesis", default=None, help="what the change is expected to do (recorded)")
    t.add_argument("--wait", type=_seconds, default=None, metavar="SECONDS",
                   help="wait at most this long, then answer 'running' (default 90, less when "
                        "BASH_DEFAULT_TIMEOUT_MS is lower); the measurement goes on in the background")


def _score(sub) -> None:
    c = sub.add_parser("score", help="supply a metric the parser could not read (must appear in the report)")
    c.add_argument("--value", required=True)
    c.add_argument("--trial", type=int, default=None)


def _decide(sub) -> None:
    d = sub.add_parser("decide", help="decide the iteration: keep (commit) or revert")
    d.add_argument("--description", required=True, help="what the change was (the commit message)")
    d.add_argument("--wait", type=_seconds, default=None, metavar="SECONDS",
                   help="wait at most this long for the guard or the confirmation run (as run-trial)")


def _report(sub) -> None:
    r = sub.add_parser("report", help="write the morning report: an HTML page and a Markdown summary")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="folder for report.html and report.md (default .ratchet/)")


def _finalize(sub) -> None:
    f = sub.add_parser("finalize", help="make a branch for review from the run's start commit")
    f.add_argument("--branch", default=None, metavar="NAME",
                   help="branch name (default ratchet/<run_id>-review, -squash or -split-N)")
    f.add_argument("--squash", action="store_true", help="one commit for all kept changes")
    f.add_argument("--split", action="store_true",
                   help="one branch per group of kept changes touching disjoint files (with --squash: one commit each)")
    f.add_argument("--force", action="store_true", help="replace an existing branch of that name")


SUBCOMMANDS = {  # core command -> what adds its parser, in the order --help lists them
    "init": lambda sub: sub.add_parser("init", help="start a run (flags: ratchet.py init --help)", add_help=False),
    "loop": lambda sub: sub.add_parser(
        "loop", help="drive a run unattended, a fresh agent per iteration (ratchet.py loop --help)", add_help=False),
    "status": _status, "run-trial": _run_trial, "score": _score, "decide": _decide,
    "stop": lambda sub: sub.add_parser(
        "stop", help="end the run now (user_stopped): stop the measurement, restore the best commit"),
    "report": _report, "finalize": _finalize,
}


def build_parser(with_critic: bool = True, only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (`only`) just that core command's parser:
    building every subcommand's costs a call about a millisecond."""
    p = config.Parser(prog="ratchet.py", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    sub = p.add_subparsers(dest="command", required=True, parser_class=config.Parser)
    for name, add in SUBCOMMANDS.items():
        if only in (None, name):
            add(sub)
    if with_critic:  # critic mode is imported only when one of its commands (or the help) is asked for
        from critic import commands as critic
        critic.add_parsers(sub)
    return p


def dispatch(argv: list[str], cwd: Path) -> tuple[dict | str, int]:
    if argv[:1] == ["init"]:
        from commands.init import init
        return init(argv[1:], cwd), 0
    if argv[:1] == ["loop"]:
        from commands.loop import loop
        return loop(argv[1:], cwd)
    core = argv[0] if argv[:1] and argv[0] in SUBCOMMANDS else None
    ns = build_parser(with_critic=core is None, only=core).parse_args(argv)
    if getattr(ns, "handler", None):  # critic-mode commands
        return ns.handler(cwd, ns), 0
    if ns.command == "status":
        from commands import status
        return (status.status_text(cwd) if ns.format == "text" else status.status(cwd)), 0
    if ns.command == "run-trial":
        from commands.trial import run_trial
        return run_trial(cwd, ns.all, ns.hypothesis, ns.wait), 0
    if ns.command == "score":
        from commands.trial import score
        return score(cwd, ns.value, ns.trial), 0
    if ns.command == "decide":
        from commands.decide import decide
        return decide(cwd, ns.description, ns.wait), 0
    if ns.command == "stop":
        from commands.stop import stop
        return stop(cwd), 0
    if ns.command == "report":
        from commands.report import report
        return report(cwd, ns.out), 0
    if ns.command == "finalize":
        from commands.finalize import finalize
        return finalize(cwd, ns.branch, ns.squash, ns.split, ns.force), 0
    raise UsageError(f"unknown command {ns.command}")


def _check_text(argv: list[str]) -> None:
    """Arguments must be text: a byte that is not UTF-8 could not be written
    to the run's state, so it is refused before anything is written."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            raise UsageError(f"argument {shown!r} is not valid UTF-8 text; pass it in UTF-8") from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        _check_text(argv)
        if argv[:1] == ["init"] and any(a in ("-h", "--help") for a in argv[1:]):
            config.build_parser().print_help()
            return 0
        out, code = dispatch(argv, Path.cwd())
    except UsageError as exc:
        print(f"ratchet: error: {exc}", file=sys.stderr)
        return 2
    except (GitError, TamperedState) as exc:
        print(f"ratchet: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ratchet: interrupted; run ratchet.py status to resume (nothing is lost)", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the promise: never a traceback
        detail = " ".join(str(exc).split())[:300]
        print(f"ratchet: internal error: {type(exc).__name__}: {detail}; run ratchet.py status "
              "(state is written atomically, so nothing is half-written)", file=sys.stderr)
        return 1
    finally:
        session.claim()  # inside Claude Code: this session drives the run (for the Stop hook)
    try:
        if isinstance(out, str):
            sys.stdout.write(out)
        else:
            print(json.dumps(rounded(out), ensure_ascii=False, separators=(",", ":")))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (e.g. `| head`): the work is done and recorded
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def exit_now(code: int) -> None:
    """Exit with `code` once stdout and stderr are flushed, skipping the
    interpreter's teardown (freeing every imported module costs each call
    milliseconds; no command leaves a thread, a temporary file or an
    unflushed file behind)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more can be said
            pass
    os._exit(code)

