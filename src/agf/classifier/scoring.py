"""Scoring a transfer model on a split of the work directory's tracks (SPEC section 5).

A track's distribution is the mean of its segments' softmax outputs (a ``+b`` model's segments
carry their track's statistics too); the metrics come from
:mod:`agf.evaluation.metrics`, which knows nothing of models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agf.classifier.bundle import is_bundle, load_bundle
from agf.classifier.features import extract_features
from agf.classifier.mlp import segment_probabilities_many, track_means
from agf.classifier.model import ModelError, TransferModel, load_model
from agf.classifier.networks import run_fingerprint
from agf.classifier.statistics import statistics_of, with_statistics
from agf.data.tables import genre_indices, load_tracks
from agf.device import resolve_device
from agf.errors import AgfError
from agf.evaluation.calibration import apply_temperature
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


def _check_networks(model: TransferModel) -> None:
    for ref, trained_with in zip(model.refs, model.fingerprints):
        if run_fingerprint(ref.run_dir) != trained_with:
            raise ModelError(f"network {ref.name} ({ref.run_dir}) changed since this transfer model was trained; "
                             "rerun `agf transfer` to retrain the MLP on its new features")


def track_probabilities_many(workdir: Path | str, models: Sequence[TransferModel], track_ids: list[str], *,
                             device: str = "auto", progress: bool = True,
                             clock: StageClock | None = None) -> list[np.ndarray]:
    """Each model's ``(len(track_ids), n_genres)`` track distributions (the mean of each track's segment
    outputs), all in one pass over the segments of the networks the models use (one hop for all)."""
    for model in models:
        _check_networks(model)
    hops = {model.hop for model in models}
    if len(hops) != 1:
        raise ModelError(f"models of different segment hops ({sorted(hops)}) cannot be scored in one pass")
    torch_device = resolve_device(device)
    clock = clock or StageClock()
    union = list(dict.fromkeys(ref for model in models for ref in model.refs))
    with clock.stage("segment features"):
        features = extract_features(workdir, union, device=device, progress=progress, hop=hops.pop())
        x, track = features.select(track_ids)
    read = list(dict.fromkeys(model.statistics for model in models if model.statistics))
    if read:
        with clock.stage("track statistics"):
            raw = {settings: statistics_of(workdir, track_ids, settings, progress=progress)
                   for settings in {item.settings for item in read}}
        x, extra = with_statistics(x, track, read, raw)
    columns = [np.concatenate([features.columns([union.index(ref) for ref in model.refs]),
                               extra[read.index(model.statistics)] if model.statistics else np.zeros(0, np.int64)])
               for model in models]
    for model, cols in zip(models, columns):
        if len(cols) != model.mlp.n_inputs:
            raise ModelError(f"the networks (and statistics) give {len(cols)}-d features but the MLP expects "
                             f"{model.mlp.n_inputs}")
    with clock.stage("scoring", torch.cuda.synchronize if torch_device.type == "cuda" else None):
        probs = segment_probabilities_many([model.mlp for model in models], x, columns, device=torch_device)
        return [apply_temperature(track_means(p, track, len(track_ids)), model.temperature)
                for model, p in zip(models, probs)]


def track_probabilities(workdir: Path | str, model: TransferModel, track_ids: list[str], *, device: str = "auto",
                        progress: bool = True, clock: StageClock | None = None) -> np.ndarray:
    """``(len(track_ids), n_genres)`` track distributions: the mean of each track's segment outputs."""
    return track_probabilities_many(workdir, [model], track_ids, device=device, progress=progress, clock=clock)[0]


def evaluate_many(workdir: Path | str, models: Sequence[TransferModel], *, split: str = "valid",
                  device: str = "auto", progress: bool = True, clock: StageClock | None = None) -> list[Evaluation]:
    """:func:`evaluate` for many models of one genre set, scored in one pass."""
    tracks = load_tracks(Workdir(workdir))
    chosen = tracks[tracks["split"] == split].reset_index(drop=True)
    if chosen.empty:
        raise AgfError(f"{workdir}: no tracks in the {split!r} split to evaluate on "
                       f"(splits present: {', '.join(sorted(tracks['split'].unique()))})")
    probs = track_probabilities_many(workdir, models, list(chosen["track_id"]), device=device, progress=progress,
                                     clock=clock)
    evaluations = []
    for model, p in zip(models, probs):
        y_true = genre_indices(chosen["genre"], model.genres, f"{workdir} {split} tracks")
        table = pd.DataFrame({"track_id": chosen["track_id"], "genre": chosen["genre"],
                              "predicted": np.asarray(model.genres)[p.argmax(axis=1)]})
        table = pd.concat([table, pd.DataFrame(p, columns=list(model.genres))], axis=1)
        evaluations.append(Evaluation(scores=score(y_true, p, model.genres), tracks=table))
    return evaluations


def evaluate(workdir: Path | str, model: TransferModel | Path | str, *, split: str = "valid", device: str = "auto",
             progress: bool = True, clock: StageClock | None = None) -> Evaluation:
    """Score ``model`` (a :class:`TransferModel`, a transfer model folder or a bundle) on the tracks of ``split``."""
    if not isinstance(model, TransferModel):
        model = open_model(model, workdir)
    return evaluate_many(workdir, [model], split=split, device=device, progress=progress, clock=clock)[0]
