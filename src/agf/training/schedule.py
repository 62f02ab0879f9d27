"""Which examples each training step uses: per-task sample streams and per-epoch plans.

A task's *stream* is its training examples in a fresh random order each epoch, cut into
batches; every time an example comes up it gets a fresh random 1-s crop. So an epoch is one
crop of every training track. A plan of a whole epoch is drawn up front in the main thread
(cheap index arithmetic), so the background loaders only read and the RNG states saved at an
epoch's end are exactly those an uninterrupted run has there.

- STN (k tasks, trained stacked): every step gives each task its own next batch. Task t has
  ``ceil(n_t / B)`` steps per epoch (batches are always full: the end of a pass is topped up
  from the next); a run epoch is the longest task's; a task whose ``epochs * ceil(n_t / B)``
  steps are done is idle (its network is taken out at that point).
- MTN: each step draws one task uniformly at random (or one per epoch), which gets its next
  batch; a run epoch is the mean task's ``ceil(n_t / B)`` steps, and a k-task MTN runs k times
  the STN epochs, so each branch gets about its STN's number of updates.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np


class SampleStream:
    """One task's examples as an endless stream: a new permutation every pass, a fresh random
    crop start every time an example comes up. Batches are consecutive, always full, slices
    of the stream (the end of one pass is topped up from the next), so k stacked networks can
    always take equal batches."""

    def __init__(self, n_frames: np.ndarray, rng: np.random.Generator, *, segment_frames: int):
        self.n_frames = np.asarray(n_frames, dtype=np.int64)  # of the task's examples, in example order
        self.rng, self.segment_frames = rng, segment_frames
        self.order = np.zeros(0, np.int64)
        self.starts = np.zeros(0, np.int64)

    def take(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` (example indices, crop starts)."""
        while len(self.order) < batch_size:
            order = self.rng.permutation(len(self.n_frames))
            starts = self.rng.integers(0, self.n_frames[order] - self.segment_frames + 1)
            self.order, self.starts = np.concatenate([self.order, order]), np.concatenate([self.starts, starts])
        batch = self.order[:batch_size], self.starts[:batch_size]
        self.order, self.starts = self.order[batch_size:], self.starts[batch_size:]
        return batch

    def state(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "order": self.order.tolist(), "starts": self.starts.tolist()}

    def restore(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.order, self.starts = np.array(state["order"], np.int64), np.array(state["starts"], np.int64)


@dataclass(frozen=True)
class Step:
    """One optimiser step: for each task index that trains in it, (example indices, crop starts)."""

    batches: dict[int, tuple[np.ndarray, np.ndarray]]


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    return math.ceil(n_examples / batch_size)


class StackedSchedule:
    """Lockstep schedule of k stacked STNs (see the module docstring)."""

    def __init__(self, streams: list[SampleStream], batch_size: int, epochs: int):
        self.streams, self.batch_size, self.epochs = streams, batch_size, epochs
        self.task_steps = [steps_per_epoch(len(s.n_frames), batch_size) for s in streams]
        self.steps_per_epoch = max(self.task_steps)
        self.done_steps = [0] * len(streams)

    def plan(self) -> list[Step]:
        steps = []
        for _ in range(self.steps_per_epoch):
            batches = {}
            for t, stream in enumerate(self.streams):
                if not self.finished(t):
                    batches[t] = stream.take(self.batch_size)
                    self.done_steps[t] += 1
            steps.append(Step(batches))
        return steps

    def finished(self, t: int) -> bool:
        """Whether task t has had its ``epochs * ceil(n_t / B)`` steps."""
        return self.done_steps[t] >= self.epochs * self.task_steps[t]

    def state(self) -> str:
        return json.dumps({"streams": [s.state() for s in self.streams], "done": self.done_steps})

    def restore(self, text: str) -> None:
        state = json.loads(text)
        for s, stream_state in zip(self.streams, state["streams"]):
            s.restore(stream_state)
        self.done_steps = state["done"]


class MultiTaskSchedule:
    """Random task per step (or per epoch) over k task streams (see the module docstring)."""

    def __init__(self, streams: list[SampleStream], batch_size: int, rng: np.random.Generator, *, per_epoch: bool = False):
        self.streams, self.batch_size, self.rng, self.per_epoch = streams, batch_size, rng, per_epoch
        self.steps_per_epoch = round(np.mean([steps_per_epoch(len(s.n_frames), batch_size) for s in streams]))

    def plan(self) -> list[Step]:
        k = len(self.streams)
        draws = (np.full(self.steps_per_epoch, self.rng.integers(k)) if self.per_epoch
                 else self.rng.integers(0, k, self.steps_per_epoch))
        return [Step({t: self.streams[t].take(self.batch_size)}) for t in draws.tolist()]

    def state(self) -> str:
        return json.dumps({"streams": [s.state() for s in self.streams], "draw": self.rng.bit_generator.state})

    def restore(self, text: str) -> None:
        state = json.loads(text)
        for s, stream_state in zip(self.streams, state["streams"]):
            s.restore(stream_state)
        self.rng.bit_generator.state = state["draw"]
