"""Training settings (saved as ``settings.json`` in every run folder) and the task names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agf.errors import AgfError

TASKS = "gsedm"  # g: genre; s, e, d, m: artist-group factors (SPEC Table 1), in the paper's order
ARCHS = ("stn", "mtn", "wstn")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that shapes a trained run.

    ``tasks`` are the run's tasks; for a wSTN they name the setup it matches in size (the wSTN
    itself learns genre only). ``epochs`` counts STN epochs: an MTN of k tasks trains
    ``k * epochs`` (every branch gets about as many updates as its STN).
    ``weight_decay`` is an L2 penalty on conv and dense weights only (not on BN parameters or
    biases), applied as Adam's coupled decay: ``weight_decay * w`` is added to the gradient,
    i.e. the loss gains ``weight_decay / 2 * ||w||^2``.
    ``mtn_draw``: 'iteration' draws a task per iteration (SPEC), 'epoch' one per epoch (ref).
    ``wstn_match``: whether the wSTN matches the k-task 'stn' or 'mtn' parameter count.
    ``valid_segments``: fixed, evenly spaced 1-s segments per validation track for the
    per-epoch validation loss.
    """

    arch: str
    tasks: tuple[str, ...]
    epochs: int = 200
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    seed: int = 0
    mtn_draw: str = "iteration"
    wstn_match: str = "stn"
    valid_segments: int = 3

    def __post_init__(self):
        check_arch(self.arch)
        object.__setattr__(self, "tasks", canonical_tasks(self.tasks))
        if self.epochs < 1 or self.batch_size < 1:
            raise AgfError(f"epochs and batch size must be at least 1 (got {self.epochs}, {self.batch_size})")
        if self.mtn_draw not in ("iteration", "epoch"):
            raise AgfError(f"mtn_draw must be 'iteration' or 'epoch', not {self.mtn_draw!r}")
        if self.wstn_match not in ("stn", "mtn"):
            raise AgfError(f"wstn_match must be 'stn' or 'mtn', not {self.wstn_match!r}")

    @property
    def trained_tasks(self) -> tuple[str, ...]:
        """Tasks the run has output heads for (a wSTN: genre only)."""
        return ("g",) if self.arch == "wstn" else self.tasks

    @property
    def total_epochs(self) -> int:
        """Epochs of the run: ``k * epochs`` for a k-task MTN, else ``epochs``."""
        return self.epochs * len(self.tasks) if self.arch == "mtn" else self.epochs


def check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise AgfError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")


def canonical_tasks(tasks: str | Sequence[str]) -> tuple[str, ...]:
    """Tasks in the paper's order (g, s, e, d, m), duplicates dropped; accepts 'gm', 'g,m' or ('g', 'm')."""
    names = [t.strip() for t in (tasks.replace(",", "") if isinstance(tasks, str) else tasks) if t.strip()]
    letters = [c for name in names for c in name]  # 'gm' as one item means g and m
    unknown = sorted(set(letters) - set(TASKS))
    if unknown:
        raise AgfError(f"unknown task(s) {', '.join(map(repr, unknown))}; the tasks are g (genre) and s, e, d, m "
                       "(artist-group factors)")
    if not letters:
        raise AgfError("no task given; e.g. --tasks g or --tasks g,m")
    return tuple(t for t in TASKS if t in letters)


def train_settings_for(arch: str, tasks: Sequence[str], *, epochs: int = 200, seed: int = 0, **options) -> TrainSettings:
    """The settings of a standard run of ``arch`` over ``tasks`` (``epochs`` per STN)."""
    return TrainSettings(arch=arch, tasks=canonical_tasks(tasks), epochs=epochs, seed=seed, **options)
