"""Decode a dataset into the work directory's spectrogram store (resumable, parallel)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agf.data.prepare import prepare
from agf.data.splits import STRATEGIES


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="manifest CSV, fma:METADATA_DIR:AUDIO_DIR[:SUBSET], or synthetic[:N]")
    parser.add_argument("--workdir", required=True, type=Path, help="folder for the store and every later artefact")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="decoding processes (default: all cores)")
    parser.add_argument("--split", choices=STRATEGIES, default="artist",
                        help="artist: artist-disjoint stratified (default); random: the paper's stratified random split; source: the dataset's own")
    parser.add_argument("--valid-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    summary = prepare(args.source, args.workdir, split=args.split, valid_fraction=args.valid_fraction,
                      seed=args.seed, jobs=args.jobs)
    print(summary.describe())
    for problem in summary.problems[:10]:
        print(f"  unusable: {problem.track_id}: {problem.error}")
    if len(summary.problems) > 10:
        print(f"  ... and {len(summary.problems) - 10} more in {args.workdir / 'errors.csv'}")
    return 0
