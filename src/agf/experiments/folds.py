"""Replicated grids: one complete grid per fold and per training seed, each in its own work directory,
and their results combined.

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

With S training seeds, seed j (0 .. S-1) of a split trains every factor fit, network and MLP
with the preset's seed + j on the split of the preset's seed: what differs between seeds is the
training alone. Seed 0 trains in the split's work directory (W, or a fold's), seed j >= 1 in its
own, ``seeds/<j>`` under it. Each track is then scored once per seed; the scores pool all these
records, the bootstrap draws a track with all its seeds' records, a fold's score is the mean
over its seeds, and ``<metric>_seeds_sd`` is how much a case's score moves with the seed alone.
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
    """A number of folds or training seeds the grid cannot run."""


def check_folds(folds: int) -> None:
    if folds < 2:
        raise FoldError(f"--folds {folds}: cross-validation needs at least 2 folds; without --folds the grid "
                        "runs once, on one train / validation / test split")


def check_seeds(seeds: int) -> None:
    if seeds < 1:
        raise FoldError(f"--seeds {seeds}: the grid needs at least 1 training seed (1, the default, trains "
                        "every network once)")


def fold_workdir(wd: Workdir, fold: int) -> Workdir:
    """Fold ``fold``'s (0-based) work directory, created with its links to what the folds share."""
    fold_wd = Workdir(wd.fold_dir(fold))
    share_decoded(wd, fold_wd)
    return fold_wd


def seed_workdir(split: Workdir, seed: int) -> Workdir:
    """The work directory of training seed ``seed`` (>= 1; seed 0 trains in ``split`` itself) of the split whose
    work directory is ``split`` (W, or a fold's), created with its links to what ``split`` shares."""
    seed_wd = Workdir(split.seed_dir(seed))
    share_decoded(split, seed_wd)
    return seed_wd


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


def combine_replicates(results: list[list[pd.DataFrame]], genres: tuple[str, ...]) -> pd.DataFrame:
    """One row per case found in every replicate, from ``results[k][j]``: the rows of fold k (one split: k = 0
    only) trained with seed j.

    Its scores pool all the replicates' test records (every track once per seed); the mean validation
    log loss (what the grid chooses on); the mean training and validation tracks of a replicate and
    the test tracks of all folds; with K folds a t interval over the folds' scores, each the mean over
    its seeds (``<metric>_folds_low``, ``<metric>_folds_high``); with S seeds the standard deviation
    over seeds of the case's score, averaged over the folds (``<metric>_seeds_sd``).
    """
    folds, seeds = len(results) > 1, len(results[0]) > 1
    keyed = [[r.set_index(["arch", "tasks"]) for r in fold] for fold in results]
    every = [k for fold in keyed for k in fold]
    common = [key for key in every[0].index if all(key in k.index for k in every[1:])]
    missing = sorted({f"{arch} {tasks}" for k in every for arch, tasks in k.index} - {f"{a} {t}" for a, t in common})
    if missing:
        some = " or ".join(name for name, many in (("folds", folds), ("seeds", seeds)) if many)
        warnings.warn(f"case(s) {', '.join(missing)} are missing from some {some} (a task the data cannot "
                      "provide): left out of the combined results", stacklevel=2)
    rows = []
    for key in common:
        parts = [[k.loc[key] for k in fold] for fold in keyed]
        replicas = [part for fold in parts for part in fold]
        record = _joined([[part["per_track"] for part in fold] for fold in parts])
        scores = record_scores(record, genres)
        row = {"arch": key[0], "tasks": key[1], "n_tasks": replicas[0]["n_tasks"],
               "n_params": int(np.mean([r["n_params"] for r in replicas])),
               "log_loss": scores.log_loss, "f1_macro": scores.macro_f1, "accuracy": scores.accuracy,
               "valid_log_loss": float(np.mean([r["valid_log_loss"] for r in replicas])),
               "scored_on": replicas[0]["scored_on"],
               # per replicate, as one trains and validates; every track is tested once per seed, by the models
               # of its fold, so the test tracks of the folds add up
               "n_train_tracks": round(np.mean([r["n_train_tracks"] for r in replicas])),
               "n_val_tracks": round(np.mean([r["n_val_tracks"] for r in replicas])),
               "n_test_tracks": int(sum(fold[0]["n_test_tracks"] for fold in parts)),
               "per_track": record}
        for metric in METRICS:
            scored = np.array([[part[metric] for part in fold] for fold in parts], dtype=np.float64)  # (K, S)
            if folds:
                row[f"{metric}_folds_low"], row[f"{metric}_folds_high"] = fold_interval(list(scored.mean(axis=1)))
            if seeds:
                row[f"{metric}_seeds_sd"] = float(scored.std(axis=1, ddof=1).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _joined(records: list[list[dict[str, list]]]) -> dict[str, list]:
    """``records[k][j]`` (fold k, seed j) as one record: each fold's seeds tagged ``seed``, then the folds
    tagged ``fold``; a tag only where there are several."""
    per_fold = [concatenate(fold, "seed") if len(fold) > 1 else fold[0] for fold in records]
    return concatenate(per_fold, "fold") if len(per_fold) > 1 else per_fold[0]
