"""Scoring a transfer model on a split of the work directory's tracks (SPEC section 5).

A track's distribution is the mean of its segments' softmax outputs (for a ``+b`` model, pooled
with the classical baseline's distribution of the track); the metrics come from
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
from agf.classifier.statistics import statistics_of
from agf.data.tables import genre_indices, load_tracks
from agf.device import resolve_device
from agf.errors import AgfError
from agf.evaluation.calibration import apply_temperature
from agf.evaluation.metrics import Scores, score
from agf.evaluation.pooling import pool
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
    columns = [features.columns([union.index(ref) for ref in model.refs]) for model in models]
    for model, cols in zip(models, columns):
        if len(cols) != model.mlp.n_inputs:
            raise ModelError(f"the networks give {len(cols)}-d features but the MLP expects {model.mlp.n_inputs}")
    with clock.stage("scoring", torch.cuda.synchronize if torch_device.type == "cuda" else None):
        probs = segment_probabilities_many([model.mlp for model in models], x, columns, device=torch_device)
        tracks = [track_means(p, track, len(track_ids)) for p in probs]
    statistics = {}
    if pooled := {model.baseline.statistics for model in models if model.baseline}:
        with clock.stage("track statistics"):
            statistics = {settings: statistics_of(workdir, track_ids, settings, progress=progress)
                          for settings in pooled}
    return [apply_temperature(pool(p, model.baseline.probabilities(statistics[model.baseline.statistics]),
                                   model.baseline_weight) if model.baseline else p, model.temperature)
            for model, p in zip(models, tracks)]


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
    return [evaluation_of(chosen, p, model.genres, f"{workdir} {split} tracks") for model, p in zip(models, probs)]


def evaluation_of(tracks: pd.DataFrame, probs: np.ndarray, genres: tuple[str, ...], what: str) -> Evaluation:
    """The evaluation of distributions ``probs`` (columns in ``genres`` order) of ``tracks`` (``track_id``,
    ``genre``); ``what`` names the tracks in an error."""
    tracks = tracks.reset_index(drop=True)
    y_true = genre_indices(tracks["genre"], genres, what)
    table = pd.DataFrame({"track_id": tracks["track_id"], "genre": tracks["genre"],
                          "predicted": np.asarray(genres)[probs.argmax(axis=1)]})
    table = pd.concat([table, pd.DataFrame(probs, columns=list(genres))], axis=1)
    return Evaluation(scores=score(y_true, probs, genres), tracks=table)


def evaluate(workdir: Path | str, model: TransferModel | Path | str, *, split: str = "valid", device: str = "auto",
             progress: bool = True, clock: StageClock | None = None) -> Evaluation:
    """Score ``model`` (a :class:`TransferModel`, a transfer model folder or a bundle) on the tracks of ``split``."""
    if not isinstance(model, TransferModel):
        model = open_model(model, workdir)
    return evaluate_many(workdir, [model], split=split, device=device, progress=progress, clock=clock)[0]
