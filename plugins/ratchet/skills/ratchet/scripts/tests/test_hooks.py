"""The plugin's hooks without the client: the session claim ratchet.py
records, the Stop hook and the SessionStart hook, run as Claude Code runs
them (a subprocess fed the hook's JSON on stdin) against temporary
repositories whose runs are made through the real CLI.

Every branch: no run, a run claimed by another session or by none, a
stopped run, a stop the user requested, errors (fail open), block, the loop
guard after 5 blocks and its reset by a ratchet command; the reminder after
compact / resume and silence after startup; and the cost where there is no
run (nothing of ratchet imported).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from core import stopguard
from core.stopguard import StopFacts, judge
from tests.support import GIT_ENV, RATCHET, SCRIPTS, RepoTestCase, Result
from views import hooks as view

PLUGIN = SCRIPTS.parents[2]
HOOKS = PLUGIN / "hooks"
SKILL_DIR = PLUGIN / "skills" / "ratchet"
SID = "11111111-2222-3333-4444-555555555555"
OTHER = "99999999-8888-7777-6666-555555555555"


def hook_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_CODE_SESSION_ID"}
    return {**env, **GIT_ENV, **extra}


def run_hook(name: str, payload, cwd: Path, isolated: bool = False, importtime: bool = False,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """hooks/NAME.py as Claude Code runs it: JSON on stdin, the session's cwd."""
    flags = (["-I"] if isolated else []) + (["-X", "importtime"] if importtime else [])
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return subprocess.run([sys.executable, *flags, str(HOOKS / f"{name}.py")], input=data, text=True,
                          capture_output=True, cwd=str(cwd), env=env or hook_env(), timeout=60)


