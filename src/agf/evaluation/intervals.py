"""How sure a score is: bootstrap intervals over tracks, and paired comparisons of two models.

A grid picks its best case among dozens on a few dozen validation tracks; a difference of a
few hundredths of log loss between two cases is then often noise. Resampling the tracks with
replacement (Efron's percentile bootstrap) shows how far each score could move on another
draw of tracks like these, and a *paired* bootstrap (both models scored on the same resampled
tracks) whether one model beats another on them. With K folds every track is tested once, by
the models of its fold: the records of the folds are concatenated (each track carries its
fold) and tracks are resampled within their fold, so each resample keeps every fold's size.
With S training seeds every track is scored S times, once by each seed's models, on the same
split: the S records of a track vary only with the seed, so they are one draw of a track, not S.
A resample draws tracks and takes all their seeds' records with them (a cluster bootstrap), so
the interval is over tracks, as without seeds: scoring a track S times does not count it S times.
All functions are pure and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agf.evaluation.metrics import PROB_FLOOR, Scores, accuracy, confusion_matrix, macro_f1

RESAMPLES = 2000
LEVEL = 0.95


def per_track(track_ids: list[str], y_true: np.ndarray, probs: np.ndarray) -> dict[str, list]:
    """What the intervals need of one evaluation, per track (sorted by id, so that two models' records
    pair up): true and predicted class, and the probability given to the true class (JSON-able lists)."""
    order = np.argsort(np.asarray(track_ids, dtype=str), kind="stable")
    y_true = np.asarray(y_true, dtype=np.int64)[order]
    probs = np.asarray(probs, dtype=np.float64)[order]
    return {"track_id": [str(track_ids[i]) for i in order], "y_true": y_true.tolist(),
            "y_pred": probs.argmax(axis=1).tolist(), "p_true": probs[np.arange(len(y_true)), y_true].tolist()}


def record_scores(record: dict[str, list], genres: tuple[str, ...]) -> Scores:
    """The scores of a record (e.g. the K folds' records concatenated), pooled over all its scored tracks (with
    training seeds, every track's record of every seed): what the intervals are intervals of."""
    confusion = confusion_matrix(np.asarray(record["y_true"]), np.asarray(record["y_pred"]), len(genres))
    return Scores(genres=tuple(genres), n_tracks=len(record["track_id"]), log_loss=float(_losses(record).mean()),
                  macro_f1=macro_f1(confusion), accuracy=accuracy(confusion), confusion=confusion)


def concatenate(records: list[dict[str, list]], tag: str = "fold") -> dict[str, list]:
    """The records of the K folds (or of the S training seeds: ``tag="seed"``) as one, each track tagged
    with the index of its record (0 .. K-1) in ``tag``; tags the records already carry are kept."""
    joined: dict[str, list] = {key: [] for key in (*records[0], tag)}
    for index, record in enumerate(records):
        for key in records[0]:
            joined[key] += record[key]
        joined[tag] += [index] * len(record["track_id"])
    return joined


def resampled_rows(n_tracks: int, *, strata: list[int] | None = None, resamples: int = RESAMPLES,
                   seed: int = 0) -> np.ndarray:
    """``(resamples, n_tracks)`` track indices, each row a draw of ``n_tracks`` tracks with replacement;
    with ``strata`` (e.g. each track's fold), each stratum's tracks are drawn from that stratum only."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.integers(0, n_tracks, size=(resamples, n_tracks))
    strata = np.asarray(strata)
    rows = np.empty((resamples, n_tracks), dtype=np.int64)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        rows[:, members] = members[rng.integers(0, len(members), size=(resamples, len(members)))]
    return rows


def resampled_records(record: dict[str, list], *, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """``(resamples, n_records)`` indices into ``record``, each row a draw of its tracks with replacement,
    within their fold when it has folds (:func:`resampled_rows`); when it has training seeds (its ``seed``
    key), every seed's record of a drawn track is taken together (a cluster bootstrap).

    Raises:
        ValueError: the seeds' records are not of the same tracks, in the same order.
    """
    if "seed" not in record:
        return resampled_rows(len(record["track_id"]), strata=record.get("fold"), resamples=resamples, seed=seed)
    tags, ids = np.asarray(record["seed"]), np.asarray(record["track_id"])
    replicas = [np.flatnonzero(tags == tag) for tag in np.unique(tags)]
    first = replicas[0]
    if any(len(r) != len(first) or (ids[r] != ids[first]).any() for r in replicas):
        raise ValueError("every training seed's record must be of the same tracks, in the same order")
    strata = None if "fold" not in record else np.asarray(record["fold"])[first]
    drawn = resampled_rows(len(first), strata=strata, resamples=resamples, seed=seed)
    return np.concatenate([r[drawn] for r in replicas], axis=1)


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` interval of ``samples`` (linear interpolation between order statistics)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.asarray(samples, dtype=np.float64), [tail, 100 - tail])
    return float(low), float(high)


def metric_intervals(tracks: dict[str, list], n_classes: int, *, resamples: int = RESAMPLES, seed: int = 0,
                     level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of log loss, accuracy and macro F1 from :func:`per_track`'s record."""
    return group_intervals([tracks], n_classes, resamples=resamples, seed=seed, level=level)


def _losses(record: dict[str, list]) -> np.ndarray:
    return -np.log(np.clip(np.asarray(record["p_true"], dtype=np.float64), PROB_FLOOR, 1.0))


def group_intervals(records: list[dict[str, list]], n_classes: int, *, resamples: int = RESAMPLES, seed: int = 0,
                    level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """Intervals of the mean over models of their log loss, accuracy and macro F1, all models scored on
    the same tracks (e.g. the cases of Table 3's cells): every resample draws the tracks once, for
    all the models, so the interval reflects the tracks the group shares."""
    first = records[0]
    if any(r["track_id"] != first["track_id"] or r.get("seed") != first.get("seed") for r in records):
        raise ValueError("a group's interval needs every model scored on the same tracks")
    rows = resampled_records(first, resamples=resamples, seed=seed)
    losses = np.mean([_losses(r)[rows].mean(axis=1) for r in records], axis=0)
    truths = [(np.asarray(r["y_true"]), np.asarray(r["y_pred"])) for r in records]
    hits = np.mean([(t == p)[rows].mean(axis=1) for t, p in truths], axis=0)
    f1 = np.mean([[macro_f1(confusion_matrix(t[row], p[row], n_classes)) for row in rows] for t, p in truths], axis=0)
    return {"log_loss": percentile_interval(losses, level), "accuracy": percentile_interval(hits, level),
            "f1_macro": percentile_interval(f1, level)}


def fold_interval(values: list[float], level: float = LEVEL) -> tuple[float, float]:
    """Student's t interval of the mean of K per-fold scores: how far the score moves from one split of
    the artists to another (the variation the tracks of one split cannot show). NaN for one fold."""
    from scipy.stats import t

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float("nan"), float("nan")
    half = t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


@dataclass(frozen=True)
class Difference:
    """Mean log loss of model A minus model B on the same tracks (negative: A is better), its interval,
    and the two-sided bootstrap p-value of "no difference"."""

    mean: float
    low: float
    high: float
    p_value: float


def paired_difference(a: dict[str, list], b: dict[str, list], *, resamples: int = RESAMPLES, seed: int = 0,
                      level: float = LEVEL) -> Difference:
    """A's mean log loss minus B's over the same tracks, resampled in pairs (within folds, for the records
    of several folds; each track with all its seeds' records, for the records of several training seeds).

    The p-value is twice the smaller share of resampled differences on either side of zero (at
    least ``1 / resamples``): the chance of a difference this far from zero if there were none.

    Raises:
        ValueError: the two records are not of the same tracks.
    """
    if a["track_id"] != b["track_id"] or a.get("seed") != b.get("seed"):
        raise ValueError("a paired comparison needs both models scored on the same tracks")
    difference = _losses(a) - _losses(b)
    rows = resampled_records(a, resamples=resamples, seed=seed)
    samples = difference[rows].mean(axis=1)
    low, high = percentile_interval(samples, level)
    p_value = min(1.0, max(1 / resamples, 2 * min((samples <= 0).mean(), (samples >= 0).mean())))
    return Difference(float(difference.mean()), low, high, float(p_value))
