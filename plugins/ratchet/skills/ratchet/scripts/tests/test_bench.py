"""The benchmarks must keep running against the real code: the decision
benchmark (stats module) and the overhead benchmark (the CLI)."""

import re
import subprocess
import sys
import unittest
from pathlib import Path

BENCH = Path(__file__).resolve().parents[6] / "bench" / "decisions.py"
OVERHEAD = BENCH.with_name("overhead.py")


@unittest.skipUnless(BENCH.exists(), "bench/ is only in a checkout of the repository")
class DecisionBenchmark(unittest.TestCase):
    def test_quick_run_meets_every_target(self):
        proc = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        verdicts = [line for line in proc.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
        self.assertEqual(len(verdicts), 14, proc.stdout[-3000:])
        self.assertEqual(sum(v.split("  ", 1)[1].startswith("constraint:") for v in verdicts), 3,
                         "the constraint scenario's three targets")
        self.assertTrue(all(v.startswith("PASS") for v in verdicts), verdicts)
        self.assertIn("ratchet", proc.stdout)
        self.assertIn("naive", proc.stdout)


@unittest.skipUnless(OVERHEAD.exists(), "bench/ is only in a checkout of the repository")
class OverheadBenchmark(unittest.TestCase):
    def test_quick_run_runs_and_prints_every_number(self):
        """--quick judges only that the benchmark ran (the targets are printed, not judged)."""
        proc = subprocess.run([sys.executable, str(OVERHEAD), "--quick"], capture_output=True, text=True,
                              timeout=300)
        out = proc.stdout
        self.assertEqual(proc.returncode, 0, out[-3000:] + proc.stderr[-3000:])
        verdicts = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
        self.assertEqual(len(verdicts), 16, out[-3000:])
        for design in ("exact", "noisy"):
            self.assertIn(f"design {design}", out)
            for what in ("status", "run-trial", "decide", "JSON per normal iteration", "baseline answer"):
                self.assertTrue(any(v.split(" ", 1)[1].startswith(f"{design}: {what}") for v in verdicts),
                                (design, what))
        self.assertRegex(out, r"\ninterpreter start: [\d.]+ ms with its site, [\d.]+ ms without \(-S\); "
                              r"its site imports .+ from outside the standard library; the ratios below")
        self.assertEqual(len(re.findall(r"against a start that imports json, re, subprocess, pathlib, argparse, "
                                        r"typing \([\d.]+ ms, [\d.]+x bare; not judged\), at 10 records: status "
                                        r"[\d.]+x, run-trial [\d.]+x, decide [\d.]+x", out)), 2, out[-3000:])
        self.assertEqual(out.count("git processes: "), 2)
        self.assertEqual(out.count("JSON the model reads: "), 2)
        self.assertRegex(out.splitlines()[-1], r"^overhead --quick: ran in \d+ s; \d+ of 16 targets pass, "
                                               r"\d+ fail \(not judged in --quick\)$")

    def test_the_interpreter_start_names_the_modules_its_site_imports(self):
        """A start made slower by a sitecustomize or a .pth file reads as such."""
        import importlib.util
        import os
        import tempfile
        spec = importlib.util.spec_from_file_location("overhead_bench", OVERHEAD)
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "sitecustomize.py").write_text("import ratchet_test_start_hook\n")
            Path(tmp, "ratchet_test_start_hook.py").write_text("HOOKED = True\n")
            hooked = bench.startup({**os.environ, "PYTHONPATH": tmp}, [sys.executable])
        self.assertIn("ratchet_test_start_hook", hooked["imports"])
        plain = bench.startup(dict(os.environ), [sys.executable])
        self.assertNotIn("ratchet_test_start_hook", plain["imports"])
        self.assertGreater(plain["site"], 0)
        self.assertGreater(plain["no_site"], 0)

    def test_no_site_runs_every_process_with_dash_s(self):
        proc = subprocess.run([sys.executable, str(OVERHEAD), "--quick", "--no-site", "--designs", "exact"],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        self.assertIn("every process below runs with -S", proc.stdout)
        self.assertIn("its site imports nothing from outside", proc.stdout, "the probe ran without its site too")
        self.assertEqual(sum(line.startswith(("PASS", "FAIL")) for line in proc.stdout.splitlines()), 8)


if __name__ == "__main__":
    unittest.main()
