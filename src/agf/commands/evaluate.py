"""Score a transfer model (a DIR/transfer/<name> folder or a model bundle) on a split's tracks.

Prints the metrics and writes metrics.json, per_class.csv, confusion.csv, confusion.png and
the per-track distributions (val_probs.csv, or <split>_probs.csv) into the model folder (or
--out).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="DIR/transfer/<name> folder or a model bundle folder")
    parser.add_argument("--out", type=Path, help="folder for the report files (default: the model folder)")
    parser.add_argument("--split", default="valid", help="which split's tracks to score (default valid)")


def run(args: argparse.Namespace) -> int:
    from agf.classifier.scoring import evaluate
    from agf.evaluation.report import write_evaluation

    evaluation = evaluate(args.workdir, args.model, split=args.split, device=args.device, progress=args.progress)
    out = args.out or args.model
    paths = write_evaluation(evaluation.scores, evaluation.tracks, out, split=args.split,
                             extra={"model": str(args.model)},
                             title=f"{Path(args.model).name} ({args.split}): {evaluation.scores.describe()}")
    print(f"{args.model} on the {args.split} tracks of {args.workdir}")
    print(evaluation.scores.describe())
    print(evaluation.scores.per_class().to_string(float_format=lambda v: f"{v:.3f}"))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
