"""The classical baseline a user tries first: MFCC and spectral-contrast statistics + logistic regression.

Per track, the statistics of :mod:`agf.audio.statistics` (mean and standard deviation over frames
of 20 MFCCs, their deltas and 7 spectral contrast bands; librosa, the field's reference
implementation), standardised, then a multinomial logistic regression (scikit-learn). Trained on
the training tracks of the same split as the deep cases, scored with the same metrics on the same
tracks. The statistics are cached in the work directory, where the grid's ``+b`` cases read them too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from agf.audio.statistics import StatisticsSettings
from agf.classifier.statistics import statistics_of
from agf.settings import Interval, Settings
from agf.workdir import Workdir


@dataclass(frozen=True)
class BaselineSettings(Settings):
    C: float = 1.0
    max_iter: int = 2000

    constraints = {"C": Interval(float, 0.0, low_open=True), "max_iter": Interval(int, 1)}


def baseline_probabilities(workdir: Workdir, tracks: pd.DataFrame, genres: tuple[str, ...],
                           settings: BaselineSettings = BaselineSettings(), *, splits: tuple[str, ...] = ("valid",),
                           progress: bool = True) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Fit on the ``split == 'train'`` rows of the work directory's ``tracks``, predict the rows of each of
    ``splits``.

    Returns, per split, its rows and their ``(n, len(genres))`` probabilities, columns in
    ``genres`` order (a genre absent from training gets probability 0).
    """
    scored = tracks[tracks["split"].isin(("train", *splits))].reset_index(drop=True)
    features = statistics_of(workdir.root, list(scored["track_id"]), StatisticsSettings(), progress=progress)
    train = (scored["split"] == "train").to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=settings.C, max_iter=settings.max_iter))
    model.fit(features[train], scored.loc[train, "genre"])
    result = {}
    for split in splits:
        chosen = (scored["split"] == split).to_numpy()
        probs = np.zeros((int(chosen.sum()), len(genres)))
        fitted = model.predict_proba(features[chosen])
        for j, genre in enumerate(model.classes_):
            probs[:, genres.index(genre)] = fitted[:, j]
        result[split] = (scored[chosen].reset_index(drop=True), probs)
    return result
