"""Long measurements in the real Claude Code CLI (`claude` on PATH).

The client's Bash tool gives a call a timeout (120 s by default) and moves a
longer call to the background, where its answer never reaches the model.
These tests shrink that timeout (`BASH_DEFAULT_TIMEOUT_MS=3000`, so ratchet's
wait bound is 0.75 * 3 - 1 = 1.25 s) and use a benchmark whose runs take
seconds, so that, in a few seconds of real time each:

- a baseline that lasts several tool timeouts (5 runs of 2 s) and two
  iterations (kept, reverted) complete through `running` answers whose
  `next` the scripted model follows, with no call moved to the background,
  no permission denied and no process left behind;
- `claude -p` SIGKILLed (its whole process group) in the middle of a
  measurement, then `claude -p "/ratchet resume"`: the measurement went on
  in ratchet's worker, the resumed session carries the run to its stop
  condition, and results.jsonl has exactly one record per iteration;
- a trial three times longer than the wait bound is measured correctly.

The scripted model (`Follower`) plays SKILL.md the way a model does: it
reads each answer's `next` and does what it says, running `next` again
while the answer has `running`; it only brings the ideas (the edits).

The benchmark sleeps with `sleep <seconds>.000<unique digits>`: the unique
digits find its processes in /proc, so the tests can prove that none is
left (nor any process whose working directory is the test's folder), and
kill them in cleanup when a test fails.

Helpers come from test_claude_cli.py; same skip rules (skipped without
`claude` on PATH unless RATCHET_REQUIRE_CLAUDE=1) and debugging aids
(RATCHET_KEEP_TMP=1, RATCHET_TEST_TIMINGS=1). See docs/testing.md.
"""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import unittest

from tests import test_claude_cli as cli
from tests.fake_model import FakeModel, last_json, last_result, tool_results, tool_use
from tests.test_claude_cli import ratchet, ratchet_calls, skill_block

BASH_TIMEOUT_MS = 3000
WAIT_BOUND = 0.75 * BASH_TIMEOUT_MS / 1000 - 1   # core.waiting.bound: 1.25 s
SESSION_TIMEOUT = 90                             # seconds; a scenario normally takes 10-20
BACKGROUND = "moved to the background"           # the CLI's tool_result for a call that outlived its timeout


# ---- the scripted model ------------------------------------------------------

def command_of(next_text):
    """The ratchet command a `next` names first: "ratchet.py run-trial --all
    (waits up to 1.25 s more; ...)" -> "run-trial --all"."""
    m = re.search(r"ratchet\.py ([^(,]+?)(?: \(|,|$)", next_text)
    assert m, "no ratchet.py command in next: %r" % next_text
    return m.group(1).strip()


