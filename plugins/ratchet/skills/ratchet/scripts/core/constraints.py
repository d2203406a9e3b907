"""Side metrics that must not get worse (`--constraint`): the syntax and the
non-inferiority test. Pure.

Syntax, one constraint per flag (NAME is read from the same report as the
primary metric, with the same extraction rules, `core.extract`):

- ``NAME<=+X`` / ``NAME<=+X%``: NAME (smaller is better) may grow by at most
  X metric units / X percent of its baseline value;
- ``NAME>=-X`` / ``NAME>=-X%``: NAME (larger is better) may drop by at most that;
- ``NAME<=V`` / ``NAME>=V`` (no sign): an absolute bound on the candidate's value.

A relative tolerance applies to each change, against the incumbent it is
measured with (a percent is of the baseline's value, so the unit does not
move): the interleaved pairs make that comparison immune to drift. Kept
changes can add up; to cap the total, add an absolute bound on the same
metric (``peak_mb<=+2%`` and ``peak_mb<=520``), and read the confirmation
run's total change against the baseline (`core.design.confirmation`).

The test (`check`). Values are turned into *gains*, positive = better:
for a relative constraint the per-pair improvement of the candidate over the
incumbent (interleaved pairs, the same ones as the primary metric) plus the
tolerance left; for an absolute one the candidate's distance to the bound.
The constraint holds when the gain is > 0, i.e. H0 "the tolerance is
broken" (mean gain <= 0) is rejected by a one-sided 20%-trimmed-mean t-test
(the primary test's estimator, `robust.trimmed_stats`):

- ``pass`` when the lower confidence bound of the gain is > 0;
- ``fail`` when the upper bound is < 0 (clearly past the limit);
- ``open`` otherwise. A constraint still open at the cap of pairs counts as
  failed: it was not shown to hold.

Error control. With K constraints each is tested at alpha/K (Bonferroni),
so the probability that a kept change breaks any tolerance is at most alpha
(5%, one-sided). While the primary test says keep and a constraint is open
the measurement goes on to the next look (the primary's decision stays the
one taken at its first crossing: `core.design.test_of(frozen=True)`); the
check at look k uses the
alpha-spending nominal level of that look (`looks.nominal_levels` for
alpha/K, the primary test's schedule), so looking again does not inflate
the error. A change exactly at its limit is indistinguishable from one just
past it: it passes at most alpha/K of the time. Deterministic values (all
gains equal) are compared exactly, and there the limit itself is allowed.
"""

import math
import re
from typing import NamedTuple

from core import looks, robust, stats, tdist
from core.direction import gain
from core.errors import UsageError

OPS = ("<=", ">=")
_FORM = re.compile(r"^\s*(?P<name>.*?)\s*(?P<op><=|>=)\s*(?P<num>.*?)\s*$")
EXAMPLES = "e.g. peak_mb<=+2%, accuracy>=-0.001 or errors<=0"


class Constraint(NamedTuple):
    """One parsed `--constraint`. `value`: the tolerance (>= 0) of a
    relative constraint, in metric units or percent; the bound of an
    absolute one."""

    name: str
    op: str
    value: float
    relative: bool
    percent: bool = False

    @property
    def direction(self) -> str:
        """Which way is better for this metric: '<=' bounds it from above."""
        return "min" if self.op == "<=" else "max"

    @property
    def text(self) -> str:
        if not self.relative:
            return f"{self.name}{self.op}{self.value:g}"
        sign = "+" if self.op == "<=" else "-"
        return f"{self.name}{self.op}{sign}{self.value:g}{'%' if self.percent else ''}"

    def tolerance(self, level: float | None) -> float:
        """The relative tolerance in metric units, against the baseline's `level`."""
        if self.percent:
            return abs(level or 0.0) * self.value / 100.0
        return self.value


