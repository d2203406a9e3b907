"""Git plumbing. Thin wrappers; every function names what it changes.

Safety rules kept here:
- Ignored files are never touched: snapshots use `git add -A` (which honours
  ignore rules) and restores remove only untracked, not ignored files
  (`git ls-files --others --exclude-standard`) and the folders that emptied.
- The user's branch is never rewritten: HEAD only ever moves forward, by a
  compare-and-swap (`update-ref HEAD new old`).
- A reverted attempt is first saved as a commit under `refs/ratchet/...`, so
  nothing the model wrote is lost, untracked files included.

Every git process costs milliseconds on every call, so answers that cannot
change within a process are remembered per process: a directory's work-tree
root and the snapshot index path (one `rev-parse` answers both; none for the
top of an ordinary repository), the identity fallback per root, and the tree
of a commit (a commit's tree never changes; snapshots and commits record the
tree they were built from). The `*_later` functions start their git process
and answer when asked, so independent work overlaps it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from core.errors import UsageError

FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "ratchet", "GIT_AUTHOR_EMAIL": "ratchet@localhost",
    "GIT_COMMITTER_NAME": "ratchet", "GIT_COMMITTER_EMAIL": "ratchet@localhost",
}


SNAPSHOT_INDEX = "ratchet-index"  # the private index `snapshot` builds in (inside the git dir)

_ROOTS: dict[str, Path] = {}            # cwd -> work-tree root
_GIT_PATHS: dict[tuple[str, str], Path] = {}  # (root, name) -> git_path
_IDENTITY: dict[str, dict] = {}         # root -> {} or FALLBACK_IDENTITY, once known
_TREES: dict[str, str] = {}             # commit sha -> tree sha


class GitError(RuntimeError):
    """A git command failed unexpectedly (not a user input problem)."""


def _git_env(extra: dict | None = None) -> dict:
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(extra or {})}


def _started(root: Path | str, *args: str) -> subprocess.Popen:
    """`git -C root args...` started, its output to be read (`communicate`) by
    a `*_later` function's answer; a read-only command, which takes no lock."""
    return subprocess.Popen(["git", "-C", str(root), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="surrogateescape", env=_git_env())


def git(root: Path | str, *args: str, env: dict | None = None, check: bool = True,
        input_text: str | None = None) -> str:
    """Run `git -C root args...`; return stdout stripped of the final newline.

    A command refused because a lock file exists (a git process killed while
    writing leaves `index.lock`, `HEAD.lock`, ratchet's private index lock
    behind) is retried once after `_recover_lock` removed the lock, when that
    is provably safe (once per lock: a killed `update-ref` can leave two);
    otherwise the GitError names the file and how to remove it. Output is
    decoded with surrogateescape: a non-UTF-8 file name round-trips to the
    file system instead of raising."""
    full_env = _git_env(env)

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              errors="surrogateescape", env=full_env, input=input_text,
                              stdin=None if input_text else subprocess.DEVNULL)

    proc, recovered = run(), set()
    lock = _lock_in(root, proc.stderr) if proc.returncode != 0 else None
    while lock is not None and lock not in recovered and len(recovered) < 3 and _recover_lock(root, lock, full_env):
        recovered.add(lock)  # one retry per stale lock (a killed update-ref leaves HEAD's and the branch's)
        proc = run()
        lock = _lock_in(root, proc.stderr) if proc.returncode != 0 else None
    if check and proc.returncode != 0:
        what = f"git {' '.join(args[:2])} failed"
        if lock is not None:
            import shlex  # only for this message
            raise GitError(f"{what}: {lock} exists (left by a git command that is still running or was "
                           f"killed); make sure no git command is running in this repository, then run: "
                           f"rm {shlex.quote(str(lock))}")
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise GitError(f"{what}: {last}")
    return proc.stdout[:-1] if proc.stdout.endswith("\n") else proc.stdout


# -- stale lock files ---------------------------------------------------------

