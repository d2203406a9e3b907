#!/usr/bin/env python3
"""Measure ratchet's flat cost per call: wall time per command, git processes
and the bytes of JSON the model reads.

Run from the repository root:  python3 bench/overhead.py [--quick]

Standard library only.  Drives the real ``ratchet.py`` CLI (one process per
command, as the model calls it) in throwaway git repositories, for two
designs:

* exact: a deterministic metric (``read v < score.txt; echo "m: $v"``), so
  the baseline stops after 5 agreeing runs and an iteration is 1 trial;
* noisy: a metric scattered over 1000 units by the shell's pid (``$$``), so
  the baseline runs the default 30 calibration runs and an iteration is
  interleaved incumbent/candidate pairs under the sequential test.

The benchmark command is a sourced shell script of builtins (``. ./bench.sh``,
``--protect bench.sh``): as cheap as a command can be.  Each measured
iteration is a clear regression (exact: +1; noisy: +5000, decided at the
first look, 4 pairs), the common outcome of an iteration: decided, reverted,
logged.

History.  A real run is made through the CLI (init, baseline, one kept
improvement, one reverted regression), then results.jsonl is extended to N
records with the project's own writer (``shell.store.Store.append_result``,
which hash-chains every record), copying the real kept and reverted records
with ``iter`` renumbered.  The kept copies name the commit HEAD is at, so
the run stays consistent; ``shell.context.load`` must load the result with
no integrity problem, or the benchmark stops.  Timings at N are taken
while the history grows from N to N + repeats - 1 (each timed iteration is
real and is logged).

Every process runs with byte-code caching on, in a private
PYTHONPYCACHEPREFIX (as in a user's plugin directory; a
PYTHONDONTWRITEBYTECODE=1 in the caller's environment is dropped, else every
command would recompile ratchet), with git's user and system config off.

Timings.  Per repeat: ``python3 -c pass`` (a bare interpreter start), then
``status``; the regression is written; a bare start, ``run-trial --all``; a
bare start, ``decide``.  Medians over the repeats.  ``run-trial``'s cost is
its wall time minus the durations ratchet recorded for the trials it ran
(the benchmark's own time; a bare ``sh -c '. ./bench.sh'`` is timed too and
printed for comparison).  Ratios to the bare start use the medians of the
same block (same design, same history size); the growth from the smallest
to the largest history compares those ratios, so a machine that got busier
between the blocks does not read as growth.

The interpreter's start.  Whatever the interpreter's site runs at every
start (a ``.pth`` file in site-packages, a sitecustomize) is paid by the
bare start and by every command alike, and may import modules ratchet would
otherwise import itself: the ratios shrink.  The first line says what a
bare start costs with its site and without (``-S``) and which modules from
outside the standard library it imports; ``--no-site`` times every Python
process (bare starts, ratchet's commands and their workers) with ``-S``.
Each block also times, beside the bare start, a start that imports the
standard-library modules every command needs (``STDLIB_NEEDED``) and
prints each command's cost against it (not judged): what ratchet adds to
the floor any Python implementation of it would pay.

Git processes are counted with a logging ``git`` wrapper first on PATH,
during the real (untimed) part of the run: init, the baseline, the keep,
the revert and one ``status``.

Bytes: the stdout of ``run-trial --all`` + ``decide`` for one normal
iteration (the keep and the revert; the target judges the larger), and for
the baseline (``run-trial --all`` + ``decide --description baseline``).

Targets (PASS/FAIL lines; a final summary line):
  each command at the largest history <= 1.2x its cost at the smallest
  (both in bare starts);
  each command at the smallest history <= 2.5x a bare interpreter start;
  JSON per normal iteration <= 700 bytes (exact), <= 900 bytes (noisy);
  the baseline answer <= 1200 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SCRIPTS = HERE.parent / "plugins" / "ratchet" / "skills" / "ratchet" / "scripts"

FULL = {"sizes": (10, 300, 3000), "repeats": 11}
QUICK = {"sizes": (10, 30), "repeats": 3}

GROWTH_TARGET = 1.2        # cost at the largest history / cost at the smallest
BARE_TARGET = 2.5          # cost at the smallest history / a bare interpreter start
NORMAL_BYTES = {"exact": 700, "noisy": 900}
BASELINE_BYTES = 1200

COMMANDS = ("status", "run-trial", "decide")

# name -> the knob file, its start value, the step of a clear change, the benchmark script
DESIGNS = {
    "exact": {"knob": "score.txt", "start": 1000000, "step": 1,
              "script": 'read v < score.txt\necho "m: $v"\n',
              "about": "deterministic metric: 5 baseline runs, 1 trial per iteration"},
    "noisy": {"knob": "off.txt", "start": 1000000, "step": 5000,
              "script": 'read off < off.txt\n'
                        'echo "m: $(( ($$ * 1103515245 + 12345) / 65536 % 1000 + off ))"\n',
              "about": "noise over 1000 units: 30 baseline runs, interleaved pairs (4 per clear change)"},
}

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C",
}


class BenchError(RuntimeError):
    """A ratchet command failed: the benchmark did not run."""


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Repo:
    """One throwaway repository with a run of one design."""

    def __init__(self, tmp: Path, design: str, scripts: Path, python: list[str]):
        self.design = design
        self.python = python
        self.spec = DESIGNS[design]
        self.root = tmp / design
        self.ratchet = scripts / "ratchet.py"
        self.env = python_env(tmp)
        self.best = self.spec["start"]
        self.gitlog = tmp / f"git-{design}.log"
        self.git_env = {**self.env, "PATH": f"{tmp / 'bin'}{os.pathsep}{self.env.get('PATH', '')}",
                        "RATCHET_BENCH_GITLOG": str(self.gitlog)}

    # -- setup ---------------------------------------------------------------
    def create(self) -> None:
        self.root.mkdir()
        (self.root / "bench.sh").write_text(self.spec["script"])
        self.write_knob(self.best)
        for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "benchmark")):
            subprocess.run(["git", "-C", str(self.root), *args], check=True, env=self.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def write_knob(self, value: int) -> None:
        (self.root / self.spec["knob"]).write_text(f"{value}\n")

    # -- running ratchet -----------------------------------------------------
    def cli(self, *args: str, count_git: str | None = None) -> tuple[str, float]:
        """(stdout, wall seconds) of `ratchet.py args`; BenchError on failure.
        `count_git`: log the git processes it starts under that label."""
        env = self.env
        if count_git:
            env = self.git_env
            with open(self.gitlog, "a") as fh:
                fh.write(f"== {count_git}\n")
        t0 = time.perf_counter()
        proc = subprocess.run([*self.python, str(self.ratchet), *args], cwd=self.root, env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise BenchError(f"{self.design}: ratchet.py {' '.join(args)} exited {proc.returncode}: "
                             f"{proc.stderr.strip()[-800:]}")
        return proc.stdout, wall

    def iteration(self, change: int, label: str, count_git: str | None = None) -> dict:
        """One real iteration: the knob moved by `change` steps (negative =
        better), run-trial --all, decide. Returns bytes and times."""
        value = self.best + change * self.spec["step"]
        self.write_knob(value)
        rt_out, rt_wall = self.cli("run-trial", "--all", "--hypothesis", label,
                                   count_git=count_git and f"{count_git} run-trial")
        dec_out, dec_wall = self.cli("decide", "--description", label,
                                     count_git=count_git and f"{count_git} decide")
        answer = json.loads(dec_out)
        if answer.get("kept") and change < 0:
            self.best = value
        record = self.last_record()
        return {"bytes": len(rt_out.encode()) + len(dec_out.encode()),
                "run_trial": rt_wall, "decide": dec_wall, "decision": answer.get("decision"),
                "trials": [t.get("duration_s") or 0.0 for t in record.get("trials", [])]}

    def last_record(self) -> dict:
        path = self.root / ".ratchet" / "results.jsonl"
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - (1 << 20)))
            tail = fh.read()
        return json.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])

    def bare_sh(self) -> float:
        t0 = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", ". ./bench.sh"], cwd=self.root, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t0

    # -- growing the history ---------------------------------------------------
    def extend(self, n: int) -> None:
        """Extend results.jsonl to `n` records with Store.append_result,
        copying the last real reverted and kept records (iter renumbered)."""
        from shell.store import Store  # the project's writer (imported from --scripts)

        store = Store(self.root)
        key = json.loads(store.path("config.json").read_text())["run_id"]
        log = store.path("results.jsonl")
        lines = log.read_bytes().splitlines(keepends=True)
        records = [json.loads(line) for line in lines]
        if len(records) >= n:
            return
        kept = [r for r in records if r.get("kept") and r["iter"] > 0]
        reverted = [r for r in records if not r.get("kept")]
        if not kept or not reverted:
            raise BenchError(f"{self.design}: the real run needs a kept and a reverted iteration to copy")
        templates = [reverted[-1], kept[-1]]  # a kept copy names HEAD's commit: best stays consistent
        next_iter = records[-1]["iter"] + 1
        copies = [dict(templates[i % 2], iter=next_iter + i) for i in range(n - len(records))]
        # append_result reads the whole log on every call (O(n^2) for n
        # appends): all but the last copy are appended on a scratch log that
        # holds only the previous record, whose chain link is all the next
        # record needs, and each new line is moved over. The last copy goes
        # through the real log's append_result, which also brings whatever
        # the writer keeps beside the log (a summary) up to date.
        scratch = Path(tempfile.mkdtemp(prefix="ratchet-bench-log-"))
        try:
            sstore = Store(scratch)
            sstore.dir.mkdir()
            slog = sstore.path("results.jsonl")
            seed = lines[-1] if lines[-1].endswith(b"\n") else lines[-1] + b"\n"
            out = []
            for rec in copies[:-1]:
                slog.write_bytes(seed)
                sstore.append_result(rec, key)
                seed = slog.read_bytes()[len(seed):]
                out.append(seed)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        with open(log, "ab") as fh:
            fh.write(b"".join(out))
            fh.flush()
            os.fsync(fh.fileno())
        store.append_result(copies[-1], key)
        records, torn = store.read_results()
        broken = store.verify_results(records, key)
        from shell import context  # how every command loads and verifies the log
        run = context.load(self.root)
        if len(records) != n or torn or broken or run.tampered:
            raise BenchError(f"{self.design}: the extended log does not load cleanly "
                             f"({len(records)} records, broken links {broken[:3]}, problems {run.tampered})")

    # -- git process counts ------------------------------------------------------
    def git_counts(self) -> dict[str, list[str]]:
        counts: dict[str, list[str]] = {}
        label = None
        if not self.gitlog.exists():
            return counts
        for line in self.gitlog.read_text().splitlines():
            if line.startswith("== "):
                label = line[3:]
                counts.setdefault(label, [])
            elif label:
                counts[label].append(line)
        return counts


def make_git_wrapper(tmp: Path) -> None:
    real = shutil.which("git")
    if real is None:
        raise BenchError("git is not on PATH")
    bindir = tmp / "bin"
    bindir.mkdir()
    wrapper = bindir / "git"
    wrapper.write_text('#!/bin/sh\n'
                       'if [ "$1" = -C ]; then sub=$3; else sub=$1; fi\n'
                       'printf "%s\\n" "$sub" >> "$RATCHET_BENCH_GITLOG"\n'
                       f'exec "{real}" "$@"\n')
    wrapper.chmod(0o755)


def python_env(tmp: Path) -> dict:
    """The environment of every process the benchmark starts: hermetic git
    (no user or system config, a fixed identity) and byte-code caching on,
    in a private prefix (a user's plugin directory caches .pyc files; a
    PYTHONDONTWRITEBYTECODE=1 in the caller's environment would make every
    command recompile ratchet and time the compiler)."""
    env = {**os.environ, **GIT_IDENTITY, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
    for name in ("PYTHONDONTWRITEBYTECODE", "RATCHET_BENCH_GITLOG"):
        env.pop(name, None)
    return env


STDLIB_NEEDED = ("json", "re", "subprocess", "pathlib", "argparse", "typing")  # what every command imports


def bare_start(env: dict, python: list[str], code: str = "pass") -> float:
    t0 = time.perf_counter()
    subprocess.run([*python, "-c", code], check=True, env=env)
    return time.perf_counter() - t0


def stdlib_start(env: dict, python: list[str]) -> float:
    """A start that imports the standard-library modules every command
    needs (STDLIB_NEEDED): the part of a call's cost ratchet cannot go under."""
    return bare_start(env, python, "import " + ", ".join(STDLIB_NEEDED))


