"""End-to-end tests of ratchet.py against temporary git repositories."""

import json
import subprocess
import sys
import time
import unittest
from unittest import mock

from tests.support import RATCHET, RepoTestCase, git

PY = sys.executable


class FullLoop(RepoTestCase):
    def test_baseline_keep_revert_crash_then_patience_stops(self):
        out = self.init("--patience", "2", "--trials", "2")
        self.assertEqual(out["branch"], f"ratchet/{out['run_id']}")
        base = self.iteration("baseline")
        self.assertEqual((base["decision"], base["kept"], base["best"]["score"]), ("baseline", True, 1000.0))

        self.write("work.py", "N = 800\n")
        keep = self.iteration("smaller N", hypothesis="less work is faster")
        self.assertEqual((keep["decision"], keep["kept"]), ("improve", True))
        self.assertEqual(keep["best"]["score"], 800.0)
        kept_sha = git(self.repo, "rev-parse", "HEAD")
        self.assertEqual(keep["best"]["sha"], kept_sha)

        self.write("work.py", "N = 900\n")
        self.write("helper.py", "junk = 1\n")
        self.write("ignored/cache.bin", "keep me")
        rev = self.iteration("bigger N")
        self.assertEqual((rev["decision"], rev["kept"]), ("regress", False))
        self.assertEqual(self.read("work.py"), "N = 800\n")
        self.assertFalse((self.repo / "helper.py").exists(), "untracked file from the change survived")
        self.assertEqual(self.read("ignored/cache.bin"), "keep me")
        self.assertFalse(rev["stop"]["stopped"])

        self.write("work.py", "raise SystemExit(3)\n")
        crash = self.iteration("broken")
        self.assertEqual((crash["decision"], crash["kept"]), ("crash", False))
        self.assertEqual(crash["stop"], {"stopped": True, "reason": "patience_exhausted"})
        self.assertEqual(self.read("work.py"), "N = 800\n")

        recs = self.results()
        self.assertEqual([r["decision"] for r in recs], ["baseline", "improve", "regress", "crash"])
        self.assertEqual([r["kept"] for r in recs], [True, True, False, False])
        self.assertEqual(recs[1]["trial_scores"], [800.0, 800.0])
        self.assertEqual(recs[1]["hypothesis"], "less work is faster")
        for field in ("iter", "hypothesis", "trial_scores", "avg", "decision", "kept", "description",
                      "sha", "timestamp"):
            self.assertIn(field, recs[2])
        # git: exactly one new commit, on the run branch; user's branch untouched
        self.assertEqual(git(self.repo, "rev-list", "--count", f"{self.start}..HEAD"), "1")
        self.assertEqual(git(self.repo, "rev-parse", "main"), self.start)
        self.assertEqual(git(self.repo, "log", "-1", "--format=%s"), "smaller N")
        self.assertNotIn(".ratchet", git(self.repo, "ls-tree", "-r", "--name-only", "HEAD"))
        # the reverted attempt is not lost
        self.assertEqual(git(self.repo, "show", f"{recs[2]['sha']}:work.py"), "N = 900")
        self.assertIn("helper.py", (self.repo / recs[2]["patch"]).read_text())
        # stopped runs refuse to go on
        res = self.cli("run-trial", "--all")
        self.assertEqual(res.code, 2)
        self.assertIn("patience_exhausted", res.stderr)
        text = self.cli("status", "--format", "text").stdout
        self.assertIn("stopped: patience_exhausted", text)
        self.assertIn("baseline 1000 -> best 800", text)

    def test_status_reports_phase_best_and_next(self):
        self.init()
        st = self.ok("status")
        self.assertEqual((st["iter"], st["phase"]), (0, "baseline"))
        self.assertIn("run-trial --all", st["next"])
        self.iteration("baseline")
        st = self.ok("status")
        self.assertEqual((st["iter"], st["phase"], st["best"]["score"]), (1, "propose", 1000.0))
        self.assertEqual(st["stop"], {"stopped": False, "reason": None})

    def test_deterministic_metric_calibrates_in_five_runs_then_one_trial_each(self):
        self.init("--calibration-runs", "30")
        base = self.iteration("baseline")
        self.assertEqual((base["calibration"]["design"], base["calibration"]["deterministic"]), ("exact", True))
        self.assertEqual(len(self.results()[0]["trials"]), 5)
        self.write("work.py", "N = 10\n")
        self.iteration("small")
        rec = self.results()[-1]
        self.assertEqual((rec["n_trials"], rec["incumbent_scores"]), (1, []))

    def test_iterations_cap_and_threshold_stop_the_run(self):
        self.init("--iterations", "1")
        self.iteration("baseline")
        self.write("work.py", "N = 999\n")
        self.assertEqual(self.iteration("tiny")["stop"]["reason"], "iterations_exhausted")

    def test_threshold_reached(self):
        self.init("--threshold", "900")
        self.iteration("baseline")
        self.write("work.py", "N = 850\n")
        self.assertEqual(self.iteration("big")["stop"], {"stopped": True, "reason": "threshold_reached"})

    def test_min_improvement_margin_turns_small_gains_into_no_change(self):
        self.init("--min-improvement", "5%")
        self.iteration("baseline")
        self.write("work.py", "N = 960\n")
        out = self.iteration("4 percent")
        self.assertEqual((out["decision"], out["kept"]), ("no_change", False))
        self.write("work.py", "N = 940\n")
        self.assertEqual(self.iteration("6 percent")["decision"], "improve")

    def test_crash_budget_stops_the_run(self):
        self.init("--max-consecutive-crashes", "2")
        self.iteration("baseline")
        for i in range(2):
            self.write("work.py", f"raise SystemExit({i + 1})\n")
            out = self.iteration(f"crash {i}")
        self.assertEqual(out["stop"]["reason"], "crash_budget_exhausted")

    def test_failed_baseline_stops_the_run(self):
        self.write("bench.py", "raise SystemExit(1)\n")
        git(self.repo, "commit", "-qam", "broken bench")
        self.init()
        out = self.iteration("baseline")
        self.assertEqual(out["decision"], "crash")
        self.assertEqual(out["stop"]["reason"], "baseline_failed")

    def test_timeout_is_a_crash(self):
        self.init("--trial-timeout-seconds", "0.5")
        self.iteration("baseline")
        self.write("work.py", "import time\ntime.sleep(30)\nN = 1\n")
        start = time.monotonic()
        trial = self.ok("run-trial", "--all")["trials"][0]
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(trial["status"], "crash")
        self.assertIn("timed out", trial["problem"])
        self.assertEqual(self.ok("decide", "--description", "sleepy")["decision"], "crash")

    def test_without_a_timeout_a_hang_is_capped_after_the_baseline(self):
        self.init()
        self.assertIsNone(self.ok("status")["trial_timeout_s"])
        self.iteration("baseline")
        self.assertEqual(self.ok("status")["trial_timeout_s"], 60.0)
        self.init("--trial-timeout-seconds", "7")
        self.iteration("baseline")
        self.assertEqual(self.ok("status")["trial_timeout_s"], 7.0)

    def test_one_trial_per_call_without_all(self):
        self.init("--trials", "3", "--calibration-runs", "3")
        first = self.ok("run-trial")
        self.assertEqual((first["trials_done"], first["trials_needed"]), (1, 3))
        self.assertEqual(self.ok("status")["phase"], "measuring")
        self.assertEqual(self.ok("run-trial", "--all")["trials_done"], 3)

    def test_works_from_a_subdirectory_and_under_isolated_python(self):
        sub = self.repo / "pkg"
        sub.mkdir()
        (sub / "b.py").write_text("print('score: 5')\n")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "sub")
        res = self.cli("init", "--run-command", f"{PY} b.py", "--direction", "max", "--metric-name", "score",
                       "--report-source", "stdout", cwd=sub, isolated=True)
        self.assertEqual(res.code, 0, res.stderr)
        self.assertTrue((self.repo / ".ratchet" / "config.json").is_file())
        self.ok("run-trial", "--all", cwd=sub, isolated=True)
        out = self.ok("decide", "--description", "baseline", cwd=self.repo, isolated=True)
        self.assertEqual(out["best"]["score"], 5.0)

    def test_no_branch_commits_on_the_current_branch(self):
        out = self.init("--no-branch")
        self.assertEqual(out["branch"], "main")
        self.iteration("baseline")
        self.write("work.py", "N = 10\n")
        self.iteration("small")
        self.assertEqual(git(self.repo, "rev-list", "--count", f"{self.start}..main"), "1")

    def test_baseline_refuses_an_edited_tree(self):
        self.init()
        self.write("work.py", "N = 1\n")
        res = self.cli("run-trial", "--all")
        self.assertEqual(res.code, 2)
        self.assertIn("baseline must measure the start commit unchanged", res.stderr)

    def test_iteration_without_a_change_is_refused(self):
        self.init()
        self.iteration("baseline")
        res = self.cli("run-trial", "--all")
        self.assertEqual(res.code, 2)
        self.assertIn("no change to measure", res.stderr)

    def test_decide_without_trials_is_refused(self):
        self.init()
        res = self.cli("decide", "--description", "x")
        self.assertEqual(res.code, 2)
        self.assertIn("run-trial", res.stderr)

    def test_commands_without_a_run_say_how_to_start_one(self):
        for args in (["status"], ["run-trial"], ["decide", "--description", "x"]):
            res = self.cli(*args)
            self.assertEqual(res.code, 2)
            self.assertIn("no ratchet run", res.stderr)


