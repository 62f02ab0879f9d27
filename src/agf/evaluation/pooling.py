"""Two models' opinions in one distribution: log-linear pooling, with the weight fitted on held-out tracks.

The pooled distribution is proportional to ``p_a ** (1 - w) * p_b ** w``: a weighted geometric
mean, so a genre both models doubt stays doubted, and w = 0 (1) gives model A (B) unchanged.
The weight is the best of a grid of 21 values in [0, 1] by log loss on held-out tracks, so on
those tracks the pool is never worse than either model alone; scored on the same tracks it
would flatter itself, so :func:`cross_fitted` scores each half of them with the weight fitted
on the other half.
"""

from __future__ import annotations

import numpy as np

from agf.evaluation.metrics import PROB_FLOOR, log_loss

WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # 0.7, not 0.7000000000000001, in a bundle


def pool(p_a: np.ndarray, p_b: np.ndarray, weight: float) -> np.ndarray:
    """``(n, k)`` distributions proportional to ``p_a ** (1 - weight) * p_b ** weight``."""
    if weight in (0.0, 1.0):  # one model alone, exactly
        return np.asarray(p_b if weight else p_a, dtype=np.float64)
    logs = [np.log(np.clip(np.asarray(p, dtype=np.float64), PROB_FLOOR, 1.0)) for p in (p_a, p_b)]
    mixed = (1.0 - weight) * logs[0] + weight * logs[1]
    mixed -= mixed.max(axis=1, keepdims=True)
    pooled = np.exp(mixed)
    return pooled / pooled.sum(axis=1, keepdims=True)


def fit_weight(y_true: np.ndarray, p_a: np.ndarray, p_b: np.ndarray) -> float:
    """The weight of :data:`WEIGHTS` whose pool has the lowest log loss on ``y_true`` (the smallest such)."""
    losses = [log_loss(y_true, pool(p_a, p_b, float(w))) for w in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(losses))])


def cross_fitted(y_true: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """The pooled distributions of the tracks, each half of them pooled with the weight fitted on the other
    half (two-fold cross-fitting, as :func:`agf.evaluation.calibration.calibrate` scores temperatures)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    halves = np.array_split(np.random.default_rng(seed).permutation(len(y_true)), 2)
    pooled = np.empty((len(y_true), np.asarray(p_a).shape[1]))
    for held, fitted in ((halves[0], halves[1]), (halves[1], halves[0])):
        weight = fit_weight(y_true[fitted], p_a[fitted], p_b[fitted]) if len(fitted) else 0.0
        pooled[held] = pool(p_a[held], p_b[held], weight)
    return pooled
