"""The paper's motivation, measured: are artist group factors more robust to noisy genre labels?

For each noise level P, runs the grid of ``--tasks`` (STN and MTN) with ``agf experiment
--label-noise P`` in its own work directory ``WORKDIR/noise-P`` (P of the training tracks get
another genre; validation and test tracks keep the truth, so every score is against it), then
tabulates, on the test tracks:

- g only: the genre STN's log loss and macro F1, with 95 % bootstrap intervals;
- g + AGF: the case with g and artist-group tasks chosen on validation, the same;
- the paired difference g + AGF minus g only (negative: the factors help), its interval and p-value.

The spectrograms are decoded once (the work directories share one store through links, as the
folds of a grid do: agf.experiments.folds.share_decoded), and each level's grid resumes like any
grid. Writes ``WORKDIR/label-noise.md``.

    python bench/label_noise_study.py SOURCE --workdir WORKDIR [--levels 0 0.2 0.4] [--tasks gm]
        [--folds K] [--preset quick] [--epochs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import pandas as pd

from agf.experiments.folds import share_decoded
from agf.experiments.presets import PRESETS
from agf.experiments.runner import run_experiment
from agf.workdir import Workdir


def summarise(level: float, workdir: Path) -> dict:
    results = pd.read_csv(workdir / "results.csv", dtype={"tasks": str}).set_index(["arch", "tasks"])
    comparisons = pd.read_csv(workdir / "comparisons.csv").set_index("question")
    question = comparisons.loc[[q for q in comparisons.index if q.startswith("g + artist group factors")][0]]
    row = {"label noise": f"{level:.0%}"}
    for label, name in (("g only", "stn g"), ("g + AGF", question["a"])):
        case = results.loc[tuple(name.split(" "))]
        row[f"{label}: case"] = name
        row[f"{label}: log loss"] = f"{case['log_loss']:.3f} [{case['log_loss_low']:.3f}, {case['log_loss_high']:.3f}]"
        row[f"{label}: F1"] = f"{case['f1_macro']:.3f} [{case['f1_macro_low']:.3f}, {case['f1_macro_high']:.3f}]"
    row["g + AGF minus g only"] = (f"{question['log_loss_a_minus_b']:+.3f} [{question['low']:+.3f}, "
                                   f"{question['high']:+.3f}], p = {question['p_value']:.4f}")
    return row


def _markdown(table: pd.DataFrame) -> str:
    columns = [table.index.name, *table.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join([str(i), *map(str, row)]) + " |" for i, row in table.iterrows()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.0, 0.2, 0.4])
    parser.add_argument("--tasks", default="gm")
    parser.add_argument("--folds", type=int, help="K folds per level (default: one split)")
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    preset = PRESETS[args.preset]
    if args.epochs:
        preset = dataclasses.replace(preset, epochs=args.epochs)
    rows, started = [], time.perf_counter()
    for level in args.levels:
        level_dir = args.workdir / f"noise-{level:g}"
        share_decoded(Workdir(args.workdir), Workdir(level_dir))
        print(f"=== label noise {level:.0%}: {level_dir}", flush=True)
        run_experiment(args.source, level_dir, preset=preset, tasks=args.tasks, label_noise=level, folds=args.folds,
                       progress=False)
        rows.append(summarise(level, level_dir))
    table = pd.DataFrame(rows).set_index("label noise")
    command = (f"python bench/label_noise_study.py {args.source} --workdir W --levels {' '.join(map(str, args.levels))}"
               f" --tasks {args.tasks} --preset {args.preset}" + (f" --folds {args.folds}" if args.folds else "")
               + (f" --epochs {args.epochs}" if args.epochs else ""))
    minutes = (time.perf_counter() - started) / 60
    text = "\n".join([f"# Label noise: {args.source}", "", f"- command: `{command}`",
                      f"- machine: {os.cpu_count()} CPU cores; wall time {minutes:.1f} min",
                      "- scores on the test tracks (true labels); 95 % bootstrap intervals; the g + AGF case is "
                      "the one chosen on validation at that level", "", _markdown(table), ""])
    (args.workdir / "label-noise.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
