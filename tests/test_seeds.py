"""Training seeds: a track's seeds resampled together (against hand-computed intervals), the seeds' combination
against means and spreads computed apart, `--seeds 0` refused, and a 2-seed `agf experiment` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agf.cli import main
from agf.data.tables import load_tracks
from agf.evaluation.intervals import (
    concatenate,
    fold_interval,
    metric_intervals,
    paired_difference,
    per_track,
    resampled_records,
    resampled_rows,
)
from agf.experiments.comparisons import paired_comparisons
from agf.experiments.folds import combine_replicates
from agf.experiments.report import RESULT_COLUMNS, SEED_COLUMNS, read_records
from agf.workdir import Workdir

SOURCE = "synthetic:36"


def _record(ids: list[str], p_true: list[float], correct: list[bool] | None = None) -> dict[str, list]:
    """Two-class tracks of class 0 whose probability of the truth is ``p_true``; predicted 0 where ``correct``."""
    probs = np.array([[p, 1 - p] for p in p_true])
    record = per_track(ids, np.zeros(len(ids), dtype=np.int64), probs)
    record["y_pred"] = [0 if c else 1 for c in (correct or [True] * len(ids))]
    return record


def test_a_tracks_seeds_are_drawn_together():
    # seed 0's loss on track i is x_i, seed 1's is 2 - x_i: every track's mean over its seeds is 1, so drawing
    # tracks with both their seeds gives exactly (1, 1); drawing the 60 records alone spreads widely
    x = np.linspace(0.1, 1.9, 30)
    ids = [f"t{i:02d}" for i in range(30)]
    seeds = concatenate([_record(ids, list(np.exp(-x))), _record(ids, list(np.exp(x - 2)))], "seed")
    assert seeds["seed"] == [0] * 30 + [1] * 30 and seeds["track_id"] == ids + ids
    assert metric_intervals(seeds, 2, seed=4)["log_loss"] == pytest.approx((1.0, 1.0))
    alone = metric_intervals({k: v for k, v in seeds.items() if k != "seed"}, 2, seed=4)["log_loss"]
    assert alone[1] - alone[0] > 0.15
    # a model against itself with the seeds swapped: differences x - (2 - x) cancel within every track
    swapped = concatenate([_record(ids, list(np.exp(x - 2))), _record(ids, list(np.exp(-x)))], "seed")
    d = paired_difference(seeds, swapped, resamples=500)
    assert (d.low, d.high) == pytest.approx((0.0, 0.0), abs=1e-12)


def test_a_resample_keeps_each_track_in_its_fold_and_with_all_its_seeds():
    folds = concatenate([_record(["a", "b", "c"], [0.5] * 3), _record(["d", "e"], [0.5] * 2)])
    record = concatenate([folds, folds], "seed")
    assert record["fold"] == [0, 0, 0, 1, 1] * 2 and record["seed"] == [0] * 5 + [1] * 5
    rows = resampled_records(record, resamples=500, seed=3)
    assert rows.shape == (500, 10)
    ids, fold, seed = (np.asarray(record[k]) for k in ("track_id", "fold", "seed"))
    assert (seed[rows] == seed).all() and (fold[rows] == fold).all()  # a slot draws its own seed and fold
    assert (ids[rows[:, :5]] == ids[rows[:, 5:]]).all()  # the same tracks drawn for both seeds
    assert set(ids[rows[:, :3]].ravel()) == {"a", "b", "c"}
    # without seeds, the draws are those of resampling within folds alone, as before seeds existed
    assert (resampled_records(folds, resamples=50, seed=1) == resampled_rows(5, strata=folds["fold"], resamples=50,
                                                                               seed=1)).all()
    with pytest.raises(ValueError, match="same tracks"):
        resampled_records(concatenate([folds, {key: values[1:] for key, values in folds.items()}], "seed"))


def _grid(ids: list[str], p: dict[str, list[float]], valid: float, n_train: int = 5) -> pd.DataFrame:
    """One replicate's rows: cases by name -> p_true of ``ids`` (all predicted right but the first track)."""
    rows = []
    for name, p_true in p.items():
        arch, tasks = name.split()
        correct = [False] + [True] * (len(ids) - 1)
        rows.append({"arch": arch, "tasks": tasks, "n_tasks": 0 if arch == "baseline" else len(tasks), "n_params": 10,
                     "log_loss": float(-np.log(p_true).mean()), "f1_macro": 0.5,
                     "accuracy": float(np.mean(correct)), "valid_log_loss": valid, "scored_on": "test",
                     "n_train_tracks": n_train, "n_val_tracks": 2, "n_test_tracks": len(ids),
                     "per_track": _record(ids, p_true, correct)})
    return pd.DataFrame(rows)


