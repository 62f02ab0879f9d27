"""Every figure of the grid-speed goals, the code before against this checkout, from one run.

    python bench/bench_speed.py --baseline-src ../before-main/src [--keep DIR] [--before-limit SECONDS]
        [--mlp-epochs 5] [--out DIR]

``--baseline-src`` is the ``src`` folder of a checkout of the code before (a ``git worktree`` of
the earlier main). The benches below run one after another, each in its own process and with its
own output shown as it goes; each writes its figures to a JSON file in ``--out``:

1. ``bench_quick_grid.py``: the gtzan3 quick grid (tasks g,e,d,m) as a user runs it, old and new:
   prepare + factors, then networks + cases; the new run's time per stage. ``--before-limit``
   stops the old experiment early (its ratio is then a lower bound).
2. ``bench_mlp.py --threads 1 --large-epochs 0``: that grid's MLP stage (26 cases), one MLP at a
   time (the old code, kept verbatim in the script) against all cases in one pass; timed over
   ``--mlp-epochs`` epochs and scaled to the grid's 50 (an epoch costs the same every time).
3. ``bench_train.py``, on the old grid's prepared work directory (both checkouts read its store):
   one STN's training samples/s, old and new interleaved.
4. ``bench_predict.py --threads 1 --batch-sizes 256``: `agf predict`'s real-time factor per CPU
   core, decode included, 5-network bundle, old and new interleaved.
5. ``bench_grid.py`` of each checkout, with its own code: the paper's grid at FMA-medium scale
   projected from measured throughputs (the arithmetic is in that script's output).
6. ``bench_demo.py``: ``agf demo`` on a clean work directory, this checkout only (the old
   ``agf demo`` was another job, the quick grid of 31 networks on 60 tracks).

It ends with one table: each goal, before, after, the ratio, and whether the goal is met. The
machine may be shared: the ratios of one run hold better than the absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def run(script: Path, args: list[str], *, src: Path | None = None) -> str:
    """``python script args`` with ``src`` first on PYTHONPATH; its output shown and returned."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    print(f"\n$ {' '.join(['python', str(script), *args])}", flush=True)
    started = time.perf_counter()
    process = subprocess.run([sys.executable, str(script), *args], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    print(process.stdout, end="", flush=True)
    print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    if process.returncode:
        sys.exit(f"{script.name} failed (exit {process.returncode}); its output is above")
    return process.stdout


def old_projection(baseline_src: Path) -> float:
    """CPU-hours of the paper grid as the old checkout's own bench_grid.py projects them."""
    out = run(baseline_src.parent / "bench" / "bench_grid.py", [], src=baseline_src)
    found = re.search(r"total: ([\d,.]+) \w+-hours", out)
    if found is None:
        sys.exit("the old checkout's bench_grid.py printed no 'total: N CPU-hours' line")
    return float(found.group(1).replace(",", ""))


def row(goal: str, before: float, after: float, unit: str, ratio: float, met: bool | None,
        bound: bool = False) -> str:
    """One line of the table; ``bound``: ``before`` and ``ratio`` are lower bounds (the old run was stopped),
    ``met`` None: the bound cannot tell."""
    prefix = ">=" if bound else ""
    verdict = "not shown" if met is None else "yes" if met else "no"
    return (f"{goal:<46}{f'{prefix}{before:,.1f} {unit}':>16}{f'{after:,.1f} {unit}':>16}"
            f"{f'{prefix}{ratio:.2f}x':>10}   {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, required=True, help="the src folder of the code before")
    parser.add_argument("--keep", type=Path, help="keep the quick grids' work directories (reports) under this folder")
    parser.add_argument("--before-limit", type=float, help="stop the old quick grid's experiment after this many s")
    parser.add_argument("--mlp-epochs", type=int, default=5, help="MLP epochs timed (scaled to the grid's 50)")
    parser.add_argument("--out", type=Path, help="where the benches' JSON figures go (default: a temporary folder)")
    args = parser.parse_args()
    old = args.baseline_src.resolve()
    if not (old / "agf").is_dir():
        sys.exit(f"{old}: not the src folder of an agf checkout (no agf package in it)")
    out = args.out or Path(tempfile.mkdtemp(prefix="agf-bench-speed-"))
    out.mkdir(parents=True, exist_ok=True)
    keep = args.keep or out / "grids"
    keep.mkdir(parents=True, exist_ok=True)

    limit = ["--before-limit", str(args.before_limit)] if args.before_limit else []
    run(BENCH / "bench_quick_grid.py", ["--baseline-src", str(old), "--keep", str(keep), "--json",
                                        str(out / "grid.json"), *limit])
    grid = json.loads((out / "grid.json").read_text())
    run(BENCH / "bench_mlp.py", ["--threads", "1", "--epochs", str(args.mlp_epochs), "--large-epochs", "0",
                                 "--json", str(out / "mlp.json")])
    # the old code's store: this checkout reads the older index format, the old code not the newer one
    run(BENCH / "bench_train.py", ["--workdir", grid["before"]["workdir"], "--steps", "20", "--rounds", "2",
                                   "--baseline-src", str(old), "--json", str(out / "train.json")])
    run(BENCH / "bench_predict.py", ["--files", "6", "--threads", "1", "--batch-sizes", "256", "--rounds", "2",
                                     "--baseline-src", str(old), "--json", str(out / "predict.json")])
    run(BENCH / "bench_grid.py", ["--json", str(out / "projection.json")])
    old_hours = old_projection(old)
    run(BENCH / "bench_demo.py", ["--keep", str(keep), "--json", str(out / "demo.json")])

    mlp = json.loads((out / "mlp.json").read_text())["quick"]
    train = json.loads((out / "train.json").read_text())
    predict = json.loads((out / "predict.json").read_text())
    new_hours = json.loads((out / "projection.json").read_text())["total h"]
    demo = json.loads((out / "demo.json").read_text())
    before, after = grid["before"], grid["after"]
    stopped = before["stopped"]
    nets = before["networks + cases"] / after["networks + cases"]
    mlp_ratio = mlp["per case wall s"] / mlp["all at once wall s"]
    train_ratio = train["agf 1"] / train["baseline agf 1"]
    rtf_old, rtf_new = predict["1x256 baseline"], predict["1x256 agf"]
    print(f"\n{'goal':<46}{'before':>16}{'after':>16}{'ratio':>10}   met")
    print(row("gtzan3 quick grid, networks + cases: >= 4x", before["networks + cases"] / 60,
              after["networks + cases"] / 60, "min", nets, True if nets >= 4 else None if stopped else False,
              bound=stopped))
    print(row("whole gtzan3 quick grid: <= 10 min", before["whole grid"] / 60, after["whole grid"] / 60, "min",
              before["whole grid"] / after["whole grid"], after["whole grid"] <= 600, bound=stopped))
    print(row("MLP stage of that grid: >= 10x", mlp["per case wall s"], mlp["all at once wall s"], "s",
              mlp_ratio, mlp_ratio >= 10))
    print(row("one STN's training samples/s: >= 1.5x", train["baseline agf 1"], train["agf 1"], "/s",
              train_ratio, train_ratio >= 1.5))
    print(row("agf predict, real time per core: >= 60x", rtf_old, rtf_new, "x", rtf_new / rtf_old, rtf_new >= 60))
    print(row("paper grid, FMA-medium, this CPU: <= 120 h", old_hours, new_hours, "h", old_hours / new_hours,
              new_hours <= 120))
    print(f"{'agf demo, clean work directory: <= 3 min':<46}{'-':>16}{demo['wall s'] / 60:>12.1f} min{'':>10}   "
          f"{'yes' if demo['wall s'] <= 180 else 'no'}")
    print(f"{'agf demo, validation tracks: >= 60':<46}{'-':>16}{demo['valid tracks']:>16}{'':>10}   "
          f"{'yes' if demo['valid tracks'] >= 60 else 'no'}")
    print(f"\nfigures: {out}; the quick grids' work directories (reports): {keep}")


if __name__ == "__main__":
    main()
