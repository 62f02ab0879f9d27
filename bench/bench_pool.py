"""The DCNN's max-pools in CPU inference: nn.MaxPool2d against agf's MaxPool, per shape and layout.

    python bench/bench_pool.py [--batch 256] [--threads 2] [--stacked 5]

For each pool of the DCNN (and of a stack of ``--stacked`` networks, k times the channels),
milliseconds of the forward under inference mode (feature extraction, prediction, validation):
``nn.MaxPool2d`` and :class:`agf.models.pooling.MaxPool`, each on NCHW and on channels-last
tensors (the layout conversion is not counted). Training uses ``nn.MaxPool2d``'s own path, so
it is not timed here. Each figure is the 20th percentile of interleaved repeats, as the machine
may be shared.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from agf.models.pooling import MaxPool
from agf.runtime import keep_freed_memory

# (channels, height, width, window) at each pool of the DCNN, on the output of conv1..conv5
POOLS = ((16, 128, 43, (2, 1)), (32, 64, 43, (2, 2)), (64, 32, 21, (2, 2)), (64, 16, 10, (2, 2)), (128, 8, 5, (2, 2)))


@torch.inference_mode()
def seconds(pool: nn.Module, x: torch.Tensor, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        pool(x)
        out.append(time.perf_counter() - start)
    return out


def low(samples: list[float]) -> float:
    """The 20th percentile in milliseconds: robust to another process taking the cores."""
    return sorted(samples)[len(samples) // 5] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--stacked", type=int, default=5, help="also the pools of k stacked networks")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    keep_freed_memory()  # as every `agf` command does
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    names = ("nn NCHW", "agf NCHW", "nn channels-last", "agf channels-last")
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}; ms per inference forward")
    print(f"{'k':>2} {'input':>18} {'window':>7} | " + " | ".join(f"{n:>17}" for n in names)
          + " | agf / nn, NCHW and channels-last")
    for k in sorted({1, args.stacked}):
        for c, h, w, window in POOLS:
            # ELU outputs, as the pools see them: a third saturated at -1 (ties)
            x = torch.nn.functional.elu(torch.randn(args.batch, k * c, h, w) * 3)
            cl = x.contiguous(memory_format=torch.channels_last)
            cases = {"nn NCHW": (nn.MaxPool2d(window), x), "agf NCHW": (MaxPool(window), x),
                     "nn channels-last": (nn.MaxPool2d(window), cl), "agf channels-last": (MaxPool(window), cl)}
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(3):  # interleaved rounds
                for name, (pool, tensor) in cases.items():
                    samples[name] += seconds(pool, tensor, args.repeats // 3 + 1)
            ms = {name: low(s) for name, s in samples.items()}
            ratios = ms["nn NCHW"] / ms["agf NCHW"], ms["nn channels-last"] / ms["agf channels-last"]
            print(f"{k:>2} {(args.batch, k * c, h, w)!s:>18} {window!s:>7} | "
                  + " | ".join(f"{ms[n]:17.2f}" for n in names) + " | " + " ".join(f"{r:5.1f}x" for r in ratios),
                  flush=True)


if __name__ == "__main__":
    main()