_LOCK_RE = re.compile(r"Unable to create '(.+?\.lock)': File exists")
# ratchet's private indexes (snapshot, critic mode's tree_with_diff). Only
# ever used by a command holding ratchet's flock on .ratchet/lock (run-trial,
# decide, status's resume, and the critic commands all take it first), so no
# other ratchet command can be writing them.
PRIVATE_INDEXES = (SNAPSHOT_INDEX, "ratchet-critic-index")
LOCK_WAIT_SECONDS = 5.0  # how long a lock whose owner is alive may take to go away


def _lock_in(root: Path | str, stderr: str) -> Path | None:
    """The lock file git's error message says exists, or None."""
    m = _LOCK_RE.search(stderr or "")
    if not m:
        return None
    path = Path(m.group(1))
    return path if path.is_absolute() else Path(root, path)


def _repo_dirs(root: Path | str, env: dict) -> list[str] | None:
    """Real paths of the work tree top, the git dir and the common git dir."""
    proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "--absolute-git-dir",
                           "--git-common-dir"], capture_output=True, text=True, errors="surrogateescape",
                          env=env, stdin=subprocess.DEVNULL)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 3:
        return None
    top, gitdir, common = lines
    return [os.path.realpath(top), os.path.realpath(gitdir), os.path.realpath(os.path.join(top, common))]


def _inside(path: str, dirs: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in dirs)


def _proc_available() -> bool:
    return os.path.exists("/proc/self/cmdline") and os.path.islink("/proc/self/cwd")


