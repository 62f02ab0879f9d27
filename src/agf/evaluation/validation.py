"""Scoring a transfer model on a split of the work directory's tracks (SPEC section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agf.device import resolve_device
from agf.errors import AgfError
from agf.evaluation.metrics import Scores, score
from agf.transfer.features import extract_features
from agf.transfer.mlp import segment_probabilities, track_means
from agf.transfer.model import ModelError, TransferModel
from agf.transfer.networks import run_fingerprint
from agf.workdir import Workdir


@dataclass(frozen=True)
class Evaluation:
    """The scores, and one row per track: ``track_id, genre, predicted`` then a column per genre."""

    scores: Scores
    tracks: pd.DataFrame


def track_probabilities(workdir: Path | str, model: TransferModel, track_ids: list[str], *, device: str = "auto",
                        progress: bool = True) -> np.ndarray:
    """``(len(track_ids), n_genres)`` track distributions: the mean of each track's segment outputs."""
    for ref, trained_with in zip(model.refs, model.fingerprints):
        if run_fingerprint(ref.run_dir) != trained_with:
            raise ModelError(f"network {ref.name} ({ref.run_dir}) changed since this transfer model was trained; "
                             "rerun `agf transfer` to retrain the MLP on its new features")
    torch_device = resolve_device(device)
    features = extract_features(workdir, list(model.refs), device=device, progress=progress, hop=model.hop)
    x, track = features.select(track_ids)
    if x.shape[1] != model.mlp.n_inputs:
        raise ModelError(f"the networks give {x.shape[1]}-d features but the MLP expects {model.mlp.n_inputs}")
    model.mlp.to(torch_device)
    return track_means(segment_probabilities(model.mlp, x, device=torch_device), track, len(track_ids))


def genre_indices(genres: pd.Series, known: tuple[str, ...], what: str) -> np.ndarray:
    """Class index of each genre name, or an error naming the genres the model does not know."""
    position = {g: i for i, g in enumerate(known)}
    unknown = sorted(set(genres) - set(position))
    if unknown:
        raise AgfError(f"{what}: genres {unknown} are not among the model's {list(known)}; "
                       "was the model trained on another dataset?")
    return genres.map(position).to_numpy(dtype=np.int64)


def evaluate_split(workdir: Path | str, model: TransferModel, *, split: str = "valid", device: str = "auto",
                   progress: bool = True) -> Evaluation:
    """Score ``model`` on the tracks of ``split`` (``valid`` by default) of the work directory."""
    tracks = Workdir(workdir).tracks()
    chosen = tracks[tracks["split"] == split].reset_index(drop=True)
    if chosen.empty:
        raise AgfError(f"{workdir}: no tracks in the {split!r} split to evaluate on "
                       f"(splits present: {', '.join(sorted(tracks['split'].unique()))})")
    y_true = genre_indices(chosen["genre"], model.genres, f"{workdir} {split} tracks")
    probs = track_probabilities(workdir, model, list(chosen["track_id"]), device=device, progress=progress)
    scores = score(y_true, probs, model.genres)
    table = pd.DataFrame({"track_id": chosen["track_id"], "genre": chosen["genre"],
                          "predicted": np.asarray(model.genres)[probs.argmax(axis=1)]})
    table = pd.concat([table, pd.DataFrame(probs, columns=list(model.genres))], axis=1)
    return Evaluation(scores=scores, tracks=table)
