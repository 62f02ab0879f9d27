"""P4: training throughput of `agf train`'s step: against a plain eager loop, per max-pool and memory
layout, and against another checkout of agf, in one run.

    python bench/bench_train.py --workdir /tmp/train-gtzan3 [--steps 30] [--baseline-src ../before-main/src]
        [--json FILE]

Needs a prepared work dir (``agf prepare ../shared/data/gtzan3/tracks.csv --workdir W``).
Every figure is training samples per second (forward + backward + Adam, batch 64, random
1-s crops read from the store), measured after warm-up steps, interleaved in one process and
the best of ``--rounds`` kept (the machine may be shared):

- eager 1: the loop a user would write: crops gathered in the main thread, one DCNN, torch Adam.
- agf 1: the Trainer as `agf train` runs it (background crop threads, stacked model, Adam).
- agf 1 NCHW: the same with the model in NCHW (the layout before training moved to channels-last).
- agf 1 channels-last: the same with the model in channels-last (``model.to(memory_format=
  torch.channels_last)``, the layout `agf train` uses on CUDA), where PyTorch's own pools are fast.
- agf 1 compiled (``--compile``): torch.compile of the Trainer's model; compile time reported.
- agf 1 bf16 (``--bf16``): the Trainer's step under CPU bf16 autocast (`agf train` autocasts to
  bf16 on CUDA only: this measures whether it would pay on the CPU too).
- 5 STNs: stacked into one grouped model (agf, and in channels-last) against 5 separate eager
  networks.
- baseline agf 1 (``--baseline-src PATH``): "agf 1" measured by this script in a subprocess with
  PATH (another checkout's ``src``) first on PYTHONPATH, once per round between the others.

It then projects epoch times to FMA-medium (21,250 training tracks; 5-task MTN epoch = the
mean task's steps; a 5-task MTN runs 5 x the STN epochs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agf.models.dcnn import DCNN
from agf.runtime import keep_freed_memory
from agf.training.data import TaskData, standardisation
from agf.training.loop import Trainer
from agf.training.settings import TrainSettings, train_settings_for
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


def open_workdir(path: str):
    """The tracks table and the store of a prepared work dir, in this checkout or an older one."""
    wd = Workdir(path)
    try:
        from agf.data.tables import load_tracks, open_store
    except ImportError:  # checkouts before agf.data.tables (a --baseline-src) had them on Workdir
        return wd.tracks(), wd.store()
    return load_tracks(wd), open_store(wd)


def agf_samples_per_s(store, rows, mean, std, n_nets: int, steps: int, warmup: int, *, compile_model: bool = False,
                      memory_format: torch.memory_format | None = None, bf16: bool = False,
                      batch: int = 64) -> float:
    """The Trainer's step and loader on ``n_nets`` stacked genre networks (16 classes).

    ``memory_format`` puts the Trainer's model and its batches in that layout (``None``: the layout
    the Trainer chose; both must change, as a conv follows channels-last input or weights). With
    ``compile_model`` the first step's seconds (compilation) are printed; ``bf16`` runs each step under
    CPU bf16 autocast.
    """
    rng = np.random.default_rng(1)
    tasks = "gsedm"[:n_nets]
    settings = train_settings_for("stn", tasks, epochs=1000, batch_size=batch)
    data = [TaskData(t, 16, rows, rng.integers(0, 16, len(rows)), np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.zeros(0, np.int64)) for t in tasks]
    trainer = Trainer("/tmp/bench-train-unused", settings, data, store, mean, std, width=1.0,
                      device=torch.device("cpu"), **trainer_options(compile_model))
    if memory_format is not None:
        trainer.model.to(memory_format=memory_format)  # in place: the optimiser keeps the same parameters
    trainer.model.train()
    plan = []
    while len(plan) < warmup + steps:
        plan += trainer.schedule.plan()
    begin = time.perf_counter()
    for i, b in enumerate(trainer.loader.batches(plan[:warmup + steps])):
        if i == warmup:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            trainer.step(b.x if memory_format is None else b.x.contiguous(memory_format=memory_format), b.targets)
        if i == 0 and compile_model:
            print(f"  torch.compile: first step {time.perf_counter() - begin:.1f} s (compilation)", flush=True)
    return n_nets * steps * batch / (time.perf_counter() - start)


def trainer_options(compile_model: bool) -> dict:
    """The Trainer's options in this checkout's form (TrainOptions) or an older one's (keywords)."""
    try:
        from agf.training.settings import TrainOptions
    except ImportError:
        return {"progress": False, "compile_model": compile_model}
    return {"options": TrainOptions(progress=False, compile_model=compile_model, store_on_device="never")}


