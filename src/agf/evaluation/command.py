"""Score a transfer model (a DIR/transfer/<name> folder or a model bundle) on the validation tracks.

Prints the metrics and writes metrics.json, per_class.csv, confusion.csv and confusion.png
into the model folder (or --out), plus the per-track distributions (<split>_probs.csv).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agf.evaluation.report import write_report
from agf.evaluation.validation import evaluate_split
from agf.transfer.bundle import is_bundle, load_bundle
from agf.transfer.model import TransferModel, load_model


def open_model(path: Path, workdir: Path) -> TransferModel:
    """A transfer model folder's model, or a bundle's (whose networks live inside the bundle)."""
    return load_bundle(path).model if is_bundle(path) else load_model(path, workdir=workdir)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", required=True, type=Path, help="the prepared work directory whose tracks to score")
    parser.add_argument("--model", required=True, type=Path, help="DIR/transfer/<name> folder or a model bundle folder")
    parser.add_argument("--out", type=Path, help="folder for the report files (default: the model folder)")
    parser.add_argument("--split", default="valid", help="which split's tracks to score (default valid)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    model = open_model(args.model, args.workdir)
    evaluation = evaluate_split(args.workdir, model, split=args.split, device=args.device)
    out = args.out or args.model
    paths = write_report(evaluation.scores, out, extra={"model": str(args.model), "split": args.split,
                                                        "networks": [r.name for r in model.refs]},
                         title=f"{Path(args.model).name} ({args.split}): {evaluation.scores.describe()}")
    probs_name = "val_probs.csv" if args.split == "valid" else f"{args.split}_probs.csv"  # as `agf transfer` names it
    evaluation.tracks.to_csv(Path(out) / probs_name, index=False, float_format="%.6f")
    print(f"{args.model} on the {args.split} tracks of {args.workdir}")
    print(evaluation.scores.describe())
    print(evaluation.scores.per_class().to_string(float_format=lambda v: f"{v:.3f}"))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
