"""End-to-end tests with the real Claude Code CLI (`claude` on PATH).

They validate the manifests, install the plugin from this repository as a
local marketplace, and run `/ratchet` in `claude -p` against a scripted fake
model (tests/fake_model.py), so the real CLI substitutes the skill, checks
permissions and runs the tools, but no network or API key is needed.

Every test gets a fresh temporary HOME and a clean environment. Skipped when
`claude` is not on PATH, unless RATCHET_REQUIRE_CLAUDE=1 (CI) makes that a
failure. RATCHET_KEEP_TMP=1 keeps the temporary folders; RATCHET_TEST_TIMINGS=1
prints each test's duration. See docs/testing.md.
"""

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

from tests import fake_model
from tests.fake_model import FakeModel, all_text, bash, last_json, last_result, tool_use

REPO_ROOT = Path(__file__).resolve().parents[6]
CLAUDE = shutil.which("claude")
PLUGIN = "ratchet@ratchet-marketplace"
AGENTS_DIR = REPO_ROOT / "plugins" / "ratchet" / "agents"
ALWAYS_ON_BUDGET = 150  # tokens every session of every user pays for the plugin
CLI_TIMEOUT = 120       # seconds; each scenario normally takes a few

if not CLAUDE and os.environ.get("RATCHET_REQUIRE_CLAUDE") == "1":
    raise RuntimeError("RATCHET_REQUIRE_CLAUDE=1 but no `claude` on PATH")


# The benchmarked code of the scripted runs: `score` is the loop iterations (lower is better).
WORK_PY = ("STEP = 1\n\n\n"
           "def count_steps(limit=1000):\n"
           "    n = steps = 0\n"
           "    while n < limit:\n"
           "        n += STEP\n"
           "        steps += 1\n"
           "    return steps\n")


def user_text(body):
    """The text of the user messages only (not the long system context)."""
    return all_text({"messages": [m for m in body.get("messages", []) if m.get("role") == "user"]})


def assert_skill_loaded(test, body):
    """The first request holds the ratchet skill, invoked as /ratchet:ratchet."""
    text = user_text(body)
    test.assertTrue("<command-name>/ratchet:ratchet</command-name>" in text,
                    "the command did not resolve to the ratchet skill; the model got:\n" + text[:3000])
    m = re.search(r"Base directory for this skill: (\S+)", text)
    test.assertTrue(m and (Path(m.group(1)) / "SKILL.md").is_file(), text[:3000])


def skill_block(body):
    """The text block holding the loaded skill ("Base directory for this skill: ...")."""
    for message in body.get("messages", []):
        for block in fake_model.blocks(message):
            text = fake_model.block_text(block)
            if text.startswith("Base directory for this skill:"):
                return text
    raise AssertionError("no skill text block in the request")


def ratchet(seen, command):
    """A Bash call of ratchet.py, spelled as SKILL.md spells it (seen["skill_dir"] from the first turn)."""
    return bash("python3 %s/scripts/ratchet.py %s" % (seen["skill_dir"], command),
                "ratchet " + command.split()[0])


def trials_turn(seen, hypothesis):
    """A turn that reads the last tool result, then runs `run-trial --all --hypothesis`."""
    def turn(body):
        last_result(body)
        return ratchet(seen, 'run-trial --all --hypothesis "%s"' % hypothesis)
    return turn


def decide_turn(seen, description):
    """A turn that reads the last JSON answer, then runs `decide --description`."""
    def turn(body):
        last_json(body)
        return ratchet(seen, 'decide --description "%s"' % description)
    return turn


def start_turns(args, seen):
    """SKILL.md steps 1-3: read integrity.md, init, baseline (run-trial --all, decide).

    The turn after these gets the baseline's decide output."""
    def read_skill(body):
        text = all_text(body)
        m = re.search(r"Base directory for this skill: (\S+)", text)
        assert m, "no 'Base directory for this skill' in the first request"
        seen["skill_dir"] = m.group(1)
        seen["skill_text"] = skill_block(body)
        got = re.search(r"<command-args>(.*?)</command-args>", text, re.S)
        assert got and got.group(1).strip() == args, "arguments changed: %r" % (got and got.group(1))
        # SKILL.md step 1: read the integrity rules.
        return tool_use("Read", file_path=seen["skill_dir"] + "/instructions/integrity.md")

    def init(body):
        seen["integrity"] = last_result(body)
        return ratchet(seen, "init " + args)

    def baseline_trials(body):
        seen["init"] = last_json(body)
        return ratchet(seen, "run-trial --all")

    def baseline_decide(body):
        last_json(body)
        return ratchet(seen, 'decide --description "baseline"')

    return [read_skill, init, baseline_trials, baseline_decide]


