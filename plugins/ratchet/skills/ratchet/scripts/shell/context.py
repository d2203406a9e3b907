"""One repository's ratchet run, loaded from `.ratchet/`.

`load(cwd)` reads config.json, the log's verified summary (`Store.load_log`)
and current.json, verifying seals: problems found are collected in
`Run.tampered` (they make the iteration an integrity violation), never
raised, except an edited config.json, which no run can go on from. The
derived views (best, design, margin, phase) are `core.runstate.RunState`'s;
this adds where the run lives (root, store, workdir, report file) and the
whole history for the few views that show every iteration.
"""

from __future__ import annotations

import time
from functools import cached_property
from pathlib import Path

from core import seals
from core.config import Config
from core.errors import UsageError
from core.history import CONFIG_EDITED, LOG_EDITED
from core.runstate import RunState
from shell import gitops
from shell.store import CONFIG_COPY, STOP_REQUEST, Store, TamperedState

__all__ = ["LOG_EDITED", "Run", "load"]


class Run(RunState):
    """`watch`: the `runner.Watchdog` of the measurement worker running this
    run's trials; `lock_fd`: the writers' lock, while this process holds it."""

    FIELDS = RunState.FIELDS + ("root", "store", "watch", "lock_fd")

    def __init__(self, *args, root: Path | None = None, store: Store | None = None, watch: object = None,
                 lock_fd: int | None = None, **kw):
        super().__init__(*args, **kw)
        self.root, self.store, self.watch, self.lock_fd = root, store, watch, lock_fd

    @property
    def workdir(self) -> Path:
        return self.root / self.meta.get("workdir", "")

    @cached_property
    def history(self) -> list[dict]:
        """Every record of the log (reads the whole file: for views that
        show every iteration, not for the per-iteration path)."""
        return self.store.read_results()[0]

    def report_file(self) -> Path | None:
        return self.workdir / self.config.report_source if self.config.report_is_file else None

    @cached_property
    def excluded(self) -> tuple[str, ...]:
        """Paths never snapshotted or cleaned: the report file (unless git
        ignores it already)."""
        rf = self.report_file()
        if rf is None:
            return ()
        rel = rf.resolve().relative_to(self.root.resolve()).as_posix()
        return () if gitops.ignored_among(self.root, [rel]) else (rel,)


def _meta(store: Store, name: str = "config.json") -> dict | None:
    """A sealed config file's content, None when absent or not verifying."""
    try:
        meta = store.read_sealed(name, None)
    except TamperedState:
        return None
    return meta if meta and seals.verify_seal(meta, str(meta.get("run_id", ""))) else None


def load(cwd: Path) -> Run:
    """The run in the repository around `cwd`. UsageError when there is none."""
    root = gitops.repo_root(cwd)
    store = Store(root)
    if not store.exists():
        raise UsageError("no ratchet run in this repository; start one with ratchet.py init ...")
    meta, tampered = _meta(store), []
    if meta is None:
        meta, tampered = _meta(store, CONFIG_COPY), [CONFIG_EDITED]
    if meta is None:
        raise UsageError(".ratchet/config.json was edited outside ratchet; restore it or start a new run with init")
    key = meta["run_id"]
    try:
        log = store.load_log(key)
    except TamperedState as exc:
        raise UsageError(f"{exc}: the log was edited outside ratchet and cannot be read; "
                         "start a new run with init (this one is archived)") from None
    tampered += [LOG_EDITED] if log.edited else []
    try:
        current = store.read_sealed("current.json", key)
    except TamperedState as exc:
        current, tampered = None, tampered + [str(exc)]
    try:
        user_stop = store.read_sealed(STOP_REQUEST, key)
    except TamperedState as exc:
        user_stop, tampered = {"reason": "user_stopped"}, tampered + [str(exc)]
    return Run(meta=meta, config=Config.from_dict(meta["config"]), summary=log.summary, torn=log.torn,
               current=current, tampered=tampered, clock=time.time(), user_stop=user_stop, root=root, store=store)
