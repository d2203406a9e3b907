"""`ratchet.py finalize` against temporary repositories: the review
branch's tree equals the best commit's, its messages carry the numbers, the
user's branch, the run branch, HEAD, the index and the work tree are
untouched, `--split` branches touch disjoint files and add up to the best
tree, and it refuses (exit 2, nothing written) while measuring."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from shell.store import Store
from tests.support import GIT_ENV, RepoTestCase, git

BENCH = "import a, b\nprint('score:', a.A + b.B)\n"


class Finalize(RepoTestCase):
    files = {"a.py": "A = 500\n", "b.py": "B = 500\n", "bench.py": BENCH, "notes.txt": "old notes\n",
             ".gitignore": "ignored/\n__pycache__/\n"}

    def night(self, *extra):
        """Four kept changes in two groups of files ({a.py, c.py, notes.txt}
        and {b.py}), one regression reverted."""
        out = self.init(*extra)
        self.run_id, self.branch = out["run_id"], out["branch"]
        self.iteration("baseline")
        self.write("a.py", "A = 400\n")
        self.iteration("smaller A", hypothesis="less A is faster")
        self.write("b.py", "B = 400\n")
        self.iteration("smaller B")
        self.write("b.py", "B = 900\n")
        self.assertEqual(self.iteration("bigger B")["decision"], "regress")
        self.write("a.py", "from c import C\nA = 300 + C\n")
        self.write("c.py", "C = 0\n")
        (self.repo / "notes.txt").unlink()
        self.iteration("A from c.py, notes gone")
        self.best = git(self.repo, "rev-parse", "HEAD")

    def state(self) -> dict:
        """Everything finalize must leave alone."""
        return {"head": git(self.repo, "symbolic-ref", "HEAD"), "head_sha": git(self.repo, "rev-parse", "HEAD"),
                "main": git(self.repo, "rev-parse", "main"),
                "run": git(self.repo, "rev-parse", f"refs/heads/{self.branch}") if hasattr(self, "branch") else None,
                "index": (self.repo / ".git" / "index").read_bytes(),
                "tree": {k: v for k, v in self.snapshot_tree().items() if k != ".ratchet/lock"}}

    def tree(self, rev: str) -> str:
        return git(self.repo, "rev-parse", f"{rev}^{{tree}}")

    def test_default_branch_has_one_commit_per_kept_change_with_the_numbers(self):
        self.night()
        before = self.state()
        out = self.ok("finalize")
        name = f"ratchet/{self.run_id}-review"
        self.assertEqual([b["branch"] for b in out["branches"]], [name])
        self.assertEqual(out["branches"][0]["changes"], [1, 2, 4])
        self.assertTrue(out["tree_verified"])
        self.assertEqual(self.tree(name), self.tree(self.best))
        self.assertEqual(git(self.repo, "rev-list", "--reverse", f"{self.start}..{name}", "--format=%s").splitlines()[1::2],
                         ["smaller A", "smaller B", "A from c.py, notes gone"])
        self.assertEqual(git(self.repo, "merge-base", name, "main"), self.start)
        first = git(self.repo, "rev-list", "--reverse", f"{self.start}..{name}").splitlines()[0]
        body = git(self.repo, "log", "-1", "--format=%B", first)
        self.assertIn("Hypothesis: less A is faster", body)
        self.assertIn("score 1000 -> 900", body)
        parsed = git(self.repo, "interpret-trailers", "--parse", input_text=body)
        self.assertIn("Ratchet-Effect: +100", parsed)
        self.assertIn("Ratchet-Interval: exact (deterministic metric)", parsed)
        self.assertIn("Ratchet-Trials: 1", parsed)
        self.assertIn(f"Ratchet-Run: {self.run_id}", parsed)
        self.assertEqual(git(self.repo, "log", "-1", "--format=%(trailers:key=Ratchet-Iteration,valueonly)", name),
                         "4")
        self.assertEqual(self.state(), before, "finalize touched HEAD, a branch, the index or the work tree")
        self.assertIn(f"git push -u origin {name}", out["push"])
        self.assertIn(f"gh pr create --head {name} --base main", out["pr"])

    def test_squash_gives_one_commit_with_the_total_and_the_list(self):
        self.night()
        before = self.state()
        out = self.ok("finalize", "--squash")
        name = out["branches"][0]["branch"]
        self.assertEqual(name, f"ratchet/{self.run_id}-squash")
        self.assertEqual(git(self.repo, "rev-list", "--count", f"{self.start}..{name}"), "1")
        self.assertEqual(self.tree(name), self.tree(self.best))
        msg = git(self.repo, "log", "-1", "--format=%B", name)
        self.assertTrue(msg.startswith("ratchet: score 1000 -> 700 (-30%), 3 changes"), msg)
        self.assertIn("Total gain +300 (+30%), exact", msg)
        self.assertIn("- smaller B (iteration 2): effect +100 (exact), 1 runs", msg)
        parsed = git(self.repo, "interpret-trailers", "--parse", input_text=msg)
        self.assertIn("Ratchet-Effect: +300 (exact total)", parsed)
        self.assertIn("Ratchet-Iterations: 1, 2, 4", parsed)
        self.assertEqual(self.state(), before)

    def test_split_branches_touch_disjoint_files_start_from_the_start_commit_and_add_up(self):
        self.night()
        before = self.state()
        out = self.ok("finalize", "--split")
        names = [b["branch"] for b in out["branches"]]
        self.assertEqual(names, [f"ratchet/{self.run_id}-split-1", f"ratchet/{self.run_id}-split-2"])
        self.assertEqual([b["changes"] for b in out["branches"]], [[1, 4], [2]])
        self.assertEqual(out["branches"][0]["files"], ["a.py", "c.py", "notes.txt"])
        touched = []
        for name in names:
            self.assertEqual(git(self.repo, "merge-base", name, "main"), self.start)
            touched.append(set(git(self.repo, "diff", "--name-only", self.start, name).splitlines()))
        self.assertFalse(touched[0] & touched[1])
        # the branches' diffs, applied together to the start commit, give the best tree
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
            subprocess.run(["git", "-C", str(self.repo), "read-tree", self.start], env=env, check=True)
            for name in names:
                patch = git(self.repo, "diff", "--binary", self.start, name, strip=False)
                subprocess.run(["git", "-C", str(self.repo), "apply", "--cached"], input=patch, text=True,
                               env=env, check=True)
            tree = subprocess.run(["git", "-C", str(self.repo), "write-tree"], env=env, check=True,
                                  capture_output=True, text=True).stdout.strip()
        self.assertEqual(tree, self.tree(self.best))
        self.assertEqual(git(self.repo, "show", f"{names[0]}:a.py"), "from c import C\nA = 300 + C")
        self.assertEqual(git(self.repo, "show", f"{names[0]}:b.py"), "B = 500", "group 1 leaves b.py alone")
        self.assertEqual(git(self.repo, "rev-list", "--count", f"{self.start}..{names[0]}"), "2")
        self.assertIn("measured together", out["split_note"])
        self.assertEqual(self.state(), before)

    def test_split_squash_gives_one_commit_per_group(self):
        self.night()
        out = self.ok("finalize", "--split", "--squash", "--branch", "perf")
        self.assertEqual([b["branch"] for b in out["branches"]], ["perf-1", "perf-2"])
        self.assertEqual([b["commits"] for b in out["branches"]], [1, 1])
        msg = git(self.repo, "log", "-1", "--format=%B", "perf-1")
        self.assertTrue(msg.startswith("ratchet: 2 changes to score (group 1 of 2)"), msg)
        self.assertEqual(git(self.repo, "log", "-1", "--format=%s", "perf-2"), "smaller B")

    def test_refuses_while_an_iteration_is_being_measured(self):
        self.night("--trials", "2")
        self.write("a.py", "A = 1\n")
        self.ok("run-trial")  # one of two trials
        before = git(self.repo, "for-each-ref")
        res = self.cli("finalize")
        self.assertEqual(res.code, 2)
        self.assertEqual(len(res.stderr.strip().splitlines()), 1)
        self.assertIn("iteration 5 is in progress", res.stderr)
        self.assertEqual(git(self.repo, "for-each-ref"), before, "a branch was written")

    def test_refuses_while_another_ratchet_command_holds_the_lock(self):
        self.night()
        with Store(self.repo).lock():
            res = self.cli("finalize")
        self.assertEqual(res.code, 2)
        self.assertIn("another ratchet command is running", res.stderr)
        self.assertNotIn("-review", git(self.repo, "branch"))

    def test_an_existing_branch_is_replaced_only_with_force(self):
        self.night()
        name = f"ratchet/{self.run_id}-review"
        git(self.repo, "branch", name, self.start)
        res = self.cli("finalize")
        self.assertEqual(res.code, 2)
        self.assertIn("--force", res.stderr)
        self.assertEqual(git(self.repo, "rev-parse", name), self.start)
        out = self.ok("finalize", "--force")
        self.assertEqual(out["branches"][0]["replaced"], self.start)
        self.assertEqual(self.tree(name), self.tree(self.best))

    def test_refuses_the_users_branch_and_the_run_branch_even_with_force(self):
        self.night()
        for name in ("main", self.branch):
            res = self.cli("finalize", "--branch", name, "--force")
            self.assertEqual(res.code, 2, name)
            self.assertIn("refusing to write branch", res.stderr)
        self.assertEqual(git(self.repo, "rev-parse", "main"), self.start)
        res = self.cli("finalize", "--branch", "bad..name")
        self.assertEqual(res.code, 2)
        self.assertIn("not a valid branch name", res.stderr)
        res = self.cli("finalize", "--branch", f"{self.branch}/review")
        self.assertEqual(res.code, 2)
        self.assertIn(f"branch {self.branch} exists", res.stderr)

    def test_nothing_kept_is_refused(self):
        self.init()
        self.iteration("baseline")
        res = self.cli("finalize")
        self.assertEqual(res.code, 2)
        self.assertIn("no change was kept", res.stderr)

    def test_a_run_without_its_own_branch_is_finalized_from_the_start_commit(self):
        self.init("--no-branch")
        self.iteration("baseline")
        self.write("a.py", "A = 100\n")
        self.iteration("much smaller A")
        best = git(self.repo, "rev-parse", "main")
        self.assertNotEqual(best, self.start)
        out = self.ok("finalize", "--branch", "review")
        self.assertEqual(self.tree("review"), self.tree(best))
        self.assertEqual(git(self.repo, "rev-parse", "review^"), self.start)
        self.assertEqual(git(self.repo, "rev-parse", "main"), best)
        self.assertEqual(out["base"], self.start)

    def test_the_answer_names_the_remote_and_the_report_body(self):
        self.night()
        git(self.repo, "remote", "add", "upstream", "https://example.invalid/repo.git")
        self.ok("report")
        out = self.ok("finalize")
        self.assertTrue(out["push"].startswith("git push -u upstream ratchet/"))
        self.assertIn(str(self.repo / ".ratchet" / "report.md"), out["pr"])
        self.assertNotIn("note", out)


if __name__ == "__main__":
    import unittest
    sys.exit(unittest.main())