def agent_markers():
    """name -> the first line of that agent file's body that no other agent file holds.

    Routes each subagent request to its scripted agent, and proves that the
    CLI ran the agent type with the system prompt of that file."""
    bodies = {path.stem: path.read_text().split("\n---\n", 1)[1] for path in sorted(AGENTS_DIR.glob("*.md"))}
    markers = {}
    for name, body in bodies.items():
        others = "\n".join(b for n, b in bodies.items() if n != name)
        markers[name] = next(line for line in body.splitlines() if line.strip() and line not in others)
    return markers


def handed_back(result):
    """The subagent's answer inside an Agent tool result, as critic-mode.md step 4
    says to save it: the text after "The report follows:" and before "agentId:",
    as it is (still indented by the two spaces the CLI adds: ratchet removes them)."""
    head, found, rest = result.partition("The report follows:\n")
    assert head.startswith("[Subagent hand-back]") and found, "not a subagent hand-back:\n" + result[:1000]
    return rest.rsplit("\nagentId: ", 1)[0]


def ratchet_calls(events):
    """({tool_use_id: command} of every ratchet.py Bash call, [(command, error) of the failed ones])."""
    calls = {b["id"]: b["input"]["command"] for e in events if e.get("type") == "assistant"
             for b in e["message"]["content"] if b.get("type") == "tool_use" and b["name"] == "Bash"}
    failed = [(calls[b["tool_use_id"]], b.get("content")) for e in events if e.get("type") == "user"
              for b in e["message"]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"
              and b.get("is_error") and "ratchet.py" in calls.get(b["tool_use_id"], "")]
    return {k: v for k, v in calls.items() if "ratchet.py" in v}, failed


