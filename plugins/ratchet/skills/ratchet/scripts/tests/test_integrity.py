import shutil
import tempfile
import unittest
from pathlib import Path

from core import seals
from shell import fingerprints as integrity


class Fingerprints(unittest.TestCase):
    def setUp(self):
        self.root = Path(tempfile.mkdtemp(prefix="ratchet-integrity-"))
        self.addCleanup(shutil.rmtree, self.root, True)
        for rel, text in {"bench.py": "b", "tests/test_a.py": "a", "tests/sub/test_b.py": "b",
                          "tests/__pycache__/x.pyc": "c", "data/big.csv": "1,2", ".ratchet/config.json": "{}",
                          ".git/HEAD": "ref"}.items():
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.root / rel).write_text(text)

    def prints(self, *globs, ignored=()):
        return integrity.fingerprint(self.root, globs, lambda paths: set(paths) & set(ignored))

    def test_globs_directories_and_recursion(self):
        self.assertEqual(list(self.prints("bench.py")), ["bench.py"])
        expected = ["tests/__pycache__/x.pyc", "tests/sub/test_b.py", "tests/test_a.py"]
        self.assertEqual(list(self.prints("tests/**")), expected)
        self.assertEqual(list(self.prints("tests/")), expected)
        self.assertEqual(list(self.prints("tests")), expected)
        self.assertEqual(list(self.prints("tests/*.py")), ["tests/test_a.py"])

    def test_ratchet_and_git_dirs_are_never_included(self):
        self.assertEqual(self.prints("**/*.json", ".git/**"), {})

    def test_wildcards_skip_ignored_files_but_exact_names_do_not(self):
        ignored = ("tests/__pycache__/x.pyc", "data/big.csv")
        self.assertNotIn("tests/__pycache__/x.pyc", self.prints("tests/**", ignored=ignored))
        self.assertIn("data/big.csv", self.prints("data/big.csv", ignored=ignored))
        self.assertEqual(self.prints("data/*", ignored=ignored), {})

    def test_compare_names_every_kind_of_change(self):
        before = {"a": "1", "b": "2", "c": "3"}
        after = {"a": "1", "b": "9", "d": "4"}
        self.assertEqual(integrity.compare(before, after), ["protected file modified: b",
                                                            "protected file deleted: c",
                                                            "protected file added: d"])
        self.assertEqual(integrity.compare(before, dict(before)), [])

    def test_file_stamp_changes_with_content_and_is_none_when_absent(self):
        path = self.root / "bench.py"
        first = integrity.file_stamp(path)
        path.write_text("different")
        self.assertNotEqual(integrity.file_stamp(path), first)
        self.assertIsNone(integrity.file_stamp(self.root / "missing"))
        self.assertIn("unreadable", integrity.file_stamp(self.root / "tests"))  # a directory cannot be read


class Seals(unittest.TestCase):
    def test_seal_verifies_and_detects_any_edit_or_other_key(self):
        obj = seals.sealed({"iter": 1, "trials": [1.0, 2.0]}, "run-1")
        self.assertTrue(seals.verify_seal(obj, "run-1"))
        self.assertFalse(seals.verify_seal(obj, "run-2"))
        self.assertFalse(seals.verify_seal({**obj, "trials": [1.0, 0.5]}, "run-1"))
        self.assertFalse(seals.verify_seal({"iter": 1}, "run-1"))

    def test_chain_flags_the_edited_record(self):
        recs, prev = [], "key"
        for i in range(3):
            rec = {"iter": i, "avg": float(i)}
            rec["chain"] = seals.chain(prev, rec)
            prev = rec["chain"]
            recs.append(rec)
        self.assertEqual(seals.broken_links(recs, "key"), [])
        recs[1]["avg"] = 42.0
        self.assertEqual(seals.broken_links(recs, "key"), [1])
        self.assertEqual(seals.broken_links(list(reversed(recs)), "key"), [2, 1, 0])


if __name__ == "__main__":
    unittest.main()
