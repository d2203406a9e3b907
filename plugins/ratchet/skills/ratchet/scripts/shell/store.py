"""The `.ratchet/` directory: layout, atomic writes, the results log, the lock.

Layout (at the repository root):
    config.json        run config + run_id + start commit + fingerprints (sealed)
    config.bak.json    the same, written once: what an edited config.json is replaced by
    stop-requested     the user's stop (`ratchet.py stop`; sealed)
    worker.json        the measurement worker: pid, job, exit status (shell/worker.py); worker.log its output
    results.jsonl      one record per finalized iteration (hash-chained)
    head.json          the log's summary and the file identity it was verified at (sealed)
    current.json       the iteration in progress (sealed)
    reports/           iter-NNNN-trial-NN.txt (+ .err), iter-NNNN-guard.txt
    patches/           iter-NNNN.diff of every reverted attempt
    runs/<run_id>/     earlier runs, archived by the next `init`
    lock               held (flock) by the one ratchet command allowed to write

Every JSON file is replaced atomically (temp file, fsync, rename, fsync dir;
head.json, a cache checked against the log on load, without the fsyncs).
results.jsonl is appended with fsync; a torn last line (power cut) is set
aside on the next append and reported by `read_results`, never fatal.
"""

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import NamedTuple

from core.errors import UsageError
from core.history import Summary, fold
from core.seals import broken_links, chain, sealed, verify_seal

DIRNAME = ".ratchet"
HEAD = "head.json"
CONFIG_COPY = "config.bak.json"
STOP_REQUEST = "stop-requested"
RUN_FILES = ("config.json", CONFIG_COPY, STOP_REQUEST, "worker.json", "worker.log", "results.jsonl", HEAD, "current.json", "reports", "patches", "proposals",
             "results.torn", "agents", "ideas.json", "loop.jsonl")


class Busy(UsageError):
    """Another ratchet command holds the writers' lock."""


class TamperedState(Exception):
    """A sealed state file does not verify: edited outside ratchet."""


class Log(NamedTuple):
    """The results log as loaded: its verified summary, whether it ended in a
    torn line, and whether it was edited outside ratchet."""

    summary: Summary
    torn: bool
    edited: bool


def _file_id(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_ino, st.st_mtime_ns)


def _fold_from(path: Path, offset: int, link: str, summary: Summary) -> tuple[Summary, bool] | None:
    """(summary, torn) with the records after byte `offset` folded in, when
    they chain on from `link`; None when they do not."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        lines = fh.read().split(b"\n")
    prev = link
    for raw in lines[:-1]:
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(rec, dict) or rec.get("chain") != chain(prev, rec):
            return None
        prev = rec["chain"]
        summary = fold(summary, rec)
    return summary, lines[-1] != b""


def _last_link(path: Path, key: str) -> str:
    """The chain value of the log's last complete line (`key` when there is
    none), read from the end of the file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return key
    block, data = 1 << 16, b""
    with open(path, "rb") as fh:
        end = size
        while True:
            start = max(0, end - block)
            fh.seek(start)
            data = fh.read(end - start) + data
            lines = [ln for ln in data.split(b"\n") if ln.strip()]
            if len(lines) >= 2 or start == 0:
                break
            end, block = start, block * 2
    if not lines:
        return key
    try:
        return json.loads(lines[-1])["chain"]
    except (ValueError, KeyError, TypeError):
        raise TamperedState("the last line of .ratchet/results.jsonl is not a ratchet record") from None


