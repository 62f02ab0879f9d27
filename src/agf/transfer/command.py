"""Train the transfer MLP on trained networks' segment features, score it, optionally bundle it.

Networks are named with --networks ARCH:TASKS[,ARCH:TASKS...]:
  stn:g        the single-task network of task g (the one run DIR/runs/stn-* that trained g)
  stn:gsedm    the five STNs g, s, e, d, m (same as stn:g,stn:s,stn:e,stn:d,stn:m)
  mtn:gm       the g and m branches of the MTN trained on g and m (DIR/runs/mtn-gm)
  wstn:gsedm   the genre network widened to the size of 5 tasks (DIR/runs/wstn-gsedm)
or with --runs RUN_DIR[:TASKS],... (RUN_DIR as a path, or a name under DIR/runs; without
TASKS every task of the run). The features are concatenated in the order given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agf.errors import AgfError
from agf.transfer.bundle import write_bundle
from agf.transfer.fit import default_name, transfer
from agf.transfer.mlp import MLPSettings
from agf.transfer.networks import parse_networks, parse_runs
from agf.workdir import Workdir


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("--workdir", required=True, type=Path, help="the prepared work directory")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--networks", help="ARCH:TASKS,... e.g. stn:g,stn:m or mtn:gm (see above)")
    which.add_argument("--runs", help="RUN_DIR[:TASKS],... e.g. runs/stn-gsedm:gm")
    parser.add_argument("--name", help="model folder name under DIR/transfer (default: from the networks, e.g. stn-gm)")
    parser.add_argument("--bundle", type=Path, help="also write a model bundle folder here, for `agf predict`")
    defaults = MLPSettings()
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=f"MLP epochs (default {defaults.epochs})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--hop", type=int, default=defaults.hop,
                        help=f"frames between segment starts (default {defaults.hop}: 50%% overlap of 1-s segments)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1 or args.batch_size < 1 or args.hop < 1:
        raise AgfError("--epochs, --batch-size and --hop must be at least 1")
    workdir = Workdir(args.workdir)
    refs = parse_networks(args.networks, workdir.root) if args.networks else parse_runs(args.runs, workdir.root)
    settings = MLPSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                           seed=args.seed, hop=args.hop)
    name = args.name or default_name(refs)
    print(f"transfer {name}: networks {', '.join(r.name for r in refs)}")
    result = transfer(workdir.root, refs, name=name, settings=settings, device=args.device)
    print(f"model: {result.folder}")
    if result.scores is None:
        print("no validation tracks: nothing to score")
    else:
        print(f"validation: {result.scores.describe()}")
        print(result.scores.per_class().to_string(float_format=lambda v: f"{v:.3f}"))
        print(f"report: {result.folder / 'metrics.json'}, per_class.csv, confusion.csv, confusion.png")
    if args.bundle:
        path = write_bundle(result.model, args.bundle, front_end=workdir.store().settings)
        print(f"bundle: {path}  (use: agf predict {path} AUDIO...)")
    return 0
