"""The wSTN's width multiplier: one genre network as large as a k-task STN or MTN."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from agf.models.dcnn import DCNN, count_parameters
from agf.models.multitask import MultiTaskDCNN


def setup_parameters(n_outputs: Mapping[str, int], arch: str) -> int:
    """Parameters of the k-task setup ``arch`` ('stn': k separate DCNNs, 'mtn': shared stem)."""
    with torch.device("meta"):
        if arch == "stn":
            return sum(count_parameters(DCNN(n)) for n in n_outputs.values())
        if arch == "mtn":
            return count_parameters(MultiTaskDCNN(n_outputs))
    raise ValueError(f"a wSTN matches an stn or mtn setup, not {arch!r}")


def match_width(target: int, n_outputs: int, *, low: float = 0.05, high: float = 8.0,
                iterations: int = 40) -> tuple[float, int]:
    """The multiplier whose ``DCNN(n_outputs, width=...)`` has the parameter count nearest ``target``.

    The count is a step function of the width (widths are rounded to whole channels) and grows
    with it, so bisection on the exact count brackets the target; of the two bracketing widths
    the closer count wins. Returns ``(width, parameter count)``.
    """
    def count(w: float) -> int:
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            return count_parameters(DCNN(n_outputs, width=w))

    if not count(low) <= target <= count(high):
        raise ValueError(f"no width in [{low}, {high}] gives {target} parameters")
    for _ in range(iterations):
        mid = (low + high) / 2
        if count(mid) < target:
            low = mid
        else:
            high = mid
    best = min((low, high), key=lambda w: (abs(count(w) - target), w))
    return round(best, 6), count(round(best, 6))
