"""Reading the metric out of a report.

Pure: `extract(text, name, regex)` returns an `Extraction`. Formats tried, in
order (the first that yields a value wins; within a format the LAST
occurrence wins, because benchmarks print their summary at the end):

1. `--metric-regex` when given (and nothing else): its one capture group.
2. The whole report as JSON: key `name`, or a dotted path `a.b.c`.
3. JSON lines: the last line that is an object holding `name`.
4. Text lines: `name: 1.23`, `name=1.23`, `name 1.23` (units after the number
   are ignored, `"name": 1.23` works too).

A value must be a finite number: nan and inf are reported, not returned.
"""

import json
import math
import re
from typing import NamedTuple

NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_NUM_RE = re.compile(rf"^(?:{NUMBER})$", re.IGNORECASE)


class Extraction(NamedTuple):
    """`value` is a finite float, or None with `problem` saying why.

    `absent` is True when nothing matched at all (a person or the model may
    still find the number); False when a match held no usable number."""

    value: float | None
    source: str  # "regex" | "json" | "jsonl" | "text" | "none"
    problem: str = ""
    absent: bool = False


def _as_score(raw, source: str) -> Extraction:
    if isinstance(raw, bool) or raw is None:
        return Extraction(None, source, f"metric value {raw!r} is not a number")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return Extraction(None, source, f"metric value {str(raw)[:40]!r} is not a number")
    if not math.isfinite(value):
        return Extraction(None, source, f"metric value is {value} (nan/inf are not scores)")
    return Extraction(value, source)


def _lookup(obj, name: str):
    """obj[name], else follow the dotted path; raise KeyError when absent."""
    if isinstance(obj, dict) and name in obj:
        return obj[name]
    cur = obj
    for part in name.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(name)
        cur = cur[part]
    return cur


def _from_regex(text: str, regex: str) -> Extraction:
    matches = list(re.finditer(regex, text, re.MULTILINE))
    if not matches:
        return Extraction(None, "regex", "--metric-regex matched nothing in the report", absent=True)
    return _as_score(matches[-1].group(1).strip(), "regex")


def _from_json(text: str, name: str) -> Extraction | None:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        doc = json.loads(stripped)
    except ValueError:
        return None
    try:
        return _as_score(_lookup(doc, name), "json")
    except KeyError:
        return None


def _from_json_lines(text: str, name: str) -> Extraction | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not (line.startswith("{") and line.endswith("}")):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        try:
            return _as_score(_lookup(obj, name), "jsonl")
        except KeyError:
            continue
    return None


def _text_pattern(name: str) -> re.Pattern:
    quoted = rf"""["']?{re.escape(name)}["']?"""
    return re.compile(
        rf"(?<![\w.-]){quoted}(?:\s*[:=]\s*|[ \t]+)[\"']?({NUMBER})(?![\d.])",
        re.IGNORECASE,
    )


def _from_text(text: str, name: str) -> Extraction | None:
    matches = list(_text_pattern(name).finditer(text))
    if not matches:
        return None
    return _as_score(matches[-1].group(1), "text")


def extract(text: str, name: str, regex: str | None = None) -> Extraction:
    """Find the metric `name` in report `text` (see module docstring)."""
    if regex:
        return _from_regex(text, regex)
    for finder in (_from_json, _from_json_lines, _from_text):
        found = finder(text, name)
        if found is not None:
            return found
    return Extraction(None, "none", f"no value for metric {name!r} found in the report", absent=True)


def has_number(text: str) -> bool:
    """True when `text` holds at least one finite number token."""
    return re.search(r"\d", text) is not None


def appears_literally(text: str, number: str) -> bool:
    """True when `number` occurs in `text` as a whole number token.

    Used to accept a score the model typed: it must be copied from the report,
    not invented. '1.5' matches in 'took 1.5 s' but not in '11.52'.
    """
    token = number.strip()
    if not _NUM_RE.match(token):
        return False
    return re.search(rf"(?<![\d.]){re.escape(token)}(?![\d])", text) is not None
