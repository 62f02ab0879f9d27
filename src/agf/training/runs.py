"""Training runs on disk: where they live, training one (resuming if killed), and loading it back.

A finished run folder ``DIR/runs/<arch>-<tasks>`` holds

    settings.json         TrainSettings
    weights.safetensors   final weights, ``mean`` and ``std`` (128,), and in its metadata the
                          genre classes, each task's output count and the width multiplier
    log.csv               epoch, task, train_loss, valid_loss, samples_per_s, seconds

and, while it trains, ``checkpoint.pt`` (removed when the run finishes). Weight keys are
``<task>.<DCNN key>`` for STN / wSTN runs and the :class:`MultiTaskDCNN` keys for an MTN.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from agf.device import resolve_device
from agf.errors import AgfError
from agf.models.dcnn import DCNN, count_parameters
from agf.models.multitask import MultiTaskDCNN
from agf.models.width import match_width, setup_parameters
from agf.settings import ensure_settings, load_settings
from agf.training.checkpoint import CHECKPOINT
from agf.training.data import (
    TargetsLoader,
    genre_classes,
    load_task_data,
    standardisation,
)
from agf.training.loop import Trainer
from agf.training.settings import (
    TrainSettings,
    canonical_tasks,
    check_arch,
    train_settings_for,
)
from agf.workdir import MissingStep, Workdir

__all__ = ["TrainSettings", "TrainedRun", "load_run", "run_dir_for", "train", "train_settings_for", "wstn_width"]

WEIGHTS = "weights.safetensors"
SETTINGS = "settings.json"
AG_GROUPS = 40  # SPEC: LDA with 40 topics; used to size a wSTN when a task's factors are not built


def run_dir_for(workdir: Path | str, arch: str, tasks: Sequence[str]) -> Path:
    """``DIR/runs/<arch>-<tasks in g, s, e, d, m order>``, e.g. runs/stn-gsedm, runs/mtn-gm, runs/wstn-gsedm."""
    check_arch(arch)
    return Workdir(workdir).runs_dir / f"{arch}-{''.join(canonical_tasks(tasks))}"


@dataclass
class TrainedRun:
    run_dir: Path
    arch: str                       # 'stn' | 'mtn' | 'wstn'
    tasks: tuple[str, ...]          # tasks it has outputs for (wstn: ('g',))
    genres: tuple[str, ...]         # genre class names, output order of the g head
    mean: np.ndarray                # (128,) float32 per-mel-bin standardisation
    std: np.ndarray
    width: float = 1.0
    networks: dict[str, nn.Module] = field(default_factory=dict)  # STN / wSTN: task -> DCNN
    multitask: MultiTaskDCNN | None = None

    def network(self, task: str) -> nn.Module:
        """The task's full network ``(B, 1, 128, 43) -> logits`` in eval mode."""
        self._check(task)
        if self.multitask is not None:
            return _TaskView(self.multitask, task).eval()
        return self.networks[task].eval()

    def feature_extractor(self, task: str) -> nn.Module:
        """Eval-mode ``(B, 1, 128, 43)`` standardised segments -> ``(B, 256)`` features of ``task``'s network."""
        self._check(task)
        if self.multitask is not None:
            return self.multitask.feature_extractor(task).eval()
        net = self.networks[task]
        return nn.Sequential(net.stem, net.trunk).eval()

    def n_params(self) -> int:
        """Parameters of the run's networks (an MTN's shared stem counted once)."""
        if self.multitask is not None:
            return count_parameters(self.multitask)
        return sum(count_parameters(n) for n in self.networks.values())

    def _check(self, task: str) -> None:
        if task not in self.tasks:
            raise AgfError(f"{self.run_dir} has no network for task {task!r} (it has {', '.join(self.tasks)})")


class _TaskView(nn.Module):
    def __init__(self, model: MultiTaskDCNN, task: str):
        super().__init__()
        self.model, self.task = model, task

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.task)


def load_run(run_dir: Path | str, device: str | torch.device = "cpu") -> TrainedRun:
    """A finished run from ``settings.json`` and ``weights.safetensors`` alone (no pickle, no code).

    Raises:
        MissingStep: the run has not finished (no weights file yet).
    """
    run_dir = Path(run_dir)
    if not (run_dir / WEIGHTS).is_file() or not (run_dir / SETTINGS).is_file():
        raise MissingStep(f"{run_dir}: no finished training run here ({WEIGHTS} missing); "
                          f"run `agf train` for it first (rerunning it resumes an interrupted run)")
    settings = load_settings(TrainSettings, run_dir / SETTINGS)
    with safe_open(run_dir / WEIGHTS, framework="pt", device="cpu") as f:
        meta = json.loads(f.metadata()["agf"])
        state = {k: f.get_tensor(k) for k in f.keys()}
    n_outputs, width = meta["n_outputs"], float(meta["width"])
    run = TrainedRun(run_dir, settings.arch, settings.trained_tasks, tuple(meta["genres"]),
                     state.pop("mean").numpy(), state.pop("std").numpy(), width)
    if settings.arch == "mtn":
        model = MultiTaskDCNN({t: n_outputs[t] for t in run.tasks}, width=width)
        model.load_state_dict(state)
        run.multitask = model.to(device).eval()
    else:
        for task in run.tasks:
            net = DCNN(n_outputs[task], width=width)
            net.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(f"{task}.")})
            run.networks[task] = net.to(device).eval()
    return run


