"""What a proposer hands back: its answer's contract and the paths its diff names.

Pure (no I/O):

- `parse_proposal(text)`: the proposers' exact output contract (see
  agents/ratchet-proposer-*.md); `normalize_diff(diff)`: the one repair it makes.
- `diff_paths(diff)`: every path a diff names (headers, renames, copies,
  deletes), a superset of what git would touch.
"""

from __future__ import annotations

import re

from critic.pathrules import normalize_path


# ---- the proposers' output contract ------------------------------------------

_KEY_RE = re.compile(
    r"^[\s>#*_`]*(HYPOTHESIS|EXPECTED(?:[ _]EFFECT)?|RATIONALE|DIFF|NO[ _]PROPOSAL)[\s*_`]*:[\s*_`]*(.*?)[\s*_`]*$",
    re.IGNORECASE)
_FENCE_OPEN_RE = re.compile(r"^\s*(`{3,}|~{3,})\s*([A-Za-z0-9_+-]*)\s*$")
_DIFFISH_RE = re.compile(r"^(diff --git |--- |\+\+\+ |@@ )", re.MULTILINE)


def _key_of(line: str) -> tuple[str, str] | None:
    m = _KEY_RE.match(line)
    if not m:
        return None
    key = m.group(1).upper().replace(" ", "_")
    if key.startswith("EXPECTED"):
        key = "EXPECTED"
    return key, m.group(2).strip()


def _fenced_block(lines: list[str], start: int) -> tuple[str, int] | None:
    """The first fenced block at or after `start`: (content, index after it).

    A diff line always starts with ' ', '+', '-', '\\', '@' or a header word,
    so a bare fence line (at the opener's indentation) can never be part of a
    diff: the first such line closes the block. Unclosed: runs to the end.
    As in Markdown, the opener's indentation is removed from every content
    line (Claude Code hands a subagent's answer back indented by two spaces).
    """
    for i in range(start, len(lines)):
        m = _FENCE_OPEN_RE.match(lines[i])
        if not m:
            continue
        fence = m.group(1)
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        body = []
        for j in range(i + 1, len(lines)):
            s = lines[j].rstrip()
            if s.startswith(indent) and s[len(indent):] and set(s[len(indent):]) == {fence[0]} \
                    and len(s) - len(indent) >= len(fence):
                return "\n".join(body), j + 1
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip(" "))
        return "\n".join(body), len(lines)
    return None