class HookTestCase(RepoTestCase):
    def session_cli(self, session, *args: str) -> Result:
        """ratchet.py ARGS as the Bash tool of session SESSION runs it (None: outside Claude Code)."""
        env = hook_env(**({"CLAUDE_CODE_SESSION_ID": session} if session else {}))
        proc = subprocess.run([sys.executable, str(RATCHET), *args], cwd=str(self.repo), capture_output=True,
                              text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
        return Result(proc)

    def sok(self, session, *args: str) -> dict:
        res = self.session_cli(session, *args)
        self.assertEqual(res.code, 0, f"{args} failed: {res.stderr}")
        return res.json

    def start_run(self, session=SID, *extra: str) -> dict:
        """init + baseline through the CLI, run from SESSION."""
        out = self.sok(session, "init", "--run-command", f"{sys.executable} bench.py", "--direction", "min",
                       "--metric-name", "score", "--report-source", "stdout", "--calibration-runs", "2",
                       "--iterations", "2", *extra)
        self.sok(session, "run-trial", "--all")
        self.sok(session, "decide", "--description", "baseline")
        return out

    @property
    def state(self) -> Path:
        return self.repo / ".ratchet"

    def claim(self) -> dict | None:
        path = self.state / "session.json"
        return json.loads(path.read_text()) if path.exists() else None

    def stop_payload(self, session=SID, cwd: Path | None = None, **extra) -> dict:
        return {"session_id": session, "transcript_path": "/nonexistent.jsonl", "cwd": str(cwd or self.repo),
                "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "Done?",
                "background_tasks": [], "permission_mode": "default", **extra}

    def stop_hook(self, session=SID, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
        return run_hook("stop", self.stop_payload(session, cwd), cwd or self.repo, **kw)

    def assert_allowed(self, proc: subprocess.CompletedProcess, failed: bool = False):
        """Exit 0, nothing on stdout; stderr empty, or (`failed`) one fail-open line."""
        self.assertEqual((proc.returncode, proc.stdout), (0, ""), proc.stderr)
        if failed:
            self.assertRegex(proc.stderr, r"^ratchet hook: .*; allowed \(fail open\)\n$")
        elif "import time:" not in proc.stderr:
            self.assertEqual(proc.stderr, "")

    def assert_blocked(self, proc: subprocess.CompletedProcess) -> str:
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 1, proc.stdout)
        out = json.loads(lines[0])
        self.assertEqual(sorted(out), ["decision", "reason"])
        self.assertEqual(out["decision"], "block")
        return out["reason"]

    def session_start(self, source: str, session=SID, cwd: Path | None = None, **kw):
        payload = {"session_id": session, "transcript_path": "/nonexistent.jsonl", "cwd": str(cwd or self.repo),
                   "hook_event_name": "SessionStart", "source": source}
        return run_hook("session_start", payload, cwd or self.repo, **kw)

    def context_of(self, proc: subprocess.CompletedProcess) -> str:
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertEqual(out["hookSpecificOutput"]["hookEventName"], "SessionStart")
        self.assertEqual(sorted(out), ["hookSpecificOutput"])
        return out["hookSpecificOutput"]["additionalContext"]


class HooksJson(unittest.TestCase):
    def test_hooks_json_names_both_scripts(self):
        spec = json.loads((HOOKS / "hooks.json").read_text())["hooks"]
        self.assertEqual(sorted(spec), ["SessionStart", "Stop"])
        self.assertEqual(spec["SessionStart"][0]["matcher"], "compact|resume")
        for event, script in (("Stop", "stop.py"), ("SessionStart", "session_start.py")):
            (hook,) = spec[event][0]["hooks"]
            self.assertEqual(hook["type"], "command")
            self.assertEqual(hook["command"], f'python3 "${{CLAUDE_PLUGIN_ROOT}}/hooks/{script}"')
            self.assertTrue((HOOKS / script).is_file())


class SessionClaim(HookTestCase):
    """ratchet.py records the session that runs it (CLAUDE_CODE_SESSION_ID)."""

    def test_each_command_of_a_session_counts(self):
        init = self.start_run(SID)
        claim = self.claim()
        self.assertEqual((claim["session_id"], claim["run_id"], claim["commands"]), (SID, init["run_id"], 3))
        self.sok(SID, "status")
        self.assertEqual(self.claim()["commands"], 4)
        self.assertEqual(self.session_cli(SID, "decide", "--description", "x").code, 2)  # a failed command counts too
        self.assertEqual(self.claim()["commands"], 5)

    def test_the_claim_moves_to_the_latest_session(self):
        self.start_run(SID)
        self.assert_blocked(self.stop_hook(SID))
        self.sok(OTHER, "status")
        claim = self.claim()
        self.assertEqual((claim["session_id"], claim["commands"]), (OTHER, 1))
        self.assertNotIn("stop_hook", claim, "a new claim starts with a fresh loop guard")

    def test_a_new_run_is_claimed_afresh(self):
        first = self.start_run(SID)
        self.sok(SID, "status")
        second = self.start_run(SID)
        self.assertNotEqual(first["run_id"], second["run_id"])
        self.assertEqual((self.claim()["run_id"], self.claim()["commands"]), (second["run_id"], 3))

    def test_outside_claude_code_nothing_is_recorded(self):
        self.start_run(None)
        self.assertIsNone(self.claim())
        self.assertFalse((self.state / "session.lock").exists())

    def test_no_run_no_ratchet_folder(self):
        res = self.session_cli(SID, "status")
        self.assertEqual(res.code, 2, res.stderr)
        self.assertFalse(self.state.exists())
        outside = Path(tempfile.mkdtemp(prefix="ratchet-nogit-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(outside, ignore_errors=True))
        proc = subprocess.run([sys.executable, str(RATCHET), "status"], cwd=outside, capture_output=True, text=True,
                              env=hook_env(CLAUDE_CODE_SESSION_ID=SID))
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(list(outside.iterdir()), [])

    def test_the_claim_never_fails_a_command(self):
        self.start_run(None)
        (self.state / "session.lock").mkdir()  # the claim cannot take its lock
        expected = self.sok(None, "status")
        self.assertEqual(self.sok(SID, "status"), expected)
        self.assertIsNone(self.claim())
        (self.state / "session.lock").rmdir()
        (self.state / "session.json").write_text("not json")  # an unreadable claim is replaced
        self.sok(SID, "status")
        self.assertEqual((self.claim()["session_id"], self.claim()["commands"]), (SID, 1))

    def test_an_odd_session_id_is_ignored(self):
        self.start_run(None)
        self.sok("x" * 500, "status")
        self.sok("bad\nid", "status")
        self.assertIsNone(self.claim())


class StopHook(HookTestCase):

    def test_blocks_an_end_of_turn_in_the_session_that_drives_the_run(self):
        init = self.start_run(SID)
        reason = self.assert_blocked(self.stop_hook(SID))
        status = f"python3 {SKILL_DIR}/scripts/ratchet.py status"
        self.assertIn(f"`{status}`", reason)
        self.assertTrue((SKILL_DIR / "scripts" / "ratchet.py").is_file())
        self.assertIn(init["run_id"], reason)
        self.assertIn("iteration 1", reason)
        self.assertIn("make ONE change", reason, "the hint from `next`")
        self.assertIn("stop.stopped", reason)
        self.assertIn("/ratchet resume", reason)
        self.assertLess(len(reason), 800, "the reason must stay short")
        self.assertEqual(self.claim()["stop_hook"], {"blocks": 1, "at_commands": 3})

    def test_blocks_from_a_subfolder_and_under_python_isolated_mode(self):
        self.start_run(SID)
        sub = self.repo / "src" / "deep"
        sub.mkdir(parents=True)
        self.assert_blocked(self.stop_hook(SID, cwd=sub))
        self.assert_blocked(self.stop_hook(SID, isolated=True))

    def test_blocks_right_after_init_and_during_the_baseline(self):
        self.sok(SID, "init", "--run-command", f"{sys.executable} bench.py", "--direction", "min",
                 "--metric-name", "score", "--report-source", "stdout", "--calibration-runs", "2")
        reason = self.assert_blocked(self.stop_hook(SID))
        self.assertIn("(baseline)", reason)

    def test_allows_another_session(self):
        self.start_run(SID)
        before = self.claim()
        self.assert_allowed(self.stop_hook(OTHER))
        self.assertEqual(self.claim(), before, "another session's stop changed the claim")

    def test_allows_a_run_no_session_claimed(self):
        self.start_run(None)
        self.assert_allowed(self.stop_hook(SID))
        self.assertIsNone(self.claim())

    def test_allows_a_stopped_run(self):
        self.start_run(SID)
        for n, step in enumerate(("N = 500", "N = 800"), 1):
            self.write("work.py", step + "\n")
            self.sok(SID, "run-trial", "--all")
            out = self.sok(SID, "decide", "--description", f"change {n}")
        self.assertIs(out["stop"]["stopped"], True)
        self.assert_allowed(self.stop_hook(SID))

    def test_allows_after_the_users_stop_command(self):
        self.start_run(SID)
        self.assert_blocked(self.stop_hook(SID))
        self.sok(None, "stop")  # the user, from a terminal
        status = self.sok(None, "status")
        self.assertEqual(status["stop"], {"stopped": True, "reason": "user_stopped"})
        self.assert_allowed(self.stop_hook(SID))
        self.assert_allowed(self.session_start("resume"))

    def test_allows_when_a_stop_was_requested(self):
        self.start_run(SID)
        (self.state / "stop-requested").write_text("")
        self.assert_allowed(self.stop_hook(SID))

    def test_allows_without_a_repository_or_a_run(self):
        outside = Path(tempfile.mkdtemp(prefix="ratchet-nogit-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(outside, ignore_errors=True))
        self.assert_allowed(self.stop_hook(SID, cwd=outside))
        self.assert_allowed(self.stop_hook(SID))  # a repository without a run
        self.assertFalse(self.state.exists())

    def test_fails_open(self):
        self.start_run(SID)
        cases = {
            "stdin not JSON": (lambda: run_hook("stop", "{not json", self.repo), True),
            "stdin not an object": (lambda: run_hook("stop", "[1, 2]", self.repo), False),
            "empty stdin": (lambda: run_hook("stop", "", self.repo), False),
            "no session id": (lambda: run_hook("stop", {"cwd": str(self.repo)}, self.repo), False),
            "cwd gone": (lambda: run_hook("stop", self.stop_payload(SID, self.repo / "missing"), self.repo), True),
            "git missing": (lambda: self.stop_hook(SID, env={**hook_env(), "PATH": "/nonexistent"}), True),
        }
        for what, (call, failed) in cases.items():
            with self.subTest(what):
                self.assert_allowed(call(), failed)
        # Unreadable state: ratchet cannot load the run (or its claim), so the stop is allowed.
        config = self.state / "config.json"
        good = config.read_bytes()
        for what, damage in (("config.json not JSON", lambda: config.write_text("{")),
                             ("config.json edited", lambda: config.write_text(good.decode().replace(
                                 '"iterations": 2', '"iterations": 9'))),
                             ("config.json a folder", lambda: (config.unlink(), config.mkdir()))):  # (no run: silent)
            with self.subTest(what):
                damage()
                (self.state / "config.bak.json").rename(self.state / "config.bak.keep")
                self.assert_allowed(self.stop_hook(SID), failed=not config.is_dir())
                (self.state / "config.bak.keep").rename(self.state / "config.bak.json")
                if config.is_dir():
                    config.rmdir()
                config.write_bytes(good)
        self.assert_blocked(self.stop_hook(SID))  # repaired: blocks again
        lock = self.state / "session.lock"
        lock.unlink()
        lock.mkdir()
        with self.subTest("claim lock unusable"):
            self.assert_allowed(self.stop_hook(SID), failed=True)
        lock.rmdir()
        (self.state / "session.json").write_text("[]")
        with self.subTest("claim not an object"):
            self.assert_allowed(self.stop_hook(SID))

    def test_loop_guard_lets_go_after_five_blocks_in_a_row(self):
        init = self.start_run(SID)
        for _ in range(stopguard.MAX_BLOCKS):
            self.assert_blocked(self.stop_hook(SID))
        self.assert_allowed(self.stop_hook(SID))
        self.assert_allowed(self.stop_hook(SID))  # stays released until a ratchet command runs
        claim = self.claim()
        self.assertEqual(claim["stop_hook_released"]["blocks"], 5, claim)
        self.assertIn("no ratchet command in between", claim["stop_hook_released"]["why"])
        log = (self.state / "hook.log").read_text().splitlines()
        self.assertEqual(len(log), 1, "the release is logged once")
        self.assertIn(SID, log[0])
        self.assertIn(init["run_id"], log[0])
        self.assertIn("loop guard", log[0])

    def test_a_ratchet_command_rearms_the_guard(self):
        self.start_run(SID)
        for _ in range(3):
            self.assert_blocked(self.stop_hook(SID))
        self.sok(SID, "status")
        for _ in range(stopguard.MAX_BLOCKS):  # the count started again
            self.assert_blocked(self.stop_hook(SID))
        self.assert_allowed(self.stop_hook(SID))
        self.sok(SID, "status")  # after a release too
        self.assert_blocked(self.stop_hook(SID))
        self.assertFalse(self.session_cli(OTHER, "status").code)  # another session's command
        self.assert_allowed(self.stop_hook(SID))  # ... moves the claim away

    def test_no_run_costs_nothing(self):
        """Where there is no run (or it is another session's), the hook decides
        with the standard library alone: nothing of ratchet is imported."""
        plain = Path(tempfile.mkdtemp(prefix="ratchet-nogit-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(plain, ignore_errors=True))
        for where, session in ((plain, SID), (self.repo, SID)):
            proc = self.stop_hook(session, cwd=where, importtime=True)
            self.assert_allowed(proc)
            self.assertNotIn("shell.context", proc.stderr)
            self.assertNotIn("commands", proc.stderr)
        self.start_run(SID)
        proc = self.stop_hook(OTHER, importtime=True)
        self.assert_allowed(proc)
        self.assertNotIn("shell.context", proc.stderr)
        # And in wall time: the no-run exit costs little more than starting Python.
        def best(cmd, **kw):
            times = []
            for _ in range(5):
                t = time.perf_counter()
                subprocess.run(cmd, capture_output=True, text=True, **kw)
                times.append(time.perf_counter() - t)
            return min(times)
        bare = best([sys.executable, "-c", "import json, sys; json.loads(sys.stdin.read())"], input="{}")
        hook = best([sys.executable, str(HOOKS / "stop.py")], input=json.dumps(self.stop_payload(SID, plain)),
                    cwd=str(plain))
        self.assertLess(hook, bare + 0.1, f"hook {hook:.3f}s, bare python {bare:.3f}s")


class SessionStartHook(HookTestCase):

    def test_reminder_after_compact_and_resume(self):
        init = self.start_run(SID, "--instructions", "Do not touch the tests. " * 30)
        for source, words in (("compact", "compacted"), ("resume", "resumed")):
            with self.subTest(source):
                text = self.context_of(self.session_start(source))
                self.assertIn(words, text)
                self.assertIn(init["run_id"], text)
                self.assertIn("iteration 1", text)
                self.assertIn(f"`python3 {SKILL_DIR}/scripts/ratchet.py status`", text)
                self.assertIn("binding: Do not touch the tests.", text)
                self.assertIn("in full", text, "long instructions are cut")
                shown = text.split("binding: ", 1)[1]
                self.assertLess(len(shown), view.INSTRUCTIONS_SHOWN + 80)
                self.assertIn("ratchet owns measurement and git", text)
                self.assertIn("ratchet:ratchet", text)
                self.assertIn("/ratchet resume", text)
        self.context_of(self.session_start("compact", isolated=True))

    def test_no_instructions_no_rules_sentence(self):
        self.start_run(SID)
        text = self.context_of(self.session_start("resume"))
        self.assertNotIn("binding", text)

    def test_a_session_that_does_not_drive_the_run_is_told_to_leave_it_alone(self):
        self.start_run(OTHER)
        text = self.context_of(self.session_start("resume", session=SID))
        self.assertIn("Another session drives it", text)
        self.start_run(None)  # a new run nobody claimed yet
        self.assertNotIn("Another session", self.context_of(self.session_start("resume", session=SID)))

    def test_silent_otherwise(self):
        self.start_run(SID)
        for source in ("startup", "clear", None):
            with self.subTest(source):
                self.assert_allowed(self.session_start(source))
        (self.state / "stop-requested").write_text("")
        self.assert_allowed(self.session_start("resume"))
        (self.state / "stop-requested").unlink()
        (self.state / "config.json").write_text("{")
        (self.state / "config.bak.json").unlink()
        self.assert_allowed(self.session_start("compact"), failed=True)  # unreadable state: silent

    def test_silent_for_a_stopped_run_and_without_a_run(self):
        self.assert_allowed(self.session_start("resume"))
        self.start_run(SID)
        for n, step in enumerate(("N = 500", "N = 800"), 1):
            self.write("work.py", step + "\n")
            self.sok(SID, "run-trial", "--all")
            self.sok(SID, "decide", "--description", f"change {n}")
        self.assert_allowed(self.session_start("resume"))

    def test_session_start_does_not_claim(self):
        self.start_run(OTHER)
        before = self.claim()
        self.session_start("resume", session=SID)
        self.assertEqual(self.claim(), before)


class StopGuardRule(unittest.TestCase):
    """core.stopguard.judge, branch by branch."""

    def claim(self, **kw):
        return {"session_id": SID, "run_id": "r1", "commands": 4, **kw}

    def test_branches(self):
        cases = [
            (StopFacts(SID, None, "r1", False), False, stopguard.UNCLAIMED),
            (StopFacts(SID, {"commands": 3}, "r1", False), False, stopguard.UNCLAIMED),
            (StopFacts(None, self.claim(), "r1", False), False, stopguard.UNCLAIMED),
            (StopFacts(OTHER, self.claim(), "r1", False), False, stopguard.OTHER_SESSION),
            (StopFacts(SID, self.claim(), "r2", False), False, stopguard.OTHER_RUN),
            (StopFacts(SID, self.claim(), "r1", True), False, stopguard.STOPPED),
            (StopFacts(SID, self.claim(), "r1", False), True, stopguard.BLOCKED),
        ]
        for facts, block, why in cases:
            with self.subTest(why=why, facts=facts):
                verdict = judge(facts)
                self.assertEqual((verdict.block, verdict.why), (block, why))

    def test_guard_counts_blocks_and_resets_on_a_command(self):
        claim = self.claim()
        for n in range(1, stopguard.MAX_BLOCKS + 1):
            v = judge(StopFacts(SID, claim, "r1", False))
            self.assertEqual((v.block, v.guard), (True, {"blocks": n, "at_commands": 4}))
            claim = dict(claim, stop_hook=v.guard)
        v = judge(StopFacts(SID, claim, "r1", False))
        self.assertEqual((v.block, v.why, v.newly_released, v.blocks), (False, stopguard.RELEASED, True, 5))
        claim = dict(claim, stop_hook=v.guard)
        v = judge(StopFacts(SID, claim, "r1", False))
        self.assertEqual((v.block, v.newly_released, v.guard), (False, False, None))
        v = judge(StopFacts(SID, dict(claim, commands=5), "r1", False))
        self.assertEqual((v.block, v.guard), (True, {"blocks": 1, "at_commands": 5}))

    def test_junk_in_the_guard_state_counts_as_none(self):
        for junk in ("x", [], {"blocks": "9", "at_commands": 4}, {"blocks": -3, "at_commands": 4},
                     {"blocks": True, "at_commands": 4}):
            v = judge(StopFacts(SID, self.claim(stop_hook=junk), "r1", False))
            self.assertEqual((v.block, v.guard["blocks"]), (True, 1), junk)


if __name__ == "__main__":
    unittest.main()
