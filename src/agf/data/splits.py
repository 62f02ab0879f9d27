"""Train/validation splits: artist-disjoint stratified (default), the paper's random one, the source's.

The paper split the training tracks 85/15 at random, stratified by genre. That puts tracks of
one artist on both sides, so artist-level targets and artist-specific sound leak into
validation and flatter the scores. The default keeps every artist on one side (tracks without
an artist are their own group), still stratified by genre.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from agf.data.settings import STRATEGIES
from agf.datasets.tracks import Dataset, Track
from agf.errors import AgfError


class SplitError(AgfError):
    """A split that the dataset cannot give."""


def check_split(dataset: Dataset, strategy: str) -> None:
    """Refuse, before any track is decoded, a split the dataset cannot give.

    Raises:
        SplitError: an unknown strategy, or ``source`` for a dataset without a split of its own.
    """
    if strategy not in STRATEGIES:
        raise SplitError(f"unknown split {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "source" and not dataset.has_split:
        raise SplitError(f"{dataset.name} has no split of its own (no 'split' column, or one ending in "
                         "'_split', with train/valid/test values); use --split artist or --split random")


def assign_splits(tracks: list[Track], *, strategy: str = "artist", valid_fraction: float = 0.15,
                  seed: int = 0) -> dict[str, str]:
    """Map each track id to ``train`` or ``valid`` (or ``test`` with the source's split).

    With ``strategy='source'`` tracks outside the source's split are left out of the result.
    Genres with a single track cannot be stratified and stay in training.
    """
    if strategy not in STRATEGIES:
        raise SplitError(f"unknown split {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "source":
        if not any(t.split for t in tracks):
            raise SplitError("the source has no split of its own; use --split artist or random")
        return {t.track_id: t.split for t in tracks if t.split}
    if not 0 < valid_fraction < 1:
        raise SplitError(f"valid fraction must be in (0, 1), got {valid_fraction}")
    counts = Counter(t.genre for t in tracks)
    result = {t.track_id: "train" for t in tracks if counts[t.genre] < 2}
    pool = [t for t in tracks if counts[t.genre] >= 2]
    if len(pool) < 2:
        return {t.track_id: "train" for t in tracks}
    ids = np.array([t.track_id for t in pool])
    genres = np.array([t.genre for t in pool])
    if strategy == "random":
        n_valid = max(len(set(genres)), int(round(valid_fraction * len(pool))))
        if n_valid >= len(pool) - len(set(genres)):
            n_valid = max(1, int(round(valid_fraction * len(pool))))
            stratify = None
        else:
            stratify = genres
        train_ids, valid_ids = train_test_split(ids, test_size=n_valid, stratify=stratify, random_state=seed)
    else:
        groups = np.array([t.artist if t.artist else f"unknown-artist:{t.track_id}" for t in pool])
        # scikit-learn needs some genre with at least n_splits tracks (small datasets have fewer)
        n_splits = max(2, min(int(round(1 / valid_fraction)), len(set(groups)), max(Counter(genres).values())))
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        candidates = [valid for _, valid in folds.split(ids, genres, groups)]
        # the fold whose size is nearest the asked fraction, preferring folds that cover more genres
        best = min(candidates, key=lambda v: (abs(len(v) / len(ids) - valid_fraction), -len(set(genres[v]))))
        valid_ids = ids[best]
        train_ids = np.setdiff1d(ids, valid_ids)
    result.update({i: "train" for i in train_ids})
    result.update({i: "valid" for i in valid_ids})
    return result
