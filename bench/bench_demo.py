"""`agf demo` as a new user runs it: a clean work directory, every stage, timed as one process.

    python bench/bench_demo.py [--keep DIR] [--json FILE]

Prints the whole-process wall time (goal: at most 3 minutes on 2 CPU cores), the tracks the
demo chooses on and scores (goal: at least 60 validation tracks), and the best and worst test
accuracy of its cases (the synthetic music must be hard enough that not every score is 1.0).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
from bench_quick_grid import ROOT, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the demo's work directory (report, bundle) under this folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    folder = contextlib.nullcontext(tempfile.mkdtemp(dir=args.keep)) if args.keep else tempfile.TemporaryDirectory()
    with folder as tmp:
        work = Path(tmp) / "agf-demo"
        seconds, _ = timed([sys.executable, "-m", "agf.cli", "demo", "--workdir", str(work), "--no-progress"],
                           ROOT / "src", Path(tmp) / "log.txt")
        splits = pd.read_csv(work / "tracks.csv")["split"].value_counts()
        results = pd.read_csv(work / "results.csv")
        figures = {"wall s": seconds, "valid tracks": int(splits.get("valid", 0)),
                   "test tracks": int(splits.get("test", 0)), "cases": len(results),
                   "best test accuracy": float(results["accuracy"].max()),
                   "worst test accuracy": float(results["accuracy"].min()), "workdir": str(work)}
    print(f"agf demo, clean work directory: {seconds / 60:.2f} min (goal <= 3 min)\n"
          f"chooses on {figures['valid tracks']} validation tracks (goal >= 60), scores {figures['test tracks']} "
          f"test tracks; {figures['cases']} cases, test accuracy {figures['worst test accuracy']:.3f} to "
          f"{figures['best test accuracy']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