class ReportSources(RepoTestCase):
    def bench_run(self, bench: str, source: str, *extra: str, metric: str = "score", files: dict = None) -> None:
        """Commit `bench` as bench.py (plus `files`), then init a run reading `source`."""
        self.write("bench.py", bench)
        for name, text in (files or {}).items():
            self.write(name, text)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "bench")
        self.ok("init", "--run-command", f"{PY} bench.py", "--direction", "min", "--metric-name", metric,
                "--report-source", source, *extra)

    def test_stderr_source(self):
        self.bench_run("import sys, work\nprint('score: 1', file=sys.stdout)\nprint('score:', work.N, file=sys.stderr)\n",
                       "stderr")
        self.assertEqual(self.ok("run-trial", "--all")["trials"][0]["score"], 1000.0)

    def test_file_source_json_and_stale_file_is_a_crash(self):
        self.bench_run("import json, work\njson.dump({'t': {'mean': work.N / 10}}, open('out/r.json', 'w'))\n",
                       "out/r.json", metric="t.mean", files={".gitignore": "ignored/\n__pycache__/\nout/\n"})
        (self.repo / "out").mkdir()
        self.assertEqual(self.iteration("baseline")["best"]["score"], 100.0)
        self.write("bench.py", "pass\n")  # stops writing the report: the old file must not count
        trial = self.ok("run-trial", "--all")["trials"][0]
        self.assertEqual(trial["status"], "crash")
        self.assertIn("did not write the report file", trial["problem"])

    def test_editing_the_report_file_after_the_trials_is_a_violation(self):
        self.bench_run("import work\nopen('report.txt', 'w').write('score: %d' % work.N)\n", "report.txt",
                       "--calibration-runs", "2")
        self.iteration("baseline")
        self.write("work.py", "N = 5000\n")
        self.ok("run-trial", "--all")
        self.write("report.txt", "score: 1")
        out = self.ok("decide", "--description", "planted")
        self.assertEqual(out["decision"], "integrity_violation")
        self.assertIn("report file report.txt was modified", out["reason"])

    def test_tracked_report_file_with_a_noisy_metric_is_not_a_false_violation(self):
        self.bench_run("import os, work\nn = int(os.environ['RATCHET_TRIAL'])\n"
                       "open('report.txt', 'w').write('score: %d' % (work.N + n % 3))\n", "report.txt",
                       "--calibration-runs", "4", "--max-pairs", "4", "--confirm-pairs", "0",
                       files={"report.txt": "score: 0"})
        self.assertEqual(self.iteration("baseline")["calibration"]["design"], "sequential")
        self.write("work.py", "N = 500\n")
        out = self.iteration("smaller")
        self.assertEqual(out["decision"], "improve", out)
        self.assertNotIn("report.txt", git(self.repo, "diff", "--name-only", "HEAD~1", "HEAD"))

    def test_unreadable_report_file_is_a_crash(self):
        self.bench_run("import os\nos.makedirs('out/report.txt', exist_ok=True)\n", "out/report.txt",
                       "--calibration-runs", "2", files={".gitignore": "ignored/\n__pycache__/\nout/\n"})
        trial = self.ok("run-trial", "--all")["trials"][0]
        self.assertEqual(trial["status"], "crash")
        self.assertIn("cannot read the report file", trial["problem"])

    def test_untracked_report_file_is_never_committed_or_cleaned(self):
        self.bench_run("import work\nopen('report.txt', 'w').write('score: %d' % work.N)\n", "report.txt")
        self.iteration("baseline")
        self.write("work.py", "N = 5\n")
        self.assertTrue(self.iteration("smaller")["kept"])
        self.assertNotIn("report.txt", git(self.repo, "ls-tree", "-r", "--name-only", "HEAD"))
        self.assertTrue((self.repo / "report.txt").exists())

    def test_metric_regex(self):
        self.bench_run("import work\nprint('RESULT took %d ms' % work.N)\n", "stdout",
                       "--metric-regex", r"took (\d+) ms", metric="ms")
        self.assertEqual(self.ok("run-trial", "--all")["trials"][0]["score"], 1000.0)


