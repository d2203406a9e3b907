"""The `.ratchet/` directory: layout, atomic writes, the results log, the lock.

Layout (at the repository root):
    config.json        run config + run_id + start commit + fingerprints (sealed)
    results.jsonl      one record per finalized iteration (hash-chained)
    current.json       the iteration in progress (sealed)
    reports/           iter-NNNN-trial-NN.txt (+ .err), iter-NNNN-guard.txt
    patches/           iter-NNNN.diff of every reverted attempt
    runs/<run_id>/     earlier runs, archived by the next `init`
    lock               held (flock) by the one ratchet command allowed to write

Every JSON file is replaced atomically (temp file, fsync, rename, fsync dir).
results.jsonl is appended with fsync; a torn last line (power cut) is set
aside on the next append and reported by `read_results`, never fatal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from pathlib import Path

from core.errors import UsageError
from core.seals import broken_links, chain, sealed, verify_seal

DIRNAME = ".ratchet"
RUN_FILES = ("config.json", "results.jsonl", "current.json", "reports", "patches", "proposals",
             "results.torn")


class TamperedState(Exception):
    """A sealed state file does not verify: edited outside ratchet."""


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so a reader sees the old or the new file, whole."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
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

    def write_sealed(self, name: str, obj: dict, key: str) -> dict:
        out = sealed(obj, key)
        atomic_write(self.path(name), dumps(out).encode())
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

    def append_result(self, record: dict, key: str) -> dict:
        """Link `record` to the log's last record and append it durably."""
        path = self.path("results.jsonl")
        self._set_aside_torn_tail(path)
        records, _ = self.read_results()
        prev = records[-1]["chain"] if records else key
        record = {k: v for k, v in record.items() if k != "chain"}
        record["chain"] = chain(prev, record)
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        with open(path, "a") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
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
        dest = self.path("runs", run_id)
        dest.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            src = self.path(name)
            if src.exists():
                shutil.move(str(src), str(dest / name))
        return dest

    @contextlib.contextmanager
    def lock(self):
        """Exclusive lock for writers. A second writer gets a UsageError at
        once; the kernel releases the lock when its holder dies, so a crashed
        run never leaves a stale lock behind."""
        self.dir.mkdir(exist_ok=True)
        fd = os.open(self.path("lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                raise UsageError(f"another ratchet command is running in this repository (pid {holder}); "
                                 "wait for it to finish") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)
