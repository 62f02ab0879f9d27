"""Essentia MusicExtractor throughput: tracks per second in one process (30-s gtzan3 clips).

    python bench/bench_essentia.py --tracks 8
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import soundfile as sf

from agf.factors.essentia_features import extract

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=8)
    parser.add_argument("--audio", type=Path, default=SHARED / "data/gtzan3/audio")
    args = parser.parse_args()
    files = sorted(p for p in args.audio.glob("*.mp3"))[:: max(1, 200 // args.tracks)][: args.tracks]
    if not files:
        raise SystemExit(f"no clips found in {args.audio}")
    extract(files[0])  # the extractor's one-off set-up is not per-track work
    audio_s, columns = 0.0, 0
    t0 = time.perf_counter()
    for path in files:
        descriptors, error = extract(path)
        if error:
            print(f"{path.name}: {error}")
            continue
        columns = len(descriptors)
        audio_s += sf.info(path).duration
    wall = time.perf_counter() - t0
    print(f"{len(files)} clips, {audio_s:.0f} s of audio in {wall:.1f} s: {len(files) / wall:.2f} tracks/s per process "
          f"({wall / len(files):.2f} s/track, {audio_s / wall:.0f}x real time), {columns} numeric columns per track")
    print(f"projection: 25,000 FMA-medium clips = {25_000 * wall / len(files) / 3600:.1f} process-hours")


if __name__ == "__main__":
    main()
