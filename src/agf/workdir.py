"""Where each stage keeps its artefacts inside a work directory.

    DIR/dataset.json        DatasetSettings (source and split)
    DIR/tracks.csv          one row per usable track: track_id, genre, artist, split, n_frames, ...
    DIR/errors.csv          track_id, path, error: every track that could not be used
    DIR/store/              the log-mel store (agf.data.store)
    DIR/source/             generated audio of a synthetic source
    DIR/factors/<task>/     artist-group targets per AG task (agf.factors)
    DIR/runs/<name>/        trained networks (agf.training)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from agf.data.store import MelStore
from agf.errors import AgfError


class MissingStep(AgfError):
    """A stage needs the output of an earlier stage that has not been run."""


class Workdir:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    @property
    def dataset_json(self) -> Path:
        return self.root / "dataset.json"

    @property
    def tracks_csv(self) -> Path:
        return self.root / "tracks.csv"

    @property
    def errors_csv(self) -> Path:
        return self.root / "errors.csv"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    def factors_dir(self, task: str) -> Path:
        return self.root / "factors" / task

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def tracks(self) -> pd.DataFrame:
        """The prepared tracks table (string ids, ``subgenres`` as ';'-joined text)."""
        if not self.tracks_csv.exists():
            raise MissingStep(f"{self.root}: no prepared data ({self.tracks_csv.name} missing); run `agf prepare SOURCE --workdir {self.root}` first")
        return pd.read_csv(self.tracks_csv, dtype={"track_id": str, "artist": str, "subgenres": str, "genre": str},
                           keep_default_na=False, na_values={"artist": [""]})

    def store(self) -> MelStore:
        if not (self.store_dir / "settings.json").exists():
            raise MissingStep(f"{self.root}: no spectrogram store; run `agf prepare SOURCE --workdir {self.root}` first")
        return MelStore(self.store_dir)
