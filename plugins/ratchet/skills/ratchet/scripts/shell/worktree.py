"""Showing another commit's files in the work tree, and back, from memory.

An interleaved measurement switches the work tree between the candidate
(`home`, what the model left) and another commit (the incumbent, or the
confirmation run's baseline) before most of its trials. HEAD never moves and
only files that differ between the two commits are written or removed, so
untracked and ignored files are never touched.

`show(root, home, shown, target, head)` asks git twice per measurement and
pair of commits: which files differ (`gitops.changed_files`), and to write
the other commit's versions the first time (`gitops.checkout_files`, so
filters and attributes apply as on any checkout). Both versions are read
from disk around that first checkout; every later switch writes them from
memory, with no git process. When the work tree does not hold exactly
`home`'s versions of those files (an edit since the snapshot, a clean
filter, `core.fileMode=false`, a submodule), or they are too many or too
big to hold in memory, the pair switches through git's index instead
(`gitops.show_tree`), so a trial always sees what git would have written.
`restore` (after a crash) always goes through git.
"""

import os
import stat

from core.seals import sha256
from shell import gitops

ABSENT, REGULAR, EXECUTABLE, SYMLINK, GITLINK = "000000", "100644", "100755", "120000", "160000"
MAX_FILES = 1000  # a pair with more changed files switches through git's index (short argument lists)
MAX_BYTES = 64 << 20  # ... and one whose changed files hold more than this on either side (both stay in memory)

try:  # the interpreter's own hashes: hashlib would load OpenSSL first (milliseconds)
    from _sha1 import sha1
except ImportError:  # a build without the built-in hashes
    from hashlib import sha1

Entry = tuple  # (mode, bytes): a file's mode as git writes it and its content (a symlink's: its target)


class Pair:
    """`home` and `other`'s versions ({path: Entry, None where absent}) of
    every file that differs between them."""

    def __init__(self, root, sides: tuple[dict, dict], index_moved: bool):
        self.root, self.sides, self.index_moved = root, sides, index_moved

    def show(self, side: int) -> None:
        """Write side 0 (home) or 1 (other): removals first (a file may give
        way to a folder of the same name), then every file present."""
        files = self.sides[side]
        for path in sorted((p for p, e in files.items() if e is None), reverse=True):
            _remove(self.root, path)
        for path, entry in files.items():
            if entry is not None:
                _write(self.root, path, entry)


_PAIRS: dict[tuple[str, str, str], Pair | None] = {}  # (root, home, other) -> the pair, None: through the index
_LISTINGS: dict[tuple[str, str, str], object] = {}  # (root, home, other) -> its changed files, being listed
_MOVED: set[str] = set()  # roots whose index no longer matches HEAD (settle when home again)


def show(root, home: str, shown: str, target: str, head: str) -> None:
    """Make the work tree, which shows commit `shown` (`home` or another),
    show `target` instead. `head`: HEAD's commit (a checkout of its files
    leaves the index as it was)."""
    if shown != home:
        pair = _PAIRS.get((str(root), home, shown))
        if pair is not None:
            pair.show(0)
        else:  # through the index, which leaves it at home's tree
            gitops.show_tree(root, home)
            _MOVED.add(str(root))
    if target == home:
        return
    key = (str(root), home, target)
    if key not in _PAIRS:  # the first switch to `target`: done from disk, or left to the index (None)
        _PAIRS[key] = _enter(root, home, target, head)
        if _PAIRS[key] is not None and _PAIRS[key].index_moved:
            _MOVED.add(str(root))
    elif _PAIRS[key] is not None:
        _PAIRS[key].show(1)
    if _PAIRS[key] is None:
        gitops.mark_shown(root, home)
        gitops.show_tree(root, target)
        _MOVED.add(str(root))


def prefetch(root, home: str, target: str) -> None:
    """Start listing the files `home` and `target` differ in, for the first
    switch to `target` (the caller makes its marker durable meanwhile)."""
    key = (str(root), home, target)
    if key not in _PAIRS and key not in _LISTINGS:
        _LISTINGS[key] = gitops.changed_files_later(root, home, target)


