"""`agf experiment` end to end on a real local Dask cluster (two worker processes on loopback),
and a kill -9 in the middle of the grid followed by a rerun that gives the same results.csv."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agf.classifier.bundle import load_bundle
from agf.classifier.predict import Predictor
from agf.experiments.cluster import open_client
from agf.experiments.grid import Case
from agf.experiments.presets import Preset
from agf.experiments.report import RESULT_COLUMNS
from agf.experiments.runner import run_experiment
from agf.runtime import ALLOCATOR_ENV

# one epoch per STN, a 16-word dictionary: minutes of CPU for the whole g/m grid
TINY = dict(epochs=1, mlp_epochs=2, clusters=16, hop=43)
SOURCE, TASKS = "synthetic:24", "g,m"  # the comma form, as users type it


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """The g/m grid run without interruption on a local cluster of two worker processes."""
    workdir = tmp_path_factory.mktemp("grid") / "w"
    run_experiment(SOURCE, workdir, preset=Preset("quick", **TINY), tasks=TASKS, workers=2, progress=False)
    return workdir


def test_a_local_cluster_has_worker_processes_with_the_allocator_policy():
    with open_client(workers=2) as client:
        pids = client.run(os.getpid)
        environs = client.run(lambda: {name: os.environ.get(name) for name in ALLOCATOR_ENV})
    assert len(pids) == 2 and os.getpid() not in pids.values() and len(set(pids.values())) == 2
    assert all(environ == ALLOCATOR_ENV for environ in environs.values())  # not Dask's 64 KiB trim


def test_grid_results_report_and_bundle(finished):
    results = pd.read_csv(finished / "results.csv", dtype={"tasks": str})
    assert list(results.columns) == RESULT_COLUMNS
    cases = set(zip(results["arch"], results["tasks"]))
    assert cases == {("stn", "g"), ("stn", "m"), ("stn", "gm"), ("mtn", "gm"), ("baseline", "-"),
                     ("stn", "g+b"), ("stn", "gm+b"), ("mtn", "gm+b")}  # +b: with the classical statistics
    assert (results["n_val_tracks"] > 0).all() and (results["n_train_tracks"] > results["n_val_tracks"]).all()
    # chosen on validation, reported on the held-out test tracks
    assert (results["scored_on"] == "test").all() and (results["n_test_tracks"] > 0).all()
    assert np.isfinite(results["valid_log_loss"]).all()
    scores = results[["log_loss", "f1_macro", "accuracy"]].to_numpy()
    assert np.isfinite(scores).all() and (scores[:, 1:] >= 0).all() and (scores[:, 1:] <= 1).all()
    deep = results[results["arch"] != "baseline"].set_index(["arch", "tasks"])
    assert deep.loc[("stn", "gm"), "n_params"] == deep.loc[("stn", "g"), "n_params"] + deep.loc[("stn", "m"), "n_params"]
    assert deep.loc[("mtn", "gm"), "n_params"] < deep.loc[("stn", "gm"), "n_params"]  # the shared first block
    for metric in ("log_loss", "f1_macro", "accuracy"):  # each case's bootstrap interval holds its score
        assert (results[f"{metric}_low"] <= results[metric] + 1e-9).all()
        assert (results[metric] <= results[f"{metric}_high"] + 1e-9).all()
    assert (results["log_loss_high"] > results["log_loss_low"]).all()
    comparisons = pd.read_csv(finished / "comparisons.csv")
    assert comparisons["question"].tolist() == ["g + artist group factors vs g only (Table 3)",
                                                "MTN vs STN of the same tasks",
                                                "networks pooled with the classical baseline vs networks only "
                                                "(best +b case)",
                                                "best case vs classical baseline"]
    assert comparisons[["a", "b"]].values.tolist()[1] == ["mtn gm", "stn gm"]
    assert ((comparisons["low"] <= comparisons["log_loss_a_minus_b"])
            & (comparisons["log_loss_a_minus_b"] <= comparisons["high"])).all()
    assert comparisons["p_value"].between(0, 1, inclusive="right").all()
    html = (finished / "report.html").read_text()
    assert "Paired comparisons" in html
    assert (finished / "calibration.png").stat().st_size > 0 and "calibration.png" in html
    line = next(x for x in (finished / "report.md").read_text().splitlines() if "calibration of the chosen case" in x)
    temperature, before, after = re.search(r"temperature ([\d.]+) fitted .* log loss ([\d.]+) -> ([\d.]+), so",
                                           line).groups()
    chosen = results.loc[results[results["arch"] != "baseline"]["valid_log_loss"].idxmin()]
    assert float(temperature) > 0 and float(before) == pytest.approx(chosen["valid_log_loss"], abs=1e-4)
    test_before, test_after = map(float, re.search(r"on the test tracks, the temperature as the bundle applies it "
                                                   r"\(or not\): log loss ([\d.]+) -> ([\d.]+)", line).groups())
    assert test_before == pytest.approx(chosen["log_loss"], abs=1e-4)
    applied = load_bundle(finished / "bundle").model.temperature  # the fitted one only where it helped
    assert applied == (pytest.approx(float(temperature), rel=1e-3) if float(after) < float(before) else 1.0)
    assert (test_after == test_before) == (applied == 1.0)  # the test effect is the bundle's
    for heading in ("Table 3", "Table 4", "Figure 3", "Time per stage"):  # Table 5 needs --wstn
        assert heading in html
    timings = pd.read_csv(finished / "timings.csv").set_index("stage")
    for stage in ("read (or generate) the dataset", "decode and log-mel", "factor words and k-means dictionaries",
                  "LDA artist groups", "training steps", "checkpoints", "validation loss", "segment features",
                  "MLP training", "scoring", "classical baseline", "Dask: cluster start and stop"):
        assert timings.loc[stage, "wall_s"] > 0 and timings.loc[stage, "calls"] >= 1, stage
    assert (finished / "report.md").is_file() and (finished / "figure3.png").stat().st_size > 0
    # the bundle is the best deep case by validation log loss, and classifies audio files
    best = Case.of_row(*deep["valid_log_loss"].idxmin())
    predictor = Predictor(finished / "bundle", device="cpu")
    tasks = "".join(best.tasks)
    expected = [f"mtn-{tasks}"] * len(tasks) if best.arch == "mtn" else [f"stn-{t}" for t in tasks]
    assert [Path(ref.run_dir).name for ref in predictor.bundle.model.refs] == expected
    assert (predictor.bundle.model.baseline is not None) == best.plus_b
    audio = sorted((finished / "source" / "audio").glob("*.flac"))[0]
    out = predictor.predict_file(audio)
    assert set(out.probabilities) == set(pd.read_csv(finished / "tracks.csv")["genre"])
    assert abs(sum(out.probabilities.values()) - 1) < 1e-6


def test_rerun_skips_everything(finished, capsys):
    stamp = (finished / "results.csv").stat().st_mtime_ns
    runs = {p: p.stat().st_mtime_ns for p in (finished / "runs").rglob("weights.safetensors")}
    before = pd.read_csv(finished / "results.csv")
    run_experiment(SOURCE, finished, preset=Preset("quick", **TINY), tasks=TASKS, workers=2, progress=False)
    assert {p: p.stat().st_mtime_ns for p in runs} == runs
    assert (finished / "results.csv").stat().st_mtime_ns != stamp
    pd.testing.assert_frame_equal(pd.read_csv(finished / "results.csv"), before)


def test_other_factor_settings_retrain_only_the_networks_that_learned_from_them(finished, tmp_path, capsys):
    work = shutil.copytree(finished, tmp_path / "w")
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in (work / "runs").glob("*/weights.safetensors")}
    before = pd.read_csv(work / "results.csv", dtype={"tasks": str}).set_index(["arch", "tasks"])
    run_experiment(SOURCE, work, preset=Preset("quick", **{**TINY, "clusters": 8}), tasks=TASKS, workers=2,
                   progress=False)
    out = capsys.readouterr().out
    assert "m: was built with other settings (n_clusters: saved 16, asked 8); rebuilding" in out
    for run in ("stn-m", "mtn-gm"):
        assert f"{run}: trained on other targets of task m than the work directory has now; retraining" in out
        assert (work / "runs" / run / "weights.safetensors").stat().st_mtime_ns != stamps[run]
    assert "stn-g:" not in out  # the genre-only STN learned nothing from the factors: kept as it was
    assert (work / "runs" / "stn-g" / "weights.safetensors").stat().st_mtime_ns == stamps["stn-g"]
    after = pd.read_csv(work / "results.csv", dtype={"tasks": str}).set_index(["arch", "tasks"])
    pd.testing.assert_series_equal(after.loc[("stn", "g")], before.loc[("stn", "g")])
    pd.testing.assert_series_equal(after.loc[("baseline", "-")], before.loc[("baseline", "-")])


# SIGKILL to the whole process group (the CLI, the Dask scheduler and its workers) right after the runner
# has taken the first trained network: the grid is cut with some networks done and others not
KILL_AFTER_FIRST_NETWORK = """
    import os
    import signal

    from agf.experiments import runner

    as_completed = runner.as_completed

    def as_completed_then_kill(futures, *args, **kwargs):
        for future in as_completed(futures, *args, **kwargs):
            yield future
            if future.key.startswith("train-"):
                os.killpg(0, signal.SIGKILL)

    runner.as_completed = as_completed_then_kill
