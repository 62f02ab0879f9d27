"""The artist-group targets one AG task gives the networks, as the training code reads them.

``DIR/factors/<task>/targets.npz`` holds ``track_ids`` (str), ``targets`` (float32, one row of
``n_groups`` per track, rows sum to 1) and ``held_out`` (bool): training tracks carry their
artist's group distribution; validation tracks (``held_out``) carry the distribution that the
fitted dictionary and ``lda.transform`` give their own artist's bag, so training can report an
AG validation loss without those tracks having shaped the groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agf.atomic import atomic_path
from agf.errors import MissingStep
from agf.provenance import digest
from agf.tasks import AG_TASKS, parse_tasks
from agf.workdir import Workdir

TARGETS_FILE = "targets.npz"
DONE_FILE = "done.json"


@dataclass(frozen=True)
class TaskTargets:
    task: str
    track_ids: tuple[str, ...]      # tracks that have a target (training tracks, plus held-out validation tracks)
    targets: np.ndarray             # (len(track_ids), n_groups) float32, rows sum to 1
    held_out: np.ndarray            # (len(track_ids),) bool: True for validation tracks (target from lda.transform, not used to fit)

    def fingerprint(self) -> str:
        """A digest of the targets' content (not of the file, whose zip entries carry a timestamp)."""
        return digest("\n".join(self.track_ids), np.ascontiguousarray(self.targets, np.float32).tobytes(),
                      np.ascontiguousarray(self.held_out, bool).tobytes())


def save_targets(folder: Path, targets: TaskTargets) -> None:
    with atomic_path(Path(folder) / TARGETS_FILE) as tmp:
        np.savez(tmp, track_ids=np.array(targets.track_ids, dtype=str), targets=targets.targets.astype(np.float32),
                 held_out=targets.held_out.astype(bool))


def load_targets(workdir: Path | str, task: str) -> TaskTargets:
    """The targets of ``task`` built by ``agf factors`` in ``workdir``.

    Raises:
        MissingStep: the task has not been built (or its build did not finish).
    """
    (task,) = parse_tasks(task, allowed=AG_TASKS)
    wd = Workdir(workdir)
    folder = wd.factors_dir(task)
    if not (folder / DONE_FILE).exists():
        raise MissingStep(f"{folder}: no artist-group targets for task {task!r}; "
                          f"run `agf factors --workdir {wd.root} --tasks {task}` first")
    with np.load(folder / TARGETS_FILE, allow_pickle=False) as data:
        return TaskTargets(task, tuple(data["track_ids"].tolist()), data["targets"].astype(np.float32),
                           data["held_out"].astype(bool))
