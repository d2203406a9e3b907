"""Nights that finish: measurement outlives the command that asked for it,
no command waits longer than its bound, no benchmark outlives the process
measuring it, a dead worker is noticed, the user can stop, the budget holds."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest
import uuid
from pathlib import Path

from core import budget, waiting
from tests.support import GIT_ENV, RATCHET, RepoTestCase, git, kill_worker

PY = sys.executable


def processes_with(marker: str) -> list[int]:
    """Pids (not zombies) whose command line contains `marker`."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and state != "Z":
            out.append(int(d.name))
    return out


@unittest.skipUnless(Path("/proc/self/cmdline").exists(), "needs /proc to look for orphans")
class Worker(RepoTestCase):
    def setUp(self):
        super().setUp()
        self.marker = f"{uuid.uuid4().int % 10**6 + 1000}.5"  # a unique sleep length names our grandchildren
        self.addCleanup(self.no_orphans)

    def no_orphans(self):
        kill_worker(self.repo)
        deadline = time.monotonic() + 5
        while processes_with(f"sleep {self.marker}") and time.monotonic() < deadline:
            time.sleep(0.05)
        left = processes_with(f"sleep {self.marker}")
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.assertEqual(left, [], "a benchmark process outlived the test")

    def slow_bench(self, seconds: float, when: str = "True"):
        """bench.py sleeps `seconds` in a grandchild (a `sleep` process) when `when` holds."""
        self.write("bench.py", "import os, subprocess, work\n"
                               f"if {when}:\n"
                               f"    subprocess.run(['sh', '-c', 'sleep {self.marker} & sleep {seconds}; kill $!'])\n"
                               "print('score:', work.N)\n")
        git(self.repo, "commit", "-qam", "slow bench")

    def popen(self, *args):
        return subprocess.Popen([PY, str(RATCHET), *args], cwd=self.repo, env={**os.environ, **GIT_ENV},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def worker_info(self) -> dict:
        return json.loads((self.repo / ".ratchet" / "worker.json").read_text())

    def wait_for(self, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            self.assertLess(time.monotonic(), deadline, "timed out")
            time.sleep(0.05)

    def hold_lock(self, seconds: float, worker: dict | None = None, then: dict | None = None):
        """Another process holding the writers' lock for `seconds`, as a worker
        would (`worker`: the worker.json it writes first, with its pid;
        `then`: the one it writes before letting go). Returns once it holds it."""
        ready = self.tmp / "holding"
        ready.unlink(missing_ok=True)

        def record(info: dict | None) -> list[str]:
            return [f"json.dump({{'pid': os.getpid(), 'started': time.time(), **{info!r}}}, "
                    "open('.ratchet/worker.json', 'w'))"] if info else []
        code = (["import fcntl, json, os, time", "fd = os.open('.ratchet/lock', os.O_RDWR)",
                 "fcntl.flock(fd, fcntl.LOCK_EX)"] + record(worker)
                + [f"open({str(ready)!r}, 'w').close()", f"time.sleep({seconds})"] + record(then))
        holder = subprocess.Popen([PY, "-c", "\n".join(code)], cwd=self.repo)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.kill)
        self.wait_for(ready.exists)
        return holder

    def finish(self, *args) -> dict:
        """run-trial --all again and again until the answer is not `running`."""
        for _ in range(200):
            out = self.ok("run-trial", "--all", "--wait", "5", *args)
            if "running" not in out:
                return out
        self.fail("the measurement never finished")

    def test_a_trial_three_times_longer_than_the_wait_is_measured(self):
        self.slow_bench(1.5)
        self.init("--calibration-runs", "2")
        t0 = time.monotonic()
        out = self.ok("run-trial", "--all", "--wait", "0.5")
        self.assertLess(time.monotonic() - t0, 1.4, "the command waited past its bound")
        self.assertEqual(out["running"], "trials")
        self.assertEqual((out["trials_done"], out["trials_needed"]), (0, 2))
        self.assertIn("run-trial --all", out["next"])
        out = self.finish()
        self.assertEqual([t["score"] for t in out["trials"]], [1000.0, 1000.0])
        self.assertTrue(all(t["duration_s"] >= 1.5 for t in out["trials"]))
        self.assertEqual(self.ok("decide", "--description", "baseline")["decision"], "baseline")

    def test_the_default_bound_follows_a_lowered_client_timeout(self):
        self.slow_bench(3)
        self.init("--calibration-runs", "2")
        env = {**os.environ, **GIT_ENV, "BASH_DEFAULT_TIMEOUT_MS": "2000"}
        t0 = time.monotonic()
        proc = subprocess.run([PY, str(RATCHET), "run-trial", "--all"], cwd=self.repo, env=env,
                              capture_output=True, text=True)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual(json.loads(proc.stdout)["running"], "trials")

    def test_a_killed_command_does_not_stop_the_measurement(self):
        self.slow_bench(0.4)
        self.init("--calibration-runs", "3")
        proc = self.popen("run-trial", "--all")
        self.wait_for(lambda: (self.repo / ".ratchet" / "worker.json").exists())
        os.killpg(proc.pid, signal.SIGKILL)  # the client killed the command (and its process group)
        proc.communicate()
        out = self.finish()
        self.assertEqual([t["trial"] for t in out["trials"]], [1, 2, 3])
        self.assertNotIn("recovered", out)

    def test_a_second_run_trial_joins_the_wait(self):
        self.slow_bench(0.4)
        self.init("--calibration-runs", "3")
        first = self.popen("run-trial", "--all")
        self.wait_for(lambda: (self.repo / ".ratchet" / "worker.json").exists())
        pid = self.worker_info()["pid"]
        second = self.popen("run-trial", "--all")
        outs = [json.loads(p.communicate(timeout=60)[0]) for p in (first, second)]
        self.assertEqual([o["trials_done"] for o in outs], [3, 3])
        self.assertEqual(self.worker_info()["pid"], pid, "a second worker was started")
        self.assertEqual(len(json.loads((self.repo / ".ratchet" / "current.json").read_text())["trials"]), 3)

    def test_a_worker_that_finished_as_the_wait_ran_out_is_waited_for_not_refused(self):
        """The window between a worker recording its exit and its exit freeing
        the lock: a command whose wait ends there waits a moment more."""
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 900\n")
        holder = self.hold_lock(4.5, worker={"job": "trials", "exit": 0})
        out = self.ok("run-trial", "--all", "--wait", "4")  # busy after 4 s; the grace (1 s) covers the rest
        self.assertEqual(out["trials_done"], 1, out)
        holder.wait(timeout=10)
        self.hold_lock(5)  # a holder that recorded no exit is still refused once the wait is over
        res = self.cli("run-trial", "--all", "--wait", "0.5")
        self.assertEqual(res.code, 2, res.stdout)
        self.assertIn("another ratchet command is running in this repository", res.stderr)

    def test_a_worker_whose_trials_are_all_recorded_is_waited_for_not_answered_running(self):
        """The window before that: the last trial is in current.json, the
        worker has yet to record its exit. An answer there would say
        `running` with every trial done; the command waits a moment more."""
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 900\n")
        self.assertEqual(self.ok("run-trial", "--all")["trials_done"], 1)
        holder = self.hold_lock(4.5, worker={"job": "trials"}, then={"job": "trials", "exit": 0})
        out = self.ok("run-trial", "--all", "--wait", "4")  # busy after 4 s; the grace (1 s) covers the rest
        self.assertNotIn("running", out)
        self.assertEqual(out["trials_done"], 1, out)
        holder.wait(timeout=10)

    def test_a_worker_whose_guard_result_is_recorded_is_waited_for_by_decide(self):
        """decide's form of that window: the guard command's result is in
        current.json, the worker has yet to record its exit."""
        self.init("--guard-command", f"{PY} -c \"import time; time.sleep(1)\"")
        self.iteration("baseline")
        self.write("work.py", "N = 900\n")
        self.ok("run-trial", "--all")
        self.assertEqual(self.ok("decide", "--description", "smaller", "--wait", "0")["running"], "guard")
        self.wait_for(lambda: "exit" in self.worker_info())
        holder = self.hold_lock(4.5, worker={"job": "guard"}, then={"job": "guard", "exit": 0})
        out = self.ok("decide", "--description", "smaller", "--wait", "4")
        self.assertEqual(out.get("decision"), "improve", out)
        self.assertTrue(self.results()[-1]["guard"]["passed"])
        holder.wait(timeout=10)

    def test_decide_during_a_measurement_is_refused_at_once(self):
        self.slow_bench(2)
        self.init("--calibration-runs", "2")
        self.ok("run-trial", "--all", "--wait", "0")
        t0 = time.monotonic()
        res = self.cli("decide", "--description", "baseline")
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertEqual(res.code, 2)
        self.assertIn("wait for it with ratchet.py run-trial --all", res.stderr)

    def sigterm_or_sigkill(self, sig):
        self.slow_bench(30, "os.environ['RATCHET_TRIAL'] == '2' and not os.path.exists('ignored/once')"
                            " and not open('ignored/once', 'w').close()")
        (self.repo / "ignored").mkdir()
        self.init("--calibration-runs", "3")
        self.ok("run-trial", "--all", "--wait", "0")
        self.wait_for(lambda: processes_with(f"sleep {self.marker}"))
        pid = self.worker_info()["pid"]
        os.kill(pid, sig)
        self.wait_for(lambda: not processes_with(f"sleep {self.marker}"), timeout=10)
        self.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                      Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", timeout=10)
        out = self.finish()
        self.assertEqual([t["trial"] for t in out["trials"]], [1, 2, 3])  # the interrupted one ran again, once
        return out

    def test_sigterm_to_the_worker_ends_its_trial_and_the_trial_runs_again(self):
        self.sigterm_or_sigkill(signal.SIGTERM)
        self.assertEqual(self.worker_info()["exit"], 0)

    def test_sigkill_of_the_worker_kills_the_benchmark_and_is_noticed(self):
        out = self.sigterm_or_sigkill(signal.SIGKILL)
        self.assertIn("had died", out["recovered"])

    def test_stop_ends_the_measurement_restores_the_best_and_saves_the_change(self):
        self.slow_bench(30, "os.path.exists('ignored/slow')")
        self.init("--calibration-runs", "2")
        self.iteration("baseline")
        self.write("ignored/slow", "")
        head = git(self.repo, "rev-parse", "HEAD")
        self.write("work.py", "N = 10\n")
        self.ok("run-trial", "--all", "--wait", "0")
        self.wait_for(lambda: processes_with(f"sleep {self.marker}"))
        out = self.ok("stop")
        self.assertEqual((out["stopped"], out["reason"], out["measurement_stopped"]), (True, "user_stopped", True))
        self.assertEqual(processes_with(f"sleep {self.marker}"), [])
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertIn("N = 10", git(self.repo, "show", f"{out['saved']['ref']}:work.py"))
        self.assertTrue((self.repo / out["saved"]["patch"]).is_file())
        st = self.ok("status")
        self.assertEqual(st["stop"], {"stopped": True, "reason": "user_stopped"})
        res = self.cli("run-trial", "--all")
        self.assertEqual(res.code, 2)
        self.assertIn("user_stopped", res.stderr)
        self.assertEqual(self.ok("stop")["already_stopped"], True)
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), head)


