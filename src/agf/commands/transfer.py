"""Train the transfer MLP on trained networks' segment features, score it, optionally bundle it.

Networks are named with --networks ARCH:TASKS[,ARCH:TASKS...]:
  stn:g        the single-task network of task g (the one run DIR/runs/stn-* that trained g)
  stn:gsedm    the five STNs g, s, e, d, m (same as stn:g,stn:s,stn:e,stn:d,stn:m)
  mtn:gm       the g and m branches of the MTN trained on g and m (DIR/runs/mtn-gm)
  wstn:gsedm   the genre network widened to the size of 5 tasks (DIR/runs/wstn-gsedm)
or with --runs RUN_DIR[:TASKS],... (RUN_DIR as a path, or a name under DIR/runs; without
TASKS every task of the run). The features are concatenated in the order given. --plus-b pools
the model's distributions with the classical baseline's (MFCC and spectral-contrast statistics +
logistic regression), the baseline's weight fitted on the validation tracks, in a model of its
own (``stn-gm+b``). The model is scored on the validation tracks; the report files are written
beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agf.classifier.settings import MLPSettings
from agf.workdir import Workdir


def configure(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--networks", help="ARCH:TASKS,... e.g. stn:g,stn:m or mtn:gm (see above)")
    which.add_argument("--runs", help="RUN_DIR[:TASKS],... e.g. runs/stn-gsedm:gm")
    parser.add_argument("--name", help="model folder name under DIR/transfer (default: from the networks, e.g. stn-gm, "
                                       "and +b with --plus-b)")
    parser.add_argument("--plus-b", action="store_true",
                        help="pool the model with the classical baseline, weighted as fits the validation tracks")
    parser.add_argument("--bundle", type=Path, help="also write a model bundle folder here, for `agf predict`")
    defaults = MLPSettings()
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=f"MLP epochs (default {defaults.epochs})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--hop", type=int, default=defaults.hop,
                        help=f"frames between segment starts (default {defaults.hop}: 50%% overlap of 1-s segments)")


def run(args: argparse.Namespace) -> int:
    from agf.classifier.bundle import write_bundle
    from agf.classifier.fit import default_name, transfer
    from agf.classifier.model import save_model
    from agf.classifier.networks import parse_networks, parse_runs
    from agf.classifier.pooled import pooled_with_baseline
    from agf.classifier.scoring import evaluate
    from agf.data.tables import load_tracks, open_store
    from agf.evaluation.report import write_evaluation
    from agf.tasks import PLUS_B

    settings = MLPSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                           seed=args.seed, hop=args.hop)
    wd = Workdir(args.workdir)
    refs = parse_networks(args.networks, wd.root) if args.networks else parse_runs(args.runs, wd.root)
    alone = default_name(refs) if args.plus_b else args.name or default_name(refs)
    name = (args.name or alone + PLUS_B) if args.plus_b else alone
    folder = wd.transfer_dir(name)
    print(f"transfer {name}: networks {', '.join(r.name for r in refs)}"
          + (", pooled with the classical baseline" if args.plus_b else ""))
    model = transfer(wd.root, refs, name=alone, settings=settings, device=args.device, progress=args.progress)
    if args.plus_b:
        model = pooled_with_baseline(wd.root, model, device=args.device, progress=args.progress)
        save_model(model, folder, workdir=wd.root)
        print(f"baseline weight fitted on the validation tracks: {model.baseline_weight:g}")
    print(f"model: {folder}")
    if (load_tracks(wd)["split"] == "valid").any():
        evaluation = evaluate(wd.root, model, split="valid", device=args.device, progress=args.progress)
        write_evaluation(evaluation.scores, evaluation.tracks, folder, split="valid",
                         extra={"model": str(folder), "networks": [r.name for r in refs]},
                         title=f"{name}: {evaluation.scores.describe()}")
        print(f"validation: {evaluation.scores.describe()}")
        print(evaluation.scores.per_class().to_string(float_format=lambda v: f"{v:.3f}"))
        print(f"report: {folder / 'metrics.json'}, per_class.csv, confusion.csv, confusion.png, val_probs.csv")
    else:
        print("no validation tracks: nothing to score")
    if args.bundle:
        path = write_bundle(model, args.bundle, front_end=open_store(wd).settings)
        print(f"bundle: {path}  (use: agf predict {path} AUDIO...)")
    return 0
