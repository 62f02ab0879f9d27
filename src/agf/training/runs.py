"""Training runs on disk: where they live, training one (resuming if killed), and loading it back.

A finished run folder ``DIR/runs/<arch>-<tasks>`` holds

    settings.json         TrainSettings
    inputs.json           digests of what it learned from: the store, the tracks table (ids,
                          splits, genres, artists) and each AG task's targets
    weights.safetensors   final weights, ``mean`` and ``std`` (n_mels,), and in its metadata the
                          genre classes, each task's output count and the width multiplier
    log.csv               epoch, task, train_loss, valid_loss, samples_per_s, seconds

and, while it trains, ``checkpoint.pt`` (removed when the run finishes; a damaged one is dropped
and the run trains from the start, one that agf did not write is refused). Weight keys are
``<task>.<DCNN key>`` for STN / wSTN runs and the :class:`MultiTaskDCNN` keys for an MTN.

A finished run is reused only while its inputs are what it learned from: rebuild the factors,
re-prepare the store or change the split, and the next ``train`` says which input changed and
retrains the run (a checkpoint made from other inputs is dropped, not resumed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from agf.atomic import atomic_path
from agf.data.store import MelStore
from agf.data.tables import genre_classes, load_tracks, open_store, tracks_fingerprint
from agf.device import resolve_device
from agf.errors import AgfError, MissingStep
from agf.factors.targets import TaskTargets, load_targets
from agf.models.dcnn import DCNN, count_parameters
from agf.models.multitask import MultiTaskDCNN
from agf.models.width import match_width, setup_parameters
from agf.provenance import changed_inputs, record_inputs
from agf.settings import ensure_settings, load_settings, replace_settings
from agf.tasks import GENRE_TASK, parse_tasks, setup_name
from agf.timing import StageClock
from agf.training.checkpoint import CHECKPOINT, DamagedCheckpoint
from agf.training.data import load_task_data, standardisation
from agf.training.loop import Trainer
from agf.training.settings import TrainOptions, TrainSettings, train_settings_for
from agf.workdir import Workdir

TargetsLoader = Callable[[Path, str], TaskTargets]  # (workdir, AG task) -> its targets


WEIGHTS = "weights.safetensors"
SETTINGS = "settings.json"
INPUTS = "inputs.json"
AG_GROUPS = 40  # SPEC: LDA with 40 topics; used to size a wSTN when a task's factors are not built


def run_dir_for(workdir: Path | str, arch: str, tasks: str | Sequence[str]) -> Path:
    """``DIR/runs/<arch>-<tasks in g, s, e, d, m order>``, e.g. runs/stn-gsedm, runs/mtn-gm, runs/wstn-gsedm."""
    return Workdir(workdir).run_dir(setup_name(arch, tasks))


@dataclass
class TrainedRun:
    run_dir: Path
    arch: str                       # 'stn' | 'mtn' | 'wstn'
    tasks: tuple[str, ...]          # tasks it has outputs for (wstn: ('g',))
    genres: tuple[str, ...]         # genre class names, output order of the g head
    mean: np.ndarray                # (128,) float32 per-mel-bin standardisation
    std: np.ndarray
    level: str = "segment"          # agf.models.levels.LEVELS: how the networks' input was levelled
    width: float = 1.0
    networks: dict[str, nn.Module] = field(default_factory=dict)  # STN / wSTN: task -> DCNN
    multitask: MultiTaskDCNN | None = None

    def network(self, task: str) -> nn.Module:
        """The task's network in eval mode: ``forward`` gives its logits, ``embed`` its 256-d feature."""
        self._check(task)
        if self.multitask is not None:
            return self.multitask.network(task).eval()
        return self.networks[task].eval()

    def n_params(self) -> int:
        """Parameters of the run's networks (an MTN's shared stem counted once)."""
        if self.multitask is not None:
            return count_parameters(self.multitask)
        return sum(count_parameters(n) for n in self.networks.values())

    def _check(self, task: str) -> None:
        if task not in self.tasks:
            raise AgfError(f"{self.run_dir} has no network for task {task!r} (it has {', '.join(self.tasks)})")


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
                     state.pop("mean").numpy(), state.pop("std").numpy(), settings.level, width)
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


def wstn_width(workdir: Path | str, settings: TrainSettings, n_genres: int,
               targets_loader: TargetsLoader = load_targets) -> tuple[float, int, int]:
    """The wSTN's width multiplier: ``(width, its parameter count, the matched setup's count)``.

    AG heads are sized from the built factors where present, else 40 groups (SPEC).
    """
    n_outputs = {}
    for task in settings.tasks:
        if task == GENRE_TASK:
            n_outputs[task] = n_genres
            continue
        try:
            n_outputs[task] = int(np.asarray(targets_loader(Path(workdir), task).targets).shape[1])
        except MissingStep:
            n_outputs[task] = AG_GROUPS
    target = setup_parameters(n_outputs, settings.wstn_match)
    width, count = match_width(target, n_genres)
    return width, count, target


def run_inputs(store: MelStore, tracks: pd.DataFrame, ag_targets: dict[str, TaskTargets]) -> dict[str, str]:
    """Digests of everything a run learns from (recorded in its ``inputs.json``)."""
    return {"store": store.fingerprint(), "tracks": tracks_fingerprint(tracks),
            **{f"targets of task {task}": targets.fingerprint() for task, targets in ag_targets.items()}}


