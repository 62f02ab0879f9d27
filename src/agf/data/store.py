"""On-disk log-mel store built for fast random 1-s crops.

Layout of a store folder::

    settings.json   the FrontEndSettings every spectrogram was made with
    mel.f16         float16 frames, row-major (total_frames, n_mels): a crop is one contiguous read
    index.csv       track_id,offset,n_frames,audio_frames,source: one line per finished track
                    (audio_frames < n_frames when a clip shorter than a segment was padded;
                    source: the audio file's size, modification time and content digest when it
                    was decoded, :func:`agf.provenance.file_signature`)

The store is an append-only log: a track decoded again (its audio file changed) is appended
again and its last line wins, so every line's frames start where the previous line's end; a
store that breaks this (two writers at once, a damaged file) is refused on opening. Frames are
flushed to disk (fsync) before the index lines that point at them, a group of tracks at a time
(group commit: one fsync per second or per 32 tracks rather than per track); on reopening,
frames past the last indexed track (a write cut short by a kill) are truncated and a torn last
index line is dropped. So a killed ``agf prepare`` resumes with every indexed track intact and
nothing half-written.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agf.audio.mel import FrontEndSettings
from agf.errors import AgfError, MissingStep
from agf.provenance import file_digest
from agf.settings import ensure_settings, load_settings

DTYPE = np.float16


@dataclass(frozen=True)
class IndexEntry:
    track_id: str
    offset: int
    n_frames: int
    audio_frames: int
    source: str = ""  # signature of the audio file it was decoded from ("" in older stores; no digest in some)


HEADER = "track_id,offset,n_frames,audio_frames,source\n"


class StoreError(AgfError):
    """A store whose index does not describe its frames: it cannot be trusted, only rebuilt."""


def _read_index(path: Path) -> tuple[list[IndexEntry], int]:
    """Entries of a complete index, and the byte length of its complete lines.

    Raises:
        StoreError: the index is not one unbroken append-only log (see :func:`_check_log`).
    """
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.decode().splitlines()
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        if len(fields) not in (4, 5):  # stores written before the source column have 4
            raise StoreError(f"{path} line {number}: {len(fields)} fields, expected 5; {_REBUILD}")
        entries.append(IndexEntry(fields[0], *map(int, fields[1:4]), *fields[4:]))
    _check_log(path, entries)
    return entries, len(complete)


_REBUILD = "the store is corrupt: delete its folder and run `agf prepare` again"


def _check_log(path: Path, entries: list[IndexEntry]) -> None:
    """Each track's frames must start where the previous track's end: a single writer appends so,
    and two writers at once (or a damaged file) cannot."""
    end = 0
    for number, e in enumerate(entries, start=2):
        if e.offset != end or e.n_frames < 1 or not 0 <= e.audio_frames <= e.n_frames:
            raise StoreError(f"{path} line {number} ({e.track_id}): frames {e.offset}+{e.n_frames} do not follow "
                             f"the previous track's end {end}; {_REBUILD}")
        end += e.n_frames


def latest(entries: list[IndexEntry]) -> dict[str, IndexEntry]:
    """Each track's last entry: a track decoded again (its audio changed) is appended again, and the last wins."""
    return {e.track_id: e for e in entries}


