"""P3: our k-means dictionary (faiss) vs scikit-learn's MiniBatchKMeans (the authors' choice).

Real MFCC frames of the prepared gtzan3 store (~270 k frames of 25 dims), tiled up to
``--points`` with a small Gaussian jitter (5 % of each dimension's standard deviation) so that
no two copies are the same point. Both methods get the same points and K; both times include
assigning every point its word; inertia is computed the same way for both (sum of squared
distances of every point to its nearest centroid).

    python bench/bench_kmeans.py                     # the full run: 2 M points, K = 2048
    python bench/bench_kmeans.py --points 300000     # a quick one

It ends with a projection to FMA-medium (25,000 30-s clips, ~32 M frames).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from agf.factors.kmeans import WordAssigner, clamp_clusters, fit_kmeans
from agf.factors.mfcc import mfcc_from_log_mel
from agf.workdir import Workdir

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FMA_MEDIUM_FRAMES = 25_000 * 1293


def gtzan3_store(workdir: Path | None):
    if workdir is None:
        csv = SHARED / "data/gtzan3/tracks.csv"
        if not csv.exists():
            raise SystemExit(f"gtzan3 not found at {csv}; pass --workdir of a prepared work directory")
        from agf.data.prepare import prepare

        workdir = Path(tempfile.mkdtemp(prefix="bench-kmeans-"))
        print(f"preparing gtzan3 into {workdir} ...")
        prepare(str(csv), workdir, jobs=2, progress=False)
    return Workdir(workdir).store()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="a work directory with gtzan3 prepared (else prepared to a temp dir)")
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--clusters", type=int, default=2048)
    parser.add_argument("--configs", default="64:20,256:25",
                        help="comma-separated POINTS_PER_CENTROID:ITERATIONS settings of ours to time (default: our default, then faiss's)")
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()

    store = gtzan3_store(args.workdir)
    t0 = time.perf_counter()
    frames = np.concatenate([mfcc_from_log_mel(store.track(t)) for t in store.track_ids])
    mfcc_s = time.perf_counter() - t0
    print(f"{len(frames):,} real MFCC frames from {len(store)} tracks ({mfcc_s:.2f} s, "
          f"{len(frames) / mfcc_s:,.0f} frames/s from the store)")
    rng = np.random.default_rng(0)
    reps = -(-args.points // len(frames))
    points = np.tile(frames, (reps, 1))[: args.points]
    if reps > 1:
        points = points + rng.normal(scale=0.05, size=points.shape).astype(np.float32) * frames.std(axis=0)
    points = np.ascontiguousarray(points, dtype=np.float32)
    print(f"{len(points):,} points of {points.shape[1]} dims ({reps}x tiled, jittered 5 % of each dim's std)")
    k = clamp_clusters(args.clusters, len(points))

    results = []
    for config in args.configs.split(","):
        per_centroid, iterations = (int(v) for v in config.split(":"))
        t0 = time.perf_counter()
        centroids = fit_kmeans(points, k, n_iter=iterations, seed=0, max_points_per_centroid=per_centroid)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, dist = WordAssigner(centroids)(points)
        assign_s = time.perf_counter() - t0
        inertia = float(dist.astype(np.float64).sum())
        results.append((config, fit_s, assign_s, inertia))
        print(f"ours (faiss, k-means++ init, {iterations} iterations on <= {per_centroid} points/centroid = "
              f"{min(len(points), k * per_centroid):,} points): fit {fit_s:.1f} s + assign all {assign_s:.1f} s "
              f"= {fit_s + assign_s:.1f} s, inertia {inertia:.4e}", flush=True)

    if not args.skip_sklearn:
        from sklearn.cluster import MiniBatchKMeans

        t0 = time.perf_counter()
        mbk = MiniBatchKMeans(n_clusters=k, random_state=0).fit(points)  # computes labels_ of all points too
        mbk_s = time.perf_counter() - t0
        _, dist = WordAssigner(mbk.cluster_centers_)(points)
        theirs = float(dist.astype(np.float64).sum())
        print(f"sklearn MiniBatchKMeans (defaults: batch 1024, k-means++ init, early stop; {mbk.n_steps_} steps): "
              f"{mbk_s:.1f} s, inertia {theirs:.4e}")
        for config, fit_s, assign_s, inertia in results:
            print(f"ours {config}: speed-up {mbk_s / (fit_s + assign_s):.1f}x at {inertia / theirs:.4f}x its inertia "
                  "(goal: >= 10x at <= 1.02x)")

    config, fit_s, assign_s, _ = results[0]
    per_centroid = int(config.split(":")[0])
    per_frame = assign_s / len(points)
    print(f"projection to FMA-medium ({FMA_MEDIUM_FRAMES / 1e6:.1f} M frames): fit ({config}) on "
          f"{min(k * per_centroid, FMA_MEDIUM_FRAMES) / 1e3:,.0f} k sampled frames ~ "
          f"{fit_s * min(k * per_centroid, FMA_MEDIUM_FRAMES) / min(k * per_centroid, len(points)):.0f} s, "
          f"assign {per_frame * FMA_MEDIUM_FRAMES:.0f} s, MFCCs {FMA_MEDIUM_FRAMES / (len(frames) / mfcc_s):.0f} s "
          "(x2 passes: sample, then assign) per frame task, on this machine")


if __name__ == "__main__":
    main()
