"""One repository's ratchet run, loaded from `.ratchet/`, with derived views.

`load(cwd)` reads config.json, results.jsonl and current.json, verifying
seals and the log's hash chain: problems found are collected in
`Run.tampered` (they make the iteration an integrity violation), never
raised, except an edited config.json, which no run can go on from.
Everything else on `Run` is derived, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shell import gitops
from core import seals
from shell import fingerprints as integrity
from core import design as interleave
from shell import measure
from core import runstate as state
from core import stats
from core.config import Config
from core.errors import UsageError
from shell.store import Store, TamperedState

LOG_EDITED = "results.jsonl was edited outside ratchet"

@dataclass
class Run:
    root: Path
    store: Store
    meta: dict  # config.json: run_id, config, start_sha, branch, workdir, protected
    config: Config
    history: list
    torn: bool
    current: dict | None
    tampered: list  # integrity problems found while loading

    @property
    def key(self) -> str:
        return self.meta["run_id"]

    @property
    def workdir(self) -> Path:
        return self.root / self.meta.get("workdir", "")

    @property
    def best(self) -> dict | None:
        return state.best_of(self.history)

    @property
    def iteration(self) -> int:
        return state.next_iteration(self.history)

    @property
    def design(self) -> dict | None:
        return state.design_of(self.history)

    @property
    def calibration(self) -> dict | None:
        return self.history[0].get("calibration") if self.design else None

    def resolution(self) -> dict | None:
        """stats.check_resolution of --min-improvement (in metric units,
        against the current best) for a noisy metric; None otherwise."""
        if not self.design or self.design["kind"] == "exact":
            return None
        best = self.best
        return stats.check_resolution(self.config.min_improvement.margin(best["score"]), self.calibration)

    def margin(self) -> float:
        """--min-improvement in metric units against the current best; for a
        noisy metric raised to what the benchmark can resolve."""
        res = self.resolution()
        if res is not None:
            return res["effective_min_effect"]
        best = self.best
        return self.config.min_improvement.margin(best["score"]) if best else 0.0

    def measurement_done(self, cur: dict | None) -> bool:
        trials = (cur or {}).get("trials", [])
        if cur is None or not trials:
            return False
        design = self.design
        if cur["iter"] == 0:
            return interleave.baseline_done(trials, self.config.baseline_trials)
        if design["kind"] == "exact":
            return len(trials) >= design["trials"] or any(t["status"] == "crash" for t in trials)
        return measure.paired_done(self, trials, design, self.margin())

    def trials_needed(self, cur: dict | None) -> int:
        """Trials the iteration needs at most (for status)."""
        if self.iteration == 0 or self.design is None:
            return self.config.baseline_trials
        d = self.design
        return d["trials"] if d["kind"] == "exact" else 2 * d["max_pairs"]

    def trial_timeout(self) -> float | None:
        """--trial-timeout-seconds; unset, 10x the slowest baseline trial (at
        least 60 s) once the baseline exists, so one hanging change cannot
        stall an overnight run. None during the baseline."""
        if self.config.trial_timeout_seconds is not None:
            return self.config.trial_timeout_seconds
        if not self.design:
            return None
        slowest = max(((t.get("duration_s") or 0.0) for t in self.history[0].get("trials", [])), default=0.0)
        return max(60.0, 10.0 * slowest)

    def report_file(self) -> Path | None:
        return self.workdir / self.config.report_source if self.config.report_is_file else None

    def exclude_paths(self) -> list[str]:
        """Paths never snapshotted or cleaned: the report file (unless git
        ignores it already)."""
        rf = self.report_file()
        if rf is None:
            return []
        rel = rf.resolve().relative_to(self.root.resolve()).as_posix()
        return [] if gitops.ignored_among(self.root, [rel]) else [rel]


def load(cwd: Path) -> Run:
    """The run in the repository around `cwd`. UsageError when there is none."""
    root = gitops.repo_root(cwd)
    store = Store(root)
    if not store.exists():
        raise UsageError("no ratchet run in this repository; start one with ratchet.py init ...")
    try:
        meta = store.read_sealed("config.json", None)
    except TamperedState:
        meta = {}
    if not seals.verify_seal(meta, meta.get("run_id", "")):
        raise UsageError(".ratchet/config.json was edited outside ratchet; restore it or start a new run with init")
    tampered = []
    try:
        history, torn = store.read_results()
    except TamperedState as exc:
        raise UsageError(f"{exc}: the log was edited outside ratchet and cannot be read; "
                         "start a new run with init (this one is archived)") from None
    if history and store.verify_results(history, meta["run_id"]):
        tampered.append(LOG_EDITED)
    try:
        current = store.read_sealed("current.json", meta["run_id"])
    except TamperedState as exc:
        current, tampered = None, tampered + [str(exc)]
    return Run(root, store, meta, Config.from_dict(meta["config"]), history, torn, current, tampered)
