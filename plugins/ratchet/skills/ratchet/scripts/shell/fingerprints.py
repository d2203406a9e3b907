"""Fingerprints of the evaluation harness: protected files and the report file.

- `fingerprint(root, globs)` hashes every file the `--protect` globs match
  (git-ignored files included: a protected data set is often ignored);
  `compare` lists what was modified, deleted or added since.
- `file_stamp` identifies a report file's version, to detect one edited
  between trials or not rewritten by a trial (a stale or planted report).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

SKIP_DIRS = (".git", ".ratchet")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _matches(root: Path, pattern: str) -> list[Path]:
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**/*"
    elif pattern.endswith("**"):
        pattern += "/*"  # before 3.13, a trailing ** matches directories only
    base = root / pattern
    if base.is_dir() and not any(c in pattern for c in "*?["):
        found = list(base.rglob("*"))
    else:
        found = list(root.glob(pattern))
    return [p for p in found if p.is_file() and not (set(p.relative_to(root).parts[:1]) & set(SKIP_DIRS))]


def _is_pattern(glob: str) -> bool:
    return glob.endswith("/") or any(c in glob for c in "*?[")


def fingerprint(root: Path, globs: list[str] | tuple[str, ...],
                ignored: Callable[[list[str]], set[str]] = lambda paths: set()) -> dict[str, str]:
    """{repo-relative path: sha256} of every file matched by `globs`.

    A glob naming a directory covers everything below it; `**` recurses.
    Paths inside .git/ and .ratchet/ are never included. Files a wildcard or
    a directory matches are skipped when `ignored` (the git-ignored subset of
    a list of paths) says so, so caches a test run writes (__pycache__, build
    output) are not "protected files added"; a file named exactly is always
    included, ignored or not (a protected data set is often git-ignored).
    """
    prints: dict[str, str] = {}
    for pattern in globs:
        found = {p.relative_to(root).as_posix(): p for p in _matches(root, pattern)}
        skip = ignored(sorted(found)) if _is_pattern(pattern) or (root / pattern).is_dir() else set()
        for rel, path in found.items():
            if rel not in skip:
                prints[rel] = sha256_file(path)
    return dict(sorted(prints.items()))


def compare(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences between two fingerprints, sorted."""
    problems = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            problems.append(f"protected file deleted: {path}")
        elif path not in before:
            problems.append(f"protected file added: {path}")
        elif before[path] != after[path]:
            problems.append(f"protected file modified: {path}")
    return problems


def file_stamp(path: Path) -> dict | None:
    """Identity of a file's current version: None when it does not exist,
    {"unreadable": reason} when it cannot be read."""
    try:
        st = path.stat()
        return {"mtime_ns": st.st_mtime_ns, "size": st.st_size, "sha256": sha256_file(path)}
    except FileNotFoundError:
        return None
    except OSError as exc:
        return {"unreadable": exc.strerror}
