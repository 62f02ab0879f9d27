"""What each task trains on: store rows, targets, validation segments, and the standardisation.

Genre (g) targets are class indices into the sorted genres of tracks.csv; an AG task's targets
are its 40-dim soft artist-group distributions from ``agf factors``. A task's data holds only
the tracks that have a target for it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agf.data.store import MelStore
from agf.errors import AgfError
from agf.factors.targets import TaskTargets
from agf.tasks import GENRE_TASK
from agf.workdir import Workdir


@dataclass(frozen=True)
class TaskData:
    """One task's training and validation examples.

    ``rows`` index the mel store; ``targets`` are int64 class indices ``(n,)`` (genre) or float32
    distributions ``(n, n_outputs)`` (AG tasks). ``valid_*`` are fixed segments: store row,
    start frame and target per segment.
    """

    task: str
    n_outputs: int
    rows: np.ndarray
    targets: np.ndarray
    valid_rows: np.ndarray
    valid_starts: np.ndarray
    valid_targets: np.ndarray



def fixed_segments(n_frames: np.ndarray, per_track: int, segment_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_track`` evenly spaced segment starts of each track: (track index, start) arrays."""
    spans = np.maximum(n_frames - segment_frames, 0)
    fractions = np.linspace(0.0, 1.0, per_track) if per_track > 1 else np.array([0.5])
    starts = np.round(spans[:, None] * fractions[None, :]).astype(np.int64)
    index = np.repeat(np.arange(len(n_frames)), per_track)
    return index, starts.reshape(-1)


def _usable(store: MelStore, track_ids: np.ndarray, what: str) -> np.ndarray:
    """Mask of tracks present in the store and at least one segment long (warns about the rest)."""
    segment_frames = store.settings.segment_frames
    rows = np.array([store.row_of.get(t, -1) for t in track_ids], dtype=np.int64)
    missing = rows < 0
    short = np.zeros(len(rows), bool)
    short[~missing] = store.n_frames[rows[~missing]] < segment_frames
    if short.any():
        names = ", ".join(track_ids[short][:5])
        warnings.warn(f"{what}: {short.sum()} track(s) shorter than {segment_frames} frames left out ({names}); "
                      "`agf prepare` pads short clips, so the store was made otherwise", stacklevel=3)
    if missing.any():
        warnings.warn(f"{what}: {missing.sum()} track(s) with a target are not in the store; left out", stacklevel=3)
    return ~missing & ~short


def load_task_data(wd: Workdir, store: MelStore, tracks: pd.DataFrame, task: str, genres: tuple[str, ...], *,
                   valid_segments: int, ag_targets: TaskTargets | None = None) -> TaskData:
    """The examples of ``task``: genre uses the train/valid splits and ``genres``' class order, an AG
    task its ``ag_targets`` and their held-out mask."""
    if task == GENRE_TASK:
        ids = tracks["track_id"].to_numpy(dtype=object)
        labels = tracks["genre"].astype(str).map({g: i for i, g in enumerate(genres)}).to_numpy(np.int64)
        train = (tracks["split"] == "train").to_numpy()
        valid = (tracks["split"] == "valid").to_numpy()
        targets, n_outputs = labels, len(genres)
    else:
        ids = np.asarray(ag_targets.track_ids, dtype=object)
        held_out = np.asarray(ag_targets.held_out, dtype=bool)
        targets = np.asarray(ag_targets.targets, dtype=np.float32)
        if targets.ndim != 2 or len(targets) != len(ids):
            raise AgfError(f"targets of task {task!r} have shape {targets.shape} for {len(ids)} tracks; "
                           f"rebuild them with `agf factors --workdir {wd.root} --tasks {task} --rebuild`")
        train, valid, n_outputs = ~held_out, held_out, targets.shape[1]
    ok = _usable(store, ids, f"task {task}")
    train, valid = train & ok, valid & ok
    if not train.any():
        raise AgfError(f"{wd.root}: task {task!r} has no training track with a target and at least "
                       f"{store.settings.segment_frames} frames; check `agf prepare` (and `agf factors`) output")
    rows = np.array([store.row_of[t] for t in ids[train]], dtype=np.int64)
    valid_ids = ids[valid]
    valid_track_rows = np.array([store.row_of[t] for t in valid_ids], dtype=np.int64)
    index, starts = fixed_segments(store.n_frames[valid_track_rows], valid_segments, store.settings.segment_frames)
    return TaskData(task, int(n_outputs), rows, targets[train], valid_track_rows[index], starts,
                    targets[valid][index])


def standardisation(store: MelStore, rows: np.ndarray, *, level: str,
                    chunk_frames: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Per-mel-bin mean and std ``(n_mels,)`` float32 over every frame of the tracks ``rows``.

    Sums in float64 over contiguous stretches of the store (one read per stretch), so FMA-size
    stores are one sequential pass. With ``level='segment'`` each stretch (a whole track, unless
    it is longer than ``chunk_frames``) is centred on its mean first, as the networks' input
    segments are: the statistics need only scale that input consistently, not match each segment.
    """
    total = np.zeros(store.mel.shape[1], np.float64)
    squares = np.zeros_like(total)
    count = 0
    for row in np.unique(rows):
        begin, end = int(store.offsets[row]), int(store.offsets[row] + store.n_frames[row])
        for lo in range(begin, end, chunk_frames):
            block = np.asarray(store.mel[lo:min(end, lo + chunk_frames)], dtype=np.float64)
            if level == "segment":
                block -= block.mean()
            total += block.sum(0)
            squares += np.square(block).sum(0)
            count += len(block)
    if count == 0:
        raise AgfError("no training frames to fit the standardisation on")
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    # a mel bin that is constant over the training set (silence floor) would divide by zero
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)
