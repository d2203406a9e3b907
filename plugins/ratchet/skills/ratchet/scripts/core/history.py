"""What the results log says, folded into a summary of bounded size. Pure.

Every command needs a few facts from the history (the baseline, the best,
the latest confirmation, how many iterations ran, the trailing runs of
crashes and of iterations without a keep, the last few records), never the
whole log. `fold(summary, record)` adds one record; `Summary.of(records)`
folds a whole list. The store keeps the summary of the verified log in a
sealed file, so a command reads O(1) records, not the whole history.

Records are results.jsonl dicts (`iter`, `decision`, `kept`, `avg`, `sha`,
...; the baseline also holds `calibration` and `design`, a record may hold a
`confirmation`).
"""

from typing import NamedTuple

from core import telemetry

LOG_EDITED = "results.jsonl was edited outside ratchet"
CONFIG_EDITED = "config.json was edited outside ratchet (the run goes on from its sealed copy, config.bak.json)"
STATE_EDITS = (LOG_EDITED, CONFIG_EDITED)  # found while loading; a run cannot be trusted to go on after them
STAMP = "%Y-%m-%dT%H:%M:%SZ"  # the records' `started` and `timestamp`
TAIL = 8  # last records kept (light) in the summary: `recent`, critic context, runner-up
HEAVY = ("trials", "trial_scores", "incumbent_scores")


def light(rec: dict) -> dict:
    """`rec` without its per-trial lists (they dominate a record's size)."""
    return {k: v for k, v in rec.items() if k not in HEAVY}


def _baseline_view(rec: dict) -> dict:
    out = light(rec)
    out["slowest_trial_s"] = max(((t.get("duration_s") or 0.0) for t in rec.get("trials", [])), default=0.0)
    return out


class Summary(NamedTuple):
    """The folded log. `first` is record 0 (light, plus `slowest_trial_s`);
    `best` is {score, sha, iter} of the last kept record; `confirmation` the
    latest record's confirmation run; `tail` the last `TAIL` light records."""

    count: int = 0
    first: dict | None = None
    best: dict | None = None
    confirmation: dict | None = None
    iterations_done: int = 0      # records after the baseline
    trailing_crashes: int = 0     # crashes in a row at the end (baseline excluded)
    trailing_not_kept: int = 0    # iterations in a row without a keep (baseline excluded)
    tail: tuple = ()
    iter_seconds: float = 0.0     # wall time of the iterations after the baseline (decide to decide: model time included)
    iters_timed: int = 0
    trial_seconds: float = 0.0    # run time of every trial logged
    trials_timed: int = 0
    agent: dict = {}  # telemetry totals of the agent runs (core.telemetry.add makes a new dict: never changed)
    trailing_agent_failures: int = 0           # `agent_failed` records in a row at the end

    @classmethod
    def of(cls, records: list[dict]) -> "Summary":
        s = cls()
        for rec in records:
            s = fold(s, rec)
        return s

    @property
    def last(self) -> dict | None:
        return self.tail[-1] if self.tail else None

    @property
    def next_iteration(self) -> int:
        return self.last["iter"] + 1 if self.last else 0

    @property
    def baseline(self) -> dict | None:
        """Record 0 when it is a measured baseline."""
        return self.first if self.first and self.first.get("decision") == "baseline" else None

    @property
    def current_confirmation(self) -> dict | None:
        """The latest confirmation run, if it measured the current best."""
        conf = self.confirmation
        return conf if conf and self.best and conf.get("b_sha") == self.best["sha"] else None

    def to_dict(self) -> dict:
        return {**self._asdict(), "tail": list(self.tail)}

    @classmethod
    def from_dict(cls, d: dict) -> "Summary":
        return cls(**{**{k: v for k, v in d.items() if k in cls._fields}, "tail": tuple(d.get("tail", ()))})


_CUMULATIVE_DAYS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def stamp_seconds(stamp: str) -> float:
    """Seconds since the epoch of a record timestamp (STAMP, UTC).
    ValueError when `stamp` is not one, TypeError when not a string.
    (Parsed by hand: `datetime.strptime` costs milliseconds of imports on
    every call of every command.)"""
    if not isinstance(stamp, str):
        raise TypeError(f"a timestamp must be a string, not {type(stamp).__name__}")
    digits = stamp[0:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16] + stamp[17:19]
    if (len(stamp) != 20 or stamp[4] + stamp[7] + stamp[10] + stamp[13] + stamp[16] + stamp[19] != "--T::Z"
            or not (digits.isascii() and digits.isdigit())):
        raise ValueError(f"{stamp!r} is not a {STAMP} timestamp")
    y, mo, d, h, mi, sec = (int(stamp[i:i + n]) for i, n in ((0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2)))
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    month_days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (y >= 1 and 1 <= mo <= 12 and 1 <= d <= month_days[mo - 1] and h < 24 and mi < 60 and sec < 60):
        raise ValueError(f"{stamp!r} is not a valid date and time")
    p = y - 1
    days = p * 365 + p // 4 - p // 100 + p // 400 + _CUMULATIVE_DAYS[mo - 1] + (mo > 2 and leap) + d - 1
    return float((days - 719162) * 86400 + h * 3600 + mi * 60 + sec)  # 719162: days from 0001-01-01 to 1970-01-01


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from one record timestamp ('%Y-%m-%dT%H:%M:%SZ') to another."""
    try:
        return stamp_seconds(end) - stamp_seconds(start)
    except (TypeError, ValueError):
        return None


def fold(s: Summary, rec: dict) -> Summary:
    """`s` with `rec` appended."""
    after_baseline = rec.get("iter", 0) != 0
    kept = bool(rec.get("kept"))
    prev = s.tail[-1].get("timestamp") if s.tail else None
    took = seconds_between(prev, rec.get("timestamp")) if after_baseline else None
    durations = [t["duration_s"] for t in rec.get("trials") or [] if isinstance(t.get("duration_s"), (int, float))]
    return s._replace(
        count=s.count + 1,
        first=s.first if s.count else _baseline_view(rec),
        best=_best_of(rec) if kept else s.best,
        confirmation=rec.get("confirmation") or s.confirmation,
        iterations_done=s.iterations_done + after_baseline,
        trailing_crashes=s.trailing_crashes + 1 if after_baseline and rec.get("decision") == "crash" else 0,
        trailing_not_kept=s.trailing_not_kept + 1 if after_baseline and not kept else 0,
        tail=(s.tail + (light(rec),))[-TAIL:],
        iter_seconds=s.iter_seconds + (took or 0.0),
        iters_timed=s.iters_timed + (took is not None),
        trial_seconds=s.trial_seconds + sum(durations),
        trials_timed=s.trials_timed + len(durations),
        agent=telemetry.add(s.agent, rec.get("agent")) if rec.get("agent") else s.agent,
        trailing_agent_failures=s.trailing_agent_failures + 1 if rec.get("decision") == "agent_failed" else 0,
    )


def _best_of(rec: dict) -> dict:
    best = {"score": rec.get("avg"), "sha": rec.get("sha"), "iter": rec.get("iter")}
    if rec.get("metrics"):
        best["metrics"] = rec["metrics"]
    return best
