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

    def test_sha256_file_is_hashlib_sha256_small_and_large(self):
        import hashlib
        for size in (0, 5, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7):
            data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
            (self.root / "blob").write_bytes(data)
            self.assertEqual(integrity.sha256_file(self.root / "blob"), hashlib.sha256(data).hexdigest(), size)

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

    def test_a_symlink_to_an_identical_copy_is_not_the_file(self):
        before = self.prints("bench.py")
        outside = Path(tempfile.mkdtemp(prefix="ratchet-outside-"))
        self.addCleanup(shutil.rmtree, outside, True)
        (outside / "bench.py").write_text("b")
        (self.root / "bench.py").unlink()
        (self.root / "bench.py").symlink_to(outside / "bench.py")
        after = self.prints("bench.py")
        self.assertEqual(after, {"bench.py": f"link:{outside / 'bench.py'}"})
        self.assertEqual(integrity.compare(before, after), ["protected file replaced by a symlink: bench.py"])

    def test_the_executable_bit_is_part_of_the_fingerprint(self):
        before = self.prints("bench.py")
        self.assertEqual(before["bench.py"], integrity.sha256_file(self.root / "bench.py") + ":100644")
        (self.root / "bench.py").chmod(0o755)
        after = self.prints("bench.py")
        self.assertTrue(after["bench.py"].endswith(":100755"))
        self.assertEqual(integrity.compare(before, after),
                         ["protected file mode changed (100644 -> 100755): bench.py"])
        (self.root / "bench.py").chmod(0o644)
        self.assertEqual(integrity.compare(before, self.prints("bench.py")), [])

    def test_symlinks_are_fingerprinted_by_target_never_followed(self):
        (self.root / "tests" / "link.py").symlink_to("test_a.py")
        before = self.prints("tests/")
        self.assertEqual(before["tests/link.py"], "link:test_a.py")
        (self.root / "tests" / "test_a.py").write_text("changed")  # the link's target, a protected file too
        (self.root / "tests" / "link.py").unlink()
        (self.root / "tests" / "link.py").symlink_to("sub/test_b.py")
        self.assertEqual(integrity.compare(before, self.prints("tests/")),
                         ["protected symlink changed its target: tests/link.py",
                          "protected file modified: tests/test_a.py"])

    def test_a_symlinked_folder_is_not_followed_out_of_the_repository(self):
        before = {g: self.prints(g) for g in ("tests", "tests/", "tests/**", "tests/test_a.py", "*/test_a.py")}
        outside = Path(tempfile.mkdtemp(prefix="ratchet-outside-"))
        self.addCleanup(shutil.rmtree, outside, True)
        shutil.copytree(self.root / "tests", outside / "tests")  # an identical copy
        shutil.rmtree(self.root / "tests")
        (self.root / "tests").symlink_to(outside / "tests")
        for glob, prints in before.items():
            after = self.prints(glob)
            self.assertFalse(any(p.startswith("tests/") for p in after), (glob, after))
            self.assertTrue(integrity.compare(prints, after), glob)
        self.assertEqual(self.prints("tests"), {"tests": f"link:{outside / 'tests'}"})

    def test_fingerprints_of_an_older_run_still_compare_equal(self):
        """Runs started before modes were recorded stored {path: sha256 of the content}."""
        (self.root / "tests" / "test_a.py").chmod(0o755)
        old = {rel: integrity.sha256_file(self.root / rel) for rel in ("bench.py", "tests/test_a.py")}
        self.assertEqual(integrity.compare(old, self.prints("bench.py", "tests/test_a.py")), [])
        (self.root / "bench.py").write_text("edited")
        self.assertEqual(integrity.compare(old, self.prints("bench.py", "tests/test_a.py")),
                         ["protected file modified: bench.py"])
        (self.root / "tests" / "test_a.py").unlink()
        (self.root / "tests" / "test_a.py").symlink_to("sub/test_b.py")
        self.assertIn("protected file replaced by a symlink: tests/test_a.py",
                      integrity.compare(old, self.prints("bench.py", "tests/test_a.py")))

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
