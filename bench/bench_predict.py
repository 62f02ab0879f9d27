"""P6: `agf predict` throughput, in real-time factor per CPU core, decode included.

    python bench/bench_predict.py [--bundle PATH] [--files N] [--batch-sizes 64,256]

Without --bundle it builds a 5-network bundle: one tiny STN run (task g, 1 epoch on a few
gtzan3 clips, real DCNN architecture) referenced five times, which costs exactly what five
different networks cost (the weights differ, the compute does not). Files: gtzan3 clips
(30 s, 22,050-Hz mono MP3), read from ../shared/data.

Reported per thread count (1 = per core, and 2): real-time factor = seconds of audio / wall
seconds for decode + log-mel + networks + MLP; FLOPs per segment counted from the layers
(multiply-adds x 2 of every Conv2d and Linear), and the achieved GFLOP/s of the network part.
At hop 21 there are 22,050 / 512 / 21 = 2.05 segments per second of audio.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from agf.runtime import keep_freed_memory

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SEGMENTS_PER_SECOND = 22050 / 512 / 21


def count_flops(module: nn.Module, x: torch.Tensor) -> int:
    """FLOPs (2 x multiply-adds) of every Conv2d and Linear in one forward pass of ``x``."""
    total = 0

    def conv_hook(m, inputs, out):
        nonlocal total
        total += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inputs, out):
        nonlocal total
        total += 2 * out.numel() * m.in_features

    handles = [m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else linear_hook)
               for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        module(x)
    for h in handles:
        h.remove()
    return total // len(x)


def build_bundle(folder: Path) -> Path:
    """A 5-network bundle from a 1-epoch STN on 12 gtzan3 clips (see the module docstring)."""
    import pandas as pd

    from agf.classifier.bundle import write_bundle
    from agf.classifier.fit import transfer
    from agf.classifier.networks import NetworkRef
    from agf.classifier.settings import MLPSettings
    from agf.data.prepare import prepare
    from agf.training.runs import train
    from agf.workdir import Workdir

    table = pd.read_csv(DATA / "gtzan3/tracks.csv")
    table = table[~table["path"].str.contains("jazz.00054")].groupby("genre").head(4)
    src = folder / "src"
    (src / "audio").mkdir(parents=True)
    for p in table["path"]:
        (src / p).symlink_to(DATA / "gtzan3" / p)
    table[["path", "genre", "artist", "track_id"]].to_csv(src / "tracks.csv", index=False)
    workdir = folder / "work"
    prepare(str(src / "tracks.csv"), workdir, jobs=1, progress=False, split="random", valid_fraction=0.25)
    run = train(workdir, tasks=("g",), arch="stn", settings=None, device="cpu", progress=False)
    ref = NetworkRef(run, "g")
    result = transfer(workdir, [ref], name="bench", settings=MLPSettings(epochs=1), progress=False)
    model = result.model
    # five references to the one network: five networks' worth of compute
    model.refs, model.fingerprints = (ref,) * 5, model.fingerprints * 5
    from agf.classifier.mlp import TransferMLP

    model.mlp = TransferMLP(256 * 5, len(model.genres)).eval()
    return write_bundle(model, folder / "bench.agf", front_end=Workdir(workdir).store().settings)


def bench(bundle: Path, files: list[Path], *, threads: int, batch_size: int) -> dict:
    import soundfile as sf

    from agf.classifier.predict import Predictor

    torch.set_num_threads(threads)
    predictor = Predictor(bundle, device="cpu", batch_size=batch_size)
    predictor.predict_file(files[0])  # warm-up: allocator, oneDNN kernels
    audio_seconds = sum(sf.info(f).duration for f in files)
    start = time.perf_counter()
    results = list(predictor.predict(files))
    wall = time.perf_counter() - start
    segments = sum(r.n_segments for r in results)
    # the network part alone, on the same number of segments
    x = torch.randn(min(batch_size, segments), 128, 43)
    with torch.inference_mode():
        predictor.embedder(x)
        t0 = time.perf_counter()
        reps = max(1, segments // len(x))
        for _ in range(reps):
            predictor.mlp(predictor.embedder(x))
        net_wall = (time.perf_counter() - t0) / (reps * len(x)) * segments
    flops = count_flops(predictor.embedder, x[:2]) + count_flops(predictor.mlp, torch.zeros(2, predictor.mlp.n_inputs))
    return {"threads": threads, "batch": batch_size, "files": len(files), "audio_s": audio_seconds,
            "wall_s": wall, "rtf": audio_seconds / wall, "rtf_per_core": audio_seconds / wall / threads,
            "segments": segments, "mflop_per_segment": flops / 1e6,
            "gflops_total": segments * flops / wall / 1e9, "gflops_network": segments * flops / net_wall / 1e9,
            "network_share": net_wall / wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-allocator", action="store_true",
                        help="leave glibc's malloc as it is (`agf predict` tunes it: agf.runtime)")
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--files", type=int, default=12, help="gtzan3 clips to classify (30 s each)")
    parser.add_argument("--batch-sizes", default="64,256")
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    if not args.default_allocator:
        keep_freed_memory()
    if not DATA.is_dir():
        print(f"skipped: real data not found at {DATA}")
        return 0
    if args.bundle is None and importlib.util.find_spec("agf.training.runs") is None:
        print("skipped: no --bundle given and the training code (agf.training.runs) is not installed to build one")
        return 0
    files = sorted((DATA / "gtzan3/audio").glob("*.mp3"))[:: max(1, 209 // args.files)][: args.files]
    with tempfile.TemporaryDirectory(prefix="agf-bench-") as tmp:
        bundle = args.bundle or build_bundle(Path(tmp))
        print(f"bundle {bundle}; {len(files)} gtzan3 clips; torch {torch.__version__}")
        print(f"{'threads':>7} {'batch':>5} {'RTF':>7} {'RTF/core':>8} {'MFLOP/seg':>9} "
              f"{'GFLOP/s all':>11} {'GFLOP/s net':>11} {'net share':>9}")
        for threads in map(int, args.threads.split(",")):
            for batch in map(int, args.batch_sizes.split(",")):
                r = bench(bundle, files, threads=threads, batch_size=batch)
                print(f"{r['threads']:>7} {r['batch']:>5} {r['rtf']:>7.1f} "
                      f"{r['rtf_per_core']:>8.1f} {r['mflop_per_segment']:>9.1f} {r['gflops_total']:>11.1f} "
                      f"{r['gflops_network']:>11.1f} {r['network_share']:>9.0%}", flush=True)
    print(f"P6 goal: >= 50x real time per core; compute bound at 90 GFLOP/s/core = "
          f"{90e9 / (r['mflop_per_segment'] * 1e6 * SEGMENTS_PER_SECOND):.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
