"""The pure pieces of `ratchet.py loop`: escalation, the answer parser, the ideas
backlog, telemetry from stream-json, and the bounded prompt."""

import json
import random
import unittest

from core import agentanswer, escalation, ideas, prompt, telemetry
from core.config import Config
from core.decision import stop_of
from core.history import Summary, fold

CFG = Config(run_command="python3 bench.py", direction="min", metric_name="wall_time", report_source="stdout",
             protect=("bench.py",), instructions="Performance only.")


class Escalation(unittest.TestCase):
    def test_ladder_with_the_default_thresholds(self):
        levels = [escalation.directive(n, plateau_after_pivots=3).level for n in range(17)]
        self.assertEqual(levels, ["explore"] * 3 + ["refine"] * 2 + ["pivot"] * 5 + ["widen"] * 5 + ["plateau"] * 2)

    def test_plateau_off_never_halts(self):
        self.assertEqual(escalation.directive(1000).level, "widen")

    def test_thresholds_are_configurable(self):
        d = escalation.directive(2, refine_after=1, pivot_after=2, widen_after_pivots=5, plateau_after_pivots=0)
        self.assertEqual((d.level, d.pivots), ("pivot", 1))
        self.assertIn("2 iterations in a row", d.text)

    def test_plateau_is_a_stop_reason_when_configured(self):
        s = fold(Summary(), {"iter": 0, "decision": "baseline", "kept": True, "avg": 1.0, "sha": "a"})
        for i in range(1, 15):
            s = fold(s, {"iter": i, "decision": "regress", "kept": False, "avg": 2.0})
        cfg = CFG._replace(iterations=100, plateau_after_pivots=3)
        self.assertFalse(stop_of(cfg, s)["stopped"])
        s = fold(s, {"iter": 15, "decision": "regress", "kept": False, "avg": 2.0})
        self.assertEqual(stop_of(cfg, s)["reason"], "plateau")
        self.assertFalse(stop_of(cfg._replace(plateau_after_pivots=0), s)["stopped"])


