"""The folders show the architecture, and the import graph keeps it honest:
the functional core (core/, views/, critic mode's pure modules) never
imports the shell (processes, git, files) nor a stdlib module that does I/O."""

import ast
import subprocess
import sys
import unittest
from pathlib import Path

from tests.support import SCRIPTS

PURE = [SCRIPTS / "core", SCRIPTS / "views"] + [SCRIPTS / "critic" / f"{m}.py" for m in
                                                ("diffs", "pathrules", "blinding", "verdicts")]
SHELL_PACKAGES = ("shell", "commands")
SHELL_MODULES = ("critic.gitapply", "critic.proposals", "critic.commands")
IO_STDLIB = ("os", "subprocess", "fcntl", "shutil", "socket", "tempfile", "threading", "signal", "pathlib",
             "io", "time", "secrets", "multiprocessing", "urllib", "http")


def pure_files() -> list[Path]:
    out = []
    for p in PURE:
        out.extend(sorted(p.glob("*.py")) if p.is_dir() else [p])
    return out


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in `path`, including the
    `from core import x` form as 'core.x'."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def violations(path: Path) -> list[str]:
    """One entry per import line that reaches the shell or I/O."""
    bad, seen = [], set()
    for line, name in imports_of(path):
        top = name.split(".")[0]
        if line not in seen and (top in SHELL_PACKAGES or name in SHELL_MODULES or top in IO_STDLIB):
            seen.add(line)
            rel = path.relative_to(SCRIPTS) if path.is_relative_to(SCRIPTS) else path
            bad.append(f"{rel}:{line} imports {name}")
    return bad


class ImportLayers(unittest.TestCase):
    def test_pure_modules_import_no_shell_module_and_no_io(self):
        files = pure_files()
        self.assertGreater(len(files), 15)
        problems = [v for f in files for v in violations(f)]
        self.assertEqual(problems, [], "a pure module imports the shell or an I/O module")

    def test_the_check_sees_a_violation(self):
        """The checker itself: a module importing the shell is flagged."""
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "bad.py"
            bad.write_text("from shell import gitops\nimport subprocess\nfrom core import stats\n")
            self.assertEqual(len(violations(bad)), 2)

    def test_every_module_lives_in_a_layer_folder(self):
        """Nothing but the entry point sits at the top of scripts/."""
        top = sorted(p.name for p in SCRIPTS.glob("*.py"))
        self.assertEqual(top, ["ratchet.py"])
        for pkg in ("core", "shell", "critic", "views", "commands"):
            self.assertTrue((SCRIPTS / pkg / "__init__.py").is_file(), pkg)


def loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` are in sys.modules once `code` ran in a fresh
    interpreter with scripts/ on its path, without its site (-S: this one's
    may import them first)."""
    probe = (f"import sys; sys.path.insert(0, sys.argv[1])\n{code}\n"
             f"print(' '.join(m for m in {names!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c", probe, str(SCRIPTS)], capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


class ImportCost(unittest.TestCase):
    """What every call pays for (bench/overhead.py measures it; these pin the
    causes it found, so they cannot come back unnoticed)."""

    def test_no_command_imports_dataclasses_or_inspect(self):
        code = ("import commands.cli, commands.trial, commands.decide, commands.status, commands.loop, "
                "commands.report, commands.finalize")
        self.assertEqual(loaded_after(code, ("dataclasses", "inspect")), [])

    def test_the_per_call_commands_do_not_import_shutil(self):
        """shutil loads the compression modules (milliseconds on a clean
        interpreter); argparse imports it whenever a parser sizes its help
        to the terminal."""
        code = ("import commands.cli, commands.trial, commands.decide, commands.status; from core import config; "
                "commands.cli.build_parser(only='decide').parse_args(['decide', '--description', 'x']); "
                "config.build_parser().format_help()")
        self.assertEqual(loaded_after(code, ("shutil",)), [])

    def test_modules_that_define_records_do_not_postpone_annotations(self):
        """A NamedTuple's field types given as strings are compiled one by one at import."""
        files = sorted(f for pkg in ("core", "shell", "critic", "views", "commands")
                       for f in (SCRIPTS / pkg).glob("*.py"))
        records = [f for f in files if "(NamedTuple):" in f.read_text()]
        self.assertGreater(len(records), 15)
        postponed = [str(f.relative_to(SCRIPTS)) for f in records
                     if "from __future__ import annotations" in f.read_text()]
        self.assertEqual(postponed, [])


if __name__ == "__main__":
    unittest.main()
