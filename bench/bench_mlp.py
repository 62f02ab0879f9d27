"""The MLP stage of the grid: one `train_mlp` per case (today's way) against `train_mlps` over all cases.

    python bench/bench_mlp.py [--threads N] [--epochs 50] [--large-epochs 2 (0: skip)] [--profile] [--json FILE]

Two grid shapes, random float16 features and labels (the figure is time; each case reads its
networks' 256-column blocks of one union array, laid out as the grid's cases would read them):

- quick: the gtzan3 quick grid over tasks g,e,d,m: 26 cases (15 STN subsets, 11 MTNs of
  k >= 2 tasks; widths 256..1,024), 178 training tracks x 29 segments (hop 43) = 5,162
  segments, 3 genres;
- large: the paper grid over g,s,e,d,m: 57 cases (widths 256..1,280), 20,000 segments, 16 genres.

Each shape is timed two ways, 50 epochs, batch 64: (a) today's way, one training call per case
in sequence, with the ORIGINAL implementation copied below as `baseline_train_mlp` (from
src/agf/classifier/mlp.py before train_mlps, so the comparison stays valid), each case on its
own materialised columns (that copy is left out of its time); (b) `train_mlps` over all cases
at once. Then scoring every case over the same segments both ways. An epoch costs the same
every time, so a shape timed over fewer epochs (``--epochs``, ``--large-epochs``) is scaled to
50 and says so. The weights of the two ways are compared too: on the CPU a case draws the same
random numbers both ways, so they differ by float rounding only, amplified by Adam where a
gradient is nearly zero. ``--profile`` adds torch.profiler's top operators of one epoch of (b).
The machine's load average is printed, and process CPU seconds beside wall seconds: on shared
cores the wall figures move with the load (the CPU ones less, with one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from agf.classifier.mlp import (
    MLPSettings,
    TransferMLP,
    segment_probabilities_many,
    train_mlps,
)
from agf.experiments.grid import plan_cases
from agf.runtime import keep_freed_memory

EPOCHS, FEATURE_DIM = 50, 256


# ---- BASELINE: today's implementation, verbatim from src/agf/classifier/mlp.py at cf97569 ----
def baseline_train_mlp(features: np.ndarray, labels: np.ndarray, n_genres: int,
                       settings: MLPSettings = MLPSettings(), *,  # noqa: B008 (verbatim)
                       device: torch.device | str = "cpu", progress: bool = True) -> TransferMLP:
    if len(features) != len(labels) or len(features) == 0:
        raise ValueError(f"need as many labels as segments, and some segments; got {len(features)} and {len(labels)}")
    device = torch.device(device)
    torch.manual_seed(settings.seed)  # the layers' initial weights
    model = TransferMLP(features.shape[1], n_genres, hidden=settings.hidden, dropout=settings.dropout).to(device)
    x = torch.as_tensor(np.asarray(features, dtype=np.float16)).to(device)
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64)).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    order_rng = torch.Generator().manual_seed(settings.seed)
    n = len(x)
    model.train()
    bar = tqdm(range(settings.epochs), desc="transfer MLP", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.randperm(n, generator=order_rng).to(device)
        total, batches = torch.zeros((), device=device), 0
        for lo in range(0, n, settings.batch_size):
            batch = order[lo:lo + settings.batch_size]
            loss = loss_fn(model(x[batch].float()), y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.detach()
            batches += 1
        bar.set_postfix(loss=f"{float(total) / batches:.4f}")  # one sync per epoch, not per batch
    model.eval()
    return model


@torch.inference_mode()
def baseline_segment_probabilities(model: TransferMLP, features: np.ndarray, *, batch_size: int = 4096,
                                   device: torch.device | str = "cpu") -> np.ndarray:
    model.eval()
    out = []
    for lo in range(0, len(features), batch_size):
        x = torch.as_tensor(np.asarray(features[lo:lo + batch_size], dtype=np.float32)).to(device)
        out.append(torch.softmax(model(x).float(), dim=1).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.n_genres))
# ---- end of BASELINE ----


def grid_columns(tasks: tuple[str, ...]) -> tuple[list[np.ndarray], int]:
    """Each case's columns in a union array holding every (network, task) feature block once,
    and the union's width."""
    blocks: dict[tuple[str, str], int] = {}
    columns = []
    for case in plan_cases(tasks):
        starts = [FEATURE_DIM * blocks.setdefault((net.name, task), len(blocks)) for net, task in case.feature_sources()]
        columns.append(np.concatenate([np.arange(s, s + FEATURE_DIM) for s in starts]))
    return columns, FEATURE_DIM * len(blocks)


