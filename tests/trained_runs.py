"""Real ``agf train`` runs for the transfer, evaluation and prediction tests: one epoch, small batches.

Artist-group targets come from :func:`artist_targets` (random soft 40-group targets per artist)
so the tests need no ``agf factors`` run, which takes minutes of Essentia and LDA.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agf.errors import AgfError
from agf.factors.targets import TaskTargets
from agf.training.runs import train
from agf.training.settings import train_settings_for
from agf.workdir import Workdir


def artist_targets(workdir, task: str) -> TaskTargets:
    """Soft 40-group targets of each track's artist; valid tracks held out (as agf.factors writes them)."""
    if task not in "sedm":
        raise AgfError(f"unknown task {task}")
    tracks = Workdir(workdir).tracks()
    rng = np.random.default_rng(len(task))
    by_artist = {a: rng.dirichlet(np.full(40, 0.3)).astype(np.float32) for a in sorted(tracks["artist"].unique())}
    return TaskTargets(task, tuple(tracks["track_id"]), np.stack([by_artist[a] for a in tracks["artist"]]),
                       (tracks["split"] == "valid").to_numpy())


def make_run(workdir: Path, tasks: str, arch: str = "stn", *, seed: int = 0) -> Path:
    """The run ``arch`` over ``tasks`` in ``workdir`` after one epoch of real training on the CPU."""
    settings = train_settings_for(arch, tasks, epochs=1, seed=seed, batch_size=16)
    return train(workdir, tasks=tuple(tasks), arch=arch, settings=settings, device="cpu", progress=False,
                 targets_loader=artist_targets)
