"""Training the transfer MLP of one experiment: its networks' segment features -> genre (SPEC section 4).

Only the segments of tracks in the ``train`` split reach the MLP. The model is saved as
``DIR/transfer/<name>/`` with a record of what it learned from (the store, the tracks, each
network's fingerprint), so it is reused while those are unchanged and retrained otherwise.
Scoring it is the caller's next step (:func:`agf.classifier.scoring.evaluate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agf.audio.segments import segment_starts
from agf.classifier.features import extract_features
from agf.classifier.mlp import train_mlps
from agf.classifier.model import TransferModel, load_model, save_model
from agf.classifier.networks import NetworkRef, run_fingerprint
from agf.classifier.settings import MLPSettings
from agf.data.tables import (
    genre_classes,
    genre_indices,
    load_tracks,
    open_store,
    tracks_fingerprint,
)
from agf.device import resolve_device
from agf.errors import AgfError
from agf.models.dcnn import scaled_widths
from agf.provenance import changed_inputs, record_inputs
from agf.settings import ensure_settings, replace_settings
from agf.timing import StageClock
from agf.training.runs import load_run
from agf.workdir import Workdir

INPUTS = "inputs.json"


def network_input_name(ref: NetworkRef) -> str:
    """How a network is named among a model's inputs, e.g. ``network stn-m (task m)``."""
    return f"network {Path(ref.run_dir).name} (task {ref.task})"


def default_name(refs: list[NetworkRef]) -> str:
    """``stn-gm`` for STN g + STN m, ``mtn-gm`` for an MTN's branches, else the networks' names."""
    run_names = [Path(r.run_dir).name for r in refs]
    archs = {name.split("-")[0] for name in run_names}
    tasks = "".join(r.task for r in refs)
    if archs == {"stn"}:
        return f"stn-{tasks}"
    if len(set(run_names)) == 1:
        run_name = run_names[0]
        return run_name if run_name.partition("-")[2] == tasks or archs == {"wstn"} else f"{run_name}-{tasks}"
    return "+".join(r.name for r in refs)


def transfer(workdir: Path | str, refs: list[NetworkRef], *, name: str | None = None,
             settings: MLPSettings = MLPSettings(), device: str = "auto", progress: bool = True,
             retrain_on_other_settings: bool = False, log: Callable[[str], None] = print,
             clock: StageClock | None = None) -> TransferModel:
    """The transfer model of the experiment ``refs``, trained (or reused) in ``DIR/transfer/<name>/``.

    ``name`` defaults to :func:`default_name`. A model trained with the same settings from the
    same store, tracks and networks is loaded, not retrained; a stale one is retrained and
    ``log`` says which input changed.

    Raises:
        SettingsMismatch: the folder holds a model trained with other settings (unless
            ``retrain_on_other_settings``, which retrains it with the asked ones, as the grid does).
    """
    name = name or default_name(refs)
    return transfer_many(workdir, {name: refs}, settings=settings, device=device, progress=progress,
                         retrain_on_other_settings=retrain_on_other_settings, log=log, clock=clock)[name]


