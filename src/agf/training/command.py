"""``agf train``: train STN / MTN / wSTN networks on random 1-s crops (resumes after a kill).

    agf train --workdir DIR --tasks g,s,e,d,m --arch stn      # the 5 STNs, trained stacked
    agf train --workdir DIR --tasks g,m --arch mtn            # one MTN, 2 x 200 epochs
    agf train --workdir DIR --tasks g,s,e,d,m --arch wstn     # genre network sized like 5 STNs
"""

from __future__ import annotations

import argparse

from agf.training.runs import load_run, train
from agf.training.settings import ARCHS, canonical_tasks, train_settings_for


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", required=True, help="work directory made by `agf prepare`")
    parser.add_argument("--tasks", required=True,
                        help="comma-separated tasks: g (genre), s, e, d, m (artist groups); for wstn, the setup to match")
    parser.add_argument("--arch", required=True, choices=ARCHS, help="stn: one network per task; mtn: shared first "
                        "block; wstn: one genre network as large as the tasks' STNs")
    parser.add_argument("--epochs", type=int, default=200, help="epochs per STN (a k-task MTN trains k times as many)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mtn-draw", choices=("iteration", "epoch"), default="iteration",
                        help="MTN: draw a task per iteration (paper) or per epoch (reference code)")
    parser.add_argument("--wstn-match", choices=("stn", "mtn"), default="stn",
                        help="wSTN: match the parameter count of the tasks' STNs or of their MTN")
    parser.add_argument("--run-name", help="folder name under DIR/runs (default: <arch>-<tasks>, e.g. stn-gsedm)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    tasks = canonical_tasks(args.tasks.split(","))
    settings = train_settings_for(args.arch, tasks, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
                                  mtn_draw=args.mtn_draw, wstn_match=args.wstn_match)
    run_dir = train(args.workdir, tasks=tasks, arch=args.arch, settings=settings, device=args.device,
                    progress=not args.no_progress, run_name=args.run_name)
    trained = load_run(run_dir)
    print(f"{run_dir}: {args.arch} {''.join(trained.tasks)}, {trained.n_params():,} parameters")
    return 0
