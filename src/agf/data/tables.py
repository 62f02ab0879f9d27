"""The prepared tracks of a work directory (``tracks.csv``), the genre classes, and opening the store.

``tracks.csv`` is the table every later stage reads: one row per usable track with its
``split``. The genre classes of a work directory are its genres in sorted order; every stage
(training, transfer, scoring, the baseline) indexes genres in that one order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from agf.atomic import write_csv
from agf.data.store import MelStore
from agf.errors import AgfError, MissingStep
from agf.provenance import digest, recorded_inputs, unchanged
from agf.workdir import Workdir

TRACK_COLUMNS = ["track_id", "genre", "artist", "split", "n_frames", "padded", "subgenres", "path"]
# the columns whose change makes every artefact learned from the tracks stale
LEARNED_FROM = ["track_id", "split", "genre", "artist", "subgenres"]


def load_tracks(workdir: Workdir | Path | str) -> pd.DataFrame:
    """The prepared tracks table (string ids, ``artist`` NaN when unknown, ``subgenres`` as ';'-joined text).

    Raises:
        MissingStep: ``agf prepare`` has not run in the work directory.
    """
    wd = workdir if isinstance(workdir, Workdir) else Workdir(workdir)
    if not wd.tracks_csv.exists():
        raise MissingStep(f"{wd.root}: no prepared data ({wd.tracks_csv.name} missing); "
                          f"run `agf prepare SOURCE --workdir {wd.root}` first")
    _check_source_unchanged(wd)
    return pd.read_csv(wd.tracks_csv, dtype={"track_id": str, "artist": str, "subgenres": str, "genre": str},
                       keep_default_na=False, na_values={"artist": [""]})


class StaleTracks(AgfError):
    """The source's tables changed after ``agf prepare`` made the tracks table from them."""


def _check_source_unchanged(wd: Workdir) -> None:
    """Refuse tracks made from a manifest that has changed since: its splits or labels may differ now,
    and a network trained on the old table would be scored on tracks it learned from.

    A source table that is gone (the dataset moved) is no reason to stop: the store has the audio;
    nor is one only copied or touched (the same bytes under a new modification time).
    """
    for path, recorded in recorded_inputs(wd.source_json).items():
        if Path(path).exists() and not unchanged(path, recorded):
            raise StaleTracks(f"{path} changed after `agf prepare` made {wd.tracks_csv} from it (its tracks, labels "
                              f"or splits may differ now); run `agf prepare` on it again, with --workdir {wd.root}")


def write_tracks(wd: Workdir, table: pd.DataFrame) -> None:
    write_csv(table[TRACK_COLUMNS], wd.tracks_csv)


def open_store(workdir: Workdir | Path | str) -> MelStore:
    """The work directory's spectrogram store.

    Raises:
        MissingStep: ``agf prepare`` has not run in the work directory.
    """
    wd = workdir if isinstance(workdir, Workdir) else Workdir(workdir)
    if not (wd.store_dir / "settings.json").exists():
        raise MissingStep(f"{wd.root}: no spectrogram store; run `agf prepare SOURCE --workdir {wd.root}` first")
    return MelStore(wd.store_dir)


def genre_classes(tracks: pd.DataFrame) -> tuple[str, ...]:
    """The genre classes in output order: the genres of the tracks, sorted."""
    return tuple(sorted(tracks["genre"].astype(str).unique()))


def tracks_fingerprint(tracks: pd.DataFrame) -> str:
    """A digest of the tracks' ids, splits, genres, artists and sub-genres: what every later stage learns from."""
    return digest(tracks[LEARNED_FROM].astype(str).to_csv(index=False))


def genre_indices(genres: pd.Series, classes: tuple[str, ...], what: str) -> np.ndarray:
    """Class index of each genre name in ``classes``, or an error naming the genres that are not among them."""
    position = {g: i for i, g in enumerate(classes)}
    unknown = sorted(set(genres) - set(position))
    if unknown:
        raise AgfError(f"{what}: genres {unknown} are not among the model's {list(classes)}; "
                       "was the model trained on another dataset?")
    return genres.map(position).to_numpy(dtype=np.int64)
