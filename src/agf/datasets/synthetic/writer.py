"""Writing a synthetic dataset to disk: one FLAC file per track, tracks.csv, and a stamp file
that makes generation resumable and regenerates an output folder made with other settings."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from agf.datasets.synthetic.arrangement import synthesize_track
from agf.datasets.synthetic.plan import SyntheticSettings, track_infos

__all__ = ["GENERATOR_VERSION", "generate_dataset"]

#: Bump when a change to this package changes the audio or the labels; stored in the stamp file
#: so that an output folder made by another version is regenerated, not silently reused.
GENERATOR_VERSION = 1
_STAMP = "synthetic.json"


def _complete(path: Path, settings: SyntheticSettings) -> bool:
    """Whether ``path`` is a readable track of the right length, rate and channels: a resumed
    run keeps it."""
    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - any unreadable file is regenerated
        return False
    return info.frames == settings.n_samples and info.samplerate == settings.sample_rate and info.channels == 1


def _write_flac(path: Path, audio: np.ndarray, sr: int) -> None:
    """Write through a temporary file, so that an interrupted run leaves no truncated track."""
    tmp = path.with_name(path.stem + ".tmp.flac")
    sf.write(str(tmp), audio, sr, format="FLAC", subtype="PCM_16")
    os.replace(tmp, path)


def generate_dataset(settings: SyntheticSettings, out_dir: Path, *, progress: bool = True) -> Path:
    """Write ``out_dir/audio/<track_id>.flac`` for every track and ``out_dir/tracks.csv``.

    Returns the csv path. Idempotent and resumable: audio files already present with the right
    length and sample rate are kept. ``out_dir/synthetic.json`` records the settings and
    :data:`GENERATOR_VERSION`; if it records anything else, the old audio and csv are deleted
    first. tracks.csv columns: track_id, path (relative to the csv), genre, artist, subgenres
    (';'-separated), title.
    """
    out_dir = Path(out_dir)
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "tracks.csv"
    stamp_path = out_dir / _STAMP
    stamp = {"generator_version": GENERATOR_VERSION, "settings": dataclasses.asdict(settings)}
    try:
        old = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        old = None
    if old != stamp:
        for f in audio_dir.glob("syn*.flac"):
            f.unlink()
        csv_path.unlink(missing_ok=True)
        tmp = stamp_path.with_name(stamp_path.name + ".tmp")
        tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, stamp_path)

    infos = track_infos(settings)
    todo = [i for i in infos if not _complete(out_dir / i.path, settings)]
    if todo:
        items = todo
        if progress:
            from tqdm import tqdm

            items = tqdm(todo, desc="synthesising tracks", unit="track")
        for info in items:
            audio, _ = synthesize_track(settings, info.index)
            _write_flac(out_dir / info.path, audio, settings.sample_rate)

    tmp_csv = csv_path.with_name(csv_path.name + ".tmp")
    with open(tmp_csv, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["track_id", "path", "genre", "artist", "subgenres", "title"])
        for i in infos:
            w.writerow([i.track_id, i.path, i.genre, i.artist, ";".join(i.subgenres), i.title])
    os.replace(tmp_csv, csv_path)
    return csv_path
