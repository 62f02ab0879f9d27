"""Settings of the transfer stage: the MLP and its segment hop, and prediction with a bundle."""

from __future__ import annotations

from dataclasses import dataclass

from agf.audio.segments import SEGMENT_HOP
from agf.settings import Interval, Settings


@dataclass(frozen=True)
class MLPSettings(Settings):
    """Architecture and training of the transfer MLP, and the segment hop of its features.

    ``hop`` is the number of frames between the starts of a track's 1-s segments, in
    training, evaluation and prediction alike (21: 50 % overlap, the paper's setting).
    """

    hidden: int = 1024
    dropout: float = 0.5
    epochs: int = 50
    learning_rate: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    hop: int = SEGMENT_HOP

    constraints = {
        "hidden": Interval(int, 1),
        "dropout": Interval(float, 0.0, 1.0, high_open=True),
        "epochs": Interval(int, 1),
        "learning_rate": Interval(float, 0.0, low_open=True),
        "batch_size": Interval(int, 1),
        "seed": Interval(int, 0),
        "hop": Interval(int, 1),
    }


@dataclass(frozen=True)
class PredictSettings(Settings):
    """``batch_size``: segments per forward pass; ``block_seconds``: audio decoded at a time, which
    bounds memory and is the span of the dB floor (see the module docstring)."""

    batch_size: int = 256
    block_seconds: float = 60.0

    constraints = {"batch_size": Interval(int, 1), "block_seconds": Interval(float, 0.0, low_open=True)}