def parse(text: str) -> Constraint:
    """One `--constraint` value; UsageError (one line) when malformed."""
    flag = f"--constraint {text!r}"
    m = _FORM.match(text)
    if not m or any(op in m["num"] for op in ("<", ">", "=")) or any(c in m["name"] for c in "<>=!"):
        raise UsageError(f"{flag} needs <= or >= between a metric name and its limit ({EXAMPLES})")
    name, op, num = m["name"], m["op"], m["num"]
    if not name:
        raise UsageError(f"{flag} needs a metric name before {op} ({EXAMPLES})")
    if not num:
        raise UsageError(f"{flag} needs a limit after {op} ({EXAMPLES})")
    percent = num.endswith("%")
    digits = num[:-1].strip() if percent else num
    try:
        value = float(digits)
    except ValueError:
        raise UsageError(f"{flag}: {digits!r} is not a number ({EXAMPLES})") from None
    if not math.isfinite(value):
        raise UsageError(f"{flag}: the limit must be a finite number ({EXAMPLES})")
    signed = digits[:1] in ("+", "-")
    if percent and not signed:
        sign = "+" if op == "<=" else "-"
        raise UsageError(f"{flag}: a percent is a tolerance; write {name}{op}{sign}{digits}% "
                         f"(at most {digits}% {'more' if op == '<=' else 'less'} than the baseline)")
    if signed:
        worse = "+" if op == "<=" else "-"
        if digits[0] != worse and value != 0:
            raise UsageError(f"{flag} asks {name} to get better; a constraint says how much worse it may get: "
                             f"{name}{op}{worse}{abs(value):g}{'%' if percent else ''}")
        return Constraint(name, op, abs(value), True, percent)
    return Constraint(name, op, value, False)


def parse_all(texts, primary: str) -> tuple[Constraint, ...]:
    """Every `--constraint`; UsageError on a malformed one, the primary
    metric itself, or a metric given two tolerances or two bounds (one of
    each is how to cap the total as well as each change)."""
    out = tuple(parse(t) for t in texts)
    kinds = [(c.name, c.relative) for c in out]
    for c in out:
        if c.name == primary:
            raise UsageError(f"--constraint names the primary metric {c.name!r}; a constraint is another "
                             "metric read from the same report")
        if kinds.count((c.name, c.relative)) > 1:
            kind = "tolerance (+X or +X%)" if c.relative else "bound"
            raise UsageError(f"--constraint gives {c.name!r} two of a kind; give at most one {kind} per metric")
    return out


# -- the test ---------------------------------------------------------------------

class Check(NamedTuple):
    """The verdict on one constraint for one candidate.

    `effect`: for a relative constraint the estimated change of the
    candidate against the incumbent, positive = better; for an absolute one
    the candidate's estimated value. `low`/`high`: the one-sided bounds at
    `level` (together a two-sided 1 - 2 level interval); equal to `effect`
    when compared exactly (`exact`, `level` None). `limit`: the worst
    `effect` allowed (minus the tolerance left, or the bound)."""

    constraint: str
    name: str
    status: str  # pass | fail | open
    effect: float | None
    low: float | None
    high: float | None
    limit: float
    n: int
    exact: bool
    level: float | None
    relative: bool = True

    def to_dict(self) -> dict:
        return self._asdict()

    def line(self) -> str:
        """One line for a reason or a table, in the metric's own terms: the
        change of its value (relative) or the value itself (absolute)."""
        if self.effect is None:
            return f"{self.constraint}: not measured"
        if not self.relative:
            rng = "" if self.exact or self.low is None else f" [{self.low:.4g}, {self.high:.4g}]"
            shown, limit = f"value {self.effect:.4g}{rng}", f"{self.limit:.4g}"
        else:
            sign = -1.0 if "<=" in self.constraint else 1.0  # gain -> change of the value
            lo, hi = sorted((sign * self.low, sign * self.high)) if self.low is not None else (None, None)
            rng = "" if self.exact or lo is None else f" [{lo:+.4g}, {hi:+.4g}]"
            shown, limit = f"change {sign * self.effect:+.4g}{rng}", f"{sign * self.limit:+.4g}"
        verdict = {"pass": "within", "fail": "past", "open": "not shown within"}[self.status]
        return f"{self.constraint}: {shown}, {verdict} the limit {limit}"


