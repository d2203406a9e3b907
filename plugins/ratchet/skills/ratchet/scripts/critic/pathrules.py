"""Which repository paths a proposed diff may touch.

Pure (no I/O): `normalize_path(path)` (the repo-relative POSIX form),
`protected_by(path, globs)` (the rule that forbids a path; `.ratchet/` and
`.git/` always do), `unsafe_path(path)` (absolute, escaping, control
characters), `path_problems(paths, globs)` (one line per off-limits path).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

ALWAYS_PROTECTED = (".ratchet", ".git")


def normalize_path(path: str) -> str:
    """Repo-relative POSIX form: no './', no duplicate or trailing slashes."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


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
