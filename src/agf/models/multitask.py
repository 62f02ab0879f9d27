"""The multi-task network (MTN): one shared stem (conv1 + its pool), one DCNN branch per task above it."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from agf.models.dcnn import build_head, build_layers, glorot_init, scaled_widths


class Branch(nn.Module):
    """A task's layers in the MTN: the DCNN trunk and head over the shared stem's output."""

    def __init__(self, trunk: nn.Sequential, head: nn.Sequential):
        super().__init__()
        self.trunk, self.head = trunk, head


class TaskNetwork(nn.Module):
    """One task's network inside an MTN: the shared stem, the task's trunk and head.

    A view that shares the MTN's weights; like a :class:`~agf.models.dcnn.DCNN` it has
    :meth:`embed` (the 256-d feature), ``forward`` (the task's logits), and ``stem`` and
    ``trunk`` (``embed(x) == trunk(stem(x))``): the task networks of one MTN share the stem module.
    """

    def __init__(self, model: MultiTaskDCNN, task: str):
        super().__init__()
        if task not in model.branches:
            raise KeyError(f"the MTN has no branch for task {task!r} (it has {', '.join(model.tasks)})")
        self.model, self.task = model, task

    @property
    def stem(self) -> nn.Sequential:
        return self.model.stem

    @property
    def trunk(self) -> nn.Sequential:
        return self.model.branches[self.task].trunk

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.embed(x, self.task)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.task)


class MultiTaskDCNN(nn.Module):
    """``(B, 1, 128, 43)`` and a task name -> that task's logits ``(B, n_outputs[task])``."""

    def __init__(self, n_outputs: Mapping[str, int], *, width: float = 1.0):
        super().__init__()
        self.n_outputs, self.width = dict(n_outputs), width
        self.widths = scaled_widths(width)
        self.stem, _ = build_layers(self.widths)
        self.branches = nn.ModuleDict()
        for task, n in self.n_outputs.items():
            _, trunk = build_layers(self.widths)
            self.branches[task] = Branch(trunk, build_head(self.widths, n))
        glorot_init(self)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.n_outputs)

    def embed(self, x: torch.Tensor, task: str) -> torch.Tensor:
        return self.branches[task].trunk(self.stem(x))

    def forward(self, x: torch.Tensor, task: str) -> torch.Tensor:
        return self.branches[task].head(self.embed(x, task))

    def network(self, task: str) -> TaskNetwork:
        """The task's network (a view sharing these weights)."""
        return TaskNetwork(self, task)
