"""What goes on the report's two charts, as geometry. Pure.

- `progress(report)`: the running best over iterations (a step line) and
  every candidate's measured mean as a point coloured by decision. An
  iteration without a mean (a crash, an integrity violation) still gets its
  point, on a "no score" strip below the plot, so the chart has exactly one
  point per iteration.
- `effects(report)`: each iteration's paired effect with its 95% interval,
  against the margin that counted and zero (noisy designs; None otherwise).

Both return plain NamedTuples in SVG user units (`views.html` draws them).
Scales are linear with "nice" ticks; colours come from `PALETTE`, one per
decision, chosen from the Okabe-Ito set (distinguishable with the common
colour-vision deficiencies) in a light and a dark variant.
"""

import math
from typing import NamedTuple

from views.report import Iteration, Report, effect_text, num, pct, signed

# decision -> (light scheme, dark scheme). Kept decisions share one colour.
PALETTE = {
    "baseline": ("#007a5a", "#2ec4a0"),
    "improve": ("#007a5a", "#2ec4a0"),
    "regress": ("#c2410c", "#ff8a4c"),
    "no_change": ("#6b7280", "#a3a9b4"),
    "inconclusive": ("#b7791f", "#f2c14e"),
    "crash": ("#111827", "#f3f4f6"),
    "guard_failed": ("#0b63a8", "#62b5f0"),
    "integrity_violation": ("#b5176f", "#f07cc0"),
    "constraint_failed": ("#0e7490", "#67e8f9"),
    "agent_no_edit": ("#4b5563", "#cbd5e1"),
    "agent_failed": ("#7c2d12", "#fdba74"),
    "agent_used_git": ("#6d28d9", "#c4b5fd"),
}
UNKNOWN = ("#6b7280", "#a3a9b4")

WIDTH, HEIGHT = 800, 340
NARROW = 420  # the width of the charts drawn for a phone (same height)
PAD = {"left": 84, "right": 18, "top": 18, "bottom": 58}
STRIP = 26  # height of the "no score" strip under the progress plot


def colour(decision: str, dark: bool = False) -> str:
    return PALETTE.get(decision, UNKNOWN)[1 if dark else 0]


def css_class(decision: str) -> str:
    """The CSS class of a decision's marks: d-improve, d-no_change, ..."""
    return "d-" + "".join(c if c.isalnum() or c == "_" else "_" for c in decision)


# -- scales ----------------------------------------------------------------------

class Scale(NamedTuple):
    """Linear map from the domain [d0, d1] to the range [r0, r1]."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def nice_step(span: float, target: int = 5) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about `target` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag * 1.000001:
            return m * mag
    return 10 * mag


def extent(values, pad: float = 0.06) -> tuple[float, float]:
    """(lo, hi) covering `values` with `pad` of the span on each side; a
    single value (or all equal) gets a span of 10% of its size (1 at 0)."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    if hi == lo:
        half = abs(lo) * 0.05 or 0.5
        return lo - half, hi + half
    span = hi - lo
    return lo - pad * span, hi + pad * span


def ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Nice tick values inside [lo, hi] (rounded so 0.1 + 0.2 prints as 0.3)."""
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9) * step
    digits = max(0, -math.floor(math.log10(step)) + 1)
    out, k = [], 0
    while first + k * step <= hi + step * 1e-9 and k < 100:
        out.append(round(first + k * step, digits))
        k += 1
    return [0.0 if t == 0 else t for t in out]


def iteration_ticks(n: int, target: int = 10) -> list[int]:
    """Integer ticks for iterations 0..n."""
    step = max(1, int(nice_step(max(n, 1), target)))
    return list(range(0, n + 1, step))


def tick_label(v: float, step: float) -> str:
    """A tick's text with the digits its step needs."""
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-4:
        return f"{v:.3g}"
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{v:.{decimals}f}"


# -- the charts ------------------------------------------------------------------

class Tick(NamedTuple):
    pos: float  # x for the x axis, y for the y axis
    label: str


class Point(NamedTuple):
    """One iteration's mark. `y` is on the strip when `missing`."""

    iter: int
    x: float
    y: float
    decision: str
    kept: bool
    missing: bool
    title: str

    @property
    def cls(self) -> str:
        return css_class(self.decision)


class Frame(NamedTuple):
    """The plot area and its axes."""

    left: float
    top: float
    right: float
    bottom: float
    x_ticks: tuple
    y_ticks: tuple
    x_label: str
    y_label: str
    width: int = WIDTH
    height: int = HEIGHT


class Progress(NamedTuple):
    frame: Frame
    points: tuple
    best_path: tuple  # ((x, y), ...): the running best as a step line
    strip_y: float | None  # the "no score" strip's centre, when some point is on it


class EffectMark(NamedTuple):
    iter: int
    x: float
    y: float
    y_low: float | None
    y_high: float | None
    decision: str
    title: str

    @property
    def cls(self) -> str:
        return css_class(self.decision)


