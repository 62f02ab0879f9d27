"""Scoring a transfer model on a split of the work directory's tracks (SPEC section 5).

A track's distribution is the mean of its segments' softmax outputs; the metrics come from
:mod:`agf.evaluation.metrics`, which knows nothing of models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agf.classifier.bundle import is_bundle, load_bundle
from agf.classifier.features import extract_features
from agf.classifier.mlp import segment_probabilities, track_means
from agf.classifier.model import ModelError, TransferModel, load_model
from agf.classifier.networks import run_fingerprint
from agf.data.tables import genre_indices, load_tracks
from agf.device import resolve_device
from agf.errors import AgfError
from agf.evaluation.metrics import Scores, score
from agf.timing import StageClock
from agf.workdir import Workdir


@dataclass(frozen=True)
class Evaluation:
    """The scores, and one row per track: ``track_id, genre, predicted`` then a column per genre."""

    scores: Scores
    tracks: pd.DataFrame


def open_model(path: Path | str, workdir: Path | str) -> TransferModel:
    """A transfer model folder's model (networks under ``workdir``), or a bundle's (networks inside it)."""
    return load_bundle(path).model if is_bundle(path) else load_model(Path(path), workdir=Path(workdir))


def track_probabilities(workdir: Path | str, model: TransferModel, track_ids: list[str], *, device: str = "auto",
                        progress: bool = True, clock: StageClock | None = None) -> np.ndarray:
    """``(len(track_ids), n_genres)`` track distributions: the mean of each track's segment outputs."""
    for ref, trained_with in zip(model.refs, model.fingerprints):
        if run_fingerprint(ref.run_dir) != trained_with:
            raise ModelError(f"network {ref.name} ({ref.run_dir}) changed since this transfer model was trained; "
                             "rerun `agf transfer` to retrain the MLP on its new features")
    torch_device = resolve_device(device)
    clock = clock or StageClock()
    with clock.stage("segment features"):
        features = extract_features(workdir, list(model.refs), device=device, progress=progress, hop=model.hop)
        x, track = features.select(track_ids)
    if x.shape[1] != model.mlp.n_inputs:
        raise ModelError(f"the networks give {x.shape[1]}-d features but the MLP expects {model.mlp.n_inputs}")
    with clock.stage("scoring"):
        model.mlp.to(torch_device)
        return track_means(segment_probabilities(model.mlp, x, device=torch_device), track, len(track_ids))


def evaluate(workdir: Path | str, model: TransferModel | Path | str, *, split: str = "valid", device: str = "auto",
             progress: bool = True, clock: StageClock | None = None) -> Evaluation:
    """Score ``model`` (a :class:`TransferModel`, a transfer model folder or a bundle) on the tracks of ``split``."""
    if not isinstance(model, TransferModel):
        model = open_model(model, workdir)
    tracks = load_tracks(Workdir(workdir))
    chosen = tracks[tracks["split"] == split].reset_index(drop=True)
    if chosen.empty:
        raise AgfError(f"{workdir}: no tracks in the {split!r} split to evaluate on "
                       f"(splits present: {', '.join(sorted(tracks['split'].unique()))})")
    y_true = genre_indices(chosen["genre"], model.genres, f"{workdir} {split} tracks")
    probs = track_probabilities(workdir, model, list(chosen["track_id"]), device=device, progress=progress,
                                clock=clock)
    table = pd.DataFrame({"track_id": chosen["track_id"], "genre": chosen["genre"],
                          "predicted": np.asarray(model.genres)[probs.argmax(axis=1)]})
    table = pd.concat([table, pd.DataFrame(probs, columns=list(model.genres))], axis=1)
    return Evaluation(scores=score(y_true, probs, model.genres), tracks=table)