class Budget(RepoTestCase):
    def test_a_run_stops_as_budget_exhausted_with_its_total_measured(self):
        self.write("bench.py", "import random, time, work\ntime.sleep(0.05)\n"
                               "print('score:', work.N + random.gauss(0, 1))\n")
        git(self.repo, "commit", "-qam", "noisy bench")
        self.init("--calibration-runs", "6", "--confirm-pairs", "2", "--budget", "4s", "--max-pairs", "4")
        self.iteration("baseline")
        stop, n = {"stopped": False}, 1
        while not stop["stopped"] and n < 30:
            self.write("work.py", f"N = {1000 - 50 * n}\n")
            out = self.iteration(f"smaller {n}")
            stop, n = out["stop"], n + 1
        self.assertEqual(stop["reason"], "budget_exhausted")
        last = self.results()[-1]
        self.assertIn("confirmation", last)
        self.assertIn("gain", last["confirmation"])
        st = self.ok("status")
        self.assertEqual(st["budget"]["seconds"], 4.0)
        self.assertGreater(st["budget"]["elapsed_s"], 0)

    def test_bad_budgets_are_refused(self):
        for bad in ("soon", "0", "-5m", "8x", "h"):
            res = self.cli("init", "--run-command", "true", "--direction", "min", "--metric-name", "score",
                           "--report-source", "stdout", "--budget", bad)
            self.assertEqual(res.code, 2, bad)
            self.assertIn("--budget", res.stderr)
            self.assertFalse((self.repo / ".ratchet").exists())


