"""End-to-end runs with a noisy metric: interleaving, the sequential test,
crash recovery while the incumbent's code is in place, and confirmation."""

import json

from tests.support import RepoTestCase, git

# The noise depends only on the trial's position, never on which code runs,
# so a no-op stays a no-op and every outcome is repeatable.
NOISY_BENCH = """\
import os, work
NOISE = [3.1, -4.2, 1.7, -0.6, 4.4, -2.9, 0.8, -3.5, 2.6, -1.3, 3.9, -4.8, 0.2, 1.1, -2.2, 4.7, -0.9, 2.0]
data = open('ignored/data.txt').read()  # git-ignored input the benchmark needs on both sides
i = int(os.environ.get('RATCHET_ITERATION', '0')) * 7 + int(os.environ.get('RATCHET_TRIAL', '1'))
print('score:', work.N + NOISE[i % len(NOISE)] + len(data) - 4)
"""


class NoisyRun(RepoTestCase):
    files = {**RepoTestCase.files, "bench.py": NOISY_BENCH}

    def setUp(self):
        super().setUp()
        self.write("ignored/data.txt", "data")

    def begin(self, *extra):
        out = self.init("--calibration-runs", "4", "--protect", "bench.py", *extra)
        base = self.iteration("baseline")
        self.assertEqual(base["calibration"]["deterministic"], False)
        return out, base

    def test_incumbent_is_re_measured_interleaved_and_logged(self):
        _, base = self.begin("--max-pairs", "8")
        self.assertEqual(base["calibration"]["design"], "sequential")
        self.write("work.py", "N = 900\n")
        trial = self.ok("run-trial", "--all")
        self.assertEqual(trial["test"]["outcome"], "keep")
        self.assertEqual(trial["trials"], [])  # nothing crashed
        out = self.ok("decide", "--description", "smaller")
        self.assertEqual((out["decision"], out["kept"]), ("improve", True))
        self.assertGreater(out["interval"][0], 0)  # the effect's interval lies above zero
        rec = self.results()[-1]
        sides = "".join(t["side"] for t in rec["trials"])
        self.assertTrue(sides.startswith("ABBA"), sides)
        self.assertTrue(all(990 < a < 1010 for a in rec["incumbent_scores"]), rec["incumbent_scores"])
        self.assertTrue(all(890 < b < 910 for b in rec["trial_scores"]), rec["trial_scores"])
        self.assertEqual(len(rec["incumbent_scores"]), len(rec["trial_scores"]))
        self.assertEqual(rec["n_trials"], len(rec["trials"]))
        for key in ("effect", "ci_low", "ci_high", "p_value", "n_pairs", "n_trials"):
            self.assertIn(key, rec["test"])
        self.assertEqual(self.read("work.py"), "N = 900\n")
        self.assertEqual(self.read("ignored/data.txt"), "data")
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")

    def test_regression_is_discarded_and_a_no_op_is_not_kept(self):
        self.begin("--max-pairs", "8")
        self.write("work.py", "N = 1100\n")
        out = self.iteration("bigger")
        self.assertEqual((out["decision"], out["kept"]), ("regress", False))
        self.write("work.py", "N = 1000  # same value, new text\n")
        out = self.iteration("no-op")
        self.assertIn(out["decision"], ("no_change", "inconclusive"))
        self.assertFalse(out["kept"])
        self.assertEqual(self.read("work.py"), "N = 1000\n")

    def test_fixed_design_runs_exactly_n_pairs(self):
        _, base = self.begin("--trials", "3")
        self.assertEqual(base["calibration"]["design"], "fixed")
        self.write("work.py", "N = 900\n")
        out = self.iteration("smaller")
        self.assertEqual(out["decision"], "improve")
        rec = self.results()[-1]
        self.assertEqual((len(rec["trial_scores"]), len(rec["incumbent_scores"])), (3, 3))

    def test_tiny_min_improvement_warns_before_the_first_iteration(self):
        _, base = self.begin("--min-improvement", "0.001", "--max-pairs", "4")
        self.assertTrue(any("below what 4 pairs can resolve" in w for w in base["warnings"]), base["warnings"])
        self.assertTrue(any("below what" in w for w in self.ok("status")["warnings"]))

    def test_default_min_improvement_gets_a_plain_warning(self):
        _, base = self.begin("--max-pairs", "4")
        self.assertTrue(any(w.startswith("no --min-improvement given; with this noise 4 pairs resolve only larger")
                            for w in base["warnings"]), base["warnings"])

    def test_threshold_counts_only_when_the_confirmation_interval_says_so(self):
        self.begin("--threshold", "950", "--confirm-pairs", "4", "--max-pairs", "8")
        self.write("work.py", "N = 948\n")  # mean crosses 950, but noise (~3) blurs it
        out = self.iteration("just past the threshold")
        self.assertTrue(out["kept"])
        self.assertFalse(out["stop"]["stopped"], out)
        conf = self.results()[-1]["confirmation"]
        self.assertFalse(conf["threshold_reached"])
        self.write("work.py", "N = 800\n")
        out = self.iteration("far past it")
        self.assertEqual(out["stop"], {"stopped": True, "reason": "threshold_reached"})
        total = out["total"]
        self.assertEqual(total["source"], "confirmation")
        self.assertTrue(190 < total["gain"] < 210, total)
        self.assertLess(total["gain_low"], total["gain"])
        self.assertIn("confirmed gain", self.cli("status", "--format", "text").stdout)

    def test_stop_runs_one_confirmation_of_baseline_against_best(self):
        self.begin("--iterations", "2", "--confirm-pairs", "4", "--max-pairs", "8")
        self.write("work.py", "N = 900\n")
        self.assertNotIn("total", self.iteration("smaller"))
        self.write("work.py", "N = 950\n")
        out = self.iteration("bigger again")
        self.assertEqual(out["stop"]["reason"], "iterations_exhausted")
        conf = self.results()[-1]["confirmation"]
        self.assertEqual(conf["n_pairs"], 4)
        self.assertEqual(conf["a_sha"], self.start_sha)
        self.assertEqual(conf["b_sha"], git(self.repo, "rev-parse", "HEAD"))
        self.assertTrue(90 < conf["gain"] < 110, conf)
        self.assertEqual(self.read("work.py"), "N = 900\n")

    @property
    def start_sha(self):
        return git(self.repo, "rev-parse", "main")


