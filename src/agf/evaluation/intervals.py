"""How sure a score is: bootstrap intervals over tracks, and paired comparisons of two models.

A grid picks its best case among dozens on a few dozen validation tracks; a difference of a
few hundredths of log loss between two cases is then often noise. Resampling the tracks with
replacement (Efron's percentile bootstrap) shows how far each score could move on another
draw of tracks like these, and a *paired* bootstrap (both models scored on the same resampled
tracks) whether one model beats another on them. All functions are pure and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agf.evaluation.metrics import PROB_FLOOR, confusion_matrix, macro_f1

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


def resampled_rows(n_tracks: int, *, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """``(resamples, n_tracks)`` track indices, each row a draw of ``n_tracks`` tracks with replacement."""
    return np.random.default_rng(seed).integers(0, n_tracks, size=(resamples, n_tracks))


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` interval of ``samples`` (linear interpolation between order statistics)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.asarray(samples, dtype=np.float64), [tail, 100 - tail])
    return float(low), float(high)


def metric_intervals(tracks: dict[str, list], n_classes: int, *, resamples: int = RESAMPLES, seed: int = 0,
                     level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of log loss, accuracy and macro F1 from :func:`per_track`'s record."""
    y_true, y_pred = np.asarray(tracks["y_true"]), np.asarray(tracks["y_pred"])
    losses = -np.log(np.clip(np.asarray(tracks["p_true"], dtype=np.float64), PROB_FLOOR, 1.0))
    rows = resampled_rows(len(y_true), resamples=resamples, seed=seed)
    f1 = [macro_f1(confusion_matrix(y_true[r], y_pred[r], n_classes)) for r in rows]
    return {"log_loss": percentile_interval(losses[rows].mean(axis=1), level),
            "accuracy": percentile_interval((y_true == y_pred)[rows].mean(axis=1), level),
            "f1_macro": percentile_interval(f1, level)}


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
    """A's mean log loss minus B's over the same tracks, resampled in pairs.

    The p-value is twice the smaller share of resampled differences on either side of zero (at
    least ``1 / resamples``): the chance of a difference this far from zero if there were none.

    Raises:
        ValueError: the two records are not of the same tracks.
    """
    if a["track_id"] != b["track_id"]:
        raise ValueError("a paired comparison needs both models scored on the same tracks")
    loss = [-np.log(np.clip(np.asarray(t["p_true"], dtype=np.float64), PROB_FLOOR, 1.0)) for t in (a, b)]
    difference = loss[0] - loss[1]
    samples = difference[resampled_rows(len(difference), resamples=resamples, seed=seed)].mean(axis=1)
    low, high = percentile_interval(samples, level)
    p_value = min(1.0, max(1 / resamples, 2 * min((samples <= 0).mean(), (samples >= 0).mean())))
    return Difference(float(difference.mean()), low, high, float(p_value))
