"""Train/validation/test splits: artist-disjoint stratified (default), album-disjoint, the paper's random
one, the source's, and the newest tracks held out; K folds for cross-validation.

The paper split the training tracks 85/15 at random, stratified by genre. That puts tracks of
one artist on both sides, so artist-level targets and artist-specific sound leak into
validation and flatter the scores. The default keeps every artist on one side (tracks without
an artist are their own group), still stratified by genre, and holds out a test side too
(70/15/15), so that a model chosen on validation is scored on tracks no choice has seen.
``album`` keeps albums, not artists, together (the paper's reference code had it): it stops
the album's production from leaking, but lets an artist's other albums cross. ``date`` holds out
the newest tracks, as a challenge scores a model on music uploaded after it was trained (the
final round of the WWW 2018 challenge did): neither stratified nor group-disjoint, on purpose.

With ``folds`` K > 1 the test side is one fold of a stratified (group) K-fold split instead of
a share: the K test sides of one seed partition the tracks, each tested once.
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from agf.data.settings import STRATEGIES, folds_problem, shares_problem
from agf.datasets.tracks import Dataset, Track
from agf.errors import AgfError


class SplitError(AgfError):
    """A split that the dataset cannot give."""


class _Grouping(NamedTuple):
    """What a group-disjoint split keeps on one side: the group of a track, and words for messages."""

    noun: str  # "artist"
    of: Callable[[Track], str]
    alone: str  # how a genre's tracks share one group


def _artist(track: Track) -> str:
    return track.artist if track.artist else f"unknown-artist:{track.track_id}"


def _album(track: Track) -> str:
    return track.album if track.album else f"unknown-album:{track.track_id}"


# the group-disjoint strategies; the random split holds out single tracks
GROUPINGS = {
    "artist": _Grouping("artist", _artist, "are by one artist"),
    "album": _Grouping("album", _album, "come from one album"),
}


def check_split(dataset: Dataset, strategy: str, *, folds: int = 1) -> set[str]:
    """Refuse, before any track is decoded, a split the dataset cannot give, and warn about the genres
    that the split must leave out of validation and test (see :func:`assign_splits`).

    Raises:
        SplitError: an unknown strategy; ``source`` for a dataset without a split of its own, ``date``
            or ``album`` for one without dates or albums; ``artist`` or ``album`` for a dataset whose
            tracks come from fewer than two groups; ``folds`` > 1 with ``date`` or ``source``, or
            with fewer groups (tracks, for ``random``) than folds.

    Returns:
        The genres warned about (pass them to :func:`assign_splits` so it does not warn again).
    """
    if strategy not in STRATEGIES:
        raise SplitError(f"unknown split {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if problem := folds_problem(strategy, folds):
        raise SplitError(problem)
    if strategy == "source" and not dataset.has_split:
        raise SplitError(f"{dataset.name} has no split of its own (no 'split' column, or one ending in "
                         "'_split', with train/valid/test values); use --split artist or --split random")
    if strategy in ("date", "album"):
        _check_known(dataset, strategy)
    grouping = GROUPINGS.get(strategy)
    if folds > 1:
        _check_folds(dataset.tracks, grouping, folds)
    return _single_group_genres(dataset.tracks, grouping, warned=set()) if grouping else set()


def _check_known(dataset: Dataset, strategy: str) -> None:
    """Refuse a date (album) split of tracks without dates (albums); warn about the tracks without."""
    missing = sum((t.date if strategy == "date" else t.album) is None for t in dataset.tracks)
    if missing == len(dataset.tracks):
        where = ("FMA's track.date_created, or a 'date' column in a manifest" if strategy == "date"
                 else "FMA's album.id, or an 'album' column in a manifest")
        raise SplitError(f"{dataset.name} has no {strategy}s ({where}); use --split artist or --split random")
    if missing and strategy == "date":
        warnings.warn(f"{missing} of {len(dataset.tracks)} tracks have no date: the date split keeps them in "
                      "training", stacklevel=3)
    elif missing:
        warnings.warn(f"{missing} of {len(dataset.tracks)} tracks have no album: the album split makes each of "
                      "them an album of its own", stacklevel=3)


def _check_folds(tracks: list[Track], grouping: _Grouping | None, folds: int) -> None:
    noun = grouping.noun if grouping else "track"
    n = len({grouping.of(t) for t in tracks}) if grouping else len(tracks)
    if n < folds:
        raise SplitError(f"--folds {folds} needs at least {folds} {noun}s, found {n}; use fewer folds")
    most = max(Counter(t.genre for t in tracks).values(), default=0)
    if most < folds:  # scikit-learn's stratified k-fold needs some genre with a track in every fold
        raise SplitError(f"--folds {folds} needs a genre with at least {folds} tracks, the largest has {most}; "
                         "use fewer folds")


def _single_group_genres(tracks: list[Track], grouping: _Grouping, *, warned: set[str]) -> set[str]:
    """The genres whose tracks all come from one group, with a warning for each one not in ``warned``.

    Such a genre cannot be split without holding out its only group: under a group-disjoint split
    its tracks (and the rest of that group's tracks, to keep groups disjoint) stay in training,
    and validation and test have none of that genre.
    """
    noun = grouping.noun
    n_groups = len({grouping.of(t) for t in tracks})
    if n_groups < 2:
        raise SplitError(f"the {noun} split needs tracks from at least two {noun}s, found {n_groups}; "
                         "use --split random")
    groups_of: dict[str, set[str]] = defaultdict(set)
    for t in tracks:
        groups_of[t.genre].add(grouping.of(t))
    single = {g for g, groups in groups_of.items() if len(groups) < 2}
    if single == set(groups_of):
        raise SplitError(f"every genre's tracks come from a single {noun}, so an {noun}-disjoint validation split "
                         "can hold no genre; use --split random")
    for genre in sorted(single - warned):
        warnings.warn(f"genre {genre!r}: all its tracks {grouping.alone}, so the {noun} split keeps them in "
                      "training and validation and test have none of this genre", stacklevel=3)
    return single


def assign_splits(tracks: list[Track], *, strategy: str = "artist", valid_fraction: float = 0.15,
                  test_fraction: float = 0.15, folds: int = 1, fold: int = 0, seed: int = 0,
                  warned: set[str] = frozenset()) -> dict[str, str]:
    """Map each track id to ``train``, ``valid`` or ``test``.

    The test side is held out first: ``test_fraction`` of the tracks, or with ``folds`` K > 1 fold
    ``fold`` of a K-fold split (``test_fraction`` unused). Validation comes from the rest, about
    ``valid_fraction`` of all the tracks. ``test_fraction=0`` gives a two-way train/valid split.
    With ``strategy='source'`` the source's own split is used and tracks outside it are left out of
    the result. Genres with a single track cannot be stratified and stay in training; so, under a
    group-disjoint split, do genres whose tracks all come from one group (with a warning, unless
    the genre is in ``warned``: :func:`check_split` warned before decoding). Of the group-disjoint
    candidates, each hold-out keeps a training track of every genre, then holds out every genre
    it can, then comes nearest the asked share. A genre left without a test (validation) track
    otherwise is named in a warning.

    Raises:
        SplitError: an unknown strategy, shares leaving nothing for training, ``folds`` > 1 with
            ``date`` or ``source``, or fewer groups than folds.
    """
    if strategy not in STRATEGIES:
        raise SplitError(f"unknown split {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if problem := folds_problem(strategy, folds):
        raise SplitError(problem)
    if strategy == "source":
        if not any(t.split for t in tracks):
            raise SplitError("the source has no split of its own; use --split artist or random")
        return {t.track_id: t.split for t in tracks if t.split}
    if not 0 < valid_fraction < 1:
        raise SplitError(f"valid fraction must be in (0, 1), got {valid_fraction}")
    if not 0 <= test_fraction < 1:
        raise SplitError(f"test fraction must be in [0, 1), got {test_fraction}")
    problem = shares_problem(valid_fraction, test_fraction, folds, fold)
    if problem:
        raise SplitError(problem)
    if strategy == "date":
        result = _newest_held_out(tracks, valid_fraction, test_fraction)
        _warn_missing(tracks, result, set(warned), folds, fold, with_test=test_fraction > 0)
        return result
    grouping = GROUPINGS.get(strategy)
    counts = Counter(t.genre for t in tracks)
    pool = [t for t in tracks if counts[t.genre] >= 2]
    single = _single_group_genres(pool, grouping, warned=warned) if grouping and pool else set()
    testable = _splittable(tracks, grouping)
    if folds > 1:
        test = _hold_out(testable, grouping, folds=folds, fold=fold, seed=seed)
    else:
        test = _hold_out(testable, grouping, share=test_fraction, seed=seed) if test_fraction else set()
    rest = [t for t in tracks if t.track_id not in test]
    validatable = _splittable(rest, grouping)
    # validation is a share of all the candidates, not only of those the test side left; but never more
    # than half of these (unless asked), where the test side took the only other group of many genres
    share = valid_fraction * (len(testable) / len(validatable)) if validatable else 0.0
    valid = _hold_out(validatable, grouping, share=min(share, max(valid_fraction, 0.5)), seed=seed)
    result = {t.track_id: "test" if t.track_id in test else "valid" if t.track_id in valid else "train"
              for t in tracks}
    _warn_missing(tracks, result, single | set(warned), folds, fold, with_test=folds > 1 or test_fraction > 0)
    return result


def _splittable(tracks: list[Track], grouping: _Grouping | None) -> list[Track]:
    """The tracks a hold-out may take: not of a genre with a single track, nor (group-disjoint) of a group
    that holds the only group of some genre."""
    counts = Counter(t.genre for t in tracks)
    pool = [t for t in tracks if counts[t.genre] >= 2]
    if grouping is None:
        return pool
    groups_of: dict[str, set[str]] = defaultdict(set)
    for t in pool:
        groups_of[t.genre].add(grouping.of(t))
    kept = {next(iter(groups)) for groups in groups_of.values() if len(groups) < 2}
    return [t for t in pool if grouping.of(t) not in kept]


def _hold_out(pool: list[Track], grouping: _Grouping | None, *, share: float = 0.0, folds: int = 1, fold: int = 0,
              seed: int) -> set[str]:
    """Ids of the tracks of ``pool`` held out, stratified by genre and disjoint in groups from the rest:
    about ``share`` of them, or with ``folds`` K > 1 fold ``fold`` of a K-fold split."""
    if len(pool) < 2:
        return set()
    ids = np.array([t.track_id for t in pool])
    genres = np.array([t.genre for t in pool])
    groups = np.array([grouping.of(t) for t in pool]) if grouping else ids
    if folds > 1:
        _check_folds(pool, grouping, folds)
        kfold = (StratifiedGroupKFold(folds, shuffle=True, random_state=seed) if grouping
                 else StratifiedKFold(folds, shuffle=True, random_state=seed))
        with warnings.catch_warnings():  # "the least populated class has fewer members than n_splits"
            warnings.simplefilter("ignore", UserWarning)
            held = list(kfold.split(genres, genres, groups))[fold][1]
    elif grouping is None:
        held = _random_share(genres, share, seed)
    else:
        held = _group_fold(genres, groups, share, seed)
    return set(ids[held])


def _random_share(genres: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Positions of a stratified random ``share`` of the tracks (the paper's split), at least one per genre
    where that leaves every genre a training track."""
    n_genres = len(set(genres))
    n_held = max(n_genres, int(round(share * len(genres))))
    if n_held >= len(genres) - n_genres:
        n_held, stratify = max(1, int(round(share * len(genres)))), None
    else:
        stratify = genres
    _, held = train_test_split(np.arange(len(genres)), test_size=n_held, stratify=stratify, random_state=seed)
    return held


def _newest_held_out(tracks: list[Track], valid_fraction: float, test_fraction: float) -> dict[str, str]:
    """The newest ``test_fraction`` of the dated tracks to test, the next newest ``valid_fraction`` to
    validation (ties by track id), the rest to training; undated tracks train."""
    dated = sorted((t for t in tracks if t.date), key=lambda t: (t.date, t.track_id))
    n_test = max(1, int(round(test_fraction * len(dated)))) if test_fraction else 0
    n_valid = max(1, int(round(valid_fraction * len(dated))))
    side = {t.track_id: "test" for t in dated[len(dated) - n_test:]} if n_test else {}
    side.update({t.track_id: "valid" for t in dated[max(0, len(dated) - n_test - n_valid):len(dated) - n_test]})
    return {t.track_id: side.get(t.track_id, "train") for t in tracks}


def _warn_missing(tracks: list[Track], result: dict[str, str], warned: set[str], folds: int, fold: int, *,
                  with_test: bool) -> None:
    """One warning per held-out side that lacks some genre of the data (other than those in ``warned``)."""
    where = f"fold {fold + 1} of {folds}: " if folds > 1 else ""
    scope = " in this fold" if folds > 1 else ""
    present = {t.genre for t in tracks} - warned
    for side, name in (("test", "test"), ("valid", "validation")):
        if side == "test" and not with_test:
            continue
        missing = present - {t.genre for t in tracks if result.get(t.track_id) == side}
        if missing:
            warnings.warn(f"{where}no {name} track of genre(s) {', '.join(map(repr, sorted(missing)))}: their "
                          f"{name} scores are not measured{scope}", stacklevel=3)


def _group_fold(genres: np.ndarray, groups: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Positions of the held-out tracks: the one fold of a stratified group k-fold split that keeps a
    training track of every genre, then holds out every genre it can, then comes nearest ``share``."""
    n_genres = len(set(genres))

    def key(held: np.ndarray) -> tuple:
        covered = set(genres[held])
        without_training = n_genres - len(set(np.delete(genres, held)))
        return without_training, n_genres - len(covered), abs(len(held) / len(genres) - share)

    def candidates(n_splits: int) -> list[np.ndarray]:
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        with warnings.catch_warnings():  # "the least populated class has fewer members than n_splits"
            warnings.simplefilter("ignore", UserWarning)
            return [held for _, held in folds.split(genres, genres, groups)]

    # scikit-learn needs some genre with at least n_splits tracks (small datasets have fewer)
    most = min(len(set(groups)), max(Counter(genres).values()))
    usual = max(2, min(int(round(1 / share)), most))
    best = min(candidates(usual), key=key)
    if key(best)[:2] != (0, 0):
        # a small dataset: fewer folds may hold out every genre and keep every genre in training
        others = [v for n in range(2, min(usual + 3, most) + 1) if n != usual for v in candidates(n)]
        best = min([best, *others], key=key)
    return best
