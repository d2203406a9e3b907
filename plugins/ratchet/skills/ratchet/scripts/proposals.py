"""Critic mode: proposal storage, diff validation, blinding, verdicts.

Two proposer subagents each return one change as text plus a unified diff;
Python validates both, shows the valid ones to a critic subagent under
neutral labels (X, Y) in a random order, records the critic's verdict, and
applies the picked diff to the working tree. The chosen change is then
measured and decided like any other: the critic never overrides the numbers.

Pure core (no I/O), then a thin I/O layer at the bottom:

- `parse_proposal(text)`: the proposers' exact output contract.
- `diff_paths(diff)`: every path a diff names (headers, renames, copies,
  deletes); `path_problems(paths, globs)`: which of them are off limits.
- `order_for_seed(seed)` / `blind(valid_slots, seed)`: the judge's order and
  the label -> proposer mapping; `redact_identity(text)`; `render_packet`.
- `validate_verdict(obj, labels)`, `parse_verdict_text(text)`.
- `runner_up(state)`, `critic_record(state)`, `position_bias(records)`.

I/O: `validate_diff` (git apply --check + the path rules + git-ignored and
symlinked targets), `save_proposal`, `build_packet`, `record_verdict`,
`apply_runner_up`; hooks for commands.py: `record_fields(run, cur)` (the
"critic" field of a results record) and `runner_up_hint(run)` (for `next`).

Files, under `.ratchet/proposals/` (`NNNN` is the iteration):
  iter-NNNN-a.json / iter-NNNN-a.diff    proposal of slot a, sealed json (same for b)
  iter-NNNN-a.raw.md                     the proposer's answer as saved
  iter-NNNN-packet.md                    what the critic reads (blinded)
  iter-NNNN-critic.json                  validity, seed, mapping, verdict (sealed)
  iter-NNNN-verdict.raw.md               the critic's answer as saved
  incoming-{a,b,verdict}.md              where the main agent saves answers; consumed
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import subprocess
from fnmatch import fnmatchcase
from pathlib import Path

import gitops
import store as store_mod
from errors import UsageError

SLOTS = ("a", "b")
LABELS = ("X", "Y")
NEITHER = "neither"
PROPOSALS_DIR = "proposals"
MAX_PROPOSAL_BYTES = 1_000_000
ALWAYS_PROTECTED = (".ratchet", ".git")
HEADLINE_CHARS = 300


# =============================================================================
# Pure core
# =============================================================================

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
            body.append(lines[j])
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


def normalize_path(path: str) -> str:
    """Repo-relative POSIX form: no './', no duplicate or trailing slashes."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


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


# ---- protected paths ----------------------------------------------------------

def _glob_variants(pattern: str) -> list[str]:
    """`pattern` plus its forms with each '**/' collapsed (so a/**/b matches a/b)."""
    out = {pattern}
    frontier = [pattern]
    while frontier:
        p = frontier.pop()
        for m in re.finditer(r"\*\*/", p):
            q = p[:m.start()] + p[m.end():]
            if q not in out:
                out.add(q)
                frontier.append(q)
    return sorted(out)


def protected_by(path: str, globs: list[str] | tuple[str, ...]) -> str | None:
    """The rule that forbids changing `path`, or None.

    Broader than integrity.fingerprint on purpose (refusing a proposal costs
    little): `*` also crosses '/', a glob naming a directory covers
    everything below it (also when the directory part is a wildcard), a glob
    without '/' also matches a bare file name anywhere, and matching ignores
    case (the same file on macOS). `.ratchet/` and `.git/` always count.
    """
    norm = normalize_path(path)
    low = norm.casefold()
    parts = low.split("/")
    for always in ALWAYS_PROTECTED:
        if always in parts:
            return always + "/"
    prefixes = ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]   # ancestors and itself
    for glob in globs:
        g = normalize_path(glob.strip().lstrip("/")).casefold()
        if not g:
            continue
        for variant in _glob_variants(g):
            if any(fnmatchcase(p, variant) for p in prefixes):
                return glob
            if "/" not in variant and any(fnmatchcase(p, variant) for p in parts):
                return glob
    return None


