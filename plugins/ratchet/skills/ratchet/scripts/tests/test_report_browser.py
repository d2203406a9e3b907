"""The demo ends with the morning report, and the report's page works in a
real browser: headless Chromium opens it from disk without a console error,
the chart has one point per iteration, and screenshots at desktop and phone
width are of non-trivial size.

Without `chromium` (or `chromium-browser`) on PATH the browser test is
skipped with one line, unless RATCHET_REQUIRE_CHROMIUM=1 (set by .ci/run
after installing Debian's chromium package), which makes it fail instead.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

DEMO = Path(__file__).resolve().parents[6] / "examples" / "demo.sh"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@unittest.skipUnless(DEMO.exists(), "examples/ is only in a checkout of the repository")
class DemoReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = Path(tempfile.mkdtemp(prefix="ratchet-report-demo-"))
        cls.proc = subprocess.run(["bash", str(DEMO), str(cls.work)], capture_output=True, text=True, timeout=300,
                                  env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(cls.work)})
        cls.repo = cls.work / "primes-demo"
        cls.page = cls.repo / ".ratchet" / "report.html"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def records(self) -> list[dict]:
        text = (self.repo / ".ratchet" / "results.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def test_demo_ends_by_writing_the_report_and_printing_its_path(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertEqual(self.proc.stdout.rstrip().splitlines()[-1], str(self.page))
        self.assertTrue(self.page.is_file())
        md = (self.repo / ".ratchet" / "report.md").read_text()
        self.assertTrue(md.startswith("## ratchet: wall_time "), md[:200])
        self.assertIn("**Confirmed gain: +", md)
        self.assertIn("| 1 | `", md)  # the kept change
        self.assertIn("| integrity violation | 1 |", md)

    def test_the_page_opens_in_a_real_browser_without_errors(self):
        browser = chromium()
        if browser is None:
            if os.environ.get("RATCHET_REQUIRE_CHROMIUM") == "1":
                self.fail("RATCHET_REQUIRE_CHROMIUM=1 but no chromium on PATH")
            self.skipTest("no chromium on PATH: the report's browser test is skipped")
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        profile = Path(tempfile.mkdtemp(prefix="ratchet-chromium-"))
        self.addCleanup(shutil.rmtree, profile, True)
        base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
        env = {**os.environ, "HOME": str(profile)}
        url = self.page.as_uri()

        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        console = [ln for ln in dom.stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]
        self.assertEqual(console, [], "the page logged to the console")
        svg = re.search(r'<svg[^>]*id="progress"[^>]*>.*?</svg>', dom.stdout, re.S)
        self.assertIsNotNone(svg, "the rendered page has no progress chart")
        points = re.findall(r'<circle class="pt [^"]*" data-iter="(\d+)"', svg.group(0))
        self.assertEqual(points, [str(r["iter"]) for r in self.records()], "one point per iteration")

        for width, height in ((1280, 2000), (390, 1600)):
            shot = profile / f"report-{width}.png"
            res = subprocess.run(base + [f"--screenshot={shot}", f"--window-size={width},{height}", url],
                                 capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(res.returncode, 0, res.stderr[-2000:])
            self.assertEqual(png_size(shot), (width, height))
            self.assertGreater(shot.stat().st_size, 30_000, f"a {width}px screenshot this small is a blank page")


if __name__ == "__main__":
    unittest.main()
