"""Build the artist-group-factor targets (s, e, d, m) of a prepared work directory.

A task already built with the same settings from the same tracks is skipped; one built with
other settings, or before tracks.csv changed, is refused unless --rebuild is given. Networks
trained on the old targets are then stale, and `agf train` / `agf experiment` retrain them.
"""

from __future__ import annotations

import argparse
import os

from agf.factors.settings import MISSING_ARTIST_CHOICES, FactorSettings
from agf.runtime import process_count
from agf.tasks import AG_TASKS


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = FactorSettings()
    parser.add_argument("--tasks", default="".join(AG_TASKS),
                        help="AG tasks, e.g. sedm (default), m or d,m")
    parser.add_argument("--clusters", type=int, default=defaults.n_clusters, help="k-means dictionary size K")
    parser.add_argument("--groups", type=int, default=defaults.n_groups, help="LDA topics = artist groups")
    parser.add_argument("--missing-artist", default=defaults.missing_artist,
                        help=f"tracks without an artist, one of {', '.join(MISSING_ARTIST_CHOICES)}: their own "
                             "singleton artist (default) or no AG target")
    parser.add_argument("--hard-targets", action="store_true", help="one-hot argmax targets instead of soft ones")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild a task built with other settings or from other tracks (instead of refusing)")
    parser.add_argument("--jobs", type=process_count("--jobs"), default=os.cpu_count() or 1,
                        help="Essentia processes (default: all cores)")


def run(args: argparse.Namespace) -> int:
    from agf.factors.build import build_factors

    settings = FactorSettings(n_clusters=args.clusters, n_groups=args.groups, missing_artist=args.missing_artist,
                              hard_targets=args.hard_targets, seed=args.seed)
    results = build_factors(args.workdir, tasks=args.tasks, settings=settings, rebuild=args.rebuild, jobs=args.jobs,
                            device=args.device, progress=args.progress)
    for task, outcome in results.items():
        print(f"{task}: {outcome}")
    return 0 if any(not r.startswith("refused") for r in results.values()) else 2
