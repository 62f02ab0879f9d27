"""Run the paper's experiment grid: every task subset as STN and MTN (+ wSTN), with a report.

Cases are chosen on the validation tracks and reported on the test tracks. Rerun with the same
command to finish an interrupted grid; rerun with other settings and the
grid redoes what they change (factors, the networks that learned from them, their cases) and
keeps the rest.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace

from agf.commands.prepare import add_split_options
from agf.datasets.sources import SOURCE_SYNTAX
from agf.experiments.grid import GRID_ARCHS
from agf.experiments.presets import PRESETS
from agf.runtime import process_count


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help=SOURCE_SYNTAX)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                        help="paper: 200 epochs per STN, 200 x k per k-task MTN, 50 for the MLP; quick: a small check; "
                             "demo: the settings of `agf demo`")
    parser.add_argument("--tasks", default="gsedm", help="learning tasks, e.g. gsedm (default), gm or g,m")
    parser.add_argument("--archs", default=",".join(GRID_ARCHS), help="comma-separated: stn, mtn")
    parser.add_argument("--wstn", action="store_true", help="also train wSTNs for N = 2 .. number of tasks")
    parser.add_argument("--b-cases", action=argparse.BooleanOptionalAction, default=True,
                        help="also the +b cases (default: on): g alone and all the tasks, each architecture, their "
                             "track distributions pooled with the classical baseline's (weight fitted on validation), "
                             "chosen on validation like any case")
    add_split_options(parser)
    parser.add_argument("--folds", type=int, metavar="K",
                        help="run the grid on K folds (grouped as --split groups tracks: by artist by default), each "
                             "fold's test tracks held out once, and report the folds pooled, with intervals over "
                             "tracks and over folds; K >= 2")
    parser.add_argument("--seeds", type=int, default=1, metavar="S",
                        help="train every grid (each fold's, with --folds) S times, with seeds --seed .. --seed + S-1 "
                             "on the split of --seed, and report how much each case's score moves with the seed "
                             "alone (*_seeds_sd); costs S times the grid (default 1)")
    parser.add_argument("--cluster", metavar="ADDRESS", help="attach to a running Dask scheduler (tcp://host:8786)")
    parser.add_argument("--workers", type=process_count("--workers"),
                        help="local cluster size (default: one per GPU, else cores / 2; more than the GPUs share them)")
    tuning = parser.add_argument_group("preset overrides")
    tuning.add_argument("--epochs", type=int, help="epochs per STN (a k-task MTN trains k times as many)")
    tuning.add_argument("--mlp-epochs", type=int, help="transfer MLP epochs")
    tuning.add_argument("--clusters", type=int, help="k-means dictionary size K of the artist group factors")
    tuning.add_argument("--hop", type=int, help="frames between the starts of the transfer features' 1-s segments")


def run(args: argparse.Namespace) -> int:
    from agf.experiments.runner import run_experiment

    archs = tuple(a.strip() for a in args.archs.split(",") if a.strip())
    overrides = {name: getattr(args, name) for name in ("epochs", "mlp_epochs", "clusters", "hop")
                 if getattr(args, name) is not None}
    preset = replace(PRESETS[args.preset], seed=args.seed, **overrides)
    run_experiment(args.source, args.workdir, preset=preset, tasks=args.tasks, archs=archs, wstn=args.wstn,
                   plus_b=args.b_cases,
                   split=args.split, valid_fraction=args.valid_fraction, test_fraction=args.test_fraction,
                   folds=args.folds, seeds=args.seeds, label_noise=args.label_noise,
                   cluster=args.cluster, workers=args.workers, device=args.device, progress=args.progress,
                   command=shlex.join(["agf", *sys.argv[1:]]))
    return 0
