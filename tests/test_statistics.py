"""The classical track statistics as the transfer MLP's input (the grid's +b cases): computed as librosa
computes them, cached per track, standardised on the training tracks only, and read alike by the
scoring path and by `agf predict` from a bundle."""

from __future__ import annotations

import dataclasses
import json
import shutil

import librosa
import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

import agf.classifier.statistics as statistics_module
from agf.audio.decode import load_audio
from agf.audio.statistics import StatisticsSettings, track_statistics
from agf.classifier.bundle import BundleError, load_bundle, write_bundle
from agf.classifier.fit import transfer
from agf.classifier.model import load_model
from agf.classifier.networks import NetworkRef
from agf.classifier.predict import predict
from agf.classifier.scoring import track_probabilities
from agf.classifier.settings import MLPSettings, PredictSettings
from agf.classifier.statistics import StatisticsInput, statistic_names, statistics_of
from agf.data.tables import load_tracks, open_store
from agf.experiments.comparisons import paired_comparisons
from agf.experiments.grid import Case, paper_cases, plan_cases
from agf.workdir import Workdir


def test_statistics_are_librosas_mfcc_deltas_and_contrast(shared_data):
    path = shared_data / "gtzan3/audio/rock.00003.mp3"
    got = track_statistics(path, StatisticsSettings(n_mfcc=13))
    assert got.shape == (StatisticsSettings(n_mfcc=13).width,) == (66,)
    y = load_audio(path, sr=22050)
    mfcc = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=13, n_fft=1024, hop_length=512)  # librosa's own path
    contrast = librosa.feature.spectral_contrast(y=y, sr=22050, n_fft=1024, hop_length=512)
    delta = mfcc[:, 1:] - mfcc[:, :-1]
    expected = np.concatenate([mfcc.mean(1), mfcc.std(1), delta.mean(1), delta.std(1), contrast.mean(1),
                               contrast.std(1)])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    names = statistic_names(StatisticsSettings(n_mfcc=13))
    assert len(names) == 66 and names[0] == "mfcc1_mean" and names[13] == "mfcc1_std" and names[-1] == "contrast7_std"


def test_the_cache_is_computed_once_per_track_and_redone_when_the_audio_moves(small_workdir, tmp_path, monkeypatch):
    workdir, _ = small_workdir
    work = tmp_path / "w"  # the tracks of the session's work directory, with a cache of its own
    work.mkdir()
    for name in ("tracks.csv", "dataset.json", "source.json"):
        if (workdir / name).exists():
            shutil.copy(workdir / name, work / name)
    ids = list(load_tracks(Workdir(work))["track_id"])
    paths = load_tracks(Workdir(work)).set_index("track_id")["path"]
    first = statistics_of(work, ids[:3], progress=False)
    np.testing.assert_array_equal(first, np.stack([track_statistics(paths[t]) for t in ids[:3]]))  # exact: %.9g

    calls = []

    def counted(path, settings=StatisticsSettings()):
        calls.append(path)
        return track_statistics(path, settings)

    monkeypatch.setattr(statistics_module, "track_statistics", counted)
    again = statistics_of(work, [ids[2], ids[0], ids[4]], progress=False)
    assert calls == [paths[ids[4]]]  # only the track the cache lacked
    np.testing.assert_array_equal(again[:2], first[[2, 0]])
    cache = next(Workdir(work).statistics_dir.glob("*.csv"))
    table = pd.read_csv(cache, dtype={"track_id": str})
    table.loc[table["track_id"] == ids[0], "path"] = "elsewhere.mp3"
    table.to_csv(cache, index=False)
    statistics_of(work, ids[:2], progress=False)
    assert calls[1:] == [paths[ids[0]]]


def test_standardisation_is_scikit_learns_on_the_training_rows():
    rng = np.random.default_rng(0)
    raw = rng.normal(3.0, 2.0, size=(40, 94))
    raw[:, 5] = 7.0  # constant over the training tracks: divided by a floor, not by 0
    read = StatisticsInput.fit(raw, StatisticsSettings())
    expected = StandardScaler().fit_transform(raw)
    np.testing.assert_allclose(read.standardise(raw), expected, atol=1e-5)
    assert np.isfinite(read.standardise(raw + 1.0)).all()
    assert StatisticsInput.from_json(json.loads(json.dumps(read.to_json()))) == read


@pytest.fixture(scope="module")
def plus_b(small_workdir, tmp_path_factory):
    """A real +b model (STN g's features and the track statistics, a 2-epoch MLP) and its bundle."""
    workdir, run = small_workdir
    model = transfer(workdir, [NetworkRef(run, "g")], statistics=True, settings=MLPSettings(epochs=2), progress=False)
    path = tmp_path_factory.mktemp("plus-b") / "model.agf"
    write_bundle(model, path, front_end=open_store(Workdir(workdir)).settings)
    return model, path


