"""Genre-label noise on the training tracks, to measure how robust a setup is to it.

The paper motivates artist group factors by the noise of genre labels (artist labels are
cleaner) but never measures robustness. ``agf prepare --label-noise P`` replaces the genre of
a share P of the training tracks by another genre, drawn uniformly; validation and test tracks
keep their labels, so scores stay measured against the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def add_label_noise(tracks: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """``tracks`` with the genre of ``round(fraction * n_train)`` training tracks replaced by another genre.

    The tracks and their new genres are drawn with ``seed``; every genre of the table (all splits)
    can be drawn, so no new class appears. A copy; the input is left as it was.
    """
    noisy = tracks.copy()
    if fraction == 0:
        return noisy
    rng = np.random.default_rng(seed)
    genres = np.array(sorted(tracks["genre"].unique()))
    train = np.flatnonzero((tracks["split"] == "train").to_numpy())
    chosen = rng.choice(train, size=int(round(fraction * len(train))), replace=False)
    column = noisy.columns.get_loc("genre")
    for row in chosen:
        others = genres[genres != noisy.iat[row, column]]
        noisy.iat[row, column] = others[rng.integers(len(others))]
    return noisy