def unsafe_path(path: str) -> str | None:
    """Why `path` cannot be a repo-relative target, or None."""
    if not path:
        return "empty path"
    if path.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", path):
        return f"absolute path {path!r}"
    if ".." in path.replace("\\", "/").split("/"):
        return f"path leaves the repository: {path!r}"
    if "\0" in path or "\n" in path:
        return f"control character in path {path!r}"
    return None


def path_problems(paths: list[str], globs: list[str] | tuple[str, ...]) -> list[str]:
    """One line per path the proposal may not touch (empty when all are fine)."""
    problems = []
    for path in paths:
        why = unsafe_path(path)
        if why:
            problems.append(why)
            continue
        rule = protected_by(path, globs)
        if rule:
            problems.append(f"touches protected path {path} (rule {rule})")
    return problems


# ---- blinding -----------------------------------------------------------------

def new_seed() -> int:
    """A fresh 64-bit seed from the OS (the one impure helper here)."""
    return int.from_bytes(os.urandom(8), "big")


def order_for_seed(seed: int) -> list[str]:
    """The order in which the two slots are shown: deterministic per seed."""
    order = list(SLOTS)
    random.Random(seed).shuffle(order)
    return order


def blind(valid_slots: list[str] | tuple[str, ...], seed: int) -> dict:
    """Labels for the valid proposals. {"seed", "order", "labels": {label: slot},
    "shown_first"}. The packet shows labels in LABELS order (X first)."""
    order = [s for s in order_for_seed(seed) if s in valid_slots]
    labels = {LABELS[k]: slot for k, slot in enumerate(order)}
    return {"seed": seed, "order": order, "labels": labels,
            "shown_first": LABELS[0] if labels else None}


_ROLE = r"(?:conservative|radical|incremental|exploratory|exploitative|explorer|refiner|bold|safe|structural)"
_NOUN = r"(?:proposer|proposal|approach|candidate|option|agent|change|idea)"
_NAME = r"(?:ratchet[:\-]\s*)?ratchet-proposer-[ab]\b|\bproposer[\s_\-]*[\"'(\[]?[ab]\b[\"')\]]?"
_HEADER_LINE_RE = re.compile(
    rf"^[\s#>*_\-=\[(]*(?:{_NAME}|(?:the\s+)?{_ROLE}(?:\s+{_NOUN})?|{_ROLE}\s*/\s*\w+)[\s:.\-)\]*_=]*$",
    re.IGNORECASE)
_TAG_RE = re.compile(rf"[(\[]\s*(?:the\s+)?{_ROLE}(?:\s+{_NOUN})?\s*[)\]]", re.IGNORECASE)
_SELF_RE = re.compile(rf"(?:{_NAME}|\b(?:the\s+|an?\s+)?{_ROLE}\s+proposer\b)", re.IGNORECASE)


