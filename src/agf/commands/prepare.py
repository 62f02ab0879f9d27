"""Decode a dataset into the work directory's spectrogram store (resumable, parallel).

SOURCE is a manifest CSV (path, genre, artist [, track_id, subgenres, split]),
fma:METADATA_DIR:AUDIO_DIR[:SUBSET] or synthetic[:N]. The source and the split are checked
before anything is written, so a mistyped SOURCE leaves no work directory behind.
"""

from __future__ import annotations

import argparse
import os

from agf.data.settings import STRATEGIES, DatasetSettings
from agf.datasets.sources import SOURCE_SYNTAX
from agf.runtime import process_count


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help=SOURCE_SYNTAX)
    parser.add_argument("--jobs", type=process_count("--jobs"), default=os.cpu_count() or 1,
                        help="decoding processes (default: all cores)")
    add_split_options(parser)


def add_split_options(parser: argparse.ArgumentParser) -> None:
    """The options of the tracks' split and labels, for `agf prepare` and `agf experiment` alike."""
    defaults = DatasetSettings(source="")
    parser.add_argument("--split", default=defaults.split,
                        help=f"one of {', '.join(STRATEGIES)}: how train, validation and test tracks are drawn "
                             "(70/15/15 by default). artist: artist-disjoint, stratified by genre (default); album: "
                             "album-disjoint, stratified (FMA's album.id, a manifest's album column); random: the "
                             "paper's stratified random split; source: the dataset's own; date: the newest tracks "
                             "held out (FMA's track.date_created, a manifest's date column)")
    parser.add_argument("--valid-fraction", type=float, default=defaults.valid_fraction,
                        help=f"share of the tracks held out for validation (default {defaults.valid_fraction})")
    parser.add_argument("--test-fraction", type=float, default=defaults.test_fraction,
                        help=f"share of the tracks held out for test (default {defaults.test_fraction}); 0: a "
                             "train/validation split only, as before the test side existed")
    parser.add_argument("--label-noise", type=float, default=defaults.label_noise, metavar="P",
                        help="give a share P in [0, 1) of the training tracks another genre, drawn at random with "
                             "--seed (validation and test keep theirs): to measure robustness to noisy labels")


def run(args: argparse.Namespace) -> int:
    from agf.data.prepare import prepare

    summary = prepare(args.source, args.workdir, split=args.split, valid_fraction=args.valid_fraction,
                      test_fraction=args.test_fraction, label_noise=args.label_noise,
                      seed=args.seed, jobs=args.jobs, progress=args.progress)
    print(summary.describe())
    for problem in summary.problems[:10]:
        print(f"  unusable: {problem.track_id}: {problem.error}")
    if len(summary.problems) > 10:
        print(f"  ... and {len(summary.problems) - 10} more in {args.workdir / 'errors.csv'}")
    return 0
