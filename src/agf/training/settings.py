"""Training settings, saved as ``settings.json`` in every run folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agf.models.levels import LEVELS
from agf.settings import Interval, OneOf, Settings
from agf.tasks import ARCHS, parse_tasks


@dataclass(frozen=True)
class TrainSettings(Settings):
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
    ``level``: 'segment' centres each input segment on its mean dB, so predictions do not move
    with a file's gain; 'absolute' keeps the level (:mod:`agf.models.input`).
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
    level: str = "segment"

    constraints = {
        "arch": OneOf(*ARCHS),
        "epochs": Interval(int, 1),
        "batch_size": Interval(int, 1),
        "learning_rate": Interval(float, 0.0, low_open=True),
        "weight_decay": Interval(float, 0.0),
        "seed": Interval(int, 0),
        "mtn_draw": OneOf("iteration", "epoch"),
        "wstn_match": OneOf("stn", "mtn"),
        "valid_segments": Interval(int, 1),
        "level": OneOf(*LEVELS),
    }
    legacy = {"level": "absolute"}  # runs trained before the setting existed took absolute levels

    def __post_init__(self):
        object.__setattr__(self, "tasks", parse_tasks(self.tasks))
        super().__post_init__()

    @property
    def trained_tasks(self) -> tuple[str, ...]:
        """Tasks the run has output heads for (a wSTN: genre only)."""
        return ("g",) if self.arch == "wstn" else self.tasks

    @property
    def total_epochs(self) -> int:
        """Epochs of the run: ``k * epochs`` for a k-task MTN, else ``epochs``."""
        return self.epochs * len(self.tasks) if self.arch == "mtn" else self.epochs


def train_settings_for(arch: str, tasks: str | Sequence[str], *, epochs: int = 200, seed: int = 0,
                       **options) -> TrainSettings:
    """The settings of a standard run of ``arch`` over ``tasks`` (``epochs`` per STN)."""
    return TrainSettings(arch=arch, tasks=parse_tasks(tasks), epochs=epochs, seed=seed, **options)


@dataclass(frozen=True)
class TrainOptions(Settings):
    """How a run is carried out, without changing what it learns (not saved with the run).

    ``checkpoint_seconds``: a checkpoint is written when this long has passed since the last
    one, and after the last epoch (a kill loses at most this much work; 0: after every epoch).
    ``valid_every``: the validation loss of ``log.csv`` every this many epochs, and after the
    last. ``store_on_device``: ``auto`` puts the whole spectrogram store on a CUDA device when
    it fits in half the free memory (crops are then cut there); ``always`` does so on any
    device, ``never`` reads crops from the store on disk. ``compile_model``: ``torch.compile``
    the training model.
    """

    checkpoint_seconds: float = 60.0
    valid_every: int = 1
    store_on_device: str = "auto"
    compile_model: bool = False
    progress: bool = True

    constraints = {
        "checkpoint_seconds": Interval(float, 0.0),
        "valid_every": Interval(int, 1),
        "store_on_device": OneOf("auto", "always", "never"),
        "compile_model": OneOf(False, True),
        "progress": OneOf(False, True),
    }
