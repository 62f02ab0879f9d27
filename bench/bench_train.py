"""P4: training throughput of `agf train`'s step against a plain eager PyTorch loop, in one run.

    python bench/bench_train.py --workdir /tmp/train-gtzan3 [--steps 30]

Needs a prepared work dir (``agf prepare ../shared/data/gtzan3/tracks.csv --workdir W``).
Every figure is training samples per second (forward + backward + Adam, batch 64, random
1-s crops read from the store), measured after warm-up steps, interleaved in one process:

- eager: the loop a user would write: crops gathered in the main thread, one DCNN, torch Adam.
- agf: the Trainer as `agf train` runs it (background crop threads, stacked model, Adam).
- agf + compile: the same with torch.compile (when it works on this machine).
- 5 STNs: stacked into one grouped model (agf) against 5 separate eager networks.

It then projects epoch times to FMA-medium (21,250 training tracks; 5-task MTN epoch = the
mean task's steps; a 5-task MTN runs 5 x the STN epochs).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from agf.models.dcnn import DCNN
from agf.training.data import TaskData, standardisation
from agf.training.loop import Trainer
from agf.training.settings import train_settings_for
from agf.workdir import Workdir

FMA_TRAIN_TRACKS = 21_250


def eager_samples_per_s(store, rows, mean, std, n_nets: int, steps: int, warmup: int, batch: int = 64) -> float:
    """``n_nets`` separate DCNNs, each with its own Adam, one batch each per step, main-thread loading."""
    rng = np.random.default_rng(0)
    nets = [DCNN(16) for _ in range(n_nets)]
    opts = [torch.optim.Adam(n.parameters(), lr=1e-3, weight_decay=1e-5) for n in nets]
    mean_t, std_t = torch.from_numpy(mean)[:, None], torch.from_numpy(std)[:, None]
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        for net, opt in zip(nets, opts):
            pick = rng.choice(rows, batch)
            x = torch.from_numpy(store.random_crops(pick, rng)).float().transpose(1, 2)
            x = ((x - mean_t) / std_t).unsqueeze(1)
            y = torch.from_numpy(rng.integers(0, 16, batch))
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return n_nets * steps * batch / (time.perf_counter() - start)


def agf_samples_per_s(store, rows, mean, std, n_nets: int, steps: int, warmup: int, *, compile_model: bool = False,
                      batch: int = 64) -> float:
    """The Trainer's step and loader on ``n_nets`` stacked genre networks (16 classes)."""
    rng = np.random.default_rng(1)
    data = [TaskData("g", 16, rows, rng.integers(0, 16, len(rows)), np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.zeros(0, np.int64)) for _ in range(n_nets)]
    tasks = "gsedm"[:n_nets]
    settings = train_settings_for("stn", tasks, epochs=1000, batch_size=batch)
    data = [TaskData(t, d.n_outputs, d.rows, d.targets, d.valid_rows, d.valid_starts, d.valid_targets)
            for t, d in zip(tasks, data)]
    trainer = Trainer("/tmp/bench-train-unused", settings, data, store, mean, std, width=1.0,
                      device=torch.device("cpu"), progress=False, compile_model=compile_model)
    trainer.model.train()
    plan = []
    while len(plan) < warmup + steps:
        plan += trainer.schedule.plan()
    for i, b in enumerate(trainer.loader.batches(plan[:warmup + steps])):
        if i == warmup:
            start = time.perf_counter()
        trainer.step(b.x, b.targets)
    return n_nets * steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to compile)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wd = Workdir(args.workdir)
    tracks, store = wd.tracks(), wd.store()
    rows = np.array([store.row_of[t] for t in tracks.loc[tracks["split"] == "train", "track_id"]], dtype=np.int64)
    mean, std = standardisation(store, rows)
    print(f"torch {torch.__version__}, {args.threads} threads, batch 64, {args.steps} timed steps "
          f"after {args.warmup} warm-up, {len(rows)} training tracks")
    results = {}
    measures = [("eager 1", lambda: eager_samples_per_s(store, rows, mean, std, 1, args.steps, args.warmup)),
                ("agf 1", lambda: agf_samples_per_s(store, rows, mean, std, 1, args.steps, args.warmup)),
                ("eager 5", lambda: eager_samples_per_s(store, rows, mean, std, 5, args.steps // 2, 3)),
                ("agf 5", lambda: agf_samples_per_s(store, rows, mean, std, 5, args.steps // 2, 3))]
    for round_ in range(args.rounds):  # interleaved, order rotated: the machine is shared, take each one's best
        for name, fn in measures[round_ % 4:] + measures[:round_ % 4]:
            results[name] = max(results.get(name, 0.0), fn())
    if args.compile:
        try:
            results["agf 1 compiled"] = agf_samples_per_s(store, rows, mean, std, 1, args.steps, args.warmup + 3,
                                                          compile_model=True)
        except Exception as err:  # noqa: BLE001 - report, do not crash the bench
            print(f"torch.compile failed here: {type(err).__name__}: {err}")
    for name, value in results.items():
        print(f"  {name:<16} {value:8.1f} samples/s")
    print(f"P4 one STN: agf / eager = {results['agf 1'] / results['eager 1']:.2f}x")
    if "agf 1 compiled" in results:
        print(f"P4 one STN, compiled: agf / eager = {results['agf 1 compiled'] / results['eager 1']:.2f}x")
    print(f"5 STNs: stacked (agf) / 5 separate eager = {results['agf 5'] / results['eager 5']:.2f}x")
    stn_epoch = FMA_TRAIN_TRACKS / results["agf 1"]
    print(f"FMA-medium projection on this machine: STN epoch {stn_epoch / 60:.1f} min "
          f"(200 epochs: {200 * stn_epoch / 3600:.1f} h); 5 stacked STNs epoch {5 * FMA_TRAIN_TRACKS / results['agf 5'] / 60:.1f} min; "
          f"5-task MTN epoch {stn_epoch / 60:.1f} min (one task's batches per step), 1000 epochs "
          f"{1000 * stn_epoch / 3600:.1f} h")


if __name__ == "__main__":
    main()