class Follower:
    """A scripted model that follows SKILL.md by the answers' `next`.

    Turn 0 checks the skill arrived with ARGS and reads integrity.md; turn 1
    runs `init ARGS` (or `status` when ARGS is "resume"); from then on every
    JSON answer is acted on as SKILL.md says: `running` -> run its `next`
    again; "run-trial --all" -> run it; "make ONE change" -> the next of
    EDITS (old, new, description) with Edit, then run-trial with that
    description as the hypothesis; "decide" -> decide with the iteration's
    description; "stop: ..." -> status --format text, then end the turn.
    EDITS_DONE: edits already applied by an earlier session.

    `answers` keeps (command, JSON, seconds from the call to the next
    request) of every ratchet call; `on_turn(body)` runs first on every turn."""

    def __init__(self, repo, args, edits, edits_done=0, on_turn=None):
        self.repo, self.args = repo, args
        self.edits, self.edits_done, self.on_turn = list(edits), edits_done, on_turn
        self.descriptions = {0: "baseline"}
        self.descriptions.update({i + 1: e[2] for i, e in enumerate(self.edits[:edits_done])})
        self.seen = {}
        self.answers = []
        self.turns = 0
        self.last = None         # (kind, command, time the call was handed to the CLI)
        self.table = None

    def _ratchet(self, command):
        self.last = ("ratchet", command, time.monotonic())
        return ratchet(self.seen, command)

    def __call__(self, body):
        if self.on_turn:
            self.on_turn(body)
        for result, _ in tool_results(body):
            assert BACKGROUND not in result, "the last call was moved to the background:\n" + result[:1000]
        turn, self.turns = self.turns, self.turns + 1
        if turn == 0:
            text = skill_block(body)
            m = re.match(r"Base directory for this skill: (\S+)", text)
            assert m, "no skill block in the first request"
            self.seen["skill_dir"] = m.group(1)
            got = re.search(r"<command-args>(.*?)</command-args>", cli.user_text(body), re.S)
            assert got and got.group(1).strip() == self.args, "arguments changed: %r" % (got and got.group(1))
            self.last = ("read", None, time.monotonic())
            return tool_use("Read", file_path=self.seen["skill_dir"] + "/instructions/integrity.md")
        kind, command, since = self.last
        if kind == "read":
            last_result(body)
            return self._ratchet("status" if self.args == "resume" else "init " + self.args)
        if kind == "edit":
            last_result(body)
            return self._ratchet('run-trial --all --hypothesis "%s"' % command)
        if kind == "table":
            self.table = last_result(body)
            return "Done: the run stopped; the status table is above."
        answer = last_json(body)
        self.answers.append((command, answer, round(time.monotonic() - since, 2)))
        nxt = answer.get("next", "")
        if "running" in answer:  # SKILL.md: an answer with `running` means run its `next` again
            again = command_of(nxt)
            if again.startswith("decide"):
                again = 'decide --description "%s"' % self.descriptions[answer["iter"]]
            return self._ratchet(again)
        if nxt.startswith("stop:"):
            self.last = ("table", None, time.monotonic())
            return ratchet(self.seen, "status --format text")
        if "make ONE change" in nxt:
            assert self.edits_done < len(self.edits), "the script has no more ideas; next: %r" % nxt
            old, new, description = self.edits[self.edits_done]
            self.edits_done += 1
            self.descriptions[self.edits_done] = description
            self.last = ("edit", description, time.monotonic())
            return tool_use("Edit", file_path=str(self.repo / "work.py"), old_string=old, new_string=new)
        if command_of(nxt).startswith("decide"):
            return self._ratchet('decide --description "%s"' % self.descriptions[answer["iter"]])
        if command_of(nxt).startswith("run-trial --all"):
            return self._ratchet("run-trial --all")
        raise AssertionError("the script does not know this next: %r" % nxt)

    def running(self, iteration=None):
        """The `running` answers (of one iteration)."""
        return [a for _, a, _ in self.answers if "running" in a and iteration in (None, a.get("iter"))]


# ---- processes -----------------------------------------------------------------

