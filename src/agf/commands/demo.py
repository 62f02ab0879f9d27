"""Run the main job on the built-in synthetic dataset: ``agf experiment synthetic:400 --preset demo --tasks gm``."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace

from agf.experiments.presets import DEMO_SOURCE, DEMO_TASKS, PRESETS
from agf.runtime import process_count


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=process_count("--workers"),
                        help="local Dask workers (default: one per GPU, else cores / 2)")


def run(args: argparse.Namespace) -> int:
    from agf.data.tables import load_tracks
    from agf.experiments.runner import run_experiment
    from agf.workdir import Workdir

    run_experiment(DEMO_SOURCE, args.workdir, preset=replace(PRESETS["demo"], seed=args.seed), tasks=DEMO_TASKS,
                   workers=args.workers, device=args.device, progress=args.progress,
                   command=shlex.join(["agf", *sys.argv[1:]]))
    wd = Workdir(args.workdir)
    tracks = load_tracks(wd)
    example = tracks.loc[tracks["split"] == "valid", "path"].iloc[0]
    print(f"report: {wd.report('report.html')}\nbundle: {wd.bundle_dir}\n"
          f"classify a track the networks never trained on:\n  "
          f"agf predict --workdir {shlex.quote(str(args.workdir))} {shlex.quote(str(example))}")
    return 0
