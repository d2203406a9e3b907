"""`ratchet.py loop` end to end with a scripted stand-in for the agent (no Claude):
every agent outcome has its record, telemetry reaches the record and `status`, the cost
cap and the agent-failure budget stop the run, a hanging agent is killed with its
children, a second loop is refused, a stopped run says so, SIGTERM stops cleanly and a
re-run resumes."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.support import GIT_ENV, RATCHET, RepoTestCase, git, processes_in

AGENT = textwrap.dedent('''
    """Scripted agent: plays plan[RATCHET_ITERATION] from the plan file in argv[1]."""
    import json, os, subprocess, sys, time
    plan = json.load(open(sys.argv[1]))
    step = plan.get(os.environ["RATCHET_ITERATION"], plan.get("default", {}))
    prompt = sys.stdin.read()
    with open(sys.argv[1] + ".prompts", "a") as fh:
        fh.write(json.dumps({"iter": os.environ["RATCHET_ITERATION"], "prompt": prompt,
                             "file": open(os.environ["RATCHET_PROMPT_FILE"]).read() == prompt}) + "\\n")
    for name, text in step.get("edit", {}).items():
        open(name, "w").write(text)
    if step.get("git"):
        subprocess.run(step["git"], shell=True, check=True)
    if step.get("child"):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    if step.get("sleep"):
        time.sleep(step["sleep"])
    answer = step.get("answer", "HYPOTHESIS: smaller N is faster\\nDESCRIPTION: lower N")
    if "cost" in step:
        print(json.dumps({"type": "system", "subtype": "init", "session_id": "s"}))
        print(json.dumps({"type": "result", "subtype": "success", "is_error": False, "num_turns": 3,
                          "duration_ms": 1200, "result": answer, "session_id": "sess-" + os.environ["RATCHET_ITERATION"],
                          "total_cost_usd": step["cost"], "permission_denials": step.get("denials", []),
                          "usage": {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 5,
                                    "cache_creation_input_tokens": 3}}))
    else:
        print(answer)
    sys.exit(step.get("exit", 0))
''')


class LoopTestCase(RepoTestCase):
    def setUp(self):
        super().setUp()
        self.agent = self.tmp / "agent.py"
        self.agent.write_text(AGENT)
        self.plan = self.tmp / "plan.json"

    def loop(self, plan: dict, *extra: str, init: bool = True, timeout: float = 120):
        self.plan.write_text(json.dumps(plan))
        args = ["loop", "--agent-command", f"{sys.executable} {self.agent} {self.plan}", *extra]
        if init:
            args += ["--run-command", f"{sys.executable} bench.py", "--direction", "min", "--metric-name", "score",
                     "--report-source", "stdout", "--calibration-runs", "2"]
        proc = subprocess.run([sys.executable, str(RATCHET), *args], cwd=self.repo, capture_output=True, text=True,
                              env={**os.environ, **GIT_ENV}, stdin=subprocess.DEVNULL, timeout=timeout)
        return proc

    def decisions(self) -> list[str]:
        return [r["decision"] for r in self.results()]

    def prompts(self) -> list[dict]:
        return [json.loads(line) for line in Path(str(self.plan) + ".prompts").read_text().splitlines()]


class Outcomes(LoopTestCase):
    def test_keep_revert_no_edit_failure_and_malformed_each_get_a_record(self):
        plan = {"1": {"edit": {"work.py": "N = 900\n"}},
                "2": {"edit": {"work.py": "N = 950\n"}},
                "3": {},
                "4": {"edit": {"work.py": "N = 1\n"}, "exit": 3},
                "5": {"edit": {"work.py": "N = 1\n"}, "answer": "I made it faster."},
                "6": {"edit": {"work.py": "N = 800\n"}}}
        proc = self.loop(plan, "--iterations", "6")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.decisions(), ["baseline", "improve", "regress", "agent_no_edit", "agent_failed",
                                            "agent_failed", "improve"])
        recs = self.results()
        self.assertEqual(recs[4]["reason"], "the agent exited with code 3")
        self.assertTrue(recs[5]["reason"].startswith("malformed answer: "))
        self.assertTrue(recs[4]["attempt_ref"].endswith("iter-0004"))  # the failed agent's edit is saved
        self.assertEqual(self.read("work.py"), "N = 800\n")
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")
        out = json.loads(proc.stdout)
        self.assertEqual((out["stopped"], out["reason"], out["iterations"]), (True, "iterations_exhausted", 6))
        self.assertIn("ratchet loop: iter 1: improve", proc.stderr)
        prompts = self.prompts()
        self.assertEqual(len(prompts), 6)
        self.assertTrue(all(p["file"] for p in prompts))
        self.assertIn("iter 2: regress", prompts[2]["prompt"])  # the history reaches the next agent

    def test_telemetry_is_recorded_and_totalled_in_status(self):
        denial = [{"tool_name": "Bash", "tool_use_id": "t", "tool_input": {"command": "python3 bench.py"}}]
        plan = {"1": {"edit": {"work.py": "N = 900\n"}, "cost": 0.25, "denials": denial},
                "2": {"edit": {"work.py": "N = 800\n"}, "cost": 0.5}}
        proc = self.loop(plan, "--iterations", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rec = self.results()[1]["agent"]
        self.assertEqual((rec["input_tokens"], rec["output_tokens"], rec["cache_read_tokens"],
                          rec["cache_creation_tokens"], rec["cost_usd"], rec["turns"], rec["session_id"],
                          rec["permission_denials"]), (11, 7, 5, 3, 0.25, 3, "sess-1", 1))
        st = self.ok("status")["agent"]
        self.assertEqual((st["runs"], st["cost_usd"], st["input_tokens"], st["permission_denials"]), (2, 0.75, 22, 1))
        text = self.cli("status", "--format", "text").stdout
        self.assertIn("agent: 2 runs, $0.7500", text)
        self.assertIn("permission denied: Bash (python3 bench.py)", self.prompts()[1]["prompt"])

    def test_agent_that_commits_itself_is_put_back_and_recorded(self):
        plan = {"1": {"edit": {"work.py": "N = 900\n"},
                      "git": "git add -A && git -c user.name=a -c user.email=a@b commit -qm mine"}}
        proc = self.loop(plan, "--iterations", "1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rec = self.results()[1]
        self.assertEqual(rec["decision"], "agent_used_git")
        self.assertIn("HEAD at", rec["agent_git"])
        branch = self.ok("status")["branch"]
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.start)
        self.assertEqual(git(self.repo, "symbolic-ref", "--short", "HEAD"), branch)
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertIn("N = 900", git(self.repo, "show", rec["attempt_ref"] + ":work.py"))

    def test_protected_file_touched_by_the_agent_is_an_integrity_violation(self):
        plan = {"1": {"edit": {"bench.py": "print('score: 1')\n"}}}
        proc = self.loop(plan, "--iterations", "1", "--protect", "bench.py")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.decisions(), ["baseline", "integrity_violation"])
        self.assertNotIn("score: 1", self.read("bench.py"))

    def test_ideas_are_kept_shown_and_marked_tried_with_their_outcome(self):
        plan = {"1": {"edit": {"work.py": "N = 900\n"},
                      "answer": "HYPOTHESIS: h\nDESCRIPTION: lower N\nIDEAS:\n- try N = 10\n- unroll"},
                "2": {"edit": {"work.py": "N = 10\n"}, "answer": "HYPOTHESIS: h\nDESCRIPTION: N = 10\nIDEA_TRIED: 1"},
                "3": {"edit": {"work.py": "N = 5\n"}}}
        proc = self.loop(plan, "--iterations", "3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        prompts = self.prompts()
        self.assertIn("open #1: try N = 10", prompts[1]["prompt"])
        self.assertIn("tried #1 in iter 2: improve", prompts[2]["prompt"])
        self.assertIn("open #2: unroll", prompts[2]["prompt"])


class Stops(LoopTestCase):
    def test_cost_cap_stops_before_an_iteration_that_would_pass_it(self):
        plan = {"default": {"edit": {"work.py": "N = 1\n"}, "cost": 0.4},
                "1": {"edit": {"work.py": "N = 900\n"}, "cost": 0.4},
                "2": {"edit": {"work.py": "N = 800\n"}, "cost": 0.4}}
        proc = self.loop(plan, "--iterations", "10", "--max-cost-usd", "1.0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(self.results()), 3)  # 0.8 spent + 0.4 expected > 1.0: no third agent
        self.assertEqual(json.loads(proc.stdout)["reason"], "cost_budget_exhausted")
        self.assertEqual(self.ok("status")["stop"], {"stopped": True, "reason": "cost_budget_exhausted"})
        self.assertIn("stopped: cost_budget_exhausted", self.cli("status", "--format", "text").stdout)

    def test_consecutive_agent_failures_stop_the_run(self):
        proc = self.loop({"default": {"exit": 1}}, "--iterations", "10", "--max-agent-failures", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.decisions(), ["baseline", "agent_failed", "agent_failed"])
        self.assertEqual(json.loads(proc.stdout)["reason"], "agent_failures_exhausted")

    def test_hanging_agent_is_killed_with_its_children_at_the_timeout(self):
        plan = {"1": {"edit": {"work.py": "N = 900\n"}, "child": True, "sleep": 600}}
        t0 = time.monotonic()
        proc = self.loop(plan, "--iterations", "1", "--agent-timeout", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertLess(time.monotonic() - t0, 60)
        rec = self.results()[1]
        self.assertEqual(rec["decision"], "agent_failed")
        self.assertIn("timed out after 2 s", rec["reason"])
        self.assertTrue(rec["agent"]["timed_out"])
        self.assertEqual(processes_in(self.repo), [], "the agent or its child outlived the timeout")

    def test_plateau_stops_a_loop_run_by_default(self):
        proc = self.loop({"default": {}}, "--iterations", "50", "--max-agent-failures", "99",
                         "--pivot-after", "2", "--refine-after", "1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["reason"], "plateau")
        self.assertEqual(self.decisions()[1:], ["agent_no_edit"] * 6)  # 3 pivots of 2 misses

    def test_loop_on_a_stopped_run_says_so_and_exits_0(self):
        self.loop({"default": {}}, "--iterations", "1")
        proc = self.loop({}, init=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertEqual((out["already_stopped"], out["reason"]), (True, "iterations_exhausted"))
        self.assertEqual(len(self.results()), 2)


class Refusals(LoopTestCase):
    def assert_refused(self, proc, text: str):
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertIn(text, proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_second_loop_on_the_same_repository_is_refused_in_one_line(self):
        self.init()
        fd = os.open(self.repo / ".git" / "ratchet-loop.lock", os.O_RDWR | os.O_CREAT)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"4242")
        self.assert_refused(self.loop({}, init=False), "another ratchet.py loop (pid 4242) is driving the run")

    def test_default_agent_without_claude_on_path_is_refused(self):
        proc = subprocess.run([sys.executable, str(RATCHET), "loop", "--run-command", "true", "--direction", "min",
                               "--metric-name", "m", "--report-source", "stdout"], cwd=self.repo,
                              env={**GIT_ENV, "PATH": str(self.tmp), "HOME": str(self.tmp)}, capture_output=True,
                              text=True, timeout=60)
        self.assert_refused(proc, "`claude` is not on PATH")
        self.assertFalse((self.repo / ".ratchet").exists())

    def test_critic_is_refused_with_the_reason(self):
        self.assert_refused(self.loop({}, "--critic"), "loop does not run critic mode")
        self.assertFalse((self.repo / ".ratchet" / "config.json").exists())

    def test_bad_values_and_a_missing_run_are_refused_and_write_nothing(self):
        for extra, text in ((["--agent-timeout", "0"], "--agent-timeout must be above 0"),
                            (["--max-cost-usd", "x"], "--max-cost-usd must be a number"),
                            (["--max-agent-failures", "1.5"], "--max-agent-failures must be a whole number")):
            with self.subTest(extra=extra):
                self.assert_refused(self.loop({}, *extra), text)
        self.assert_refused(self.loop({}, init=False), "no ratchet run in this repository")
        self.assert_refused(self.loop({}, "--run-command", "true", "--direction", "sideways", "--metric-name", "m",
                                      "--report-source", "stdout", init=False), "--direction must be min or max")
        self.assertFalse((self.repo / ".ratchet").exists())
        self.assertEqual(git(self.repo, "status", "--porcelain", "--ignored"), "")


class Interrupts(LoopTestCase):
    def signal_when(self, marker: Path, signum: int, plan: dict, *flags: str) -> tuple[str, str]:
        """Start a loop playing `plan` with `flags`, send `signum` once `marker`
        exists; it must exit 130 leaving no process behind. (stdout, stderr)."""
        proc = self.started(marker, plan, *flags)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, err)
        self.assertEqual(processes_in(self.repo), [], "a process outlived the loop")
        return out, err

    def started(self, marker: Path, plan: dict, *flags: str) -> subprocess.Popen:
        """A loop playing `plan` with `flags`, once `marker` exists."""
        self.plan.write_text(json.dumps(plan))
        args = ["loop", "--agent-command", f"{sys.executable} {self.agent} {self.plan}", *flags,
                "--run-command", f"{sys.executable} bench.py", "--direction", "min", "--metric-name", "score",
                "--report-source", "stdout", "--calibration-runs", "2"]
        proc = subprocess.Popen([sys.executable, str(RATCHET), *args], cwd=self.repo, env={**os.environ, **GIT_ENV},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(marker.exists())
        return proc

    def test_sigterm_stops_agent_and_loop_cleanly_and_a_rerun_resumes(self):
        marker = self.tmp / "agent-started"
        plan = {"1": {"edit": {"work.py": "N = 900\n"}, "git": f"touch {marker}", "child": True, "sleep": 600},
                "default": {"edit": {"work.py": "N = 800\n"}}}
        out, _ = self.signal_when(marker, signal.SIGTERM, plan, "--iterations", "2")
        self.assertEqual(json.loads(out)["interrupted"], "SIGTERM")
        self.assertIn('"event": "interrupted"', (self.repo / ".ratchet" / "loop.jsonl").read_text())
        plan["1"] = plan["default"]
        again = self.loop(plan, init=False)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(self.decisions(), ["baseline", "agent_failed", "improve"])
        self.assertIn("interrupted while the agent worked", self.results()[1]["reason"])


    def interrupted_after_one_keep(self) -> None:
        """A loop with --max-cost-usd 1.5 whose first agent run kept a change at $0.6,
        stopped by SIGTERM while its second agent run works."""
        marker = self.tmp / "agent-started"
        plan = {"1": {"edit": {"work.py": "N = 900\n"}, "cost": 0.6},
                "2": {"edit": {"work.py": "N = 800\n"}, "git": f"touch {marker}", "sleep": 600},
                "default": {"edit": {"work.py": "N = 700\n"}, "cost": 0.6}}
        self.signal_when(marker, signal.SIGTERM, plan, "--max-cost-usd", "1.5", "--agent-timeout", "300",
                         "--iterations", "5")

    def resume(self, *flags: str) -> subprocess.CompletedProcess:
        """`loop` again, with only `flags` (no claude on PATH: the stored agent command must be used)."""
        return subprocess.run([sys.executable, str(RATCHET), "loop", *flags], cwd=self.repo, capture_output=True,
                              text=True, env={**os.environ, **GIT_ENV, "PATH": "/usr/bin:/bin"},
                              stdin=subprocess.DEVNULL, timeout=120)

    def test_a_resumed_loop_keeps_its_agent_command_and_cost_cap(self):
        self.interrupted_after_one_keep()
        again = self.resume()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(json.loads(again.stdout)["reason"], "cost_budget_exhausted")
        self.assertEqual(self.decisions(), ["baseline", "improve", "agent_failed", "improve"],
                         "0.6 + 0.6 spent: a third agent run at 0.6 on average would pass the stored 1.5")
        stored = json.loads((self.repo / ".ratchet" / "loop.json").read_text())
        self.assertEqual((stored["max_cost_usd"], stored["agent_timeout"]), ("1.5", "300"))

    def test_a_loop_flag_given_again_on_resume_overrides_the_stored_one(self):
        self.interrupted_after_one_keep()
        again = self.resume("--max-cost-usd", "5")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(json.loads(again.stdout)["reason"], "iterations_exhausted")
        self.assertEqual(len(self.decisions()), 6)
        stored = json.loads((self.repo / ".ratchet" / "loop.json").read_text())
        self.assertEqual((stored["max_cost_usd"], stored["agent_timeout"]), ("5", "300"))

    def test_sigterm_during_the_measurement_stops_the_benchmark_and_a_rerun_finishes_the_iteration(self):
        flag, marker = self.tmp / "slow", self.tmp / "measuring"
        flag.touch()
        slow = (f"import os, time\nif os.path.exists({str(flag)!r}):\n    open({str(marker)!r}, 'w').close()\n"
                f"    time.sleep(600)\nN = 900\n")
        self.signal_when(marker, signal.SIGINT, {"1": {"edit": {"work.py": slow}}}, "--iterations", "1")
        flag.unlink()
        again = self.loop({}, init=False)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(self.decisions(), ["baseline", "improve"])
        self.assertEqual(len(self.prompts()), 1)  # the agent's change was measured, not made again


    def test_ratchet_stop_while_the_agent_works_ends_the_loop_with_the_tree_restored(self):
        marker = self.tmp / "agent-started"
        proc = self.started(marker, {"1": {"edit": {"work.py": "N = 900\n"}, "git": f"touch {marker}", "sleep": 3}},
                            "--iterations", "3")
        self.assertEqual(self.ok("stop")["reason"], "user_stopped")
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(json.loads(out)["reason"], "user_stopped")
        self.assertEqual(self.decisions(), ["baseline"])
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")


class InteractiveEscalation(LoopTestCase):
    def test_status_and_next_carry_the_directive_after_three_misses(self):
        self.init()
        self.iteration("baseline")
        for n in (1001, 1002, 1003):
            self.write("work.py", f"N = {n}\n")
            out = self.iteration(f"N = {n}")
        self.assertIn("Escalation: 3 iterations in a row without a keep: refine", out["next"])
        st = self.ok("status")
        self.assertEqual((st["escalation"]["level"], st["escalation"]["misses"]), ("refine", 3))
        self.assertIn("escalation: refine", self.cli("status", "--format", "text").stdout)


if __name__ == "__main__":
    import unittest
    unittest.main()
