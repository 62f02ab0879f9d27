"""Turning planned steps into batches, so the device never waits on the store.

Two sources of crops, the same batches from either:

- the host store (the default on CPU, or when the store does not fit on the GPU): background
  threads gather the crops from the float16 memmap (numpy fancy indexing releases the GIL for
  the copy), and on CUDA put them in pinned memory; the main thread issues a non-blocking copy;
- the store on the device (:class:`DeviceCrops`, the default on CUDA when the store fits in
  half the free GPU memory): the whole store is one tensor there and each step's crops are cut
  by index arithmetic on the device, with no host round trip per batch.

Either way the crops become network input on the device (:func:`agf.models.input.network_input`),
and steps come back in plan order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from agf.data.store import MelStore
from agf.models.input import network_input
from agf.training.data import TaskData
from agf.training.schedule import Step


@dataclass
class Batch:
    """``x``: standardised ``(B, channels, 128, 43)`` on the device (channel i = stacked network i,
    or 1 channel for an MTN step); ``targets[t]`` for each task index t that trains in this step."""

    x: torch.Tensor
    targets: dict[int, torch.Tensor]


def store_fits(store: MelStore, device: torch.device, *, share: float = 0.5) -> bool:
    """Whether the whole store fits in ``share`` of the device's free memory (CUDA only)."""
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return store.mel.nbytes <= share * free


class DeviceCrops:
    """The whole store as one float16 tensor on ``device``; crops are cut there by index arithmetic."""

    def __init__(self, store: MelStore, device: torch.device, *, chunk_frames: int = 1 << 20):
        self.device = device
        self.mel = torch.empty(store.mel.shape, dtype=torch.float16, device=device)
        for lo in range(0, len(store.mel), chunk_frames):  # in chunks: never the whole store twice in host memory
            self.mel[lo:lo + chunk_frames] = torch.from_numpy(np.array(store.mel[lo:lo + chunk_frames]))
        self.offsets = torch.from_numpy(store.offsets).to(device)
        self.window = torch.arange(store.settings.segment_frames, device=device)

    def crops(self, rows: np.ndarray, starts: np.ndarray) -> torch.Tensor:
        """``(len(rows), frames, n_mels)`` float16 on the device: track ``rows[k]`` from frame ``starts[k]``."""
        first = self.offsets[torch.from_numpy(rows).to(self.device)] + torch.from_numpy(starts).to(self.device)
        return self.mel[first[:, None] + self.window]


class BatchLoader:
    def __init__(self, store: MelStore, data: list[TaskData], mean: np.ndarray, std: np.ndarray,
                 device: torch.device, *, level: str, stacked: bool, on_device: bool = False, workers: int = 2,
                 depth: int = 6):
        self.store, self.data, self.device, self.stacked, self.level = store, data, device, stacked, level
        self.pin = device.type == "cuda"
        self.workers, self.depth = workers, depth
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=device)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=device)
        self.device_crops = DeviceCrops(store, device) if on_device else None

    def _gather(self, step: Step) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Host tensors of one step: crops ``(B, channels, frames, n_mels)`` float16 and the targets."""
        size = len(next(iter(step.batches.values()))[0])
        channels = len(self.data) if self.stacked else 1
        frames = self.store.settings.segment_frames
        crops = np.zeros((size, channels, frames, self.store.mel.shape[1]), np.float16)
        targets = {}
        for t, (index, starts) in step.batches.items():
            task = self.data[t]
            crops[:, t if self.stacked else 0] = self.store.crops(task.rows[index], starts, frames=frames)
            targets[t] = torch.from_numpy(np.ascontiguousarray(task.targets[index]))
        x = torch.from_numpy(crops)
        if self.pin:
            x = x.pin_memory()
            targets = {t: y.pin_memory() for t, y in targets.items()}
        return x, targets

    def to_device(self, x: torch.Tensor, targets: dict[int, torch.Tensor]) -> Batch:
        x = network_input(x.to(self.device, non_blocking=True), self.mean, self.std, level=self.level)
        x = x.contiguous(memory_format=torch.channels_last)
        return Batch(x, {t: y.to(self.device, non_blocking=True) for t, y in targets.items()})

    def _on_device(self, step: Step) -> Batch:
        """One step's batch cut from the store on the device."""
        size = len(next(iter(step.batches.values()))[0])
        channels = len(self.data) if self.stacked else 1
        crops = torch.zeros((size, channels, self.store.settings.segment_frames, self.store.mel.shape[1]),
                            dtype=torch.float16, device=self.device)
        targets = {}
        for t, (index, starts) in step.batches.items():
            task = self.data[t]
            crops[:, t if self.stacked else 0] = self.device_crops.crops(task.rows[index], starts)
            targets[t] = torch.from_numpy(np.ascontiguousarray(task.targets[index])).to(self.device, non_blocking=True)
        x = network_input(crops, self.mean, self.std, level=self.level)
        x = x.contiguous(memory_format=torch.channels_last)
        return Batch(x, targets)

    def batches(self, steps: list[Step]) -> Iterator[Batch]:
        """The steps' batches in order: cut on the device, or gathered ``depth`` steps ahead by ``workers`` threads."""
        if self.device_crops is not None:
            yield from map(self._on_device, steps)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="agf-crops") as pool:
            ahead: deque = deque()
            todo = iter(steps)
            for step in todo:
                ahead.append(pool.submit(self._gather, step))
                if len(ahead) >= self.depth:
                    break
            while ahead:
                x, targets = ahead.popleft().result()
                step = next(todo, None)
                if step is not None:
                    ahead.append(pool.submit(self._gather, step))
                yield self.to_device(x, targets)
