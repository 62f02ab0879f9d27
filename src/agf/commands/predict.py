"""Classify audio files with a model bundle: the top genre and the full distribution per file.

    agf predict BUNDLE AUDIO...          a bundle folder (from `agf transfer --bundle` or a grid)
    agf predict --workdir W AUDIO...     the bundle of a grid's work directory (W/bundle)

Any format, rate, channel count and length. A file that cannot be read gets an error line and
the others go on; the exit status is 1 when any file failed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agf.classifier.settings import PredictSettings
from agf.errors import AgfError
from agf.workdir import Workdir


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = PredictSettings()
    parser.usage = "agf predict [options] (BUNDLE | --workdir W) AUDIO [AUDIO ...]"
    parser.add_argument("paths", nargs="+", type=Path, metavar="BUNDLE AUDIO",
                        help="the bundle folder (unless --workdir names it), then the audio files")
    parser.add_argument("--json", action="store_true",
                        help='one JSON object per line: {"path", "genre", "probabilities", "n_segments", "padded"} '
                             'or {"path", "error"}')
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help=f"segments per forward pass (default {defaults.batch_size})")
    parser.add_argument("--block-seconds", type=float, default=defaults.block_seconds,
                        help="audio decoded per block; bounds memory, and the dB floor is per block "
                             f"(default {defaults.block_seconds:g})")


def run(args: argparse.Namespace) -> int:
    from agf.classifier.predict import Predictor

    settings = PredictSettings(batch_size=args.batch_size, block_seconds=args.block_seconds)
    if args.workdir is not None:
        bundle, audio = Workdir(args.workdir).bundle_dir, args.paths
    else:
        bundle, audio = args.paths[0], args.paths[1:]
    if not audio:
        raise AgfError("no audio files given: agf predict BUNDLE AUDIO... (or --workdir W AUDIO...)")
    predictor = Predictor(bundle, device=args.device, settings=settings)
    failed = 0
    for prediction in predictor.predict(audio):
        failed += not prediction.ok
        print(json.dumps(prediction.to_json()) if args.json else prediction.describe(), flush=True)
    if failed and not args.json:
        print(f"{failed} of {len(audio)} files could not be classified", file=sys.stderr)
    return 1 if failed else 0