class Effects(NamedTuple):
    frame: Frame
    marks: tuple
    zero_y: float
    margins: tuple = ()  # ((x0, x1, y), ...): the margin that counted, per iteration
    half_slot: float = 0.0


def point_title(it: Iteration, report: Report) -> str:
    """The hover text of an iteration's point."""
    lines = [f"iteration {it.iter}: {it.label}" + (" (kept)" if it.kept and it.iter > 0 else "")]
    if it.description:
        lines.append(it.description)
    if it.mean is not None:
        lines.append(f"mean {report.metric} {num(it.mean, 6)}")
    if it.effect is not None:
        rel = pct(it.relative_effect)
        lines.append(f"effect {effect_text(it)}" + (f" ({rel})" if rel else ""))
    if it.mean is None and it.reason:
        lines.append(it.reason)
    return "\n".join(lines)


def _x_scale(n_last: int, frame_left: float, frame_right: float) -> Scale:
    return Scale(-0.5, max(n_last, 0) + 0.5, frame_left, frame_right)


def _y_ticks(scale: Scale, lo: float, hi: float) -> tuple:
    values = ticks(lo, hi)
    step = values[1] - values[0] if len(values) > 1 else nice_step(hi - lo)
    return tuple(Tick(scale(v), tick_label(v, step)) for v in values)


def progress(report: Report, width: int = WIDTH, height: int = HEIGHT) -> Progress:
    """The running best and every candidate's mean."""
    its = report.iterations
    last = its[-1].iter if its else 0
    missing_any = any(it.mean is None for it in its)
    left, right, top = PAD["left"], width - PAD["right"], PAD["top"]
    bottom = height - PAD["bottom"] - (STRIP if missing_any else 0)
    lo, hi = extent([it.mean for it in its] + [it.best for it in its])
    x = _x_scale(last, left, right)
    y = Scale(lo, hi, bottom, top)
    strip_y = bottom + STRIP / 2 + 4 if missing_any else None
    points = tuple(Point(it.iter, x(it.iter), y(it.mean) if it.mean is not None else strip_y, it.decision,
                         it.kept, it.mean is None, point_title(it, report)) for it in its)
    path, prev = [], None
    for it in its:
        if it.best is None:
            continue
        if prev is not None and prev != it.best:
            path.append((x(it.iter), y(prev)))
        path.append((x(it.iter), y(it.best)))
        prev = it.best
    frame = Frame(left, top, right, bottom,
                  tuple(Tick(x(i), str(i)) for i in iteration_ticks(last, max(3, width // 80))), _y_ticks(y, lo, hi),
                  "iteration", f"{report.metric} ({'lower' if report.direction == 'min' else 'higher'} is better)",
                  width, height)
    return Progress(frame, points, tuple(path), strip_y)


def effect_title(it: Iteration, report: Report) -> str:
    lines = [f"iteration {it.iter}: {it.label}"]
    if it.description:
        lines.append(it.description)
    lines.append(f"effect {effect_text(it)} (95%)" if it.has_interval else f"effect {signed(it.effect)}")
    if it.margin is not None:
        lines.append(f"margin {num(it.margin)}")
    if it.pairs:
        lines.append(f"{it.pairs} pairs")
    return "\n".join(lines)


def effects(report: Report, width: int = WIDTH, height: int = HEIGHT) -> Effects | None:
    """Each measured iteration's effect with its 95% interval, the margin
    and zero. None unless the design is paired and some iteration has an
    interval (a deterministic metric's effects are exact: see the table)."""
    if not report.paired:
        return None
    measured = [it for it in report.iterations if it.iter > 0 and it.effect is not None]
    if not any(it.has_interval for it in measured):
        return None
    last = report.iterations[-1].iter
    left, right, top, bottom = PAD["left"], width - PAD["right"], PAD["top"], height - PAD["bottom"]
    values = [0.0] + [v for it in measured for v in (it.effect, it.low, it.high, it.margin)]
    values += [it.margin for it in report.iterations if it.iter > 0]
    lo, hi = extent(values)
    x = _x_scale(last, left, right)
    y = Scale(lo, hi, bottom, top)
    marks = tuple(EffectMark(it.iter, x(it.iter), y(it.effect), y(it.low) if it.has_interval else None,
                             y(it.high) if it.has_interval else None, it.decision, effect_title(it, report))
                  for it in measured)
    half = 0.42 * (x(1) - x(0))
    margins = tuple((x(it.iter) - half, x(it.iter) + half, y(it.margin))
                    for it in report.iterations if it.iter > 0 and it.margin is not None)
    frame = Frame(left, top, right, bottom,
                  tuple(Tick(x(i), str(i)) for i in iteration_ticks(last, max(3, width // 80))), _y_ticks(y, lo, hi),
                  "iteration", f"effect on {report.metric} (positive = better)", width, height)
    return Effects(frame, marks, y(0.0), margins, half)