def check(c: Constraint, gains: list[float], shift: float, level: float) -> Check:
    """Judge `c` on `gains` (positive = better, see the module docstring);
    `shift` (>= 0) moves the limit to 0: the tolerance left of a relative
    constraint, 0 for an absolute one. `level`: the one-sided error rate of
    this look."""
    n = len(gains)
    limit = -shift
    if n == 0:
        return Check(c.text, c.name, "open", None, None, None, limit, 0, False, level, c.relative)
    if all(g == gains[0] for g in gains):
        g = gains[0]
        return Check(c.text, c.name, "pass" if g + shift >= 0 else "fail", g, g, g, limit, n, True, None, c.relative)
    if n < 2:
        return Check(c.text, c.name, "open", gains[0], None, None, limit, n, False, level, c.relative)
    s = robust.trimmed_stats(gains, stats.DEFAULTS["trim"])
    q = tdist.t_ppf(1 - level, s.df) * s.se
    lo, hi = s.est - q, s.est + q
    status = "pass" if lo + shift > 0 else "fail" if hi + shift < 0 else "open"
    return Check(c.text, c.name, status, s.est, lo, hi, limit, n, False, level, c.relative)


def look_level(n_constraints: int, schedule: dict | None, n_pairs: int) -> float:
    """The one-sided level of each constraint's check at `n_pairs` pairs:
    alpha / K, spent over the primary test's looks (`schedule`; None: one
    look)."""
    alpha = stats.DEFAULTS["alpha"] / max(n_constraints, 1)
    if not schedule:
        return alpha
    planned = looks.look_schedule(**schedule)
    levels = looks.nominal_levels(planned, alpha, stats.DEFAULTS["spending"])
    k = max([i for i, p in enumerate(planned) if p <= n_pairs], default=0)
    return levels[k]


def _sides(trials: list[dict], name: str) -> list[dict[str, float]]:
    """{side: value of metric `name`} of each pair with a successful trial, in pair order."""
    by_pair: dict[int, dict[str, float]] = {}
    for t in trials:
        if t.get("status") == "ok" and name in (t.get("metrics") or {}):
            by_pair.setdefault(t["pair"], {})[t["side"]] = t["metrics"][name]
    return [p for _, p in sorted(by_pair.items())]


def gains_of(c: Constraint, trials: list[dict], incumbent: float | None) -> list[float]:
    """Per-measurement gains of `c` (positive = better), unshifted: for an
    absolute constraint each candidate value's distance to the bound; for a
    relative one each pair's improvement of B over A when the trials are
    paired (`incumbent` None), else each candidate value against the
    stored `incumbent` value."""
    sides = _sides(trials, c.name)
    if not c.relative:
        return [gain(c.direction, c.value, p["B"]) for p in sides if "B" in p]
    if incumbent is None:
        return [gain(c.direction, p["A"], p["B"]) for p in sides if "A" in p and "B" in p]
    return [gain(c.direction, incumbent, p["B"]) for p in sides if "B" in p]


def checks(constraints: tuple[Constraint, ...], trials: list[dict], *, levels: dict,
           incumbent: dict | None, schedule: dict | None, n_pairs: int) -> list[Check]:
    """Every constraint judged on an iteration's trials. `levels`: each
    metric's baseline value (for percent tolerances); `incumbent`: the
    best's stored values when the trials are not paired (a deterministic
    design), else None; `schedule`: the paired design's look schedule and
    `n_pairs` its complete pairs (which look this is)."""
    level = look_level(len(constraints), schedule, n_pairs)
    out = []
    for c in constraints:
        g = gains_of(c, trials, None if incumbent is None else incumbent.get(c.name))
        if c.relative:
            out.append(check(c, g, c.tolerance(levels.get(c.name)), level))
        else:
            out.append(_in_units(check(c, g, 0.0, level), c))
    return out