def parse_proposal(text: str) -> dict:
    """Parse one proposer's answer (see agents/ratchet-proposer-*.md).

    Returns {"hypothesis", "expected", "rationale", "diff", "no_proposal",
    "problems"}; `problems` lists contract violations (empty when usable).
    `diff` always ends with a newline when present (git apply needs it).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    fields = {"HYPOTHESIS": "", "EXPECTED": "", "RATIONALE": "", "NO_PROPOSAL": None}
    rationale: list[str] = []
    diff = None
    current = None
    i = 0
    while i < len(lines):
        kv = _key_of(lines[i])
        if kv is None:
            if current == "RATIONALE":
                rationale.append(lines[i])
            elif current in ("HYPOTHESIS", "EXPECTED") and not fields[current] and lines[i].strip():
                fields[current] = lines[i].strip()   # value on the next line
            i += 1
            continue
        key, value = kv
        if key == "DIFF":
            block = _fenced_block(lines, i + 1)
            if block is not None:
                diff = block[0]
            else:   # no fence: the raw diff follows
                diff = "\n".join(([value] if value else []) + lines[i + 1:])
            break
        current = key
        if key == "RATIONALE":
            if value:
                rationale.append(value)
        elif key == "NO_PROPOSAL":
            fields[key] = value or "no reason given"
        elif not fields[key]:
            fields[key] = value
        i += 1
    if diff is None and fields["NO_PROPOSAL"] is None:
        # Tolerate a missing "DIFF:" line when a ```diff block is present.
        for k, line in enumerate(lines):
            m = _FENCE_OPEN_RE.match(line)
            if m and m.group(2).lower() in ("diff", "patch"):
                diff = _fenced_block(lines, k)[0]
                break
    problems = []
    if fields["NO_PROPOSAL"] is not None:
        problems.append(f"proposer made no proposal: {fields['NO_PROPOSAL']}")
    else:
        if not fields["HYPOTHESIS"]:
            problems.append("missing HYPOTHESIS: line")
        if diff is None or not diff.strip():
            problems.append("missing DIFF: block")
        elif not _DIFFISH_RE.search(diff):
            problems.append("DIFF: block is not a unified diff (no ---/+++/@@ lines)")
    if diff is not None:
        diff = normalize_diff(diff.strip("\n")) + "\n" if diff.strip() else ""
    return {
        "hypothesis": fields["HYPOTHESIS"],
        "expected": fields["EXPECTED"],
        "rationale": "\n".join(rationale).strip(),
        "diff": diff or "",
        "no_proposal": fields["NO_PROPOSAL"],
        "problems": problems,
    }


def normalize_diff(diff: str) -> str:
    """Fix the one omission git apply rejects that models make often: a
    `diff --git` section creating a file (`--- /dev/null`) without its
    `new file mode` line ("dev/null: No such file or directory"). Nothing
    else is changed."""
    lines = diff.split("\n")
    out: list[str] = []
    k = 0
    while k < len(lines):
        line = lines[k]
        out.append(line)
        k += 1
        if not line.startswith("diff --git "):
            continue
        header = []
        while k < len(lines) and not lines[k].startswith(("diff --git ", "@@ ")):
            header.append(lines[k])
            if lines[k].startswith("+++ "):
                k += 1
                break
            k += 1
        if "--- /dev/null" in header and not any(h.startswith("new file mode") for h in header):
            out.append("new file mode 100644")
        out.extend(header)
    return "\n".join(out)


# ---- paths a diff touches -----------------------------------------------------

_C_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
              '"': '"', "\\": "\\"}


def _unquote_c(s: str) -> tuple[str, str]:
    """Parse a git C-quoted string at the start of `s` ("..."). Returns
    (value, rest). Octal escapes are bytes of UTF-8."""
    assert s.startswith('"')
    out = bytearray()
    i = 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return out.decode("utf-8", "surrogateescape"), s[i + 1:]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in "01234567" and re.match(r"[0-7]{3}", s[i + 1:i + 4]):
                out.append(int(s[i + 1:i + 4], 8) & 0xFF)
                i += 4
                continue
            out.extend(_C_ESCAPES.get(n, n).encode())
            i += 2
            continue
        out.extend(c.encode("utf-8", "surrogateescape"))
        i += 1
    return out.decode("utf-8", "surrogateescape"), ""   # unterminated: take it all


def _header_name(s: str) -> str:
    """The file name on a ---/+++ line (quoted, or up to a tab timestamp)."""
    s = s.strip(" ")
    if s.startswith('"'):
        return _unquote_c(s)[0]
    return s.split("\t", 1)[0].rstrip()


def _strip_component(name: str) -> str | None:
    """git apply -p1: drop the first path component (a/, b/, or whatever)."""
    if name == "/dev/null":
        return None
    name = name.lstrip("/")
    parts = name.split("/", 1)
    return parts[1] if len(parts) == 2 and parts[1] else name


def _git_header_names(rest: str) -> list[str]:
    """Both names of `diff --git <a> <b>` (quoted or not, spaces allowed)."""
    rest = rest.rstrip("\n")
    if rest.startswith('"'):
        first, tail = _unquote_c(rest)
        tail = tail.strip(" ")
        second = _unquote_c(tail)[0] if tail.startswith('"') else tail
        return [first, second]
    if rest.endswith('"') and ' "' in rest:
        k = rest.index(' "')
        return [rest[:k], _unquote_c(rest[k + 1:])[0]]
    # Unquoted: "a/P b/P". Prefer the split whose halves name the same path.
    names = []
    for k in [m.start() for m in re.finditer(" ", rest)]:
        left, right = rest[:k], rest[k + 1:]
        if _strip_component(left) == _strip_component(right):
            return [left, right]
        names.append((left, right))
    if names:   # different names (rename): every split is a candidate; keep all
        out = []
        for left, right in names:
            out.extend([left, right])
        return out
    return [rest]


def diff_paths(diff: str) -> list[str]:
    """Every repo-relative path `diff` names, sorted and unique.

    Reads `diff --git` headers, ---/+++ lines (after stripping one leading
    component, as `git apply -p1` does), rename/copy from/to lines and
    "Binary files ... differ" lines. Hunk bodies are skipped using the @@
    line counts, but any `diff --git` line ends a hunk. When counts are wrong
    a content line may be read as a header: that only adds names, so the
    result is a superset of what git would touch, never a subset (the I/O
    layer also unions in git's own `--numstat` view).
    """
    found: set[str] = set()

    def add(name: str | None, strip: bool = True) -> None:
        if name is None:
            return
        value = _strip_component(name) if strip else name
        if value:
            found.add(normalize_path(value) or value)

    old_left = new_left = 0
    lines = diff.replace("\r\n", "\n").split("\n")
    for k, line in enumerate(lines):
        if line.startswith("diff --git "):
            old_left = new_left = 0
            for name in _git_header_names(line[len("diff --git "):]):
                add(name)
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if line.startswith("--- ") and nxt.startswith("+++ "):
            old_left = new_left = 0   # a header pair, even where counts say "hunk"
        if old_left > 0 or new_left > 0:
            tag = line[:1]
            if tag in (" ", ""):
                old_left -= 1
                new_left -= 1
                continue
            if tag == "-":
                old_left -= 1
                continue
            if tag == "+":
                new_left -= 1
                continue
            if tag == "\\":
                continue
            old_left = new_left = 0   # counts were wrong: fall through to headers
        m = re.match(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@", line)
        if m:
            old_left = int(m.group(1)) if m.group(1) is not None else 1
            new_left = int(m.group(2)) if m.group(2) is not None else 1
            continue
        if line.startswith("--- ") or line.startswith("+++ "):
            add(_header_name(line[4:]))
            continue
        m = re.match(r"^(rename|copy) (from|to) (.*)$", line)
        if m:
            raw = m.group(3)
            add(_unquote_c(raw)[0] if raw.startswith('"') else raw, strip=False)
            continue
        m = re.match(r"^Binary files (.*) and (.*) differ$", line)
        if m:
            for raw in m.groups():
                add(_unquote_c(raw)[0] if raw.startswith('"') else raw)
    return sorted(found)
