"""A scale rehearsal: every stage on FMA-medium-shaped synthetic tracks at growing sizes, each stage's
wall time and peak memory, the growth fitted and projected to FMA-medium (25,000 tracks) and FMA-full
(106,574).

For each size N: FMA-shaped metadata (16 genres in FMA-medium's skewed sizes, about 5 tracks per
artist, sub-genres from FMA's genres.csv, an artist-disjoint official split) and an MP3 per track
(``agf.datasets.synthetic.fma_shaped``), then each stage as its own ``python -m agf`` process:
prepare, factors per task, an STN and an MTN for a few epochs, transfer (segment features + MLP,
with a bundle), evaluate (the validation split) and predict (a fixed 16 files: its cost should not
grow). A stage's peak memory is the peak of the sum of RSS over its process tree (psutil, sampled
every 50 ms) and the largest single process' peak RSS (``wait4``'s ``ru_maxrss``, exact).

Fits: ``time = start-up + a * N^b`` by least squares on log-log of the time beyond the start-up of a
Python process that imports torch and agf (measured as a stage of its own at every size; at small N
it is most of a stage's time and would hide the growth); b > 1.15 is flagged (faster than linear), and
``memory = m0 + m1 * N`` (flagged when the N-dependent part at 106,574 tracks exceeds 4 GiB: a stage
that holds every track). Training time per epoch comes from the runs' log.csv, so the fixed start-up
cost does not hide the growth.

    python bench/bench_scale.py                      # 1000 2000 4000 tracks of 30 s (hours on 2 cores)
    python bench/bench_scale.py --sizes 250 500 1000 --seconds 10 --tasks m,d,s

Run it from the repository root with ``PYTHONPATH=src``; ``--work`` keeps the data for a rerun
(audio and metadata of a size are reused when present).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GENRES = ROOT.parent / "shared" / "data" / "fma_metadata_sample" / "genres.csv"
TARGETS = {"FMA-medium": 25_000, "FMA-full": 106_574}
TIME_EXPONENT_FLAG = 1.15
MEMORY_FLAG_BYTES = 4 * 2**30
STARTUP = "start-up (python, torch, agf imports)"


def run_measured(argv: list[str], log: Path) -> dict:
    """Run ``argv``; its wall time, peak tree RSS (sampled) and the largest process' peak RSS (exact)."""
    peak = 0
    done = threading.Event()
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT / "src")})

        def sample() -> None:
            nonlocal peak
            root = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    tree = [root, *root.children(recursive=True)]
                    total = 0
                    for p in tree:
                        try:
                            total += p.memory_info().rss
                        except psutil.Error:
                            pass
                    peak = max(peak, total)
                except psutil.Error:
                    pass
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4's rusage is the child's own and its reaped descendants': ru_maxrss = the largest process
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}); see {log}:\n{log.read_text()[-2000:]}")
    return {"wall_s": wall, "tree_rss_mb": peak / 2**20, "max_rss_mb": usage.ru_maxrss / 1024}


def agf(*args: str) -> list[str]:
    return [sys.executable, "-m", "agf", *args]


def stages(n: int, meta: Path, audio: Path, work: Path, tasks: list[str], epochs: int, jobs: int) -> list[tuple]:
    """(stage name, argv) in pipeline order for one size."""
    common = ["--workdir", str(work), "--no-progress", "--device", "cpu"]
    ag = "m" if "m" in tasks else tasks[0]
    imports = "import agf.cli, agf.training.runs, agf.classifier.fit, agf.factors.build"
    out = [(STARTUP, [sys.executable, "-c", imports]),
           ("prepare", agf("prepare", f"fma:{meta}:{audio}", "--jobs", str(jobs), *common))]
    out += [(f"factors {t}", agf("factors", "--tasks", t, "--jobs", str(jobs), *common)) for t in tasks]
    out += [("train stn-g", agf("train", "--arch", "stn", "--tasks", "g", "--epochs", str(epochs), *common)),
            (f"train mtn-g{ag}", agf("train", "--arch", "mtn", "--tasks", f"g{ag}", "--epochs", str(epochs),
                                     *common)),
            ("transfer stn-g", agf("transfer", "--networks", "stn:g", "--epochs", "1", "--hop", "43",
                                   "--bundle", str(work / "bundle"), *common)),
            ("evaluate (valid split)", agf("evaluate", "--model", str(work / "transfer" / "stn-g"), *common))]
    fixed = sorted(audio.glob("*/*.mp3"))[:16]
    out.append(("predict 16 files", agf("predict", str(work / "bundle"), *map(str, fixed), "--json",
                                        "--no-progress", "--device", "cpu")))
    return out


def epoch_seconds(work: Path, run: str) -> float:
    """Mean seconds per epoch of a run's log.csv (an MTN's epoch is one task-epoch)."""
    log = pd.read_csv(work / "runs" / run / "log.csv")
    return float(log.groupby("epoch")["seconds"].first().mean())


