"""Argument checks shared by the statistics modules (`tdist`, `robust`,
`looks`, `stats`).

Pure, standard library only.  Each check returns the argument as a float
and raises `ValueError` with a one-line message naming the argument.
"""

from __future__ import annotations

import math

__all__ = ["finite_floats", "probability"]


def finite_floats(data, what: str = "data") -> list[float]:
    """``data`` as a list of floats; ValueError if any is NaN or infinite."""
    out = []
    for x in data:
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"{what} must be finite numbers, got {x!r}")
        out.append(x)
    return out


def probability(p: float, name: str, upper: float = 1.0) -> float:
    """``p`` as a float strictly between 0 and ``upper``; ValueError otherwise."""
    p = float(p)
    if not 0.0 < p < upper:
        raise ValueError(f"{name} must be in (0, {upper:g}), got {p!r}")
    return p
