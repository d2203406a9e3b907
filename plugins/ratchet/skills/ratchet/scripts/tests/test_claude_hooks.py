"""The plugin's hooks in the real Claude Code CLI (`claude` on PATH).

The plugin is installed from this repository as a local marketplace (so its
hooks/hooks.json is loaded) and `claude -p` plays a scripted fake model
(tests/fake_model.py), as in test_claude_cli.py, whose helpers these tests
use. They check:

- the Stop hook blocks the model's attempt to end its turn in the middle of
  a run (the next request carries the block reason), and the session goes on
  through the iterations to the stop condition, then ends;
- a second session in the same repository is never blocked;
- after `claude -p --resume <id> "/compact"` and `claude -p --resume <id>
  "continue"`, the SessionStart reminder reaches the model, which carries
  the run on to its end;
- the loop guard: a model that keeps ending its turn is let go after 5
  blocked stops in a row, and the release is recorded;
- `claude plugin validate` and `claude plugin details` list both hooks (no
  always-on token cost).

Skipped when `claude` is not on PATH, unless RATCHET_REQUIRE_CLAUDE=1.
See docs/testing.md.
"""

import json
import re
import unittest
from pathlib import Path

from tests import test_claude_cli as cli
from tests.fake_model import FakeModel, all_text, blocks, block_text, last_json, last_result, tool_use
from tests.test_claude_cli import decide_turn, ratchet, ratchet_calls, start_turns, trials_turn

ARGS = ('--run-command "python3 bench.py" --direction min --metric-name score '
        '--report-source stdout --trials 2 --iterations 2 '
        '--instructions "Change work.py only; keep count_steps correct."')
BLOCKED = "is not finished"            # in the Stop hook's block reason (views/hooks.py)
REMINDER = "ratchet reminder ("        # the SessionStart hook's context
STATUS = "/scripts/ratchet.py status"  # the exact command both name


def messages_text(body, role):
    return all_text({"messages": [m for m in body.get("messages", []) if m.get("role") == role]})


