"""Train/validation splits: artist-disjoint stratified (default), the paper's random one, the source's,
and the newest tracks held out.

The paper split the training tracks 85/15 at random, stratified by genre. That puts tracks of
one artist on both sides, so artist-level targets and artist-specific sound leak into
validation and flatter the scores. The default keeps every artist on one side (tracks without
an artist are their own group), still stratified by genre. ``date`` holds out the newest
tracks, as a challenge scores a model on music uploaded after it was trained (the final round
of the WWW 2018 challenge did): neither stratified nor artist-disjoint, on purpose.
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from agf.data.settings import STRATEGIES
from agf.datasets.tracks import Dataset, Track
from agf.errors import AgfError


class SplitError(AgfError):
    """A split that the dataset cannot give."""


def check_split(dataset: Dataset, strategy: str) -> set[str]:
    """Refuse, before any track is decoded, a split the dataset cannot give, and warn about the genres
    that the split must leave out of validation (see :func:`assign_splits`).

    Raises:
        SplitError: an unknown strategy, ``source`` for a dataset without a split of its own, or
            ``artist`` for a dataset whose tracks come from fewer than two artists.

    Returns:
        The genres warned about (pass them to :func:`assign_splits` so it does not warn again).
    """
    if strategy not in STRATEGIES:
        raise SplitError(f"unknown split {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "source" and not dataset.has_split:
        raise SplitError(f"{dataset.name} has no split of its own (no 'split' column, or one ending in "
                         "'_split', with train/valid/test values); use --split artist or --split random")
    if strategy == "date":
        undated = sum(t.date is None for t in dataset.tracks)
        if undated == len(dataset.tracks):
            raise SplitError(f"{dataset.name} has no dates (FMA's track.date_created, or a 'date' column in a "
                             "manifest); use --split artist or --split random")
        if undated:
            warnings.warn(f"{undated} of {len(dataset.tracks)} tracks have no date: the date split keeps them in "
                          "training", stacklevel=2)
    return _single_artist_genres(dataset.tracks, warned=set()) if strategy == "artist" else set()


def _group(track: Track) -> str:
    return track.artist if track.artist else f"unknown-artist:{track.track_id}"


def _single_artist_genres(tracks: list[Track], *, warned: set[str]) -> set[str]:
    """The genres whose tracks all come from one artist, with a warning for each one not in ``warned``.

    Such a genre cannot be split without giving validation its only artist: under the artist
    split its tracks (and the rest of that artist's tracks, to keep artists disjoint) stay in
    training, and validation has none of that genre.
    """
    n_artists = len({_group(t) for t in tracks})
    if n_artists < 2:
        raise SplitError(f"the artist split needs tracks by at least two artists, found {n_artists}; "
                         "use --split random")
    groups_of: dict[str, set[str]] = defaultdict(set)
    for t in tracks:
        groups_of[t.genre].add(_group(t))
    single = {g for g, groups in groups_of.items() if len(groups) < 2}
    if single == set(groups_of):
        raise SplitError("every genre's tracks come from a single artist, so an artist-disjoint validation split "
                         "can hold no genre; use --split random")
    for genre in sorted(single - warned):
        warnings.warn(f"genre {genre!r}: all its tracks are by one artist, so the artist split keeps them in "
                      "training and validation has none of this genre", stacklevel=3)
    return single


def assign_splits(tracks: list[Track], *, strategy: str = "artist", valid_fraction: float = 0.15,
                  seed: int = 0, warned: set[str] = frozenset()) -> dict[str, str]:
    """Map each track id to ``train`` or ``valid`` (or ``test`` with the source's split).

    With ``strategy='source'`` tracks outside the source's split are left out of the result.
    Genres with a single track cannot be stratified and stay in training; so, under the artist
    split, do genres whose tracks all come from one artist (with a warning, unless the genre is in
    ``warned``: :func:`check_split` warned before decoding). Of the artist-disjoint
    candidates, the split keeps a training track of every genre, then gives validation every genre
    it can, then comes nearest the asked fraction.
    """
    if strategy not in STRATEGIES:
        raise SplitError(f"unknown split {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "source":
        if not any(t.split for t in tracks):
            raise SplitError("the source has no split of its own; use --split artist or random")
        return {t.track_id: t.split for t in tracks if t.split}
    if not 0 < valid_fraction < 1:
        raise SplitError(f"valid fraction must be in (0, 1), got {valid_fraction}")
    if strategy == "date":
        return _newest_held_out(tracks, valid_fraction)
    counts = Counter(t.genre for t in tracks)
    result = {t.track_id: "train" for t in tracks if counts[t.genre] < 2}
    pool = [t for t in tracks if counts[t.genre] >= 2]
    if strategy == "artist" and pool:
        single = _single_artist_genres(pool, warned=warned)
        kept = {_group(t) for t in pool if t.genre in single}
        result.update({t.track_id: "train" for t in pool if _group(t) in kept})
        pool = [t for t in pool if _group(t) not in kept]
    if len(pool) < 2:
        return {**result, **{t.track_id: "train" for t in pool}}
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
        valid_ids = ids[_artist_fold(genres, np.array([_group(t) for t in pool]), valid_fraction, seed)]
        train_ids = np.setdiff1d(ids, valid_ids)
    result.update({i: "train" for i in train_ids})
    result.update({i: "valid" for i in valid_ids})
    return result


def _newest_held_out(tracks: list[Track], valid_fraction: float) -> dict[str, str]:
    """The newest ``valid_fraction`` of the dated tracks to validation (ties by track id), the rest to
    training; undated tracks train."""
    dated = sorted((t for t in tracks if t.date), key=lambda t: (t.date, t.track_id))
    n_valid = max(1, int(round(valid_fraction * len(dated))))
    newest = {t.track_id for t in dated[len(dated) - n_valid:]}
    return {t.track_id: "valid" if t.track_id in newest else "train" for t in tracks}


def _artist_fold(genres: np.ndarray, groups: np.ndarray, valid_fraction: float, seed: int) -> np.ndarray:
    """Positions of the validation tracks: one fold of a stratified group k-fold split."""
    n_genres = len(set(genres))

    def key(valid: np.ndarray) -> tuple:
        covered = set(genres[valid])
        without_training = n_genres - len(set(np.delete(genres, valid)))
        return without_training, n_genres - len(covered), abs(len(valid) / len(genres) - valid_fraction)

    def candidates(n_splits: int) -> list[np.ndarray]:
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        with warnings.catch_warnings():  # "the least populated class has fewer members than n_splits"
            warnings.simplefilter("ignore", UserWarning)
            return [valid for _, valid in folds.split(genres, genres, groups)]

    # scikit-learn needs some genre with at least n_splits tracks (small datasets have fewer)
    most = min(len(set(groups)), max(Counter(genres).values()))
    usual = max(2, min(int(round(1 / valid_fraction)), most))
    best = min(candidates(usual), key=key)
    if key(best)[:2] != (0, 0):
        # a small dataset: fewer folds may give validation every genre and training keep every genre
        others = [v for n in range(2, min(usual + 3, most) + 1) if n != usual for v in candidates(n)]
        best = min([best, *others], key=key)
    return best
