"""How much a split protocol flatters the scores: two K-fold grids of the same tracks, paired per track.

Run the grid twice on the same source with ``--folds K``, once per protocol (e.g. ``--split
random``, the paper's, and ``--split artist``, the default), then give both work directories.
Every track is a test track exactly once in each grid, so the two grids' per-track records pair
up by track: for every case the two share (and the baseline), this prints the log loss under
each protocol and the paired difference A minus B with its 95 % bootstrap interval over the
tracks and its p-value (:func:`agf.evaluation.intervals.paired_difference`), and writes the
table as markdown to ``--out``.

    python bench/protocol_gap.py W_RANDOM W_ARTIST [--out gap.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from agf.evaluation.intervals import paired_difference
from agf.evaluation.metrics import PROB_FLOOR
from agf.experiments.report import read_records


def _by_track(record: dict[str, list]) -> dict[str, list]:
    """The record without its folds (they differ between protocols), its tracks in id order."""
    order = np.argsort(np.asarray(record["track_id"], dtype=str), kind="stable")
    return {key: [record[key][i] for i in order] for key in ("track_id", "y_true", "y_pred", "p_true")}


def gap(a: Path, b: Path) -> pd.DataFrame:
    """One row per case of both grids: log loss in A and in B, A minus B, its interval and p-value."""
    records_a, records_b = read_records(a / "per_track.csv"), read_records(b / "per_track.csv")
    rows = []
    for key in [k for k in records_a if k in records_b]:
        ra, rb = _by_track(records_a[key]), _by_track(records_b[key])
        if ra["track_id"] != rb["track_id"]:
            raise SystemExit(f"{key}: the two grids tested other tracks; run both with --folds on the same source")
        d = paired_difference(ra, rb)
        loss = [float(-np.log(np.clip(r["p_true"], PROB_FLOOR, 1)).mean()) for r in (ra, rb)]
        name = "baseline" if key[0] == "baseline" else f"{key[0]} {key[1]}"
        rows.append({"case": name, "tracks": len(ra["track_id"]),
                     f"log loss {a.name}": round(loss[0], 4), f"log loss {b.name}": round(loss[1], 4),
                     "A minus B": round(d.mean, 4), "95 % interval": f"[{d.low:+.4f}, {d.high:+.4f}]",
                     "p": round(d.p_value, 4)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="work directory of the first K-fold grid")
    parser.add_argument("b", type=Path, help="work directory of the second, on the same tracks")
    parser.add_argument("--out", type=Path, help="write the table here as markdown")
    args = parser.parse_args()
    table = gap(args.a, args.b)
    print(table.to_string(index=False))
    if args.out:
        lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