def _git_processes(dirs: list[str], index: str | None = None) -> list[int]:
    """Pids of live git processes (Linux /proc) that may be working in the
    repository whose real paths are `dirs` (cwd, -C, --git-dir, --work-tree
    or GIT_DIR/GIT_WORK_TREE inside it), or, with `index`, that use that
    index file (GIT_INDEX_FILE). A process whose details cannot be read
    counts: it is not provably elsewhere."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        base = f"/proc/{entry.name}"
        try:
            with open(f"{base}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue  # gone
        names = [os.path.basename(a) for a in argv[:2]]
        if not any(n == b"git" or n.startswith(b"git-") for n in names):
            continue  # not git (a zombie or kernel thread has no cmdline either)
        try:
            cwd = os.readlink(f"{base}/cwd")
            with open(f"{base}/environ", "rb") as fh:
                environ = dict(v.split(b"=", 1) for v in fh.read().split(b"\0") if b"=" in v)
        except FileNotFoundError:
            continue
        except OSError:
            found.append(int(entry.name))  # another user's process: cannot tell
            continue
        def real(p: bytes) -> str:
            return os.path.realpath(os.path.join(cwd, os.fsdecode(p)))

        if index is not None:
            if b"GIT_INDEX_FILE" in environ and real(environ[b"GIT_INDEX_FILE"]) == os.path.realpath(index):
                found.append(int(entry.name))
            continue
        paths = [os.fsencode(cwd)]
        paths += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in (b"-C", b"--git-dir", b"--work-tree")]
        paths += [a.split(b"=", 1)[1] for a in argv if a.startswith((b"--git-dir=", b"--work-tree="))]
        paths += [environ[k] for k in (b"GIT_DIR", b"GIT_WORK_TREE", b"GIT_COMMON_DIR") if k in environ]
        if any(_inside(real(p), dirs) for p in paths):
            found.append(int(entry.name))
    return found


def _recover_lock(root: Path | str, lock: Path, env: dict) -> bool:
    """Make way for a retry of a git command refused because `lock` exists.

    True when the lock is gone: its owner finished, or it was stale and has
    been removed. A lock is removed only when no owner can be alive:
    - ratchet's private index lock (PRIVATE_INDEXES): every command using
      that index holds ratchet's flock, so the lock's owner was a ratchet
      command that died; removed once no git process still uses that index
      (a git child can outlive a ratchet.py killed alone);
    - any other lock inside the git dir (index.lock, HEAD.lock, a ref's
      lock): only on Linux, when /proc shows no git process working in this
      repository. Elsewhere there is no proof, and the lock stays.
    Waits up to LOCK_WAIT_SECONDS for a live owner to finish."""
    dirs = _repo_dirs(root, env)
    if dirs is None:
        return False
    real = os.path.join(os.path.realpath(lock.parent), lock.name)  # the lock itself is never followed
    if not _inside(real, dirs[1:]):
        return False  # not a lock of this repository's git dir: not ours to judge
    index = real[:-len(".lock")]
    private = os.path.basename(index) in PRIVATE_INDEXES and os.path.dirname(real) in dirs[1:]
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            before = os.lstat(real)
        except FileNotFoundError:
            return True  # its owner finished meanwhile
        if _proc_available():
            owners = _git_processes(dirs, index if private else None)
        else:
            owners = [] if private else None  # None: no way to know
        if owners == []:
            try:
                after = os.lstat(real)
                if (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns):
                    os.unlink(real)
            except FileNotFoundError:
                pass
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _drop_private_lock(index: Path) -> None:
    """Remove the lock of ratchet's private `index` unless a live git process
    (one that outlived a killed ratchet.py) still uses that index."""
    lock = Path(f"{index}.lock")
    if lock.exists() and not (_proc_available() and _git_processes([], str(index))):
        lock.unlink(missing_ok=True)


# variables and settings that change where git finds the repository or its work tree
_LOCATION_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_CONFIG_PARAMETERS",
                 "GIT_CONFIG_COUNT")
_LOCATION_CONFIG = re.compile(rb"worktree|include|^\s*bare\s*=\s*(true|yes|on|1)\s*$", re.I | re.M)


def _installed(program: str) -> bool:
    """Whether a folder on PATH holds an executable `program` (what
    `shutil.which` tells, without importing shutil and the compression
    modules it loads: milliseconds at every start of a clean interpreter)."""
    for folder in os.get_exec_path():
        path = os.path.join(folder, program)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return True
    return False


def _plain_top(cwd: Path) -> Path | None:
    """`cwd`, resolved, when it is plainly the top of an ordinary repository,
    which `rev-parse --show-toplevel` would answer without a doubt: a `.git`
    folder with a HEAD file, no variable that changes where git looks, and
    no `worktree`, `bare` or `include` in its config, and git installed (a
    command without it fails as it always did). None: ask git."""
    if any(name in os.environ for name in _LOCATION_ENV) or not _installed("git"):
        return None
    dot_git = os.path.join(cwd, ".git")
    try:
        if not os.path.isfile(os.path.join(dot_git, "HEAD")):
            return None
        with open(os.path.join(dot_git, "config"), "rb") as fh:
            if _LOCATION_CONFIG.search(fh.read()):
                return None
    except OSError:
        return None
    return Path(os.path.realpath(cwd))


def repo_root(cwd: Path) -> Path:
    """Top of the work tree containing `cwd`. UsageError when not in one.
    Remembered per process; the same `rev-parse` also learns where the
    snapshot index lives (`git_path(root, SNAPSHOT_INDEX)`)."""
    key = str(cwd)
    if key in _ROOTS:
        return _ROOTS[key]
    plain = _plain_top(cwd)
    if plain is not None:
        _GIT_PATHS[(str(plain), SNAPSHOT_INDEX)] = plain / ".git" / SNAPSHOT_INDEX
        _ROOTS[key] = plain
        return plain
    try:
        out = git(cwd, "rev-parse", "--show-toplevel", "--git-path", SNAPSHOT_INDEX)
    except (FileNotFoundError, PermissionError):  # the first git on PATH is not a program
        raise UsageError("git is not installed (or not on PATH); install git first") from None
    except (GitError, NotADirectoryError):
        raise UsageError(f"not inside a git repository ({cwd}); cd into your project or run git init") from None
    lines = out.split("\n")
    if len(lines) == 2:
        top, index = lines
        index_path = Path(index)
        _GIT_PATHS[(top, SNAPSHOT_INDEX)] = index_path if index_path.is_absolute() else Path(cwd) / index_path
    else:  # a newline in a path: ask for the root alone
        top = git(cwd, "rev-parse", "--show-toplevel")
    _ROOTS[key] = Path(top)
    return _ROOTS[key]


def head_sha(root: Path) -> str | None:
    """The commit HEAD points at, or None in a repository without commits.
    Its tree is learnt in the same process (`tree_of` answers from memory)."""
    return head_sha_later(root)()


def head_sha_later(root: Path):
    """`head_sha(root)` started now in a git process of its own; the function
    returned waits for it and answers (so other work overlaps it)."""
    proc = _started(root, "rev-parse", "HEAD^{commit}", "HEAD^{tree}", "--")

    def answer() -> str | None:
        out = proc.communicate()[0].split("\n")
        if proc.returncode != 0 or len(out) < 2 or not (_is_sha(out[0]) and _is_sha(out[1])):
            return None
        _TREES[out[0]] = out[1]
        return out[0]
    return answer


def current_branch(root: Path) -> str | None:
    """Short branch name, or None when HEAD is detached."""
    out = git(root, "symbolic-ref", "-q", "--short", "HEAD", check=False)
    return out or None


def dirty_paths(root: Path, skip_prefix: str = ".ratchet/") -> list[str]:
    """Modified, staged and untracked (not ignored) paths, `skip_prefix` aside.
    Writes nothing (no opportunistic index refresh)."""
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", env={"GIT_OPTIONAL_LOCKS": "0"})
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
    """The git-ignored subset of repo-relative `paths` (one `check-ignore`).
    A tracked file is never ignored, whatever the ignore patterns say (git
    consults the index). The one ignore check of ratchet: the protected-file
    fingerprints, the report-file exclusion and critic mode's diff checks."""
    if not paths:
        return set()
    out = git(root, "check-ignore", "-z", "--stdin", check=False, input_text="\0".join(paths) + "\0")
    return {p for p in out.split("\0") if p}


