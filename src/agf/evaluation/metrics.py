"""Track-level classification metrics (SPEC section 5), as pure functions over arrays.

Conventions shared by every function: ``y_true`` and ``y_pred`` are ``(n_tracks,)`` integer
class indices in ``[0, n_classes)``; ``probs`` is ``(n_tracks, n_classes)``, each row a
distribution. The per-genre table lists every genre of the model, present in the data or not
(scikit-learn's ``labels=range(n_classes)``); a ratio with a zero denominator (a genre never
predicted, or never true) counts as 0, scikit-learn's default. Macro F1 averages over the genres
present in the truth or the predictions, as scikit-learn's ``f1_score(average='macro')`` and the
field do: a genre that a small validation split lacks and the model never predicts would
otherwise count as an F1 of 0 and pull the mean down for nothing the model did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# log(1e-15) ~ -34.5: one confidently wrong track costs a lot, but not infinity
PROB_FLOOR = 1e-15


def log_loss(y_true: np.ndarray, probs: np.ndarray, *, floor: float = PROB_FLOOR) -> float:
    """Mean negative natural log of the probability given to the true class, clipped to [floor, 1]."""
    y_true = np.asarray(y_true, dtype=np.int64)
    p = np.clip(np.asarray(probs, dtype=np.float64)[np.arange(len(y_true)), y_true], floor, 1.0)
    return float(-np.log(p).mean())


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def per_class_scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support ``(n_classes,)`` each, from a confusion matrix."""
    confusion = np.asarray(confusion)
    hits = np.diag(confusion)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = _ratio(hits, predicted)
    recall = _ratio(hits, support)
    # F1 = 2 TP / (2 TP + FP + FN): equal to the harmonic mean, and 0 (not NaN) when TP is 0
    f1 = _ratio(2 * hits, predicted + support)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


def macro_f1(confusion: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 scores of the classes that are true or predicted at least once."""
    confusion = np.asarray(confusion)
    seen = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    return float(per_class_scores(confusion)["f1"][seen].mean()) if seen.any() else 0.0


def accuracy(confusion: np.ndarray) -> float:
    confusion = np.asarray(confusion)
    return float(np.trace(confusion) / max(confusion.sum(), 1))


@dataclass(frozen=True)
class Scores:
    """Every metric of one evaluation, with the genre names that index its arrays."""

    genres: tuple[str, ...]
    n_tracks: int
    log_loss: float
    macro_f1: float
    accuracy: float
    confusion: np.ndarray  # (n_genres, n_genres), rows true, columns predicted

    def per_class(self) -> pd.DataFrame:
        """One row per genre: precision, recall, f1, support."""
        table = pd.DataFrame(per_class_scores(self.confusion), index=pd.Index(self.genres, name="genre"))
        return table[["precision", "recall", "f1", "support"]]

    def summary(self) -> dict[str, float | int]:
        return {"n_tracks": self.n_tracks, "log_loss": self.log_loss, "macro_f1": self.macro_f1,
                "accuracy": self.accuracy}

    def describe(self) -> str:
        return (f"{self.n_tracks} tracks  log loss {self.log_loss:.4f}  macro F1 {self.macro_f1:.4f}  "
                f"accuracy {self.accuracy:.4f}")


def score(y_true: np.ndarray, probs: np.ndarray, genres: tuple[str, ...] | list[str]) -> Scores:
    """All metrics of track distributions ``probs`` ``(n_tracks, n_genres)`` against ``y_true``.

    The predicted genre of a track is its most probable one (the first on a tie).
    """
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    genres = tuple(genres)
    if probs.ndim != 2 or probs.shape[1] != len(genres) or len(probs) != len(y_true):
        raise ValueError(f"probs {probs.shape} do not match {len(y_true)} tracks x {len(genres)} genres")
    confusion = confusion_matrix(y_true, probs.argmax(axis=1), len(genres))
    return Scores(genres=genres, n_tracks=len(y_true), log_loss=log_loss(y_true, probs),
                  macro_f1=macro_f1(confusion), accuracy=accuracy(confusion), confusion=confusion)
