#!/usr/bin/env python3
"""Fault injection: the real ratchet CLI, driven as a black box, under faults.

Run from the repository root:  python3 bench/faults.py [--quick] [--seed N]

Every check builds throwaway git repositories under one temporary folder and
runs `plugins/ratchet/skills/ratchet/scripts/ratchet.py` in them the way the
model does (init, run-trial --all, decide, status), with a small benchmark
(`score: N` from work.py) and a scripted plan of changes, then injects:

* kill -9 at each phase: a power cut (SIGKILL of every process of the run:
  the command, its measurement worker, the watchdog, the benchmark, git)
  mid-trial (baseline, incumbent's code in place, confirmation run) and
  mid-git: a `git` on PATH that, for one chosen git command, leaves the
  lock files a killed git leaves (index.lock, HEAD.lock and the branch's
  lock, a ref's lock under refs/ratchet/, ratchet's private index lock) and
  hangs until killed; SIGKILL of the command's process group alone (a
  harness timeout: the measurement goes on); SIGKILL of the measurement
  worker alone (its benchmark must not outlive it); and power cuts at
  random times during run-trial and decide. After each kill the plan goes
  on from `status`; at the end every iteration must be logged exactly once
  (records lost, records doubled) with the decision its numbers call for,
  the branch at the best commit, the tree clean and no lock file left;
* torn and edited state: a torn last line of results.jsonl, a score edited
  in results.jsonl (caught, and `status` must not report the forged best),
  an edited config.json (must be an integrity violation: logged, tree
  restored, run stopped), an edited and a torn current.json;
* tampering with protected files, each riding along a real improvement:
  content, deletion, a symlink to an identical copy outside the repository,
  chmod +x, a protected folder replaced by a symlink to an identical copy,
  a new file in a protected folder: each must be an integrity violation,
  reverted, with bytes, type and mode restored;
* 1 GiB of output per trial (64 MiB with --quick): bounded memory and disk,
  the score still read;
* a benchmark that spawns grandchildren (one ignoring SIGTERM) and hangs:
  killed by --trial-timeout-seconds, no process left;
* 100 reverts (10 with --quick) with git-ignored files (some created by the
  trials), an ignored symlink, an executable ignored file and the user's
  empty folders present: all survive byte for byte (path, type, mode,
  content);
* bad inputs (every command's bad flags, missing flags, non-numbers, out of
  range numbers, bad regexes, non-UTF-8 argument bytes, unreadable
  instruction files, not a repository, no commit, dirty tree, `.ratchet` as
  a file, a report file outside the repository, commands before init,
  decide before run-trial, a score not in the report, ...): each must exit
  2 with exactly one line on stderr, no traceback, and write nothing: a
  byte-level snapshot (paths, types, modes, contents) of the repository,
  `.git` and `.ratchet` included, is compared before and after (the lock
  file's content aside: it holds the pid of its last holder);
* orphans: no process started by the suite may outlive the check that
  started it (the suite kills and counts any it finds).

It prints its figures and one PASS/FAIL line per check, and a final line;
the exit code is 1 when any check fails. Standard library only; Linux or
macOS (the orphan count reads /proc, or `ps` elsewhere).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATCHET = HERE.parent / "plugins" / "ratchet" / "skills" / "ratchet" / "scripts" / "ratchet.py"
PY = sys.executable
TOKEN = f"ratchet-faults-{os.getpid()}-{random.randrange(1 << 30)}"  # in every process the suite starts
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Faults", "GIT_AUTHOR_EMAIL": "faults@example.com",
    "GIT_COMMITTER_NAME": "Faults", "GIT_COMMITTER_EMAIL": "faults@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "FAULTS_TOKEN": TOKEN,
}
REAL_GIT = shutil.which("git")

BENCH = """import os, random, sys, time
sys.path.insert(0, os.getcwd())  # work.py from the repository, even when this file is a symlink
import work
it, trial = os.environ.get("RATCHET_ITERATION", "-"), os.environ.get("RATCHET_TRIAL", "-")
side, confirm = os.environ.get("RATCHET_SIDE", "-"), os.environ.get("RATCHET_CONFIRM", "0")
os.makedirs("ignored/trials", exist_ok=True)  # files the trials create in an ignored folder
with open(f"ignored/trials/{it}-{trial}-{side}-{confirm}.txt", "w") as fh:
    fh.write(f"iteration {it} trial {trial}\\n")
want = os.environ.get("FAULTS_HANG", "")
if want:
    w_it, w_trial, w_side, w_confirm = want.split(",")
    here = (it, trial, side, confirm)
    marker = os.environ["FAULTS_MARKER"]
    if all(w in ("*", h) for w, h in zip((w_it, w_trial, w_side, w_confirm), here)) and not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(float(os.environ.get("FAULTS_HANG_SECONDS", "600")))
