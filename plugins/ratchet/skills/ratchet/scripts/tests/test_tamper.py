"""End to end: tampering the old fingerprints missed, the user's empty
folders at a revert, and git killed mid-write (stale lock files)."""

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from tests.support import GIT_ENV, RATCHET, RepoTestCase, git

HANGING_GIT = """#!/bin/sh
# Stands in for git. When the arguments contain $RATCHET_TEST_HANG_ON, it
# does what a git killed mid-write leaves behind: creates the lock files
# ($RATCHET_TEST_LOCKS, ':'-separated; the private index's lock when empty),
# then hangs until killed. Anything else goes to the real git.
case " $* " in
  *" $RATCHET_TEST_HANG_ON "*)
    locks="$RATCHET_TEST_LOCKS"
    [ -n "$locks" ] || locks="$GIT_INDEX_FILE.lock"
    IFS=:
    for lock in $locks; do : > "$lock"; done
    : > "$RATCHET_TEST_MARKER"
    exec sleep 600 ;;
esac
exec "$RATCHET_TEST_REAL_GIT" "$@"
"""


def processes_with(text: str) -> list[int]:
    """Live processes whose environment holds `text` (Linux /proc; [] elsewhere)."""
    found = []
    if not os.path.isdir("/proc/self"):
        return found
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as fh:
                    if text.encode() in fh.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


class Tampering(RepoTestCase):
    """Tampering that only a fingerprint of what git would commit sees: the
    content through a symlink, or the executable bit."""

    files = {**RepoTestCase.files, "tests/check.py": "assert True\n"}

    def start_run(self, protect: str = "bench.py"):
        self.init("--protect", protect)
        self.iteration("baseline")
        self.base = git(self.repo, "rev-parse", "HEAD")
        self.write("work.py", "N = 10\n")  # a real improvement rides along: only integrity can refuse it

    def outside_copy(self, rel: str) -> Path:
        outside = Path(tempfile.mkdtemp(prefix="ratchet-outside-"))
        self.addCleanup(shutil.rmtree, outside, True)
        src, dest = self.repo / rel, outside / Path(rel).name
        shutil.copytree(src, dest) if src.is_dir() else shutil.copy(src, dest)
        return dest

    def assert_violation_reverted(self, problem: str):
        trial = self.ok("run-trial", "--all")
        self.assertIn(problem, trial["integrity_violation"])
        out = self.ok("decide", "--description", "cheat")
        self.assertEqual((out["decision"], out["kept"]), ("integrity_violation", False))
        self.assertIn(problem, self.results()[-1]["integrity"])
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), self.base)
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")
        self.assertEqual(self.read("work.py"), "N = 1000\n")

    def test_protected_file_replaced_by_a_symlink_to_an_identical_copy(self):
        self.start_run()
        copy = self.outside_copy("bench.py")
        (self.repo / "bench.py").unlink()
        (self.repo / "bench.py").symlink_to(copy)
        self.assert_violation_reverted("protected file replaced by a symlink: bench.py")
        self.assertFalse((self.repo / "bench.py").is_symlink())
        self.assertEqual(self.read("bench.py"), self.files["bench.py"])

    def test_chmod_x_on_a_protected_file(self):
        self.start_run()
        (self.repo / "bench.py").chmod(0o755)
        self.assert_violation_reverted("protected file mode changed (100644 -> 100755): bench.py")
        self.assertEqual(stat.S_IMODE(os.stat(self.repo / "bench.py").st_mode) & 0o111, 0)
        self.assertTrue(git(self.repo, "ls-tree", "HEAD", "bench.py").startswith("100644 "))

    def test_protected_folder_replaced_by_a_symlink_to_an_identical_copy(self):
        self.start_run("tests/")
        copy = self.outside_copy("tests")
        shutil.rmtree(self.repo / "tests")
        (self.repo / "tests").symlink_to(copy, target_is_directory=True)
        self.assert_violation_reverted("protected file deleted: tests/check.py")
        self.assertFalse((self.repo / "tests").is_symlink())
        self.assertEqual(self.read("tests/check.py"), "assert True\n")