def last_user_text(body):
    """Text of the last user message (where a Stop hook's block reason arrives)."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"] or [{}]
    return "\n".join(block_text(b) for b in blocks(users[-1]))


def session_of(events):
    result = [e for e in events if e.get("type") == "result"]
    return result[-1]["session_id"]


@unittest.skipUnless(cli.CLAUDE, "claude CLI not on PATH: real-client tests skipped (see docs/testing.md)")
class ClaudeHooksTest(unittest.TestCase):
    setUp = cli.ClaudeCliTest.setUp
    tearDown = cli.ClaudeCliTest.tearDown
    claude = cli.ClaudeCliTest.claude
    install_plugin = cli.ClaudeCliTest.install_plugin
    git = cli.ClaudeCliTest.git
    make_bench_repo = cli.ClaudeCliTest.make_bench_repo

    def env(self, base_url="http://127.0.0.1:9"):
        env = cli.ClaudeCliTest.env(self, base_url)
        env["BASH_DEFAULT_TIMEOUT_MS"] = "20000"  # the client's limits shrunk: a hung call fails fast
        return env

    def session(self, args, script, cwd, name):
        """`claude -p ARGS... --output-format stream-json --verbose` against a
        FakeModel playing SCRIPT; checks a clean end with no permission
        denied. Returns (fake, events). Files: NAME-stdout.jsonl, NAME-requests.txt."""
        with FakeModel(script) as fake:
            proc = self.claude(*args, "--output-format", "stream-json", "--verbose",
                               cwd=cwd, base_url=fake.base_url, check=False)
        (self.tmp / ("%s-stdout.jsonl" % name)).write_text(proc.stdout)
        (self.tmp / ("%s-stderr.txt" % name)).write_text(proc.stderr)
        (self.tmp / ("%s-requests.txt" % name)).write_text(fake.report())
        context = "\n--- %s: requests ---\n%s\n--- stderr ---\n%s" % (name, fake.report(), proc.stderr[-3000:])
        self.assertFalse(fake.errors, "the scripted model failed:\n%s%s" % ("\n\n".join(fake.errors), context))
        self.assertEqual(proc.returncode, 0, "claude exited %d%s" % (proc.returncode, context))
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        denied = [e for e in events if e.get("subtype") == "permission_denied"]
        self.assertEqual(denied, [], "permission denied:\n%s%s" % (json.dumps(denied, indent=1), context))
        result = [e for e in events if e.get("type") == "result"]
        self.assertTrue(result and not result[-1].get("is_error") and not result[-1].get("permission_denials"),
                        "no clean result event:\n%s%s" % (json.dumps(result, indent=1)[-3000:], context))
        _, failed = ratchet_calls(events)
        self.assertEqual(failed, [], "a ratchet.py call failed%s" % context)
        self.context = context
        return fake, events

    def claim(self, repo):
        return json.loads((repo / ".ratchet" / "session.json").read_text())

    def records(self, repo):
        path = repo / ".ratchet" / "results.jsonl"
        return [(r["iter"], r["decision"], r["kept"])
                for r in (json.loads(line) for line in path.read_text().splitlines() if line.strip())]

    # ---- scripted pieces --------------------------------------------------

    def iterations(self, seen, repo):
        """Turns that run iterations 1 (STEP 1 -> 4: improve) and 2 (4 -> 2:
        regress, and --iterations 2 stops the run), show the status table and
        end the turn. The first turn gets the `status` JSON."""
        def edit(old, new):
            def turn(body):
                seen.setdefault("outputs", []).append(last_json(body))
                return tool_use("Edit", file_path=str(repo / "work.py"), old_string=old, new_string=new)
            return turn

        def trials(hypothesis):
            return trials_turn(seen, hypothesis)

        def decide(description):
            return decide_turn(seen, description)

        def show_status(body):
            seen.setdefault("outputs", []).append(last_json(body))
            return ratchet(seen, "status --format text")

        def finish(body):
            seen["table"] = last_result(body)
            return "Done: the run stopped (iterations_exhausted); one improvement kept."

        return [edit("STEP = 1", "STEP = 4"), trials("bigger steps"), decide("step 4"),
                edit("STEP = 4", "STEP = 2"), trials("smaller steps"), decide("step 2"),
                show_status, finish]

    def baseline_then_give_up(self, repo):
        """Session 1: /ratchet, init and baseline; then the model keeps ending
        its turn: blocked 5 times, then the loop guard lets the session end.
        Returns the session id."""
        seen = {}

        def stop_here(body):
            if "baseline" not in seen:
                seen["baseline"] = last_json(body)
            else:
                self.assertIn(BLOCKED, last_user_text(body))
            return "The baseline is measured. Shall I go on?"

        script = start_turns(ARGS, seen) + [stop_here] * 6
        fake, events = self.session(["-p", "/ratchet " + ARGS], script, repo, "first")
        self.assertEqual(len(fake.main_requests), len(script), self.context)
        self.assertEqual(self.records(repo), [(0, "baseline", True)])
        return session_of(events), seen

    # ---- the hooks are part of the plugin -----------------------------------

    def test_plugin_provides_both_hooks_at_no_token_cost(self):
        proc = self.claude("plugin", "validate", "--strict", "--profile", "directory", "plugins/ratchet")
        self.assertIn("Validation passed", proc.stdout, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, r"hooks: Stop command .*hooks/stop\.py")
        self.assertRegex(proc.stdout, r"hooks: SessionStart compact\|resume command .*hooks/session_start\.py")
        self.install_plugin()
        details = self.claude("plugin", "details", "ratchet").stdout
        self.assertRegex(details, r"Hooks \(2\)\s+Stop, SessionStart\s+\(harness-only", details)

    # ---- a. the Stop hook keeps the loop going ------------------------------

    def test_stop_hook_blocks_a_mid_run_end_of_turn_until_the_stop_condition(self):
        self.install_plugin()
        repo = self.make_bench_repo()
        seen = {}

        def try_to_stop(body):
            seen["baseline"] = last_json(body)
            return "The baseline is measured (score 1000). Shall I go on with the optimization?"

        def after_block(body):
            reason = last_user_text(body)
            seen["reason"] = reason
            self.assertIn(BLOCKED, reason, "the Stop hook did not block the end of turn")
            m = re.search(r"`(python3 (\S+)/scripts/ratchet\.py status)`", reason)
            self.assertTrue(m, "no exact status command in the block reason:\n" + reason)
            self.assertEqual(Path(m.group(2)).resolve(), Path(seen["skill_dir"]).resolve(), reason)
            return ratchet(seen, "status")

        script = start_turns(ARGS, seen) + [try_to_stop, after_block] + self.iterations(seen, repo)
        fake, events = self.session(["-p", "/ratchet " + ARGS], script, repo, "loop")

        # Every scripted turn was played, the last one ended the session (not blocked again).
        self.assertEqual(len(fake.main_requests), len(script), self.context)
        status = seen["outputs"][0]
        self.assertIs(status["stop"]["stopped"], False, json.dumps(status))
        self.assertIs(seen["outputs"][-1]["stop"]["stopped"], True, json.dumps(seen["outputs"][-1]))
        self.assertEqual(self.records(repo), [(0, "baseline", True), (1, "improve", True), (2, "regress", False)])
        blocked = [r for r in fake.main_requests if BLOCKED in last_user_text(r["body"])]
        self.assertEqual(len(blocked), 1, self.context)
        # The run is claimed by this session; the guard never let go.
        claim = self.claim(repo)
        self.assertEqual(claim["session_id"], session_of(events))
        self.assertEqual(claim["commands"], len(ratchet_calls(events)[0]), json.dumps(claim))
        self.assertNotIn("stop_hook_released", claim)
        self.assertFalse((repo / ".ratchet" / "hook.log").exists())

    # ---- b. another session in the same repository --------------------------

    def test_second_session_in_the_same_repository_is_not_blocked(self):
        self.install_plugin()
        repo = self.make_bench_repo()
        first, _ = self.baseline_then_give_up(repo)
        claim = self.claim(repo)
        self.assertEqual(claim["session_id"], first)
        # The loop guard let the first session go, and said why.
        self.assertEqual(claim["stop_hook_released"]["blocks"], 5, json.dumps(claim))
        self.assertIn("loop guard", (repo / ".ratchet" / "hook.log").read_text())

        def hello(body):
            return "Hello: nothing to do here."

        fake, events = self.session(["-p", "say hello"], [hello], repo, "second")
        self.assertNotEqual(session_of(events), first)
        self.assertEqual(len(fake.main_requests), 1, "the second session was blocked:" + self.context)
        self.assertEqual(self.claim(repo), claim, "the second session changed the claim")

    # ---- c. resumed and compacted --------------------------------------------

    def test_resumed_and_compacted_session_gets_the_reminder_and_finishes_the_run(self):
        self.install_plugin()
        repo = self.make_bench_repo()
        sid, first = self.baseline_then_give_up(repo)

        def compact(body):  # the compaction's summary request (and nothing else)
            return "Summary: a ratchet run is in progress in this repository; its baseline is measured."

        self.session(["-p", "--resume", sid, "/compact"], compact, repo, "compact")

        # "continue": the reminder reaches the model. Without the skill loaded its
        # commands need approval (refused in -p), so the model asks for /ratchet resume.
        seen = {"skill_dir": first["skill_dir"]}

        def reminded(body):
            seen["reminded"] = all_text(body)
            return "The ratchet run is not finished; type /ratchet resume to let me carry it on."

        fake, events = self.session(["-p", "--resume", sid, "continue"],
                                    lambda body: [reminded][after_prompt(body, "continue")](body), repo, "continue")
        self.assertEqual(session_of(events), sid, "--resume started another session")
        # The guard let this session go at once: no ratchet command ran since it released the first one.
        self.assertEqual(len(fake.main_requests), 1, self.context)
        text = seen["reminded"]
        sources = re.findall(r"ratchet reminder \((.*?)\): run (\S+) is in progress", text)
        self.assertTrue(sources, "no ratchet reminder reached the resumed session:\n" + text[-4000:])
        self.assertEqual({run for _, run in sources}, {self.claim(repo)["run_id"]})
        self.assertIn("the conversation was compacted", [what for what, _ in sources], sources)
        self.assertIn("this session was resumed", [what for what, _ in sources], sources)
        self.assertIn("python3 %s/scripts/ratchet.py status" % first["skill_dir"], text)
        self.assertIn("binding: Change work.py only", text, "the reminder lost the run's instructions")

        # "/ratchet resume": the skill loads again, and the session carries the run to its end.
        def resumed(body):
            seen["resumed"] = all_text(body)
            return ratchet(seen, "status")

        turns = [resumed] + self.iterations(seen, repo)
        fake, events = self.session(["-p", "--resume", sid, "/ratchet resume"],
                                    lambda body: turns[after_prompt(body, "resume", "<command-args>")](body),
                                    repo, "resume")
        self.assertIn("<command-args>resume</command-args>", seen["resumed"])
        self.assertIn("this session was resumed", seen["resumed"])
        self.assertEqual(self.records(repo), [(0, "baseline", True), (1, "improve", True), (2, "regress", False)])
        self.assertIs(seen["outputs"][-1]["stop"]["stopped"], True)
        self.assertEqual(len(fake.main_requests), len(turns), self.context)
        self.assertEqual(self.claim(repo)["session_id"], sid)


def after_prompt(body, prompt, within=None):
    """The number of assistant turns after the last user message that is PROMPT
    (or, with WITHIN, holds WITHIN + PROMPT): a resumed conversation carries
    the earlier sessions' messages."""
    messages = body.get("messages", [])
    marks = [i for i, m in enumerate(messages) if m.get("role") == "user"
             and any((within + prompt in block_text(b)) if within else block_text(b).strip() == prompt
                     for b in blocks(m))]
    assert marks, "no %r prompt in the request" % prompt
    return sum(1 for m in messages[marks[-1]:] if m.get("role") == "assistant")


if __name__ == "__main__":
    unittest.main()
