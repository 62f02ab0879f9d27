"""Train STN / MTN / wSTN networks on random 1-s crops (resumes after a kill).

    agf train --workdir DIR --tasks gsedm --arch stn     # the 5 STNs, trained stacked
    agf train --workdir DIR --tasks g,m --arch mtn       # one MTN, 2 x 200 epochs
    agf train --workdir DIR --tasks gsedm --arch wstn    # a genre network sized like 5 STNs

A finished run is reused while what it learned from (store, tracks, factor targets) is
unchanged; after `agf factors --rebuild` or a new `agf prepare` it says what changed and
retrains.
"""

from __future__ import annotations

import argparse

from agf.tasks import ARCHS
from agf.training.settings import TrainOptions, TrainSettings, train_settings_for


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = TrainSettings(arch="stn", tasks="g")
    parser.add_argument("--tasks", required=True,
                        help="tasks, e.g. gsedm or g,m: g (genre), s, e, d, m (artist groups); for wstn, the setup "
                             "to match")
    parser.add_argument("--arch", required=True, help=f"one of {', '.join(ARCHS)}. stn: one network per task; "
                        "mtn: a shared first block; wstn: one genre network as large as the tasks' STNs")
    parser.add_argument("--epochs", type=int, default=defaults.epochs,
                        help=f"epochs per STN (default {defaults.epochs}; a k-task MTN trains k times as many)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--mtn-draw", default=defaults.mtn_draw,
                        help="MTN: draw a task per iteration (paper, default) or per epoch (reference code)")
    parser.add_argument("--wstn-match", default=defaults.wstn_match,
                        help="wSTN: match the parameter count of the tasks' STNs (default) or of their MTN (mtn)")
    parser.add_argument("--run-name", help="folder name under DIR/runs (default: <arch>-<tasks>, e.g. stn-gsedm)")
    options = TrainOptions()
    parser.add_argument("--checkpoint-seconds", type=float, default=options.checkpoint_seconds,
                        help="a checkpoint when this long has passed since the last, and after the last epoch "
                             f"(default {options.checkpoint_seconds:g}; 0: after every epoch)")
    parser.add_argument("--valid-every", type=int, default=options.valid_every,
                        help="the validation loss every this many epochs, and after the last (default 1)")
    parser.add_argument("--store-on-device", choices=("auto", "always", "never"), default=options.store_on_device,
                        help="the spectrogram store in device memory, crops cut there (auto: on a GPU it fits in)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the training model (off by default: it did not pay on the CPU, "
                             "see bench/bench_train.py --compile)")


def run(args: argparse.Namespace) -> int:
    from agf.training.runs import load_run, train

    settings = train_settings_for(args.arch, args.tasks, epochs=args.epochs, seed=args.seed,
                                  batch_size=args.batch_size, mtn_draw=args.mtn_draw, wstn_match=args.wstn_match)
    options = TrainOptions(checkpoint_seconds=args.checkpoint_seconds, valid_every=args.valid_every,
                           store_on_device=args.store_on_device, compile_model=args.compile, progress=args.progress)
    run_dir = train(args.workdir, tasks=settings.tasks, arch=settings.arch, settings=settings, device=args.device,
                    options=options, run_name=args.run_name)
    trained = load_run(run_dir)
    print(f"{run_dir}: {trained.arch} {''.join(trained.tasks)}, {trained.n_params():,} parameters")
    return 0