class UserFoldersSurviveReverts(RepoTestCase):
    def test_empty_folders_made_before_init_survive_every_revert(self):
        for d in ("empty", "nested/inner"):
            (self.repo / d).mkdir(parents=True)
        self.init()
        self.iteration("baseline")  # its decide restores the tree too
        self.write("work.py", "N = 5000\n")
        self.write("helper.py", "junk = 1\n")
        self.write("newdir/deep/mod.py", "x = 1\n")
        self.assertEqual(self.iteration("bigger")["decision"], "regress")
        self.assertTrue((self.repo / "empty").is_dir())
        self.assertTrue((self.repo / "nested" / "inner").is_dir())
        self.assertFalse((self.repo / "helper.py").exists(), "a file the change created survived")
        self.assertFalse((self.repo / "newdir").exists(), "a folder the change created survived")
        self.assertEqual(self.read("work.py"), "N = 1000\n")

    def test_an_empty_folder_the_change_creates_is_kept(self):
        """git cannot see empty folders, so ratchet cannot tell one the change
        made from the user's: it keeps both (an empty folder changes no
        measurement)."""
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 5000\n")
        (self.repo / "scratch" / "out").mkdir(parents=True)
        self.assertEqual(self.iteration("bigger")["decision"], "regress")
        self.assertTrue((self.repo / "scratch" / "out").is_dir())


class KilledMidGit(RepoTestCase):
    """SIGKILL of ratchet's process group while git writes leaves git's lock
    files behind; the next command recovers and finishes the work."""

    def setUp(self):
        super().setUp()
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        fake = self.bin / "git"
        fake.write_text(HANGING_GIT)
        fake.chmod(0o755)
        self.marker = self.tmp / "git-hangs"

    def kill_mid_git(self, hang_on: str, *args: str, locks: tuple = ()):
        """Run `ratchet.py args` until git is called with `hang_on`, then SIGKILL its process group."""
        env = {**os.environ, **GIT_ENV, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
               "RATCHET_TEST_HANG_ON": hang_on, "RATCHET_TEST_LOCKS": ":".join(map(str, locks)),
               "RATCHET_TEST_MARKER": str(self.marker), "RATCHET_TEST_REAL_GIT": shutil.which("git")}
        proc = subprocess.Popen([sys.executable, str(RATCHET), *args], cwd=self.repo, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not self.marker.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:  # a power cut: the command's group and anything else it started (a detached worker)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for pid in processes_with(str(self.marker)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            out, err = proc.communicate()
        self.assertTrue(self.marker.exists(), f"git {hang_on} was never called: {out!r} {err!r}")
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        for lock in locks:
            self.assertTrue(Path(lock).exists())
        self.marker.unlink()

    def assert_no_lock_left(self):
        left = [p for p in (self.repo / ".git").rglob("*.lock")]
        self.assertEqual(left, [])

    def test_killed_while_snapshotting_the_candidate(self):
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 800\n")
        self.kill_mid_git("add", "run-trial", "--all")
        self.assertTrue(Path(f"{self.repo}/.git/ratchet-index.lock").exists())
        self.ok("run-trial", "--all")
        self.assertEqual(self.ok("decide", "--description", "smaller")["decision"], "improve")
        self.assert_no_lock_left()

    def test_killed_while_moving_head_for_a_keep(self):
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 800\n")
        self.ok("run-trial", "--all")
        branch = git(self.repo, "symbolic-ref", "HEAD")
        git_dir = self.repo / ".git"
        self.kill_mid_git("update-ref -m ratchet: keep", "decide", "--description", "smaller",
                          locks=(git_dir / "HEAD.lock", git_dir / f"{branch}.lock"))
        st = self.ok("status")
        self.assertEqual((st["best"]["score"], st["phase"]), (800.0, "propose"))
        self.assertEqual([r["decision"] for r in self.results()], ["baseline", "improve"])
        self.assertEqual(git(self.repo, "rev-parse", "HEAD"), st["best"]["sha"])
        self.assert_no_lock_left()

    def test_killed_while_reverting(self):
        self.init()
        self.iteration("baseline")
        self.write("work.py", "N = 5000\n")
        self.write("new.py", "x = 1\n")
        self.ok("run-trial", "--all")
        self.kill_mid_git("read-tree -u --reset", "decide", "--description", "bigger",
                          locks=(self.repo / ".git" / "index.lock",))
        self.assertEqual(self.ok("status")["phase"], "propose")
        self.assertEqual([r["decision"] for r in self.results()], ["baseline", "regress"])
        self.assertEqual(self.read("work.py"), "N = 1000\n")
        self.assertFalse((self.repo / "new.py").exists())
        self.assert_no_lock_left()


if __name__ == "__main__":
    unittest.main()
