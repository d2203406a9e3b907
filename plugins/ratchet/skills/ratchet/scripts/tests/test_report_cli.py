"""`ratchet.py report` against temporary repositories: where the page and
the summary go, what they say about exact and noisy runs, and the inputs it
refuses (one line, exit 2, nothing written)."""

import json
import re
import shutil
import tempfile
from pathlib import Path

from tests import test_noisy
from tests.support import RepoTestCase, git


class ReportCommand(RepoTestCase):
    def exact_run(self, *extra):
        self.init("--patience", "2", *extra)
        self.iteration("baseline")
        self.write("work.py", "N = 800\n")
        self.iteration("smaller N")
        self.write("work.py", "N = 900\n")
        self.iteration("bigger N")

    def test_report_writes_the_page_and_the_summary_into_ratchet_and_prints_their_paths(self):
        self.exact_run()
        out = self.ok("report")
        page, md = Path(out["html"]), Path(out["markdown"])
        self.assertEqual((page, md), (self.repo / ".ratchet" / "report.html", self.repo / ".ratchet" / "report.md"))
        self.assertEqual(out["url"], page.as_uri())
        self.assertEqual((out["iterations"], out["kept"]), (3, 1))
        text = page.read_text()
        self.assertEqual(len(re.findall(r'<circle class="pt [^"]*" data-iter=', text.split('id="progress-narrow"')[0])), 3)
        self.assertIn("Deterministic metric", text)
        summary = md.read_text()
        self.assertTrue(summary.startswith("## ratchet: score 1000 → 800 (-20%, lower is better)\n"))
        self.assertIn("**Total gain: +200 (+20%) (exact: deterministic metric)**", summary)
        self.assertIn("| 1 | `", summary)
        self.assertEqual(git(self.repo, "status", "--porcelain"), "", "the report must not dirty the work tree")

    def test_report_out_writes_to_a_folder_outside_the_repository(self):
        self.exact_run()
        elsewhere = Path(tempfile.mkdtemp(prefix="ratchet-report-"))
        self.addCleanup(shutil.rmtree, elsewhere, True)
        out = self.ok("report", "--out", str(elsewhere / "new" / "folder"))
        self.assertEqual(Path(out["html"]), elsewhere / "new" / "folder" / "report.html")
        self.assertTrue(Path(out["markdown"]).is_file())

    def test_report_out_inside_the_work_tree_is_refused_while_the_run_goes_on(self):
        self.init()
        self.iteration("baseline")
        res = self.cli("report", "--out", "docs")
        self.assertEqual(res.code, 2)
        self.assertEqual(len(res.stderr.strip().splitlines()), 1)
        self.assertIn("next measured change", res.stderr)
        self.assertFalse((self.repo / "docs").exists())
        self.ok("report", "--out", "ignored/report")  # a folder git ignores is fine
        self.assertTrue((self.repo / "ignored" / "report" / "report.html").is_file())

    def test_report_out_that_is_a_file_is_refused(self):
        self.init()
        self.iteration("baseline")
        res = self.cli("report", "--out", "work.py")
        self.assertEqual(res.code, 2)
        self.assertIn("not a folder", res.stderr)

    def test_report_without_a_run_is_a_usage_error(self):
        res = self.cli("report")
        self.assertEqual(res.code, 2)
        self.assertIn("no ratchet run", res.stderr)

    def test_report_during_a_measurement_says_which_iteration_is_in_progress(self):
        self.init("--trials", "2")
        self.iteration("baseline")
        self.write("work.py", "N = 700\n")
        self.ok("run-trial")  # one of two trials: the iteration is in progress
        out = self.ok("report")
        self.assertFalse(out["stopped"])
        self.assertIn("iteration 1 is being measured (1 runs so far)", Path(out["html"]).read_text())

    def test_report_of_a_run_whose_baseline_crashed(self):
        self.write("bench.py", "raise SystemExit(1)\n")
        git(self.repo, "commit", "-qam", "broken bench")
        self.init()
        self.iteration("baseline")
        out = self.ok("report")
        self.assertEqual(out["kept"], 0)
        self.assertIn("no baseline measured", Path(out["markdown"]).read_text())
        self.assertIn('data-iter="0"', Path(out["html"]).read_text())


class NoisyReport(RepoTestCase):
    files = {**RepoTestCase.files, "bench.py": test_noisy.NOISY_BENCH}

    def test_a_noisy_run_shows_intervals_margin_and_the_confirmed_total(self):
        self.write("ignored/data.txt", "data")
        self.init("--calibration-runs", "4", "--protect", "bench.py", "--iterations", "2",
                  "--confirm-pairs", "4", "--max-pairs", "8")
        self.iteration("baseline")
        self.write("work.py", "N = 900\n")
        self.iteration("smaller")
        self.write("work.py", "N = 1100\n")
        last = self.iteration("bigger")
        self.assertEqual(last["stop"]["reason"], "iterations_exhausted")
        out = self.ok("report")
        self.assertEqual(out["total"]["source"], "confirmation")
        page = Path(out["html"]).read_text()
        self.assertIn('id="effects"', page)
        self.assertEqual(page.split('id="effects"')[1].split("</svg>")[0].count('class="margin"'), 2)
        md = Path(out["markdown"]).read_text()
        self.assertIn("**Confirmed gain: +", md)
        self.assertIn("interleaved pairs)**", md)
        rec = self.results()[1]
        self.assertIn(f"{rec['test']['effect']:+.4g} [{rec['test']['ci_low']:+.4g}, {rec['test']['ci_high']:+.4g}]", md)
        json.dumps(out)  # the answer is plain JSON
