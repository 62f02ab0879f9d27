"""Choose the quick preset's schedule on the validation split, not by hand.

    python bench/tune_quick.py SOURCE --workdir DIR [--epochs 12 24 48] [--hops 43 21]
                               [--mlp-epochs 20 50]

Trains the genre STN for each number of epochs and, for each, the transfer MLP for each
segment hop and number of MLP epochs, then prints every combination's validation log loss,
macro F1 and accuracy with the seconds it took (the STN's share plus the transfer's), best
log loss first. The STNs are kept in DIR (``runs/tune-stn-g-e<E>``), so a rerun only
retrains the MLPs (``transfer/tune-...``). The genre STN alone is tuned because it is the
cheapest network and its case is the reference every multi-task case is compared with.

The split is the work directory's (``agf prepare``'s artist-disjoint default), so the tracks
scored here are those the grid reports on: say so when quoting a tuned preset's scores.
"""

from __future__ import annotations

import argparse
import os
import time
from itertools import product

import pandas as pd

from agf.classifier.fit import transfer
from agf.classifier.networks import NetworkRef
from agf.classifier.settings import MLPSettings
from agf.data.prepare import prepare
from agf.runtime import keep_freed_memory
from agf.training.runs import train, train_settings_for


def timed(step):
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--epochs", type=int, nargs="+", default=[12, 24, 48])
    parser.add_argument("--hops", type=int, nargs="+", default=[43, 21])
    parser.add_argument("--mlp-epochs", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keep_freed_memory()
    print(prepare(args.source, args.workdir, jobs=os.cpu_count() or 1, seed=args.seed, progress=False).describe())

    rows = []
    for epochs in args.epochs:
        name = f"tune-stn-g-e{epochs}"
        settings = train_settings_for("stn", "g", epochs=epochs, seed=args.seed)
        run_dir, train_s = timed(lambda: train(args.workdir, tasks="g", arch="stn", settings=settings,
                                               run_name=name, progress=False))
        for hop, mlp_epochs in product(args.hops, args.mlp_epochs):
            case = f"tune-g-e{epochs}-hop{hop}-mlp{mlp_epochs}"
            mlp = MLPSettings(epochs=mlp_epochs, seed=args.seed, hop=hop)
            result, transfer_s = timed(lambda: transfer(args.workdir, [NetworkRef(run_dir, "g")], name=case,
                                                        settings=mlp, progress=False))
            scores = result.scores
            if scores is None:
                raise SystemExit(f"{args.workdir}: no validation tracks to score; prepare it with a validation split")
            rows.append({"stn_epochs": epochs, "hop": hop, "mlp_epochs": mlp_epochs, "log_loss": scores.log_loss,
                         "f1_macro": scores.macro_f1, "accuracy": scores.accuracy, "n_val_tracks": scores.n_tracks,
                         "stn_s": round(train_s, 1), "transfer_s": round(transfer_s, 1)})
            print(f"  {case}: log loss {scores.log_loss:.4f}, F1 {scores.macro_f1:.3f} "
                  f"({train_s:.0f} s STN, {transfer_s:.0f} s transfer)", flush=True)
    table = pd.DataFrame(rows).sort_values(["log_loss", "stn_epochs", "mlp_epochs"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
