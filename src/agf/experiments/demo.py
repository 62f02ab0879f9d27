"""Run the main job on the built-in synthetic dataset: the quick experiment grid, end to end."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from agf.experiments.runner import run_experiment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", type=Path, default=Path("agf-demo"), help="default: ./agf-demo")
    parser.add_argument("--tracks", type=int, default=60, help="synthetic tracks to generate (default 60)")
    parser.add_argument("--workers", type=int, help="local Dask workers (default: one per GPU, else cores / 2)")


def run(args: argparse.Namespace) -> int:
    """``agf demo`` is ``agf experiment synthetic:N --preset quick``."""
    run_experiment(f"synthetic:{args.tracks}", args.workdir, preset="quick", workers=args.workers,
                   command=shlex.join(["agf", *sys.argv[1:]]))
    return 0
