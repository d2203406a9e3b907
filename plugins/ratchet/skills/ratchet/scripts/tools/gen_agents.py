"""Generate the proposer agent files from one template.

`plugins/ratchet/agents/ratchet-proposer-a.md` and `-b.md` share most of
their text. A subagent sees only its own file, so each file must stay
self-contained: the shared text lives in `tools/agents/proposer.template.md`,
what differs lives in `PROPOSERS` below, and this script writes the full
files. Edit the template or `PROPOSERS`, never the generated files, then run
(from `plugins/ratchet/skills/ratchet/scripts`):

    python3 -m tools.gen_agents            # rewrite the agent files
    python3 -m tools.gen_agents --check    # exit 1, naming each file that differs

(`python3 tools/gen_agents.py ...` works too.) `--agents-dir DIR` writes or
checks another folder instead of `plugins/ratchet/agents`.

The template holds `{{key}}` placeholders; every one must have a value and
every value must be used, or generation fails. Stdlib only.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "agents" / "proposer.template.md"
AGENTS_DIR = HERE.parents[3] / "agents"   # scripts -> skill -> skills -> plugin

_PLACEHOLDER_RE = re.compile(r"\{\{([a-z_]+)\}\}")

# What differs between the two proposers. Multi-line values are inserted as
# they are (the template gives the surrounding blank lines).
PROPOSERS = {
    "ratchet-proposer-a": {
        "description": "Ratchet critic mode: proposes one small, safe refinement of what already worked.",
        "angle_title": "refine what works",
        "angle": (
            "Build on the evidence. Find what the kept iterations changed and push further\n"
            "in the same direction, or fix the smallest obvious inefficiency next to it.\n"
            "Prefer a small, low-risk, incremental change that is very likely to measure\n"
            "better over a big bet. One idea per proposal, the smallest diff that tests it."),
        "retry_rule": " unless you say what is different this time",
        "expected_example": "time_ms -5% to -10%",
    },
    "ratchet-proposer-b": {
        "description": "Ratchet critic mode: proposes one structurally different change the run has not tried.",
        "angle_title": "a structurally different approach",
        "angle": (
            "Do not polish what the run already does. Look for a different way to do the\n"
            "work the metric measures: another algorithm or data structure, removing a\n"
            "whole layer of work, batching instead of looping, a different representation.\n"
            "Look at what the history tried and find the direction nobody explored. Bolder\n"
            "is fine; broken is not: the program must stay correct. Still one coherent\n"
            "idea, in the smallest diff that expresses it."),
        "retry_rule": "",
        "expected_example": "time_ms -30%",
    },
}


def render(template: str, values: dict) -> str:
    """`template` with each `{{key}}` replaced by `values[key]`.
    ValueError when a placeholder has no value or a value is unused."""
    used = set(_PLACEHOLDER_RE.findall(template))
    missing = sorted(used - set(values))
    unused = sorted(set(values) - used)
    if missing or unused:
        raise ValueError("template/values mismatch: missing %s, unused %s" % (missing, unused))
    for key in ("name", "description"):
        if "\n" in values.get(key, ""):
            raise ValueError(f"{key} must be one line (it is paid for in every session)")
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


def generate(template_path: Path = TEMPLATE) -> dict[str, str]:
    """{file name: text} of every generated agent file."""
    template = template_path.read_text(encoding="utf-8")
    return {f"{name}.md": render(template, {"name": name, **values}) for name, values in PROPOSERS.items()}


def check(agents_dir: Path = AGENTS_DIR) -> list[str]:
    """Paths of the generated files in `agents_dir` that are missing or differ."""
    stale = []
    for filename, text in generate().items():
        path = agents_dir / filename
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
    return stale


def write(agents_dir: Path = AGENTS_DIR) -> list[str]:
    """Write the generated files into `agents_dir`; the paths that changed."""
    changed = check(agents_dir)
    for filename, text in generate().items():
        path = agents_dir / filename
        if str(path) in changed:
            path.write_text(text, encoding="utf-8", newline="\n")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the proposer agent files from the template.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and name each file that differs from the template")
    parser.add_argument("--agents-dir", type=Path, default=AGENTS_DIR, help="default: plugins/ratchet/agents")
    args = parser.parse_args(argv)
    if args.check:
        stale = check(args.agents_dir)
        for path in stale:
            print(f"{path}: differs from what {Path(__file__).name} generates "
                  f"(edit {TEMPLATE.name} or PROPOSERS, then run it without --check)", file=sys.stderr)
        return 1 if stale else 0
    for path in write(args.agents_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
