"""--editable: the glob rule, the scope check, and its enforcement end to end
(run-trial refuses before any trial, decide records an integrity_violation,
critic mode disqualifies a diff outside the set before the judge)."""

import os
import shlex
import shutil
import sys
import unittest
from pathlib import Path
from unittest import mock

from core import scope
from critic import commands as critic
from tests.support import GIT_ENV, RepoTestCase, git, make_repo
from tests.test_critic import answer, cost_diff, ns

from commands import decide, init, trial


class Globs(unittest.TestCase):
    def test_globs_read_like_protect(self):
        cases = [("src/a.py", "src/**", True), ("src/a/b.py", "src/**", True), ("src/a.py", "src", True),
                 ("src/a.py", "src/", True), ("src/a.py", "/src", True), ("src/a.py", "./src", True),
                 ("srcx/a.py", "src", False), ("srcx/a.py", "src*", False), ("a.py", "*.py", True),
                 ("d/a.py", "*.py", False), ("d/a.py", "**/*.py", True), ("a.py", "**/*.py", True),
                 ("src/x/y.c", "src/*/y.c", True), ("src/y.c", "src/*/y.c", False),
                 ("src/y.c", "src/**/y.c", True), ("SRC/a.py", "src", False), ("src/a1.py", "src/a?.py", True),
                 ("src/ab.py", "src/a[0-9].py", False)]
        for path, glob, expected in cases:
            self.assertEqual(scope.matches(path, glob), expected, f"{path} vs {glob}")

    def test_no_editable_set_means_no_scope_check(self):
        self.assertEqual(scope.problems([("M", "anything.py")], {"x": "/etc"}, ()), [])

    def test_each_kind_of_change_outside_is_named(self):
        got = scope.problems([("A", "new.txt"), ("D", "old.py"), ("M", "bench.py"), ("T", "t.sh"),
                              ("M", "src/ok.py")], {}, ["src/"])
        self.assertEqual(got, ["outside the editable set (added): new.txt",
                               "outside the editable set (deleted): old.py",
                               "outside the editable set (modified): bench.py",
                               "outside the editable set (type changed): t.sh"])

    def test_a_rename_out_of_the_set_counts_both_sides(self):
        got = scope.problems([("D", "src/a.py"), ("A", "lib/a.py")], {}, ["src/"])
        self.assertEqual(got, ["outside the editable set (added): lib/a.py"])
        got = scope.problems([("D", "lib/a.py"), ("A", "src/a.py")], {}, ["src/"])
        self.assertEqual(got, ["outside the editable set (deleted): lib/a.py"])

    def test_symlinks_must_point_inside_the_set(self):
        links = {"src/in": "other.py", "src/up": "../bench.sh", "src/deep/x": "../y.py",
                 "src/out": "../../etc/passwd", "src/abs": "/etc/passwd"}
        got = scope.problems([("A", p) for p in links], links, ["src/"])
        self.assertEqual(got, ["symlink points out of the repository (/etc/passwd): src/abs",
                               "symlink points out of the repository (../../etc/passwd): src/out",
                               "symlink points out of the editable set (../bench.sh): src/up"])


