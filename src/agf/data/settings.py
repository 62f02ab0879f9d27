"""What a work directory's tracks and split are made from: the settings of ``agf prepare``."""

from __future__ import annotations

from dataclasses import dataclass

from agf.settings import Interval, OneOf, Settings

STRATEGIES = ("artist", "random", "source", "date")  # the splits agf.data.splits can make


@dataclass(frozen=True)
class DatasetSettings(Settings):
    """What the work directory's tracks and split were made from."""

    source: str
    split: str = "artist"
    valid_fraction: float = 0.15
    seed: int = 0
    label_noise: float = 0.0  # share of training tracks given another genre (agf.data.noise)

    constraints = {
        "split": OneOf(*STRATEGIES),
        "valid_fraction": Interval(float, 0.0, 1.0, low_open=True, high_open=True),
        "seed": Interval(int, 0),
        "label_noise": Interval(float, 0.0, 1.0, high_open=True),
    }
    legacy = {"label_noise": 0.0}
