"""Writing an evaluation to disk: metrics.json, per_class.csv, confusion.csv, confusion.png, <split>_probs.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from agf.atomic import write_csv, write_json
from agf.evaluation.metrics import Scores


def confusion_table(scores: Scores) -> pd.DataFrame:
    """The confusion matrix with genre names: rows ``true``, columns ``predicted``."""
    return pd.DataFrame(scores.confusion, index=pd.Index(scores.genres, name="true \\ predicted"),
                        columns=list(scores.genres))


def plot_confusion(scores: Scores, path: Path, *, title: str = "") -> None:
    """Save the confusion matrix as a PNG: row-normalised colours, raw counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    counts = scores.confusion
    n = len(scores.genres)
    # colour by recall so a rare genre's row is as readable as a common one's
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.55 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), scores.genres, rotation=45, ha="right")
    ax.set_yticks(range(n), scores.genres)
    ax.set_xlabel("predicted genre")
    ax.set_ylabel("true genre")
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true genre")
    ax.set_title(title or f"{scores.n_tracks} tracks, accuracy {scores.accuracy:.3f}, macro F1 {scores.macro_f1:.3f}",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(scores: Scores, folder: Path, *, extra: dict | None = None, title: str = "") -> dict[str, Path]:
    """Write the four report files into ``folder``; returns their paths by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("metrics.json", "per_class.csv", "confusion.csv", "confusion.png")}
    payload = {**scores.summary(), "genres": list(scores.genres), **(extra or {})}
    write_json(paths["metrics.json"], payload)
    write_csv(scores.per_class(), paths["per_class.csv"], index=True, float_format="%.6f")
    write_csv(confusion_table(scores), paths["confusion.csv"], index=True)
    plot_confusion(scores, paths["confusion.png"], title=title)
    return paths


def probabilities_name(split: str) -> str:
    """``val_probs.csv`` for the validation split, ``<split>_probs.csv`` for another."""
    return "val_probs.csv" if split == "valid" else f"{split}_probs.csv"


def write_evaluation(scores: Scores, tracks: pd.DataFrame, folder: Path, *, split: str, extra: dict | None = None,
                     title: str = "") -> dict[str, Path]:
    """:func:`write_report` plus the per-track distributions ``tracks`` (one row per scored track)."""
    paths = write_report(scores, folder, extra={"split": split, **(extra or {})}, title=title)
    paths["probabilities"] = Path(folder) / probabilities_name(split)
    write_csv(tracks, paths["probabilities"], float_format="%.6f")
    return paths
