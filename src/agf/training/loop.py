"""The training loop: planned epochs of steps, per-epoch validation, log.csv and checkpoints.

STN and wSTN runs train a :class:`~agf.models.stacked.StackedDCNN` (k = number of tasks; one
network per task, each on its own batch of its own task with its own loss); MTN runs a
:class:`~agf.models.multitask.MultiTaskDCNN`, one randomly drawn task per step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from agf.atomic import write_csv
from agf.data.store import MelStore
from agf.device import autocast
from agf.errors import AgfError
from agf.models.dcnn import DCNN
from agf.models.multitask import MultiTaskDCNN
from agf.models.stacked import StackedDCNN
from agf.tasks import TASKS
from agf.timing import StageClock
from agf.training.checkpoint import (
    load_checkpoint,
    restore_rng,
    rng_state,
    save_checkpoint,
)
from agf.training.data import TaskData
from agf.training.loader import BatchLoader, store_fits
from agf.training.schedule import MultiTaskSchedule, SampleStream, StackedSchedule
from agf.training.settings import TrainOptions, TrainSettings

LOG_COLUMNS = ["epoch", "task", "train_loss", "valid_loss", "samples_per_s", "seconds"]
SYNC_EVERY = 20  # steps between host syncs (progress bar, NaN check): a sync per step stalls a GPU


class TrainingDiverged(AgfError):
    """The loss became NaN or infinite."""


def task_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in float32: against class indices ``(B,)`` or soft targets ``(B, C)``."""
    logits = logits.float()
    if targets.dtype.is_floating_point:
        return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    return F.cross_entropy(logits, targets)


def task_seed(seed: int, task: str) -> int:
    """A task's own seed, so the g network and g stream of a 5-task STN run equal those of a g-only run."""
    return int(np.random.SeedSequence([seed, TASKS.index(task)]).generate_state(1)[0])


def build_model(settings: TrainSettings, data: list[TaskData], width: float) -> nn.Module:
    """The initialised training model (seeded from ``settings.seed``)."""
    if settings.arch == "mtn":
        torch.manual_seed(settings.seed)
        return MultiTaskDCNN({d.task: d.n_outputs for d in data}, width=width)
    nets = []
    for d in data:
        torch.manual_seed(task_seed(settings.seed, d.task))
        nets.append(DCNN(d.n_outputs, width=width))
    return StackedDCNN.from_networks(nets)


