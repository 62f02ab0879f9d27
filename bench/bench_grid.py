"""P5: the paper's grid at FMA-medium scale projected from measured rates, and grid scaling
with the number of local Dask workers.

    python bench/bench_grid.py [--device auto] [--scaling] [--tracks 24] [--json FILE]

Projection: the three kinds of work the grid does are timed on this machine's device
(CUDA when present, else the CPU) with the real modules, then multiplied by their counts in
the paper grid (``--preset paper --tasks gsedm --wstn``) on FMA-medium; the arithmetic is
printed line by line.

- training: DCNN forward + backward + Adam, batch 64 (channels-last, and bf16 autocast on
  CUDA, as `agf train` runs), in samples/s; an MTN step costs one DCNN step (the shared
  block plus one branch), a wSTN step its width-scaled DCNN's.
- features: the grid's feature path (an ``Embedder``: standardisation, BN folded, channels-last)
  on 1-s segments, batch 512, in segments/s.
- MLP: the grid's 57 transfer MLPs trained together (``train_mlps``: one pass over the segments
  per epoch), on features of 1 to 5 networks (256 to 1,280 columns), batch 64, in case-steps/s
  (one case's optimiser step); the old way, one MLP at a time, is printed beside it.

Scaling (``--scaling``): the whole g/m grid on ``synthetic:N`` with the tiny schedule of the
tests, on a local cluster of 1 worker and then of 2 (fresh work dirs), wall time each.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agf.classifier.mlp import TransferMLP, train_mlps
from agf.classifier.networks import Embedder, NetworkRef
from agf.classifier.settings import MLPSettings
from agf.device import autocast, resolve_device
from agf.models.dcnn import DCNN, count_parameters
from agf.models.width import match_width, setup_parameters
from agf.runtime import keep_freed_memory
from agf.training.runs import TrainedRun

# FMA-medium as the paper uses it: 25,000 30-s clips, 16 genres, 85/15 split
TRACKS, TRAIN_TRACKS, GENRES = 25_000, 21_250, 16
FRAMES = 1 + 30 * 22_050 // 512  # frames of a 30-s clip
SEGMENTS = (FRAMES - 43) // 21 + 1  # segments per track at hop 21
EPOCHS, MLP_EPOCHS, BATCH = 200, 50, 64
AG_GROUPS = 40


def dcnn_flops() -> float:
    """Forward FLOPs of one 1-s segment through the DCNN (multiply-adds x 2 of its convs and dense layers)."""
    net = DCNN(GENRES)
    x, total = torch.zeros(1, 1, 128, 43), 0.0
    hooks = []

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            total += 2 * output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.Linear):
            total += 2 * module.in_features * module.out_features

    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            hooks.append(m.register_forward_hook(count))
    with torch.no_grad():
        net.eval()(x)
    for h in hooks:
        h.remove()
    return total


def wstn_widths() -> dict[int, float]:
    """Width of the wSTN matching the N-task STN setup g + N-1 artist-group tasks, N = 2..5."""
    widths = {}
    for n in range(2, 6):
        outputs = {"g": GENRES, **{t: AG_GROUPS for t in "sedm"[:n - 1]}}
        widths[n] = match_width(setup_parameters(outputs, "stn"), GENRES)[0]
    return widths


def timed(step, n: int, device: torch.device) -> float:
    """Seconds per call of ``step`` after 3 warm-up calls."""
    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / n


def train_rate(device: torch.device, width: float = 1.0, steps: int = 10) -> float:
    # channels-last on every device, as the Trainer builds its model and the loader its batches
    net = DCNN(GENRES, width=width).to(device, memory_format=torch.channels_last)
    x = torch.randn(BATCH, 1, 128, 43, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, GENRES, (BATCH,), device=device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-5)

    def step():
        with autocast(device):
            loss = F.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return BATCH / timed(step, steps, device)


def feature_rate(device: torch.device, steps: int = 5) -> float:
    """Segments per second through the grid's feature path: an :class:`Embedder` of one network
    (standardisation, BN folded, channels-last), on dB segments as the store holds them."""
    run = TrainedRun(Path("bench"), "stn", ("g",), tuple(map(str, range(GENRES))), np.zeros(128, np.float32),
                     np.ones(128, np.float32), networks={"g": DCNN(GENRES)})
    embedder = Embedder([run], [NetworkRef(Path("bench"), "g")]).to(device)
    x = torch.randn(512, 43, 128, device=device) * 12 - 40

    def step():
        with torch.inference_mode(), autocast(device):
            embedder(x)

    return 512 / timed(step, steps, device)


def batched_mlp_rate(device: torch.device, segments: int = 6_400) -> float:
    """Case-steps per second of the grid's 57 cases trained together (one epoch, after a warm-up epoch)."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(segments, 5 * 256)).astype(np.float16)
    labels = rng.integers(0, GENRES, segments)
    blocks = [np.arange(256 * k, 256 * (k + 1)) for k in range(5)]
    stn = [np.concatenate([blocks[k] for k in subset]) for n in range(1, 6) for subset in combinations(range(5), n)]
    columns = stn + [c for c in stn if len(c) > 256]  # the 26 MTN cases read as many columns as their STN sets
    settings = MLPSettings(epochs=1, batch_size=BATCH)
    train_mlps(features[:BATCH * 4], labels[:BATCH * 4], columns, GENRES, settings, device=device, progress=False)
    start = time.perf_counter()
    train_mlps(features, labels, columns, GENRES, settings, device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(columns) * math.ceil(segments / BATCH) / (time.perf_counter() - start)


def mlp_rate(device: torch.device, steps: int = 200) -> float:
    """Steps per second of one transfer MLP on 1,280 columns, trained alone (the old way)."""
    mlp = TransferMLP(5 * 256, GENRES).to(device)
    x, y = torch.randn(BATCH, 5 * 256, device=device), torch.randint(0, GENRES, (BATCH,), device=device)
    opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)

    def step():
        loss = F.cross_entropy(mlp(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return 1 / timed(step, steps, device)


def projection(device: torch.device) -> dict[str, float]:
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}, "
          f"{torch.get_num_threads()} torch threads)")
    rate = train_rate(device)
    print(f"measured: training {rate:,.0f} samples/s (DCNN, batch {BATCH})")
    widths = wstn_widths()
    wstn_rates = {n: train_rate(device, w, steps=5) for n, w in widths.items()}
    for n, r in wstn_rates.items():
        print(f"          wSTN N={n} (width x{widths[n]:.4f}, {count_parameters(DCNN(GENRES, width=widths[n])):,} "
              f"parameters): {r:,.0f} samples/s")
    seg_rate, alone_rate, step_rate = feature_rate(device), mlp_rate(device), batched_mlp_rate(device)
    print(f"          features {seg_rate:,.0f} segments/s; MLPs {step_rate:,.0f} case-steps/s trained together "
          f"(57 cases), {alone_rate:,.0f} steps/s one at a time (1,280 columns)")

    tasks = "gsedm"
    subsets = [c for k in range(1, 6) for c in combinations(tasks, k)]
    mtn_epochs = sum(len(c) * EPOCHS for c in subsets if len(c) > 1)  # a k-task MTN trains k x 200 epochs
    stn_epochs = len(tasks) * EPOCHS
    steps_per_epoch = math.ceil(TRAIN_TRACKS / BATCH)
    train_s = (stn_epochs + mtn_epochs) * steps_per_epoch * BATCH / rate
    wstn_s = sum(EPOCHS * steps_per_epoch * BATCH / r for r in wstn_rates.values())
    nets_embedded = len(tasks) + sum(len(c) for c in subsets if len(c) > 1) + len(widths)
    feature_s = nets_embedded * TRACKS * SEGMENTS / seg_rate
    cases = len(subsets) + sum(len(c) > 1 for c in subsets) + len(widths)
    mlp_steps = cases * MLP_EPOCHS * math.ceil(TRAIN_TRACKS * SEGMENTS / BATCH)
    mlp_s = mlp_steps / step_rate
    print("\npaper grid (gsedm, STN + MTN + wSTN N=2..5) on FMA-medium:")
    print(f"  STNs: 5 x {EPOCHS} epochs = {stn_epochs:,}; MTNs: sum over the 26 multi-task subsets of k x {EPOCHS}"
          f" = {mtn_epochs:,} epochs")
    print(f"  training: {stn_epochs + mtn_epochs:,} epochs x {steps_per_epoch} steps x {BATCH} / {rate:,.0f} samples/s"
          f" = {train_s / 3600:,.1f} h")
    print(f"  wSTNs: 4 x {EPOCHS} epochs at their measured rates = {wstn_s / 3600:,.1f} h")
    print(f"  features: {nets_embedded} networks x {TRACKS:,} tracks x {SEGMENTS} segments / {seg_rate:,.0f}/s"
          f" = {feature_s / 3600:,.1f} h")
    print(f"  MLPs: {cases} cases x {MLP_EPOCHS} epochs x {math.ceil(TRAIN_TRACKS * SEGMENTS / BATCH):,} steps"
          f" / {step_rate:,.0f} case-steps/s = {mlp_s / 3600:,.1f} h (one at a time: "
          f"{mlp_steps / alone_rate / 3600:,.1f} h)")
    total = train_s + wstn_s + feature_s + mlp_s
    print(f"  total: {total / 3600:,.1f} {device.type.upper()}-hours on this device "
          f"(goal on an H100: <= 2 h)")
    figures = {"training samples/s": rate, "features segments/s": seg_rate, "MLP case-steps/s": step_rate,
               "training h": train_s / 3600, "wSTN h": wstn_s / 3600, "features h": feature_s / 3600,
               "MLP h": mlp_s / 3600, "total h": total / 3600}
    flops = (stn_epochs + mtn_epochs) * TRAIN_TRACKS * 3 * dcnn_flops()
    print(f"  floor: the {stn_epochs + mtn_epochs:,} training epochs alone are {flops / 1e15:,.1f} PFLOP "
          f"(forward + backward = 3 x {dcnn_flops() / 1e6:,.0f} MFLOP a sample); measured training runs at "
          f"{rate * 3 * dcnn_flops() / 1e9:,.0f} GFLOP/s here")
    return figures


def scaling(n_tracks: int) -> None:
    from agf.experiments.presets import Preset
    from agf.experiments.runner import run_experiment

    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_experiment(f"synthetic:{n_tracks}", Path(tmp) / "w", tasks="gm", workers=workers, progress=False,
                           preset=Preset("quick", epochs=1, mlp_epochs=2, clusters=16, hop=43))
            times[workers] = time.perf_counter() - start
    for workers, seconds in times.items():
        print(f"grid g/m on synthetic:{n_tracks}, {workers} worker(s): {seconds:.1f} s "
              f"(speed-up x{times[1] / seconds:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scaling", action="store_true", help="also time the g/m grid with 1 and 2 workers")
    parser.add_argument("--tracks", type=int, default=24, help="synthetic tracks for --scaling")
    parser.add_argument("--json", type=Path, help="also write the projection's figures to this file")
    args = parser.parse_args()
    keep_freed_memory()  # as every `agf` command does
    figures = projection(resolve_device(args.device))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if args.scaling:
        scaling(args.tracks)


if __name__ == "__main__":
    main()
