"""Writing a synthetic dataset to disk: one FLAC file per track, tracks.csv, and a stamp file
that makes generation resumable and regenerates an output folder made with other settings."""

from __future__ import annotations

import csv
import dataclasses
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf
from tqdm.auto import tqdm

from agf.atomic import atomic_path, write_json
from agf.datasets.synthetic.arrangement import synthesize_track
from agf.datasets.synthetic.plan import SyntheticSettings, track_infos
from agf.runtime import end_with_parent

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


def _write_track(settings: SyntheticSettings, index: int, path: Path) -> None:
    """Synthesise one track and write it atomically, so that an interrupted run leaves no truncated file."""
    audio, _ = synthesize_track(settings, index)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio, settings.sample_rate, format="FLAC", subtype="PCM_16")


def generate_dataset(settings: SyntheticSettings, out_dir: Path, *, jobs: int = 1, progress: bool = True) -> Path:
    """Write ``out_dir/audio/<track_id>.flac`` for every track and ``out_dir/tracks.csv``.

    Returns the csv path. Idempotent and resumable: audio files already present with the right
    length and sample rate are kept. ``out_dir/synthetic.json`` records the settings and
    :data:`GENERATOR_VERSION`; if it records anything else, the old audio and csv are deleted
    first. tracks.csv columns: track_id, path (relative to the csv), genre, artist, subgenres
    (';'-separated), title. ``jobs`` processes synthesise tracks side by side; every track
    depends on (settings, index) alone, so the files are the same for any ``jobs``.
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
        write_json(stamp_path, stamp)

    infos = track_infos(settings)
    todo = [i for i in infos if not _complete(out_dir / i.path, settings)]
    bar = tqdm(total=len(todo), desc="synthesising tracks", unit="track", disable=not progress or not todo)
    if jobs <= 1:
        for info in todo:
            _write_track(settings, info.index, out_dir / info.path)
            bar.update()
    elif todo:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("forkserver"),
                                 initializer=end_with_parent) as pool:
            for future in [pool.submit(_write_track, settings, i.index, out_dir / i.path) for i in todo]:
                future.result()
                bar.update()
    bar.close()

    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["track_id", "path", "genre", "artist", "subgenres", "title"])
        for i in infos:
            w.writerow([i.track_id, i.path, i.genre, i.artist, ";".join(i.subgenres), i.title])
    return csv_path
