"""K-fold grids: intervals over folds against hand-computed ones, the folds' combination, a 2-fold
`agf experiment` end to end, and a fold whose test spectrograms are NaN: nothing fitted may see them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file

from agf.classifier.model import load_model
from agf.audio.statistics import StatisticsSettings
from agf.classifier.statistics import statistic_names, statistics_of
from agf.cli import main
from agf.data.prepare import prepare
from agf.data.tables import load_tracks, open_store
from agf.evaluation.intervals import (
    concatenate,
    fold_interval,
    group_intervals,
    metric_intervals,
    per_track,
    resampled_rows,
)
from agf.experiments.folds import combine_replicates, fold_workdir
from agf.experiments.grid import paper_cases
from agf.experiments.presets import Preset
from agf.experiments.report import FOLD_COLUMNS, RESULT_COLUMNS
from agf.experiments.runner import Execution, GridSettings, run_split
from agf.timing import StageClock
from agf.workdir import Workdir

TINY = dict(epochs=1, mlp_epochs=2, clusters=16, hop=43)
SOURCE = "synthetic:36"


def _record(ids: list[str], p_true: list[float], correct: list[bool]) -> dict[str, list]:
    probs = np.array([[p, 1 - p] for p in p_true])
    record = per_track(ids, np.zeros(len(ids), dtype=np.int64), probs)
    record["y_pred"] = [0 if c else 1 for c in correct]
    return record


def test_the_fold_interval_is_students_t_by_hand():
    # mean 2, sd 1, t(0.975, 2 degrees of freedom) = 4.302653
    low, high = fold_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 4.302653 / np.sqrt(3), 2 + 4.302653 / np.sqrt(3)), abs=1e-5)
    assert all(np.isnan(fold_interval([1.0])))


def test_resampling_within_folds_keeps_each_track_in_its_fold():
    strata = [0, 0, 0, 1, 1, 2]
    rows = resampled_rows(6, strata=strata, resamples=500, seed=3)
    assert rows.shape == (500, 6)
    assert (np.asarray(strata)[rows] == np.asarray(strata)).all()  # a fold-0 slot always draws a fold-0 track
    assert set(np.unique(rows[:, :3])) == {0, 1, 2} and (rows[:, 5] == 5).all()


def test_a_fold_of_constant_scores_adds_no_spread():
    # fold 0: every loss 1.0; fold 1: losses 0 and 2. Resampled within folds, the mean of the 4 tracks is
    # (2 * 1.0 + k * 2.0) / 4 for k ~ Binomial(2, 1/2) draws of the lossy track of fold 1: 0.5, 1.0 or 1.5
    p = [np.exp(-1.0), np.exp(-1.0), 1.0, np.exp(-2.0)]
    record = concatenate([_record(["a", "b"], p[:2], [True] * 2), _record(["c", "d"], p[2:], [True] * 2)])
    assert record["fold"] == [0, 0, 1, 1] and record["track_id"] == ["a", "b", "c", "d"]
    low, high = group_intervals([record], 2, resamples=20_000, seed=0)["log_loss"]
    assert (low, high) == pytest.approx((0.5, 1.5))
    pooled = metric_intervals(_record(list("abcd"), p, [True] * 4), 2, resamples=20_000, seed=0)["log_loss"]
    assert pooled[0] < 0.5  # without the folds, a resample can draw fold 1's lossless track four times


def test_a_group_interval_resamples_the_tracks_once_for_all_its_models():
    # A's loss per track is x, B's is 2 - x: their mean is 1 on every track, so a group interval that draws
    # the same tracks for both models is exactly (1, 1), while each model alone spreads widely
    x = np.linspace(0.1, 1.9, 30)
    ids = [f"t{i:02d}" for i in range(30)]
    a, b = _record(ids, list(np.exp(-x)), [True] * 30), _record(ids, list(np.exp(x - 2)), [True] * 30)
    assert group_intervals([a, b], 2, seed=4)["log_loss"] == pytest.approx((1.0, 1.0))
    alone = metric_intervals(a, 2, seed=4)["log_loss"]
    assert alone[1] - alone[0] > 0.3
    with pytest.raises(ValueError, match="same tracks"):
        group_intervals([a, _record(["x"], [0.5], [True])], 2)


def test_folds_combine_into_every_track_once():
    def fold(ids, p, valid_loss):
        rows = []
        for arch, tasks in (("stn", "g"), ("mtn", "gm")):
            rows.append({"arch": arch, "tasks": tasks, "n_tasks": len(tasks), "n_params": 10, "log_loss": 0.0,
                         "f1_macro": 0.0, "accuracy": 0.0, "valid_log_loss": valid_loss, "scored_on": "test",
                         "n_train_tracks": 5, "n_val_tracks": 2, "n_test_tracks": len(ids),
                         "per_track": _record(ids, p, [True] * len(ids))})
            rows[-1].update({m: v for m, v in zip(("log_loss", "f1_macro", "accuracy"),
                                                  (float(-np.log(p).mean()), 1.0, 1.0))})
        return pd.DataFrame(rows)

    with pytest.warns(UserWarning, match="missing from some folds"):
        combined = combine_replicates([[fold(["a", "b"], [0.5, 0.5], 0.8)],
                                       [fold(["c"], [0.25], 1.0).iloc[:1]]], ("x", "y"))
    assert combined[["arch", "tasks"]].values.tolist() == [["stn", "g"]]
    row = combined.iloc[0]
    assert row["log_loss"] == pytest.approx(-(2 * np.log(0.5) + np.log(0.25)) / 3)  # pooled over the 3 tracks
    assert row["valid_log_loss"] == pytest.approx(0.9) and row["n_test_tracks"] == 3
    assert (row["n_train_tracks"], row["n_val_tracks"]) == (5, 2)  # a fold's, not the folds' sum
    assert row["per_track"]["fold"] == [0, 0, 1] and "seed" not in row["per_track"]
    assert "log_loss_seeds_sd" not in combined  # one seed: the columns of a grid without --seeds
    assert (row["log_loss_folds_low"], row["log_loss_folds_high"]) == pytest.approx(
        fold_interval([-np.log(0.5), -np.log(0.25)]))


@pytest.fixture(scope="module")
def two_folds(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("folds") / "w"
    assert main(["experiment", SOURCE, "--workdir", str(workdir), "--folds", "2", "--tasks", "gm",
                 "--epochs", "1", "--mlp-epochs", "2", "--clusters", "16", "--hop", "43", "--workers", "2",
                 "--no-progress"]) == 0
    return workdir


def test_two_folds_test_every_track_once_and_share_one_store(two_folds):
    folds = [Workdir(two_folds / "folds" / k) for k in ("1", "2")]
    for wd in folds:
        assert wd.store_dir.is_symlink() and wd.store_dir.resolve() == (two_folds / "store").resolve()
        assert (wd.root / "results.csv").is_file() and (wd.root / "report.md").is_file()
    tested = [set(load_tracks(wd).query("split == 'test'")["track_id"]) for wd in folds]
    assert tested[0] and tested[1] and not tested[0] & tested[1]
    for wd, test in zip(folds, tested):  # artist-disjoint: no test artist trains or validates in its fold
        tracks = load_tracks(wd)
        assert not set(tracks.query("split == 'test'")["artist"]) & set(tracks.query("split != 'test'")["artist"])
    results = pd.read_csv(two_folds / "results.csv", dtype={"tasks": str})
    assert list(results.columns) == RESULT_COLUMNS + FOLD_COLUMNS
    assert (results["n_test_tracks"] == len(tested[0] | tested[1])).all()
    per_track_csv = pd.read_csv(two_folds / "per_track.csv", dtype={"track_id": str, "tasks": str})
    for (_, _), part in per_track_csv.groupby(["arch", "tasks"]):
        assert sorted(part["track_id"]) == sorted(tested[0] | tested[1])  # each track once, in its own fold
        assert set(part.loc[part["fold"] == 0, "track_id"]) == tested[0]
    fold_scores = [pd.read_csv(wd.results_csv, dtype={"tasks": str}).set_index(["arch", "tasks"]) for wd in folds]
    combined = results.set_index(["arch", "tasks"])
    for key in combined.index:
        assert combined.loc[key, "valid_log_loss"] == pytest.approx(
            np.mean([f.loc[key, "valid_log_loss"] for f in fold_scores]), abs=1e-5)
        assert combined.loc[key, "log_loss_folds_low"] <= combined.loc[key, "log_loss_folds_high"]
    report = (two_folds / "report.md").read_text()
    assert "2 folds" in report and "fold 1" in report and "Per genre" in report
    assert (two_folds / "bundle" / "bundle.json").is_file()


def test_a_folds_test_tracks_reach_nothing_it_fits(tmp_path):
    """Fold 1's test spectrograms are set to NaN before its grid runs: a factor fit, a network or an MLP
    that saw one would be NaN (the mean and std of a network's input, its weights, the k-means words). Its
    test tracks' statistics are set to 1e30 (NaN would stop the baseline's scikit-learn model): a baseline
    (of a +b model) whose standardisation saw one would have a mean and scale near 1e29."""
    fold_wd = fold_workdir(Workdir(tmp_path / "w"), 0)
    prepare(SOURCE, fold_wd.root, folds=2, fold=0, jobs=1, progress=False)
    tracks = load_tracks(fold_wd)
    store = open_store(fold_wd)
    mel = np.memmap(store.folder / "mel.f16", dtype=store.mel.dtype, mode="r+", shape=store.mel.shape)
    test = tracks.loc[tracks["split"] == "test", "track_id"]
    assert len(test) > 0
    for track_id in test:
        i = store.row_of[track_id]
        mel[store.offsets[i]: store.offsets[i] + store.n_frames[i]] = np.nan
    mel.flush()
    statistics_of(fold_wd.root, list(tracks["track_id"]), progress=False)
    cache = next(fold_wd.statistics_dir.glob("*.csv"))
    table = pd.read_csv(cache, dtype={"track_id": str})
    table.loc[table["track_id"].isin(test), statistic_names(StatisticsSettings())] = 1e30
    table.to_csv(cache, index=False)
    grid = GridSettings(Preset("quick", **TINY), ("g", "m"), ("stn", "mtn"), False)
    run = run_split(SOURCE, fold_wd, grid, Execution(None, 2, "cpu"),
                    {"folds": 2, "fold": 0, "jobs": 1, "seed": 0, "progress": False}, StageClock())
    fitted = [*fold_wd.runs_dir.glob("*/weights.safetensors"), *(fold_wd.root / "transfer").glob("*/mlp.safetensors")]
    assert len(fitted) == 3 + 4 + 3  # stn-g, stn-m, mtn-gm; the 4 cases' MLPs, and the 3 +b cases' (copies)
    for folder in (fold_wd.root / "transfer").glob("*+b"):
        baseline = load_model(folder, workdir=fold_wd.root).baseline
        assert np.abs(baseline.mean).max() < 1e6 and np.max(baseline.scale) < 1e6, folder
    for path in fitted:
        assert all(np.isfinite(t).all() for t in load_file(path).values()), path
    factors = [*fold_wd.factors_dir("m").glob("*.npy"), *fold_wd.factors_dir("m").glob("*.npz")]
    assert factors
    for path in factors:
        arrays = np.load(path)
        for values in (arrays.values() if hasattr(arrays, "values") else [arrays]):
            if np.issubdtype(np.asarray(values).dtype, np.floating):
                assert np.isfinite(values).all(), path
    # the validation scores (what the grid chooses on) are finite; the test scores were poisoned
    deep = run.results[run.results["arch"] != "baseline"]
    assert np.isfinite(deep["valid_log_loss"]).all()
    networks_only = paper_cases(run.results)  # a +b case that weighs the baseline 1 is the baseline: finite
    assert not np.isfinite([p for r in networks_only["per_track"] for p in r["p_true"]]).any()  # the poison is live