class AnswerParser(unittest.TestCase):
    def test_the_fixed_shape_is_read(self):
        a = agentanswer.parse("I looked around.\n\nHYPOTHESIS: fewer divisions\nDESCRIPTION: bound at sqrt(k)\n"
                              "IDEA_TRIED: #2\nIDEAS:\n- use a sieve\n- cache primes\n")
        self.assertEqual((a.hypothesis, a.description, a.idea_tried), ("fewer divisions", "bound at sqrt(k)", 2))
        self.assertEqual(a.ideas, ["use a sieve", "cache primes"])

    def test_markdown_decoration_and_lowercase_labels_are_accepted(self):
        a = agentanswer.parse("**Hypothesis:** faster\n**description**: `x = 1`\nidea_tried: none\n")
        self.assertEqual((a.hypothesis, a.description, a.idea_tried, a.ideas), ("faster", "x = 1", None, []))

    def test_every_malformed_answer_raises_malformed_with_one_line(self):
        cases = ["", "   ", "I made the change.", "HYPOTHESIS: x", "DESCRIPTION: y", "HYPOTHESIS:\nDESCRIPTION: y",
                 "HYPOTHESIS: x\nDESCRIPTION: " + "z" * 300, "HYPOTHESIS: x\nDESCRIPTION: y\nIDEA_TRIED: soon",
                 None, 42, "\x00\x01HYPOTHESIS", json.dumps({"hypothesis": "x"})]
        for text in cases:
            with self.subTest(text=str(text)[:30]):
                with self.assertRaises(agentanswer.Malformed) as ctx:
                    agentanswer.parse(text)
                self.assertNotIn("\n", str(ctx.exception))

    def test_random_text_never_raises_anything_but_malformed(self):
        rng = random.Random(7)
        alphabet = "HYPOTHESIS:DESCRIPTION:IDEAS:IDEA_TRIED:-* \n\t#0123456789abc\u00e9\x00`"
        for _ in range(2000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
            try:
                agentanswer.parse(text)
            except agentanswer.Malformed:
                pass


class Backlog(unittest.TestCase):
    def test_ideas_are_added_once_and_marked_tried_with_their_outcome(self):
        b = ideas.add(None, ["Use a sieve", "use  a SIEVE", "cache"], 1)
        self.assertEqual([i["text"] for i in b["ideas"]], ["Use a sieve", "cache"])
        b = ideas.mark_tried(b, 1, 2, "regress", -0.5)
        opened, tried = ideas.view(b)
        self.assertEqual([i["id"] for i in opened], [2])
        self.assertEqual((tried[0]["id"], tried[0]["outcome"], tried[0]["tried_iter"]), (1, "regress", 2))
        self.assertFalse(ideas.is_open(b, 1))
        self.assertEqual(ideas.mark_tried(b, 1, 3, "improve", 1.0), b)  # tried once: unchanged

    def test_backlog_stays_bounded(self):
        b = None
        for it in range(400):
            b = ideas.add(b, [f"idea {it}"], it)
            b = ideas.mark_tried(b, it + 1, it, "regress", None) if it % 2 else b
        self.assertLessEqual(len(b["ideas"]), ideas.KEEP)
        self.assertEqual(b["next_id"], 401)


def stream(*events) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\n"


class Telemetry(unittest.TestCase):
    RESULT = {"type": "result", "subtype": "success", "is_error": False, "duration_ms": 2500, "num_turns": 4,
              "result": "HYPOTHESIS: a\nDESCRIPTION: b", "session_id": "s-1", "total_cost_usd": 0.0123,
              "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 300,
                        "cache_creation_input_tokens": 50},
              "permission_denials": [{"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": "git commit"}}]}

    def test_result_event_gives_usage_cost_turns_and_denials(self):
        user = {"type": "user", "message": {"content": [{"type": "tool_result", "is_error": True,
                                                          "content": "File does not exist."}]}}
        s = telemetry.parse_stream("not json\n" + stream({"type": "system", "subtype": "init"}, user, self.RESULT))
        t = s.telemetry
        self.assertEqual((t["input_tokens"], t["output_tokens"], t["cache_read_tokens"], t["cache_creation_tokens"]),
                         (100, 20, 300, 50))
        self.assertEqual((t["cost_usd"], t["turns"], t["duration_ms"], t["session_id"]), (0.0123, 4, 2500, "s-1"))
        self.assertEqual((t["tool_errors"], t["permission_denials"]), (1, 1))
        self.assertEqual(s.answer, "HYPOTHESIS: a\nDESCRIPTION: b")
        self.assertEqual(s.notes, ["permission denied: Bash (git commit)", "tool error: File does not exist."])

    def test_plain_text_output_has_no_telemetry_and_is_the_answer(self):
        s = telemetry.parse_stream("HYPOTHESIS: a\nDESCRIPTION: b\n")
        self.assertIsNone(s.telemetry)
        self.assertIn("DESCRIPTION: b", s.answer)

    def test_garbage_fields_never_raise(self):
        s = telemetry.parse_stream(stream({"type": "result", "usage": "x", "total_cost_usd": "1",
                                           "permission_denials": [3], "num_turns": True}))
        self.assertEqual((s.telemetry["cost_usd"], s.telemetry["turns"], s.telemetry["permission_denials"]),
                         (0.0, 0, 1))

    def test_totals_and_the_cost_cap(self):
        t = telemetry.add({}, {"cost_usd": 0.4, "input_tokens": 10, "duration_ms": 1000})
        t = telemetry.add(t, {"cost_usd": 0.2, "input_tokens": 5, "duration_ms": 500})
        self.assertEqual((t["runs"], round(t["cost_usd"], 6), t["input_tokens"], t["seconds"]), (2, 0.6, 15, 1.5))
        self.assertAlmostEqual(telemetry.mean_cost(t), 0.3)
        self.assertFalse(telemetry.cost_stop(t, 1.0))   # 0.6 + 0.3 <= 1.0
        self.assertTrue(telemetry.cost_stop(t, 0.85))   # 0.6 + 0.3 > 0.85
        self.assertTrue(telemetry.cost_stop(t, 0.6))    # spent it all
        self.assertFalse(telemetry.cost_stop(t, None))
        self.assertFalse(telemetry.cost_stop({}, 0.01))  # nothing spent, nothing known yet

    def test_history_folds_agent_totals_and_trailing_failures(self):
        s = fold(Summary(), {"iter": 0, "decision": "baseline", "kept": True})
        s = fold(s, {"iter": 1, "decision": "agent_failed", "kept": False, "agent": {"cost_usd": 0.1}})
        s = fold(s, {"iter": 2, "decision": "agent_failed", "kept": False, "agent": {"cost_usd": 0.2}})
        self.assertEqual((s.trailing_agent_failures, s.agent["runs"]), (2, 2))
        self.assertAlmostEqual(s.agent["cost_usd"], 0.3)
        s = fold(s, {"iter": 3, "decision": "regress", "kept": False, "agent": {"cost_usd": 0.0}})
        self.assertEqual(s.trailing_agent_failures, 0)
        self.assertEqual(Summary.from_dict(json.loads(json.dumps(s.to_dict()))), s)


