"""`ratchet.py loop` with the real Claude Code CLI as its agent, against the scripted
model (tests/fake_model.py): each iteration is a fresh `claude -p` (its own session),
the telemetry in results.jsonl is the usage the scripted server served, the cost cap
stops the run, an agent that runs `git commit` is caught and put back, and an agent
hanging past --agent-timeout is killed with the commands it started (which the CLI runs
in sessions of their own), leaving no process behind.

Skipped without `claude` on PATH (RATCHET_REQUIRE_CLAUDE=1 makes that a failure), like
tests/test_claude_cli.py, whose clean-environment rules these tests follow."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from shell import agent
from tests.fake_model import FakeModel, all_text, bash, tool_use
from tests.support import RATCHET, processes_in

CLAUDE = shutil.which("claude")
if not CLAUDE and os.environ.get("RATCHET_REQUIRE_CLAUDE") == "1":
    raise RuntimeError("RATCHET_REQUIRE_CLAUDE=1 but no `claude` on PATH")
USAGE_PER_REQUEST = (10, 10)  # fake_model: input 10 at message_start, output 10 at message_delta


def iteration_of(body) -> int:
    m = re.search(r"ratchet optimization run \(iteration (\d+)\)", all_text(body))
    assert m, "not a loop prompt:\n" + all_text(body)[:1000]
    return int(m.group(1))


@unittest.skipUnless(CLAUDE, "claude CLI not on PATH: real-client tests skipped (see docs/testing.md)")
class ClaudeLoop(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="ratchet-loop-e2e-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = self.tmp / "home"
        self.home.mkdir()
        (self.home / ".gitconfig").write_text("[user]\n\tname = Ratchet Test\n\temail = t@example.invalid\n"
                                              "[init]\n\tdefaultBranch = main\n")
        self.repo = self.tmp / "project"
        self.repo.mkdir()
        (self.repo / "work.py").write_text("N = 1000\n")
        (self.repo / "bench.py").write_text("import work\nprint('score:', work.N)\n")
        (self.repo / ".gitignore").write_text("__pycache__/\n")
        self.git("init", "-q")
        self.git("add", "-A")
        self.git("commit", "-qm", "start")
        self.start = self.git("rev-parse", "HEAD")

    def env(self, base_url: str) -> dict:
        path = os.pathsep.join([os.path.dirname(sys.executable), os.path.dirname(CLAUDE), "/usr/bin", "/bin"])
        return {"PATH": path, "HOME": str(self.home), "ANTHROPIC_BASE_URL": base_url,
                "ANTHROPIC_API_KEY": "sk-ant-fake-key-for-tests", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                "CLAUDE_CODE_MAX_RETRIES": "0"}

    def git(self, *args) -> str:
        return subprocess.run(["git", *args], cwd=self.repo, env=self.env("http://127.0.0.1:9"), check=True,
                              capture_output=True, text=True).stdout.strip()

    def loop(self, plan: dict, *extra: str, main_tool: str = "Edit"):
        """`ratchet.py loop` (default agent command unless `extra` gives one) against a
        fake model playing plan[iteration][turn]; returns (fake, proc, records)."""
        def script(body):
            it = iteration_of(body)
            step = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
            return plan[it][step](body)

        with FakeModel(script, main_tool=main_tool) as fake:
            proc = subprocess.run(
                [sys.executable, str(RATCHET), "loop", "--run-command", f"{sys.executable} bench.py",
                 "--direction", "min", "--metric-name", "score", "--report-source", "stdout",
                 "--calibration-runs", "2", *extra],
                cwd=self.repo, env=self.env(fake.base_url), stdin=subprocess.DEVNULL, capture_output=True,
                text=True, timeout=300)
        self.assertEqual(fake.errors, [], "\n".join(fake.errors) + "\n" + fake.report())
        path = self.repo / ".ratchet" / "results.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return fake, proc, records

    def edit(self, old: str, new: str, name: str = "work.py"):
        return lambda body: tool_use("Edit", file_path=str(self.repo / name), old_string=old, new_string=new)

    @staticmethod
    def answer(description: str):
        return lambda body: f"Done.\n\nHYPOTHESIS: fewer steps\nDESCRIPTION: {description}\n"

    def test_three_fresh_sessions_keep_revert_crash_with_the_served_usage_as_telemetry(self):
        plan = {1: [self.edit("N = 1000", "N = 900"), self.answer("N 900")],
                2: [self.edit("N = 900", "N = 950"), self.answer("N 950")],
                3: [self.edit("N = 900", "N = undefined_name"), self.answer("break it")]}
        fake, proc, records = self.loop(plan, "--iterations", "3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([r["decision"] for r in records], ["baseline", "improve", "regress", "crash"])
        sessions = {}
        for r in fake.main_requests:
            sessions.setdefault(r["headers"].get("x-claude-code-session-id"), []).append(r)
        self.assertEqual(len(sessions), 3, "each iteration must be a fresh claude -p session")
        for rec in records[1:]:
            tel = rec["agent"]
            served = sessions[tel["session_id"]]  # the record's session is one the server saw
            self.assertEqual((tel["input_tokens"], tel["output_tokens"]),
                             (USAGE_PER_REQUEST[0] * len(served), USAGE_PER_REQUEST[1] * len(served)))
            self.assertEqual(tel["turns"], len(served))
            self.assertGreater(tel["cost_usd"], 0)
        self.assertEqual(len({r["agent"]["session_id"] for r in records[1:]}), 3)
        status = json.loads(subprocess.run([sys.executable, str(RATCHET), "status"], cwd=self.repo,
                                           env=self.env("http://127.0.0.1:9"), capture_output=True,
                                           text=True).stdout)
        self.assertEqual(status["agent"]["input_tokens"], sum(r["agent"]["input_tokens"] for r in records[1:]))
        self.assertEqual(status["agent"]["runs"], 3)

    def test_cost_cap_stops_after_the_spend_is_known(self):
        plan = {1: [self.edit("N = 1000", "N = 900"), self.answer("N 900")]}
        fake, proc, records = self.loop(plan, "--iterations", "5", "--max-cost-usd", "0.0000001")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["reason"], "cost_budget_exhausted")
        self.assertEqual(len(records), 2)  # the baseline and one agent run: its cost alone passes the cap

    def test_protected_file_edit_is_denied_by_the_default_permissions(self):
        plan = {1: [self.edit("work.N", "1", "bench.py"), self.edit("N = 1000", "N = 900"), self.answer("N 900")]}
        fake, proc, records = self.loop(plan, "--iterations", "1", "--protect", "bench.py")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(records[1]["decision"], "improve")
        self.assertEqual(records[1]["agent"]["permission_denials"], 1)
        self.assertIn("work.N", (self.repo / "bench.py").read_text())

    def test_the_editable_set_is_in_the_prompt_and_edits_outside_it_are_denied(self):
        plan = {1: [self.edit("work.N", "1", "bench.py"), self.edit("N = 1000", "N = 900"), self.answer("N 900")]}
        fake, proc, records = self.loop(plan, "--iterations", "1", "--editable", "work.py",
                                        "--constraint", "errors<=0", "--run-command",
                                        f"{sys.executable} bench.py && echo errors: 0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(records[1]["decision"], "improve", records[1]["reason"])
        self.assertEqual(records[1]["agent"]["permission_denials"], 1, "bench.py is outside --editable")
        self.assertIn("work.N", (self.repo / "bench.py").read_text())
        prompt = all_text(fake.main_requests[0]["body"])
        self.assertIn("Editable files (a change to any other file", prompt)
        self.assertIn(": work.py", prompt)
        self.assertIn("Constraints (side metrics from the same report that must not get worse", prompt)
        self.assertIn("errors<=0", prompt)

    def test_agent_running_git_commit_is_caught_and_put_back(self):
        command = agent.default_command().replace("Read,Edit,Write,Glob,Grep", "Read,Edit,Bash") \
            .replace("--disallowedTools Bash ", "--disallowedTools ")
        plan = {1: [self.edit("N = 1000", "N = 900"),
                    lambda body: bash("git add -A && git commit -qm 'my own commit'", "commit"),
                    self.answer("N 900, committed")]}
        fake, proc, records = self.loop(plan, "--iterations", "1", "--agent-command", command, main_tool="Bash")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(records[1]["decision"], "agent_used_git", records[1])
        self.assertEqual(self.git("rev-parse", "HEAD"), self.start)
        self.assertEqual(self.git("status", "--porcelain"), "")
        self.assertEqual((self.repo / "work.py").read_text(), "N = 1000\n")

    def test_agent_hanging_past_the_timeout_is_killed_with_its_commands(self):
        command = agent.default_command().replace("Read,Edit,Write,Glob,Grep", "Read,Edit,Bash") \
            .replace("--disallowedTools Bash ", "--disallowedTools ")
        plan = {1: [lambda body: bash("python3 -c 'import time; time.sleep(600)'", "hang")]}
        t0 = time.monotonic()
        fake, proc, records = self.loop(plan, "--iterations", "1", "--agent-timeout", "8", "--agent-command",
                                        command, main_tool="Bash")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertLess(time.monotonic() - t0, 120)
        self.assertEqual(records[1]["decision"], "agent_failed")
        self.assertIn("timed out after 8 s", records[1]["reason"])
        self.assertEqual(processes_in(self.repo), [], "the agent's command outlived the timeout")


if __name__ == "__main__":
    unittest.main()