def baseline_samples_per_s(src: str, args: argparse.Namespace) -> float:
    """This script's "agf 1" with another checkout's ``src`` first on PYTHONPATH, in a subprocess."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    cmd = [sys.executable, __file__, "--workdir", args.workdir, "--steps", str(args.steps), "--warmup",
           str(args.warmup), "--threads", str(args.threads), "--only-agf-1"]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["agf 1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to compile)")
    parser.add_argument("--bf16", action="store_true", help="also measure the step under CPU bf16 autocast")
    parser.add_argument("--baseline-src", help="another checkout's src folder: its `agf 1`, for the ratio")
    parser.add_argument("--json", help="also write the samples/s to this file (the baseline's as \"baseline agf 1\")")
    parser.add_argument("--only-agf-1", action="store_true", help=argparse.SUPPRESS)  # the baseline subprocess
    args = parser.parse_args()
    keep_freed_memory()  # as every `agf` command does
    torch.set_num_threads(args.threads)
    tracks, store = open_workdir(args.workdir)
    rows = np.array([store.row_of[t] for t in tracks.loc[tracks["split"] == "train", "track_id"]], dtype=np.int64)
    # checkouts before the input levels (a --baseline-src) standardised per mel bin only
    level = getattr(TrainSettings, "level", None)
    mean, std = standardisation(store, rows) if level is None else standardisation(store, rows, level=level)
    if args.only_agf_1:
        print(json.dumps({"agf 1": agf_samples_per_s(store, rows, mean, std, 1, args.steps, args.warmup)}))
        return
    print(f"torch {torch.__version__}, {args.threads} threads, batch 64, {args.steps} timed steps "
          f"after {args.warmup} warm-up, {len(rows)} training tracks")

    def agf_1(**variant):
        return lambda: agf_samples_per_s(store, rows, mean, std, 1, args.steps, args.warmup, **variant)

    nchw, channels_last = torch.contiguous_format, torch.channels_last
    measures = {"eager 1": lambda: eager_samples_per_s(store, rows, mean, std, 1, args.steps, args.warmup),
                "agf 1": agf_1(),
                "agf 1 NCHW": agf_1(memory_format=nchw),
                "agf 1 channels-last": agf_1(memory_format=channels_last),
                "eager 5": lambda: eager_samples_per_s(store, rows, mean, std, 5, args.steps // 2, 3),
                "agf 5": lambda: agf_samples_per_s(store, rows, mean, std, 5, args.steps // 2, 3),
                "agf 5 channels-last": lambda: agf_samples_per_s(store, rows, mean, std, 5, args.steps // 2, 3,
                                                                 memory_format=channels_last)}
    if args.bf16:
        measures["agf 1 bf16"] = agf_1(bf16=True)
    if args.baseline_src:
        measures["baseline agf 1"] = lambda: baseline_samples_per_s(args.baseline_src, args)
    names = list(measures)
    results: dict[str, float] = {}
    for round_ in range(args.rounds):  # interleaved, order rotated: the machine is shared, take each one's best
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            results[name] = max(results.get(name, 0.0), measures[name]())
    if args.compile:
        try:
            results["agf 1 compiled"] = agf_samples_per_s(store, rows, mean, std, 1, args.steps, args.warmup + 3,
                                                          compile_model=True)
        except Exception as err:  # noqa: BLE001 - report, do not crash the bench
            print(f"torch.compile failed here: {type(err).__name__}: {err}")
    for name, value in results.items():
        print(f"  {name:<32} {value:8.1f} samples/s")
    print(f"P4 one STN: agf / eager = {results['agf 1'] / results['eager 1']:.2f}x")
    print(f"layout: channels-last / NCHW = {results['agf 1 channels-last'] / results['agf 1 NCHW']:.2f}x")
    if "agf 1 bf16" in results:
        print(f"CPU bf16 autocast: bf16 / agf 1 = {results['agf 1 bf16'] / results['agf 1']:.2f}x")
    if "agf 1 compiled" in results:
        print(f"P4 one STN, compiled: agf / eager = {results['agf 1 compiled'] / results['eager 1']:.2f}x; "
              f"compiled / agf 1 = {results['agf 1 compiled'] / results['agf 1']:.2f}x")
    print(f"5 STNs: stacked (agf) / 5 separate eager = {results['agf 5'] / results['eager 5']:.2f}x; "
          f"channels-last / agf = {results['agf 5 channels-last'] / results['agf 5']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.baseline_src:
        base = results[names[-1]]
        print(f"against the baseline checkout: agf 1 = {results['agf 1'] / base:.2f}x, "
              f"NCHW = {results['agf 1 NCHW'] / base:.2f}x, "
              f"channels-last = {results['agf 1 channels-last'] / base:.2f}x")
    stn_epoch = FMA_TRAIN_TRACKS / results["agf 1"]
    print(f"FMA-medium projection on this machine: STN epoch {stn_epoch / 60:.1f} min "
          f"(200 epochs: {200 * stn_epoch / 3600:.1f} h); 5 stacked STNs epoch {5 * FMA_TRAIN_TRACKS / results['agf 5'] / 60:.1f} min; "
          f"5-task MTN epoch {stn_epoch / 60:.1f} min (one task's batches per step), 1000 epochs "
          f"{1000 * stn_epoch / 3600:.1f} h")


if __name__ == "__main__":
    main()
