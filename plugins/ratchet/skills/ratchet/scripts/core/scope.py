"""What a change may touch (`--editable`): the glob rule and the scope check. Pure.

Globs are repository-relative and read like `--protect`'s (pathlib's
rules): `*` and `?` stay inside one path component, `**` spans any number
of folders, a glob naming a folder (no wildcard) or ending in `/` covers
everything below it, and matching is case-sensitive.

A change is in scope when every path it adds, modifies or deletes matches
an editable glob, and every symlink it leaves in place points at a path
that is in scope too (a link inside `src/` to `../bench.sh` would let the
benchmark read something the scope forbids editing). Git-ignored files
never reach the check: they are not part of a change's snapshot.
"""

from __future__ import annotations

import posixpath
from fnmatch import fnmatchcase

WHAT = {"A": "added", "D": "deleted", "M": "modified", "T": "type changed"}


def _parts(glob: str) -> list[str]:
    """The glob's components; a trailing `/` means everything below."""
    g = glob.strip().lstrip("/")
    if g.endswith("/"):
        g += "**"
    return [p for p in g.split("/") if p not in ("", ".")]


def _match(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], head) and _match(rest, path[1:])


def matches(path: str, glob: str) -> bool:
    """`path` (a repo-relative file) is matched by `glob`, or lies below
    the folder a wildcard-free glob names."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not any(c in glob for c in "*?["):
        folder = [p for p in glob.strip().split("/") if p not in ("", ".")]
        return bool(folder) and parts[:len(folder)] == folder
    return _match(_parts(glob), parts)


def in_scope(path: str, globs: tuple[str, ...] | list[str]) -> bool:
    return any(matches(path, g) for g in globs)


def problems(changes: list[tuple[str, str]], links: dict[str, str], globs: tuple[str, ...] | list[str]) -> list[str]:
    """One line per way a change leaves the editable set (empty: in scope,
    or no `--editable` given).

    `changes`: (git status letter, path) of what the change adds (A),
    modifies (M), deletes (D) or turns into another type (T), renames given
    as a deletion and an addition. `links`: {path: target} of the symlinks
    among the change's new or modified paths."""
    if not globs:
        return []
    out = [f"outside the editable set ({WHAT.get(st, 'changed')}): {path}"
           for st, path in changes if not in_scope(path, globs)]
    for path, target in sorted(links.items()):
        if not in_scope(path, globs):
            continue  # reported above
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
            out.append(f"symlink points out of the repository ({target}): {path}")
        elif not in_scope(resolved, globs):
            out.append(f"symlink points out of the editable set ({target}): {path}")
    return out
