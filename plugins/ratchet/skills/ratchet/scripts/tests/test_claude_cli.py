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
ALWAYS_ON_BUDGET = 150  # tokens every session of every user pays for the plugin
CLI_TIMEOUT = 120       # seconds; each scenario normally takes a few

if not CLAUDE and os.environ.get("RATCHET_REQUIRE_CLAUDE") == "1":
    raise RuntimeError("RATCHET_REQUIRE_CLAUDE=1 but no `claude` on PATH")


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

    def run_prompt(self, prompt, script, cwd):
        """`claude -p PROMPT` against a FakeModel playing SCRIPT; returns (fake, events, proc)."""
        with FakeModel(script) as fake:
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
        (repo / "work.py").write_text(
            "STEP = 1\n\n\n"
            "def count_steps(limit=1000):\n"
            "    n = steps = 0\n"
            "    while n < limit:\n"
            "        n += STEP\n"
            "        steps += 1\n"
            "    return steps\n")
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

        def ratchet(command):
            return bash("python3 %s/scripts/ratchet.py %s" % (seen["skill_dir"], command),
                        "ratchet " + command.split()[0])

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
            return ratchet("init " + args)

        def baseline_trials(body):
            seen["init"] = last_json(body)
            return ratchet("run-trial --all")

        def baseline_decide(body):
            last_json(body)
            return ratchet('decide --description "baseline"')

        def read_work(body):
            seen.setdefault("decisions", []).append(last_json(body))
            return tool_use("Read", file_path=str(repo / "work.py"))

        def edit(old, new):
            def turn(body):
                last_result(body)
                return tool_use("Edit", file_path=str(repo / "work.py"), old_string=old, new_string=new)
            return turn

        def trials(hypothesis):
            def turn(body):
                last_result(body)
                return ratchet('run-trial --all --hypothesis "%s"' % hypothesis)
            return turn

        def decide(description):
            def turn(body):
                last_json(body)
                return ratchet('decide --description "%s"' % description)
            return turn

        def show_status(body):
            seen.setdefault("decisions", []).append(last_json(body))
            return ratchet("status --format text")  # SKILL.md: when stopped, show the status

        def finish(body):
            seen["status"] = last_result(body)
            return "Done: one improvement kept, one regression reverted."

        script = [
            read_skill, init, baseline_trials, baseline_decide,
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
        calls = {b["id"]: b["input"]["command"] for e in events if e.get("type") == "assistant"
                 for b in e["message"]["content"] if b.get("type") == "tool_use" and b["name"] == "Bash"}
        failed = [(calls[b["tool_use_id"]], b.get("content")) for e in events if e.get("type") == "user"
                  for b in e["message"]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"
                  and b.get("is_error") and "ratchet.py" in calls.get(b["tool_use_id"], "")]
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