def atomic_write(path: Path, data: bytes, durable: bool = True, keep_old: bool = False) -> None:
    """Replace `path` with `data` so a reader sees the old or the new file,
    whole, and (`durable`) the new one after a power cut once this returns.
    `keep_old`: the new file's content is durable but its rename may not be
    (one fsync, not two): after a power cut the old file may be back, whole,
    for a state whose previous version is as good a place to go on from (a
    measurement's trial record: the trial is run again). `durable=False`
    skips both fsyncs, for a file whose reader checks it (after a power cut
    it may be the old version, or torn)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if durable and not keep_old:
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def dumps(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


class Store:
    """Access to one repository's `.ratchet/` directory."""

    def __init__(self, root: Path):
        self.root = root
        self.dir = root / DIRNAME

    # -- paths -------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        return self.dir.joinpath(*parts)

    def report_files(self, name: str) -> dict[str, Path]:
        """reports/NAME.txt (the report), .log and .err (the other streams);
        creates reports/ when needed."""
        reports = self.path("reports")
        reports.mkdir(parents=True, exist_ok=True)
        return {ext: reports / f"{name}.{ext}" for ext in ("txt", "log", "err")}

    @staticmethod
    def label(iteration: int, what: str = "", n: int | None = None) -> str:
        """The one naming scheme of per-iteration files and refs:
        label(3) -> iter-0003, label(3, "trial", 2) -> iter-0003-trial-02,
        label(3, "guard") -> iter-0003-guard."""
        out = f"iter-{iteration:04d}"
        if what:
            out += f"-{what}"
        return out if n is None else f"{out}-{n:02d}"

    def patch_path(self, iteration: int) -> Path:
        """patches/iter-NNNN.diff (creates patches/)."""
        self.path("patches").mkdir(exist_ok=True)
        return self.path("patches", f"{self.label(iteration)}.diff")

    @classmethod
    def attempt_ref(cls, run_id: str, iteration: int) -> str:
        """Where a reverted attempt is saved: refs/ratchet/<run_id>/iter-NNNN."""
        return f"refs/ratchet/{run_id}/{cls.label(iteration)}"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def exists(self) -> bool:
        return self.path("config.json").is_file()

    # -- sealed JSON -------------------------------------------------------
    def read_sealed(self, name: str, key: str | None) -> dict | None:
        """Parsed JSON file, None if absent. TamperedState when its seal fails
        (`key` None: read config.json to learn the key, seal checked by caller)."""
        path = self.path(name)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"cannot read {self.rel(path)}: {exc.strerror}") from None
        try:
            obj = json.loads(text)
        except ValueError:
            raise TamperedState(f"{self.rel(path)} is not valid JSON") from None
        if not isinstance(obj, dict):
            raise TamperedState(f"{self.rel(path)} is not a JSON object")
        if key is not None and not verify_seal(obj, key):
            raise TamperedState(f"{self.rel(path)} was edited outside ratchet")
        return obj

    def write_sealed(self, name: str, obj: dict, key: str, durable: bool = True, keep_old: bool = False) -> dict:
        out = sealed(obj, key)
        atomic_write(self.path(name), dumps(out).encode(), durable, keep_old)
        return out

    def clear(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
        _fsync_dir(self.dir)

    # -- results log -------------------------------------------------------
    def read_results(self) -> tuple[list[dict], bool]:
        """(records, torn): complete records in order; torn is True when the
        last line was cut short (it is ignored)."""
        path = self.path("results.jsonl")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return [], False
        lines = data.split(b"\n")
        torn = lines[-1] != b""
        records = []
        for number, raw in enumerate(lines[:-1], 1):
            if raw.strip():
                try:
                    records.append(json.loads(raw))
                except ValueError:
                    raise TamperedState(f"results.jsonl line {number} is not valid JSON") from None
        if torn:
            try:
                records.append(json.loads(lines[-1]))
                torn = False  # complete JSON, only the newline was lost
            except ValueError:
                pass
        return records, torn

    def verify_results(self, records: list[dict], key: str) -> list[int]:
        return broken_links(records, key)

    def load_log(self, key: str) -> "Log":
        """The log's summary, verified at a cost independent of its length.

        `head.json` (sealed) holds the summary of the log as ratchet last
        wrote it, with the file's size, inode and modification time (set by
        ratchet to a value derived from the last link, so another writer
        cannot land on it by chance). Unchanged file: the summary is used as
        is. Grown file (a crash between an append and the head write): only
        the new records are read, verified against the head's link and
        folded in. Anything else (edited, truncated, no head yet): the whole
        log is read and verified; when it does not verify the summary is the
        head's, so a forged record never becomes the reported best."""
        head = self._read_head(key)
        path = self.path("results.jsonl")
        try:
            st = path.stat()
        except FileNotFoundError:
            st = None
        if head and st and head["file"] and list(_file_id(st)) == head["file"]:
            return Log(Summary.from_dict(head["summary"]), torn=False, edited=False)
        if head and st and head["file"] and st.st_size > head["file"][0] and st.st_ino == head["file"][1]:
            grown = _fold_from(path, head["file"][0], head["chain"], Summary.from_dict(head["summary"]))
            if grown is not None:
                return Log(grown[0], grown[1], False)
        records, torn = self.read_results()
        if broken_links(records, key):
            return Log(Summary.from_dict(head["summary"]) if head else Summary.of(records), torn, True)
        if head and not records and head["summary"]["count"]:
            return Log(Summary.from_dict(head["summary"]), torn, True)  # the log was deleted
        return Log(Summary.of(records), torn, False)

    def _read_head(self, key: str) -> dict | None:
        try:
            head = self.read_sealed(HEAD, key)
        except TamperedState:
            return None
        return head if head and isinstance(head.get("summary"), dict) else None

    def _write_head(self, key: str, summary: Summary, link: str, trusted: bool) -> None:
        """Record the summary in head.json. `trusted`: the log verified, so
        stamp results.jsonl with a modification time derived from `link` and
        record the file's identity; otherwise leave it out, so every load
        verifies the whole log again (and keeps reporting the edit).
        Not fsynced: the head is a cache `load_log` checks against the log
        (durable before its head is written), so after a power cut an old
        or torn head.json only means more of the log is read and verified."""
        path = self.path("results.jsonl")
        file_id = None
        if trusted:
            now = time.time_ns() // 1_000_000_000 * 1_000_000_000
            os.utime(path, ns=(now, now + int(link[:8], 16) % 1_000_000_000))
            file_id = list(_file_id(path.stat()))
        self.write_sealed(HEAD, {"file": file_id, "chain": link, "summary": summary.to_dict()}, key, durable=False)

    def append_result(self, record: dict, key: str, summary: Summary | None = None,
                      trusted: bool = True) -> dict:
        """Link `record` to the log's last record, append it durably and
        update head.json. `summary` is the log's summary before the append
        (folded from the whole log when not given); `trusted` is False when
        the log was found edited (see `_write_head`)."""
        path = self.path("results.jsonl")
        self._set_aside_torn_tail(path)
        if summary is None:
            summary = Summary.of(self.read_results()[0])
        prev = _last_link(path, key)
        record = {k: v for k, v in record.items() if k != "chain"}
        record["chain"] = chain(prev, record)
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        with open(path, "a") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self._write_head(key, fold(summary, record), record["chain"], trusted)
        return record

    def _set_aside_torn_tail(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        if not data or data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        try:
            json.loads(tail)
            atomic_write(path, data + b"\n")  # whole record, newline lost
            return
        except ValueError:
            pass
        with open(self.path("results.torn"), "ab") as fh:
            fh.write(tail + b"\n")
        atomic_write(path, data[:cut])

    # -- lifecycle ---------------------------------------------------------
    def archive(self, run_id: str) -> Path | None:
        """Move the current run's files to runs/<run_id>/; None if none."""
        if not self.exists():
            return None
        import shutil  # only here: its import costs every command milliseconds

        dest = self.path("runs", run_id)
        dest.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            src = self.path(name)
            if src.exists():
                shutil.move(str(src), str(dest / name))
        return dest

    @contextlib.contextmanager
    def lock(self, wait: float = 0.0, path: Path | None = None):
        """Exclusive lock for writers (`path`: another lock file, e.g. the
        loop driver's, kept in .git so a refused loop writes nothing in the
        work tree); yields its file descriptor (a
        measurement worker inherits it: the lock then stays held until the
        worker exits). Waits up to `wait` seconds for it, then raises Busy.
        The kernel releases the lock when its holder dies, so a crashed run
        never leaves a stale lock behind."""
        if path is None:
            self.dir.mkdir(exist_ok=True)
        fd = os.open(path or self.path("lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline, delay = time.monotonic() + wait, 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                        raise Busy(f"another ratchet command is running in this repository (pid {holder}); "
                                   "wait for it to finish") from None
                    time.sleep(min(delay, left))
                    delay = min(delay * 1.5, 0.25)
            stamp_lock(fd)
            yield fd
        finally:
            os.close(fd)


def stamp_lock(fd: int) -> None:
    """Write the calling process's pid into the lock file (who holds it)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
