"""Run the paper's experiment grid: every task subset as STN and MTN (+ wSTN), with a report."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from agf.experiments.presets import PRESETS
from agf.experiments.runner import run_experiment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="manifest CSV, fma:METADATA_DIR:AUDIO_DIR[:SUBSET], or synthetic[:N]")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                        help="paper: 200 epochs per STN, 200 x k per k-task MTN, 50 for the MLP; quick: a small check")
    parser.add_argument("--tasks", default="gsedm", help="learning tasks, e.g. gsedm (default) or gm")
    parser.add_argument("--archs", default="stn,mtn", help="comma-separated: stn, mtn")
    parser.add_argument("--wstn", action="store_true", help="also train wSTNs for N = 2 .. number of tasks")
    parser.add_argument("--cluster", metavar="ADDRESS", help="attach to a running Dask scheduler (tcp://host:8786)")
    parser.add_argument("--workers", type=int, help="local cluster size (default: one per GPU, else cores / 2)")
    parser.add_argument("--device", default="auto", help="auto (each worker's GPU when there is one), cpu, cuda")
    tuning = parser.add_argument_group("preset overrides (a work directory keeps the settings it was run with)")
    tuning.add_argument("--epochs", type=int, help="epochs per STN (a k-task MTN trains k times as many)")
    tuning.add_argument("--mlp-epochs", type=int, help="transfer MLP epochs")
    tuning.add_argument("--clusters", type=int, help="k-means dictionary size K of the artist group factors")
    tuning.add_argument("--hop", type=int, help="frames between the starts of the transfer features' 1-s segments")


def run(args: argparse.Namespace) -> int:
    archs = tuple(a.strip() for a in args.archs.split(",") if a.strip())
    unknown = set(archs) - {"stn", "mtn"}
    if unknown:
        raise SystemExit(f"agf experiment: unknown architecture(s) {', '.join(sorted(unknown))}; use stn, mtn (and --wstn)")
    overrides = {name: getattr(args, name) for name in ("epochs", "mlp_epochs", "clusters", "hop")
                 if getattr(args, name) is not None}
    preset = replace(PRESETS[args.preset], **overrides)
    run_experiment(args.source, args.workdir, preset=preset, tasks=args.tasks, archs=archs, wstn=args.wstn,
                   cluster=args.cluster, workers=args.workers, device=args.device,
                   command=shlex.join(["agf", *sys.argv[1:]]))
    return 0
