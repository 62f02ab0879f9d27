"""Build the artist-group-factor targets (m, d, e, s) of a prepared work directory."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agf.errors import AgfError
from agf.factors.build import build_factors
from agf.factors.settings import MISSING_ARTIST_CHOICES, FactorSettings
from agf.factors.targets import AG_TASKS


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = FactorSettings()
    parser.add_argument("--workdir", required=True, type=Path, help="a work directory made by `agf prepare`")
    parser.add_argument("--tasks", default=",".join(AG_TASKS), help="comma-separated AG tasks (default: s,e,d,m)")
    parser.add_argument("--clusters", type=int, default=defaults.n_clusters, help="k-means dictionary size K")
    parser.add_argument("--groups", type=int, default=defaults.n_groups, help="LDA topics = artist groups")
    parser.add_argument("--missing-artist", choices=MISSING_ARTIST_CHOICES, default=defaults.missing_artist,
                        help="tracks without an artist: their own singleton artist (default) or no AG target")
    parser.add_argument("--hard-targets", action="store_true", help="one-hot argmax targets instead of soft ones")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="Essentia processes (default: all cores)")
    parser.add_argument("--device", default="auto", help="k-means device: auto (cuda when available), cpu, cuda")


def run(args: argparse.Namespace) -> int:
    tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
    try:
        settings = FactorSettings(n_clusters=args.clusters, n_groups=args.groups, missing_artist=args.missing_artist,
                                  hard_targets=args.hard_targets, seed=args.seed)
    except ValueError as err:
        raise AgfError(str(err)) from None
    results = build_factors(args.workdir, tasks=tasks, settings=settings, jobs=args.jobs, device=args.device)
    for task, outcome in results.items():
        print(f"{task}: {outcome}")
    return 0 if any(not r.startswith("refused") for r in results.values()) else 2
