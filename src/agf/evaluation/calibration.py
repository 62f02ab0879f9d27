"""Are the probabilities honest? Temperature scaling and the expected calibration error.

Log loss punishes confident mistakes without limit, and a model selected on a few dozen
validation tracks is often overconfident on new music. Temperature scaling (Guo et al., ICML
2017) divides the log-probabilities by one number T fitted on held-out tracks: T > 1 softens
every distribution, the ranking of genres (and so accuracy and F1) stays as it was. The
expected calibration error (ECE) is the gap between confidence and accuracy, averaged over
confidence bins and weighted by their tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agf.evaluation.metrics import PROB_FLOOR, log_loss

# T is searched in [1/20, 20] on a log scale: beyond it a model is either useless or already a one-hot vote
LOG_T_BOUNDS = (-np.log(20.0), np.log(20.0))
BINS = 15


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Distributions ``(n, k)`` with their log-probabilities divided by ``temperature``, renormalised
    (``probs`` themselves, untouched, at temperature 1)."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(np.asarray(probs, dtype=np.float64), PROB_FLOOR, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(y_true: np.ndarray, probs: np.ndarray) -> float:
    """The T that minimises the log loss of ``probs`` on ``y_true`` (bounded 1-d search in log T)."""
    from scipy.optimize import minimize_scalar  # here: prediction applies a temperature without scipy

    result = minimize_scalar(lambda log_t: log_loss(y_true, apply_temperature(probs, float(np.exp(log_t)))),
                             bounds=LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, *, bins: int = BINS) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence| x the bin's share of tracks."""
    probs = np.asarray(probs, dtype=np.float64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(y_true)
    # bin b holds confidences in (b / bins, (b + 1) / bins]; a confidence of exactly 0 cannot occur
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in np.unique(index):
        members = index == b
        total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


@dataclass(frozen=True)
class Calibration:
    """A model's calibration on held-out tracks, before and after temperature scaling.

    ``temperature`` is fitted on all the tracks; the ``*_after`` scores are cross-fitted (each
    half of the tracks scaled by the T fitted on the other half), so they do not flatter the
    scaling by scoring it on the tracks it was fitted to.
    """

    temperature: float
    log_loss_before: float
    log_loss_after: float
    ece_before: float
    ece_after: float

    @property
    def chosen(self) -> float:
        """The temperature to apply: the fitted one if scaling lowered the cross-fitted log loss, else 1
        (on a few dozen tracks the fitted T can be noise, and the cross-fitting says so)."""
        return self.temperature if self.log_loss_after < self.log_loss_before else 1.0


def calibrate(y_true: np.ndarray, probs: np.ndarray, *, seed: int = 0) -> Calibration:
    """Fit T on every track, and score the scaling by two-fold cross-fitting (see :class:`Calibration`)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    halves = np.array_split(np.random.default_rng(seed).permutation(len(y_true)), 2)
    scaled = np.empty_like(probs)
    for held, fitted in ((halves[0], halves[1]), (halves[1], halves[0])):
        scaled[held] = apply_temperature(probs[held], fit_temperature(y_true[fitted], probs[fitted]))
    return Calibration(fit_temperature(y_true, probs), log_loss(y_true, probs), log_loss(y_true, scaled),
                       expected_calibration_error(y_true, probs), expected_calibration_error(y_true, scaled))


def plot_reliability(y_true: np.ndarray, curves: dict[str, np.ndarray], path, *, bins: int = BINS,
                     title: str = "") -> None:
    """Save a reliability diagram (PNG): accuracy against mean confidence per confidence bin, one line
    per set of distributions in ``curves`` (label -> probs), beside the diagonal of perfect calibration."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfectly calibrated")
    for label, probs in curves.items():
        confidence = np.asarray(probs).max(axis=1)
        correct = np.asarray(probs).argmax(axis=1) == np.asarray(y_true)
        index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
        used = np.unique(index)
        ax.plot([confidence[index == b].mean() for b in used], [correct[index == b].mean() for b in used],
                marker="o", label=f"{label} (ECE {expected_calibration_error(y_true, probs, bins=bins):.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (probability of the predicted genre)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
