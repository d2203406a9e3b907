"""Checking and applying a proposed diff with `git apply`, at the repository root.

- `validate_diff(root, diff, globs, editable)`: (paths, problems); no problems when the
  diff applies cleanly and touches nothing off limits (pathrules.py),
  git-ignored (`gitops.ignored_among`, the one ignore check), or reached
  through a symlink that leaves the repository or lands on a protected path.
- `git_apply_check`, `git_apply`, `git_numstat_paths` (the paths git itself
  reads from a diff), `tree_with_diff` (base + diff in a private index).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from shell import gitops
from critic.diffs import diff_paths
from core.errors import UsageError
from core import scope
from critic.pathrules import normalize_path, path_problems, protected_by, unsafe_path

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


def validate_diff(root: Path, diff: str, globs, editable=()) -> tuple[list[str], list[str]]:
    """(paths, problems) for `diff` against the working tree. No problems means
    the diff applies cleanly, touches nothing off limits and, with
    `editable` (--editable), nothing outside it."""
    if not diff.strip():
        return [], ["no diff"]
    paths = sorted(set(diff_paths(diff)) | set(git_numstat_paths(root, diff)))
    problems = path_problems(paths, globs)
    problems += scope.problems([("?", p) for p in paths], {}, editable)
    safe = [p for p in paths if not unsafe_path(p)]
    problems += [w for w in (_escapes_via_symlink(root, p, globs) for p in safe) if w]
    # ignored and untracked: a change there would escape ratchet's snapshot
    # and survive a revert (clean runs without -x)
    problems += [f"touches git-ignored path {p} (a revert would not undo it)"
                 for p in sorted(gitops.ignored_among(root, safe))]
    why = git_apply_check(root, diff)
    if why:
        problems.append(f"does not apply to the current tree: {why}")
    if not paths and not why:
        problems.append("the diff changes no file")
    return paths, problems