STARTUP_PROBE = """import sys
first = list(sys.modules)
import sysconfig
paths = sysconfig.get_paths()
outside = (paths["purelib"], paths["platlib"])
names = set()
for name in first:
    f = getattr(sys.modules.get(name), "__file__", None) or ""
    if f and (f.startswith(outside) or not f.startswith((paths["stdlib"], paths["platstdlib"]))):
        names.add(name.split(".")[0])
print(" ".join(sorted(names)))
"""


def startup(env: dict, python: list[str]) -> dict:
    """What a bare start of this interpreter costs and holds: the median of
    5 starts with its site (as every command runs) and without (-S), and
    the top-level modules from outside the standard library its start
    imports (site-packages .pth files, sitecustomize): they make every
    start, ratchet's and the bare one alike, slower, so ratios to a bare
    start are smaller than on a clean interpreter."""
    exe = python[:1]
    with_site = median([bare_start(env, exe) for _ in range(5)])
    without = median([bare_start(env, [*exe, "-S"]) for _ in range(5)])
    probe = subprocess.run([*python, "-c", STARTUP_PROBE], env=env, capture_output=True, text=True)
    return {"site": with_site, "no_site": without, "imports": probe.stdout.split()}


def measure_design(tmp: Path, design: str, scripts: Path, sizes, repeats: int, log, python: list[str]) -> dict:
    repo = Repo(tmp, design, scripts, python)
    repo.create()
    log(f"\ndesign {design} ({DESIGNS[design]['about']})")
    # the real part, git processes counted
    repo.cli("init", "--run-command", ". ./bench.sh", "--direction", "min", "--metric-name", "m",
             "--report-source", "stdout", "--protect", "bench.sh", "--iterations", "1000000",
             count_git="init")
    rt_out, _ = repo.cli("run-trial", "--all", count_git="baseline run-trial")
    dec_out, _ = repo.cli("decide", "--description", "baseline", count_git="baseline decide")
    baseline = json.loads(dec_out)
    if baseline.get("calibration", {}).get("design") not in (("exact",) if design == "exact"
                                                              else ("sequential",)):
        raise BenchError(f"{design}: the baseline chose design {baseline.get('calibration')!r}")
    baseline_bytes = (len(rt_out.encode()), len(dec_out.encode()))
    keep = repo.iteration(-1, "a clear improvement", count_git="keep")
    revert = repo.iteration(+1, "a clear regression", count_git="revert")
    repo.cli("status", count_git="status")
    if keep["decision"] != "improve" or revert["decision"] != "regress":
        raise BenchError(f"{design}: expected improve then regress, got {keep['decision']}, {revert['decision']}")
    normal_bytes = [revert["bytes"]]
    # the timed part
    blocks = {}
    trials_seen, sh_times = [], []
    for n in sizes:
        repo.extend(n)
        repo.cli("status")  # warm-up (page cache, pyc)
        samples = {c: [] for c in COMMANDS}
        bare = []
        floor = []
        for r in range(repeats):
            bare.append(bare_start(repo.env, repo.python))
            floor.append(stdlib_start(repo.env, repo.python))
            samples["status"].append(repo.cli("status")[1])
            bare.append(bare_start(repo.env, repo.python))
            it = repo.iteration(+1, f"regression {n}-{r}")
            if it["decision"] != "regress":
                raise BenchError(f"{design}: a timed iteration was decided {it['decision']}")
            samples["run-trial"].append(it["run_trial"] - sum(it["trials"]))
            bare.append(bare_start(repo.env, repo.python))
            samples["decide"].append(it["decide"])
            trials_seen.append(it["trials"])
            normal_bytes.append(it["bytes"])
            sh_times.append(repo.bare_sh())
        blocks[n] = {"bare": median(bare), "stdlib": median(floor), **{c: median(v) for c, v in samples.items()}}
    counts = repo.git_counts()
    return {"blocks": blocks, "baseline_bytes": baseline_bytes, "normal_bytes": max(normal_bytes),
            "revert_bytes": max(normal_bytes), "keep_bytes": keep["bytes"], "counts": counts,
            "trials_per_iteration": median([len(t) for t in trials_seen]),
            "trial_duration": median([d for t in trials_seen for d in t]),
            "bare_sh": median(sh_times)}