def transfer_many(workdir: Path | str, experiments: Mapping[str, list[NetworkRef]], *,
                  settings: MLPSettings = MLPSettings(), device: str = "auto", progress: bool = True,
                  retrain_on_other_settings: bool = False, log: Callable[[str], None] = print,
                  clock: StageClock | None = None, max_feature_bytes: int = 4 << 30) -> dict[str, TransferModel]:
    """:func:`transfer` for many experiments (name -> networks) at once: the MLPs of every stale one
    are trained together, one pass over the training segments per epoch (:func:`train_mlps`),
    each learning what it would learn alone.

    The training segments' features of all the networks involved are held at once (float16); when
    they would take more than ``max_feature_bytes``, the experiments are trained in groups.
    Returns the models in the order of ``experiments``.
    """
    wd = Workdir(workdir)
    tracks, store = load_tracks(wd), open_store(wd)
    clock = clock or StageClock()
    models: dict[str, TransferModel] = {}
    todo: dict[str, tuple[list[NetworkRef], dict[str, str]]] = {}
    for name, refs in experiments.items():
        folder = wd.transfer_dir(name)
        if retrain_on_other_settings and (diff := replace_settings(settings, folder / "settings.json")):
            log(f"{folder.name}: trained with other settings ({diff}); retraining")
            (folder / "mlp.safetensors").unlink(missing_ok=True)
        ensure_settings(settings, folder / "settings.json")
        inputs = {"store": store.fingerprint(), "tracks": tracks_fingerprint(tracks),
                  **{network_input_name(ref): run_fingerprint(ref.run_dir) for ref in refs}}
        if (folder / "mlp.safetensors").is_file():
            changed = changed_inputs(folder / INPUTS, inputs)
            if not changed:
                models[name] = load_model(folder, workdir=wd.root)
                continue
            log(f"{folder.name}: trained on other {', '.join(changed)} than the work directory has now; retraining")
        todo[name] = (list(refs), inputs)
    if todo:
        train = tracks[tracks["split"] == "train"].reset_index(drop=True)
        if train.empty:
            raise AgfError(f"{wd.root}: no training tracks; `agf prepare` assigns them")
        for group in _groups(todo, len(train), store, settings.hop, max_feature_bytes):
            models.update(_train_group(wd, {name: todo[name] for name in group}, train, tracks, settings,
                                       device=device, progress=progress, clock=clock))
    return {name: models[name] for name in experiments}


def _groups(todo: Mapping[str, tuple[list[NetworkRef], dict]], n_train_tracks: int, store, hop: int,
            max_bytes: int) -> list[list[str]]:
    """The experiments in order, cut into groups whose networks' training features fit in ``max_bytes``
    (float16 features of each network's feature width, at the store's mean segments per track)."""
    per_track = np.mean([len(segment_starts(int(n), segment_frames=store.settings.segment_frames, hop=hop))
                         for n in store.n_frames])
    widths: dict[Path, int] = {}  # a wSTN's feature is wider than 256
    for refs, _ in todo.values():
        for ref in refs:
            run_dir = Path(ref.run_dir).resolve()
            if run_dir not in widths:
                widths[run_dir] = scaled_widths(load_run(run_dir).width).dense
    groups: list[list[str]] = []
    networks: set = set()

    def size(keys: set) -> float:
        return sum(n_train_tracks * per_track * widths[run_dir] * 2 for run_dir, _ in keys)

    for name, (refs, _) in todo.items():
        keys = {(Path(r.run_dir).resolve(), r.task) for r in refs}
        if groups and size(networks | keys) <= max_bytes:
            groups[-1].append(name)
            networks |= keys
        else:
            groups.append([name])
            networks = set(keys)
    return groups


def _train_group(wd: Workdir, todo: Mapping[str, tuple[list[NetworkRef], dict]], train: pd.DataFrame,
                 tracks: pd.DataFrame, settings: MLPSettings, *, device: str, progress: bool,
                 clock: StageClock) -> dict[str, TransferModel]:
    """Train the MLPs of ``todo`` together on the union of their networks' features, and save each."""
    union = list(dict.fromkeys(ref for refs, _ in todo.values() for ref in refs))
    with clock.stage("segment features"):
        features = extract_features(wd.root, union, device=device, progress=progress, hop=settings.hop)
        x, track = features.select(list(train["track_id"]))
    genres = genre_classes(tracks)
    y = genre_indices(train["genre"], genres, "training tracks")[track]
    columns = [features.columns([union.index(ref) for ref in refs]) for refs, _ in todo.values()]
    with clock.stage("MLP training"):
        mlps = train_mlps(x, y, columns, len(genres), settings, device=resolve_device(device), progress=progress)
    models = {}
    for (name, (refs, inputs)), mlp in zip(todo.items(), mlps):
        models[name] = TransferModel(refs=tuple(refs), fingerprints=tuple(run_fingerprint(r.run_dir) for r in refs),
                                     genres=genres, mlp=mlp.cpu(), settings=settings, hop=settings.hop)
        save_model(models[name], wd.transfer_dir(name), workdir=wd.root)
        record_inputs(wd.transfer_dir(name) / INPUTS, inputs)
    return models