class CrashKinds(RepoTestCase):
    def trial_after(self, bench: str) -> dict:
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 1\n")
        self.write("bench.py", bench)
        return self.ok("run-trial", "--all")["trials"][0]

    def test_empty_output_is_a_crash(self):
        trial = self.trial_after("pass\n")
        self.assertEqual(trial["status"], "crash")
        self.assertIn("printed nothing", trial["problem"])

    def test_output_without_any_number_is_a_crash_not_a_question(self):
        trial = self.trial_after("print('all done')\n")
        self.assertEqual(trial["status"], "crash")
        self.assertIn("holds no number", trial["problem"])

    def test_nan_metric_is_a_crash(self):
        trial = self.trial_after("print('score: nan')\n")
        self.assertEqual(trial["status"], "crash")
        self.assertIn("nan/inf", trial["problem"])


class AgentSuppliedScore(RepoTestCase):
    files = {**RepoTestCase.files, "bench.py": "import work\nprint('elapsed (score) =>', work.N)\n"}

    def test_score_must_appear_literally_and_is_marked_as_agent(self):
        self.init()
        trial = self.ok("run-trial", "--all")["trials"][0]
        self.assertEqual(trial["status"], "needs_score")
        self.assertEqual(self.ok("status")["phase"], "needs_score")
        res = self.cli("score", "--value", "999")
        self.assertEqual(res.code, 2)
        self.assertIn("does not appear", res.stderr)
        out = self.ok("score", "--value", "1000")
        self.assertEqual((out["score"], out["score_source"]), (1000.0, "agent"))
        self.assertEqual(self.ok("run-trial", "--all")["trials"][1]["status"], "needs_score")
        self.ok("score", "--value", "1000", "--trial", "2")
        self.assertEqual(self.ok("decide", "--description", "baseline")["decision"], "baseline")
        self.assertEqual([t["score_source"] for t in self.results()[0]["trials"]], ["agent", "agent"])

    def test_nan_typed_by_the_agent_is_refused(self):
        self.write("bench.py", "print('elapsed (score) => nan, 1 run')\n")
        git(self.repo, "commit", "-qam", "nan bench")
        self.init()
        self.assertEqual(self.ok("run-trial", "--all")["trials"][0]["status"], "needs_score")
        res = self.cli("score", "--value", "nan")
        self.assertEqual(res.code, 2)
        self.assertIn("not a score", res.stderr)

    def test_unscored_trial_counts_as_a_crash(self):
        self.init()
        self.ok("run-trial", "--all")
        self.assertEqual(self.ok("decide", "--description", "baseline")["decision"], "crash")

    def test_edited_report_cannot_be_scored(self):
        self.init()
        trial = self.ok("run-trial", "--all")["trials"][0]
        report = self.repo / trial["report"]
        report.write_text("score: 1\n")
        res = self.cli("score", "--value", "1")
        self.assertEqual(res.code, 2)
        self.assertIn("changed after the trial", res.stderr)