def index_moved(root) -> bool:
    """Whether the switches so far left the index off HEAD."""
    return str(root) in _MOVED


def settle(root) -> None:
    """Home again: the index back to HEAD if a switch moved it (`gitops.settle`)."""
    if index_moved(root):
        gitops.settle(root)
        _MOVED.discard(str(root))


def restore(root, home: str, others: list[str]) -> None:
    """After a crash while another commit showed: `home`'s version of every
    file that differs from any of `others`, through git (what was in memory
    died with the process), and the index back to HEAD."""
    for other in others:
        changes = gitops.changed_files(root, home, other)
        for path, mode, *_ in changes:
            if mode == ABSENT:
                _remove(root, path)
        gitops.checkout_files(root, home, [c[0] for c in changes if c[1] not in (ABSENT, GITLINK)])
    gitops.settle(root)
    _PAIRS.clear()
    _MOVED.discard(str(root))


def _enter(root, home: str, other: str, head: str) -> Pair | None:
    """Show `other` for the first time; its Pair, or None (the switch is
    left to git's index) when the work tree is not exactly home's, a
    submodule differs, or the files are too many or too big on either side
    (home's are weighed before anything changes, other's once written)."""
    listing = _LISTINGS.pop((str(root), home, other), None)
    changes = listing() if listing else gitops.changed_files(root, home, other)
    if len(changes) > MAX_FILES or any(GITLINK in (c[1], c[3]) for c in changes):
        return None
    if _too_big(root, [c[0] for c in changes if c[1] != ABSENT]):
        return None
    home_files = {}
    for path, mode, oid, _, _ in changes:
        entry = _read(root, path) if mode != ABSENT else None
        if (entry is None) != (mode == ABSENT) or (entry is not None and _object_id(entry, len(oid)) != (mode, oid)):
            return None
        home_files[path] = entry
    for path, _, _, mode, _ in sorted(changes, reverse=True):
        if mode == ABSENT:
            _remove(root, path)
    other_paths = [c[0] for c in changes if c[3] != ABSENT]
    gitops.checkout_files(root, other, other_paths)
    if _too_big(root, other_paths):
        return None  # `show` rewrites other's version through the index, from home's
    other_files = {c[0]: _read(root, c[0]) if c[3] != ABSENT else None for c in changes}
    return Pair(root, (home_files, other_files), index_moved=other != head)


def _object_id(entry: Entry, hex_length: int) -> tuple[str, str]:
    """(mode, git object id) of a file with this mode and content."""
    mode, data = entry
    h = (sha1 if hex_length == 40 else sha256)(b"blob %d\0" % len(data))
    h.update(data)
    return mode, h.hexdigest()


def _too_big(root, paths: list[str]) -> bool:
    """The files at `paths` hold more than MAX_BYTES on disk now."""
    total = 0
    for path in paths:
        try:
            total += os.lstat(os.path.join(root, path)).st_size
        except OSError:
            continue
    return total > MAX_BYTES


def _read(root, path: str) -> Entry | None:
    full = os.path.join(root, path)
    try:
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            return SYMLINK, os.fsencode(os.readlink(full))
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(full, "rb") as fh:
            return (EXECUTABLE if st.st_mode & stat.S_IXUSR else REGULAR), fh.read()
    except FileNotFoundError:
        return None


def _remove(root, path: str) -> None:
    """Remove the file and the folders it leaves empty (as git does)."""
    full = os.path.join(root, path)
    try:
        os.unlink(full)
    except FileNotFoundError:
        return
    parent = os.path.dirname(full)
    while parent != str(root) and parent.startswith(str(root)):
        try:
            os.rmdir(parent)
        except OSError:
            return
        parent = os.path.dirname(parent)


def _write(root, path: str, entry: Entry) -> None:
    mode, data = entry
    full = os.path.join(root, path)
    try:
        os.unlink(full)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(full), exist_ok=True)
    if mode == SYMLINK:
        os.symlink(data, os.fsencode(full))
        return
    fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if mode == EXECUTABLE else 0o666)
    with open(fd, "wb") as fh:
        fh.write(data)
