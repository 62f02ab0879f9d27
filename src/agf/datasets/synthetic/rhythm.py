"""The 16-step grid that drum, bass and chord patterns are written on (see :class:`Style`): the
hits of a pattern, their velocities, and swing."""

from __future__ import annotations

import numpy as np

__all__ = ["VELOCITY", "hits", "swing"]

#: Linear gain of each pattern symbol; symbols not listed (bass notes) take the part's default.
VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.4, "O": 0.8, "r": 0.6}


def hits(pattern: str) -> list[tuple[int, str]]:
    """The (step, symbol) of every sounding step of a one-bar pattern."""
    return [(i, c) for i, c in enumerate(pattern[:16]) if c != "."]


def swing(pos: np.ndarray | float, amount: float, unit: int) -> np.ndarray:
    """Map grid positions (in 16th notes) to swung positions: the off-beat of each pair of
    ``unit``-long notes is delayed by ``amount/3`` of a pair (1 = triplet feel)."""
    pos = np.asarray(pos, dtype=np.float64)
    period = 2.0 * unit
    base = np.floor(pos / period) * period
    p = pos - base
    mid = unit * (1.0 + amount / 3.0)
    mapped = np.where(p < unit, p * mid / unit, mid + (p - unit) * (period - mid) / unit)
    return base + mapped
