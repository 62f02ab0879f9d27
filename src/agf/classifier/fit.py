"""Training the transfer MLP of one experiment: its networks' segment features -> genre (SPEC section 4).

Only the segments of tracks in the ``train`` split reach the MLP. The model is saved as
``DIR/transfer/<name>/`` with a record of what it learned from (the store, the tracks, each
network's fingerprint), so it is reused while those are unchanged and retrained otherwise.
Scoring it is the caller's next step (:func:`agf.classifier.scoring.evaluate`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agf.classifier.features import extract_features
from agf.classifier.mlp import train_mlp
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
from agf.provenance import changed_inputs, record_inputs
from agf.settings import ensure_settings, replace_settings
from agf.timing import StageClock
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
    wd = Workdir(workdir)
    tracks, store = load_tracks(wd), open_store(wd)
    folder = wd.transfer_dir(name or default_name(refs))
    if retrain_on_other_settings and (diff := replace_settings(settings, folder / "settings.json")):
        log(f"{folder.name}: trained with other settings ({diff}); retraining")
        (folder / "mlp.safetensors").unlink(missing_ok=True)
    ensure_settings(settings, folder / "settings.json")
    inputs = {"store": store.fingerprint(), "tracks": tracks_fingerprint(tracks),
              **{network_input_name(ref): run_fingerprint(ref.run_dir) for ref in refs}}
    if (folder / "mlp.safetensors").is_file():
        changed = changed_inputs(folder / INPUTS, inputs)
        if not changed:
            return load_model(folder, workdir=wd.root)
        log(f"{folder.name}: trained on other {', '.join(changed)} than the work directory has now; retraining")
    train = tracks[tracks["split"] == "train"].reset_index(drop=True)
    if train.empty:
        raise AgfError(f"{wd.root}: no training tracks; `agf prepare` assigns them")
    clock = clock or StageClock()
    with clock.stage("segment features"):
        features = extract_features(wd.root, refs, device=device, progress=progress, hop=settings.hop)
        genres = genre_classes(tracks)
        x, track = features.select(list(train["track_id"]))
    y = genre_indices(train["genre"], genres, "training tracks")[track]
    with clock.stage("MLP training"):
        mlp = train_mlp(x, y, len(genres), settings, device=resolve_device(device), progress=progress)
    model = TransferModel(refs=tuple(refs), fingerprints=tuple(run_fingerprint(r.run_dir) for r in refs),
                          genres=genres, mlp=mlp.cpu(), settings=settings, hop=settings.hop)
    save_model(model, folder, workdir=wd.root)
    record_inputs(folder / INPUTS, inputs)
    return model
