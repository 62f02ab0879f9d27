"""A trained transfer model on disk: which networks feed the MLP, the MLP, the genres.

``DIR/transfer/<name>/`` holds::

    settings.json      MLPSettings the MLP was trained with
    model.json         networks (run folder relative to DIR, task, run fingerprint), genres, sizes, and
                       for a +b model the classical baseline it pools with and the pooling weight
    inputs.json        digests of what the MLP learned from (agf.provenance)
    mlp.safetensors    the MLP's weights
    val_probs.csv      per validation track: true genre, predicted genre, the distribution
    metrics.json, per_class.csv, confusion.csv, confusion.png   the validation scores (written
                       by the commands that score the model)

Everything is JSON or safetensors: loading a model never runs code from the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from agf.atomic import atomic_path, write_json
from agf.classifier.baseline import BaselineModel
from agf.classifier.mlp import TransferMLP
from agf.classifier.networks import NetworkRef
from agf.classifier.settings import MLPSettings
from agf.errors import AgfError, SettingsError
from agf.settings import load_settings, save_settings

MODEL_FORMAT = "agf-transfer-model"


class ModelError(AgfError):
    """A transfer model folder that is missing, incomplete or damaged."""


@dataclass
class TransferModel:
    """An experiment's networks (in feature order), the genre MLP on top, and its genre names; a +b model
    also pools its track distributions with the classical baseline's (agf.evaluation.pooling), the
    baseline weighing ``baseline_weight``."""

    refs: tuple[NetworkRef, ...]
    fingerprints: tuple[str, ...]  # run fingerprint of each ref when the MLP was trained
    genres: tuple[str, ...]
    mlp: TransferMLP
    settings: MLPSettings
    hop: int
    # divides the log-probabilities of its track distributions (agf.evaluation.calibration): 1 as
    # trained; a bundle's is fitted on the validation tracks
    temperature: float = 1.0
    baseline: BaselineModel | None = None
    baseline_weight: float = 0.0

    def describe(self) -> str:
        plus = f", pooled with the classical baseline (weight {self.baseline_weight:g})" if self.baseline else ""
        return f"{len(self.refs)} networks ({', '.join(r.name for r in self.refs)}) -> {len(self.genres)} genres{plus}"


def _relative(path: Path, root: Path) -> str:
    path, root = Path(path).resolve(), Path(root).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def model_description(model: TransferModel, runs_root: Path) -> dict:
    """The JSON-able description of ``model`` (model.json), run folders relative to ``runs_root``."""
    return {
        "format": MODEL_FORMAT,
        "networks": [{"run_dir": _relative(ref.run_dir, runs_root), "task": ref.task, "fingerprint": fp}
                     for ref, fp in zip(model.refs, model.fingerprints)],
        "genres": list(model.genres),
        "n_inputs": model.mlp.n_inputs,
        "hidden": model.mlp.hidden,
        "hop": model.hop,
        "baseline": ({"model": model.baseline.to_json(), "weight": model.baseline_weight} if model.baseline
                     else None),
    }


def save_mlp(mlp: TransferMLP, path: Path, *, metadata: dict[str, str] | None = None) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in mlp.state_dict().items()}, tmp, metadata=metadata)


def save_model(model: TransferModel, folder: Path, *, workdir: Path) -> None:
    folder = Path(folder)
    save_mlp(model.mlp, folder / "mlp.safetensors")
    save_settings(model.settings, folder / "settings.json")
    write_json(folder / "model.json", model_description(model, workdir))


def read_json(path: Path, what: str) -> dict:
    """A JSON object from ``path``, or a :class:`ModelError` saying what is wrong with it."""
    if not path.is_file():
        raise ModelError(f"{path.parent}: {path.name} missing: not a complete {what}")
    try:
        payload = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"{path}: damaged ({err}); rebuild the {what}") from None
    if not isinstance(payload, dict):
        raise ModelError(f"{path}: damaged (not a JSON object); rebuild the {what}")
    return payload


def load_mlp(path: Path, *, n_inputs: int, hidden: int, n_genres: int, what: str) -> TransferMLP:
    """The MLP from its safetensors file, checked against the sizes its description promises."""
    if not path.is_file():
        raise ModelError(f"{path.parent}: {path.name} missing: not a complete {what}")
    try:
        state = load_file(path)
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise ModelError(f"{path}: damaged ({err}); rebuild the {what}") from None
    mlp = TransferMLP(n_inputs, n_genres, hidden=hidden)
    try:
        mlp.load_state_dict(state)
    except RuntimeError as err:
        raise ModelError(f"{path}: weights do not fit the described MLP ({str(err).splitlines()[0]})") from None
    return mlp.eval()


def load_model(folder: Path, *, workdir: Path) -> TransferModel:
    """Read a transfer model written by :func:`save_model`; run folders resolve under ``workdir``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such transfer model folder; run `agf transfer` first")
    what = "transfer model (rerun `agf transfer`)"
    meta = read_json(folder / "model.json", what)
    if meta.get("format") != MODEL_FORMAT:
        raise ModelError(f"{folder}/model.json is not a transfer model description")
    try:
        settings = load_settings(MLPSettings, folder / "settings.json")
        refs = tuple(NetworkRef(Path(workdir) / n["run_dir"], n["task"]) for n in meta["networks"])
        fingerprints = tuple(n["fingerprint"] for n in meta["networks"])
        genres = tuple(meta["genres"])
        mlp = load_mlp(folder / "mlp.safetensors", n_inputs=int(meta["n_inputs"]), hidden=int(meta["hidden"]),
                       n_genres=len(genres), what=what)
        hop = int(meta["hop"])
        # models of agf before the +b cases have no key: networks only
        pooled = meta.get("baseline")
        baseline = BaselineModel.from_json(pooled["model"]) if pooled else None
        weight = float(pooled["weight"]) if pooled else 0.0
    except (KeyError, TypeError, ValueError, FileNotFoundError, json.JSONDecodeError, SettingsError) as err:
        raise ModelError(f"{folder}: incomplete model description ({type(err).__name__}: {err}); {what}") from None
    return TransferModel(refs=refs, fingerprints=fingerprints, genres=genres, mlp=mlp, settings=settings, hop=hop,
                         baseline=baseline, baseline_weight=weight)