def make_optimizer(model: nn.Module, settings: TrainSettings, device: torch.device) -> torch.optim.Adam:
    """Adam; the L2 penalty applies to conv and dense weights (ndim > 1), not to BN parameters or biases."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.Adam(groups, lr=settings.learning_rate, fused=device.type == "cuda")


@dataclass
class Progress:
    """What a checkpoint carries besides model and optimiser."""

    epoch: int = 0
    log: list[dict] = field(default_factory=list)
    finished: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # stacked tasks done early


def write_log(run_dir: Path, rows: list[dict]) -> None:
    write_csv(pd.DataFrame(rows, columns=LOG_COLUMNS), Path(run_dir) / "log.csv", float_format="%.6g")


class Trainer:
    """Trains one run's model from its data; resumable from ``run_dir/checkpoint.pt``."""

    def __init__(self, run_dir: Path, settings: TrainSettings, data: list[TaskData], store: MelStore,
                 mean: np.ndarray, std: np.ndarray, *, width: float, device: torch.device,
                 options: TrainOptions = TrainOptions(), clock: StageClock | None = None):
        self.run_dir, self.settings, self.data, self.store = Path(run_dir), settings, data, store
        self.device, self.width, self.options = device, width, options
        self.progress = options.progress
        self.clock = clock or StageClock()
        self.sync = torch.cuda.synchronize if device.type == "cuda" else None
        self.stacked = settings.arch != "mtn"
        # channels-last on every device, one layout for training and inference: the one cuDNN's convs
        # want, and on the CPU as fast as NCHW within the noise of a shared machine (0.91x-1.18x over
        # three runs of bench/bench_train.py); the loader sends batches in it
        self.model = build_model(settings, data, width).to(device, memory_format=torch.channels_last)
        self.optimizer = make_optimizer(self.model, settings, device)
        streams = [SampleStream(store.n_frames[d.rows], np.random.default_rng(task_seed(settings.seed, d.task)),
                                segment_frames=store.settings.segment_frames) for d in data]
        if self.stacked:
            self.schedule = StackedSchedule(streams, settings.batch_size, settings.total_epochs)
        else:
            self.schedule = MultiTaskSchedule(streams, settings.batch_size, np.random.default_rng(settings.seed),
                                              per_epoch=settings.mtn_draw == "epoch")
        on_device = options.store_on_device == "always" or (options.store_on_device == "auto"
                                                             and store_fits(store, device))
        self.loader = BatchLoader(store, data, mean, std, device, level=settings.level, stacked=self.stacked,
                                  on_device=on_device)
        self.forward = torch.compile(self.model) if options.compile_model else self.model
        self.state = Progress()
        self._last_checkpoint = time.monotonic()
        self._checkpointed_epoch = 0

    # -- resuming -----------------------------------------------------------------------------
    def resume(self) -> bool:
        saved = load_checkpoint(self.run_dir)
        if saved is None:
            return False
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.schedule.restore(saved["schedule"])
        restore_rng(saved["rng"], self.device)
        self.state = Progress(saved["epoch"], saved["log"], saved["finished"])
        self._checkpointed_epoch = saved["epoch"]
        return True

    def checkpoint(self) -> None:
        save_checkpoint(self.run_dir, {
            "epoch": self.state.epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state(), "rng": rng_state(self.device), "log": self.state.log,
            "finished": self.state.finished})
        self._last_checkpoint = time.monotonic()
        self._checkpointed_epoch = self.state.epoch

    # -- one step -----------------------------------------------------------------------------
    def step(self, x: torch.Tensor, targets: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        """One optimiser step; returns each trained task's (detached) loss."""
        with autocast(self.device):
            if self.stacked:
                outputs = self.forward(x)
                losses = {t: task_loss(outputs[t], y) for t, y in targets.items()}
            else:
                (t, y), = targets.items()
                losses = {t: task_loss(self.forward(x, self.data[t].task), y)}
        self.optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        self.optimizer.step()
        return {t: loss.detach() for t, loss in losses.items()}

    # -- epochs -------------------------------------------------------------------------------
    def train(self, on_epoch=None) -> None:
        """Run the remaining epochs; ``on_epoch(epoch)`` is called after each.

        The validation loss is computed every ``options.valid_every`` epochs and after the last;
        a checkpoint is written when ``options.checkpoint_seconds`` have passed since the last
        one, and after the last epoch. A checkpoint holds everything the next epoch depends on,
        so a run resumed from any of them ends with the weights of an uninterrupted run.
        """
        total = self.settings.total_epochs
        for epoch in range(self.state.epoch + 1, total + 1):
            with self.clock.stage("training steps", self.sync):
                train_losses, samples_per_s, seconds = self.train_epoch(epoch, total)
            if epoch % self.options.valid_every == 0 or epoch == total:
                with self.clock.stage("validation loss", self.sync):
                    valid_losses = self.validation_losses()
            else:
                valid_losses = [float("nan")] * len(self.data)
            for t, d in enumerate(self.data):
                self.state.log.append({"epoch": epoch, "task": d.task, "train_loss": train_losses[t],
                                       "valid_loss": valid_losses[t], "samples_per_s": samples_per_s,
                                       "seconds": seconds})
            self.state.epoch = epoch
            with self.clock.stage("checkpoints"):
                if epoch == total or time.monotonic() - self._last_checkpoint >= self.options.checkpoint_seconds:
                    self.checkpoint()
                write_log(self.run_dir, self.state.log)
            if on_epoch is not None:
                on_epoch(epoch)

    def train_epoch(self, epoch: int, total: int) -> tuple[list[float], float, float]:
        """Mean training loss per task (NaN when a task had no step), samples/s and seconds."""
        plan = self.schedule.plan()
        k = len(self.data)
        last_step = {}
        if self.stacked:  # tasks that finish in this epoch: keep their weights as of their last step
            for t in range(k):
                if self.schedule.finished(t) and self.data[t].task not in self.state.finished:
                    last_step[t] = max((i for i, s in enumerate(plan) if t in s.batches), default=-1)
        sums = torch.zeros(k, dtype=torch.float64, device=self.device)
        counts = np.zeros(k, np.int64)
        samples = 0
        self.model.train()
        started = time.perf_counter()
        bar = tqdm(total=len(plan), desc=f"{self.settings.arch} epoch {epoch}/{total}", unit="step",
                   disable=not self.progress, leave=False)
        for i, batch in enumerate(self.loader.batches(plan)):
            losses = self.step(batch.x, batch.targets)
            for t, loss in losses.items():
                sums[t] += loss
                counts[t] += 1
                samples += batch.x.shape[0]
            for t, step_index in last_step.items():
                if step_index == i:
                    self.state.finished[self.data[t].task] = self.model.network_state(t)
            if (i + 1) % SYNC_EVERY == 0 or i + 1 == len(plan):
                means = self._check_finite(sums, counts, epoch)
                bar.set_postfix(loss=f"{np.nanmean(means):.4f}",
                                samples_per_s=f"{samples / (time.perf_counter() - started):.0f}")
            bar.update()
        bar.close()
        seconds = time.perf_counter() - started
        return self._check_finite(sums, counts, epoch), samples / seconds, seconds

    def _check_finite(self, sums: torch.Tensor, counts: np.ndarray, epoch: int) -> list[float]:
        means = sums.cpu().numpy() / np.maximum(counts, 1)
        for t, d in enumerate(self.data):
            if counts[t] and not math.isfinite(means[t]):
                kept = (f"the checkpoint of epoch {self._checkpointed_epoch} in {self.run_dir} is kept"
                        if self._checkpointed_epoch else "no checkpoint had been written yet")
                raise TrainingDiverged(f"the loss of task {d.task!r} became {means[t]} in epoch {epoch}; {kept}. "
                                       "Check the data (NaN in the store?) or lower the learning rate")
        return [float(m) if c else float("nan") for m, c in zip(means, counts)]

    # -- validation ---------------------------------------------------------------------------
    @torch.no_grad()
    def validation_losses(self, batch_size: int = 256) -> list[float]:
        """Mean loss of each task's network on its fixed validation segments (NaN when there are none)."""
        losses = []
        for t, d in enumerate(self.data):
            if len(d.valid_rows) == 0:
                losses.append(float("nan"))
                continue
            net = self.task_network(t).eval()
            total = 0.0
            for lo in range(0, len(d.valid_rows), batch_size):
                crops = self.store.crops(d.valid_rows[lo:lo + batch_size], d.valid_starts[lo:lo + batch_size],
                                         frames=self.store.settings.segment_frames)
                batch = self.loader.to_device(torch.from_numpy(crops), {})
                with autocast(self.device):
                    logits = net(batch.x)
                y = torch.from_numpy(d.valid_targets[lo:lo + batch_size]).to(self.device)
                total += float(task_loss(logits, y)) * len(y)
            losses.append(total / len(d.valid_rows))
        self.model.train()
        return losses

    def task_network(self, t: int) -> nn.Module:
        """Task t's network as a module ``(B, 1, 128, 43) -> logits`` (shares weights unless stacked)."""
        task = self.data[t].task
        if not self.stacked:
            return self.model.network(task)
        with torch.random.fork_rng(devices=[]):  # a copy's initial weights must not move dropout's random stream
            net = DCNN(self.data[t].n_outputs, width=self.width)
        net.load_state_dict(self.state.finished.get(task) or self.model.network_state(t))
        net = net.to(self.device)
        return net.to(memory_format=torch.channels_last)

    def final_weights(self) -> dict[str, torch.Tensor]:
        """Trained weights in the run-file layout: ``<task>.<DCNN key>`` (STN/wSTN) or the MTN's own keys."""
        if not self.stacked:
            return {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        weights = {}
        for t, d in enumerate(self.data):
            state = self.state.finished.get(d.task) or self.model.network_state(t)
            weights.update({f"{d.task}.{k}": v.detach().cpu().contiguous() for k, v in state.items()})
        return weights