@unittest.skipUnless(CLAUDE, "claude CLI not on PATH: real-client tests skipped (see docs/testing.md)")
class ClaudeCliTest(unittest.TestCase):

    def setUp(self):
        self.started = time.monotonic()
        self.tmp = Path(tempfile.mkdtemp(prefix="ratchet-e2e-"))
        if os.environ.get("RATCHET_KEEP_TMP") == "1":
            sys.stderr.write("\n%s: temporary files kept in %s\n" % (self.id(), self.tmp))
        else:
            self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = self.tmp / "home"
        self.home.mkdir()
        # A user has a git identity; the fresh HOME must have one too.
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = Ratchet Test\n\temail = ratchet-test@example.invalid\n"
            "[init]\n\tdefaultBranch = main\n")

    def tearDown(self):
        if os.environ.get("RATCHET_TEST_TIMINGS") == "1":
            sys.stderr.write("\n%-60s %5.1fs\n" % (self.id(), time.monotonic() - self.started))

    # ---- helpers ----------------------------------------------------------

    def env(self, base_url="http://127.0.0.1:9"):
        """A clean environment: nothing from the caller but PATH.

        The interpreter running the tests comes first on PATH, so `python3` in
        the Bash tool is this Python (a pyenv shim would not work with a
        fresh HOME). The default base URL is a closed port: any model call
        a command should not make fails fast instead of leaving the machine.
        """
        path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        return {
            "PATH": path,
            "HOME": str(self.home),
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": "sk-ant-fake-key-for-tests",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }

    def claude(self, *args, cwd=REPO_ROOT, base_url="http://127.0.0.1:9", check=True):
        proc = subprocess.run(
            [CLAUDE] + list(args), cwd=str(cwd), env=self.env(base_url),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLI_TIMEOUT)
        if check and proc.returncode != 0:
            self.fail("`claude %s` exited %d\nstdout:\n%s\nstderr:\n%s"
                      % (" ".join(args), proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
        return proc

    def install_plugin(self):
        self.claude("plugin", "marketplace", "add", str(REPO_ROOT))
        self.claude("plugin", "install", PLUGIN)

    def git(self, repo, *args):
        return subprocess.run(["git"] + list(args), cwd=str(repo), env=self.env(), check=True,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True).stdout.strip()

    def run_prompt(self, prompt, script, cwd, agents=None):
        """`claude -p PROMPT` against a FakeModel playing SCRIPT (and AGENTS, see
        fake_model); returns (fake, events, proc)."""
        with FakeModel(script, agents=agents) as fake:
            proc = self.claude("-p", prompt, "--output-format", "stream-json", "--verbose",
                               cwd=cwd, base_url=fake.base_url, check=False)
        (self.tmp / "stdout.jsonl").write_text(proc.stdout)
        (self.tmp / "stderr.txt").write_text(proc.stderr)
        (self.tmp / "requests.txt").write_text(fake.report())
        context = "\n--- requests ---\n%s\n--- stderr ---\n%s" % (fake.report(), proc.stderr[-3000:])
        self.assertFalse(fake.errors, "the scripted model failed:\n%s%s"
                         % ("\n\n".join(fake.errors), context))
        self.assertEqual(proc.returncode, 0, "claude -p exited %d%s" % (proc.returncode, context))
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        denied = [e for e in events if e.get("subtype") == "permission_denied"]
        self.assertEqual(denied, [], "permission denied:\n%s" % json.dumps(denied, indent=1))
        result = [e for e in events if e.get("type") == "result"]
        self.assertTrue(result and not result[-1].get("is_error") and not result[-1].get("permission_denials"),
                        "no clean result event:\n%s" % json.dumps(result, indent=1)[-3000:])
        return fake, events, proc

    # ---- a. manifests -----------------------------------------------------

    def assert_validates(self, proc):
        errors = [line for line in proc.stdout.splitlines() + proc.stderr.splitlines()
                  if line.lstrip().startswith("✘") or re.search(r"\berror\b", line, re.I)]
        self.assertEqual(errors, [], proc.stdout + proc.stderr)
        self.assertIn("Validation passed", proc.stdout)

    def test_validate_marketplace_strict(self):
        self.assert_validates(self.claude("plugin", "validate", "--strict", "."))

    def test_validate_plugin_directory_profile(self):
        proc = self.claude("plugin", "validate", "--strict", "--profile", "directory", "plugins/ratchet")
        self.assert_validates(proc)
        self.assertIn("skills: ratchet:ratchet", proc.stdout)
        for agent in ("ratchet-proposer-a", "ratchet-proposer-b", "ratchet-critic"):
            self.assertIn(f"agents: ratchet:{agent}", proc.stdout)

    # ---- b. install ---------------------------------------------------------

    def test_install_from_local_marketplace(self):
        self.install_plugin()
        listed = json.loads(self.claude("plugin", "list", "--json").stdout)
        mine = [p for p in listed if p.get("id") == PLUGIN]
        self.assertEqual(len(mine), 1, json.dumps(listed, indent=1))
        self.assertIs(mine[0].get("enabled"), True, json.dumps(mine, indent=1))

    # ---- c. always-on token cost --------------------------------------------

    def test_always_on_token_cost(self):
        self.install_plugin()
        out = self.claude("plugin", "details", "ratchet").stdout
        self.assertIn("Skills (1)  ratchet", out)
        # "Always-on:   ~29 tok   added to every session" (also "< 20 tok", "~1.2k tok")
        m = re.search(r"Always-on:\s*(?:~|<)?\s*([\d.,]+)\s*(k?)\s*tok", out)
        self.assertTrue(m, "no always-on token count in `claude plugin details`:\n" + out)
        tokens = float(m.group(1).replace(",", "")) * (1000 if m.group(2) else 1)
        if os.environ.get("RATCHET_TEST_TIMINGS") == "1":
            sys.stderr.write("\nalways-on tokens: %g\n" % tokens)
        self.assertLessEqual(tokens, ALWAYS_ON_BUDGET, out)

    # ---- d. the loop --------------------------------------------------------

    def make_bench_repo(self):
        """A git repo whose benchmark prints `score: <loop iterations>` (lower is better)."""
        repo = self.tmp / "project"
        repo.mkdir()
        (repo / "work.py").write_text(WORK_PY)
        # No .pyc: an edit of the same size within the same second as the last
        # compile would otherwise be measured with the stale bytecode.
        (repo / "bench.py").write_text(
            "import sys\n"
            "sys.dont_write_bytecode = True\n"
            "from work import count_steps\n\n"
            "print('score: %d' % count_steps())\n")
        (repo / ".gitignore").write_text("__pycache__/\n")
        self.git(repo, "init", "-q")
        self.git(repo, "add", ".")
        self.git(repo, "commit", "-q", "-m", "start")
        return repo

    def test_ratchet_loop_keeps_improvement_and_reverts_regression(self):
        self.install_plugin()
        repo = self.make_bench_repo()
        start = self.git(repo, "rev-parse", "HEAD")
        args = ('--run-command "python3 bench.py" --direction min --metric-name score '
                '--report-source stdout --trials 2 --iterations 2')
        seen = {}

        def read_work(body):
            seen.setdefault("decisions", []).append(last_json(body))
            return tool_use("Read", file_path=str(repo / "work.py"))

        def edit(old, new):
            def turn(body):
                last_result(body)
                return tool_use("Edit", file_path=str(repo / "work.py"), old_string=old, new_string=new)
            return turn

        def trials(hypothesis):
            return trials_turn(seen, hypothesis)

        def decide(description):
            return decide_turn(seen, description)

        def show_status(body):
            seen.setdefault("decisions", []).append(last_json(body))
            return ratchet(seen, "status --format text")  # SKILL.md: when stopped, show the status

        def finish(body):
            seen["status"] = last_result(body)
            return "Done: one improvement kept, one regression reverted."

        script = start_turns(args, seen) + [
            read_work, edit("STEP = 1", "STEP = 4"), trials("bigger steps, fewer iterations"),
            decide("step 4"),
            read_work, edit("STEP = 4", "STEP = 2"), trials("smaller steps"), decide("step 2"),
            show_status, finish,
        ]
        fake, events, _ = self.run_prompt("/ratchet " + args, script, repo)
        report = "\n--- requests ---\n" + fake.report()
        assert_skill_loaded(self, fake.main_requests[0]["body"])
        plugins = [p for e in events if e.get("subtype") == "init" for p in e.get("plugins", [])
                   if p.get("name") == "ratchet"]
        self.assertEqual([Path(p["path"]).resolve() for p in plugins], [(REPO_ROOT / "plugins/ratchet").resolve()],
                         "the session did not load this checkout's plugin: %s" % plugins)

        # The skill body arrived with its placeholders replaced by a real path.
        skill_dir = Path(seen["skill_dir"])
        self.assertTrue(skill_dir.is_absolute() and (skill_dir / "scripts" / "ratchet.py").is_file(),
                        "skill dir %s has no scripts/ratchet.py" % skill_dir)
        self.assertEqual(skill_dir.resolve(), (REPO_ROOT / "plugins/ratchet/skills/ratchet").resolve())
        body = seen["skill_text"]
        for placeholder in ("${CLAUDE_SKILL_DIR}", "${CLAUDE_PLUGIN_ROOT}", "$ARGUMENTS"):
            self.assertNotIn(placeholder, body, "unsubstituted %s in the skill body" % placeholder)
        self.assertTrue(seen["integrity"].strip(), "instructions/integrity.md read as empty")
        self.assertIn(args, body, "the skill body lost the arguments")

        # Every ratchet.py call succeeded.
        calls, failed = ratchet_calls(events)
        self.assertEqual(failed, [], report)
        self.assertEqual(len(calls), 8, "expected 8 ratchet.py calls, got:\n" + "\n".join(calls.values()))

        # The decisions the script printed, and what it recorded.
        baseline, kept, reverted = seen["decisions"]  # the JSON printed by each decide
        self.assertEqual(baseline.get("decision"), "baseline", json.dumps(baseline))
        self.assertEqual((kept.get("decision"), kept.get("kept")), ("improve", True), json.dumps(kept))
        self.assertEqual((reverted.get("decision"), reverted.get("kept")), ("regress", False), json.dumps(reverted))
        self.assertIs(reverted.get("stop", {}).get("stopped"), True, "--iterations 2 did not stop the run: "
                      + json.dumps(reverted))
        self.assertTrue(seen["status"].strip(), "empty `status --format text`")
        results = repo / ".ratchet" / "results.jsonl"
        records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
        self.assertEqual([(r["iter"], r["decision"], r["kept"]) for r in records],
                         [(0, "baseline", True), (1, "improve", True), (2, "regress", False)],
                         json.dumps(records, indent=1))

        # Git: exactly one new commit (the kept change), and the tree is at the best version.
        new_commits = self.git(repo, "rev-list", "%s..HEAD" % start).split()
        self.assertEqual(len(new_commits), 1, self.git(repo, "log", "--oneline", "-5"))
        self.assertEqual(self.git(repo, "rev-parse", "HEAD^"), start)
        self.assertIn("STEP = 4", self.git(repo, "show", "HEAD:work.py"))
        self.assertIn("STEP = 4", (repo / "work.py").read_text())
        self.assertTrue(self.git(repo, "branch", "--show-current").startswith("ratchet/"))
        self.assertEqual(self.git(repo, "status", "--porcelain"), "")
        self.assertEqual(self.git(repo, "rev-parse", "main"), start, "the starting branch moved")

    # ---- e. critic mode -----------------------------------------------------

    # Proposer a returns the real improvement (4x fewer loop iterations); b a
    # different diff that leaves the score as it is. Both in the agents' output contract.
    PROPOSAL_A = (
        "HYPOTHESIS: Step by 4 instead of 1, so the loop runs a quarter of the iterations.\n"
        "EXPECTED: score -75%\n"
        "RATIONALE:\n"
        "count_steps adds STEP until it reaches the limit; the score counts the loop iterations.\n"
        "DIFF:\n"
        "```diff\n"
        "diff --git a/work.py b/work.py\n"
        "--- a/work.py\n"
        "+++ b/work.py\n"
        "@@ -1,4 +1,4 @@\n"
        "-STEP = 1\n"
        "+STEP = 4\n"
        " \n"
        " \n"
        " def count_steps(limit=1000):\n"
        "```\n")
    PROPOSAL_B = (
        "HYPOTHESIS: Loop over range() instead of updating n by hand.\n"
        "EXPECTED: score unchanged, less interpreter work per step\n"
        "RATIONALE:\n"
        "The while loop updates and compares n in Python; range does it in C.\n"
        "DIFF:\n"
        "```diff\n"
        "diff --git a/work.py b/work.py\n"
        "--- a/work.py\n"
        "+++ b/work.py\n"
        "@@ -4,6 +4,5 @@\n"
        " def count_steps(limit=1000):\n"
        "     n = steps = 0\n"
        "-    while n < limit:\n"
        "-        n += STEP\n"
        "+    for n in range(0, limit, STEP):\n"
        "         steps += 1\n"
        "     return steps\n"
        "```\n")

    def test_the_editable_set_and_the_constraints_reach_the_model(self):
        self.install_plugin()
        repo = self.make_bench_repo()
        (repo / "bench.py").write_text((repo / "bench.py").read_text() + "print('errors: 0')\n")
        self.git(repo, "commit", "-qam", "errors too")
        args = ('--run-command "python3 bench.py" --direction min --metric-name score --report-source stdout '
                '--trials 1 --iterations 1 --editable work.py --constraint "errors<=0"')
        seen = {}

        def status(body):
            seen["baseline"] = last_json(body)
            return ratchet(seen, "status")

        def stop(body):
            seen["status"] = last_json(body)
            return ratchet(seen, "stop")  # the run is not over: the Stop hook would send the model on

        def finish(body):
            last_json(body)
            return "Read the scope."

        fake, events, _ = self.run_prompt("/ratchet " + args, start_turns(args, seen) + [status, stop, finish],
                                          repo)
        # What the model read, as the model server received it.
        self.assertEqual(seen["init"]["editable"], ["work.py"])
        self.assertEqual(seen["init"]["constraints"], ["errors<=0"])
        self.assertEqual(seen["status"]["editable"], ["work.py"])
        self.assertEqual(seen["status"]["constraints"], [{"constraint": "errors<=0", "baseline": 0.0, "best": 0.0}])
        self.assertEqual(seen["baseline"]["best"]["metrics"], {"errors": 0.0})
        self.assertIn("change only files they match", seen["skill_text"], "SKILL.md says what editable means")

    def test_critic_iteration_keeps_the_picked_improvement(self):
        """--critic: two proposer subagents in parallel, a blind critic, verdict, measure, keep."""
        self.install_plugin()
        repo = self.make_bench_repo()
        start = self.git(repo, "rev-parse", "HEAD")
        args = ('--run-command "python3 bench.py" --direction min --metric-name score '
                '--report-source stdout --iterations 1 --critic')
        seen = {}

        def spawn(agent, description, prompt):
            return tool_use("Agent", subagent_type="ratchet:" + agent, description=description,
                            prompt=prompt, run_in_background=False)

        def answers(body):
            """{agent: answer} of the Agent calls of the last turn (critic-mode.md step 4).

            Matched by tool_use id: parallel agents' results come back in the order they finished."""
            messages = body["messages"]
            last_call = [m for m in messages if m.get("role") == "assistant"][-1]
            agent_of = {b["id"]: b["input"]["subagent_type"] for b in fake_model.blocks(last_call)
                        if b.get("type") == "tool_use" and b.get("name") == "Agent"}
            results = {b["tool_use_id"]: b for m in messages if m.get("role") == "user"
                       for b in fake_model.blocks(m) if b.get("tool_use_id") in agent_of}
            assert len(results) == len(agent_of), "%d Agent calls, %d results" % (len(agent_of), len(results))
            for result in results.values():
                assert not result.get("is_error"), "an Agent call failed: " + fake_model.block_text(result)[:2000]
            return {agent_of[i].split(":", 1)[1]: handed_back(fake_model.block_text(r)) for i, r in results.items()}

        def write(name, content):
            return tool_use("Write", file_path=str(repo / ".ratchet" / "proposals" / name), content=content)

        def read_critic_mode(body):   # SKILL.md 4.1: with --critic, follow critic-mode.md
            seen["baseline"] = last_json(body)
            assert "critic-mode.md" in seen["baseline"]["next"], seen["baseline"]["next"]
            return tool_use("Read", file_path=seen["skill_dir"] + "/instructions/critic-mode.md")

        def status(body):   # step 1: no runner-up offered; step 2 needs the latest status
            assert "save what lies between, as it is" in last_result(body), "critic-mode.md lost the step 4 saving rule"
            assert "runner-up" not in seen["baseline"]["next"], seen["baseline"]["next"]
            return ratchet(seen, "status")

        def proposers(body):   # steps 2-3: one prompt, two Agent calls in ONE message
            prompt = ("Repository root: %s\nGoal: lower `score` is better (--direction min).\n"
                      "Latest status:\n%s\nProtected globs: none\nRun instructions:\n%s"
                      % (repo, json.dumps(last_json(body)), seen["init"].get("instructions", "")))
            return [spawn("ratchet-proposer-a", "ratchet proposal a", prompt),
                    spawn("ratchet-proposer-b", "ratchet proposal b", prompt)]

        def save_proposals(body):   # step 4
            seen["answers"] = answers(body)
            return [write("incoming-a.md", seen["answers"]["ratchet-proposer-a"]),
                    write("incoming-b.md", seen["answers"]["ratchet-proposer-b"])]

        def propose_a(body):   # step 5
            for result, is_error in fake_model.tool_results(body):
                assert not is_error, "Write failed: " + result
            return ratchet(seen, "propose --slot a")

        def propose_b(body):
            seen["propose_a"] = last_json(body)
            return ratchet(seen, "propose --slot b")

        def judge_packet(body):   # step 6
            seen["propose_b"] = last_json(body)
            return ratchet(seen, "judge-packet")

        def critic(body):   # step 7
            seen["packet"] = last_json(body)
            assert seen["packet"]["candidates"] == 2, json.dumps(seen["packet"])
            return spawn("ratchet-critic", "ratchet verdict",
                         "Judge the candidates in %s. Repository root: %s." % (seen["packet"]["packet"], repo))

        def save_verdict(body):   # step 8
            seen["verdict_answer"] = answers(body)["ratchet-critic"]
            return write("incoming-verdict.md", seen["verdict_answer"])

        def verdict(body):
            last_result(body)
            return ratchet(seen, "verdict")

        def measure(body):   # step 9
            seen["verdict"] = last_json(body)
            assert seen["verdict"]["applied"] is True, json.dumps(seen["verdict"])
            return ratchet(seen, 'run-trial --all --hypothesis "%s"' % seen["verdict"]["hypothesis"])

        def decide(body):
            last_json(body)
            return ratchet(seen, 'decide --description "step 4 instead of 1"')

        def audit(body):   # the run stopped: critic-audit, then the status for the user
            seen["decision"] = last_json(body)
            return ratchet(seen, "critic-audit")

        def show_status(body):
            seen["audit"] = last_json(body)
            return ratchet(seen, "status --format text")

        def finish(body):
            last_result(body)
            return "Done: the critic picked the bigger step; it measured better and was kept."

        # The subagents: each proposer reads work.py, then answers; the critic
        # reads its packet and picks the candidate that steps by 4, whatever its label.
        def read_file(path_of):
            def turn(body):
                return tool_use("Read", file_path=path_of(user_text(body)))
            return turn

        def propose(answer):
            def turn(body):
                assert "STEP = 1" in last_result(body), "the proposer did not get work.py"
                return answer
            return turn

        def pick(body):
            packet = last_result(body)
            sections = dict(re.findall(r"## Candidate ([XY])\n(.*?)(?=## Candidate|\Z)", packet, re.S))
            label, = [lab for lab, text in sections.items() if "+STEP = 4" in text]
            return json.dumps({"pick": label, "confidence": 0.8, "integrity_concerns": [],
                               "reasons": "Stepping by 4 cuts the counted iterations by 75%; "
                                          "the other candidate keeps the same number of iterations."})

        def packet_path(text):
            m = re.search(r"Judge the candidates in (\S+)\. Repository root", text)
            assert m, "no packet path in the critic's prompt"
            return m.group(1)

        work_py = read_file(lambda text: str(repo / "work.py"))
        markers = agent_markers()
        agents = {"ratchet-proposer-a": (markers["ratchet-proposer-a"], [work_py, propose(self.PROPOSAL_A)]),
                  "ratchet-proposer-b": (markers["ratchet-proposer-b"], [work_py, propose(self.PROPOSAL_B)]),
                  "ratchet-critic": (markers["ratchet-critic"], [read_file(packet_path), pick])}
        script = start_turns(args, seen) + [
            read_critic_mode, status, proposers, save_proposals, propose_a, propose_b, judge_packet,
            critic, save_verdict, verdict, measure, decide, audit, show_status, finish]
        fake, events, _ = self.run_prompt("/ratchet " + args, script, repo, agents=agents)
        report = "\n--- requests ---\n" + fake.report()

        # Each agent type resolved to its plugin agent and ran as a subagent
        # (two turns each: a Read, then the answer), with its file as system prompt.
        for name, (marker, _) in agents.items():
            got = fake.agent_requests(name)
            self.assertEqual(len(got), 2, "ratchet:%s: expected 2 subagent requests%s" % (name, report))
            for request in got:
                self.assertTrue(request["headers"].get("x-claude-code-agent-id"), name)
                self.assertIn(marker, fake_model.system_text(request["body"]), name)
        def unindent(text):  # undo the hand-back's two-space indentation
            return "\n".join(ln[2:] if ln.startswith("  ") else ln.lstrip(" ") for ln in text.split("\n")).strip()

        self.assertEqual({name: unindent(text) for name, text in seen["answers"].items()},
                         {"ratchet-proposer-a": self.PROPOSAL_A.strip(), "ratchet-proposer-b": self.PROPOSAL_B.strip()},
                         "the proposals did not come back intact (but for the hand-back's indentation) "
                         "through the Agent tool" + report)

        # The critic saw the candidates, but nothing that names a proposer.
        critic_seen = json.dumps([r["body"] for r in fake.agent_requests("ratchet-critic")])
        self.assertIn("STEP = 4", critic_seen, "the critic never read the packet" + report)
        for name in ("proposer-a", "proposer-b", "proposer a", "proposer b"):
            self.assertNotIn(name, critic_seen.lower(), "the critic's requests name a proposer" + report)

        # Every ratchet.py call succeeded, in the order critic-mode.md gives.
        calls, failed = ratchet_calls(events)
        self.assertEqual(failed, [], report)
        self.assertEqual([c.split("ratchet.py ", 1)[1].split()[0] for c in calls.values()],
                         ["init", "run-trial", "decide", "status", "propose", "propose", "judge-packet",
                          "verdict", "run-trial", "decide", "critic-audit", "status"], report)
        self.assertEqual((seen["propose_a"]["valid"], seen["propose_b"]["valid"]), (True, True),
                         json.dumps([seen["propose_a"], seen["propose_b"]]))
        self.assertEqual((seen["decision"]["decision"], seen["decision"]["kept"]), ("improve", True),
                         json.dumps(seen["decision"]))
        self.assertIs(seen["decision"]["stop"]["stopped"], True, json.dumps(seen["decision"]))
        self.assertEqual(seen["audit"]["contests"], 1, json.dumps(seen["audit"]))

        # results.jsonl: iteration 1 carries both proposals, the blinded mapping and the verdict.
        records = [json.loads(line) for line in (repo / ".ratchet" / "results.jsonl").read_text().splitlines()
                   if line.strip()]
        self.assertEqual([(r["iter"], r["decision"], r["kept"]) for r in records],
                         [(0, "baseline", True), (1, "improve", True)], json.dumps(records, indent=1))
        c = records[1].get("critic")
        self.assertTrue(c, "iteration 1 has no critic field:\n" + json.dumps(records[1], indent=1))
        shown = json.dumps(c, indent=1)
        self.assertEqual(sorted(c["proposals"]), ["a", "b"], shown)
        self.assertTrue(all(p["valid"] for p in c["proposals"].values()), shown)
        self.assertIn("Step by 4", c["proposals"]["a"]["hypothesis"], shown)
        self.assertEqual(sorted(c["blind"]["labels"].values()), ["a", "b"], shown)
        self.assertEqual(c["blind"]["labels"][c["verdict"]["pick"]], "a", shown)
        self.assertEqual((c["picked"], c["measured"], c["measured_exact"], c["runner_up"]),
                         ("a", "a", True, "b"), shown)

        # Git: exactly one new commit, the picked diff.
        new_commits = self.git(repo, "rev-list", "%s..HEAD" % start).split()
        self.assertEqual(len(new_commits), 1, self.git(repo, "log", "--oneline", "-5"))
        self.assertIn("STEP = 4", self.git(repo, "show", "HEAD:work.py"))
        self.assertIn("while n < limit", self.git(repo, "show", "HEAD:work.py"))
        self.assertEqual(self.git(repo, "status", "--porcelain"), "")

    def test_namespaced_command_resolves(self):
        """/ratchet:ratchet loads the skill; every file its body names exists."""
        self.install_plugin()
        fake, _, _ = self.run_prompt("/ratchet:ratchet --direction max",
                                     [lambda body: "Nothing to do."], self.tmp)
        body = fake.main_requests[0]["body"]
        assert_skill_loaded(self, body)
        skill = skill_block(body)
        self.assertIn("--direction max", skill)
        skill_dir = re.match(r"Base directory for this skill: (\S+)", skill).group(1)
        named = re.findall(re.escape(skill_dir) + r"/[\w./-]*\w", skill)
        self.assertIn(skill_dir + "/scripts/ratchet.py", named)
        missing = sorted(set(p for p in named if not Path(p).is_file()))
        self.assertEqual(missing, [], "the skill body names missing files")


if __name__ == "__main__":
    unittest.main()