class Prompt(unittest.TestCase):
    def history(self, n: int):
        s = fold(Summary(), {"iter": 0, "decision": "baseline", "kept": True, "avg": 1.0, "sha": "a"})
        b = None
        for i in range(1, n + 1):
            s = fold(s, {"iter": i, "decision": "regress", "kept": False, "avg": 1.1, "delta": -0.1,
                         "test": {"ci_low": -0.2, "ci_high": -0.05}, "reason": "r" * 500,
                         "description": f"change {i} " + "d" * 300, "hypothesis": "h" * 900})
            b = ideas.add(b, [f"idea {i} " + "x" * 400, f"other {i}"], i)
            b = ideas.mark_tried(b, i, i, "regress", -0.1)
        opened, tried = ideas.view(b)
        return prompt.PromptInput(config=CFG, iteration=n + 1, best=s.best, baseline=1.0, recent=list(s.tail),
                                  directive=escalation.of_config(CFG, s.trailing_not_kept), open_ideas=opened,
                                  tried_ideas=tried, notes=["permission denied: Bash (git commit)"] * 20,
                                  rules="1. Never edit the benchmark.\n")

    def test_prompt_holds_goal_rules_best_recent_directive_ideas_and_shape(self):
        text = prompt.build(self.history(10))
        for part in ("`wall_time`", "lower is better", "Performance only.", "Never edit the benchmark",
                     "best so far 1", "iter 10: regress, effect -0.1 [-0.2, -0.05] 95%", "pivot", "open #",
                     "tried #10 in iter 10: regress", "permission denied: Bash", "DESCRIPTION:", "bench.py"):
            self.assertIn(part, text)

    def test_the_editable_set_and_the_constraints_are_in_the_prompt_only_when_given(self):
        plain = prompt.build(self.history(3))
        self.assertNotIn("Editable files", plain)
        self.assertNotIn("Constraints (", plain)
        p = self.history(3)
        scoped = prompt.build(p._replace(config=CFG._replace(editable=("src/", "lib/*.py"),
                                                        constraints=("peak_mb<=+2%", "errors<=0"))))
        self.assertIn("Editable files (a change to any other file, or a symlink pointing outside them, discards "
                      "the iteration as an integrity violation): src/, lib/*.py", scoped)
        self.assertIn("must not get worse; a change that breaks one is reverted as constraint_failed): "
                      "peak_mb<=+2%, errors<=0", scoped)

    def test_prompt_size_is_bounded_at_10_and_1000_iterations(self):
        small, large = len(prompt.build(self.history(10))), len(prompt.build(self.history(1000)))
        self.assertLess(small, prompt.MAX_CHARS)
        self.assertLess(large, prompt.MAX_CHARS)
        self.assertLess(large, 1.25 * small)  # 100 times the history, not a longer prompt



class AgentOutcome(unittest.TestCase):
    OK = "HYPOTHESIS: h\nDESCRIPTION: d\n"

    def outcome(self, **kw):
        args = dict(exit_code=0, timed_out=False, timeout=60.0, is_error=False, answer=self.OK, git_moved=None,
                    changed=True)
        args.update(kw)
        return agentanswer.outcome_of(**args)

    def test_each_agent_outcome_has_its_decision(self):
        self.assertEqual(self.outcome()[0], None)
        self.assertEqual(self.outcome(changed=False)[0], "agent_no_edit")
        self.assertEqual(self.outcome(git_moved="HEAD moved")[0], "agent_used_git")
        self.assertEqual(self.outcome(timed_out=True, exit_code=-15)[:2],
                         ("agent_failed", "the agent timed out after 60 s (--agent-timeout); its processes "
                                          "were killed"))
        self.assertEqual(self.outcome(exit_code=3)[1], "the agent exited with code 3")
        self.assertIn("command was not found", self.outcome(exit_code=127)[1])
        self.assertEqual(self.outcome(is_error=True)[0], "agent_failed")
        decision, reason, _ = self.outcome(answer="done!")
        self.assertEqual(decision, "agent_failed")
        self.assertTrue(reason.startswith("malformed answer: "))


class DefaultAgentCommand(unittest.TestCase):
    def test_edits_are_allowed_on_the_editable_set_only_and_denied_on_protected_files(self):
        import shlex
        from shell import agent
        args = shlex.split(agent.default_command(("bench.py", "data/"), ("src/", "lib", "*.cfg")))
        allowed = args[args.index("--allowedTools") + 1].split(",")
        self.assertEqual(allowed, ["Read", "Glob", "Grep", "Edit(src/**)", "Write(src/**)", "Edit(lib)",
                                   "Write(lib)", "Edit(lib/**)", "Write(lib/**)", "Edit(*.cfg)", "Write(*.cfg)"])
        denied = args[args.index("--disallowedTools") + 1:]
        for rule in ("Bash", "Edit(bench.py)", "Write(data/**)", "Edit(.ratchet/**)"):
            self.assertIn(rule, denied)
        plain = shlex.split(agent.default_command())
        self.assertEqual(plain[plain.index("--allowedTools") + 1], "Read,Edit,Write,Glob,Grep")


if __name__ == "__main__":
    unittest.main()
