"""Fingerprints of the evaluation harness: protected files and the report file.

- `fingerprint(root, globs)` fingerprints every file the `--protect` globs
  match (git-ignored files included: a protected data set is often ignored);
  `compare` lists what was modified, deleted or added since.
- `file_stamp` identifies a report file's version, to detect one edited
  between trials or not rewritten by a trial (a stale or planted report).

A fingerprint is what git would commit, never following a symlink: a
regular file is "<sha256>:100644" or "<sha256>:100755" (git's modes: the
executable bit counts), a symlink "link:<target>". Runs started before
modes were recorded stored a bare "<sha256>" (the content, read through
symlinks); `compare` still accepts those, comparing content and type only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from core.seals import sha256

SKIP_DIRS = (".git", ".ratchet")
REGULAR, EXECUTABLE, SYMLINK = "100644", "100755", "120000"


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's content. A small file (a report, a script)
    is hashed with `core.seals.sha256`; a larger one (a protected data set)
    with hashlib's, which is faster per byte but slower to import."""
    with open(path, "rb") as fh:
        block = fh.read(1 << 20)
        if len(block) < 1 << 20:
            return sha256(block).hexdigest()
        import hashlib
        h = hashlib.sha256(block)
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry_print(path: Path) -> str | None:
    """The fingerprint of one directory entry, not followed (see the module
    docstring); None for anything git would not commit as a file (a
    directory, a fifo) or an entry that does not exist."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            try:
                target.encode("utf-8")
            except UnicodeEncodeError:  # a non-UTF-8 target: stored unambiguously, as hex
                return "link-hex:" + os.fsencode(target).hex()
            return "link:" + target
        if stat.S_ISREG(st.st_mode):
            return f"{sha256_file(path)}:{EXECUTABLE if st.st_mode & stat.S_IXUSR else REGULAR}"
    except FileNotFoundError:
        return None
    return None


def _parse(value: str) -> tuple[str, str, str | None]:
    """(kind, content, mode) of a stored fingerprint: kind "link", "file", or
    "content" for a run's older bare "<sha256>" (mode unknown)."""
    if value.startswith(("link:", "link-hex:")):
        return "link", value, SYMLINK
    content, sep, mode = value.rpartition(":")
    if sep and mode in (REGULAR, EXECUTABLE):
        return "file", content, mode
    return "content", value, None


def _through_symlink(root: Path, path: Path, cache: dict) -> bool:
    """True when a folder between `root` and `path` is a symlink: the entry
    is not in the repository itself (it may lie anywhere on the disk)."""
    parts = path.relative_to(root).parts[:-1]
    for i in range(1, len(parts) + 1):
        key = parts[:i]
        if key not in cache:
            cache[key] = os.path.islink(root.joinpath(*key))
        if cache[key]:
            return True
    return False


def _walk(base: Path) -> list[Path]:
    """Every entry below the real folder `base`, symlinks included as
    entries and never descended into."""
    found = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        here = Path(dirpath)
        found += [here / n for n in filenames]
        found += [here / n for n in dirnames if os.path.islink(here / n)]
    return found


def _matches(root: Path, pattern: str) -> list[Path]:
    """Files and symlinks `pattern` names below `root`: never through a
    symlinked folder (it could lead out of the repository), never in .git/
    or .ratchet/."""
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**/*"
    elif pattern.endswith("**"):
        pattern += "/*"  # before 3.13, a trailing ** matches directories only
    base = root / pattern
    if not any(c in pattern for c in "*?["):
        found = _walk(base) if base.is_dir() and not base.is_symlink() else [base]
    else:
        found = list(root.glob(pattern))
    cache: dict = {}
    return [p for p in found
            if not (set(p.relative_to(root).parts[:1]) & set(SKIP_DIRS))
            and (p.is_symlink() or p.is_file()) and not _through_symlink(root, p, cache)]


def _is_pattern(glob: str) -> bool:
    return glob.endswith("/") or any(c in glob for c in "*?[")


def fingerprint(root: Path, globs: list[str] | tuple[str, ...],
                ignored: Callable[[list[str]], set[str]] = lambda paths: set()) -> dict[str, str]:
    """{repo-relative path: fingerprint} of every file and symlink matched
    by `globs` (see the module docstring for the form).

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
            value = entry_print(path) if rel not in skip else None
            if value is not None:
                prints[rel] = value
    return dict(sorted(prints.items()))


def _difference(path: str, before: str, after: str) -> str | None:
    """How one protected entry changed ("<what>: <path>"), or None."""
    if before == after:
        return None
    (kind_b, content_b, mode_b), (kind_a, content_a, mode_a) = _parse(before), _parse(after)
    if "link" in (kind_b, kind_a):
        if kind_b == kind_a:
            return f"protected symlink changed its target: {path}"
        if kind_a == "link":
            return f"protected file replaced by a symlink: {path}"
        return f"protected symlink replaced by a file: {path}"
    if content_b != content_a:
        return f"protected file modified: {path}"
    if mode_b is not None and mode_a is not None and mode_b != mode_a:
        return f"protected file mode changed ({mode_b} -> {mode_a}): {path}"
    return None  # same content; an older run's fingerprint does not know the mode


def compare(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences between two fingerprints, sorted by path;
    each ends with ": <path>". `before` may come from an older run (bare
    sha256 values: content only)."""
    problems = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            problems.append(f"protected file deleted: {path}")
        elif path not in before:
            problems.append(f"protected file added: {path}")
        else:
            change = _difference(path, before[path], after[path])
            if change:
                problems.append(change)
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