def timed(work: Callable[[], object]) -> tuple[float, float, object]:
    """Wall seconds, process CPU seconds (all threads) and the result of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def bench_shape(name: str, tasks: tuple[str, ...], n_segments: int, n_genres: int,
                epochs: int) -> dict[str, float]:
    columns, width = grid_columns(tasks)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(n_segments, width)).astype(np.float16)
    labels = rng.integers(0, n_genres, n_segments)
    settings = MLPSettings(epochs=epochs)
    scale = EPOCHS / epochs
    widths = sorted({len(c) for c in columns})
    print(f"\n{name}: {len(columns)} cases (widths {widths[0]}..{widths[-1]}, {sum(map(len, columns)):,} columns in "
          f"all from a {width:,}-column union), {n_segments:,} segments, {n_genres} genres, batch 64, "
          + (f"{EPOCHS} epochs" if epochs == EPOCHS else f"timed over {epochs} epochs, scaled x{scale:g} to {EPOCHS}"))
    print(f"  ({load()})")
    own = [np.ascontiguousarray(features[:, c]) for c in columns]  # what SegmentFeatures.select gives each case
    print("                                                           wall s     CPU s   ratio (wall, CPU)")
    old_s, old_c, old = timed(lambda: [baseline_train_mlp(x, labels, n_genres, settings, progress=False)
                                       for x in own])
    print(f"  (a) today: baseline_train_mlp per case, in sequence  {old_s * scale:9.1f} {old_c * scale:9.1f}")
    new_s, new_c, new = timed(lambda: train_mlps(features, labels, columns, n_genres, settings, progress=False))
    print(f"  (b) train_mlps, all cases at once                    {new_s * scale:9.1f} {new_c * scale:9.1f}"
          f"   {old_s / new_s:.2f}x, {old_c / new_c:.2f}x")
    diffs = [max(float((a - b).abs().max()) for a, b in zip(m.state_dict().values(), n.state_dict().values()))
             for m, n in zip(old, new)]
    print(f"      weights (a) vs (b): max |difference| over the cases {max(diffs):.1e}, median {np.median(diffs):.1e}")
    old_p_s, old_p_c, _ = timed(lambda: [baseline_segment_probabilities(m, x) for m, x in zip(old, own)])
    new_p_s, new_p_c, new_p = timed(lambda: segment_probabilities_many(new, features, columns))
    print(f"  scoring {n_segments:,} segments: per case {old_p_s:.2f} s ({old_p_c:.2f} CPU), all at once "
          f"{new_p_s:.2f} s ({new_p_c:.2f} CPU)   {old_p_s / new_p_s:.2f}x, {old_p_c / new_p_c:.2f}x")
    same = max(float(np.abs(baseline_segment_probabilities(m, x) - p).max()) for m, x, p in zip(new, own, new_p))
    print(f"      probabilities of (b)'s models both ways: max |difference| {same:.1e}")
    print(f"  ({load()})")
    return {"per case wall s": old_s * scale, "per case CPU s": old_c * scale, "all at once wall s": new_s * scale,
            "all at once CPU s": new_c * scale, "scoring per case wall s": old_p_s, "scoring all at once wall s": new_p_s}


def profile_epoch() -> None:
    from torch.profiler import ProfilerActivity, profile

    columns, width = grid_columns(("g", "e", "d", "m"))
    rng = np.random.default_rng(0)
    features = rng.normal(size=(5_162, width)).astype(np.float16)
    labels = rng.integers(0, 3, len(features))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train_mlps(features, labels, columns, 3, MLPSettings(epochs=1), progress=False)
    print("\nprofile of one epoch of train_mlps on the quick shape (self CPU time):")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs timed on the quick shape")
    parser.add_argument("--large-epochs", type=int, default=2, help="epochs timed on the large shape (0: skip it)")
    parser.add_argument("--profile", action="store_true", help="profile one epoch of train_mlps (quick shape)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    keep_freed_memory()  # as the grid's jobs do
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, CPU")
    figures = {"quick": bench_shape("quick (gtzan3 quick grid, g,e,d,m)", ("g", "e", "d", "m"), 178 * 29, 3,
                                    args.epochs)}
    if args.large_epochs:
        figures["large"] = bench_shape("large (paper grid, g,s,e,d,m)", ("g", "s", "e", "d", "m"), 20_000, 16,
                                       args.large_epochs)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if args.profile:
        profile_epoch()


if __name__ == "__main__":
    main()