def test_seeds_combine_into_their_means_and_spread():
    ids = ["a", "b", "c", "d"]
    seed_p = [[0.9, 0.8, 0.5, 0.3], [0.6, 0.7, 0.4, 0.5], [0.2, 0.9, 0.9, 0.6]]
    combined = combine_replicates([[_grid(ids, {"stn g": p}, valid) for p, valid in zip(seed_p, (0.7, 0.8, 1.2))]],
                                  ("x", "y"))
    row = combined.iloc[0]
    per_seed = [float(-np.log(p).mean()) for p in seed_p]
    assert row["log_loss"] == pytest.approx(np.mean(per_seed))  # pooled over (track, seed) = mean over seeds
    assert row["log_loss_seeds_sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert row["accuracy"] == pytest.approx(0.75) and row["accuracy_seeds_sd"] == 0.0
    assert row["valid_log_loss"] == pytest.approx(0.9)
    assert row["n_test_tracks"] == 4  # the same 4 tracks, scored by each seed
    assert row["per_track"]["seed"] == [0] * 4 + [1] * 4 + [2] * 4 and "fold" not in row["per_track"]
    assert "log_loss_folds_low" not in combined


def test_folds_of_seeds_take_each_folds_mean_over_seeds():
    p = {(0, 0): [0.9, 0.5], (0, 1): [0.6, 0.4], (1, 0): [0.8], (1, 1): [0.2]}
    ids = {0: ["a", "b"], 1: ["c"]}
    combined = combine_replicates([[_grid(ids[k], {"stn g": p[k, j]}, 1.0) for j in (0, 1)] for k in (0, 1)],
                                  ("x", "y"))
    row = combined.iloc[0]
    losses = {key: -np.log(v) for key, v in p.items()}
    assert row["log_loss"] == pytest.approx(np.concatenate(list(losses.values())).mean())  # over 6 records
    fold_means = [np.mean([losses[k, j].mean() for j in (0, 1)]) for k in (0, 1)]
    assert (row["log_loss_folds_low"], row["log_loss_folds_high"]) == pytest.approx(fold_interval(fold_means))
    spread = [np.std([losses[k, 0].mean(), losses[k, 1].mean()], ddof=1) for k in (0, 1)]
    assert row["log_loss_seeds_sd"] == pytest.approx(np.mean(spread))
    assert row["n_test_tracks"] == 3
    assert row["per_track"]["fold"] == [0] * 4 + [1] * 2 and row["per_track"]["seed"] == [0, 0, 1, 1, 0, 1]


def test_folds_a_better_compares_each_folds_mean_over_seeds():
    # fold 0: A is better with seed 0 (0.9 > 0.5) but worse over both seeds (log 0.9 + log 0.1 < 2 log 0.5);
    # fold 1: A is better with both seeds
    a = {(0, 0): [0.9], (0, 1): [0.1], (1, 0): [0.6], (1, 1): [0.6]}
    ids = {0: ["a"], 1: ["b"]}
    grids = [[_grid(ids[k], {"stn gm": a[k, j], "baseline -": [0.5]}, 1.0) for j in (0, 1)] for k in (0, 1)]
    comparisons = paired_comparisons(combine_replicates(grids, ("x", "y")))
    assert comparisons.set_index("b").loc["baseline", "folds_a_better"] == "1 of 2"


def test_zero_seeds_are_refused_before_any_work(tmp_path, capsys):
    work = tmp_path / "w"
    assert main(["experiment", SOURCE, "--workdir", str(work), "--seeds", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--seeds 0: the grid needs at least 1 training seed" in err, err
    assert not (work / "dataset.json").exists()


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("seeds") / "w"
    assert main(["experiment", SOURCE, "--workdir", str(workdir), "--seeds", "2", "--tasks", "gm", "--seed", "3",
                 "--epochs", "1", "--mlp-epochs", "2", "--clusters", "16", "--hop", "43", "--workers", "2",
                 "--no-progress"]) == 0
    return workdir


def _seed_of(settings_json: Path) -> int:
    return json.loads(settings_json.read_text())["settings"]["seed"]


def test_two_seeds_train_the_same_split_apart_and_combine(two_seeds):
    first, second = Workdir(two_seeds), Workdir(two_seeds / "seeds" / "1")
    assert second.root.is_dir() and not (two_seeds / "seeds" / "0").exists()  # seed 0 trains in W itself
    assert second.store_dir.is_symlink() and second.store_dir.resolve() == first.store_dir.resolve()
    # the split of --seed 3 in both; the training seeds 3 and 4
    assert load_tracks(second)[["track_id", "split"]].equals(load_tracks(first)[["track_id", "split"]])
    assert _seed_of(second.dataset_json) == _seed_of(first.dataset_json) == 3
    for wd, seed in ((first, 3), (second, 4)):
        networks = sorted(wd.runs_dir.glob("*/settings.json"))
        assert len(networks) == 3 and all(_seed_of(path) == seed for path in networks)
        assert _seed_of(wd.factors_dir("m") / "settings.json") == seed
    assert (second.root / "report.md").is_file() and not second.bundle_dir.exists()
    assert (two_seeds / "bundle" / "bundle.json").is_file()

    results = pd.read_csv(first.results_csv, dtype={"tasks": str})
    assert list(results.columns) == RESULT_COLUMNS + SEED_COLUMNS
    results = results.set_index(["arch", "tasks"])
    assert np.isfinite(results[SEED_COLUMNS].to_numpy()).all()
    records = read_records(first.report("per_track.csv"))
    for arch, tasks in results.index:
        # each seed's own row of the case, as its grid scored it
        case = "baseline" if arch == "baseline" else f"{arch}-{tasks}"
        own = [json.loads(wd.case_json("quick", case).read_text()) for wd in (first, second)]
        combined = results.loc[(arch, tasks)]
        for metric in ("log_loss", "accuracy", "valid_log_loss"):
            assert combined[metric] == pytest.approx((own[0][metric] + own[1][metric]) / 2, abs=2e-6)
        for metric in ("log_loss", "accuracy"):
            spread = abs(own[0][metric] - own[1][metric]) / np.sqrt(2)  # the sd (ddof=1) of two values
            assert combined[f"{metric}_seeds_sd"] == pytest.approx(spread, abs=2e-6)
        if arch != "baseline" and not tasks.endswith("+b"):  # a +b case may weigh the baseline 1 in both seeds
            assert combined["log_loss_seeds_sd"] > 0  # the seed alone moves every networks-only case
        seed = np.asarray(records[(arch, tasks)]["seed"])  # per_track.csv keeps every seed's record of a track
        assert (seed == 0).sum() == (seed == 1).sum() == combined["n_test_tracks"] > 0
    report = (two_seeds / "report.md").read_text()
    assert "2 seeds: every split trained with seeds 3 .. 4, on the split of seed 3" in report
    assert "_seeds_sd" in report
    # the chosen case's per-genre support counts each test track once, not once per seed
    per_genre = report.split("## Per genre: the chosen case on the test tracks, pooled over its 2 training seeds "
                             "(support in tracks)")[1].split("## ")[0]
    cells = [line.split("|")[-2].strip() for line in per_genre.splitlines() if line.startswith("| ")]
    support = [int(cell) for cell in cells if cell.isdigit()]  # the genres' rows, not the header
    assert len(support) >= 2  # one row per genre
    assert sum(support) == results["n_test_tracks"].iloc[0] > 0
