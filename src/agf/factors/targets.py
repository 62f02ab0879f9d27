"""The artist-group targets one AG task gives the networks, as the training code reads them.

``DIR/factors/<task>/targets.npz`` holds ``track_ids`` (str), ``targets`` (float32, one row of
``n_groups`` per track, rows sum to 1) and ``held_out`` (bool): training tracks carry their
artist's group distribution; validation tracks (``held_out``) carry the distribution that the
fitted dictionary and ``lda.transform`` give their own artist's bag, so training can report an
AG validation loss without those tracks having shaped the groups.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agf.errors import AgfError
from agf.workdir import MissingStep, Workdir

AG_TASKS = ("s", "e", "d", "m")
TARGETS_FILE = "targets.npz"
DONE_FILE = "done.json"


@dataclass(frozen=True)
class TaskTargets:
    task: str
    track_ids: tuple[str, ...]      # tracks that have a target (training tracks, plus held-out validation tracks)
    targets: np.ndarray             # (len(track_ids), n_groups) float32, rows sum to 1
    held_out: np.ndarray            # (len(track_ids),) bool: True for validation tracks (target from lda.transform, not used to fit)


def _check_task(task: str) -> None:
    if task not in AG_TASKS:
        raise AgfError(f"unknown artist-group task {task!r}; the tasks are {', '.join(AG_TASKS)}")


def save_targets(folder: Path, targets: TaskTargets) -> None:
    """Write ``targets.npz`` atomically."""
    tmp = Path(folder) / (TARGETS_FILE + ".tmp.npz")
    np.savez(tmp, track_ids=np.array(targets.track_ids, dtype=str), targets=targets.targets.astype(np.float32),
             held_out=targets.held_out.astype(bool))
    os.replace(tmp, Path(folder) / TARGETS_FILE)


def load_targets(workdir: Path | str, task: str) -> TaskTargets:
    """The targets of ``task`` built by ``agf factors`` in ``workdir``.

    Raises:
        MissingStep: the task has not been built (or its build did not finish).
    """
    _check_task(task)
    wd = Workdir(workdir)
    folder = wd.factors_dir(task)
    if not (folder / DONE_FILE).exists():
        raise MissingStep(f"{folder}: no artist-group targets for task {task!r}; "
                          f"run `agf factors --workdir {wd.root} --tasks {task}` first")
    with np.load(folder / TARGETS_FILE, allow_pickle=False) as data:
        return TaskTargets(task, tuple(data["track_ids"].tolist()), data["targets"].astype(np.float32),
                           data["held_out"].astype(bool))
