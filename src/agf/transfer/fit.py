"""One transfer experiment end to end: features -> MLP on training tracks -> validation scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agf.device import resolve_device
from agf.errors import AgfError
from agf.evaluation.metrics import Scores
from agf.evaluation.report import write_report
from agf.evaluation.validation import evaluate_split, genre_indices
from agf.settings import ensure_settings
from agf.transfer.features import extract_features
from agf.transfer.mlp import MLPSettings, train_mlp
from agf.transfer.model import TransferModel, save_model
from agf.transfer.networks import NetworkRef, run_fingerprint
from agf.workdir import Workdir


@dataclass(frozen=True)
class TransferResult:
    folder: Path
    model: TransferModel
    scores: Scores | None  # None when the work directory has no validation tracks


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
             settings: MLPSettings = MLPSettings(), device: str = "auto", progress: bool = True) -> TransferResult:
    """Train the transfer MLP of the experiment ``refs`` and write ``DIR/transfer/<name>/``.

    Only the segments of tracks in the ``train`` split reach the MLP; the ``valid`` tracks are
    scored afterwards (val_probs.csv and the report files beside the model).
    """
    wd = Workdir(workdir)
    tracks = wd.tracks()
    folder = wd.root / "transfer" / (name or default_name(refs))
    ensure_settings(settings, folder / "settings.json")
    torch_device = resolve_device(device)
    features = extract_features(wd.root, refs, device=device, progress=progress, hop=settings.hop)
    genres = tuple(sorted(tracks["genre"].unique()))
    train = tracks[tracks["split"] == "train"].reset_index(drop=True)
    if train.empty:
        raise AgfError(f"{wd.root}: no training tracks; `agf prepare` assigns them")
    x, track = features.select(list(train["track_id"]))
    y = genre_indices(train["genre"], genres, "training tracks")[track]
    mlp = train_mlp(x, y, len(genres), settings, device=torch_device, progress=progress)
    model = TransferModel(refs=tuple(refs), fingerprints=tuple(run_fingerprint(r.run_dir) for r in refs),
                          genres=genres, mlp=mlp.cpu(), settings=settings, hop=settings.hop)
    save_model(model, folder, workdir=wd.root)
    if not (tracks["split"] == "valid").any():
        return TransferResult(folder=folder, model=model, scores=None)
    evaluation = evaluate_split(wd.root, model, split="valid", device=device, progress=progress)
    evaluation.tracks.to_csv(folder / "val_probs.csv", index=False, float_format="%.6f")
    write_report(evaluation.scores, folder, extra={"model": str(folder), "split": "valid",
                                                   "networks": [r.name for r in refs]},
                 title=f"{folder.name}: {evaluation.scores.describe()}")
    return TransferResult(folder=folder, model=model, scores=evaluation.scores)