def git_path(root: Path, name: str) -> Path:
    """A path inside the git dir (works in linked worktrees too). Remembered
    per process."""
    key = (str(root), name)
    if key not in _GIT_PATHS:
        p = Path(git(root, "rev-parse", "--git-path", name))
        _GIT_PATHS[key] = p if p.is_absolute() else root / p
    return _GIT_PATHS[key]


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
    """Fallback author/committer when git has no identity configured
    (remembered per root; `commit_tree` learns it without asking)."""
    key = str(root)
    if key not in _IDENTITY:
        ok = subprocess.run(["git", "-C", str(root), "var", "GIT_COMMITTER_IDENT"],
                            capture_output=True, stdin=subprocess.DEVNULL).returncode == 0
        _IDENTITY[key] = {} if ok else dict(FALLBACK_IDENTITY)
    return dict(_IDENTITY[key])


def create_branch(root: Path, name: str) -> None:
    """Create branch `name` at HEAD and check it out (working tree untouched)."""
    git(root, "checkout", "-q", "-b", name)


def snapshot_tree(root: Path, parent: str, exclude: tuple[str, ...] | list[str] = ()) -> str:
    """The tree of the working tree as it is (ignored files excluded); no
    commit is made (`snapshot` makes one).

    Uses a private index, so the user's index and HEAD are untouched. Paths in
    `exclude` keep their version from `parent`. Returns the tree's sha."""
    index = git_path(root, SNAPSHOT_INDEX)
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git(root, "read-tree", parent, env=env)
        git(root, "add", "-A", "--", ".", *[f":(exclude,top){p}" for p in exclude], env=env)
        return git(root, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
        _drop_private_lock(index)  # a git killed under us leaves it; it would refuse every later snapshot


def snapshot(root: Path, parent: str, message: str, exclude: tuple[str, ...] | list[str] = ()) -> str:
    """Commit object for the working tree as it is (`snapshot_tree` on top
    of `parent`). Returns the new commit's sha; nothing points at it yet."""
    return commit_tree(root, snapshot_tree(root, parent, exclude), parent, message)


def commit_tree(root: Path, tree: str, parent: str, message: str) -> str:
    """A commit object for `tree` on top of `parent`; moves no ref.

    Git's own identity is used when it has one; when it has none the commit
    is retried with the fallback identity (ratchet@localhost), which is then
    used for the rest of the process. One process when git has an identity."""
    key = str(root)
    first = _IDENTITY.get(key, {})
    args = ("commit-tree", tree, "-p", parent, "-F", "-")
    try:
        sha = git(root, *args, env=first, input_text=message)
    except GitError:
        if first:
            raise
        sha = git(root, *args, env=FALLBACK_IDENTITY, input_text=message)
        _IDENTITY[key] = dict(FALLBACK_IDENTITY)
    _TREES[sha] = tree
    return sha


def _is_sha(name: str) -> bool:
    return len(name) in (40, 64) and all(c in "0123456789abcdef" for c in name)


def trees_of(root: Path, *commits: str) -> list[str]:
    """The tree of each commit, in order; one `rev-parse` for those not
    known yet (a commit's tree never changes, so shas are remembered; refs
    like HEAD are always asked)."""
    missing = [c for c in dict.fromkeys(commits) if c not in _TREES]
    found = dict(zip(missing, git(root, "rev-parse", *[f"{c}^{{tree}}" for c in missing]).split("\n"))
                 if missing else ())
    for c, t in found.items():
        if _is_sha(c):
            _TREES[c] = t
    return [_TREES.get(c) or found[c] for c in commits]


def tree_of(root: Path, commit: str) -> str:
    return trees_of(root, commit)[0]


def advance_head(root: Path, new: str, expected_old: str, sync_index: bool = True) -> None:
    """Move HEAD's branch from `expected_old` to `new` atomically, then sync
    the index (`sync_index=False`: the caller restores the work tree and the
    index right after, e.g. with `restore(root, new)`, so the `reset` would
    be wasted). HEAD already at `new` (a decision resumed after a crash) is
    success; GitError if HEAD is at neither. One process when HEAD is at
    `expected_old` (the compare-and-swap is tried first)."""
    try:
        git(root, "update-ref", "-m", "ratchet: keep", "HEAD", new, expected_old)
    except GitError:
        if head_sha(root) != new:
            raise
    if sync_index:
        settle(root)


def restore(root: Path, commit: str, exclude: tuple[str, ...] | list[str] = ()) -> None:
    """Make the work tree equal `commit`: tracked edits undone, new untracked
    files removed; ignored files, `.ratchet/`, the untracked paths in
    `exclude` and nested repositories are left alone. Callers pass the commit
    HEAD already points at (the best), so no branch ever moves backwards.

    Only files are removed (`git ls-files --others`, the list `git clean`
    works from), then the folders that removal emptied. A folder that held
    no removed file stays, so an empty folder of the user's, which git
    cannot see (init's clean-tree check lets it through), survives every
    revert; so does an empty folder the change created. (A folder that was
    empty before the run and received a file from the change goes with that
    file: git keeps no record of empty folders.)"""
    root = Path(root)
    git(root, "read-tree", "-u", "--reset", commit)  # `reset --hard` without moving a ref or writing ORIG_HEAD
    out = git(root, "ls-files", "-z", "--others", "--exclude-standard")
    keep = [p.strip("/") for p in exclude] + [".ratchet"]
    emptied = set()
    for rel in out.split("\0"):
        if not rel or rel.endswith("/"):  # a nested repository: never removed (as git clean without -ff)
            continue
        if any(rel == k or rel.startswith(k + "/") for k in keep):
            continue
        try:
            os.unlink(root / rel)  # a symlink is removed, never followed
        except FileNotFoundError:
            continue
        emptied.add(os.path.dirname(rel))
    for folder in sorted(emptied, key=lambda d: d.count("/"), reverse=True):
        while folder:
            try:
                os.rmdir(root / folder)
            except OSError:  # not empty (or already gone): what is left in it stays
                break
            folder = os.path.dirname(folder)


def mark_shown(root: Path, commit: str) -> None:
    """Declare that the work tree shows `commit` (index := its tree; no file
    changes). Call before the first `show_tree` away from it."""
    git(root, "read-tree", commit)


def show_tree(root: Path, commit: str) -> None:
    """Switch the work tree from the tree in the index to `commit`'s tree,
    WITHOUT moving HEAD: files of the index tree that `commit` lacks are
    removed, the others written. Files in neither tree (untracked, ignored:
    a built binary, a data set, something the user just created) are not
    touched. The index ends equal to `commit`, so further switches need no
    `mark_shown`; `settle` once done switching."""
    git(root, "read-tree", "-u", "--reset", commit)


def changed_files(root: Path, a: str, b: str) -> list[tuple[str, str, str, str, str]]:
    """[(path, mode in a, object in a, mode in b, object in b)] of every file
    that differs between commits `a` and `b`; a side without it has mode
    "000000"."""
    return changed_files_later(root, a, b)()


def changed_files_later(root: Path, a: str, b: str):
    """`changed_files(root, a, b)` started now in a git process of its own;
    the function returned waits for it and answers (so other work, an fsync,
    overlaps it)."""
    proc = _started(root, "diff-tree", "-r", "-z", "--no-renames", a, b)

    def answer() -> list[tuple[str, str, str, str, str]]:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise GitError(f"git diff-tree failed: {(err.strip().splitlines() or ['no message'])[-1]}")
        fields, rows = out.split("\0"), []
        for meta, path in zip(fields[0::2], fields[1::2]):
            mode_a, mode_b, obj_a, obj_b = meta.lstrip(":").split(" ")[:4]
            rows.append((path, mode_a, obj_a, mode_b, obj_b))
        return rows
    return answer


def checkout_files(root: Path, commit: str, paths: list[str]) -> None:
    """Write `commit`'s version of `paths` (files of its tree) to the work
    tree and the index, as any checkout does (filters, attributes), without
    running the repository's hooks; names are literal, never patterns."""
    if paths:
        git(root, "-c", "core.hooksPath=/dev/null", "checkout", "-q", commit, "--", *paths,
            env={"GIT_LITERAL_PATHSPECS": "1"})


def settle(root: Path) -> None:
    """Index back to HEAD; the work tree keeps what it shows. `reset`'s
    plumbing, without ORIG_HEAD: a kill mid-`reset` left ORIG_HEAD.lock,
    which no later git command fails on, so nothing would ever remove it."""
    git(root, "read-tree", "--reset", "HEAD")


def save_ref(root: Path, ref: str, commit: str) -> None:
    git(root, "update-ref", ref, commit)


def diff(root: Path, a: str, b: str) -> str:
    """Binary diff from commit a to commit b ("" without a process when both
    trees are known to be equal)."""
    if a in _TREES and _TREES.get(b) == _TREES[a]:
        return ""
    return git(root, "diff", "--binary", a, b)


def name_status(root: Path, a: str, b: str) -> list[tuple[str, str]]:
    """[(status letter, path)] of what differs from commit a to commit b.
    Equal trees (the common case: no edit after the trials started) are
    answered by the trees alone, which later `tree_of` calls reuse."""
    ta, tb = trees_of(root, a, b)
    if ta == tb:
        return []
    out = git(root, "diff", "--name-status", "-z", "--no-renames", a, b)
    parts = [p for p in out.split("\0") if p]
    return [(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def symlink_targets(root: Path, commit: str, paths: list[str]) -> dict[str, str]:
    """{path: target} of the symlinks among `paths` in `commit`'s tree."""
    if not paths:
        return {}
    out = git(root, "ls-tree", "-z", commit, "--", *paths)
    links = {}
    for entry in (e for e in out.split("\0") if e):
        meta, path = entry.split("\t", 1)
        mode, _, sha = meta.split(" ")
        if mode == "120000":
            links[path] = git(root, "cat-file", "blob", sha)
    return links


# -- finalize: review branches built with plumbing ------------------------------
# Nothing below touches the work tree, the user's index, HEAD or an existing
# branch: trees are composed in a throwaway index (GIT_INDEX_FILE in a
# temporary folder), commits are made with commit-tree, and branches are
# created or moved in one update-ref transaction with their old values.

def ref_sha(root: Path, ref: str) -> str | None:
    """The commit `ref` points at, None when it does not exist."""
    out = git(root, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
    return out if _is_sha(out) else None


def valid_branch_name(name: str) -> bool:
    """`name` can be a branch (git check-ref-format)."""
    return not name.startswith("-") and subprocess.run(
        ["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True,
        stdin=subprocess.DEVNULL).returncode == 0


def branch_conflicts(root: Path, name: str) -> list[str]:
    """Existing branches that make `name` impossible to create: a branch
    named like one of its folders (`a` for `a/b`) or one inside it (`a/b/c`)."""
    parts = name.split("/")
    found = [p for p in ("/".join(parts[:i]) for i in range(1, len(parts))) if ref_sha(root, f"refs/heads/{p}")]
    inside = git(root, "for-each-ref", "--count=1", "--format=%(refname:short)", f"refs/heads/{name}/")
    return found + ([inside] if inside else [])


def author_env(root: Path, commit: str) -> dict:
    """GIT_AUTHOR_* of `commit` (name, email, date), to carry its authorship over."""
    out = git(root, "show", "-s", "--date=raw", "--format=%an%x00%ae%x00%ad", commit)
    name, email, date = (out.split("\0") + ["", "", ""])[:3]
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date}


def commit_tree_as(root: Path, tree: str, parent: str, message: str, author: dict) -> str:
    """`commit_tree` with the author given (`author_env`); the committer is
    git's identity, or the fallback when git has none. Moves no ref."""
    sha = git(root, "commit-tree", tree, "-p", parent, "-F", "-",
              env={**identity_env(root), **author}, input_text=message)
    _TREES[sha] = tree
    return sha


def _tree_entries(root: Path, commit: str) -> dict[str, str]:
    """{path: "mode sha"} of every entry of `commit`'s tree (recursive)."""
    out = git(root, "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = {}
    for item in out.split("\0"):
        if not item:
            continue
        meta, path = item.split("\t", 1)
        mode, _kind, sha = meta.split(" ")
        entries[path] = f"{mode} {sha}"
    return entries


def compose_tree(root: Path, base: str, parts: list[tuple[str, list[str]]]) -> str:
    """The tree of commit `base` with, for each (source commit, paths) in
    `parts`, those paths as they are in the source (removed where the source
    lacks them). Built in a throwaway index: the user's index and work tree
    are never read or written."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="ratchet-finalize-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        git(root, "read-tree", base, env=env)
        removals, additions = [], []
        for source, paths in parts:
            entries = _tree_entries(root, source)
            for path in paths:
                if path in entries:
                    additions.append(f"{entries[path]}\t{path}")
                else:
                    removals.append(f"0 {'0' * 40}\t{path}")
        lines = removals + additions  # removals first: a file may turn into a folder
        if lines:
            git(root, "update-index", "-z", "--index-info", env=env, input_text="\0".join(lines) + "\0")
        return git(root, "write-tree", env=env)


def fresh_tree(root: Path, commit: str) -> str:
    """`commit`'s tree asked from git (not from memory): for verification."""
    return git(root, "rev-parse", f"{commit}^{{tree}}")


def set_branches(root: Path, updates: list[tuple[str, str, str | None]], message: str) -> None:
    """Create or move branches in one transaction: (name, new sha, old sha
    or None for "must not exist yet"). All or nothing; GitError when a
    branch moved or appeared meanwhile."""
    lines = [f"update refs/heads/{name} {new} {old or '0' * 40}" for name, new, old in updates]
    git(root, "update-ref", "-m", message, "--stdin", input_text="\n".join(lines) + "\n")


def remotes(root: Path) -> list[str]:
    return [r for r in git(root, "remote").split("\n") if r]


# -- loop: an agent that ran git itself ------------------------------------------

def moved_from(root: Path, branch: str | None, expected: str) -> str | None:
    """What git state moved away from the run's (HEAD on `branch` at `expected`), in
    words, or None when nothing did."""
    now_branch, head = current_branch(root), head_sha(root)
    found = []
    if branch and now_branch != branch:
        found.append(f"HEAD is on {now_branch or 'a detached HEAD'} instead of {branch}")
    if head != expected:
        found.append(f"HEAD at {str(head)[:10]} instead of {expected[:10]}")
    if branch and now_branch != branch and ref_sha(root, f"refs/heads/{branch}") != expected:
        found.append(f"{branch} moved to {str(ref_sha(root, f'refs/heads/{branch}'))[:10]}")
    return "; ".join(found) or None


def put_back(root: Path, branch: str | None, expected: str) -> None:
    """HEAD back on `branch` at `expected`, the work tree left as it is (so the next
    snapshot holds what the agent left, saved like any reverted attempt)."""
    if branch:
        git(root, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
        git(root, "update-ref", "-m", "ratchet: put back after the agent ran git", f"refs/heads/{branch}", expected)
    else:
        git(root, "update-ref", "--no-deref", "-m", "ratchet: put back after the agent ran git", "HEAD", expected)
    git(root, "read-tree", expected)