class StoreWriter:
    """Appends tracks to a store, recovering from an interrupted previous writer."""

    def __init__(self, folder: Path, settings: FrontEndSettings, *, commit_every: int = 32, commit_seconds: float = 1.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        ensure_settings(settings, self.folder / "settings.json")
        self.n_mels = settings.n_mels
        index_path = self.folder / "index.csv"
        self.entries, complete_bytes = _read_index(index_path)
        if not index_path.exists() or complete_bytes == 0:
            index_path.write_text(HEADER)
        elif complete_bytes < index_path.stat().st_size:
            os.truncate(index_path, complete_bytes)
        self.end = self.entries[-1].offset + self.entries[-1].n_frames if self.entries else 0
        mel_path = self.folder / "mel.f16"
        mel_path.touch()
        if mel_path.stat().st_size < self.end * self.n_mels * np.dtype(DTYPE).itemsize:
            raise StoreError(f"{mel_path}: shorter than the {self.end} frames its index lists; {_REBUILD}")
        os.truncate(mel_path, self.end * self.n_mels * np.dtype(DTYPE).itemsize)
        self._mel = open(mel_path, "ab")
        self._index = open(index_path, "a")
        self._pending: list[IndexEntry] = []
        self._commit_every, self._commit_seconds = commit_every, commit_seconds
        self._last_commit = time.monotonic()

    @property
    def latest(self) -> dict[str, IndexEntry]:
        return latest(self.entries)

    def commit(self) -> None:
        """Make every appended track durable: frames to disk first, then their index lines."""
        if not self._pending:
            return
        self._mel.flush()
        os.fsync(self._mel.fileno())
        self._index.write("".join(f"{e.track_id},{e.offset},{e.n_frames},{e.audio_frames},{e.source}\n"
                                  for e in self._pending))
        self._index.flush()
        os.fsync(self._index.fileno())
        self._pending.clear()
        self._last_commit = time.monotonic()

    def append(self, track_id: str, mel: np.ndarray, audio_frames: int | None = None, source: str = "") -> None:
        """Add one track's ``(n_frames, n_mels)`` log-mel; durable at the next :meth:`commit`.

        ``audio_frames``: frames that hold audio when ``mel`` was padded (default: all);
        ``source``: what identifies the audio file it was decoded from (its :func:`agf.provenance.file_signature`).
        """
        if "," in track_id or "\n" in track_id:
            raise ValueError(f"track id {track_id!r} may not contain a comma or newline")
        if mel.ndim != 2 or mel.shape[1] != self.n_mels:
            raise ValueError(f"expected (n_frames, {self.n_mels}) frames, got {mel.shape}")
        self._mel.write(np.ascontiguousarray(mel, dtype=DTYPE).tobytes())
        entry = IndexEntry(track_id, self.end, mel.shape[0], mel.shape[0] if audio_frames is None else audio_frames,
                           source)
        self.entries.append(entry)
        self._pending.append(entry)
        self.end += mel.shape[0]
        if len(self._pending) >= self._commit_every or time.monotonic() - self._last_commit > self._commit_seconds:
            self.commit()

    def close(self) -> None:
        self.commit()
        self._mel.close()
        self._index.close()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class MelStore:
    """Read-only, memory-mapped view of a store.

    ``mel`` is the ``(total_frames, n_mels)`` float16 memmap; track ``i`` occupies rows
    ``offsets[i] : offsets[i] + n_frames[i]``.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        settings_path = self.folder / "settings.json"
        if not settings_path.exists():
            raise MissingStep(f"{self.folder}: no spectrogram store here; run `agf prepare` first")
        self.settings = load_settings(FrontEndSettings, settings_path)
        log, _ = _read_index(self.folder / "index.csv")
        entries = list(latest(log).values())
        self.track_ids = [e.track_id for e in entries]
        self.row_of = {t: i for i, t in enumerate(self.track_ids)}
        self.offsets = np.array([e.offset for e in entries], dtype=np.int64)
        self.n_frames = np.array([e.n_frames for e in entries], dtype=np.int64)
        # what each track's audio file was when it was decoded: the caches made from the file itself
        # (Essentia descriptors, track statistics) hold while it is the same
        self.sources = {e.track_id: e.source for e in entries}
        total = log[-1].offset + log[-1].n_frames if log else 0
        n_mels = self.settings.n_mels
        mel_path = self.folder / "mel.f16"
        size = mel_path.stat().st_size if mel_path.exists() else 0
        if size < total * n_mels * np.dtype(DTYPE).itemsize:
            raise StoreError(f"{mel_path}: {size} bytes, but its index lists {total} frames of {n_mels} bins; "
                             f"{_REBUILD}")
        self.mel = (np.memmap(mel_path, dtype=DTYPE, mode="r", shape=(total, n_mels))
                    if total else np.zeros((0, n_mels), DTYPE))

    def __len__(self) -> int:
        return len(self.track_ids)

    def fingerprint(self) -> str:
        """A digest of the store's settings and index: changes whenever a track is added, removed or re-decoded."""
        return file_digest(self.folder / "settings.json", self.folder / "index.csv")

    def track(self, track_id: str) -> np.ndarray:
        """The ``(n_frames, n_mels)`` float16 log-mel of one track (a view, no copy)."""
        i = self.row_of[track_id]
        return self.mel[self.offsets[i]: self.offsets[i] + self.n_frames[i]]

    def crops(self, rows: np.ndarray, starts: np.ndarray, *, frames: int = 43) -> np.ndarray:
        """Crops ``(len(rows), frames, n_mels)`` float16: track ``rows[k]`` from frame ``starts[k]``."""
        index = (self.offsets[rows] + starts)[:, None] + np.arange(frames)
        return self.mel[index]

    def random_crops(self, rows: np.ndarray, rng: np.random.Generator, *, frames: int = 43) -> np.ndarray:
        """One uniformly random ``frames``-long crop of each track in ``rows`` (data augmentation)."""
        starts = rng.integers(0, self.n_frames[rows] - frames + 1)
        return self.crops(rows, starts, frames=frames)
