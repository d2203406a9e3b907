import os
import shutil
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from shell import runner


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); check its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


class Runner(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ratchet-runner-"))
        self.out, self.err = self.dir / "out.txt", self.dir / "err.txt"

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_cmd(self, cmd, timeout=None):
        return runner.run(cmd, self.dir, self.out, self.err, timeout)

    def test_stdout_and_stderr_go_to_their_files(self):
        o = self.run_cmd("echo to-out; echo to-err >&2")
        self.assertTrue(o.ok)
        self.assertEqual(self.out.read_text(), "to-out\n")
        self.assertEqual(self.err.read_text(), "to-err\n")
        self.assertEqual((o.stdout_bytes, o.stderr_bytes), (7, 7))

    def test_runs_in_the_given_directory(self):
        (self.dir / "marker").write_text("x")
        self.run_cmd("ls")
        self.assertIn("marker", self.out.read_text())

    def test_nonzero_exit_is_reported(self):
        o = self.run_cmd("exit 7")
        self.assertEqual(o.exit_code, 7)
        self.assertFalse(o.ok)

    def test_a_command_that_kills_itself_reports_the_signal(self):
        o = self.run_cmd("kill -9 $$")
        self.assertEqual(o.exit_code, -9)
        self.assertFalse(o.ok)

    def test_stdin_is_closed_so_reading_it_does_not_hang(self):
        o = self.run_cmd("cat; echo done", timeout=10)
        self.assertTrue(o.ok)
        self.assertEqual(self.out.read_text(), "done\n")

    def test_timeout_kills_grandchildren_too(self):
        pidfile = self.dir / "grandchild.pid"
        o = self.run_cmd(f"sh -c 'sleep 30 & echo $! > {pidfile}; wait' ; echo never", timeout=0.5)
        self.assertTrue(o.timed_out)
        self.assertFalse(o.ok)
        self.assertLess(o.duration_s, 10)
        pid = int(pidfile.read_text())
        for _ in range(50):
            if not alive(pid):
                break
            time.sleep(0.05)
        self.assertFalse(alive(pid), "grandchild survived the timeout")

    @unittest.skipUnless(hasattr(os, "pidfd_open"), "a pidfd (Linux 5.3+) is what wakes the wait")
    def test_a_trial_with_a_timeout_is_waited_for_without_polling(self):
        """Popen.wait(timeout) sleeps between checks (1, 2, 4 ... ms), time
        that would be added to a quick trial's; the pidfd wakes at the exit."""
        try:
            os.close(os.pidfd_open(os.getpid()))
        except OSError:
            self.skipTest("this kernel has no pidfd")
        with mock.patch("time.sleep", side_effect=AssertionError("polled")):
            o = self.run_cmd("sleep 0.2; echo done", timeout=10)
        self.assertTrue(o.ok, o)
        self.assertEqual(self.out.read_text(), "done\n")

    def test_a_timeout_ends_a_trial_that_closed_its_output_and_runs_on(self):
        o = self.run_cmd("exec >/dev/null 2>&1; sleep 30", timeout=0.5)
        self.assertTrue(o.timed_out)
        self.assertLess(o.duration_s, 10)

    def test_background_stragglers_are_killed_after_a_normal_exit(self):
        pidfile = self.dir / "bg.pid"
        o = self.run_cmd(f"sleep 30 > /dev/null 2>&1 & echo $! > {pidfile}")
        self.assertTrue(o.ok)
        pid = int(pidfile.read_text())
        for _ in range(50):
            if not alive(pid):
                break
            time.sleep(0.05)
        self.assertFalse(alive(pid))

    def test_huge_output_keeps_head_and_tail_within_a_bound(self):
        with mock.patch.object(runner, "HEAD_BYTES", 1000), mock.patch.object(runner, "TAIL_BYTES", 100):
            o = self.run_cmd("python3 -c \"import sys; sys.stdout.write('a' * 50000); print('score: 7')\"")
        self.assertTrue(o.ok)
        self.assertEqual(o.stdout_bytes, 50009)
        self.assertTrue(o.truncated)
        text = self.out.read_text()
        self.assertLess(len(text), 1200)
        self.assertTrue(text.startswith("a" * 1000))
        self.assertIn("bytes dropped from the middle", text)
        self.assertTrue(text.endswith("score: 7\n"))

    def test_copy_capped_copies_small_files_whole(self):
        src = self.dir / "src.json"
        src.write_text('{"t": 1}')
        n = runner.copy_capped(src, self.dir / "copy.json")
        self.assertEqual(n, 8)
        self.assertEqual((self.dir / "copy.json").read_text(), '{"t": 1}')


if __name__ == "__main__":
    unittest.main()