class Integrity(RepoTestCase):
    def start_run(self, *extra):
        self.init("--protect", "bench.py", *extra)
        self.iteration("baseline")

    def test_editing_a_protected_file_is_a_violation_and_reverted(self):
        self.start_run()
        self.write("bench.py", "print('score: 1')\n")
        trial = self.ok("run-trial", "--all")
        self.assertIn("protected file modified: bench.py", trial["integrity_violation"])
        out = self.ok("decide", "--description", "cheat")
        self.assertEqual((out["decision"], out["kept"]), ("integrity_violation", False))
        self.assertEqual(self.read("bench.py"), self.files["bench.py"])
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.start)

    def test_protected_glob_covers_new_files(self):
        self.init("--protect", "tests/**")
        self.iteration("baseline")
        self.write("tests/test_new.py", "x = 1\n")
        self.write("work.py", "N = 1\n")
        self.ok("run-trial", "--all")
        out = self.ok("decide", "--description", "sneaky")
        self.assertEqual(out["decision"], "integrity_violation")
        self.assertFalse((self.repo / "tests").exists())

    def test_caches_git_ignores_inside_a_protected_folder_are_not_violations(self):
        self.write("tests/test_work.py", "import work\n")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "tests")
        self.init("--protect", "tests/**", "--protect", "tests/")
        self.iteration("baseline")
        self.write("tests/__pycache__/test_work.cpython-311.pyc", "bytecode")  # a test run's cache
        self.write("work.py", "N = 10\n")
        out = self.iteration("smaller")
        self.assertEqual(out["decision"], "improve", out["reason"])

    def test_ignored_protected_file_that_cannot_be_restored_stops_the_run(self):
        self.write("ignored/data.csv", "1,2,3\n")
        self.init("--protect", "ignored/data.csv")
        self.iteration("baseline")
        self.write("ignored/data.csv", "1\n")
        self.write("work.py", "N = 1\n")
        self.ok("run-trial", "--all")
        out = self.ok("decide", "--description", "shrink data")
        self.assertEqual(out["decision"], "integrity_violation")
        self.assertEqual(out["stop"]["reason"], "integrity_unrecoverable")
        self.assertEqual(self.read("ignored/data.csv"), "1\n")  # ratchet never touches ignored files

    def test_editing_a_score_in_ratchet_state_is_a_violation(self):
        self.start_run()
        self.write("work.py", "N = 2000\n")
        self.ok("run-trial", "--all")
        cur = self.repo / ".ratchet" / "current.json"
        cur.write_text(cur.read_text().replace("2000.0", "10.0"))
        out = self.ok("decide", "--description", "forged")
        self.assertEqual((out["decision"], out["kept"]), ("integrity_violation", False))
        self.assertEqual(self.read("work.py"), "N = 1000\n")

    def test_editing_results_log_is_detected(self):
        self.start_run()
        log = self.repo / ".ratchet" / "results.jsonl"
        log.write_text(log.read_text().replace("1000.0", "1.0"))
        self.assertIn("results.jsonl was edited outside ratchet", self.ok("status")["warnings"])
        self.write("work.py", "N = 10\n")
        self.ok("run-trial", "--all")
        out = self.ok("decide", "--description", "x")
        self.assertEqual(out["decision"], "integrity_violation")
        self.assertEqual(out["stop"], {"stopped": True, "reason": "integrity_unrecoverable"})

    def test_unreadable_results_log_is_a_clear_error(self):
        self.start_run()
        log = self.repo / ".ratchet" / "results.jsonl"
        log.write_text("garbage\n" + log.read_text())
        for args in (["status"], ["run-trial", "--all"]):
            res = self.cli(*args)
            self.assertEqual(res.code, 2)
            self.assertIn("results.jsonl line 1 is not valid JSON", res.stderr)
            self.assertEqual(len(res.stderr.strip().splitlines()), 1)

    def test_edits_after_the_trials_started_are_rejected(self):
        self.start_run()
        self.write("work.py", "N = 2000\n")
        self.ok("run-trial", "--all")
        self.write("work.py", "N = 1\n")  # measured 2000, would commit 1
        out = self.ok("decide", "--description", "switcheroo")
        self.assertEqual(out["decision"], "integrity_violation")
        rec = self.results()[-1]
        self.assertIn("work.py changed after the trials started", rec["integrity"])
        self.assertEqual(git(self.repo, "show", f"{rec['final_sha']}:work.py"), "N = 1")

    def test_failing_guard_blocks_an_improvement(self):
        self.init("--guard-command", f"{PY} -c \"import work; assert work.N >= 500\"")
        self.iteration("baseline")
        self.write("work.py", "N = 100\n")
        out = self.iteration("too small")
        self.assertEqual((out["decision"], out["kept"]), ("guard_failed", False))
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.write("work.py", "N = 600\n")
        self.assertEqual(self.iteration("fine")["decision"], "improve")
        self.assertTrue(self.results()[-1]["guard"]["passed"])

    def test_instructions_are_echoed(self):
        self.write("rules.txt", "Performance only.\n")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "rules")
        self.init("--instructions-file", "rules.txt")
        self.assertEqual(self.ok("status")["instructions"], "Performance only.\n")
        self.ok("run-trial", "--all")
        self.assertEqual(self.ok("decide", "--description", "b")["instructions"], "Performance only.\n")


