"""The shapes of ratchet's state, as stored on disk. Pure (types only).

These are TypedDicts: the JSON files hold exactly these dicts, so typing
them changes nothing on disk. The derived views live with their owners:
`core.design.Design` (is_exact, is_paired, schedule), `core.history.Summary`
(the folded log), `core.runstate.RunState` (where a run stands).
"""

from __future__ import annotations

from typing import TypedDict


class Trial(TypedDict, total=False):
    """One run of the benchmark. `side`: "A" the incumbent, "B" the
    candidate; `status`: ok | crash | needs_score."""

    trial: int
    side: str
    pair: int
    status: str
    score: float | None
    score_source: str | None  # json | jsonl | text | regex | agent
    exit_code: int | None
    timed_out: bool
    duration_s: float
    report: str
    log: str
    problem: str
    report_sha256: str


class Calibration(TypedDict):
    """`stats.calibrate`'s summary of the baseline runs."""

    n: int
    median: float
    mad: float
    robust_sd: float
    sd_method: str
    noise_sd: float
    relative_spread: float | None
    deterministic: bool
    mde: float
    mde_relative: float | None
    max_pairs: int
    max_trials: int
    seconds_full_budget: float | None


class Confirmation(TypedDict, total=False):
    """The baseline-vs-best confirmation run (`stats.confirm` plus where it
    ran), or {"error", "a_sha", "b_sha"} when the benchmark kept crashing."""

    gain: float
    gain_low: float
    gain_high: float
    relative_gain: float | None
    relative_low: float | None
    relative_high: float | None
    best_level: float
    best_low: float
    best_high: float
    n_pairs: int
    a_sha: str
    b_sha: str
    trials: int
    threshold_reached: bool
    error: str


class Current(TypedDict, total=False):
    """current.json: the iteration in progress. `candidate`: the measured
    snapshot (`candidate_tree`: its tree; absent in older files); `home`:
    the tree normally shown; `showing`: set from the first switch to another
    commit's code until the measurement is back home with the index settled
    (a crash left it: `measure.heal` puts home back); `deciding`: a decision
    recorded before acting on it."""

    iter: int
    hypothesis: str
    candidate: str
    candidate_tree: str
    home: str
    base: str
    trials: list[Trial]
    started: str
    showing: str
    integrity_problems: list[str]
    report_stamp: dict | None
    confirm: dict
    deciding: dict


class Record(TypedDict, total=False):
    """One line of results.jsonl: a finalized iteration."""

    iter: int
    hypothesis: str
    description: str
    decision: str
    kept: bool
    reason: str
    trial_scores: list[float | None]
    incumbent_scores: list[float]
    avg: float | None
    delta: float | None
    test: dict | None
    best_before: float | None
    margin: float
    sha: str
    candidate: str
    final_sha: str
    integrity: list[str]
    guard: dict | None
    n_trials: int
    trials: list[Trial]
    started: str | None
    timestamp: str
    calibration: Calibration
    design: dict
    confirmation: Confirmation
    unrecoverable: list[str]
    attempt_ref: str
    patch: str
    critic: dict
    chain: str