def fit_power(n: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of y = a * n^b, least squares in log-log."""
    b, log_a = np.polyfit(np.log(n), np.log(y), 1)
    return float(np.exp(log_a)), float(b)


def report(rows: pd.DataFrame) -> str:
    lines = ["| stage | " + " | ".join(f"N={n}: s / tree MB / max MB" for n in sorted(rows["n"].unique())) + " |",
             "|---|" + "---|" * rows["n"].nunique()]
    for stage, group in rows.groupby("stage", sort=False):
        g = group.sort_values("n")
        lines.append(f"| {stage} | " + " | ".join(f"{r.wall_s:.1f} / {r.tree_rss_mb:.0f} / {r.max_rss_mb:.0f}"
                                                  for r in g.itertuples()) + " |")
    lines += ["", "Growth: time = start-up + a * N^b (log-log fit of the time beyond the start-up), "
              "memory = m0 + m1 * N (linear fit on the tree peak).",
              "", "| stage | b (time) | time at 25,000 | time at 106,574 | m1 (MB per 1,000 tracks) | "
              "memory at 25,000 | memory at 106,574 | flags |", "|---|---|---|---|---|---|---|---|"]
    startup = rows[rows["stage"] == STARTUP].set_index("n")["wall_s"]
    for stage, group in rows.groupby("stage", sort=False):
        g = group.sort_values("n")
        n = g["n"].to_numpy(float)
        if len(g) < 2 or stage == STARTUP:
            continue
        # a stage process pays the start-up whatever N; fitted on the rest, the growth is not hidden by it
        fixed = 0.0 if stage.endswith("one epoch") or stage.startswith("synthesise") else startup.loc[g["n"]].to_numpy()
        net = np.maximum(g["wall_s"].to_numpy() - fixed, 0.05)
        a, b = fit_power(n, net)
        times = [a * t ** b + float(np.mean(fixed)) for t in TARGETS.values()]
        flags = [f"time grows faster than linearly (b = {b:.2f})"] if b > TIME_EXPONENT_FLAG else []
        memory = "- | - | -"
        if g["tree_rss_mb"].notna().all():
            m1, m0 = np.polyfit(n, g["tree_rss_mb"].to_numpy(), 1)
            if m1 * TARGETS["FMA-full"] * 2**20 > MEMORY_FLAG_BYTES:
                flags.append("memory grows with the track count")
            mems = [m0 + m1 * t for t in TARGETS.values()]
            memory = f"{1000 * m1:.1f} | {mems[0] / 1024:.1f} GiB | {mems[1] / 1024:.1f} GiB"
        lines.append(f"| {stage} | {b:.2f} | {_duration(times[0])} | {_duration(times[1])} | {memory} | "
                     f"{'; '.join(flags) or '-'} |")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000], help="track counts")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of every track (FMA clips: 30)")
    parser.add_argument("--tasks", default="m,d,s,e", help="AG tasks to build, comma-separated (e: Essentia)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per STN (the MTN trains twice as many)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for synthesis, prepare, e")
    parser.add_argument("--genres", type=Path, default=DEFAULT_GENRES, help="FMA's genres.csv (the taxonomy)")
    parser.add_argument("--work", type=Path, help="folder for the data (default: a temporary one, deleted)")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = parser.parse_args()
    if not args.genres.is_file():
        parser.error(f"{args.genres}: not found; pass FMA's genres.csv with --genres")
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    work_root = args.work or Path(tempfile.mkdtemp(prefix="agf-scale-"))
    print(f"# bench_scale: sizes {args.sizes}, {args.seconds:g}-s tracks, tasks {','.join(tasks)}, "
          f"{args.epochs} epochs per STN, jobs {args.jobs}, {os.cpu_count()} cores")
    rows = []
    started = time.perf_counter()
    try:
        for n in args.sizes:
            base = work_root / f"n{n}"
            meta, audio, work = base / "meta", base / f"audio{args.seconds:g}s", base / "work"
            shutil.rmtree(work, ignore_errors=True)
            base.mkdir(parents=True, exist_ok=True)
            synth = [sys.executable, "-c",
                     "import sys; from agf.datasets.synthetic.fma_shaped import write_fma_metadata, write_fma_audio; "
                     "n, meta, audio, genres, seconds, jobs = sys.argv[1:]; "
                     "write_fma_metadata(meta, int(n), genres_csv=genres); "
                     "write_fma_audio(meta, audio, duration_s=float(seconds), jobs=int(jobs), progress=False)",
                     str(n), str(meta), str(audio), str(args.genres), str(args.seconds), str(args.jobs)]
            plan = [("synthesise (rehearsal only)", synth), None]
            for step in plan:
                if step is None:  # the stages name audio files: known once synthesised
                    plan += stages(n, meta, audio, work, tasks, args.epochs, args.jobs)
                    continue
                stage, argv = step
                result = run_measured(argv, base / f"{stage.split()[0]}-{len(rows)}.log")
                rows.append({"n": n, "stage": stage, **result})
                print(f"N={n:>6} {stage:<28} {result['wall_s']:8.1f} s  tree {result['tree_rss_mb']:7.0f} MB  "
                      f"max {result['max_rss_mb']:7.0f} MB", flush=True)
            ag = "m" if "m" in tasks else tasks[0]
            for run in ("stn-g", f"mtn-g{ag}"):
                rows.append({"n": n, "stage": f"{run}: one epoch", "wall_s": epoch_seconds(work, run),
                             "tree_rss_mb": np.nan, "max_rss_mb": np.nan})
    finally:
        if args.work is None:
            shutil.rmtree(work_root, ignore_errors=True)
    table = pd.DataFrame(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print()
    print(report(table))
    print(f"\nbench wall time: {(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