def _in_units(res: Check, c: Constraint) -> Check:
    """An absolute constraint's check in the metric's own units (the
    candidate's value against the bound) instead of its distance to it."""
    def back(g: float | None) -> float | None:
        return None if g is None else (c.value - g if c.direction == "min" else c.value + g)
    low, high = back(res.low), back(res.high)
    if c.direction == "min":
        low, high = high, low
    return Check(res.constraint, res.name, res.status, back(res.effect), low, high, c.value, res.n, res.exact,
                 res.level, False)


def settled(primary_outcome: str, results: list[Check], at_cap: bool) -> bool:
    """A paired measurement may stop: the primary test has decided and,
    when it says keep, no constraint is still open (or the cap is reached,
    or one has failed already)."""
    if primary_outcome == "continue":
        return False
    if primary_outcome != "keep" or at_cap:
        return True
    return any(r.status == "fail" for r in results) or all(r.status == "pass" for r in results)


def failed(results: list[Check]) -> list[Check]:
    """The checks that keep a change from being kept (failed or never shown to hold)."""
    return [r for r in results if r.status != "pass"]


def baseline_calibration(specs: tuple[Constraint, ...], trials: list[dict]) -> dict:
    """{name: {"level", "deterministic"}} of the baseline runs: the level
    percent tolerances are taken of, and whether the metric varied."""
    out = {}
    for c in specs:
        values = [t["metrics"][c.name] for t in trials if t.get("status") == "ok" and c.name in (t.get("metrics") or {})]
        if values:
            out[c.name] = {"level": math.fsum(values) / len(values), "deterministic": len(set(values)) == 1}
    return out


def means(specs: tuple[Constraint, ...], trials: list[dict]) -> dict:
    """{name: mean} of the candidate's (side B) values: a record's `metrics`."""
    out = {}
    for c in specs:
        values = [t["metrics"][c.name] for t in trials
                  if t.get("side", "B") == "B" and t.get("status") == "ok" and c.name in (t.get("metrics") or {})]
        if values:
            out[c.name] = math.fsum(values) / len(values)
    return out


def for_iteration(specs: tuple[Constraint, ...], summary, design, trials: list[dict]) -> list[Check]:
    """`checks` for an iteration after the baseline: the levels from the
    baseline record, the incumbent from the stored best (deterministic
    design) or the pairs (paired designs)."""
    from core.design import complete_pairs
    cal = (summary.first or {}).get("constraint_calibration") or {}
    paired = design.is_paired
    return checks(specs, trials, levels={n: v["level"] for n, v in cal.items()},
                  incumbent=None if paired else ((summary.best or {}).get("metrics") or {}),
                  schedule=design.schedule() if paired else None,
                  n_pairs=len(complete_pairs(trials)) if paired else 0)


def confirmation_totals(specs: tuple[Constraint, ...], trials: list[dict]) -> list[dict]:
    """The whole run's change of each constraint metric (once per metric),
    baseline (side A) against the best (side B) in the confirmation run's
    pairs: the value's change (positive = it grew) with its 95% interval
    (`stats.confirm`)."""
    out = []
    for name in dict.fromkeys(c.name for c in specs):
        pairs = [(p["A"], p["B"]) for p in _sides(trials, name) if "A" in p and "B" in p]
        if len(pairs) < 2:
            continue
        res = stats.confirm([a for a, _ in pairs], [b for _, b in pairs], "max")  # the gain of "max" is the growth
        out.append({"metric": name, "change": res["gain"], "low": res["gain_low"], "high": res["gain_high"],
                    "baseline": res["baseline_level"], "best": res["best_level"], "n_pairs": len(pairs)})
    return out