class InitRefusals(RepoTestCase):
    """Every bad input: exit 2, one line naming the problem, nothing written."""

    REQUIRED = ["--run-command", "python3 bench.py", "--direction", "min", "--metric-name", "score",
                "--report-source", "stdout"]

    def assert_refused(self, args, expected, cwd=None):
        before_files = self.snapshot_tree()
        before_refs = git(self.repo, "for-each-ref")
        exclude = (self.repo / ".git" / "info" / "exclude").read_text()
        res = self.cli("init", *args, cwd=cwd)
        self.assertEqual(res.code, 2, res.stderr)
        self.assertEqual(res.stdout, "")
        lines = res.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        self.assertIn(expected, lines[0])
        self.assertEqual(self.snapshot_tree(), before_files)
        self.assertFalse((self.repo / ".ratchet").exists())
        self.assertEqual(git(self.repo, "for-each-ref"), before_refs)
        self.assertEqual((self.repo / ".git" / "info" / "exclude").read_text(), exclude)
        self.assertEqual(git(self.repo, "rev-parse", "--abbrev-ref", "HEAD"), "main")

    def with_flag(self, flag, value):
        args = list(self.REQUIRED)
        args[args.index(flag) + 1] = value
        return args

    def test_not_a_git_repository(self):
        outside = self.tmp / "plain"
        outside.mkdir()
        res = self.cli("init", *self.REQUIRED, cwd=outside)
        self.assertEqual(res.code, 2)
        self.assertIn("not inside a git repository", res.stderr)
        self.assertEqual(list(outside.iterdir()), [])

    def test_dirty_tree_modified(self):
        self.write("work.py", "N = 1\n")
        self.assert_refused(self.REQUIRED, "uncommitted changes")

    def test_dirty_tree_untracked(self):
        self.write("notes.txt", "mine")
        self.assert_refused(self.REQUIRED, "notes.txt")

    def test_missing_required_flag(self):
        self.assert_refused(self.REQUIRED[2:], "--run-command")

    def test_bad_direction(self):
        self.assert_refused(self.with_flag("--direction", "down"), "--direction must be min or max")

    def test_bad_numbers(self):
        for flag, value, expected in (("--trials", "0", "--trials must be >= 1"),
                                      ("--trials", "x", "--trials must be a whole number"),
                                      ("--trial-timeout-seconds", "-1", "must be > 0"),
                                      ("--iterations", "1.5", "--iterations must be a whole number"),
                                      ("--calibration-runs", "1", "--calibration-runs must be >= 2"),
                                      ("--max-pairs", "two", "--max-pairs must be a whole number"),
                                      ("--confirm-pairs", "1", "--confirm-pairs must be 0 (off) or >= 2"),
                                      ("--min-improvement", "5%%", "--min-improvement must be a number")):
            with self.subTest(flag=flag, value=value):
                self.assert_refused([*self.REQUIRED, flag, value], expected)

    def test_both_instruction_flags(self):
        self.assert_refused([*self.REQUIRED, "--instructions", "a", "--instructions-file", "b"], "not both")

    def test_unreadable_instructions_file(self):
        self.assert_refused([*self.REQUIRED, "--instructions-file", "missing.txt"],
                            "cannot read --instructions-file missing.txt")

    def test_repository_without_commits(self):
        empty = self.tmp / "empty"
        empty.mkdir()
        git(empty, "init", "-q")
        res = self.cli("init", *self.REQUIRED, cwd=empty)
        self.assertEqual(res.code, 2)
        self.assertIn("no commits yet", res.stderr)
        self.assertFalse((empty / ".ratchet").exists())

    def test_report_file_outside_the_repository(self):
        self.assert_refused(self.with_flag("--report-source", "../elsewhere.json"), "outside the repository")