class BudgetArithmetic(unittest.TestCase):
    def test_durations(self):
        self.assertEqual(budget.parse_duration("8h"), 28800)
        self.assertEqual(budget.parse_duration("1h30m"), 5400)
        self.assertEqual(budget.parse_duration("90m"), 5400)
        self.assertEqual(budget.parse_duration("45"), 45)
        self.assertEqual(budget.parse_duration(" 2d "), 172800)
        for bad in ("", "h", "8x", "1h foo", "nan"):
            self.assertIsNone(budget.parse_duration(bad), bad)
        self.assertEqual(budget.text(3725), "1h02m")
        self.assertEqual(budget.text(192), "3m12s")

    def test_calibration_takes_a_tenth_of_the_budget_at_most(self):
        self.assertEqual(budget.calibration_runs(None, 30, [5.0]), 30)
        self.assertEqual(budget.calibration_runs(3600, 30, [5.0]), 30)    # 150 s < 360 s
        self.assertEqual(budget.calibration_runs(600, 30, [5.0]), 12)     # 60 s / 5 s
        self.assertEqual(budget.calibration_runs(60, 30, [5.0]), 5)       # never below the determinism probe
        self.assertEqual(budget.calibration_runs(60, 3, [5.0]), 3)

    def test_an_iteration_starts_only_when_it_and_the_confirmation_fit(self):
        cost = budget.iteration_estimate(300.0, 3, 0.0, 0, None)
        self.assertEqual(cost, 100.0)
        reserve = budget.confirmation_reserve(True, 16, 50.0, 10)
        self.assertEqual(reserve, 160.0)
        self.assertFalse(budget.exhausted(1000, 700, cost, reserve))
        self.assertTrue(budget.exhausted(1000, 760, cost, reserve))
        self.assertFalse(budget.exhausted(None, 10**9, cost, reserve))
        self.assertEqual(budget.confirmation_reserve(False, 16, 50.0, 10), 0.0)
        self.assertEqual(budget.iteration_estimate(0.0, 0, 50.0, 10, 100), 250.0)  # half the cap at 5 s a trial


class WaitBound(unittest.TestCase):
    def test_the_bound_stays_below_the_client_timeout(self):
        self.assertEqual(waiting.bound(None, None), 90.0)
        self.assertEqual(waiting.bound(None, "120000"), 89.0)
        self.assertEqual(waiting.bound(None, "600000"), 90.0)
        self.assertEqual(waiting.bound(None, "3000"), 1.25)
        self.assertEqual(waiting.bound(None, "100"), 0.5)
        self.assertEqual(waiting.bound(None, "junk"), 90.0)
        self.assertEqual(waiting.bound(7, "3000"), 7)

    def test_eta_is_the_mean_trial_time_the_trials_left(self):
        self.assertIsNone(waiting.eta([], 0, 10))
        self.assertEqual(waiting.eta([2.0, 4.0], 2, 10), 24.0)
        self.assertEqual(waiting.eta([2.0], 12, 10), 0.0)


if __name__ == "__main__":
    unittest.main()