def _ag_targets_loader() -> TargetsLoader:
    from agf.factors.targets import load_targets

    return load_targets


def wstn_width(workdir: Path | str, settings: TrainSettings, n_genres: int,
               targets_loader: TargetsLoader | None = None) -> tuple[float, int, int]:
    """The wSTN's width multiplier: ``(width, its parameter count, the matched setup's count)``.

    AG heads are sized from the built factors where present, else 40 groups (SPEC).
    """
    loader = targets_loader or _ag_targets_loader()
    n_outputs = {}
    for task in settings.tasks:
        if task == "g":
            n_outputs[task] = n_genres
            continue
        try:
            n_outputs[task] = int(np.asarray(loader(workdir, task).targets).shape[1])
        except MissingStep:
            n_outputs[task] = AG_GROUPS
    target = setup_parameters(n_outputs, settings.wstn_match)
    width, count = match_width(target, n_genres)
    return width, count, target


def _check_prepared(wd: Workdir) -> None:
    if not wd.tracks_csv.exists() or not (wd.store_dir / "settings.json").exists():
        raise MissingStep(f"{wd.root}: no prepared data; run `agf prepare SOURCE --workdir {wd.root}` first")


def train(workdir: Path | str, *, tasks: Sequence[str], arch: str, settings: TrainSettings | None = None,
          device: str = "auto", progress: bool = True, targets_loader: TargetsLoader | None = None,
          compile_model: bool = False, on_epoch: Callable[[int], None] | None = None,
          run_name: str | None = None) -> Path:
    """Train (or resume, or reuse) the run ``arch`` over ``tasks``; returns its folder.

    ``settings`` default to :func:`train_settings_for` (200 epochs per STN). A finished run is
    returned as is; an interrupted one resumes from its last epoch checkpoint. ``targets_loader``
    replaces :func:`agf.factors.targets.load_targets` (tests). ``on_epoch(epoch)`` runs after
    each epoch's checkpoint. ``run_name`` replaces the default folder name :func:`run_dir_for`.
    """
    wd = Workdir(workdir)
    _check_prepared(wd)
    tasks = canonical_tasks(tasks)
    run_dir = wd.runs_dir / run_name if run_name else run_dir_for(wd.root, arch, tasks)
    if settings is None:
        saved = run_dir / SETTINGS
        settings = load_settings(TrainSettings, saved) if saved.exists() else train_settings_for(arch, tasks)
    if settings.arch != arch or settings.tasks != tasks:
        raise AgfError(f"settings are for {settings.arch} {''.join(settings.tasks)}, not {arch} {''.join(tasks)}")
    run_dir.mkdir(parents=True, exist_ok=True)
    ensure_settings(settings, run_dir / SETTINGS)
    if (run_dir / WEIGHTS).is_file():
        return run_dir
    loader = targets_loader or (_ag_targets_loader() if any(t != "g" for t in settings.trained_tasks) else None)
    torch_device = resolve_device(device)

    tracks = wd.tracks()
    store = wd.store()
    genres = genre_classes(tracks)
    data = [load_task_data(wd, store, tracks, task, genres, valid_segments=settings.valid_segments,
                           targets_loader=loader) for task in settings.trained_tasks]
    width = 1.0
    if arch == "wstn":
        width, count, target = wstn_width(wd.root, settings, len(genres), targets_loader)
        print(f"wSTN width x{width:.4f}: {count:,} parameters; the {len(settings.tasks)}-task "
              f"{settings.wstn_match.upper()} {''.join(settings.tasks)} has {target:,}")
    train_rows = store.row_of
    mean, std = standardisation(store, np.array([train_rows[t] for t in tracks.loc[tracks["split"] == "train", "track_id"]
                                                 if t in train_rows], dtype=np.int64))
    trainer = Trainer(run_dir, settings, data, store, mean, std, width=width, device=torch_device,
                      progress=progress, compile_model=compile_model)
    if trainer.resume() and progress:
        print(f"resuming {run_dir.name} after epoch {trainer.state.epoch} of {settings.total_epochs}")
    trainer.train(on_epoch=on_epoch)
    metadata = {"genres": list(genres), "n_outputs": {d.task: d.n_outputs for d in data}, "width": width,
                "arch": arch, "tasks": list(settings.trained_tasks)}
    weights = trainer.final_weights()
    weights["mean"], weights["std"] = torch.from_numpy(mean), torch.from_numpy(std)
    tmp = run_dir / (WEIGHTS + ".tmp")
    save_file(weights, tmp, metadata={"agf": json.dumps(metadata)})
    os.replace(tmp, run_dir / WEIGHTS)
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return run_dir
