"""Run configuration: the `init` flags, validated, and their round-trip to JSON.

Pure: `parse_init_args(argv)` turns the slash command's flags into a frozen
`Config` or raises `UsageError` with a one-line message. Reading an
`--instructions-file` is the caller's job (it is I/O): parse with
`build_parser()`, read the file, then call `config_from_namespace`.
"""

import argparse
import math
import re
from typing import NamedTuple

from core import constraints as constraints_mod
from core.budget import parse_duration
from core.direction import DIRECTIONS
from core.errors import UsageError

STREAM_SOURCES = ("stdout", "stderr")
# Defaults of the noise-robust design; bench/decisions.py measures exactly these.
CALIBRATION_RUNS = 30  # fewer makes the "too noisy" warning unreliable (bench: 10 runs miss 3% of warnings)
MAX_PAIRS = 50         # = stats.DEFAULTS["max_pairs"]; 30 loses power under outliers
CONFIRM_PAIRS = 16     # the signed-rank interval's exact level is 95.6% at 16 pairs (10 gives 95.1%)


class MinImprovement(NamedTuple):
    """Margin a candidate must beat the best by: absolute, or relative (percent)."""

    value: float = 0.0
    relative: bool = False

    def margin(self, best: float) -> float:
        """The margin in metric units against a best score of `best`."""
        return abs(best) * self.value / 100.0 if self.relative else self.value

    def text(self) -> str:
        return f"{self.value:g}%" if self.relative else f"{self.value:g}"


class Config(NamedTuple):
    """Everything `init` was told. Immutable for the whole run."""

    run_command: str
    direction: str
    metric_name: str
    report_source: str
    trials: int | None = None  # None: automatic (see interleave.design_of)
    iterations: int = 20
    threshold: float | None = None
    patience: int = 0
    min_improvement: MinImprovement = MinImprovement()
    max_consecutive_crashes: int = 3
    trial_timeout_seconds: float | None = None
    critic: bool = False
    instructions: str = ""
    guard_command: str | None = None
    protect: tuple[str, ...] = ()
    metric_regex: str | None = None
    no_branch: bool = False
    calibration_runs: int = CALIBRATION_RUNS
    max_pairs: int = MAX_PAIRS
    confirm_pairs: int = CONFIRM_PAIRS
    budget_seconds: float | None = None  # --budget: wall clock from init
    editable: tuple[str, ...] = ()       # --editable: the only paths a change may touch (empty: any)
    constraints: tuple[str, ...] = ()    # --constraint, normalized (`core.constraints`)
    refine_after: int = 3          # escalation (core.escalation): refine after this many misses in a row
    pivot_after: int = 5           # a pivot per this many misses in a row
    widen_after_pivots: int = 2    # re-read and search widely after this many pivots
    plateau_after_pivots: int = 0  # stop as `plateau` after this many pivots (0: off; loop starts runs with 3)

    @property
    def baseline_trials(self) -> int:
        """Runs of the unchanged code: enough to calibrate the noise."""
        return max(self.trials or 0, self.calibration_runs)

    @property
    def constraint_specs(self) -> tuple[constraints_mod.Constraint, ...]:
        return tuple(constraints_mod.parse(t) for t in self.constraints)

    @property
    def report_is_file(self) -> bool:
        return self.report_source not in STREAM_SOURCES

    def to_dict(self) -> dict:
        d = self._asdict()
        d["min_improvement"] = self.min_improvement.text()
        d["protect"] = list(self.protect)
        d["editable"] = list(self.editable)
        d["constraints"] = list(self.constraints)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """Inverse of `to_dict`. Raises UsageError on a malformed dict."""
        try:
            d = dict(d)
            d["min_improvement"] = parse_min_improvement(str(d.get("min_improvement", "0")))
            for name in ("protect", "editable", "constraints"):
                d[name] = tuple(d.get(name, ()))
            return cls(**{k: v for k, v in d.items() if k in cls._fields})
        except (TypeError, ValueError) as exc:
            raise UsageError(f".ratchet/config.json is malformed ({exc}); re-run init") from None