"""


def test_kill_9_mid_grid_then_rerun_gives_the_same_results(finished, tmp_path, run_killed_cli):
    """A grid killed with its cluster after its first trained network: the rerun keeps that network as it
    was and finishes the grid to the undisturbed run's results.csv."""
    workdir = tmp_path / "w"
    argv = ["experiment", SOURCE, "--workdir", str(workdir), "--tasks", TASKS, "--workers", "2", "--preset", "quick",
            *(f"--{k.replace('_', '-')}={v}" for k, v in TINY.items())]
    run_killed_cli(KILL_AFTER_FIRST_NETWORK, argv)
    assert not (workdir / "results.csv").exists()
    kept = {p: p.stat().st_mtime_ns for p in (workdir / "runs").glob("*/weights.safetensors")}
    # the network the runner took is on disk; not all 3 can be: the MTN trains after both STNs' worth of work
    assert 1 <= len(kept) < 3, f"killed after {sorted(p.parent.name for p in kept)}: not mid-grid"
    assert not list((workdir / "grid" / "quick" / "cases").glob("stn-*.json"))
    done = subprocess.run([sys.executable, "-m", "agf.cli", *argv], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    pd.testing.assert_frame_equal(pd.read_csv(workdir / "results.csv"), pd.read_csv(finished / "results.csv"))
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # resumed: what was done before the kill is not redone
