"""A transfer model pooled with the classical baseline (a ``+b`` model): the baseline fitted on the
training tracks, its weight in the pool fitted on the validation tracks (:mod:`agf.evaluation.pooling`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from agf.classifier.baseline import BaselineModel, baseline_of
from agf.classifier.model import TransferModel
from agf.classifier.scoring import track_probabilities
from agf.classifier.statistics import statistics_of
from agf.data.tables import genre_indices, load_tracks
from agf.errors import AgfError
from agf.evaluation.pooling import fit_weight
from agf.workdir import Workdir


def pooled_with_baseline(workdir: Path | str, model: TransferModel, *, device: str = "auto",
                         progress: bool = True) -> TransferModel:
    """``model`` (networks only) pooled with the work directory's baseline, weighted as fits its validation
    tracks best (0: the model as it was, 1: the baseline alone).

    Raises:
        AgfError: no validation tracks to fit the weight on.
    """
    wd = Workdir(workdir)
    tracks = load_tracks(wd)
    valid = tracks[tracks["split"] == "valid"]
    if valid.empty:
        raise AgfError(f"{wd.root}: no validation tracks to fit the baseline's weight on; prepare with a "
                       "--valid-fraction above 0")
    baseline = baseline_of(wd, tracks, model.genres, progress=progress)
    ids = list(valid["track_id"])
    own = track_probabilities(wd.root, dataclasses.replace(model, temperature=1.0), ids, device=device,
                              progress=progress)
    return with_baseline(model, baseline, genre_indices(valid["genre"], model.genres, "validation tracks"), own,
                         baseline.probabilities(statistics_of(wd.root, ids, progress=progress)))


def with_baseline(model: TransferModel, baseline: BaselineModel, y_valid: np.ndarray, own_valid: np.ndarray,
                  baseline_valid: np.ndarray) -> TransferModel:
    """``model`` pooled with ``baseline``, its weight the one whose pool of the validation tracks'
    distributions (``own_valid`` the model's, ``baseline_valid`` the baseline's) scores best on ``y_valid``:
    the one rule of a +b model, for `agf transfer --plus-b` and for the grid's +b cases."""
    return dataclasses.replace(model, baseline=baseline,
                               baseline_weight=fit_weight(y_valid, own_valid, baseline_valid))
