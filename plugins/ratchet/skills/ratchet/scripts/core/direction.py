"""Which way is better: the one place that knows what `min` and `max` mean. Pure."""

from __future__ import annotations

DIRECTIONS = ("min", "max")


def check(direction: str) -> None:
    """ValueError unless `direction` is 'min' or 'max'."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'min' or 'max', got {direction!r}")


def gain(direction: str, before: float, after: float) -> float:
    """How much better `after` is than `before` (positive = better)."""
    return before - after if direction == "min" else after - before


def crossed(direction: str, score: float, threshold: float) -> bool:
    """True when `score` is at or beyond `threshold` in the good direction."""
    return score <= threshold if direction == "min" else score >= threshold
