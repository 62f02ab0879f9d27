"""What a work directory's tracks and split are made from: the settings of ``agf prepare``."""

from __future__ import annotations

from dataclasses import dataclass

from agf.errors import SettingsError
from agf.settings import Interval, OneOf, Settings

STRATEGIES = ("artist", "random", "source", "date", "album")  # the splits agf.data.splits can make


@dataclass(frozen=True)
class DatasetSettings(Settings):
    """What the work directory's tracks and split were made from.

    ``folds > 1`` tests fold ``fold`` (0 .. folds - 1) of a k-fold split instead of a ``test_fraction``.
    """

    source: str
    split: str = "artist"
    valid_fraction: float = 0.15
    seed: int = 0
    label_noise: float = 0.0  # share of training tracks given another genre (agf.data.noise)
    test_fraction: float = 0.15
    folds: int = 1
    fold: int = 0

    constraints = {
        "split": OneOf(*STRATEGIES),
        "valid_fraction": Interval(float, 0.0, 1.0, low_open=True, high_open=True),
        "seed": Interval(int, 0),
        "label_noise": Interval(float, 0.0, 1.0, high_open=True),
        "test_fraction": Interval(float, 0.0, 1.0, high_open=True),
        "folds": Interval(int, 1),
        "fold": Interval(int, 0),
    }
    # work directories made before the test side existed were split two ways
    legacy = {"label_noise": 0.0, "test_fraction": 0.0, "folds": 1, "fold": 0}

    def __post_init__(self) -> None:
        super().__post_init__()
        problem = (shares_problem(self.valid_fraction, self.test_fraction, self.folds, self.fold)
                   or folds_problem(self.split, self.folds))
        if problem:
            raise SettingsError(problem)


def folds_problem(split: str, folds: int) -> str | None:
    """Why ``split`` cannot be cut into ``folds`` folds, or None: the source's split and the newest tracks
    are one held-out set each, not K."""
    if folds > 1 and split in ("source", "date"):
        return f"--folds needs --split artist, album or random (got --split {split})"
    return None


def shares_problem(valid_fraction: float, test_fraction: float, folds: int, fold: int) -> str | None:
    """Why the held-out shares leave no training tracks (or name no fold), or None when they are fine.

    The one statement of these rules: the settings and :func:`agf.data.splits.assign_splits` both ask it.
    """
    if not 0 <= fold < folds:
        return f"--fold {fold} must be in 0 .. {folds - 1} (--folds {folds})"
    if folds > 1 and valid_fraction + 1 / folds >= 1:
        return (f"--valid-fraction {valid_fraction:g} and --folds {folds} (each fold tests 1/{folds} of the tracks) "
                "leave no track for training; use a smaller validation share or more folds")
    if folds == 1 and valid_fraction + test_fraction >= 1:
        return (f"--valid-fraction {valid_fraction:g} and --test-fraction {test_fraction:g} add up to "
                f"{valid_fraction + test_fraction:g}, leaving no track for training; their sum must be below 1")
    return None