class CommandRefusals(RepoTestCase):
    """Bad flags on the other commands: exit 2, one line, the run untouched."""

    def test_bad_flags_are_one_line_errors_that_change_nothing(self):
        self.init()
        self.iteration("baseline")
        before = (self.snapshot_tree(), git(self.repo, "for-each-ref"))
        cases = [(["run-trial", "--trials", "3"], "unrecognized arguments"),
                 (["decide"], "--description"),
                 (["decide", "--description", "  "], "--description must not be empty"),
                 (["score"], "--value"),
                 (["score", "--value", "1", "--trial", "x"], "--trial"),
                 (["status", "--format", "xml"], "--format"),
                 (["verdict", "--pick", "X"], "--pick needs --confidence and --reasons"),
                 (["propose", "--slot", "c"], "--slot"),
                 (["frobnicate"], "invalid choice")]
        for args, expected in cases:
            with self.subTest(args=args):
                res = self.cli(*args)
                self.assertEqual(res.code, 2, res.stderr)
                self.assertEqual(res.stdout, "")
                self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)
                self.assertIn(expected, res.stderr)
        self.assertEqual((self.snapshot_tree(), git(self.repo, "for-each-ref")), before)


class InitLifecycle(RepoTestCase):
    def test_init_excludes_ratchet_dir_and_records_the_start(self):
        out = self.init()
        self.assertIn("/.ratchet/", (self.repo / ".git" / "info" / "exclude").read_text().splitlines())
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")
        cfg = json.loads((self.repo / ".ratchet" / "config.json").read_text())
        self.assertEqual(cfg["start_sha"], self.start)
        self.assertEqual(cfg["start_branch"], "main")
        self.assertEqual(out["warnings"], ["no --protect given: nothing stops an edit to the benchmark itself"])

    def test_reinit_archives_the_previous_run(self):
        first = self.init()
        self.iteration("baseline")
        second = self.init()
        self.assertNotEqual(first["run_id"], second["run_id"])
        self.assertEqual(second["archived_previous"], f".ratchet/runs/{first['run_id']}")
        archived = self.repo / ".ratchet" / "runs" / first["run_id"] / "results.jsonl"
        self.assertEqual(len(archived.read_text().splitlines()), 1)
        self.assertFalse((self.repo / ".ratchet" / "results.jsonl").exists())