class EndToEnd(RepoTestCase):
    files = {
        "src/work.py": "N = 1000\n",
        "lib/helper.py": "X = 1\n",
        "bench.py": "import sys\nsys.path.insert(0, 'src')\nimport work\nprint('score:', work.N)\n",
        ".gitignore": "ignored/\n__pycache__/\n",
    }

    def begin(self, *extra):
        self.init("--editable", "src/", "--protect", "bench.py", *extra)
        self.iteration("baseline")

    def test_a_change_inside_the_set_is_measured_and_kept(self):
        self.begin()
        self.write("src/work.py", "N = 900\n")
        self.write("src/new_module.py", "Y = 2\n")
        out = self.iteration("faster")
        self.assertEqual(out["decision"], "improve")

    def test_a_change_outside_is_refused_before_any_trial_and_recorded(self):
        self.begin()
        self.write("src/work.py", "N = 900\n")
        self.write("lib/helper.py", "X = 2\n")
        self.write("notes.txt", "new\n")
        out = self.ok("run-trial", "--all", "--hypothesis", "h")
        self.assertEqual(out["integrity_violation"], ["outside the editable set (modified): lib/helper.py",
                                                      "outside the editable set (added): notes.txt"])
        self.assertNotIn("trials", out)
        rec = self.ok("decide", "--description", "touches lib")
        self.assertEqual(rec["decision"], "integrity_violation")
        last = self.results()[-1]
        self.assertEqual(last["n_trials"], 0)
        self.assertIn("lib/helper.py", last["reason"])
        self.assertEqual(self.read("lib/helper.py"), "X = 1\n", "reverted")
        self.assertEqual(self.read("src/work.py"), "N = 1000\n")

    def test_deleting_or_renaming_out_of_the_set_is_a_violation(self):
        self.begin()
        (self.repo / "lib/helper.py").rename(self.repo / "src/helper.py")
        out = self.ok("run-trial", "--all")
        self.assertEqual(out["integrity_violation"], ["outside the editable set (deleted): lib/helper.py"])

    def test_git_ignored_outputs_never_count(self):
        self.begin()
        self.write("src/work.py", "N = 900\n")
        self.write("ignored/cache.bin", "x")
        self.write("src/__pycache__/work.pyc", "x")
        self.assertEqual(self.iteration("faster")["decision"], "improve")
        self.assertTrue((self.repo / "ignored/cache.bin").exists(), "an ignored file is never touched")

    def test_a_symlink_out_of_the_set_is_a_violation(self):
        self.begin()
        self.write("src/work.py", "N = 900\n")
        os.symlink("../bench.py", self.repo / "src/bench_link.py")
        out = self.ok("run-trial", "--all")
        self.assertEqual(out["integrity_violation"],
                         ["symlink points out of the editable set (../bench.py): src/bench_link.py"])

    def test_the_set_is_shown_in_init_and_status(self):
        out = self.init("--editable", "src/", "--editable", "*.py")
        self.assertEqual(out["editable"], ["src/", "*.py"])
        self.assertEqual(self.ok("status")["editable"], ["src/", "*.py"])
        self.assertIn("editable: src/, *.py", self.cli("status", "--format", "text").stdout)

    def test_a_glob_matching_no_tracked_file_is_refused_with_nothing_written(self):
        res = self.cli("init", "--run-command", "true", "--direction", "min", "--metric-name", "score",
                       "--report-source", "stdout", "--editable", "srcx/")
        self.assertEqual(res.code, 2)
        self.assertIn("--editable 'srcx/' matches no tracked file", res.stderr)
        self.assertEqual(len(res.stderr.strip().splitlines()), 1)
        self.assertFalse((self.repo / ".ratchet").exists())
        res = self.cli("init", "--run-command", "true", "--direction", "min", "--metric-name", "score",
                       "--report-source", "stdout", "--editable", " ")
        self.assertEqual((res.code, res.stderr.strip()), (2, "ratchet: error: --editable needs a non-empty glob"))


class CriticScope(unittest.TestCase):
    def setUp(self):
        env = mock.patch.dict(os.environ, GIT_ENV)
        env.start()
        self.addCleanup(env.stop)
        algo = "def helper():\n    return 1\n\n\nCOST = 10\n\n\ndef other():\n    return 2\n"
        bench = "import sys\nsys.path.insert(0, 'src')\nimport algo\nprint(f'cost: {algo.COST}')\n"
        self.root = make_repo({"src/algo.py": algo, "lib/algo.py": algo, "bench.py": bench})
        self.addCleanup(shutil.rmtree, self.root, True)
        init.init(["--run-command", f"{shlex.quote(sys.executable)} bench.py", "--direction", "min",
                   "--metric-name", "cost", "--report-source", "stdout", "--critic", "--editable", "src/"], self.root)
        trial.run_trial(self.root, True, None)
        decide.decide(self.root, "baseline")

    def test_a_diff_outside_the_set_is_disqualified_before_the_judge(self):
        incoming = self.root / ".ratchet" / "proposals"
        incoming.mkdir(parents=True, exist_ok=True)
        (incoming / "incoming-a.md").write_text(answer("lib", cost_diff(7, "lib/algo.py")))
        (incoming / "incoming-b.md").write_text(answer("src", cost_diff(8)))
        ra = critic.propose(self.root, ns(slot="a"))
        rb = critic.propose(self.root, ns(slot="b"))
        self.assertFalse(ra["valid"])
        self.assertIn("outside the editable set (changed): lib/algo.py", ra["problems"])
        self.assertTrue(rb["valid"], rb)
        out = critic.judge_packet(self.root, ns())
        self.assertEqual(out["candidates"], 1)
        packet = Path(out["packet"]).read_text()
        self.assertIn("Editable (a change touching anything else is invalid): src/", packet)
        self.assertEqual(git(self.root, "status", "--porcelain"), "")


if __name__ == "__main__":
    unittest.main()
