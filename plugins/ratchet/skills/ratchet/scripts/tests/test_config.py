import unittest

from core.config import Config, MinImprovement, parse_init_args, parse_min_improvement
from core.errors import UsageError

REQUIRED = ["--run-command", "make bench", "--direction", "min", "--metric-name", "t",
            "--report-source", "stdout"]


class ConfigValidation(unittest.TestCase):
    def error(self, *extra, required=REQUIRED) -> str:
        with self.assertRaises(UsageError) as ctx:
            parse_init_args([*required, *extra])
        msg = str(ctx.exception)
        self.assertNotIn("\n", msg)
        return msg

    def test_defaults_match_the_documented_flags(self):
        cfg = parse_init_args(REQUIRED)
        self.assertEqual((cfg.trials, cfg.iterations, cfg.patience, cfg.max_consecutive_crashes),
                         (None, 20, 0, 3))
        self.assertEqual((cfg.calibration_runs, cfg.max_pairs, cfg.confirm_pairs, cfg.baseline_trials),
                         (30, 50, 16, 30))
        self.assertIsNone(cfg.threshold)
        self.assertIsNone(cfg.trial_timeout_seconds)
        self.assertEqual(cfg.min_improvement, MinImprovement(0.0, False))
        self.assertEqual(cfg.instructions, "")
        self.assertFalse(cfg.critic)

    def test_each_required_flag_is_required(self):
        for i in range(0, len(REQUIRED), 2):
            partial = REQUIRED[:i] + REQUIRED[i + 2:]
            self.assertIn(REQUIRED[i], self.error(required=partial))

    def test_direction_must_be_min_or_max(self):
        args = list(REQUIRED)
        args[3] = "lower"
        self.assertIn("--direction must be min or max", self.error(required=args))

    def test_direction_is_case_insensitive(self):
        args = list(REQUIRED)
        args[3] = "MAX"
        self.assertEqual(parse_init_args(args).direction, "max")

    def test_numbers_are_checked(self):
        cases = [
            (["--trials", "abc"], "--trials must be a whole number"),
            (["--trials", "0"], "--trials must be >= 1"),
            (["--trials", "2.5"], "--trials must be a whole number"),
            (["--iterations", "0"], "--iterations must be >= 1"),
            (["--patience", "-1"], "--patience must be >= 0"),
            (["--max-consecutive-crashes", "0"], "--max-consecutive-crashes must be >= 1"),
            (["--trial-timeout-seconds", "-5"], "--trial-timeout-seconds must be > 0"),
            (["--trial-timeout-seconds", "0"], "--trial-timeout-seconds must be > 0"),
            (["--threshold", "fast"], "--threshold must be a number"),
            (["--threshold", "nan"], "--threshold must be a finite number"),
            (["--min-improvement", "-1"], "--min-improvement must be >= 0"),
            (["--min-improvement", "x%"], "--min-improvement must be a number"),
            (["--calibration-runs", "1"], "--calibration-runs must be >= 2"),
            (["--max-pairs", "3"], "--max-pairs must be >= 4"),
            (["--confirm-pairs", "1"], "--confirm-pairs must be 0 (off) or >= 2"),
            (["--confirm-pairs", "-2"], "--confirm-pairs must be >= 0"),
        ]
        for extra, expected in cases:
            with self.subTest(extra=extra):
                self.assertIn(expected, self.error(*extra))

    def test_both_instruction_flags_are_refused(self):
        self.assertIn("not both", self.error("--instructions", "a", "--instructions-file", "f"))

    def test_metric_regex_needs_exactly_one_group(self):
        self.assertIn("exactly one capture group", self.error("--metric-regex", r"t=\d+"))
        self.assertIn("not a valid regular expression", self.error("--metric-regex", "(["))

    def test_empty_values_are_refused(self):
        args = list(REQUIRED)
        args[1] = "  "
        self.assertIn("--run-command must not be empty", self.error(required=args))
        self.assertIn("--protect needs a non-empty glob", self.error("--protect", ""))

    def test_unknown_flag_is_refused(self):
        self.assertIn("unrecognized arguments", self.error("--trails", "3"))

    def test_baseline_runs_cover_both_trials_and_calibration(self):
        self.assertEqual(parse_init_args([*REQUIRED, "--trials", "40"]).baseline_trials, 40)
        self.assertEqual(parse_init_args([*REQUIRED, "--trials", "2"]).baseline_trials, 30)
        self.assertEqual(parse_init_args([*REQUIRED, "--calibration-runs", "3"]).baseline_trials, 3)

    def test_instructions_file_text_is_used(self):
        cfg = parse_init_args([*REQUIRED, "--instructions-file", "x"], instructions_from_file="rules")
        self.assertEqual(cfg.instructions, "rules")


class MinImprovementParsing(unittest.TestCase):
    def test_absolute_margin(self):
        m = parse_min_improvement("0.5")
        self.assertEqual(m.margin(10.0), 0.5)

    def test_relative_margin_scales_with_the_best(self):
        m = parse_min_improvement("2%")
        self.assertAlmostEqual(m.margin(50.0), 1.0)
        self.assertAlmostEqual(m.margin(-50.0), 1.0)
        self.assertEqual(m.text(), "2%")


class ConfigRoundTrip(unittest.TestCase):
    def test_to_dict_and_back_is_identity(self):
        cfg = parse_init_args([*REQUIRED, "--trials", "3", "--protect", "bench/**", "--protect", "data.csv",
                               "--min-improvement", "1.5%", "--threshold", "0.25", "--critic",
                               "--guard-command", "pytest", "--metric-regex", r"t=(\S+)",
                               "--trial-timeout-seconds", "30", "--no-branch",
                               "--calibration-runs", "7", "--max-pairs", "12", "--confirm-pairs", "0"])
        again = Config.from_dict(cfg.to_dict())
        self.assertEqual(again, cfg)

    def test_from_dict_rejects_garbage(self):
        with self.assertRaises(UsageError):
            Config.from_dict({"run_command": "x", "direction": "min", "metric_name": "t",
                              "report_source": "stdout", "min_improvement": "lots"})


if __name__ == "__main__":
    unittest.main()