def redact_identity(text: str) -> str:
    """Remove what could tell the critic who wrote a proposal: proposer names
    anywhere, style labels used as headers or tags ("## Conservative
    proposal", "(radical)"), and "the <style> proposer" phrases."""
    lines = [ln for ln in text.split("\n") if not _HEADER_LINE_RE.match(ln)]
    out = "\n".join(lines)
    out = _TAG_RE.sub("", out)
    out = _SELF_RE.sub("the author", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def names_a_proposer(text: str) -> bool:
    """True when `text` still names a proposer (used by tests and as a guard)."""
    return bool(re.search(r"proposer[\s_\-]*[\"'(\[]?[ab]\b|ratchet-proposer", text, re.IGNORECASE))


def _fence_for(body: str) -> str:
    longest = max((len(m.group(0)) for m in re.finditer(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _one_line(text: str, limit: int = HEADLINE_CHARS) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[:limit - 1] + "…"


def render_packet(iteration: int, entries: dict[str, dict], context: dict) -> str:
    """The critic's packet. `entries` maps label -> {"hypothesis", "expected",
    "rationale", "diff", "paths"}; shown in LABELS order. `context` may hold
    "goal", "best", "protected" (list), "history" (list of one-line strings),
    "instructions". Never names a proposer: prose is redacted here; diffs are
    shown verbatim (they are what would be applied)."""
    out = [f"# Critic packet: iteration {iteration}", ""]
    if context.get("goal"):
        out.append(f"Goal: {context['goal']}")
    if context.get("best"):
        out.append(f"Best so far: {context['best']}")
    protected = list(context.get("protected") or [])
    out.append("Off limits (a change touching these is invalid): "
               + ", ".join(protected + [".ratchet/"]))
    if context.get("instructions"):
        out += ["", "Run-specific rules:", context["instructions"].strip()]
    history = context.get("history") or []
    if history:
        out += ["", "Recent iterations (oldest first):"] + [f"- {h}" for h in history]
    labels = [lab for lab in LABELS if lab in entries]
    out.append("")
    if len(labels) == 2:
        out.append("Two candidate changes follow, labelled X and Y. Labels and order were "
                   "assigned at random; judge each on its merits.")
    elif len(labels) == 1:
        out.append("One candidate change follows, labelled X (only one passed validation). "
                   "Pick it, or \"neither\" if it is not worth measuring.")
    for lab in labels:
        e = entries[lab]
        rationale = redact_identity(e.get("rationale", "")) or "(none given)"
        diff = e.get("diff", "")
        fence = _fence_for(diff)
        out += ["", f"## Candidate {lab}", "",
                f"Hypothesis: {_one_line(redact_identity(e.get('hypothesis', ''))) or '(none given)'}",
                f"Expected effect: {_one_line(redact_identity(e.get('expected', ''))) or '(none given)'}",
                "Rationale:", rationale, "",
                f"Files: {', '.join(e.get('paths') or []) or '(none)'}",
                f"{fence}diff", diff.rstrip("\n"), fence]
    out += ["", "Answer with the verdict JSON only: "
            '{"pick": "X"|"Y"|"neither", "confidence": 0..1, "integrity_concerns": [...], '
            '"reasons": "..."}', ""]
    return "\n".join(out)


# ---- the critic's verdict -----------------------------------------------------

def validate_verdict(obj, labels: list[str] | tuple[str, ...]) -> dict:
    """Normalize a verdict or raise UsageError. `labels` are those shown."""
    if not isinstance(obj, dict):
        raise UsageError("the verdict must be a JSON object with pick, confidence, reasons")
    pick = obj.get("pick")
    if not isinstance(pick, str) or not pick.strip():
        raise UsageError('verdict "pick" must be "X", "Y" or "neither"')
    p = pick.strip()
    p = p.upper() if p.upper() in LABELS else p.lower()
    if p in ("none", "no", "neither"):
        p = NEITHER
    allowed = [*labels, NEITHER]
    if p not in allowed:
        raise UsageError(f"verdict pick {pick!r} is not one of {', '.join(allowed)}")
    conf = obj.get("confidence")
    if isinstance(conf, bool):
        conf = None
    try:
        conf = float(conf)
    except (TypeError, ValueError):
        raise UsageError(f"verdict confidence must be a number in [0, 1], got {obj.get('confidence')!r}") from None
    if not math.isfinite(conf) or not 0.0 <= conf <= 1.0:
        raise UsageError(f"verdict confidence must be in [0, 1], got {obj.get('confidence')!r}")
    concerns = obj.get("integrity_concerns", [])
    if concerns is None:
        concerns = []
    if isinstance(concerns, str):
        concerns = [concerns]
    if not isinstance(concerns, list) or not all(isinstance(c, str) for c in concerns):
        raise UsageError("verdict integrity_concerns must be a list of strings")
    reasons = obj.get("reasons", "")
    if isinstance(reasons, list):
        reasons = " ".join(str(r) for r in reasons)
    if not isinstance(reasons, str) or not reasons.strip():
        raise UsageError("verdict reasons must be a non-empty string")
    return {"pick": p, "confidence": conf,
            "integrity_concerns": [c.strip() for c in concerns if c.strip()],
            "reasons": reasons.strip()[:4000]}


def parse_verdict_text(text: str) -> dict:
    """The JSON object in the critic's answer (bare, fenced, or amid prose).
    Raises UsageError when there is none."""
    s = text.strip()
    candidates = [s]
    candidates += [m.group(1) for m in re.finditer(r"```(?:json)?\s*\n(.*?)\n\s*```", s, re.DOTALL)]
    if "{" in s and "}" in s:
        candidates.append(s[s.index("{"):s.rindex("}") + 1])
    for c in candidates:
        try:
            obj = json.loads(c)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    raise UsageError("no verdict JSON object found in the critic's answer")


# ---- records ------------------------------------------------------------------

def resolve_pick(state: dict) -> str | None:
    """The slot the verdict picked, or None (neither / no verdict)."""
    verdict = state.get("verdict") or {}
    return (state.get("blind") or {}).get("labels", {}).get(verdict.get("pick"))


def runner_up(state: dict) -> str | None:
    """The valid proposal the critic did not pick, when it picked one."""
    picked = resolve_pick(state)
    if picked is None:
        return None
    valid = [s for s in (state.get("blind") or {}).get("order", []) if s != picked]
    return valid[0] if valid else None


def critic_record(state: dict) -> dict:
    """What goes into this iteration's results.jsonl record under "critic"."""
    proposals = {}
    for slot, p in (state.get("proposals") or {}).items():
        proposals[slot] = {
            "hypothesis": p.get("hypothesis", ""),
            "expected": p.get("expected", ""),
            "diff": p.get("diff_path"),
            "diff_sha256": p.get("diff_sha256"),
            "paths": p.get("paths", []),
            "valid": bool(p.get("valid")),
            "problems": p.get("problems", []),
        }
    blind_info = state.get("blind") or {}
    return {
        "mode": state.get("mode", "contest"),
        "source_iter": state.get("source_iter"),
        "proposals": proposals,
        "blind": {"seed": blind_info.get("seed"), "order": blind_info.get("order", []),
                  "labels": blind_info.get("labels", {}),
                  "shown_first": blind_info.get("shown_first")},
        "packet": state.get("packet"),
        "verdict": state.get("verdict"),
        "picked": state.get("picked"),
        "measured": state.get("measured"),
        "runner_up": state.get("runner_up"),
    }


def _binom_two_sided(k: int, n: int) -> float:
    """Exact two-sided binomial test p-value against p = 1/2."""
    if n == 0:
        return 1.0
    probs = [math.comb(n, i) / 2 ** n for i in range(n + 1)]
    pk = probs[k]
    return min(1.0, sum(p for p in probs if p <= pk * (1 + 1e-9)))


def position_bias(records: list[dict]) -> dict:
    """How often the critic picked the candidate shown first.

    `records` are results.jsonl records (their "critic" field is used) or
    critic records. Only contests with two shown candidates and a pick of one
    of them count. With no bias the rate is about 0.5; `p_value` is the exact
    two-sided binomial test and `suspect` is set when p < 0.05 over 10+.
    """
    n = first = neither = 0
    by_slot = {s: 0 for s in SLOTS}
    for rec in records:
        c = rec.get("critic", rec) if isinstance(rec, dict) else None
        if not isinstance(c, dict) or c.get("mode", "contest") != "contest":
            continue
        b = c.get("blind") or {}
        labels = b.get("labels") or {}
        pick = (c.get("verdict") or {}).get("pick")
        if len(labels) != 2:
            continue
        if pick == NEITHER:
            neither += 1
            continue
        if pick not in labels:
            continue
        n += 1
        if pick == (b.get("shown_first") or LABELS[0]):
            first += 1
        by_slot[labels[pick]] = by_slot.get(labels[pick], 0) + 1
    p = _binom_two_sided(first, n)
    return {"contests": n, "first_shown_picked": first,
            "first_shown_rate": (first / n) if n else None,
            "p_value": p, "suspect": n >= 10 and p < 0.05,
            "neither": neither, "picked_by_proposer": by_slot}


# =============================================================================
# Thin I/O: git apply, files under .ratchet/proposals/
# =============================================================================
# Functions below take the repository root and a store.Store (+ the run id,
# the seal key) rather than a commands.Run, so commands.py can import this
# module without a cycle. Run-shaped helpers (`record_fields`,
# `runner_up_hint`) accept any object with .root/.store/.key/.history.

APPLY_FLAGS = ("-p1", "--recount", "--whitespace=nowarn")


def _git_apply(root: Path, *args: str, diff: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`git apply APPLY_FLAGS args -` with `diff` on stdin, run at the repo root
    (from a subdirectory git would silently skip paths outside it)."""
    full_env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C", **(env or {}))
    return subprocess.run(["git", "-C", str(root), "apply", *APPLY_FLAGS, *args, "-"],
                          input=diff.encode("utf-8", "surrogateescape"), capture_output=True, env=full_env)


def _first_error(proc: subprocess.CompletedProcess) -> str:
    lines = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:") or ln.startswith("fatal:")]
    return (errors or lines or ["git apply failed"])[0]


def git_numstat_paths(root: Path, diff: str) -> list[str]:
    """The paths git itself reads from `diff` (same flags as the real apply).
    For a rename git names only the new path (`diff_paths` has the old one
    from "rename from"). Empty when git cannot parse the diff (then `--check`
    fails too)."""
    proc = _git_apply(root, "--numstat", "-z", diff=diff)
    if proc.returncode != 0:
        return []
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    paths, i = set(), 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if not entry:
            continue
        parts = entry.split("\t", 2)
        if len(parts) == 3 and parts[2]:
            paths.add(parts[2])
        elif len(parts) == 3:            # -z rename form: old and new follow
            paths.update(p for p in fields[i:i + 2] if p)
            i += 2
    return sorted(paths)


def git_apply_check(root: Path, diff: str) -> str | None:
    """None when `diff` applies cleanly to the working tree, else git's reason."""
    proc = _git_apply(root, "--check", diff=diff)
    return None if proc.returncode == 0 else _first_error(proc)


def git_apply(root: Path, diff: str) -> None:
    """Apply `diff` to the working tree (not the index). UsageError on failure."""
    proc = _git_apply(root, diff=diff)
    if proc.returncode != 0:
        raise UsageError(f"the picked diff no longer applies: {_first_error(proc)}; "
                         "the tree changed since the packet was written")


def tree_with_diff(root: Path, base: str, diff: str) -> str | None:
    """The tree `base` + `diff` would have (a private index; nothing else is
    touched), or None when it does not apply."""
    index = gitops.git_path(root, "ratchet-critic-index")
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        gitops.git(root, "read-tree", base, env=env)
        if _git_apply(root, "--cached", diff=diff, env=env).returncode != 0:
            return None
        return gitops.git(root, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)


def ignored_paths(root: Path, paths: list[str]) -> list[str]:
    """Those of `paths` git ignores and does not track. A change there would
    escape ratchet's snapshot and survive a revert (clean runs without -x)."""
    if not paths:
        return []
    out = gitops.git(root, "check-ignore", "-z", "--stdin", check=False,
                     input_text="\0".join(paths) + "\0")
    return sorted(p for p in out.split("\0") if p)


def _escapes_via_symlink(root: Path, path: str, globs) -> str | None:
    """A path whose real location (through symlinks) is outside the repo or protected."""
    real_root = root.resolve()
    real = (root / path).resolve()
    try:
        rel = real.relative_to(real_root).as_posix()
    except ValueError:
        return f"{path} resolves outside the repository"
    if rel != normalize_path(path):
        rule = protected_by(rel, globs)
        if rule:
            return f"{path} resolves to protected path {rel} (rule {rule})"
    return None


def validate_diff(root: Path, diff: str, globs) -> tuple[list[str], list[str]]:
    """(paths, problems) for `diff` against the working tree. No problems means
    the diff applies cleanly and touches nothing off limits."""
    if not diff.strip():
        return [], ["no diff"]
    paths = sorted(set(diff_paths(diff)) | set(git_numstat_paths(root, diff)))
    problems = path_problems(paths, globs)
    safe = [p for p in paths if not unsafe_path(p)]
    problems += [w for w in (_escapes_via_symlink(root, p, globs) for p in safe) if w]
    problems += [f"touches git-ignored path {p} (a revert would not undo it)"
                 for p in ignored_paths(root, safe)]
    why = git_apply_check(root, diff)
    if why:
        problems.append(f"does not apply to the current tree: {why}")
    if not paths and not why:
        problems.append("the diff changes no file")
    return paths, problems


# ---- files --------------------------------------------------------------------

def name(iteration: int, suffix: str) -> str:
    """Store-relative name, e.g. name(3, "a.json") -> proposals/iter-0003-a.json."""
    return f"{PROPOSALS_DIR}/iter-{iteration:04d}-{suffix}"


def incoming_path(store, what: str) -> Path:
    """Where the main agent writes a subagent's raw answer (a, b or verdict)."""
    return store.path(PROPOSALS_DIR, f"incoming-{what}.md")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _write_text(store, rel: str, text: str) -> Path:
    path = store.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    store_mod.atomic_write(path, text.encode("utf-8", "surrogateescape"))
    return path


def read_input_file(path: Path) -> str:
    """A subagent answer the main agent saved. UsageError when unusable."""
    try:
        size = path.stat().st_size
        if size > MAX_PROPOSAL_BYTES:
            raise UsageError(f"{path} is {size} bytes; an answer must stay under {MAX_PROPOSAL_BYTES}")
        return path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist: write the subagent's answer there first (Write tool)") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not the saved answer") from None


def consume_input_file(store, path: Path, keep_as: str) -> None:
    """Move an answer saved under .ratchet/proposals/ to `keep_as` (audit copy),
    so a stale answer can never be read twice. Files elsewhere are left alone."""
    try:
        path.resolve().relative_to(store.path(PROPOSALS_DIR).resolve())
    except ValueError:
        return
    os.replace(path, store.path(keep_as))


def load_state(store, key: str, iteration: int) -> dict | None:
    return store.read_sealed(name(iteration, "critic.json"), key)


def save_state(store, key: str, iteration: int, st: dict) -> dict:
    store.path(PROPOSALS_DIR).mkdir(parents=True, exist_ok=True)
    return store.write_sealed(name(iteration, "critic.json"), st, key)


def load_proposal(store, key: str, iteration: int, slot: str) -> dict | None:
    return store.read_sealed(name(iteration, f"{slot}.json"), key)


def read_diff(store, prop: dict) -> str:
    """The stored diff of `prop`, checked against the sha256 recorded with it."""
    if not prop.get("diff_path"):
        return ""
    try:
        diff = (store.root / prop["diff_path"]).read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        raise UsageError(f"{prop['diff_path']} is missing; run propose again") from None
    if _sha256(diff) != prop.get("diff_sha256"):
        raise UsageError(f"{prop['diff_path']} was edited after it was proposed; run propose again")
    return diff


def save_proposal(store, key: str, root: Path, iteration: int, slot: str, text: str, globs) -> dict:
    """Parse and store one proposer answer (json + diff), validated now."""
    if slot not in SLOTS:
        raise UsageError(f"--slot must be one of {', '.join(SLOTS)}")
    parsed = parse_proposal(text)
    diff_rel = name(iteration, f"{slot}.diff")
    diff_path = None
    if parsed["diff"]:
        diff_path = store.rel(_write_text(store, diff_rel, parsed["diff"]))
    else:
        store.path(diff_rel).unlink(missing_ok=True)
    paths, problems = [], list(parsed["problems"])
    if not problems:
        paths, problems = validate_diff(root, parsed["diff"], globs)
    prop = {
        "iter": iteration, "slot": slot,
        "hypothesis": parsed["hypothesis"], "expected": parsed["expected"],
        "rationale": parsed["rationale"], "no_proposal": parsed["no_proposal"],
        "diff_path": diff_path, "diff_sha256": _sha256(parsed["diff"]) if diff_path else None,
        "paths": paths, "valid": not problems, "problems": problems,
    }
    store.write_sealed(name(iteration, f"{slot}.json"), prop, key)
    return prop


def _summary(prop: dict) -> dict:
    return {k: prop.get(k) for k in ("hypothesis", "expected", "diff_path", "diff_sha256",
                                     "paths", "valid", "problems")}


def build_packet(store, key: str, root: Path, iteration: int, globs, context: dict,
                 seed: int | None = None) -> dict:
    """Re-validate both stored proposals, blind the valid ones, write the
    packet and the critic state. Returns the state."""
    props = {}
    for slot in SLOTS:
        prop = load_proposal(store, key, iteration, slot)
        if prop is None:
            raise UsageError(f"no proposal for slot {slot} in iteration {iteration}: "
                             f"run propose --slot {slot} --file ... first")
        if prop["valid"]:   # the tree may have changed since propose: check again
            paths, problems = validate_diff(root, read_diff(store, prop), globs)
            prop = {**prop, "paths": paths, "valid": not problems, "problems": problems}
        props[slot] = prop
    valid = [s for s in SLOTS if props[s]["valid"]]
    blind_info = blind(valid, new_seed() if seed is None else seed)
    st = {"iter": iteration, "mode": "contest", "proposals": {s: _summary(p) for s, p in props.items()},
          "blind": blind_info, "packet": None, "packet_sha256": None, "verdict": None,
          "picked": None, "applied": False, "runner_up": None}
    if blind_info["labels"]:
        entries = {}
        for label, slot in blind_info["labels"].items():
            p = props[slot]
            entries[label] = {"hypothesis": p["hypothesis"], "expected": p["expected"],
                              "rationale": p["rationale"], "diff": read_diff(store, p), "paths": p["paths"]}
        text = render_packet(iteration, entries, context)
        st["packet"] = store.rel(_write_text(store, name(iteration, "packet.md"), text))
        st["packet_sha256"] = _sha256(text)
    else:
        store.path(name(iteration, "packet.md")).unlink(missing_ok=True)
    return save_state(store, key, iteration, st)


def record_verdict(store, key: str, root: Path, iteration: int, verdict_obj) -> dict:
    """Validate the verdict against the packet, apply the picked diff to the
    working tree, record everything. Returns the new state."""
    st = load_state(store, key, iteration)
    if st is None or st.get("mode") != "contest" or not st.get("packet"):
        raise UsageError(f"no judge packet for iteration {iteration}: run judge-packet first")
    if st.get("verdict") is not None:
        raise UsageError(f"a verdict for iteration {iteration} is already recorded; measure it with run-trial")
    verdict = validate_verdict(verdict_obj, list(st["blind"]["labels"]))
    st = {**st, "verdict": verdict}
    slot = resolve_pick(st)
    if slot is not None:
        prop = load_proposal(store, key, iteration, slot)
        if prop is None or prop.get("diff_sha256") != st["proposals"][slot]["diff_sha256"]:
            raise UsageError(f"proposal {slot} changed after the packet was written; run judge-packet again")
        git_apply(root, read_diff(store, prop))
        st.update(picked=slot, applied=True, runner_up=runner_up(st))
    return save_state(store, key, iteration, st)


# ---- hooks for commands.py ------------------------------------------------------

def critic_record_for(root: Path, store, key: str, cur: dict) -> dict | None:
    """The "critic" field of iteration cur["iter"]'s results record, or None
    outside critic mode. Checks whether the measured candidate is exactly
    base + the applied diff (`measured_exact`)."""
    try:
        st = load_state(store, key, cur["iter"])
    except store_mod.TamperedState as exc:
        return {"error": str(exc)}
    if st is None:
        return None
    rec = critic_record(st)
    exact = None
    if st.get("applied") and st.get("picked"):
        prop = st["proposals"].get(st["picked"], {})
        try:
            diff = read_diff(store, prop)
        except UsageError:
            diff = None
        if diff and cur.get("base") and cur.get("candidate"):
            exact = tree_with_diff(root, cur["base"], diff) == gitops.tree_of(root, cur["candidate"])
        rec["measured"] = st["picked"]
    else:
        rec["measured"] = "own"   # neither / nothing valid: the main agent's own change
    rec["measured_exact"] = exact
    return rec


def record_fields(run, cur: dict) -> dict:
    """Extra results.jsonl fields for the iteration being decided: {"critic": ...}
    in critic mode, {} otherwise. `run` is a commands.Run."""
    rec = critic_record_for(run.root, run.store, run.key, cur)
    return {"critic": rec} if rec is not None else {}


def runner_up_offer(history: list[dict]) -> dict | None:
    """The previous iteration's runner-up when it may be measured now: the
    previous iteration was a contest whose measured pick was not kept, and
    the other proposal was valid. {"from_iter", "slot", "hypothesis", "diff_path", "diff_sha256"}."""
    if not history:
        return None
    last = history[-1]
    c = last.get("critic")
    if last.get("kept") or not isinstance(c, dict) or c.get("mode") != "contest":
        return None
    slot = c.get("runner_up")
    prop = (c.get("proposals") or {}).get(slot or "")
    if not slot or not prop or not prop.get("valid") or not prop.get("diff"):
        return None
    return {"from_iter": last.get("iter"), "slot": slot, "hypothesis": prop.get("hypothesis", ""),
            "diff_path": prop["diff"], "diff_sha256": prop.get("diff_sha256")}


def runner_up_hint(run) -> str | None:
    """For status/decide `next`: a short note when a runner-up is waiting and
    this iteration has not started a contest of its own. `run` is a commands.Run."""
    if run.current:
        return None
    offer = runner_up_offer(run.history)
    if offer is None:
        return None
    try:
        if load_state(run.store, run.key, run.history[-1]["iter"] + 1) is not None:
            return None
    except store_mod.TamperedState:
        return None
    return (f"run ratchet.py runner-up to measure it instead of new proposals: "
            f"{_one_line(offer['hypothesis'], 120)}")


def apply_runner_up(store, key: str, root: Path, iteration: int, history: list[dict], globs) -> dict:
    """Apply the previous iteration's runner-up to the working tree as this
    iteration's candidate. Returns the state written; state["applied"] is
    False (with "problems") when it no longer qualifies."""
    offer = runner_up_offer(history)
    if offer is None:
        raise UsageError("no runner-up is waiting: the last iteration was not a contest whose pick was reverted")
    existing = load_state(store, key, iteration)
    if existing is not None and existing.get("applied"):
        raise UsageError(f"iteration {iteration} already has a change applied; measure it with run-trial")
    prop = {"hypothesis": offer["hypothesis"], "diff_path": offer["diff_path"],
            "diff_sha256": offer["diff_sha256"]}
    src = load_proposal(store, key, offer["from_iter"], offer["slot"]) or {}
    prop.update({k: src.get(k) for k in ("expected", "paths")})
    try:
        diff = read_diff(store, prop)
        paths, problems = validate_diff(root, diff, globs)
    except UsageError as exc:
        diff, paths, problems = "", [], [str(exc)]
    st = {"iter": iteration, "mode": "runner_up", "source_iter": offer["from_iter"],
          "proposals": {offer["slot"]: {**_summary(prop), "paths": paths, "valid": not problems,
                                        "problems": problems}},
          "blind": {}, "packet": None, "verdict": None, "picked": None, "applied": False,
          "runner_up": None}
    if not problems:
        git_apply(root, diff)
        st.update(picked=offer["slot"], applied=True)
    return save_state(store, key, iteration, st)
