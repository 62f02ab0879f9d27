"""The gtzan3 quick grid, old code against new in one run: the whole grid and its networks + cases stages.

    python bench/bench_quick_grid.py [--baseline-src ../before-main/src] [--source ../shared/data/gtzan3/tracks.csv]
        [--before-limit SECONDS] [--keep DIR] [--json FILE]

For each checkout (the baseline's ``src`` first on PYTHONPATH, then this one), in a fresh work
directory and as a user would run it:

1. ``agf prepare SOURCE`` and ``agf factors --tasks edm`` with the quick preset's factor
   settings (decoding, Essentia, k-means, LDA), timed as one step;
2. ``agf experiment SOURCE --preset quick --tasks gedm``, which finds the store and the factors
   done and so times the networks and the cases (transfer MLPs, scoring, baseline, report).

Printed: both steps' wall times per checkout, the ratios, and the new code's time per stage
(its ``timings.csv``). Without ``--baseline-src``, this checkout only. Whole-process wall times; the machine may be shared, so read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "gtzan3" / "tracks.csv"


def timed(command: list[str], src: Path, log: Path, limit: float | None = None) -> tuple[float, bool]:
    """Wall seconds of ``command``, and whether it was stopped at ``limit`` seconds."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    # its own process group: a stopped experiment's Dask workers stop with it
    with log.open("a") as out, subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True) as process:
        try:
            code = process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            return time.perf_counter() - started, True
    if code:
        raise subprocess.CalledProcessError(code, command)
    return time.perf_counter() - started, False


def quiet(agf: list[str], command: str, src: Path) -> list[str]:
    """``--no-progress`` where the checkout's command has it (older ones do not)."""
    usage = subprocess.run([*agf, command, "--help"], env={**os.environ, "PYTHONPATH": str(src)},
                           capture_output=True, text=True, check=True).stdout
    return ["--no-progress"] if "--no-progress" in usage else []


def grid(src: Path, source: Path, tasks: str, root: Path, limit: float | None = None) -> dict:
    """Wall seconds of prepare + factors and of the experiment, for the checkout at ``src``; an
    experiment stopped after ``limit`` seconds says so (``stopped``: its times are lower bounds)."""
    work, log = root / "work", root / "log.txt"
    agf = [sys.executable, "-m", "agf.cli"]
    factor_tasks = ",".join(t for t in tasks if t != "g")  # the comma form: every version reads it
    first, _ = timed([*agf, "prepare", str(source), "--workdir", str(work), *quiet(agf, "prepare", src)], src, log)
    # the quick preset's factor settings, so that the experiment finds them done
    first += timed([*agf, "factors", "--workdir", str(work), "--tasks", factor_tasks, "--clusters", "256",
                    "--groups", "40", *quiet(agf, "factors", src)], src, log)[0]
    second, stopped = timed([*agf, "experiment", str(source), "--workdir", str(work), "--preset", "quick",
                             "--tasks", tasks, *quiet(agf, "experiment", src)], src, log, limit)
    return {"prepare + factors": first, "networks + cases": second, "whole grid": first + second,
            "timings": str(work / "timings.csv"), "workdir": str(work), "stopped": stopped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src (the code before)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="a manifest (default: gtzan3)")
    parser.add_argument("--tasks", default="gedm")
    parser.add_argument("--keep", type=Path, help="keep the work directories (reports, logs) under this folder")
    parser.add_argument("--before-limit", type=float, help="stop the old code's experiment after this many seconds "
                        "(its ratio is then a lower bound)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not args.source.exists():
        sys.exit(f"{args.source}: no such manifest (the gtzan3 clips live in ../shared/data)")
    results = {}
    # --keep: the work directories stay (their reports and logs); otherwise a temporary folder
    with (contextlib.nullcontext(tempfile.mkdtemp(dir=args.keep)) if args.keep else tempfile.TemporaryDirectory()) as tmp:
        checkouts = {"before": args.baseline_src.resolve()} if args.baseline_src else {}
        for name, src in {**checkouts, "after": ROOT / "src"}.items():
            folder = Path(tmp) / name
            folder.mkdir()
            print(f"{name}: {src} ...", flush=True)
            results[name] = grid(src, args.source.resolve(), args.tasks, folder,
                                 args.before_limit if name == "before" else None)
            print(f"  prepare + factors {results[name]['prepare + factors']:.1f} s, "
                  f"networks + cases {results[name]['networks + cases']:.1f} s", flush=True)
        if "before" in results:
            print(f"\n{'step':<20}{'before s':>10}{'after s':>10}{'speed-up':>10}")
            for step in ("prepare + factors", "networks + cases", "whole grid"):
                before, after = results["before"][step], results["after"][step]
                bound = ">=" if results["before"]["stopped"] and step != "prepare + factors" else ""
                print(f"{step:<20}{before:>10.1f}{after:>10.1f}{bound + f'{before / after:.2f}x':>10}")
            if results["before"]["stopped"]:
                print(f"(the old code's experiment was stopped after {args.before_limit:.0f} s: its ratios are bounds)")
        print(f"whole grid after: {results['after']['whole grid'] / 60:.1f} min (goal <= 10 min on 2 cores)")
        print("\nthe new code's time per stage of the experiment (timings.csv):")
        with Path(results["after"]["timings"]).open() as f:
            stages = list(csv.DictReader(f))
        for row in stages:
            print(f"  {row['stage'][:58]:<60}{float(row['wall_s']):>9.1f} s wall{float(row['cpu_s']):>9.1f} s CPU")
        if args.json:
            args.json.write_text(json.dumps({**results, "stages": stages}, indent=1))


if __name__ == "__main__":
    main()
