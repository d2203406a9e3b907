"""Git plumbing. Thin wrappers; every function names what it changes.

Safety rules kept here:
- Ignored files are never touched: snapshots use `git add -A` (which honours
  ignore rules) and restores use `git clean` without `-x`.
- The user's branch is never rewritten: HEAD only ever moves forward, by a
  compare-and-swap (`update-ref HEAD new old`).
- A reverted attempt is first saved as a commit under `refs/ratchet/...`, so
  nothing the model wrote is lost, untracked files included.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from core.errors import UsageError

FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "ratchet", "GIT_AUTHOR_EMAIL": "ratchet@localhost",
    "GIT_COMMITTER_NAME": "ratchet", "GIT_COMMITTER_EMAIL": "ratchet@localhost",
}


class GitError(RuntimeError):
    """A git command failed unexpectedly (not a user input problem)."""


def git(root: Path | str, *args: str, env: dict | None = None, check: bool = True,
        input_text: str | None = None) -> str:
    """Run `git -C root args...`; return stdout stripped of the final newline."""
    full_env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if env:
        full_env.update(env)
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          env=full_env, input=input_text, stdin=None if input_text else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise GitError(f"git {' '.join(args[:2])} failed: {last}")
    return proc.stdout[:-1] if proc.stdout.endswith("\n") else proc.stdout


def repo_root(cwd: Path) -> Path:
    """Top of the work tree containing `cwd`. UsageError when not in one."""
    try:
        top = git(cwd, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        raise UsageError("git is not installed (or not on PATH); install git first") from None
    except (GitError, NotADirectoryError):
        raise UsageError(f"not inside a git repository ({cwd}); cd into your project or run git init") from None
    return Path(top)


def head_sha(root: Path) -> str | None:
    """The commit HEAD points at, or None in a repository without commits."""
    out = git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
    return out or None


def current_branch(root: Path) -> str | None:
    """Short branch name, or None when HEAD is detached."""
    out = git(root, "symbolic-ref", "-q", "--short", "HEAD", check=False)
    return out or None


def dirty_paths(root: Path, skip_prefix: str = ".ratchet/") -> list[str]:
    """Modified, staged and untracked (not ignored) paths, `skip_prefix` aside."""
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    paths = []
    entries = out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        if status[0] in "RC":
            i += 1  # the rename source follows as its own entry
        if not (path == skip_prefix.rstrip("/") or path.startswith(skip_prefix)):
            paths.append(path)
    return paths


def ignored_among(root: Path, paths: list[str]) -> set[str]:
    """The git-ignored subset of repo-relative `paths`. A tracked file is
    never ignored, whatever the ignore patterns say."""
    if not paths:
        return set()
    proc = subprocess.run(["git", "-C", str(root), "check-ignore", "-z", "--stdin"],
                          input="\0".join(paths) + "\0", capture_output=True, text=True)
    return {p for p in proc.stdout.split("\0") if p}


def git_path(root: Path, name: str) -> Path:
    """A path inside the git dir (works in linked worktrees too)."""
    p = Path(git(root, "rev-parse", "--git-path", name))
    return p if p.is_absolute() else root / p


def ensure_excluded(root: Path, pattern: str) -> None:
    """Add `pattern` to .git/info/exclude (never the user's .gitignore)."""
    path = git_path(root, "info/exclude")
    existing = path.read_text() if path.exists() else ""
    if pattern in existing.splitlines():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sep = "" if not existing or existing.endswith("\n") else "\n"
    with open(path, "a") as fh:
        fh.write(f"{sep}{pattern}\n")


def identity_env(root: Path) -> dict:
    """Fallback author/committer when git has no identity configured."""
    ok = subprocess.run(["git", "-C", str(root), "var", "GIT_COMMITTER_IDENT"],
                        capture_output=True, stdin=subprocess.DEVNULL).returncode == 0
    return {} if ok else dict(FALLBACK_IDENTITY)


def create_branch(root: Path, name: str) -> None:
    """Create branch `name` at HEAD and check it out (working tree untouched)."""
    git(root, "checkout", "-q", "-b", name)


def snapshot(root: Path, parent: str, message: str, exclude: list[str] = ()) -> str:
    """Commit object for the working tree as it is (ignored files excluded).

    Uses a private index, so the user's index and HEAD are untouched. Paths in
    `exclude` keep their version from `parent`. Returns the new commit's sha;
    nothing points at it yet.
    """
    index = git_path(root, "ratchet-index")
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git(root, "read-tree", parent, env=env)
        git(root, "add", "-A", "--", ".", *[f":(exclude,top){p}" for p in exclude], env=env)
        tree = git(root, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    return commit_tree(root, tree, parent, message)


def commit_tree(root: Path, tree: str, parent: str, message: str) -> str:
    """A commit object for `tree` on top of `parent`; moves no ref."""
    return git(root, "commit-tree", tree, "-p", parent, "-F", "-", env=identity_env(root),
               input_text=message)


def tree_of(root: Path, commit: str) -> str:
    return git(root, "rev-parse", f"{commit}^{{tree}}")


def advance_head(root: Path, new: str, expected_old: str) -> None:
    """Move HEAD's branch from `expected_old` to `new` atomically, then sync
    the index. GitError if HEAD is no longer at `expected_old`."""
    git(root, "update-ref", "-m", "ratchet: keep", "HEAD", new, expected_old)
    git(root, "reset", "-q")


def restore(root: Path, commit: str, exclude: list[str] = ()) -> None:
    """Make the work tree equal `commit`: tracked edits undone, new untracked
    files removed; ignored files, `.ratchet/` (excluded) and the untracked
    paths in `exclude` are left alone. Callers pass the commit HEAD already
    points at (the best), so no branch ever moves backwards."""
    git(root, "reset", "-q", "--hard", commit)
    git(root, "clean", "-q", "-f", "-d", *[f"--exclude=/{p}" for p in exclude])


def mark_shown(root: Path, commit: str) -> None:
    """Declare that the work tree shows `commit` (index := its tree; no file
    changes). Call before the first `show_tree` away from it."""
    git(root, "read-tree", commit)


def show_tree(root: Path, commit: str) -> None:
    """Switch the work tree from the tree in the index to `commit`'s tree,
    WITHOUT moving HEAD: files of the index tree that `commit` lacks are
    removed, the others written. Files in neither tree (untracked, ignored:
    a built binary, a data set, something the user just created) are not
    touched. The index ends equal to `commit`; `settle` when done."""
    git(root, "read-tree", "-u", "--reset", commit)


def settle(root: Path) -> None:
    """Index back to HEAD; the work tree keeps what it shows."""
    git(root, "reset", "-q")


def save_ref(root: Path, ref: str, commit: str) -> None:
    git(root, "update-ref", ref, commit)


def diff(root: Path, a: str, b: str) -> str:
    return git(root, "diff", "--binary", a, b)


def name_status(root: Path, a: str, b: str) -> list[tuple[str, str]]:
    """[(status letter, path)] of what differs from commit a to commit b."""
    out = git(root, "diff", "--name-status", "-z", "--no-renames", a, b)
    parts = [p for p in out.split("\0") if p]
    return [(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
