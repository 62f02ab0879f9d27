"""Synthetic music generation speed: CPU seconds per track and real-time factor.

    python bench/bench_synthetic.py [--tracks 24] [--duration 8]

Times ``synthesize_track`` (one process, caches warm) against the track's audio length; the
goal is < 0.1 s per 8-s track so that ``agf demo`` spends its time on the pipeline, not here.
"""

from __future__ import annotations

import argparse
import time

from agf.datasets.synthetic import SyntheticSettings, synthesize_track


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=24)
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args()
    settings = SyntheticSettings(n_tracks=args.tracks, duration_s=args.duration, seed=4)
    synthesize_track(settings, 0)  # warm the wavetable and drum caches
    start = time.process_time()
    for i in range(1, args.tracks):
        synthesize_track(settings, i)
    per_track = (time.process_time() - start) / (args.tracks - 1)
    print(f"synthetic: {per_track * 1000:.1f} ms CPU per {args.duration:g}-s track, "
          f"{args.duration / per_track:.0f}x real time (goal < 100 ms)")


if __name__ == "__main__":
    main()
