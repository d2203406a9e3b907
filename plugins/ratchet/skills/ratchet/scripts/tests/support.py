"""Test helpers: throwaway git repositories, a way to call the CLI and a
critic-mode proposal answer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from shell.worker import alive

SCRIPTS = Path(__file__).resolve().parent.parent
RATCHET = SCRIPTS / "ratchet.py"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C",
}


def git(repo: Path, *args: str, input_text: str | None = None, strip: bool = True) -> str:
    """Run git hermetically in `repo`; its stdout (stripped unless `strip` is
    False: a diff must keep its last newline). AssertionError on failure."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, input=input_text)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip() if strip else proc.stdout


def count_git(test: unittest.TestCase, only_from: str | None = None) -> list[str]:
    """The subcommand of every git process started until `test` ends
    (`only_from`: a module's name; only the processes it starts, so the
    test's own git calls do not count)."""
    calls: list[str] = []
    real = subprocess.Popen

    def started_by_module() -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_globals.get("__name__") == only_from:
                return True
            frame = frame.f_back
        return False

    class Counted(real):
        def __init__(self, args, *a, **kw):
            if isinstance(args, list) and args[:1] == ["git"] and (only_from is None or started_by_module()):
                rest = args[3:] if args[1:2] == ["-C"] else args[1:]
                calls.append(rest[2] if rest[:1] == ["-c"] else rest[0])
            super().__init__(args, *a, **kw)

    patch = mock.patch.object(subprocess, "Popen", Counted)
    patch.start()
    test.addCleanup(patch.stop)
    return calls


def make_repo(files: dict, prefix: str = "ratchet-test-") -> Path:
    """A new temporary repository holding `files` ({path: text}) in one commit."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    git(root, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


class Result:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def json(self) -> dict:
        lines = [ln for ln in self.stdout.splitlines() if ln.strip()]
        if len(lines) != 1:
            raise AssertionError(f"expected one JSON line, got {self.stdout!r} (stderr {self.stderr!r})")
        return json.loads(lines[0])


class RepoTestCase(unittest.TestCase):
    """Each test gets a fresh git repository with one commit.

    Files: work.py (N = 1000), bench.py (prints `score: N`), .gitignore
    ignoring `ignored/` and __pycache__.
    """

    files = {
        "work.py": "N = 1000\n",
        "bench.py": "import work\nprint('score:', work.N)\n",
        ".gitignore": "ignored/\n__pycache__/\n",
    }

    def setUp(self):
        env = mock.patch.dict(os.environ, GIT_ENV)  # in-process git calls stay hermetic too
        env.start()
        self.addCleanup(env.stop)
        self.tmp = Path(tempfile.mkdtemp(prefix="ratchet-test-"))
        self.repo = self.tmp / "repo"
        self.repo.mkdir()
        git(self.repo, "init", "-q", "-b", "main")
        for name, text in self.files.items():
            self.write(name, text)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "initial")
        self.start = git(self.repo, "rev-parse", "HEAD")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name: str, text: str) -> Path:
        path = self.repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def read(self, name: str) -> str:
        return (self.repo / name).read_text()

    def cli(self, *args: str, cwd: Path | None = None, isolated: bool = False) -> Result:
        cmd = [sys.executable, *(["-I"] if isolated else []), str(RATCHET), *args]
        env = {**os.environ, **GIT_ENV}
        proc = subprocess.run(cmd, cwd=str(cwd or self.repo), capture_output=True, text=True,
                              env=env, stdin=subprocess.DEVNULL, timeout=120)
        return Result(proc)

    def ok(self, *args: str, **kw) -> dict:
        res = self.cli(*args, **kw)
        self.assertEqual(res.code, 0, f"{args} failed: {res.stderr}")
        return res.json

    def init(self, *extra: str) -> dict:
        """Start a run on bench.py; 2 calibration runs unless `extra` says otherwise (speed)."""
        calibration = [] if "--calibration-runs" in extra else ["--calibration-runs", "2"]
        return self.ok("init", "--run-command", f"{sys.executable} bench.py", "--direction", "min",
                       "--metric-name", "score", "--report-source", "stdout", *calibration, *extra)

    def power_cut(self, marker: Path, *args: str) -> None:
        """Start `ratchet.py args`, wait until the command it runs creates
        `marker`, then SIGKILL the whole process group: a power cut mid-trial."""
        proc = subprocess.Popen([sys.executable, str(RATCHET), *args], cwd=self.repo, env={**os.environ, **GIT_ENV},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(marker.exists(), f"{marker} never appeared: {proc.stderr.read() if proc.poll() is not None else ''}")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        kill_worker(self.repo)
        self.assertEqual(processes_in(self.repo), [], "a benchmark outlived the power cut")


    def iteration(self, description: str, hypothesis: str | None = None) -> dict:
        args = ["run-trial", "--all"] + (["--hypothesis", hypothesis] if hypothesis else [])
        self.ok(*args)
        return self.ok("decide", "--description", description)

    def results(self) -> list[dict]:
        path = self.repo / ".ratchet" / "results.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def snapshot_tree(self) -> dict:
        """Every file below the repo (outside .git), with contents."""
        out = {}
        for p in sorted(self.repo.rglob("*")):
            rel = p.relative_to(self.repo).as_posix()
            if rel.startswith(".git/") or rel == ".git" or not p.is_file():
                continue
            out[rel] = p.read_bytes()
        return out


# A critic-mode proposer's answer (diffs.parse_proposal's input) and its diff.
SIMPLE_DIFF = """diff --git a/src/fast.py b/src/fast.py
--- a/src/fast.py
+++ b/src/fast.py
@@ -1,2 +1,2 @@
 def f():
-    return sum(range(10))
+    return 45
"""


def proposal_text(hyp="Precompute the sum", diff=SIMPLE_DIFF, extra=""):
    return (f"Some preamble the model wrote.\n\nHYPOTHESIS: {hyp}\n"
            f"EXPECTED: time_ms down 5%\nRATIONALE:\n{extra}The loop is hot.\n"
            f"History shows caching helped.\nDIFF:\n```diff\n{diff}```\n")


def kill_worker(repo: Path) -> None:
    """SIGKILL the repository's measurement worker, if one runs (a power cut
    ends every process), and wait until it and its benchmark are gone."""
    try:
        pid = json.loads((repo / ".ratchet" / "worker.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.02)


def processes_in(repo: Path, timeout: float = 10.0) -> list[int]:
    """Pids of live processes whose working directory is inside `repo`,
    after waiting up to `timeout` for them to go (Linux; [] elsewhere)."""
    if not Path("/proc/self/cwd").exists():
        return []
    root = str(repo.resolve())
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit() and int(d.name) != os.getpid():
                try:
                    cwd = os.readlink(d / "cwd")
                except OSError:
                    continue
                if (cwd == root or cwd.startswith(root + "/")) and alive(int(d.name)):
                    found.append(int(d.name))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
