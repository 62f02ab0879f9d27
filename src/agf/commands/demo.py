"""Run the main job on the built-in synthetic dataset: ``agf experiment synthetic:N --preset quick``."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace

from agf.experiments.presets import PRESETS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracks", type=int, default=60, help="synthetic tracks to generate (default 60)")
    parser.add_argument("--workers", type=int, help="local Dask workers (default: one per GPU, else cores / 2)")


def run(args: argparse.Namespace) -> int:
    from agf.experiments.runner import run_experiment

    run_experiment(f"synthetic:{args.tracks}", args.workdir, preset=replace(PRESETS["quick"], seed=args.seed),
                   workers=args.workers, device=args.device, progress=args.progress,
                   command=shlex.join(["agf", *sys.argv[1:]]))
    return 0