noise = float(os.environ.get("FAULTS_NOISE", "0"))
value = work.N * (1 + noise * random.gauss(0, 1))
lines = int(os.environ.get("FAULTS_OUTPUT_MB", "0")) * 16384  # 64-byte lines
if lines:
    row = ("x" * 63 + "\\n").encode()
    block = row * 16384
    out = sys.stdout.buffer
    for _ in range(lines // 16384):
        out.write(block)
    out.flush()
print("score:", round(value, 6) if noise else work.N)
"""

HANGING_GIT = """#!/bin/sh
# git for the suite: for the git command named in $FAULTS_GIT_HANG it leaves
# what a git killed mid-write leaves (the lock files in $FAULTS_GIT_LOCKS,
# ':'-separated relative to the git dir; the private index's lock when
# empty) and hangs; every other command goes to the real git.
if [ -n "$FAULTS_GIT_HANG" ] && [ ! -e "$FAULTS_MARKER" ]; then
  case " $* " in
    *" $FAULTS_GIT_HANG"*)
      locks="$FAULTS_GIT_LOCKS"
      [ -n "$locks" ] || locks="$GIT_INDEX_FILE.lock"
      IFS=:
      for lock in $locks; do
        case "$lock" in /*) ;; *) lock="$FAULTS_GIT_DIR/$lock" ;; esac
        : > "$lock"
      done
      : > "$FAULTS_MARKER"
      exec sleep 600 ;;
  esac
fi
exec "$FAULTS_REAL_GIT" "$@"
"""

HANG_WITH_GRANDCHILDREN = """import os, signal, subprocess, sys, time
token = sys.argv[1]
sleeper = "import signal, sys, time\\nif sys.argv[2] == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(3600)"
for kind in ("plain", "stubborn"):
    subprocess.Popen([sys.executable, "-c", sleeper, token, kind])
subprocess.Popen(["/bin/sh", "-c", f"sleep 3600; : {token}"])
time.sleep(3600)
"""


# -- plumbing -----------------------------------------------------------------

class Result:
    def __init__(self, code: int, out: bytes, err: bytes):
        self.code, self.out, self.err = code, out, err

    @property
    def json(self) -> dict:
        return json.loads(self.out.decode("utf-8", "replace").strip().splitlines()[-1])

    def brief(self) -> str:
        text = (self.err or self.out).decode("utf-8", "replace").strip().splitlines()
        return f"exit {self.code}: {text[-1][:300] if text else '(no output)'}"


class Suite:
    def __init__(self, quick: bool, seed: int):
        self.quick = quick
        self.rng = random.Random(seed)
        self.tmp = Path(tempfile.mkdtemp(prefix="ratchet-faults-"))
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        fake = self.bin / "git"
        fake.write_text(HANGING_GIT)
        fake.chmod(0o755)
        self.counter = 0
        self.orphans: list[str] = []  # which checks left processes behind
        self.checks: list[tuple[str, bool, str]] = []
        self.figures = {"faults": 0, "lost": 0, "doubled": 0, "tamper_caught": 0, "tamper_tried": 0,
                        "bad_refused": 0, "bad_tried": 0, "orphans": 0}

    # -- environment ------------------------------------------------------------
    def env(self, extra: dict | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAULTS_", "RATCHET_", "GIT_"))}
        env.update(GIT_ENV)
        env.update(extra or {})
        return env

    def git(self, repo: Path, *args: str, check: bool = True) -> str:
        proc = subprocess.run([REAL_GIT, "-C", str(repo), *args], capture_output=True, text=True, env=self.env())
        if check and proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def new_dir(self, name: str) -> Path:
        self.counter += 1
        path = self.tmp / f"{self.counter:03d}-{name}"
        path.mkdir()
        return path

    def make_repo(self, name: str, files: dict | None = None, commit: bool = True) -> Path:
        repo = self.new_dir(name)
        self.git(repo, "init", "-q", "-b", "main")
        files = {"work.py": "N = 1000\n", "bench.py": BENCH, ".gitignore": "ignored/\n__pycache__/\n",
                 **(files or {})}
        past = time.time() - 60  # no racily-clean index entries: a later `git status` rewrites nothing
        for rel, text in files.items():
            path = repo / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
            os.utime(path, (past, past))
        if commit:
            self.git(repo, "add", "-A")
            self.git(repo, "commit", "-qm", "initial")
            self.git(repo, "status", "--porcelain")
        return repo

    def cli(self, repo: Path, *args, extra: dict | None = None, timeout: float = 300) -> Result:
        argv = [os.fsencode(PY), os.fsencode(str(RATCHET))] + [a if isinstance(a, bytes) else os.fsencode(a)
                                                              for a in args]
        proc = subprocess.run(argv, cwd=repo, capture_output=True, env=self.env(extra), timeout=timeout,
                              stdin=subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, repo: Path, *args, extra: dict | None = None) -> dict:
        res = self.cli(repo, *args, extra=extra)
        if res.code != 0:
            raise Failure(f"{' '.join(map(str, args))} failed ({res.brief()})")
        return res.json

    def init(self, repo: Path, *flags: str) -> dict:
        return self.ok(repo, "init", "--run-command", f"{PY} bench.py {TOKEN}", "--direction", "min",
                       "--metric-name", "score", "--report-source", "stdout", *flags)

    def killed_run(self, repo: Path, args: list, *, extra: dict | None = None, marker: Path | None = None,
                   delay: float | None = None, kind: str = "power", timeout: float = 120) -> bool:
        """Start `ratchet.py args`; once `marker` exists (or after `delay`
        seconds) SIGKILL, by `kind`:
        - "power": every process of the run (the command, its measurement
          worker, the watchdog, the benchmark, git): a power cut;
        - "client": the command's process group (a harness timeout): a
          measurement worker in its own session goes on;
        - "worker": the measurement worker alone (the OOM killer).
        True when the kill landed (something was still running)."""
        argv = [PY, str(RATCHET), *args]
        proc = subprocess.Popen(argv, cwd=repo, env=self.env(extra), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + (delay if delay is not None else timeout)
        while proc.poll() is None and time.monotonic() < deadline and not (marker and marker.exists()):
            time.sleep(0.005)
        landed = proc.poll() is None
        if kind == "power":
            landed = self.kill_all() > 0 or landed
        elif kind == "client" and landed:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                landed = False
        elif kind == "worker":
            workers = [pid for pid, cmd in processes_with_token()
                       if pid != proc.pid and str(RATCHET.name) in cmd and "watchdog" not in cmd]
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            landed = bool(workers)
            if not landed:  # no worker: nothing to kill but the command itself
                self.kill_all()
        proc.wait()
        if landed:
            self.figures["faults"] += 1
        return landed

    def kill_all(self) -> int:
        """SIGKILL every process the suite started (its token), the suite
        aside, until none is left; how many there were."""
        killed = set()
        for _ in range(50):
            alive = [pid for pid, _ in processes_with_token() if pid not in killed or _alive(pid)]
            if not alive:
                break
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                killed.add(pid)
            time.sleep(0.01)
        return len(killed)

    # -- reporting --------------------------------------------------------------
    def check(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append((name, passed, detail))
        line = f"{'PASS' if passed else 'FAIL'}  {name}"
        if detail:
            line += f"  ({detail})"
        print(line, flush=True)

    def run_check(self, name: str, fn) -> None:
        t0 = time.monotonic()
        try:
            problems = fn()
        except Failure as exc:
            problems = [str(exc)]
        except Exception as exc:  # a bug in the suite or a hang: report, do not stop the suite
            problems = [f"{type(exc).__name__}: {exc}"]
        self.check(f"{name} [{time.monotonic() - t0:.1f} s]", not problems,
                   "; ".join(problems[:4]) + (f"; +{len(problems) - 4} more" if len(problems) > 4 else ""))
        left = self.sweep()
        if left:
            self.orphans.append(f"{len(left)} after '{name}' ({left[0][:100]})")

    def sweep(self, grace: float = 1.0) -> list[str]:
        """Processes the suite started that are still alive after `grace`
        seconds: counted as orphans, then killed (the suite never leaves
        one running)."""
        deadline = time.monotonic() + grace
        left = processes_with_token()
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = processes_with_token()
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.figures["orphans"] += len(left)
        return [cmd for _, cmd in left]


class Failure(Exception):
    pass


# -- reading a run from outside -----------------------------------------------

def records(repo: Path) -> list[dict]:
    path = repo / ".ratchet" / "results.jsonl"
    out = []
    for line in path.read_bytes().split(b"\n") if path.exists() else []:
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def lock_files(repo: Path) -> list[str]:
    return sorted(p.relative_to(repo).as_posix() for p in (repo / ".git").rglob("*.lock"))


def tree_state(root: Path, skip_lock_content: bool = True) -> dict:
    """Byte-level snapshot: {relative path: (type, mode, content hash or link target)}."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", mode, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, None)
            elif stat.S_ISREG(st.st_mode):
                if skip_lock_content and rel == os.path.join(".ratchet", "lock"):
                    out[rel] = ("file", mode, "holder pid")
                else:
                    with open(path, "rb") as fh:
                        out[rel] = ("file", mode, hashlib.sha256(fh.read()).hexdigest())
            else:
                out[rel] = ("other", mode, None)
    return out


def state_diff(before: dict, after: dict) -> list[str]:
    changed = [f"+{p}" for p in sorted(set(after) - set(before))]
    changed += [f"-{p}" for p in sorted(set(before) - set(after))]
    changed += [f"~{p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]]
    return changed


def verify_run(s: Suite, repo: Path, expected: list[str] | None, n_iters: int) -> list[str]:
    """Every iteration logged once, decisions as planned, branch at the best,
    tree clean, no lock file left."""
    problems = []
    recs = records(repo)
    iters = [r.get("iter") for r in recs]
    lost = len(set(range(n_iters)) - set(iters))
    doubled = len(iters) - len(set(iters))
    s.figures["lost"] += lost
    s.figures["doubled"] += doubled
    if lost or doubled:
        problems.append(f"iterations logged {iters}, expected 0..{n_iters - 1} once each")
    if expected is not None and [r.get("decision") for r in recs] != expected:
        problems.append(f"decisions {[r.get('decision') for r in recs]}, expected {expected}")
    st = s.cli(repo, "status")
    if st.code != 0:
        return problems + [f"status failed after the run ({st.brief()})"]
    best = st.json.get("best") or {}
    head = s.git(repo, "rev-parse", "HEAD")
    if best.get("sha") and best["sha"] != head:
        problems.append(f"HEAD {head[:10]} is not the best commit {best['sha'][:10]}")
    dirty = s.git(repo, "status", "--porcelain")
    if dirty:
        problems.append(f"tree not clean: {dirty.splitlines()[:3]}")
    if (repo / "work.py").read_bytes().decode() != s.git(repo, "show", "HEAD:work.py") + "\n":
        problems.append("work.py differs from the best commit")
    if lock_files(repo):
        problems.append(f"lock files left: {lock_files(repo)}")
    return problems


def drive(s: Suite, repo: Path, plan: list[int], faults: dict | None = None, extra: dict | None = None,
          max_steps: int = 400) -> None:
    """Carry the run through the baseline and `plan` (work.py's N per
    iteration) from wherever it stands, as the model would: status says the
    phase, the driver does the next step. `faults[(iteration, command)]`
    runs that command once under a fault (a callable taking the argv) and
    is removed from `faults`."""
    faults = {} if faults is None else faults
    for _ in range(max_steps):
        st = s.ok(repo, "status", extra=extra)
        phase, it = st["phase"], st["iter"]
        if phase == "stopped" or it > len(plan):
            return
        if phase == "propose":
            (repo / "work.py").write_text(f"N = {plan[it - 1]}\n")
        if phase in ("baseline", "propose", "measuring"):
            cmd = ["run-trial", "--all"]
        elif phase in ("decide", "needs_score"):
            cmd = ["decide", "--description", "baseline" if it == 0 else f"N = {plan[it - 1]}"]
        else:
            raise Failure(f"unexpected phase {phase!r}")
        fault = faults.pop((it, cmd[0]), None)
        if fault is not None:
            fault(cmd)
            continue
        s.ok(repo, *cmd, extra=extra)
    raise Failure("the run did not finish (driver step limit)")


def expected_exact(plan: list[int], base: int = 1000) -> list[str]:
    """Decisions of a deterministic run (direction min, no margin)."""
    out, best = ["baseline"], base
    for n in plan:
        if n < best:
            out.append("improve")
            best = n
        elif n == best:
            out.append("no_change")
        else:
            out.append("regress")
    return out


# -- the checks -----------------------------------------------------------------

def check_kills_at_every_phase(s: Suite) -> list[str]:
    """Deterministic run; a SIGKILL at each phase, mid-git included."""
    repo = s.make_repo("kill-phases")
    git_dir = repo / ".git"
    marker = s.tmp / "marker-phases"
    plan = [800, 900, 700, 750, 650]
    run_id = s.init(repo, "--calibration-runs", "5", "--iterations", str(len(plan)))["run_id"]
    branch = s.git(repo, "symbolic-ref", "HEAD")
    landed, orphans = [], []

    def bench_hang(spec, kind="power", seconds="600"):
        def fault(cmd):
            marker.unlink(missing_ok=True)
            landed.append((f"{kind} kill at trial {spec}", s.killed_run(repo, cmd, marker=marker, kind=kind, extra={
                "FAULTS_HANG": spec, "FAULTS_MARKER": str(marker), "FAULTS_HANG_SECONDS": seconds})))
            if kind == "worker":  # its watchdog must end the benchmark, grandchildren included
                time.sleep(1.0)
                left = [(pid, cmd) for pid, cmd in processes_with_token() if "bench.py" in cmd]
                orphans.extend(cmd for _, cmd in left)
                s.figures["orphans"] += len(left)
                for pid, _ in left:
                    os.kill(pid, signal.SIGKILL)
        return fault

    def git_hang(sub, locks=""):
        def fault(cmd):
            marker.unlink(missing_ok=True)
            landed.append((f"power cut in git {sub}", s.killed_run(repo, cmd, marker=marker, extra={
                "PATH": f"{s.bin}{os.pathsep}{os.environ.get('PATH', '')}", "FAULTS_GIT_HANG": sub,
                "FAULTS_GIT_LOCKS": locks, "FAULTS_GIT_DIR": str(git_dir), "FAULTS_MARKER": str(marker),
                "FAULTS_REAL_GIT": REAL_GIT})))
        return fault

    faults = {
        (0, "run-trial"): bench_hang("0,3,B,0"),                            # power cut mid-trial
        (1, "run-trial"): git_hang("add"),                                   # mid-git: the candidate snapshot
        (1, "decide"): git_hang("update-ref -m ratchet: keep", f"HEAD.lock:{branch}.lock"),  # moving HEAD
        (2, "run-trial"): bench_hang("2,1,B,0", kind="client", seconds="0.5"),  # the command killed, not its worker
        (2, "decide"): git_hang("read-tree -u --reset", "index.lock"),      # mid-git: the revert
        (3, "run-trial"): bench_hang("3,1,B,0", kind="worker"),             # the measurement worker killed
        (3, "decide"): git_hang("update-ref", f"{branch}.lock"),            # mid-git: the keep, branch lock
        (4, "decide"): git_hang("update-ref refs/ratchet/", f"refs/ratchet/{run_id}/iter-0004.lock"),  # saving the attempt
    }
    (git_dir / "refs" / "ratchet" / run_id).mkdir(parents=True, exist_ok=True)
    drive(s, repo, plan, faults)
    problems = verify_run(s, repo, expected_exact(plan), len(plan) + 1)
    if faults:
        problems.append(f"faults never reached: {sorted(faults)}")
    missed = [name for name, hit in landed if not hit]
    if missed:
        problems.append(f"{len(missed)} of {len(landed)} kills found nothing to kill: {missed}")
    if orphans:
        problems.append(f"the benchmark outlived its killed worker: {[c[:100] for c in orphans[:2]]}")
        s.orphans.append(f"{len(orphans)} benchmark(s) after the worker was killed")
    return problems


def check_kills_in_a_noisy_run(s: Suite) -> list[str]:
    """Sequential design: kills with the incumbent's code in place, mid-switch, during confirmation."""
    repo = s.make_repo("kill-noisy")
    marker = s.tmp / "marker-noisy"
    noise = {"FAULTS_NOISE": "0.03"}
    plan = [500, 2000]
    s.init(repo, "--calibration-runs", "6", "--max-pairs", "12", "--confirm-pairs", "4",
           "--iterations", str(len(plan)), "--trial-timeout-seconds", "60")

    def hang(spec):
        def fault(cmd):
            marker.unlink(missing_ok=True)
            if not s.killed_run(repo, cmd, marker=marker, extra={**noise, "FAULTS_HANG": spec,
                                                                  "FAULTS_MARKER": str(marker)}):
                raise Failure(f"kill at {spec} came too late")
        return fault

    def git_hang(sub):
        def fault(cmd):
            marker.unlink(missing_ok=True)
            if not s.killed_run(repo, cmd, marker=marker, extra={
                    **noise, "PATH": f"{s.bin}{os.pathsep}{os.environ.get('PATH', '')}", "FAULTS_GIT_HANG": sub,
                    "FAULTS_GIT_LOCKS": "index.lock", "FAULTS_GIT_DIR": str(repo / ".git"),
                    "FAULTS_MARKER": str(marker), "FAULTS_REAL_GIT": REAL_GIT}):
                raise Failure(f"kill at git {sub} came too late")
        return fault

    faults = {
        (1, "run-trial"): hang("1,*,A,0"),          # the incumbent's code is in place
        (2, "run-trial"): git_hang("checkout -q"),  # the first switch of the work tree (git writes the incumbent)
        (2, "decide"): hang("2,3,*,1"),             # the confirmation run
    }
    drive(s, repo, plan, faults, extra=noise)
    problems = verify_run(s, repo, ["baseline", "improve", "regress"], len(plan) + 1)
    if faults:
        problems.append(f"faults never reached: {sorted(faults)}")
    if not any(r.get("confirmation") for r in records(repo)):
        problems.append("no confirmation run recorded")
    return problems


def check_random_kills(s: Suite) -> list[str]:
    """Power cuts at random times during run-trial and decide."""
    rounds = 6 if s.quick else 40
    repo = s.make_repo("kill-random")
    plan, best = [], 1000
    for i in range(rounds):
        n = best - 10 if i % 2 == 0 else best + 5
        best = min(best, n)
        plan.append(n)
    s.init(repo, "--calibration-runs", "5", "--iterations", str(len(plan)))
    drive(s, repo, [], {})  # baseline only, to time the commands
    t0 = time.monotonic()
    (repo / "work.py").write_text(f"N = {plan[0]}\n")
    s.ok(repo, "run-trial", "--all")
    t1 = time.monotonic()
    s.ok(repo, "decide", "--description", f"N = {plan[0]}")
    t2 = time.monotonic()
    spans = {"run-trial": t1 - t0, "decide": t2 - t1}
    faults = {}
    for it in range(2, len(plan) + 1):
        for cmd in ("run-trial", "decide"):
            delay = s.rng.uniform(0.05, 1.0) * spans[cmd]
            faults[(it, cmd)] = (lambda d: lambda argv: s.killed_run(repo, argv, delay=d))(delay)
    drive(s, repo, plan, faults)
    return verify_run(s, repo, expected_exact(plan), len(plan) + 1)


def _edit_json_line(path: Path, index: int, edit) -> None:
    lines = path.read_bytes().split(b"\n")
    obj = json.loads(lines[index])
    edit(obj)
    lines[index] = json.dumps(obj, sort_keys=True).encode()
    path.write_bytes(b"\n".join(lines))


def check_torn_results_line(s: Suite) -> list[str]:
    repo = s.make_repo("torn-log")
    s.init(repo, "--calibration-runs", "5", "--iterations", "2")
    drive(s, repo, [800])
    with open(repo / ".ratchet" / "results.jsonl", "ab") as fh:
        fh.write(b'{"iter": 2, "decision": "impr')  # a power cut mid-append
    s.figures["faults"] += 1
    problems = []
    warnings = s.ok(repo, "status").get("warnings", [])
    if not any("torn" in w for w in warnings):
        problems.append("status does not report the torn line")
    drive(s, repo, [800, 700])
    problems += verify_run(s, repo, expected_exact([800, 700]), 3)
    return problems


def _tamper(s: Suite, caught: bool) -> None:
    s.figures["tamper_tried"] += 1
    s.figures["faults"] += 1
    if caught:
        s.figures["tamper_caught"] += 1


def check_edited_results(s: Suite) -> list[str]:
    repo = s.make_repo("edited-log")
    s.init(repo, "--calibration-runs", "5", "--iterations", "4")
    drive(s, repo, [800])
    forged = 1.0
    _edit_json_line(repo / ".ratchet" / "results.jsonl", 1, lambda r: r.update(avg=forged))
    problems = []
    st = s.cli(repo, "status")
    if st.code == 0 and (st.json.get("best") or {}).get("score") == forged:
        problems.append("status reports the forged best score as fact")
    (repo / "work.py").write_text("N = 700\n")
    trial = s.cli(repo, "run-trial", "--all")
    dec = s.cli(repo, "decide", "--description", "after the forgery")
    caught = dec.code == 0 and dec.json.get("decision") == "integrity_violation" and not dec.json.get("kept")
    _tamper(s, caught)
    if not caught:
        problems.append(f"the edited log was not an integrity violation (run-trial {trial.brief()}, "
                        f"decide {dec.brief()})")
    st = s.cli(repo, "status")
    if st.code == 0 and (st.json.get("best") or {}).get("score") == forged:
        problems.append("status still reports the forged best score after the violation")
    if (repo / "work.py").read_text() != s.git(repo, "show", "HEAD:work.py") + "\n":
        problems.append("the candidate edit stayed in the tree")
    return problems


def check_edited_config(s: Suite) -> list[str]:
    repo = s.make_repo("edited-config")
    s.init(repo, "--calibration-runs", "5", "--iterations", "4", "--protect", "bench.py")
    drive(s, repo, [800])
    path = repo / ".ratchet" / "config.json"
    meta = json.loads(path.read_text())
    meta["config"]["direction"] = "max"  # what someone wanting the regression kept would edit
    path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    (repo / "work.py").write_text("N = 5000\n")
    before = len(records(repo))
    outcomes = [s.cli(repo, "run-trial", "--all"), s.cli(repo, "decide", "--description", "after the edit")]
    recs = records(repo)
    logged = len(recs) > before and recs[-1].get("decision") == "integrity_violation"
    restored = (repo / "work.py").read_text() == s.git(repo, "show", "HEAD:work.py") + "\n"
    st = s.cli(repo, "status")
    stopped = st.code == 0 and st.json.get("stop", {}).get("stopped")
    _tamper(s, logged and restored)
    problems = []
    if not logged:
        problems.append(f"not logged as an integrity violation ({'; '.join(o.brief() for o in outcomes)})")
    if not restored:
        problems.append("the candidate edit stayed in the tree")
    if not stopped:
        problems.append(f"the run did not stop ({st.brief() if st.code else st.json.get('stop')})")
    return problems


def check_edited_current(s: Suite) -> list[str]:
    problems = []
    for how in ("edited", "torn"):
        repo = s.make_repo(f"{how}-current")
        s.init(repo, "--calibration-runs", "5", "--iterations", "4")
        drive(s, repo, [800])
        (repo / "work.py").write_text("N = 5000\n")  # a regression, to be passed off as a gain
        s.ok(repo, "run-trial", "--all")
        path = repo / ".ratchet" / "current.json"
        if how == "edited":
            cur = json.loads(path.read_text())
            for t in cur.get("trials", []):
                if t.get("score") is not None:
                    t["score"] = 1.0
            path.write_text(json.dumps(cur, indent=1, sort_keys=True) + "\n")
        else:
            data = path.read_bytes()
            path.write_bytes(data[:len(data) // 2])
        dec = s.cli(repo, "decide", "--description", "forged")
        caught = dec.code == 0 and dec.json.get("decision") == "integrity_violation" and not dec.json.get("kept")
        _tamper(s, caught)
        if not caught:
            problems.append(f"{how} current.json: {dec.brief() if dec.code else dec.json.get('decision')}")
        elif (repo / "work.py").read_text() != "N = 800\n":
            problems.append(f"{how} current.json: the tree was not restored")
    return problems


def check_tampering(s: Suite) -> list[str]:
    """Protected files tampered with while a real improvement rides along."""
    repo = s.make_repo("tamper", {"tests/check.py": "assert True\n", "tests/data.txt": "1 2 3\n"})
    outside = s.new_dir("outside")
    tampers = ["content", "deletion", "symlink", "chmod", "folder symlink", "new file"]
    s.init(repo, "--calibration-runs", "5", "--iterations", str(len(tampers) + 1),
           "--protect", "bench.py", "--protect", "tests/")
    drive(s, repo, [])
    start = tree_state(repo)
    protected = {k: v for k, v in start.items() if k == "bench.py" or k.startswith("tests")}

    def do(kind: str):
        bench, tests = repo / "bench.py", repo / "tests"
        if kind == "content":
            bench.write_text(BENCH.replace("work.N", "work.N // 2"))
        elif kind == "deletion":
            bench.unlink()
        elif kind == "symlink":
            shutil.copy(bench, outside / "bench.py")
            bench.unlink()
            bench.symlink_to(outside / "bench.py")
        elif kind == "chmod":
            bench.chmod(0o755)
        elif kind == "folder symlink":
            shutil.copytree(tests, outside / "tests")
            shutil.rmtree(tests)
            tests.symlink_to(outside / "tests", target_is_directory=True)
        elif kind == "new file":
            (tests / "conftest.py").write_text("import work; work.N = 1\n")

    problems = []
    n = 1000
    for kind in tampers:
        n -= 100
        (repo / "work.py").write_text(f"N = {n}\n")
        do(kind)
        s.cli(repo, "run-trial", "--all")
        dec = s.cli(repo, "decide", "--description", f"tamper: {kind}")
        caught = dec.code == 0 and dec.json.get("decision") == "integrity_violation" and not dec.json.get("kept")
        _tamper(s, caught)
        now = tree_state(repo)
        restored = {k: v for k, v in now.items() if k == "bench.py" or k.startswith("tests")} == protected
        if not caught:
            problems.append(f"{kind}: {dec.brief() if dec.code else dec.json.get('decision')}")
        if not restored:
            problems.append(f"{kind}: protected files not restored byte for byte "
                            f"({state_diff(protected, {k: v for k, v in now.items() if k == 'bench.py' or k.startswith('tests')})[:3]})")
    head_tree = s.git(repo, "ls-tree", "-r", "HEAD")
    if "120000" in head_tree or "100755" in head_tree:
        problems.append("a symlink or an executable bit was committed")
    return problems


def check_big_output(s: Suite) -> list[str]:
    mb = 64 if s.quick else 1024
    repo = s.make_repo("big-output")
    s.init(repo, "--calibration-runs", "2", "--iterations", "1")
    t0 = time.monotonic()
    proc = subprocess.Popen([PY, str(RATCHET), "run-trial", "--all"], cwd=repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=s.env({"FAULTS_OUTPUT_MB": str(mb)}))
    peak = 0  # the largest high-water mark of ratchet's processes (the command and its worker), sampled
    answer: list = []
    reader = threading.Thread(target=lambda: answer.extend(proc.communicate()))
    reader.start()
    while reader.is_alive():
        peak = max([peak] + [_peak_rss(pid) for pid, cmd in processes_with_token() if RATCHET.name in cmd])
        time.sleep(0.02)
    out_bytes, err_bytes = answer
    seconds = time.monotonic() - t0
    s.figures["faults"] += 2
    problems = []
    if proc.returncode != 0:
        return [f"run-trial failed: {err_bytes.decode(errors='replace').strip()[-300:]}"]
    if not peak:  # no /proc: the command's own peak, and those of the children it waited for
        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * (1 if sys.platform == "darwin" else 1024), 1)
    out = json.loads(out_bytes.decode().strip().splitlines()[-1])
    scores = [t.get("score") for t in out.get("trials", [])]
    if scores != [1000.0, 1000.0]:
        problems.append(f"scores {scores}, expected [1000.0, 1000.0]")
    disk = sum(p.stat().st_size for p in (repo / ".ratchet" / "reports").rglob("*") if p.is_file())
    if peak > 200 * 2 ** 20:
        problems.append(f"peak memory {peak / 2 ** 20:.0f} MiB")
    if disk > 2 * 12 * 2 ** 20:
        problems.append(f"reports take {disk / 2 ** 20:.1f} MiB")
    s.big_output = f"{2 * mb} MiB printed in {seconds:.1f} s: peak memory {peak / 2 ** 20:.0f} MiB, reports {disk / 2 ** 20:.1f} MiB"
    return problems


def _peak_rss(pid: int) -> int:
    """A process's peak resident memory in bytes (Linux VmHWM), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def processes_with_token(exclude: set[int] = frozenset()) -> list[tuple[int, str]]:
    """Live processes the suite started (its token in their environment or
    command line), the suite itself aside."""
    found = []
    me = os.getpid()
    if os.path.isdir("/proc/self"):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) in exclude | {me}:
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                    cmd = fh.read()
                if not cmd:
                    continue  # a zombie: already dead
                try:
                    with open(f"/proc/{entry.name}/environ", "rb") as fh:
                        env = fh.read()
                except OSError:
                    env = b""
            except OSError:
                continue
            if TOKEN.encode() in cmd or TOKEN.encode() in env:
                found.append((int(entry.name), cmd.replace(b"\0", b" ").decode(errors="replace")))
        return found
    out = subprocess.run(["ps", "-axww", "-o", "pid=,stat=,command="], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pid, st, cmd = (line.strip().split(None, 2) + ["", ""])[:3]
        if TOKEN in cmd and int(pid) != me and not st.startswith("Z"):
            found.append((int(pid), cmd))
    return found


def check_hang_with_grandchildren(s: Suite) -> list[str]:
    repo = s.make_repo("hang", {"hang.py": HANG_WITH_GRANDCHILDREN})
    s.ok(repo, "init", "--run-command", f"{PY} hang.py {TOKEN}", "--direction", "min", "--metric-name", "score",
         "--report-source", "stdout", "--calibration-runs", "2", "--trial-timeout-seconds", "1")
    t0 = time.monotonic()
    out = s.ok(repo, "run-trial")
    seconds = time.monotonic() - t0
    s.figures["faults"] += 1
    problems = []
    trial = (out.get("trials") or [{}])[0]
    if trial.get("status") != "crash" or "timed out" not in (trial.get("problem") or ""):
        problems.append(f"trial {trial.get('status')}: {trial.get('problem')}")
    left = s.sweep(grace=3.0)
    if left:
        problems.append(f"{len(left)} processes left: {[c[:100] for c in left[:3]]}")
        s.orphans.append(f"{len(left)} after the hang")
    if seconds > 10:
        problems.append(f"the timeout took {seconds:.1f} s to act")
    return problems


def check_reverts_keep_user_files(s: Suite) -> list[str]:
    n = 10 if s.quick else 100
    repo = s.make_repo("reverts", {".gitignore": "ignored/\n__pycache__/\n*.log\n.venv/\n"})
    for d in ("empty", "nested/inner", "ignored/empty"):
        (repo / d).mkdir(parents=True, exist_ok=True)
    (repo / "ignored").mkdir(exist_ok=True)
    (repo / "ignored" / "data.bin").write_bytes(os.urandom(1 << 18))
    (repo / "ignored" / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "ignored" / "tool.sh").chmod(0o755)
    (repo / "ignored" / "data.link").symlink_to("data.bin")
    (repo / ".venv" / "lib").mkdir(parents=True)
    (repo / ".venv" / "lib" / "site.py").write_text("# a virtualenv\n")
    (repo / "app.log").write_text("log line\n")
    (repo / ".git" / "info" / "exclude").write_text("scratch.txt\n")
    (repo / "scratch.txt").write_text("the user's notes (excluded)\n")
    def user_files() -> dict:
        state = tree_state(repo)
        return {k: v for k, v in state.items()
                if not k.startswith((".git", ".ratchet", "ignored/trials")) and k not in ("work.py", "bench.py")}

    def trial_files() -> dict:
        return {k: v for k, v in tree_state(repo).items() if k.startswith("ignored/trials/")}

    expected = user_files()  # before init: the baseline's decide restores the tree too
    s.init(repo, "--calibration-runs", "5", "--iterations", str(n))
    drive(s, repo, [])
    made = trial_files()
    problems = []
    if user_files() != expected:
        problems.append(f"after the baseline: {state_diff(expected, user_files())[:4]}")
        expected = user_files()
    for i in range(1, n + 1):
        (repo / "work.py").write_text(f"N = {1000 + i}\n")
        (repo / f"junk_{i}.py").write_text("x = 1\n")
        (repo / f"newdir_{i}" / "deep").mkdir(parents=True)
        (repo / f"newdir_{i}" / "deep" / "mod.py").write_text("y = 2\n")
        s.ok(repo, "run-trial", "--all")
        dec = s.ok(repo, "decide", "--description", f"worse {i}")
        if dec.get("decision") != "regress":
            problems.append(f"iteration {i}: {dec.get('decision')}")
        now, trials_now = user_files(), trial_files()
        if now != expected:
            problems.append(f"after revert {i}: {state_diff(expected, now)[:4]}")
            expected = now
        lost = {k: v for k, v in made.items() if trials_now.get(k) != v}
        if lost:
            problems.append(f"after revert {i}: files the trials made changed or vanished: {sorted(lost)[:3]}")
        made = trials_now
        if (repo / "work.py").read_text() != "N = 1000\n":
            problems.append(f"after revert {i}: work.py not restored")
        if problems:
            break
    s.figures["faults"] += n
    return problems


# -- bad inputs -----------------------------------------------------------------

def check_bad_inputs(s: Suite) -> list[str]:
    req = ["--run-command", f"{PY} bench.py", "--direction", "min", "--metric-name", "score",
           "--report-source", "stdout"]
    outside = s.new_dir("inputs-outside")
    (outside / "latin1.txt").write_bytes(b"caf\xe9\n")
    (outside / "folder").mkdir()

    def without(flag):
        i = req.index(flag)
        return req[:i] + req[i + 2:]

    # the contexts, built once and copied for every input
    clean = s.make_repo("ctx-clean")
    started = s.make_repo("ctx-started")
    s.init(started, "--calibration-runs", "5")
    baselined = s.make_repo("ctx-baselined")
    s.init(baselined, "--calibration-runs", "5")
    drive(s, baselined, [])
    asking = s.make_repo("ctx-asking", {"bench.py": "print('took 1.23 secs')\n"})
    s.init(asking, "--calibration-runs", "5")
    s.ok(asking, "run-trial")  # the parser finds no metric: the trial waits for `score`
    critic = s.make_repo("ctx-critic")
    s.init(critic, "--calibration-runs", "5", "--critic")
    drive(s, critic, [])
    notgit = s.new_dir("ctx-notgit")
    (notgit / "bench.py").write_text(BENCH)
    nocommit = s.make_repo("ctx-nocommit", commit=False)
    dirty_mod = s.make_repo("ctx-dirty-mod")
    (dirty_mod / "work.py").write_text("N = 1\n")
    dirty_new = s.make_repo("ctx-dirty-new")
    (dirty_new / "notes.txt").write_text("untracked\n")
    ratchet_file = s.make_repo("ctx-ratchet-file")
    (ratchet_file / ".ratchet").write_text("not a folder\n")
    edited_baseline = s.make_repo("ctx-edited-baseline")
    s.init(edited_baseline, "--calibration-runs", "5")
    (edited_baseline / "work.py").write_text("N = 1\n")

    X = b"caf\xe9"  # not UTF-8
    cases = [
        # init: flags
        (clean, ["init"]),
        (clean, ["init", *without("--run-command")]),
        (clean, ["init", *without("--direction")]),
        (clean, ["init", *without("--metric-name")]),
        (clean, ["init", *without("--report-source")]),
        (clean, ["init", *req, "--direction", "sideways"]),
        (clean, ["init", *req, "--trials", "abc"]),
        (clean, ["init", *req, "--trials", "0"]),
        (clean, ["init", *req, "--trials", "-2"]),
        (clean, ["init", *req, "--iterations", "2.5"]),
        (clean, ["init", *req, "--iterations", "-1"]),
        (clean, ["init", *req, "--threshold", "abc"]),
        (clean, ["init", *req, "--threshold", "nan"]),
        (clean, ["init", *req, "--patience", "-1"]),
        (clean, ["init", *req, "--min-improvement", "abc"]),
        (clean, ["init", *req, "--min-improvement", "-5%"]),
        (clean, ["init", *req, "--max-consecutive-crashes", "0"]),
        (clean, ["init", *req, "--trial-timeout-seconds", "0"]),
        (clean, ["init", *req, "--trial-timeout-seconds", "inf"]),
        (clean, ["init", *req, "--calibration-runs", "1"]),
        (clean, ["init", *req, "--max-pairs", "3"]),
        (clean, ["init", *req, "--confirm-pairs", "1"]),
        (clean, ["init", *req, "--metric-regex", "("]),
        (clean, ["init", *req, "--metric-regex", "score"]),
        (clean, ["init", *req, "--metric-regex", "(a)(b)"]),
        (clean, ["init", *req, "--instructions", "x", "--instructions-file", str(outside / "latin1.txt")]),
        (clean, ["init", *req, "--instructions-file", str(outside / "missing.txt")]),
        (clean, ["init", *req, "--instructions-file", str(outside / "folder")]),
        (clean, ["init", *req, "--instructions-file", str(outside / "latin1.txt")]),
        (clean, ["init", *req, "--bogus-flag"]),
        (clean, ["init", "--run-command", "", *req[2:]]),
        (clean, ["init", *req[:4], "--metric-name", "", *req[6:]]),
        (clean, ["init", *req[:6], "--report-source", "../outside.json"]),
        (clean, ["init", *req[:6], "--report-source", str(outside / "report.json")]),
        (clean, ["init", *req, "--protect", ""]),
        (clean, ["init", *req, "--guard-command", ""]),
        (clean, ["init", *req, "--instructions", X]),
        (clean, ["init", *req[:4], "--metric-name", X, *req[6:]]),
        (clean, ["init", "--run-command", b"echo " + X, *req[2:]]),
        (clean, ["init", *req, "--protect", X + b"/*"]),
        # init: the repository
        (notgit, ["init", *req]),
        (nocommit, ["init", *req]),
        (dirty_mod, ["init", *req]),
        (dirty_new, ["init", *req]),
        (ratchet_file, ["init", *req]),
        # any command before init
        (clean, ["status"]),
        (clean, ["status", "--format", "text"]),
        (clean, ["run-trial", "--all"]),
        (clean, ["decide", "--description", "x"]),
        (clean, ["score", "--value", "1"]),
        (clean, ["propose", "--slot", "a"]),
        (clean, ["judge-packet"]),
        (clean, ["critic-audit"]),
        (clean, ["frobnicate"]),
        (clean, []),
        # a run, in the wrong order or with bad flags
        (started, ["decide", "--description", "too early"]),
        (started, ["decide", "--description", "  "]),
        (started, ["decide"]),
        (started, ["score", "--value", "5"]),
        (started, ["status", "--format", "xml"]),
        (started, ["run-trial", "--bogus"]),
        (started, ["run-trial", "--hypothesis", X]),
        (started, ["verdict", "--pick", "X", "--confidence", "0.5", "--reasons", "r"]),
        (edited_baseline, ["run-trial", "--all"]),
        (baselined, ["run-trial", "--all"]),
        (baselined, ["decide", "--description", X]),
        (asking, ["score", "--value", "9.99"]),
        (asking, ["score", "--value", "abc"]),
        (asking, ["score", "--value", "1.23", "--trial", "9"]),
        (asking, ["score", "--value", "1.23", "--trial", "x"]),
        (critic, ["propose", "--slot", "c"]),
        (critic, ["verdict", "--pick", "Z", "--confidence", "2", "--reasons", "r"]),
        (critic, ["propose", "--slot", "a", "--file", str(outside / "missing.md")]),
    ]
    problems = []
    for ctx, argv in cases:
        repo = s.tmp / f"input-{s.counter}"
        s.counter += 1
        shutil.copytree(ctx, repo, symlinks=True)
        s.git(repo, "status", "--porcelain", check=False)  # new inodes: let git refresh its index first
        before = tree_state(repo)
        res = s.cli(repo, *argv)
        after = tree_state(repo)
        err = res.err.decode("utf-8", "replace")
        lines = err.rstrip("\n").split("\n") if err.strip() else []
        what = []
        if res.code != 2:
            what.append(f"exit {res.code}")
        if "Traceback" in err:
            what.append("traceback")
        elif len(lines) != 1:
            what.append(f"{len(lines)} lines on stderr")
        if before != after:
            what.append(f"wrote {state_diff(before, after)[:3]}")
        s.figures["bad_tried"] += 1
        s.figures["faults"] += 1
        if what:
            shown = " ".join(a.decode("utf-8", "backslashreplace") if isinstance(a, bytes) else a
                             for a in argv if a not in req)
            problems.append(f"[{ctx.name.split('-', 1)[1]}] {shown or '(no arguments)'}: {', '.join(what)}")
        else:
            s.figures["bad_refused"] += 1
        shutil.rmtree(repo, ignore_errors=True)
    return problems


# -- main -----------------------------------------------------------------------

def set_ratchet(path: Path) -> None:
    global RATCHET
    RATCHET = path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the quick form (part of ./test.sh): fewer rounds, 64 MiB")
    ap.add_argument("--seed", type=int, default=12, help="seed of the random kill times (default 12)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary repositories")
    ap.add_argument("--ratchet", type=Path, default=RATCHET, help="the ratchet.py to test (default: this checkout's)")
    args = ap.parse_args(argv)
    set_ratchet(args.ratchet.resolve())
    if REAL_GIT is None:
        print("faults: FAIL (git is not on PATH)")
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # killed by a timeout: still sweep up (finally)
    s = Suite(args.quick, args.seed)
    s.big_output = ""
    started = time.monotonic()
    print(f"ratchet fault injection ({'quick' if args.quick else 'full'}), in {s.tmp}", flush=True)
    try:
        s.run_check("kill -9 at every phase: power cut mid-trial and mid-git (stale locks), command, worker",
                    lambda: check_kills_at_every_phase(s))
        s.run_check("kill -9 in a noisy run: incumbent in place, mid-switch, confirmation",
                    lambda: check_kills_in_a_noisy_run(s))
        s.run_check(f"power cuts at random times during run-trial and decide ({6 if s.quick else 40} rounds)",
                    lambda: check_random_kills(s))
        s.run_check("torn results.jsonl line set aside", lambda: check_torn_results_line(s))
        s.run_check("edited results.jsonl caught; forged best never reported", lambda: check_edited_results(s))
        s.run_check("edited config.json: integrity violation, logged, tree restored, run stopped",
                    lambda: check_edited_config(s))
        s.run_check("edited and torn current.json caught", lambda: check_edited_current(s))
        s.run_check("tampering: content, deletion, symlink, chmod +x, folder symlink, new file",
                    lambda: check_tampering(s))
        s.run_check(f"{'64 MiB' if s.quick else '1 GiB'} of output per trial: bounded memory and disk",
                    lambda: check_big_output(s))
        s.run_check("hang with grandchildren: killed by --trial-timeout-seconds, nothing left",
                    lambda: check_hang_with_grandchildren(s))
        s.run_check(f"{10 if s.quick else 100} reverts: ignored files and the user's empty folders survive "
                    "byte for byte", lambda: check_reverts_keep_user_files(s))
        s.run_check("bad inputs: exit 2, one line on stderr, no traceback, nothing written",
                    lambda: check_bad_inputs(s))
    finally:
        left = s.sweep(grace=3.0)  # the suite's own processes: never left running
        if left:
            s.orphans.append(f"{len(left)} at the end")
        if not args.keep:
            shutil.rmtree(s.tmp, ignore_errors=True)
    s.check("no process left behind by any fault (orphans)", not s.orphans, "; ".join(s.orphans))
    f = s.figures
    print(f"faults injected: {f['faults']}; records lost: {f['lost']}; records doubled: {f['doubled']}; "
          f"tamperings caught: {f['tamper_caught']}/{f['tamper_tried']}; "
          f"bad inputs refused: {f['bad_refused']}/{f['bad_tried']}; orphans left: {f['orphans']}")
    if s.big_output:
        print(f"output: {s.big_output}")
    failed = [name for name, passed, _ in s.checks if not passed]
    print(f"faults: {'FAIL' if failed else 'PASS'} ({len(s.checks) - len(failed)} of {len(s.checks)} checks "
          f"passed, {time.monotonic() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