class NoisyCrashRecovery(RepoTestCase):
    files = {**RepoTestCase.files, "bench.py": NOISY_BENCH.replace(
        "data = open", "import time\n"
        "if os.environ.get('RATCHET_SIDE') == 'A' and not os.path.exists('ignored/hang'):\n"
        "    open('ignored/hang', 'w').close(); time.sleep(60)\n"
        "data = open")}

    def setUp(self):
        super().setUp()
        self.write("ignored/data.txt", "data")

    def test_killed_while_the_incumbent_is_in_place_resumes_on_the_candidate(self):
        self.init("--calibration-runs", "4", "--max-pairs", "6")
        self.iteration("baseline")
        self.write("work.py", "N = 900\n")
        self.write("extra.py", "x = 1\n")
        self.power_cut(self.repo / "ignored" / "hang", "run-trial", "--all")
        # the incumbent's code was in place when the power went out
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertFalse((self.repo / "extra.py").exists())
        st = self.ok("status")
        self.assertEqual(st["phase"], "measuring")
        self.assertEqual(self.read("work.py"), "N = 900\n")
        self.assertEqual(self.read("extra.py"), "x = 1\n")
        self.assertEqual(self.read("ignored/data.txt"), "data")
        self.ok("run-trial", "--all")
        out = self.ok("decide", "--description", "smaller")
        self.assertEqual(out["decision"], "improve")
        self.assertIn("extra.py", git(self.repo, "ls-tree", "--name-only", "HEAD"))
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "", "the index is HEAD's again")


