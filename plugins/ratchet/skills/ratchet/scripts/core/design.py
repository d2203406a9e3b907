"""The measurement design of an iteration, and the interleaving order. Pure.

The design is chosen once, from the baseline's calibration runs:

- ``exact``: the metric is deterministic (every calibration run printed the
  same value). One candidate trial (or ``--trials N``) against the stored
  best, compared exactly: nothing statistical costs extra time.
- ``fixed``: noisy metric and ``--trials N`` given: N interleaved pairs, one
  test at the end.
- ``sequential``: noisy metric, no ``--trials``: pairs until the sequential
  test decides, at most ``--max-pairs``.

In the paired designs each trial is a dict with ``side`` ("A" = the
incumbent, i.e. the best commit re-measured now; "B" = the candidate),
``pair`` (index) and ``status``/``score``. Pair k runs in
``stats.pair_order(k)`` order (AB, BA, AB, ...), so slow drift cancels. A
crashed incumbent trial abandons its pair (the machine hiccuped, the change
is not to blame) up to `MAX_A_CRASHES`; a crashed candidate trial ends the
iteration as a crash. Crashed trials never enter the statistics.
"""

from typing import NamedTuple

from core import looks, stats

MAX_A_CRASHES = 2
DETERMINISM_PROBE = 5  # baseline runs that, all equal, end calibration early
EXACT, FIXED, SEQUENTIAL = "exact", "fixed", "sequential"


class Design(NamedTuple):
    """How every iteration after the baseline is measured.

    `trials` is the candidate's trial count (exact design only);
    `min_pairs`/`max_pairs` bound the interleaved pairs (paired designs).
    Stored in the baseline record as `to_dict()`."""

    kind: str
    trials: int | None = None
    min_pairs: int | None = None
    max_pairs: int | None = None

    @property
    def is_exact(self) -> bool:
        return self.kind == EXACT

    @property
    def is_paired(self) -> bool:
        return self.kind != EXACT

    def schedule(self) -> dict:
        """Keyword arguments for stats.sequential_verdict's look schedule."""
        lo, hi = self.min_pairs, self.max_pairs
        every = stats.DEFAULTS["look_every"] if self.kind == SEQUENTIAL else max(hi - lo, 1)
        return {"min_pairs": lo, "max_pairs": hi, "look_every": every}

    def max_trials(self) -> int:
        """Trials an iteration needs at most (both sides)."""
        return self.trials if self.is_exact else 2 * self.max_pairs

    def to_dict(self) -> dict:
        if self.is_exact:
            return {"kind": EXACT, "trials": self.trials}
        return {"kind": self.kind, "min_pairs": self.min_pairs, "max_pairs": self.max_pairs}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Design | None":
        if not d:
            return None
        return cls(d["kind"], d.get("trials"), d.get("min_pairs"), d.get("max_pairs"))


def choose(calibration: dict, trials: int | None, max_pairs: int, noisy_constraint: bool = False) -> Design:
    """The design for every iteration after the baseline. A noisy
    constraint metric needs the incumbent re-measured too, so it makes the
    design paired even when the primary metric is deterministic."""
    if calibration.get("deterministic") and not noisy_constraint:
        return Design(EXACT, trials=trials or 1)
    if trials:
        return Design(FIXED, min_pairs=max(trials, 2), max_pairs=max(trials, 2))
    return Design(SEQUENTIAL, min_pairs=stats.DEFAULTS["min_pairs"], max_pairs=max_pairs)


def baseline_done(trials: list[dict], needed: int) -> bool:
    """Calibration is complete: `needed` runs, a failed run, or the first
    `DETERMINISM_PROBE` runs all identical, constraint metrics included (a
    deterministic metric need not pay for a noise estimate)."""
    if any(t["status"] != "ok" for t in trials) or len(trials) >= needed:
        return True
    head = [(t["score"], tuple(sorted((t.get("metrics") or {}).items()))) for t in trials[:DETERMINISM_PROBE]]
    return len(head) == DETERMINISM_PROBE and len(set(head)) == 1


def complete_pairs(trials: list[dict]) -> list[tuple[float, float]]:
    """(a, b) of every pair whose two trials both succeeded, in order."""
    by_pair: dict[int, dict] = {}
    for t in trials:
        if t["status"] == "ok":
            by_pair.setdefault(t["pair"], {})[t["side"]] = t["score"]
    return [(p["A"], p["B"]) for _, p in sorted(by_pair.items()) if "A" in p and "B" in p]


def a_crashes(trials: list[dict]) -> int:
    return sum(1 for t in trials if t["side"] == "A" and t["status"] != "ok")


def b_failed(trials: list[dict]) -> bool:
    """A candidate trial crashed or is waiting for a score."""
    return any(t["side"] == "B" and t["status"] != "ok" for t in trials)


def next_trial(trials: list[dict]) -> tuple[int, str]:
    """(pair, side) of the trial to run next."""
    if not trials:
        return 0, stats.pair_order(0)[0]
    last = trials[-1]
    k = last["pair"]
    done_sides = {t["side"] for t in trials if t["pair"] == k}
    abandoned = any(t["pair"] == k and t["status"] != "ok" for t in trials)
    if abandoned or len(done_sides) == 2:
        return k + 1, stats.pair_order(k + 1)[0]
    return k, stats.pair_order(k)[1]


def test_of(trials: list[dict], design: Design, direction: str, min_effect: float,
            frozen: bool = False) -> stats.Verdict:
    """The sequential test's verdict for the complete pairs in `trials`.

    `frozen` (a run with constraints, whose measurement may go on after the
    test decided, for a constraint still open): the first verdict other
    than `continue` at a look the pairs have passed, so pairs measured for
    a constraint never change the primary metric's decision (it is the one
    group-sequential test, stopped at its first crossing)."""
    pairs, schedule = complete_pairs(trials), design.schedule()
    if frozen:
        for look in looks.look_schedule(**schedule):
            if look >= len(pairs):
                break
            early = stats.sequential_verdict(pairs[:look], direction, min_effect, **schedule)
            if early.outcome != "continue":
                return early
    return stats.sequential_verdict(pairs, direction, min_effect, **schedule)


def paired_done(trials: list[dict], design: Design, direction: str, min_effect: float) -> bool:
    """A paired measurement is over: a candidate failure, too many incumbent
    crashes, or the test no longer says `continue`."""
    if b_failed(trials) or a_crashes(trials) > MAX_A_CRASHES:
        return True
    return test_of(trials, design, direction, min_effect).outcome != "continue"


def measurement_done(iteration: int, trials: list[dict], design: Design | None, *,
                     baseline_trials: int, direction: str, min_effect: float) -> bool:
    """The iteration's measurement is complete (or cannot go on)."""
    if not trials:
        return False
    if iteration == 0 or design is None:
        return baseline_done(trials, baseline_trials)
    if design.is_exact:
        return len(trials) >= design.trials or any(t["status"] == "crash" for t in trials)
    return paired_done(trials, design, direction, min_effect)


def confirmation(trials: list[dict], pairs: int, direction: str) -> dict | None:
    """The confirmation run's result once `pairs` pairs completed
    (`stats.confirm` plus the trial count), {"error": ...} when the
    benchmark crashed more than `pairs` times first, None while running."""
    done = complete_pairs(trials)
    if len(done) >= pairs:
        result = stats.confirm([a for a, _ in done], [b for _, b in done], direction)
        return {**result, "trials": len(trials)}
    if sum(1 for t in trials if t["status"] != "ok") > pairs:
        return {"error": "the benchmark crashed too often during the confirmation run"}
    return None
