"""The DCNN's max-pools on CPU: nn.MaxPool2d against agf's MaxPool, forward and backward, per shape.

    python bench/bench_pool.py [--batch 64] [--threads 2] [--stacked 5]

For each pool of the DCNN (and of a stack of ``--stacked`` networks, k times the channels):
milliseconds of the forward (input requiring grad, as in training), of the backward, and of
the forward alone under inference mode; old = ``nn.MaxPool2d`` on NCHW, new =
:class:`agf.models.pooling.MaxPool` on NCHW, and for reference ``nn.MaxPool2d`` on a
channels-last tensor (its vectorised kernel; the layout conversion is not counted). Each
figure is the 20th percentile of interleaved repeats, as the machine may be shared.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import nn

from agf.models.pooling import MaxPool
from agf.runtime import keep_freed_memory

# (channels, height, width, window) at each pool of the DCNN, on the output of conv1..conv5
POOLS = ((16, 128, 43, (2, 1)), (32, 64, 43, (2, 2)), (64, 32, 21, (2, 2)), (64, 16, 10, (2, 2)), (128, 8, 5, (2, 2)))


def timings(pool: nn.Module, x: torch.Tensor, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """Seconds per call of the forward (grad on), the backward and the inference forward."""
    leaf = x.clone().requires_grad_()
    grad = torch.randn_like(pool(x))
    fwd, bwd, inf = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        y = pool(leaf)
        t1 = time.perf_counter()
        y.backward(grad)
        t2 = time.perf_counter()
        leaf.grad = None
        with torch.inference_mode():
            t3 = time.perf_counter()
            pool(x)
            t4 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
        inf.append(t4 - t3)
    return fwd, bwd, inf


def low(samples: list[float]) -> float:
    """The 20th percentile in milliseconds: robust to another process taking the cores."""
    return sorted(samples)[len(samples) // 5] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--stacked", type=int, default=5, help="also the pools of k stacked networks")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    keep_freed_memory()  # as every `agf` command does
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}; ms per call: "
          "fwd (grad on) / bwd / inference fwd")
    print(f"{'k':>2} {'input':>16} {'window':>7} | {'nn.MaxPool2d':>20} | {'MaxPool':>20} | "
          f"{'ratio':>17} | {'channels-last ref':>20}")
    for k in sorted({1, args.stacked}):
        for c, h, w, window in POOLS:
            # ELU outputs, as the pools see them: a third saturated at -1 (ties)
            x = torch.nn.functional.elu(torch.randn(args.batch, k * c, h, w) * 3)
            cases: dict[str, tuple[Callable, torch.Tensor]] = {
                "old": (nn.MaxPool2d(window), x), "new": (MaxPool(window), x),
                "cl": (nn.MaxPool2d(window), x.contiguous(memory_format=torch.channels_last))}
            samples: dict[str, tuple[list[float], list[float], list[float]]] = {n: ([], [], []) for n in cases}
            for _ in range(3):  # interleaved rounds
                for name, (pool, tensor) in cases.items():
                    for mine, new in zip(samples[name], timings(pool, tensor, args.repeats // 3 + 1)):
                        mine.extend(new)
            old, new, cl = ([low(s) for s in samples[n]] for n in ("old", "new", "cl"))
            ratio = [a / b for a, b in zip(old, new)]
            print(f"{k:>2} {(args.batch, k * c, h, w)!s:>16} {window!s:>7} | "
                  + " | ".join(" ".join(f"{v:6.2f}" for v in row) for row in (old, new))
                  + " | " + " ".join(f"{r:5.1f}" for r in ratio) + " | " + " ".join(f"{v:6.2f}" for v in cl),
                  flush=True)


if __name__ == "__main__":
    main()
