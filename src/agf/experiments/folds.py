"""K-fold grids: one complete grid per fold, each in its own work directory, and their results combined.

Fold k's work directory ``W/folds/<k>`` is an ordinary work directory: its tracks are split so
that fold k's test tracks are held out (:func:`agf.data.splits.assign_splits`), and every
factor fit, network and MLP in it learns from its own training tracks only. What does not
depend on the split is shared through symbolic links, so it is made once for all folds: the
spectrogram store, a synthetic source's audio, and the Essentia descriptors and classical
statistics of each track.

Every track is a test track of exactly one fold, so the folds' test records concatenate into
one record per case covering every track; its scores are pooled over all tracks, and its
intervals come from resampling tracks within their fold
(:func:`agf.evaluation.intervals.group_intervals`) and from the spread of the K fold scores
(:func:`agf.evaluation.intervals.fold_interval`).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from agf.errors import AgfError
from agf.evaluation.intervals import concatenate, fold_interval, record_scores
from agf.workdir import Workdir

METRICS = ("log_loss", "f1_macro", "accuracy")


class FoldError(AgfError):
    """A number of folds the grid cannot run."""


def check_folds(folds: int) -> None:
    if folds < 2:
        raise FoldError(f"--folds {folds}: cross-validation needs at least 2 folds; without --folds the grid "
                        "runs once, on one train / validation / test split")


def fold_workdir(wd: Workdir, fold: int) -> Workdir:
    """Fold ``fold``'s (0-based) work directory, created with its links to what the folds share."""
    fold_wd = Workdir(wd.fold_dir(fold))
    share_decoded(wd, fold_wd)
    return fold_wd


def share_decoded(shared: Workdir, other: Workdir) -> None:
    """Link ``other``'s spectrogram store, generated source, Essentia cache and track statistics to ``shared``'s:
    what does not depend on the split or the labels is made once (for the folds of a grid, or the noise levels
    of a study)."""
    for made, linked in ((shared.store_dir, other.store_dir), (shared.source_dir, other.source_dir),
                         (shared.essentia_cache_dir, other.essentia_cache_dir),
                         (shared.statistics_dir, other.statistics_dir)):
        made.mkdir(parents=True, exist_ok=True)
        linked.parent.mkdir(parents=True, exist_ok=True)
        if not linked.is_symlink():
            # relative, so that the work directory can be moved as a whole
            linked.symlink_to(os.path.relpath(made, linked.parent), target_is_directory=True)


def combine_folds(results: list[pd.DataFrame], genres: tuple[str, ...]) -> pd.DataFrame:
    """One row per case found in every fold: scores pooled over all folds' test tracks, the mean validation
    log loss (what the grid chooses on), the mean training and validation tracks of a fold and the test
    tracks of all folds, and a t interval over the folds' scores (``<metric>_folds_low``,
    ``<metric>_folds_high``)."""
    keyed = [r.set_index(["arch", "tasks"]) for r in results]
    common = [key for key in keyed[0].index if all(key in k.index for k in keyed[1:])]
    missing = sorted({f"{arch} {tasks}" for k in keyed for arch, tasks in k.index} - {f"{a} {t}" for a, t in common})
    if missing:
        warnings.warn(f"case(s) {', '.join(missing)} are missing from some folds (a task the fold's data cannot "
                      "provide): left out of the combined results", stacklevel=2)
    rows = []
    for key in common:
        per_fold = [k.loc[key] for k in keyed]
        record = concatenate([row["per_track"] for row in per_fold])
        scores = record_scores(record, genres)
        row = {"arch": key[0], "tasks": key[1], "n_tasks": per_fold[0]["n_tasks"],
               "n_params": int(np.mean([r["n_params"] for r in per_fold])),
               "log_loss": scores.log_loss, "f1_macro": scores.macro_f1, "accuracy": scores.accuracy,
               "valid_log_loss": float(np.mean([r["valid_log_loss"] for r in per_fold])),
               "scored_on": per_fold[0]["scored_on"],
               # per fold, as a fold trains and validates; every track is tested once, so the test tracks add up
               "n_train_tracks": round(np.mean([r["n_train_tracks"] for r in per_fold])),
               "n_val_tracks": round(np.mean([r["n_val_tracks"] for r in per_fold])),
               "n_test_tracks": int(sum(r["n_test_tracks"] for r in per_fold)),
               "per_track": record}
        for metric in METRICS:
            row[f"{metric}_folds_low"], row[f"{metric}_folds_high"] = fold_interval([r[metric] for r in per_fold])
        rows.append(row)
    return pd.DataFrame(rows)
