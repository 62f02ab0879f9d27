"""P6: `agf predict` throughput, in real-time factor per CPU core, decode included; per memory layout
and max-pool, and against another checkout of agf, in one run.

    python bench/bench_predict.py [--bundle PATH] [--files N] [--batch-sizes 64,256] [--baseline-src ../before-main/src]
        [--json FILE]

Without --bundle it builds a 5-network bundle in ``--build-dir`` (a temporary folder unless
given; reused when it already holds one): one tiny STN run (task g, 1 epoch on a few gtzan3
clips, real DCNN architecture) referenced five times, which costs exactly what five
different networks cost (the weights differ, the compute does not). Files: gtzan3 clips
(30 s, 22,050-Hz mono MP3), read from ../shared/data.

Reported per thread count (1 = per core, and 2) and batch size: real-time factor = seconds of
audio / wall seconds for decode + log-mel + networks + MLP; FLOPs per segment counted from
the layers (multiply-adds x 2 of every Conv2d and Linear), the achieved GFLOP/s of the
network part (timed inside the same run) and its share of the wall time.
At hop 21 there are 22,050 / 512 / 21 = 2.05 segments per second of audio.

Variants, interleaved ``--rounds`` times, best kept (the machine may be shared):

- agf: the Predictor as `agf predict` runs it.
- NCHW MaxPool / NCHW nn.MaxPool2d: its networks put back in NCHW layout, with agf's
  :class:`~agf.models.pooling.MaxPool` or with its pools switched to ``nn.MaxPool2d``.
- baseline (``--baseline-src PATH``): "agf" measured by this script in a subprocess with PATH
  (another checkout's ``src``) first on PYTHONPATH, on a bundle that checkout builds itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
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
BUNDLE = "bench.agf"


def count_flops(modules: list[nn.Module], run) -> int:
    """FLOPs (2 x multiply-adds) of every Conv2d and Linear of ``modules`` while ``run()`` runs."""
    total = 0

    def conv_hook(m, inputs, out):
        nonlocal total
        total += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inputs, out):
        nonlocal total
        total += 2 * out.numel() * m.in_features

    handles = [m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else linear_hook)
               for module in modules for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    run()
    for h in handles:
        h.remove()
    return total


def build_bundle(folder: Path) -> Path:
    """A 5-network bundle from a 1-epoch STN on 12 gtzan3 clips (see the module docstring), in
    ``folder``; the one already there if there is one. Works with this checkout's API and the
    older one (``agf.transfer``) a ``--baseline-src`` may have."""
    import pandas as pd

    from agf.data.prepare import prepare
    from agf.training.runs import train
    from agf.training.settings import train_settings_for
    from agf.workdir import Workdir

    try:
        from agf.classifier.bundle import write_bundle
        from agf.classifier.fit import transfer
        from agf.classifier.mlp import TransferMLP
        from agf.classifier.networks import NetworkRef
        from agf.classifier.settings import MLPSettings
        from agf.data.tables import open_store
    except ImportError:  # a checkout from before agf.classifier
        from agf.transfer.bundle import write_bundle
        from agf.transfer.fit import transfer
        from agf.transfer.mlp import MLPSettings, TransferMLP
        from agf.transfer.networks import NetworkRef

        def open_store(wd):
            return wd.store()

    if (folder / BUNDLE).is_dir():
        return folder / BUNDLE
    table = pd.read_csv(DATA / "gtzan3/tracks.csv")
    table = table[~table["path"].str.contains("jazz.00054")].groupby("genre").head(4)
    src = folder / "src"
    (src / "audio").mkdir(parents=True, exist_ok=True)
    for p in table["path"]:
        if not (src / p).exists():
            (src / p).symlink_to(DATA / "gtzan3" / p)
    table[["path", "genre", "artist", "track_id"]].to_csv(src / "tracks.csv", index=False)
    workdir = folder / "work"
    prepare(str(src / "tracks.csv"), workdir, jobs=1, progress=False, split="random", valid_fraction=0.25)
    run = train(workdir, tasks=("g",), arch="stn", settings=train_settings_for("stn", "g", epochs=1),
                device="cpu", progress=False)
    ref = NetworkRef(run, "g")
    result = transfer(workdir, [ref], name="bench", settings=MLPSettings(epochs=1), progress=False)
    model = getattr(result, "model", result)  # older checkouts return a TransferResult holding it
    # five references to the one network: five networks' worth of compute
    model.refs, model.fingerprints = (ref,) * 5, model.fingerprints * 5
    model.mlp = TransferMLP(256 * 5, len(model.genres)).eval()
    return write_bundle(model, folder / BUNDLE, front_end=open_store(Workdir(workdir)).settings)


def make_predictor(bundle: Path, batch_size: int):
    try:
        from agf.classifier.predict import Predictor
        from agf.classifier.settings import PredictSettings
    except ImportError:  # a checkout from before agf.classifier
        from agf.transfer.predict import Predictor

        return Predictor(bundle, device="cpu", batch_size=batch_size)
    return Predictor(bundle, device="cpu", settings=PredictSettings(batch_size=batch_size))


def with_layout(predictor, variant: str) -> None:
    """Put the predictor's networks in the variant's layout and pools (see the module docstring)."""
    if variant == "agf":
        return
    predictor.embedder.to(memory_format=torch.contiguous_format)
    if variant == "NCHW nn.MaxPool2d":
        from agf.models.pooling import (
            MaxPool,  # only this checkout has it; the baseline keeps "agf"
        )

        for parent in list(predictor.embedder.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, MaxPool):
                    setattr(parent, name, nn.MaxPool2d(child.kernel_size))


def bench(bundle: Path, files: list[Path], *, threads: int, batch_size: int, variant: str = "agf") -> dict:
    import soundfile as sf

    torch.set_num_threads(threads)
    predictor = make_predictor(bundle, batch_size)
    with_layout(predictor, variant)
    predictor.predict_file(files[0])  # warm-up: allocator, oneDNN kernels
    audio_seconds = sum(sf.info(f).duration for f in files)
    # the network part (standardisation, networks, MLP, softmax), timed inside the run itself
    network_part = predictor._segment_probs
    net_wall = 0.0
    first: list = []

    def timed(segments):
        nonlocal net_wall
        first[:] = first or [segments[:2]]  # kept for counting FLOPs below
        t0 = time.perf_counter()
        out = network_part(segments)
        net_wall += time.perf_counter() - t0
        return out

    predictor._segment_probs = timed
    start = time.perf_counter()
    results = list(predictor.predict(files))
    wall = time.perf_counter() - start
    segments = sum(r.n_segments for r in results)
    flops = count_flops([predictor.embedder, predictor.mlp], lambda: network_part(first[0])) // len(first[0])
    return {"threads": threads, "batch": batch_size, "variant": variant, "files": len(files),
            "audio_s": audio_seconds, "wall_s": wall, "rtf": audio_seconds / wall,
            "rtf_per_core": audio_seconds / wall / threads, "segments": segments, "mflop_per_segment": flops / 1e6,
            "gflops_total": segments * flops / wall / 1e9, "gflops_network": segments * flops / net_wall / 1e9,
            "network_share": net_wall / wall}


def baseline_rtf(src: str, args: argparse.Namespace, build_dir: Path) -> dict[str, float]:
    """This script's "agf" RTF per core with another checkout's ``src`` first on PYTHONPATH, per config."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    cmd = [sys.executable, __file__, "--files", str(args.files), "--batch-sizes", args.batch_sizes,
           "--threads", args.threads, "--build-dir", str(build_dir), "--rounds", "1", "--baseline-json"]
    if args.default_allocator:
        cmd.append("--default-allocator")
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-allocator", action="store_true",
                        help="leave glibc's malloc as it is (`agf predict` tunes it: agf.runtime)")
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--build-dir", type=Path, help="where to build the bench bundle (reused if it holds one)")
    parser.add_argument("--files", type=int, default=12, help="gtzan3 clips to classify (30 s each)")
    parser.add_argument("--batch-sizes", default="64,256")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline-src", help="another checkout's src folder: its `agf predict`, for the ratio")
    parser.add_argument("--json", type=Path, help="also write the real-time factors per core to this file")
    parser.add_argument("--baseline-json", action="store_true", help=argparse.SUPPRESS)  # the baseline subprocess
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
    configs = [(t, b) for t in map(int, args.threads.split(",")) for b in map(int, args.batch_sizes.split(","))]
    with tempfile.TemporaryDirectory(prefix="agf-bench-") as tmp:
        bundle = args.bundle or build_bundle(args.build_dir or Path(tmp))
        if args.baseline_json:
            print(json.dumps({f"{t}x{b}": bench(bundle, files, threads=t, batch_size=b)["rtf_per_core"]
                              for t, b in configs}))
            return 0
        print(f"bundle {bundle}; {len(files)} gtzan3 clips; torch {torch.__version__}")
        variants = ["agf", "NCHW MaxPool", "NCHW nn.MaxPool2d"]
        best: dict[tuple[int, int, str], dict] = {}
        for round_ in range(args.rounds):
            for t, b in configs:
                for variant in variants[round_ % 3:] + variants[:round_ % 3]:
                    r = bench(bundle, files, threads=t, batch_size=b, variant=variant)
                    if r["rtf"] > best.get((t, b, variant), {"rtf": 0})["rtf"]:
                        best[t, b, variant] = r
            if args.baseline_src:
                for key, rtf in baseline_rtf(args.baseline_src, args, Path(tmp) / "baseline").items():
                    t, b = map(int, key.split("x"))
                    best[t, b, "baseline"] = {"rtf_per_core": max(rtf, best.get((t, b, "baseline"), {}).get(
                        "rtf_per_core", 0.0))}
        print(f"{'threads':>7} {'batch':>5} {'variant':<18} {'RTF':>7} {'RTF/core':>8} {'MFLOP/seg':>9} "
              f"{'GFLOP/s all':>11} {'GFLOP/s net':>11} {'net share':>9}")
        for t, b in configs:
            for variant in variants:
                r = best[t, b, variant]
                print(f"{t:>7} {b:>5} {variant:<18} {r['rtf']:>7.1f} {r['rtf_per_core']:>8.1f} "
                      f"{r['mflop_per_segment']:>9.1f} {r['gflops_total']:>11.1f} {r['gflops_network']:>11.1f} "
                      f"{r['network_share']:>9.0%}")
        print("RTF per core, ratios:")
        for t, b in configs:
            agf = best[t, b, "agf"]["rtf_per_core"]
            line = (f"  {t} threads, batch {b}: agf / NCHW nn.MaxPool2d = "
                    f"{agf / best[t, b, 'NCHW nn.MaxPool2d']['rtf_per_core']:.2f}x, NCHW MaxPool / NCHW nn.MaxPool2d = "
                    f"{best[t, b, 'NCHW MaxPool']['rtf_per_core'] / best[t, b, 'NCHW nn.MaxPool2d']['rtf_per_core']:.2f}x")
            if args.baseline_src:
                base = best[t, b, "baseline"]["rtf_per_core"]
                line += f"; baseline {base:.1f}x real time per core, agf / baseline = {agf / base:.2f}x"
            print(line)
    if args.json:
        args.json.write_text(json.dumps({f"{t}x{b} {variant}": r["rtf_per_core"] for (t, b, variant), r in best.items()},
                                        indent=1))
    r = best[configs[-1][0], configs[-1][1], "agf"]
    print(f"P6 goal: >= 60x real time per core; compute bound at 90 GFLOP/s/core = "
          f"{90e9 / (r['mflop_per_segment'] * 1e6 * SEGMENTS_PER_SECOND):.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
