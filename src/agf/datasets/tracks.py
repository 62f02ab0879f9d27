"""What a dataset yields: tracks with their labels, and the problems met while reading it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agf.errors import AgfError
from agf.provenance import digest


@dataclass(frozen=True)
class Track:
    """One audio track and its labels.

    ``artist`` is None when unknown; ``subgenres`` holds every genre label of the track
    (FMA's ``genres_all``: the top genre and its sub-genres), possibly empty; ``split`` is the
    source's own split (``train``, ``valid`` or ``test``) when it has one; ``date``, when known, is
    when the track was published (ISO 8601 text, e.g. FMA's ``track.date_created``); ``album``, when
    known, names the track's album (FMA's ``album.id``; a manifest's ``album`` column), unique per album.
    """

    track_id: str
    path: Path
    genre: str
    artist: str | None = None
    subgenres: tuple[str, ...] = ()
    split: str | None = None
    date: str | None = None
    album: str | None = None


# a track id names a store index line, a CSV cell and a file name: letters, digits and ._- only
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_track_id(name: str) -> str:
    """``name`` as a track id: unchanged when it is safe, else its unsafe runs replaced by ``_`` and a
    short digest of ``name`` appended, so ``a,b`` and ``a_b`` stay two tracks."""
    safe = _UNSAFE.sub("_", name).strip("._") or "track"
    return name if safe == name else f"{safe}-{digest(name)[:6]}"


@dataclass(frozen=True)
class Problem:
    """A track that cannot be used, and why (one row of ``errors.csv``)."""

    track_id: str
    path: str
    error: str


class DatasetError(AgfError):
    """The dataset description itself is unusable (missing file, malformed CSV, missing columns)."""


@dataclass
class Dataset:
    name: str
    tracks: list[Track]
    problems: list[Problem] = field(default_factory=list)

    @property
    def has_split(self) -> bool:
        return any(t.split for t in self.tracks)


SPLIT_NAMES = {
    "train": "train", "training": "train",
    "valid": "valid", "validation": "valid", "val": "valid",
    "test": "test",
}


def normalise_split(value: object) -> str | None:
    """Map a source's split label to train/valid/test; anything else (e.g. GTZAN's 'excluded') is None."""
    if not isinstance(value, str):
        return None
    return SPLIT_NAMES.get(value.strip().lower())
