"""P1 and P2: `agf prepare` throughput against decode-only and librosa, and crop reads from the store.

    python bench/bench_prepare.py [--tracks 60] [--data ../shared/data/gtzan3]

P1: tracks/s per process of the front end as `agf prepare` runs it (decode + resample + mel +
dB + float16 store write, fsync included), against soundfile.read of the same files
(decode-only, the floor) and librosa.load(sr=22050) + melspectrogram + power_to_db (the
baseline a user would write), all in this one run; then whole `agf prepare` with --jobs 1 and 2.
P2: random 128x43 crops/s read from the store, batch 64, as training reads them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from agf.data.prepare import prepare
from agf.data.store import MelStore


def timed(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/gtzan3")
    parser.add_argument("--tracks", type=int, default=60)
    args = parser.parse_args()
    table = pd.read_csv(args.data / "tracks.csv")
    table = table[~table["path"].str.contains("jazz.00054")].sample(n=args.tracks, random_state=0)
    paths = [args.data / p for p in table["path"]]
    torch.set_num_threads(1)

    import librosa

    def librosa_baseline(path):
        y, sr = librosa.load(path, sr=22050)
        librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=512, n_mels=128))

    librosa_baseline(paths[0])  # numba compilation and caches out of the timing
    decode = timed(lambda p: sf.read(p, dtype="float32"), paths)
    baseline = timed(librosa_baseline, paths)

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "ds"
        (manifest / "audio").mkdir(parents=True)
        for p in paths:
            (manifest / "audio" / p.name).symlink_to(p)
        pd.DataFrame({"path": [f"audio/{p.name}" for p in paths], "genre": table["genre"], "artist": table["artist"]}).to_csv(
            manifest / "tracks.csv", index=False)
        rates = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            prepare(manifest / "tracks.csv", Path(tmp) / f"w{jobs}", jobs=jobs, progress=False)
            rates[jobs] = len(paths) / (time.perf_counter() - start)

        print(f"P1 on {len(paths)} gtzan3 clips (30 s, 22,050 Hz MP3), one process each unless said:")
        print(f"  decode-only (soundfile.read)                  {decode:7.1f} tracks/s")
        print(f"  librosa load + melspectrogram + power_to_db   {baseline:7.1f} tracks/s")
        print(f"  agf prepare --jobs 1 (whole command)          {rates[1]:7.1f} tracks/s  = {rates[1] / decode:.2f}x decode-only, "
              f"{rates[1] / baseline:.2f}x librosa")
        print(f"  agf prepare --jobs 2 (whole command)          {rates[2]:7.1f} tracks/s  = {rates[2] / rates[1]:.2f}x --jobs 1 "
              f"(process start-up included)")

        store = MelStore(Path(tmp) / "w1/store")
        rng = np.random.default_rng(0)
        n_batches = 2000
        rows = rng.integers(0, len(store), size=(n_batches, 64))
        store.random_crops(rows[0], rng)
        start = time.perf_counter()
        for batch in rows:
            store.random_crops(batch, rng)
        crops = n_batches * 64 / (time.perf_counter() - start)
        print(f"P2 random 128x43 float16 crops from the store, batch 64, one thread: {crops:,.0f} crops/s (goal >= 50,000)")


if __name__ == "__main__":
    main()