def report(design: str, res: dict, sizes, log, verbose: bool) -> list[tuple[bool, str]]:
    blocks = res["blocks"]
    lo, hi = sizes[0], sizes[-1]
    log(f"  {'history':>8}  {'bare start':>10}  " + "  ".join(f"{c:>22}" for c in COMMANDS))
    for n in sizes:
        b = blocks[n]
        cells = "  ".join(f"{ms(b[c]):>12} {b[c] / b['bare']:5.2f}x bare" for c in COMMANDS)
        log(f"  {n:>8}  {ms(b['bare']):>10}  {cells}")
    low = blocks[lo]
    log(f"  against a start that imports {', '.join(STDLIB_NEEDED)} ({ms(low['stdlib'])}, "
        f"{low['stdlib'] / low['bare']:.2f}x bare; not judged), at {lo} records: "
        + ", ".join(f"{c} {low[c] / low['stdlib']:.2f}x" for c in COMMANDS))
    log(f"  run-trial excludes the trials' own time: {res['trials_per_iteration']:g} trials per iteration, "
        f"recorded duration median {ms(res['trial_duration'])} (a bare sh -c '. ./bench.sh': {ms(res['bare_sh'])})")
    counts = res["counts"]
    order = ["init", "baseline run-trial", "baseline decide", "status", "keep run-trial", "keep decide",
             "revert run-trial", "revert decide"]
    log("  git processes: " + ", ".join(f"{k} {len(counts.get(k, []))}" for k in order))
    if verbose:
        for k in order:
            by = {}
            for sub in counts.get(k, []):
                by[sub] = by.get(sub, 0) + 1
            log(f"    {k}: " + ", ".join(f"{s} {c}" for s, c in sorted(by.items(), key=lambda kv: -kv[1])))
    rt, dec = res["baseline_bytes"]
    log(f"  JSON the model reads: baseline {rt + dec} B (run-trial {rt} + decide {dec}); "
        f"normal iteration: revert {res['revert_bytes']} B, keep {res['keep_bytes']} B")
    verdicts = []
    for c in COMMANDS:
        # in units of the bare start timed beside it, so a machine that got
        # busier between the blocks does not read as growth
        growth = (blocks[hi][c] / blocks[hi]["bare"]) / (blocks[lo][c] / blocks[lo]["bare"])
        verdicts.append((growth <= GROWTH_TARGET,
                         f"{design}: {c} at {hi} records costs {growth:.2f}x its cost at {lo} "
                         f"({ms(blocks[hi][c])} vs {ms(blocks[lo][c])}, each in bare starts; "
                         f"target <= {GROWTH_TARGET}x)"))
    for c in COMMANDS:
        ratio = blocks[lo][c] / blocks[lo]["bare"]
        verdicts.append((ratio <= BARE_TARGET,
                         f"{design}: {c} at {lo} records costs {ratio:.2f}x a bare interpreter start "
                         f"({ms(blocks[lo][c])} vs {ms(blocks[lo]['bare'])}; target <= {BARE_TARGET}x)"))
    normal = max(res["revert_bytes"], res["keep_bytes"])
    verdicts.append((normal <= NORMAL_BYTES[design],
                     f"{design}: JSON per normal iteration {normal} bytes (the larger of revert "
                     f"{res['revert_bytes']} and keep {res['keep_bytes']}; target <= {NORMAL_BYTES[design]})"))
    verdicts.append((rt + dec <= BASELINE_BYTES,
                     f"{design}: baseline answer {rt + dec} bytes (target <= {BASELINE_BYTES})"))
    return verdicts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="ratchet's flat cost per call: wall time of status, run-trial --all and decide "
                    "against a bare interpreter start, at growing histories, git processes per command "
                    "and the JSON the model reads.",
        epilog="Exit status: full run: 0 when every target passes, 1 when one fails; --quick prints "
               "the same numbers and PASS/FAIL lines but judges only that the benchmark ran "
               "(0 even when a target fails). 2: a ratchet command failed (the benchmark did not run).")
    ap.add_argument("--quick", action="store_true",
                    help=f"histories {'/'.join(map(str, QUICK['sizes']))}, {QUICK['repeats']} repeats: "
                         "a few seconds; targets printed, not judged")
    ap.add_argument("--repeats", type=int, default=None, help="timed iterations per history size")
    ap.add_argument("--sizes", default=None, help="comma-separated history sizes (default 10,300,3000)")
    ap.add_argument("--scripts", default=str(DEFAULT_SCRIPTS),
                    help="the ratchet scripts directory to measure (default: this checkout's)")
    ap.add_argument("--designs", default="exact,noisy", help="which designs (exact,noisy)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary repositories (path printed)")
    ap.add_argument("--verbose", action="store_true", help="git processes per command, by subcommand")
    ap.add_argument("--no-site", action="store_true",
                    help="run every Python process (the bare start and ratchet's) with -S: no site, no "
                         ".pth file, as on a clean interpreter")
    args = ap.parse_args(argv)
    mode = QUICK if args.quick else FULL
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else mode["sizes"]
    repeats = args.repeats or mode["repeats"]
    designs = [d for d in args.designs.split(",") if d]
    if (sorted(sizes) != list(sizes) or sizes[0] < 6 or repeats < 1
            or not designs or any(d not in DESIGNS for d in designs)):
        ap.error("sizes must be increasing and >= 6, repeats >= 1, designs among exact,noisy")
    scripts = Path(args.scripts).resolve()
    sys.path.insert(0, str(scripts))

    def log(line=""):
        print(line, flush=True)

    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    log(f"ratchet overhead benchmark ({'quick' if args.quick else 'full'}: histories "
        f"{'/'.join(map(str, sizes))}, {repeats} repeats; Python {platform.python_version()}, "
        f"{git_version}, {os.cpu_count()} cpus)")
    log(f"scripts: {scripts}")
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="ratchet-overhead-"))
    verdicts = []
    try:
        make_git_wrapper(tmp)
        python = [sys.executable, "-S"] if args.no_site else [sys.executable]
        for _ in range(3):
            bare_start(python_env(tmp), python)  # warm the interpreter's files and its .pyc cache
        start = startup(python_env(tmp), python)
        hooks = ", ".join(start["imports"]) or "nothing"
        log(f"interpreter start: {ms(start['site'])} with its site, {ms(start['no_site'])} without (-S); "
            f"its site imports {hooks} from outside the standard library; "
            + ("every process below runs with -S" if args.no_site else
               "the ratios below are to a start with its site (--no-site: every process with -S)"))
        for design in designs:
            res = measure_design(tmp, design, scripts, sizes, repeats, log, python)
            verdicts += report(design, res, sizes, log, args.verbose)
    except BenchError as exc:
        log(f"ERROR {exc}")
        return 2
    finally:
        if args.keep:
            log(f"repositories kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log()
    for ok, text in verdicts:
        log(f"{'PASS' if ok else 'FAIL'} {text}")
    passed = sum(ok for ok, _ in verdicts)
    failed = len(verdicts) - passed
    elapsed = time.perf_counter() - started
    if args.quick:
        log(f"overhead --quick: ran in {elapsed:.0f} s; {passed} of {len(verdicts)} targets pass, "
            f"{failed} fail (not judged in --quick)")
        return 0
    log(f"overhead: {passed} of {len(verdicts)} targets pass, {failed} fail ({elapsed:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
