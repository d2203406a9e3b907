import unittest

from core.extract import appears_literally, extract


class MetricExtraction(unittest.TestCase):
    def value(self, text, name="wall_time", regex=None):
        return extract(text, name, regex).value

    def test_text_line_formats(self):
        for text in ("wall_time: 1.23", "wall_time=1.23", "wall_time 1.23", "wall_time = 1.23s",
                     '"wall_time": 1.23,', "  WALL_TIME:\t1.23 seconds"):
            with self.subTest(text=text):
                self.assertEqual(self.value(text), 1.23)

    def test_last_occurrence_wins(self):
        self.assertEqual(self.value("wall_time: 9\nwarmup done\nwall_time: 2.5\n"), 2.5)

    def test_name_must_stand_alone(self):
        self.assertIsNone(self.value("total_wall_time: 5"))
        self.assertIsNone(self.value("wall_time_p99: 5"))
        self.assertEqual(self.value("total_wall_time: 5\nwall_time: 3"), 3.0)

    def test_scientific_and_signed_numbers(self):
        self.assertEqual(self.value("wall_time: 1.5e-3"), 0.0015)
        self.assertEqual(self.value("wall_time: -4"), -4.0)

    def test_json_document_key_and_dotted_path(self):
        self.assertEqual(self.value('{"wall_time": 3.5, "other": 1}'), 3.5)
        self.assertEqual(self.value('{"timing": {"mean": 0.75}}', name="timing.mean"), 0.75)

    def test_json_lines_last_object_with_the_key(self):
        text = '{"wall_time": 1}\n{"step": 2}\n{"wall_time": 4}\n{"step": 3}\n'
        self.assertEqual(self.value(text), 4.0)

    def test_json_boolean_or_string_is_not_a_number(self):
        res = extract('{"wall_time": true}', "wall_time")
        self.assertIsNone(res.value)
        self.assertIn("not a number", res.problem)

    def test_nan_and_inf_are_not_scores(self):
        for text in ("wall_time: nan", "wall_time: inf", '{"wall_time": "NaN"}', "wall_time: -Infinity"):
            with self.subTest(text=text):
                res = extract(text, "wall_time")
                self.assertIsNone(res.value)
                self.assertIn("nan/inf", res.problem)

    def test_missing_metric_says_so(self):
        res = extract("all good\n", "wall_time")
        self.assertIsNone(res.value)
        self.assertEqual(res.source, "none")
        self.assertIn("wall_time", res.problem)

    def test_regex_overrides_the_default_formats(self):
        text = "wall_time: 1\nRESULT took 7.25 ms\n"
        self.assertEqual(self.value(text, regex=r"took (\S+) ms"), 7.25)
        res = extract("nothing", "wall_time", r"took (\S+) ms")
        self.assertIn("matched nothing", res.problem)

    def test_regex_capture_that_is_not_a_number(self):
        self.assertIsNone(self.value("took fast ms", regex=r"took (\S+) ms"))


class LiteralAppearance(unittest.TestCase):
    def test_number_must_appear_as_a_whole_token(self):
        text = "run took 1.5 s; 11.52 elsewhere; total=42"
        self.assertTrue(appears_literally(text, "1.5"))
        self.assertTrue(appears_literally(text, "42"))
        self.assertFalse(appears_literally(text, "1.52"))
        self.assertFalse(appears_literally(text, "2"))
        self.assertFalse(appears_literally(text, "4"))

    def test_non_numbers_never_match(self):
        self.assertFalse(appears_literally("score: abc", "abc"))
        self.assertFalse(appears_literally("x", ""))


if __name__ == "__main__":
    unittest.main()