def test_a_plus_b_model_reads_the_training_tracks_statistics_only(small_workdir, plus_b):
    workdir, _ = small_workdir
    model, _ = plus_b
    assert model.mlp.n_inputs == 256 + StatisticsSettings().width
    tracks = load_tracks(Workdir(workdir))
    train = tracks.loc[tracks["split"] == "train", "track_id"].tolist()
    raw = statistics_of(workdir, train, progress=False)
    np.testing.assert_allclose(model.statistics.mean, raw.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(model.statistics.std, raw.std(axis=0), rtol=1e-9)
    assert load_model(Workdir(workdir).transfer_dir("stn-g+b"), workdir=workdir).statistics == model.statistics


def test_a_plus_b_bundle_predicts_what_the_scoring_path_scores(small_workdir, plus_b):
    workdir, _ = small_workdir
    model, path = plus_b
    opened = load_bundle(path)
    assert opened.model.statistics == model.statistics
    tracks = load_tracks(Workdir(workdir)).head(4)
    expected = track_probabilities(workdir, model, list(tracks["track_id"]), progress=False)
    got = predict(path, list(tracks["path"]), device="cpu", settings=PredictSettings(batch_size=16))
    for pred, exp in zip(got, expected):
        assert pred.ok
        # float16 features in the store and the cache: agreement to that precision
        np.testing.assert_allclose([pred.probabilities[g] for g in model.genres], exp, atol=2e-2)
    # the statistics reach the MLP: standardised otherwise, they move the predictions
    other = dataclasses.replace(model, statistics=StatisticsInput(model.statistics.settings, model.statistics.mean,
                                                                  tuple(s * 10 for s in model.statistics.std)))
    moved = track_probabilities(workdir, other, list(tracks["track_id"]), progress=False)
    assert np.abs(moved - expected).max() > 1e-3


@pytest.mark.parametrize("change, match", [
    (lambda s: s.update(mean=s["mean"][:-1]), "statistics.mean must be a list of 94 finite numbers"),
    (lambda s: s["std"].__setitem__(3, 0.0), "statistics.std must be positive"),
    (lambda s: s["mean"].__setitem__(0, "x"), "statistics.mean must be a list"),
    (lambda s: s["settings"].update(n_mfcc=0), "statistics.settings out of bounds"),
    (lambda s: s.pop("std"), "statistics lacks 'std'"),
])
def test_damaged_statistics_in_a_bundle_are_refused_in_one_line(plus_b, tmp_path, change, match):
    _, path = plus_b
    target = tmp_path / "b.agf"
    shutil.copytree(path, target)
    meta = json.loads((target / "bundle.json").read_text())
    change(meta["statistics"])
    (target / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=match) as info:
        load_bundle(target)
    assert "\n" not in str(info.value)


def test_a_plus_b_bundle_without_its_statistics_is_refused(plus_b, tmp_path):
    """Dropping the statistics leaves an MLP wider than the networks' features: refused, not misread."""
    _, path = plus_b
    target = tmp_path / "b.agf"
    shutil.copytree(path, target)
    meta = json.loads((target / "bundle.json").read_text())
    meta["statistics"] = None
    (target / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"mlp.n_inputs is 350, not 256"):
        load_bundle(target)


def test_the_grid_plans_plus_b_cases_and_keeps_them_out_of_the_papers_tables():
    cases = plan_cases(("g", "m"), ("stn", "mtn"), statistics=True)
    assert [c.name for c in cases if c.statistics] == ["stn-g+b", "stn-gm+b", "mtn-gm+b"]
    assert [c.name for c in plan_cases(("g", "m"), ("stn", "mtn"))] == ["stn-g", "stn-m", "stn-gm", "mtn-gm"]
    assert Case.of_row("mtn", "gm+b") == Case("mtn", ("g", "m"), True)
    assert Case.of_row("stn", "g").name == "stn-g"
    results = pd.DataFrame({"arch": ["stn", "stn", "stn", "baseline"], "tasks": ["g", "g+b", "m", "-"]})
    assert paper_cases(results)["tasks"].tolist() == ["g", "m"]


def test_the_statistics_question_pairs_the_best_plus_b_case_with_the_same_case_without():
    def record(losses):
        p = np.exp(-np.asarray(losses))
        return {"track_id": [f"t{i}" for i in range(len(p))], "y_true": [0] * len(p), "y_pred": [0] * len(p),
                "p_true": p.tolist()}

    rows = [("stn", "g", 0.9, [0.9] * 6), ("stn", "gm", 0.8, [0.8] * 6), ("stn", "g+b", 0.7, [0.5] * 6),
            ("stn", "gm+b", 0.75, [0.6] * 6), ("baseline", "-", 1.0, [1.0] * 6)]
    results = pd.DataFrame([{"arch": a, "tasks": t, "n_tasks": len(t.split("+")[0]), "valid_log_loss": v,
                             "per_track": record(losses)} for a, t, v, losses in rows])
    table = paired_comparisons(results).set_index("question")
    question = table.loc["+ classical statistics vs networks only (best +b case)"]
    assert (question["a"], question["b"]) == ("stn g+b", "stn g")
    assert question["log_loss_a_minus_b"] == pytest.approx(0.5 - 0.9)
    assert table.loc["best case vs classical baseline", "a"] == "stn g+b"
    # the paper's question compares networks only
    assert table.loc["g + artist group factors vs g only (Table 3)", "a"] == "stn gm"
