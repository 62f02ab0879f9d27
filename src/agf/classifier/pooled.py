"""A transfer model pooled with the classical baseline (a ``+b`` model): the baseline fitted on the
training tracks, its weight in the pool fitted on the validation tracks (:mod:`agf.evaluation.pooling`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from agf.classifier.baseline import baseline_of
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
    weight = fit_weight(genre_indices(valid["genre"], model.genres, "validation tracks"), own,
                        baseline.probabilities(statistics_of(wd.root, ids, progress=progress)))
    return dataclasses.replace(model, baseline=baseline, baseline_weight=weight)