class Parser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError instead of printing usage,
    with help wrapped at HELP_COLUMNS: argparse sizes every formatter it
    makes (one per argument added) to the terminal by importing shutil,
    milliseconds at every start of a clean interpreter, and ratchet's help
    is read where there is no terminal anyway (the client's Bash tool, cron),
    whose width argparse takes as 80."""

    HELP_COLUMNS = 80

    def error(self, message: str):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see --help)")

    def _get_formatter(self):
        return self.formatter_class(prog=self.prog, width=self.HELP_COLUMNS - 2)


def _number(flag: str, text: str, *, integer: bool, minimum: float | None = None,
            strictly_above: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise UsageError(f"{flag} must be {kind}, got {text!r}") from None
    if not integer and not math.isfinite(value):
        raise UsageError(f"{flag} must be a finite number, got {text!r}")
    if minimum is not None and (value <= minimum if strictly_above else value < minimum):
        op = ">" if strictly_above else ">="
        raise UsageError(f"{flag} must be {op} {minimum:g}, got {text!r}")
    return value


def parse_min_improvement(text: str) -> MinImprovement:
    """'0.05' -> absolute margin; '2%' -> 2 percent of the current best."""
    raw = text.strip()
    relative = raw.endswith("%")
    value = _number("--min-improvement", raw[:-1] if relative else raw, integer=False, minimum=0)
    return MinImprovement(value, relative)


def build_parser() -> argparse.ArgumentParser:
    """The `init` flags, exactly the slash command's."""
    p = Parser(prog="ratchet.py init", allow_abbrev=False,
                description="Start a ratchet run in the current git repository.")
    req = p.add_argument_group("required")
    req.add_argument("--run-command", required=True, help="shell command that produces the report")
    req.add_argument("--direction", required=True, help="min or max: which way is better")
    req.add_argument("--metric-name", required=True, help="name of the metric inside the report")
    req.add_argument("--report-source", required=True,
                     help="stdout, stderr, or a file path (relative to this directory) read after each run")
    p.add_argument("--trials", default=None,
                   help="fixed design: N runs per iteration (N interleaved pairs for a noisy metric); "
                        "default: automatic (1 run for a deterministic metric, a sequential test otherwise)")
    p.add_argument("--iterations", default="20", help="hard cap on iterations after the baseline (default 20)")
    p.add_argument("--threshold", default=None, help="stop once the best score crosses this value")
    p.add_argument("--patience", default="0",
                   help="stop after K iterations in a row without a kept improvement (default 0: off)")
    p.add_argument("--min-improvement", default="0",
                   help="margin over the best needed to keep: a number in metric units, or a percent like 2%%")
    p.add_argument("--max-consecutive-crashes", default="3", help="stop after N crashed iterations in a row (default 3)")
    p.add_argument("--trial-timeout-seconds", default=None,
                   help="wall-clock cap per trial; the whole process group is killed")
    p.add_argument("--critic", action="store_true", help="two proposers and a blind judge per iteration")
    p.add_argument("--instructions", default=None, help="run-specific integrity rules, echoed back every step")
    p.add_argument("--instructions-file", default=None, help="read the instructions from this file")
    p.add_argument("--guard-command", default=None, help="must exit 0 before an improvement is kept (e.g. the tests)")
    p.add_argument("--protect", action="append", default=[], metavar="GLOB",
                   help="files the change must never touch (repeatable)")
    p.add_argument("--editable", action="append", default=[], metavar="GLOB",
                   help="the only files a change may touch (repeatable; same globs as --protect): "
                        "a change outside them is an integrity_violation")
    p.add_argument("--constraint", action="append", default=[], metavar="SPEC",
                   help="a side metric from the same report that must not get worse (repeatable): "
                        "peak_mb<=+2%% (may grow 2%% over the baseline), accuracy>=-0.001, errors<=0 (a bound)")
    p.add_argument("--metric-regex", default=None, help="extraction pattern with one capture group")
    p.add_argument("--no-branch", action="store_true",
                   help="commit on the current branch instead of a new ratchet/<run_id> branch")
    p.add_argument("--calibration-runs", default=str(CALIBRATION_RUNS),
                   help=f"baseline runs used to measure the noise (default {CALIBRATION_RUNS}, at least 2; "
                        "a metric whose first 5 runs agree exactly stops there)")
    p.add_argument("--max-pairs", default=str(MAX_PAIRS),
                   help=f"cap of incumbent/candidate pairs per iteration for a noisy metric (default {MAX_PAIRS})")
    p.add_argument("--budget", default=None, metavar="DURATION",
                   help="wall-clock budget from now, e.g. 8h, 90m, 1h30m: the run stops as budget_exhausted "
                        "when one more iteration and the final confirmation would not fit")
    p.add_argument("--confirm-pairs", default=str(CONFIRM_PAIRS),
                   help=f"pairs in the final baseline-vs-best confirmation run (default {CONFIRM_PAIRS}; 0 = off)")
    p.add_argument("--refine-after", default="3",
                   help="escalation: ask for a refinement after N iterations in a row without a keep (default 3)")
    p.add_argument("--pivot-after", default="5",
                   help="escalation: ask for a structurally different approach every N misses in a row (default 5)")
    p.add_argument("--widen-after-pivots", default="2",
                   help="escalation: ask to re-read the code and search widely after N pivots (default 2)")
    p.add_argument("--plateau-after-pivots", default="0",
                   help="stop as plateau after N pivots without a keep (default 0: off; ratchet.py loop uses 3)")
    return p


def parse_init_args(argv: list[str], instructions_from_file: str | None = None) -> Config:
    """Validate `init` flags into a Config.

    `instructions_from_file` is the text of --instructions-file, read by the
    caller. Raises UsageError (one line) on any bad flag or value.
    """
    ns = build_parser().parse_args(argv)
    return config_from_namespace(ns, instructions_from_file)


def config_from_namespace(ns: argparse.Namespace, instructions_from_file: str | None) -> Config:
    for flag in ("run_command", "metric_name", "report_source"):
        if not getattr(ns, flag).strip():
            raise UsageError(f"--{flag.replace('_', '-')} must not be empty")
    direction = ns.direction.strip().lower()
    if direction not in DIRECTIONS:
        raise UsageError(f"--direction must be min or max, got {ns.direction!r}")
    if ns.instructions is not None and ns.instructions_file is not None:
        raise UsageError("give --instructions or --instructions-file, not both")
    timeout = None
    if ns.trial_timeout_seconds is not None:
        timeout = _number("--trial-timeout-seconds", ns.trial_timeout_seconds, integer=False,
                          minimum=0, strictly_above=True)
    threshold = None
    if ns.threshold is not None:
        threshold = _number("--threshold", ns.threshold, integer=False)
    regex = ns.metric_regex
    if regex is not None:
        try:
            groups = re.compile(regex).groups
        except re.error as exc:
            raise UsageError(f"--metric-regex is not a valid regular expression: {exc}") from None
        if groups != 1:
            raise UsageError(f"--metric-regex must have exactly one capture group, it has {groups}")
    protect = tuple(g.strip() for g in ns.protect)
    if any(not g for g in protect):
        raise UsageError("--protect needs a non-empty glob")
    editable = tuple(g.strip() for g in ns.editable)
    if any(not g for g in editable):
        raise UsageError("--editable needs a non-empty glob")
    specs = constraints_mod.parse_all(ns.constraint, ns.metric_name.strip())
    guard = ns.guard_command
    if guard is not None and not guard.strip():
        raise UsageError("--guard-command must not be empty")
    return Config(
        run_command=ns.run_command,
        direction=direction,
        metric_name=ns.metric_name.strip(),
        report_source=ns.report_source.strip(),
        trials=None if ns.trials is None else int(_number("--trials", ns.trials, integer=True, minimum=1)),
        iterations=int(_number("--iterations", ns.iterations, integer=True, minimum=1)),
        threshold=threshold,
        patience=int(_number("--patience", ns.patience, integer=True, minimum=0)),
        min_improvement=parse_min_improvement(ns.min_improvement),
        max_consecutive_crashes=int(_number("--max-consecutive-crashes", ns.max_consecutive_crashes,
                                            integer=True, minimum=1)),
        trial_timeout_seconds=timeout,
        critic=bool(ns.critic),
        instructions=(instructions_from_file if ns.instructions_file is not None else ns.instructions or ""),
        guard_command=guard,
        protect=protect,
        metric_regex=regex,
        no_branch=bool(ns.no_branch),
        calibration_runs=int(_number("--calibration-runs", ns.calibration_runs, integer=True, minimum=2)),
        max_pairs=int(_number("--max-pairs", ns.max_pairs, integer=True, minimum=4)),
        confirm_pairs=_confirm_pairs(ns.confirm_pairs),
        budget_seconds=_budget(ns.budget),
        editable=editable,
        constraints=tuple(c.text for c in specs),
        refine_after=int(_number("--refine-after", ns.refine_after, integer=True, minimum=1)),
        pivot_after=int(_number("--pivot-after", ns.pivot_after, integer=True, minimum=1)),
        widen_after_pivots=int(_number("--widen-after-pivots", ns.widen_after_pivots, integer=True, minimum=1)),
        plateau_after_pivots=int(_number("--plateau-after-pivots", ns.plateau_after_pivots, integer=True,
                                         minimum=0)),
    )


def _budget(text: str | None) -> float | None:
    if text is None:
        return None
    seconds = parse_duration(text)
    if seconds is None:
        raise UsageError(f"--budget must be a duration like 8h, 90m, 1h30m or 3600 (seconds), got {text!r}")
    if seconds < 1:
        raise UsageError(f"--budget must be at least 1 second, got {text!r}")
    return seconds


def _confirm_pairs(text: str) -> int:
    n = int(_number("--confirm-pairs", text, integer=True, minimum=0))
    if n == 1:
        raise UsageError("--confirm-pairs must be 0 (off) or >= 2, got '1'")
    return n