def processes():
    """{pid: (argv, cwd)} of every live process we can read."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as fh:
                argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
            cwd = os.readlink("/proc/%s/cwd" % entry)
        except OSError:  # gone, a zombie, or not ours
            continue
        out[int(entry)] = (argv, cwd)
    return out


def pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


WORKER_SETUP_S = 0.5  # seconds from a worker's start to its first trial's start, at most (a loaded machine)


@unittest.skipUnless(cli.CLAUDE, "claude CLI not on PATH: real-client tests skipped (see docs/testing.md)")
@unittest.skipUnless(os.path.isdir("/proc/self"), "the orphan checks read /proc (Linux)")
class ClaudeLongTest(unittest.TestCase):
    tearDown = cli.ClaudeCliTest.tearDown
    claude = cli.ClaudeCliTest.claude
    install_plugin = cli.ClaudeCliTest.install_plugin
    git = cli.ClaudeCliTest.git

    def setUp(self):
        cli.ClaudeCliTest.setUp(self)
        # The benchmark's sleeps end in these digits: its processes are findable.
        self.mark = "000%06d" % random.randrange(10 ** 6)
        self.addCleanup(self.kill_leftovers)   # runs before the folder is removed

    def env(self, base_url="http://127.0.0.1:9"):
        env = cli.ClaudeCliTest.env(self, base_url)
        env["BASH_DEFAULT_TIMEOUT_MS"] = str(BASH_TIMEOUT_MS)
        return env

    # ---- the repository and its slow benchmark ---------------------------------

    def make_slow_repo(self, seconds, by_iteration=None):
        """A git repo whose benchmark prints `score: <loop iterations of work.py>`
        (lower is better) after sleeping SECONDS (BY_ITERATION: {iteration:
        seconds} for the trials of that ratchet iteration)."""
        repo = self.tmp / "project"
        repo.mkdir()
        (repo / "work.py").write_text(cli.WORK_PY)
        pauses = {str(k): v for k, v in (by_iteration or {}).items()}
        (repo / "bench.py").write_text(
            "import os\nimport subprocess\nimport sys\n"
            "sys.dont_write_bytecode = True\n"
            "from work import count_steps\n\n"
            "seconds = %r.get(os.environ.get('RATCHET_ITERATION'), %r)\n"
            "subprocess.run(['sleep', '%%.1f%s' %% seconds], check=True)\n"
            "print('score: %%d' %% count_steps())\n" % (pauses, float(seconds), self.mark))
        (repo / ".gitignore").write_text("__pycache__/\n")
        self.git(repo, "init", "-q")
        self.git(repo, "add", ".")
        self.git(repo, "commit", "-q", "-m", "start")
        self.repo = repo
        return repo

    def records(self, repo):
        path = repo / ".ratchet" / "results.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def worker_info(self, repo):
        try:
            return json.loads((repo / ".ratchet" / "worker.json").read_text())
        except (OSError, ValueError):
            return None

    # ---- processes ---------------------------------------------------------------

    def leftovers(self):
        """Processes of this test still alive: the benchmark (its unique sleep),
        or anything whose working directory is inside the test's folder."""
        tmp = str(self.tmp.resolve())
        return {pid: (argv, cwd) for pid, (argv, cwd) in processes().items()
                if pid != os.getpid() and (any(self.mark in a for a in argv)
                                           or cwd == tmp or cwd.startswith(tmp + os.sep))}

    def assert_no_leftovers(self, grace=3.0):
        """Nothing of the test is left (after GRACE seconds for exits in flight)."""
        deadline = time.monotonic() + grace
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = self.leftovers()
        self.assertEqual(left, {}, "processes left behind:\n" + "\n".join(
            "%d %s (cwd %s)" % (pid, " ".join(argv), cwd) for pid, (argv, cwd) in left.items()))

    def kill_leftovers(self):
        """Cleanup: stop a worker still measuring (SIGTERM: it kills its trial's
        group), then SIGKILL whatever of the test is left, by pid."""
        info = self.worker_info(self.tmp / "project") or {}
        pid = int(info.get("pid") or 0)
        if pid and alive(pid) and pid in self.leftovers():
            try:
                os.killpg(pid, signal.SIGTERM)  # the worker leads its own session and group
            except OSError:
                pass
            deadline = time.monotonic() + 5
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        for _ in range(3):
            left = self.leftovers()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.2)

    # ---- a session ---------------------------------------------------------------

    def session(self, prompt, script, cwd, name, kill_when=None):
        """`claude -p PROMPT --output-format stream-json --verbose` against a
        FakeModel playing SCRIPT, in a process group of its own.
        KILL_WHEN(cli_pid): polled while the CLI runs; when it returns something true, the CLI's
        process group is SIGKILLed and that value is kept in self.killed.
        Checks the session (a clean end, or the kill), no scripted turn failed,
        no permission denied, no failed ratchet.py call, no call moved to the
        background. Returns (fake, events). Files: NAME-stdout.jsonl, ..."""
        out_path, err_path = self.tmp / ("%s-stdout.jsonl" % name), self.tmp / ("%s-stderr.txt" % name)
        self.killed = None
        with FakeModel(script) as fake, open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen(
                [cli.CLAUDE, "-p", prompt, "--output-format", "stream-json", "--verbose"],
                cwd=str(cwd), env=self.env(fake.base_url), stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True)
            self.addCleanup(self._kill_cli, proc)
            deadline = time.monotonic() + SESSION_TIMEOUT
            while proc.poll() is None:
                if kill_when and self.killed is None:
                    self.killed = kill_when(proc.pid)
                    if self.killed:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        break
                if time.monotonic() > deadline:
                    self._kill_cli(proc)
                    break
                time.sleep(0.05)
        stdout, stderr = out_path.read_text(), err_path.read_text()
        (self.tmp / ("%s-requests.txt" % name)).write_text(fake.report())
        context = "\n--- %s: requests ---\n%s\n--- stderr ---\n%s" % (name, fake.report(), stderr[-3000:])
        self.context = context
        self.assertFalse(fake.errors, "the scripted model failed:\n%s%s" % ("\n\n".join(fake.errors), context))
        if kill_when:
            self.assertTrue(self.killed, "the session ended before the moment to kill it came%s" % context)
            self.assertEqual(proc.returncode, -signal.SIGKILL, context)
        else:
            self.assertEqual(proc.returncode, 0, "claude -p exited %s%s" % (proc.returncode, context))
        events = []
        for line in stdout.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:  # not an event, or the last line cut by a kill
                continue
        denied = [e for e in events if e.get("subtype") == "permission_denied"]
        self.assertEqual(denied, [], "permission denied:\n%s%s" % (json.dumps(denied, indent=1), context))
        if not kill_when:
            result = [e for e in events if e.get("type") == "result"]
            self.assertTrue(result and not result[-1].get("is_error") and not result[-1].get("permission_denials"),
                            "no clean result event:\n%s%s" % (json.dumps(result, indent=1)[-3000:], context))
        _, failed = ratchet_calls(events)
        self.assertEqual(failed, [], "a ratchet.py call failed%s" % context)
        backgrounded = [r for r in tool_result_texts(events) if BACKGROUND in r]
        backgrounded += ["task notification: " + m[:2000] for r in fake.main_requests
                         for m in [json.dumps(r["body"].get("messages", []))] if "<task-notification>" in m]
        self.assertEqual(backgrounded, [], "a tool call was moved to the background%s" % context)
        return fake, events

    def _kill_cli(self, proc):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()

    def assert_call_times(self, follower):
        """Every ratchet call answered within the tool's timeout (none came near it)."""
        slow = [(c, s) for c, _, s in follower.answers if s >= BASH_TIMEOUT_MS / 1000.0]
        self.assertEqual(slow, [], "calls that took as long as the tool timeout" + self.context)

    # ---- a. a baseline longer than several tool timeouts ----------------------

    def test_baseline_longer_than_the_tool_timeout_completes_through_running_answers(self):
        """5 calibration runs of 2 s (10 s) against a 3 s tool timeout, then a kept
        and a reverted iteration (2 s each): every call ends within the bound."""
        self.install_plugin()
        repo = self.make_slow_repo(2)
        start = self.git(repo, "rev-parse", "HEAD")
        args = ('--run-command "python3 bench.py" --direction min --metric-name score '
                '--report-source stdout --iterations 2')
        follower = Follower(repo, args, [("STEP = 1", "STEP = 4", "step 4"),
                                               ("STEP = 4", "STEP = 2", "step 2")])
        fake, events = self.session("/ratchet " + args, follower, repo, "long")

        records = self.records(repo)
        self.assertEqual([(r["iter"], r["decision"], r["kept"]) for r in records],
                         [(0, "baseline", True), (1, "improve", True), (2, "regress", False)],
                         json.dumps(records, indent=1))
        baseline = records[0]
        self.assertEqual(baseline["trial_scores"], [1000] * 5, json.dumps(baseline))
        durations = [t["duration_s"] for t in baseline["trials"]]
        self.assertTrue(all(d >= 2.0 for d in durations), durations)
        self.assertGreater(sum(durations), 3 * BASH_TIMEOUT_MS / 1000.0, durations)
        self.assertEqual(baseline["design"]["kind"], "exact", json.dumps(baseline["design"]))
        self.assertEqual((records[1]["trial_scores"], records[2]["trial_scores"]), ([250], [500]))

        # The model got `running` answers, followed their `next`, and no call came near the timeout.
        running = follower.running(0)
        self.assertGreaterEqual(len(running), 4, self.context)
        for a in running:
            self.assertEqual((a["running"], a["trials_needed"]), ("trials", 30), json.dumps(a))
            self.assertIn("waits up to %g s more" % WAIT_BOUND, a["next"])
        self.assertEqual([a["trials_done"] for a in running], sorted(a["trials_done"] for a in running))
        self.assertTrue(follower.running(1) and follower.running(2), self.context)
        self.assert_call_times(follower)
        calls, _ = ratchet_calls(events)
        self.assertEqual(len(calls), len(follower.answers) + 1, self.context)  # + status --format text
        self.assertIn("iterations_exhausted", follower.table)

        # The last worker finished, and nothing is left running.
        info = self.worker_info(repo)
        self.assertEqual((info["iter"], info["exit"]), (2, 0), json.dumps(info))
        self.assertFalse(alive(info["pid"]))
        self.assert_no_leftovers()
        self.assertEqual(len(self.git(repo, "rev-list", "%s..HEAD" % start).split()), 1)
        self.assertEqual(self.git(repo, "status", "--porcelain"), "")

    # ---- b. claude -p killed mid-measurement, then /ratchet resume ----------------

    def test_cli_killed_mid_measurement_then_resume_finishes_with_one_record_per_iteration(self):
        """The CLI's process group is SIGKILLed while iteration 1's 4 s trial runs;
        the worker goes on; `/ratchet resume` carries the run to --iterations 2."""
        self.install_plugin()
        repo = self.make_slow_repo(1, {1: 4})
        args = ('--run-command "python3 bench.py" --direction min --metric-name score '
                '--report-source stdout --calibration-runs 2 --iterations 2')
        edits = [("STEP = 1", "STEP = 4", "step 4"), ("STEP = 4", "STEP = 2", "step 2")]
        first = Follower(repo, args, edits)
        trial_sleep = "4.0%s" % self.mark   # the sleep of iteration 1's trial

        def mid_measurement(cli_pid):
            """Iteration 1's trial is running in the worker, and the run-trial
            call waits for it: kill now."""
            info = self.worker_info(repo)
            if not info or info.get("iter") != 1 or "exit" in info:
                return None
            procs = self.leftovers()
            if not any(trial_sleep in argv for argv, _ in procs.values()):
                return None
            waiters = [pid for pid, (argv, _) in procs.items()
                       if "run-trial" in argv and any(a.endswith("ratchet.py") for a in argv)
                       and pid != info["pid"]]
            if not waiters:
                return None
            return {"worker": info, "last_call": first.last[1],
                    "waiters_in_cli_group": [pid for pid in waiters if pgid(pid) == cli_pid]}

        self.session("/ratchet " + args, first, repo, "killed", kill_when=mid_measurement)
        killed = self.killed
        worker_pid = killed["worker"]["pid"]
        self.assertEqual(killed["worker"]["job"], "trials")
        self.assertTrue(killed["last_call"].startswith("run-trial --all"), killed)
        # The CLI is gone (its whole group), the measurement is not.
        self.assertTrue(alive(worker_pid), "the worker died with the CLI")
        cur = json.loads((repo / ".ratchet" / "current.json").read_text())
        self.assertEqual((cur["iter"], cur.get("trials")), (1, []), json.dumps(cur)[:2000])
        self.assertEqual([r["iter"] for r in self.records(repo)], [0])

        # /ratchet resume in a new session, at once: it finds the measurement
        # still running (or just finished) and goes on from there.
        workers = []

        def watch_worker(body):
            info = self.worker_info(repo)
            if info:
                workers.append(dict(info))

        second = Follower(repo, "resume", edits, edits_done=1, on_turn=watch_worker)
        self.session("/ratchet resume", second, repo, "resume")

        records = self.records(repo)
        self.assertEqual([(r["iter"], r["decision"], r["kept"]) for r in records],
                         [(0, "baseline", True), (1, "improve", True), (2, "regress", False)],
                         json.dumps(records, indent=1))
        self.assertIn("iterations_exhausted", second.table)
        one = records[1]
        self.assertEqual((one["trial_scores"], one["n_trials"]), ([250], 1), json.dumps(one))
        self.assertGreaterEqual(one["trials"][0]["duration_s"], 4.0, json.dumps(one["trials"]))
        self.assertLess(one["trials"][0]["duration_s"], 8.0, json.dumps(one["trials"]))
        self.assertEqual(sorted(p.name for p in (repo / ".ratchet" / "reports").glob("iter-0001-*.txt")),
                         ["iter-0001-trial-01.txt"], "iteration 1 ran more than one trial")
        # The trial that was running when the CLI died is the one recorded: it
        # was finished by the same worker (never dropped, never run twice).
        iter1 = [w for w in workers if w.get("iter") == 1]
        self.assertTrue(iter1, "the resumed session never saw iteration 1's worker: %s" % workers)
        self.assertEqual({w["pid"] for w in iter1}, {worker_pid}, workers)
        self.assertEqual(iter1[-1].get("exit"), 0, workers)
        self.assertFalse([a for _, a, _ in second.answers if "recovered" in a], "the worker was thought dead")
        status = second.answers[0][1]
        self.assertEqual((status["iter"], status["trials"]["needed"]), (1, 1), json.dumps(status))
        self.assert_call_times(second)
        self.assert_no_leftovers()
        if os.environ.get("RATCHET_TEST_TIMINGS") == "1":
            sys.stderr.write("\nkilled with the run-trial waiter %s the CLI's process group; the resumed "
                             "session found the measurement %s\n" % (
                                 "in" if killed["waiters_in_cli_group"] else "outside",
                                 "still running (%s s in)" % status["measuring"]["elapsed_s"]
                                 if status.get("measuring") else "finished"))

    # ---- c. a trial three times longer than the wait bound ------------------------

    def test_trial_three_times_longer_than_the_wait_bound_is_measured_correctly(self):
        """Baseline runs take 0.2 s; iteration 1's trial takes 4 s (3.2 x the
        1.25 s bound): its score and duration reach the record."""
        self.install_plugin()
        repo = self.make_slow_repo(0.2, {1: 4})
        args = ('--run-command "python3 bench.py" --direction min --metric-name score '
                '--report-source stdout --iterations 1')
        follower = Follower(repo, args, [("STEP = 1", "STEP = 4", "step 4")])
        self.session("/ratchet " + args, follower, repo, "trial")

        records = self.records(repo)
        self.assertEqual([(r["iter"], r["decision"], r["kept"]) for r in records],
                         [(0, "baseline", True), (1, "improve", True)], json.dumps(records, indent=1))
        one = records[1]
        self.assertEqual((one["trial_scores"], one["avg"], one["n_trials"]), ([250], 250, 1), json.dumps(one))
        trial = one["trials"][0]
        self.assertEqual((trial["status"], trial["score"], trial["exit_code"], trial["timed_out"]),
                         ("ok", 250, 0, False), json.dumps(trial))
        self.assertGreaterEqual(trial["duration_s"], 4.0, json.dumps(trial))
        self.assertLess(trial["duration_s"], 6.0, json.dumps(trial))
        self.assertGreaterEqual(trial["duration_s"], 3 * WAIT_BOUND)
        self.assertIn("score: 250", (repo / trial["report"]).read_text())

        # The model waited through `running` answers (trial not done yet,
        # elapsed growing), and the last run-trial answer carried the trial.
        running = follower.running(1)
        self.assertGreaterEqual(len(running), 2, self.context)
        self.assertEqual({a["trials_done"] for a in running}, {0}, json.dumps(running))
        elapsed = [a["elapsed_s"] for a in running]
        self.assertEqual(elapsed, sorted(elapsed), running)
        # elapsed_s counts from the worker's start, which precedes the trial's by
        # the worker's own setup (fork, lock handoff, showing the tree): a
        # running answer cannot come later than the trial's end plus that setup.
        self.assertLess(elapsed[-1], trial["duration_s"] + WORKER_SETUP_S, running)
        final = [a for c, a, _ in follower.answers if c.startswith("run-trial") and "running" not in a][-1]
        self.assertEqual(final["iter"], 1, json.dumps(final))
        self.assertEqual(final["trials_done"], 1, json.dumps(final))
        self.assertIn("250", json.dumps(final))
        decision = follower.answers[-1][1]
        self.assertEqual((decision["decision"], decision["best"]["score"]), ("improve", 250), json.dumps(decision))
        self.assert_call_times(follower)
        self.assert_no_leftovers()


def tool_result_texts(events):
    """The text of every tool_result in the CLI's stream-json output."""
    out = []
    for e in events:
        if e.get("type") != "user":
            continue
        for b in e.get("message", {}).get("content") or []:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                content = b.get("content")
                out.append(content if isinstance(content, str) else
                           "\n".join(c.get("text", "") for c in content or [] if isinstance(c, dict)))
    return out


if __name__ == "__main__":
    unittest.main()