class Concurrency(RepoTestCase):
    def test_second_writer_is_refused_while_a_trial_runs(self):
        # the benchmark announces itself, then waits for the test to release it
        self.write("bench.py", "import os, time, work\n"
                               "os.makedirs('ignored', exist_ok=True); open('ignored/running', 'w').close()\n"
                               "for _ in range(600):\n"
                               "    if os.path.exists('ignored/release'): break\n"
                               "    time.sleep(0.05)\n"
                               "print('score:', work.N)\n")
        git(self.repo, "commit", "-qam", "slow bench")
        self.init()
        slow = subprocess.Popen([PY, str(RATCHET), "run-trial", "--all"], cwd=self.repo,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(600):
                if (self.repo / "ignored" / "running").exists():
                    break
                time.sleep(0.05)
            res = self.cli("decide", "--description", "x")
            self.assertEqual(res.code, 2)
            self.assertIn("another ratchet command is running", res.stderr)
            st = self.ok("status")  # read-only status still answers
            self.assertEqual(st["iter"], 0)
        finally:
            self.write("ignored/release", "")
            out, _ = slow.communicate(timeout=60)
        self.assertEqual(json.loads(out)["trials_done"], 2)


class CrashRecovery(RepoTestCase):
    """A run killed at any point resumes with nothing lost or counted twice."""

    def test_killed_mid_trial_reruns_that_trial_only(self):
        self.write("bench.py", "import os, time, work\n"
                               "if os.environ['RATCHET_TRIAL'] == '2' and not os.path.exists('ignored/ran'):\n"
                               "    os.makedirs('ignored', exist_ok=True); open('ignored/ran', 'w').close(); time.sleep(60)\n"
                               "print('score:', work.N)\n")
        git(self.repo, "commit", "-qam", "bench")
        self.init("--trials", "3", "--calibration-runs", "3")
        self.power_cut(self.repo / "ignored" / "ran", "run-trial", "--all")
        self.assertEqual(self.ok("status")["trials"], {"done": 1, "needed": 3})
        out = self.ok("run-trial", "--all")
        self.assertEqual([t["trial"] for t in out["trials"]], [1, 2, 3])
        self.assertEqual(self.ok("decide", "--description", "baseline")["decision"], "baseline")

    def crash_decide_at(self, target: str):
        """Run decide in-process and kill it right after `target` runs."""
        from commands import decide
        from shell import gitops
        from shell import store

        owner = {"advance_head": gitops, "restore": gitops, "append_result": store.Store}[target]
        real = getattr(owner, target)

        def die(*a, **kw):
            real(*a, **kw)
            raise KeyboardInterrupt("power cut")

        with mock.patch.object(owner, target, die), self.assertRaises(KeyboardInterrupt):
            decide.decide(self.repo, "smaller N")

    def prepare_keep(self):
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 800\n")
        self.ok("run-trial", "--all")

    def test_killed_between_commit_and_log_write(self):
        self.prepare_keep()
        self.crash_decide_at("advance_head")
        self.assertEqual(len(self.results()), 1)  # the log write never happened
        st = self.ok("status")
        self.assertEqual(st["best"]["score"], 800.0)
        self.assertEqual(st["phase"], "propose")
        recs = self.results()
        self.assertEqual([r["decision"] for r in recs], ["baseline", "improve"])
        self.assertEqual(git(self.repo, "rev-list", "--count", f"{self.start}..HEAD"), "1")

    def test_killed_after_the_log_write_is_not_counted_twice(self):
        self.prepare_keep()
        self.crash_decide_at("append_result")
        self.ok("status")
        self.assertEqual([r["decision"] for r in self.results()], ["baseline", "improve"])
        self.assertFalse((self.repo / ".ratchet" / "current.json").exists())

    def test_killed_mid_revert_finishes_the_revert(self):
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 5000\n")
        self.write("new.py", "x = 1\n")
        self.ok("run-trial", "--all")
        from commands import decide
        from shell import gitops
        with mock.patch.object(gitops, "restore", side_effect=KeyboardInterrupt), \
                self.assertRaises(KeyboardInterrupt):
            decide.decide(self.repo, "bigger")
        self.assertEqual(self.read("work.py"), "N = 5000\n")  # revert had not happened
        self.assertEqual(len(self.results()), 1)
        st = self.ok("status")
        self.assertEqual((st["iter"], st["phase"]), (2, "propose"))
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        rec = self.results()[-1]
        self.assertEqual((rec["iter"], rec["decision"]), (1, "regress"))
        self.assertFalse((self.repo / "new.py").exists())

    def test_torn_results_line_is_reported_not_fatal(self):
        self.init()
        self.iteration("baseline")
        with open(self.repo / ".ratchet" / "results.jsonl", "a") as fh:
            fh.write('{"iter": 1, "decis')
        st = self.ok("status")
        self.assertTrue(any("torn line" in w for w in st["warnings"]))
        self.assertEqual(st["iter"], 1)
        self.write("work.py", "N = 10\n")
        self.assertTrue(self.iteration("small")["kept"])
        self.assertEqual([r["iter"] for r in self.results()], [0, 1])


if __name__ == "__main__":
    unittest.main()
