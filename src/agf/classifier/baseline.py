"""The classical baseline as a model agf keeps, bundles and runs: MFCC and spectral-contrast statistics,
standardised, then a multinomial logistic regression.

scikit-learn fits it (:func:`fit_baseline`); what prediction needs is kept as numbers (the
standardisation and the regression's weights), so a bundle holds it as JSON and ``agf predict``
runs it without scikit-learn or pickle. The grid scores it as a case of its own, and its ``+b``
cases pool its distribution with a network case's (:mod:`agf.evaluation.pooling`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agf.audio.statistics import StatisticsSettings
from agf.settings import Interval, Settings, to_dict

if TYPE_CHECKING:  # agf predict opens bundles with this module: no pandas or scikit-learn at its start
    import pandas as pd

    from agf.workdir import Workdir

# the logit of a genre without training tracks: scikit-learn's model knows no such class, so it gets
# (almost) no probability, as in the baseline's own predictions
ABSENT_LOGIT = -50.0


@dataclass(frozen=True)
class BaselineSettings(Settings):
    C: float = 1.0
    max_iter: int = 2000

    constraints = {"C": Interval(float, 0.0, low_open=True), "max_iter": Interval(int, 1)}


@dataclass(frozen=True)
class BaselineModel:
    """Track statistics of ``statistics`` -> standardised with ``mean`` and ``scale`` -> logits
    ``coef @ x + intercept`` -> softmax, one row of ``coef`` per genre of the model's genre order."""

    statistics: StatisticsSettings
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]

    def probabilities(self, statistics: np.ndarray) -> np.ndarray:
        """``(n, n_genres)`` float64 distributions of tracks' ``(n, width)`` raw statistics."""
        x = (np.asarray(statistics, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        logits = x @ np.asarray(self.coef).T + np.asarray(self.intercept)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def to_json(self) -> dict:
        return {"statistics": to_dict(self.statistics), "mean": list(self.mean), "scale": list(self.scale),
                "coef": [list(row) for row in self.coef], "intercept": list(self.intercept)}

    @classmethod
    def from_json(cls, payload: dict) -> BaselineModel:
        return cls(StatisticsSettings(**payload["statistics"]), tuple(map(float, payload["mean"])),
                   tuple(map(float, payload["scale"])), tuple(tuple(map(float, row)) for row in payload["coef"]),
                   tuple(map(float, payload["intercept"])))


def fit_baseline(statistics: np.ndarray, labels: np.ndarray, n_genres: int, *,
                 statistics_settings: StatisticsSettings = StatisticsSettings(),
                 settings: BaselineSettings = BaselineSettings()) -> BaselineModel:
    """Fit on the training tracks' ``(n, width)`` statistics and genre indices ``labels`` (of ``n_genres``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(statistics)
    model = LogisticRegression(C=settings.C, max_iter=settings.max_iter).fit(scaler.transform(statistics), labels)
    coef = np.zeros((n_genres, statistics.shape[1]))
    intercept = np.full(n_genres, ABSENT_LOGIT)
    if len(model.classes_) == 2:  # scikit-learn keeps one logit, of the second class against the first
        coef[model.classes_[1]], intercept[model.classes_[1]] = model.coef_[0], model.intercept_[0]
        intercept[model.classes_[0]] = 0.0
    else:
        coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
    return BaselineModel(statistics_settings, tuple(map(float, scaler.mean_)), tuple(map(float, scaler.scale_)),
                         tuple(tuple(map(float, row)) for row in coef), tuple(map(float, intercept)))


def baseline_of(workdir: Workdir, tracks: pd.DataFrame, genres: tuple[str, ...], *,
                settings: BaselineSettings = BaselineSettings(), progress: bool = True) -> BaselineModel:
    """The baseline fitted on the ``split == 'train'`` tracks of the work directory's ``tracks``."""
    from agf.classifier.statistics import statistics_of
    from agf.data.tables import genre_indices

    train = tracks[tracks["split"] == "train"]
    statistics = statistics_of(workdir.root, list(train["track_id"]), progress=progress)
    return fit_baseline(statistics, genre_indices(train["genre"], genres, "training tracks"), len(genres),
                        settings=settings)
