"""Background threads that turn planned steps into batches, so the device never waits on the store.

Workers gather the crops from the float16 memmap (numpy fancy indexing releases the GIL for
the copy), and on CUDA put them in pinned memory; the main thread issues a non-blocking copy
and turns the crops into network input on the device (:func:`agf.models.input.network_input`).
Steps come back in plan order.
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


class BatchLoader:
    def __init__(self, store: MelStore, data: list[TaskData], mean: np.ndarray, std: np.ndarray,
                 device: torch.device, *, stacked: bool, workers: int = 2, depth: int = 6):
        self.store, self.data, self.device, self.stacked = store, data, device, stacked
        self.pin = device.type == "cuda"
        self.workers, self.depth = workers, depth
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=device)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=device)

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
        x = network_input(x.to(self.device, non_blocking=True), self.mean, self.std)
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        return Batch(x, {t: y.to(self.device, non_blocking=True) for t, y in targets.items()})

    def batches(self, steps: list[Step]) -> Iterator[Batch]:
        """The steps' batches in order, gathered ``depth`` steps ahead by ``workers`` threads."""
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
