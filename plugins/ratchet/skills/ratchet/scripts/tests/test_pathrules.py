"""Tests for pathrules.py: which paths are protected and which a diff may
not touch."""

import unittest

from critic import pathrules


class ProtectedTest(unittest.TestCase):
    def test_always_protected(self):
        self.assertTrue(pathrules.protected_by(".ratchet/results.jsonl", []))
        self.assertTrue(pathrules.protected_by("sub/.git/config", []))
        self.assertIsNone(pathrules.protected_by("src/ratchet.py", []))

    def test_globs(self):
        g = ["bench.py", "data/", "tests/**/*.json", "*.lock", "cfg/*"]
        self.assertEqual(pathrules.protected_by("bench.py", g), "bench.py")
        self.assertEqual(pathrules.protected_by("./bench.py", g), "bench.py")
        self.assertEqual(pathrules.protected_by("sub/bench.py", g), "bench.py")      # bare name anywhere
        self.assertEqual(pathrules.protected_by("data/x/y.csv", g), "data/")
        self.assertEqual(pathrules.protected_by("tests/a.json", g), "tests/**/*.json")
        self.assertEqual(pathrules.protected_by("tests/a/b/c.json", g), "tests/**/*.json")
        self.assertEqual(pathrules.protected_by("deep/poetry.lock", g), "*.lock")
        self.assertEqual(pathrules.protected_by("cfg/sub/deep.ini", g), "cfg/*")       # below a matched dir
        self.assertEqual(pathrules.protected_by("BENCH.PY", g), "bench.py")           # case-insensitive
        self.assertIsNone(pathrules.protected_by("src/bench_util.py", g))
        self.assertIsNone(pathrules.protected_by("tests/a.py", g))
        self.assertIsNone(pathrules.protected_by("database/x", g))

    def test_path_problems(self):
        probs = pathrules.path_problems(["ok.py", "../etc/passwd", "/abs", "bench.py"], ["bench.py"])
        self.assertEqual(len(probs), 3)
        self.assertIn("leaves the repository", probs[0])
        self.assertIn("absolute", probs[1])
        self.assertIn("protected path bench.py", probs[2])


if __name__ == "__main__":
    unittest.main()