class NoisyCrashBackHome(RepoTestCase):
    """A power cut while the candidate's code is in place again
    mid-measurement (trial 3: A, B, then B): the switches never moved the
    index off HEAD (the incumbent is HEAD), and the next command finds the
    candidate in place and every file kept."""

    files = {**RepoTestCase.files, "bench.py": NOISY_BENCH.replace(
        "data = open", "import time\n"
        "if os.environ.get('RATCHET_ITERATION') == '1' and os.environ.get('RATCHET_TRIAL') == '3' "
        "and not os.path.exists('ignored/hang'):\n"
        "    open('ignored/hang', 'w').close(); time.sleep(60)\n"
        "data = open")}

    def setUp(self):
        super().setUp()
        self.write("ignored/data.txt", "data")

    def test_killed_back_on_the_candidate_mid_measurement_settles_the_index(self):
        self.init("--calibration-runs", "4", "--max-pairs", "6")
        self.iteration("baseline")
        self.write("work.py", "N = 900\n")
        self.write("extra.py", "x = 1\n")
        self.power_cut(self.repo / "ignored" / "hang", "run-trial", "--all")
        self.assertEqual(self.read("work.py"), "N = 900\n")
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "",
                         "the index stays HEAD's while the measurement switches")
        st = self.ok("status")
        self.assertEqual(st["phase"], "measuring")
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "", "settled: the index is HEAD's")
        self.assertEqual(self.read("work.py"), "N = 900\n")
        self.assertEqual(self.read("extra.py"), "x = 1\n")
        self.assertEqual(self.read("ignored/data.txt"), "data")
        self.ok("run-trial", "--all")
        self.assertEqual(self.ok("decide", "--description", "smaller")["decision"], "improve")
        self.assertEqual(git(self.repo, "diff", "--cached", "--name-only"), "")


class QuickTrialsSavedTogether(RepoTestCase):
    """In an interleaved measurement a trial is saved before the next one
    runs once the trials not saved yet took half a second together; quicker
    ones wait for the next save: what a kill in a hanging trial leaves saved."""

    files = {**RepoTestCase.files, "bench.py": NOISY_BENCH.replace(
        "data = open", "import time\n"
        "it, n = os.environ.get('RATCHET_ITERATION'), os.environ.get('RATCHET_TRIAL')\n"
        "if it == '1' and n in ('1', '2'):\n"
        "    time.sleep(float(open('ignored/sleeps').read().split()[int(n) - 1]))\n"
        "if it == '1' and n == open('ignored/hang_at').read() and not os.path.exists('ignored/hang'):\n"
        "    open('ignored/hang', 'w').close(); time.sleep(60)\n"
        "data = open")}

    def saved_when_killed(self, sleeps: tuple[float, float], hang_at: int) -> list[int]:
        """The trials current.json holds after a kill in trial `hang_at`
        (trials 1 and 2 taking `sleeps` seconds besides the benchmark)."""
        self.write("ignored/data.txt", "data")
        self.write("ignored/sleeps", " ".join(map(str, sleeps)))
        self.write("ignored/hang_at", str(hang_at))
        self.init("--calibration-runs", "4", "--max-pairs", "6")
        self.iteration("baseline")
        self.write("work.py", "N = 900\n")
        self.power_cut(self.repo / "ignored" / "hang", "run-trial", "--all")
        return [t["trial"] for t in json.loads((self.repo / ".ratchet" / "current.json").read_text())["trials"]]

    def test_a_first_trial_of_half_a_second_is_saved_before_the_second_runs(self):
        self.assertEqual(self.saved_when_killed((0.6, 0.0), 2), [1])

    def test_a_quick_first_trial_is_saved_with_a_later_one_and_run_again_after_a_kill(self):
        self.assertEqual(self.saved_when_killed((0.0, 0.0), 2), [])
        self.ok("status")
        out = self.ok("run-trial", "--all")
        trials = json.loads((self.repo / ".ratchet" / "current.json").read_text())["trials"]
        self.assertEqual([t["trial"] for t in trials], list(range(1, out["trials_done"] + 1)))
        self.assertEqual([t["side"] for t in trials[:4]], ["A", "B", "B", "A"], "trial 1 ran again, nothing twice")
        self.assertEqual(self.ok("decide", "--description", "smaller")["decision"], "improve")

    def test_a_quick_pair_waits_for_half_a_second_of_trials(self):
        self.assertEqual(self.saved_when_killed((0.0, 0.0), 3), [])

    def test_quick_trials_are_saved_once_they_add_up_to_half_a_second(self):
        self.assertEqual(self.saved_when_killed((0.3, 0.3), 3), [1, 2])


if __name__ == "__main__":
    import unittest
    unittest.main()