def stale_inputs(run_dir: Path, inputs: dict[str, str]) -> list[str]:
    """What changed since the run at ``run_dir`` learned (empty: it is up to date, or it has not started)."""
    if not (run_dir / WEIGHTS).is_file() and not (run_dir / CHECKPOINT).is_file():
        return []
    return changed_inputs(run_dir / INPUTS, inputs)


def _forget_training(run_dir: Path) -> None:
    """Remove a stale run's weights, checkpoint and log (its settings stay: they are still the asked ones)."""
    for name in (WEIGHTS, CHECKPOINT, "log.csv", INPUTS):
        (run_dir / name).unlink(missing_ok=True)


def train(workdir: Path | str, *, tasks: str | Sequence[str], arch: str, settings: TrainSettings | None = None,
          device: str = "auto", progress: bool = True, options: TrainOptions | None = None,
          targets_loader: TargetsLoader = load_targets, on_epoch: Callable[[int], None] | None = None,
          run_name: str | None = None, retrain_on_other_settings: bool = False,
          log: Callable[[str], None] = print, clock: StageClock | None = None) -> Path:
    """Train (or resume, or reuse) the run ``arch`` over ``tasks``; returns its folder.

    ``settings`` default to :func:`train_settings_for` (200 epochs per STN); ``options`` say how
    the run is carried out (checkpoint interval, validation interval; default ``TrainOptions()``
    with ``progress``). A finished run is returned as is while its inputs are unchanged; a stale
    one is retrained (``log`` says why); an interrupted one resumes from its last checkpoint.
    ``clock`` receives the time of each part of training. ``targets_loader`` replaces
    :func:`agf.factors.targets.load_targets` (tests). ``on_epoch(epoch)`` runs after each
    epoch's checkpoint. ``run_name`` replaces the default folder name :func:`run_dir_for`.

    Raises:
        SettingsMismatch: the run folder holds a run made with other settings (unless
            ``retrain_on_other_settings``, which retrains it with the asked ones, as the grid does).
    """
    wd = Workdir(workdir)
    tracks, store = load_tracks(wd), open_store(wd)
    tasks = parse_tasks(tasks)
    run_dir = wd.run_dir(run_name or setup_name(arch, tasks))
    if settings is None:
        saved = run_dir / SETTINGS
        settings = load_settings(TrainSettings, saved) if saved.exists() else train_settings_for(arch, tasks)
    if settings.arch != arch or settings.tasks != tasks:
        raise AgfError(f"settings are for {settings.arch} {''.join(settings.tasks)}, not {arch} {''.join(tasks)}")
    run_dir.mkdir(parents=True, exist_ok=True)
    if retrain_on_other_settings and (diff := replace_settings(settings, run_dir / SETTINGS)):
        log(f"{run_dir.name}: made with other settings ({diff}); retraining")
        _forget_training(run_dir)
    ensure_settings(settings, run_dir / SETTINGS)
    ag_targets = {t: targets_loader(wd.root, t) for t in settings.trained_tasks if t != GENRE_TASK}
    inputs = run_inputs(store, tracks, ag_targets)
    stale = stale_inputs(run_dir, inputs)
    if stale:
        log(f"{run_dir.name}: trained on other {', '.join(stale)} than the work directory has now; retraining")
        _forget_training(run_dir)
    elif (run_dir / WEIGHTS).is_file():
        return run_dir
    record_inputs(run_dir / INPUTS, inputs)  # before the first checkpoint, so a resume can check it
    torch_device = resolve_device(device)
    clock = clock or StageClock()
    genres = genre_classes(tracks)
    width = 1.0
    if arch == "wstn":
        width, count, target = wstn_width(wd.root, settings, len(genres), targets_loader)
        log(f"wSTN width x{width:.4f}: {count:,} parameters; the {len(settings.tasks)}-task "
            f"{settings.wstn_match.upper()} {''.join(settings.tasks)} has {target:,}")
    with clock.stage("training data and standardisation"):
        data = [load_task_data(wd, store, tracks, task, genres, valid_segments=settings.valid_segments,
                               ag_targets=ag_targets.get(task)) for task in settings.trained_tasks]
        train_ids = tracks.loc[tracks["split"] == "train", "track_id"]
        mean, std = standardisation(store, np.array([store.row_of[t] for t in train_ids if t in store.row_of],
                                                    dtype=np.int64), level=settings.level)
    options = options or TrainOptions(progress=progress)
    trainer = Trainer(run_dir, settings, data, store, mean, std, width=width, device=torch_device, options=options,
                      clock=clock)
    try:
        resumed = trainer.resume()
    except DamagedCheckpoint as err:  # nothing to resume from, and nothing in it to fear: train anew
        log(f"{err}; dropped it, training {run_dir.name} from the start")
        (run_dir / CHECKPOINT).unlink()
        resumed = False
    if resumed and options.progress:
        log(f"resuming {run_dir.name} after epoch {trainer.state.epoch} of {settings.total_epochs}")
    trainer.train(on_epoch=on_epoch)
    metadata = {"genres": list(genres), "n_outputs": {d.task: d.n_outputs for d in data}, "width": width,
                "arch": arch, "tasks": list(settings.trained_tasks)}
    weights = trainer.final_weights()
    weights["mean"], weights["std"] = torch.from_numpy(mean), torch.from_numpy(std)
    with atomic_path(run_dir / WEIGHTS) as tmp:
        save_file(weights, tmp, metadata={"agf": json.dumps(metadata)})
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return run_dir
