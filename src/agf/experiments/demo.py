"""Run the main job on the built-in synthetic dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from agf.data.prepare import prepare


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", type=Path, default=Path("agf-demo"), help="default: ./agf-demo")
    parser.add_argument("--tracks", type=int, default=120, help="synthetic tracks to generate")


def run(args: argparse.Namespace) -> int:
    summary = prepare(f"synthetic:{args.tracks}", args.workdir, jobs=2)
    print(summary.describe())
    return 0
