"""The classical baseline and the +b cases: track statistics computed as librosa computes them and cached
per track, the baseline's predictions equal to scikit-learn's, log-linear pooling against hand-computed
values, and a +b model fitted on training and validation tracks only, scored alike by the evaluation
path and by `agf predict` from a bundle."""

from __future__ import annotations

import json
import shutil

import librosa
import numpy as np
import pandas as pd
import pytest

import agf.classifier.statistics as statistics_module
from agf.audio.decode import load_audio
from agf.audio.statistics import StatisticsSettings, track_statistics
from agf.classifier.baseline import ABSENT_LOGIT, BaselineModel, fit_baseline
from agf.classifier.bundle import BundleError, load_bundle, write_bundle
from agf.classifier.fit import transfer
from agf.classifier.model import load_model, save_model
from agf.classifier.networks import NetworkRef
from agf.classifier.pooled import pooled_with_baseline
from agf.classifier.predict import predict
from agf.classifier.scoring import track_probabilities
from agf.classifier.settings import MLPSettings, PredictSettings
from agf.classifier.statistics import statistic_names, statistics_of
from agf.data.tables import genre_indices, load_tracks, open_store
from agf.evaluation.metrics import log_loss
from agf.evaluation.pooling import WEIGHTS, cross_fitted, fit_weight, pool
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


def test_the_cache_is_computed_once_per_track_and_redone_when_the_audio_moves_or_changes(small_workdir, tmp_path,
                                                                                         monkeypatch):
    workdir, _ = small_workdir
    work = tmp_path / "w"  # the tracks and store of the session's work directory, with a cache of its own
    work.mkdir()
    for name in ("tracks.csv", "dataset.json", "source.json"):
        if (workdir / name).exists():
            shutil.copy(workdir / name, work / name)
    shutil.copytree(workdir / "store", work / "store")
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
    assert table.set_index("track_id").loc[ids[0], "source"] == open_store(Workdir(work)).sources[ids[0]]
    table.loc[table["track_id"] == ids[0], "path"] = "elsewhere.mp3"
    # as if ids[1]'s file had been replaced and decoded again: the store records other audio now
    table.loc[table["track_id"] == ids[1], "source"] = "1234:5678:0123456789abcdef"
    table.to_csv(cache, index=False)
    statistics_of(work, ids[:3], progress=False)
    assert calls[1:] == [paths[ids[0]], paths[ids[1]]]
    # a cache written before the signatures: its rows can tell nothing, and are kept
    pd.read_csv(cache, dtype={"track_id": str}).drop(columns="source").to_csv(cache, index=False)
    np.testing.assert_array_equal(statistics_of(work, ids[:3], progress=False), first)
    assert len(calls) == 3


def test_the_baseline_predicts_what_scikit_learn_predicts():
    """Its probabilities are scikit-learn's pipeline's, also with two genres (one logit) and with a genre
    no training track has (no probability)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    raw = rng.normal(3.0, 2.0, size=(60, StatisticsSettings().width))
    raw[:, 5] = 7.0  # constant over the training tracks: scikit-learn scales it by 1
    for labels, n_genres in ((rng.integers(0, 4, 60), 4), (rng.integers(0, 2, 60), 2),
                             (rng.choice([0, 2], 60), 3)):
        raw[:, 0] += labels  # something to learn
        model = fit_baseline(raw, labels, n_genres)
        reference = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(raw, labels)
        test = rng.normal(3.0, 2.0, size=(10, raw.shape[1]))
        expected = np.zeros((10, n_genres))
        expected[:, reference.classes_] = reference.predict_proba(test)
        np.testing.assert_allclose(model.probabilities(test), expected, atol=1e-9)
        assert BaselineModel.from_json(json.loads(json.dumps(model.to_json()))) == model
    assert model.intercept[1] == ABSENT_LOGIT


def test_pooling_against_hand_computed_distributions():
    a, b = np.array([[0.8, 0.2], [0.5, 0.5]]), np.array([[0.2, 0.8], [0.9, 0.1]])
    np.testing.assert_array_equal(pool(a, b, 0.0), a)
    np.testing.assert_array_equal(pool(a, b, 1.0), b)
    # the geometric mean of 0.8 and 0.2 equals that of 0.2 and 0.8: an even split
    np.testing.assert_allclose(pool(a, b, 0.5)[0], [0.5, 0.5], atol=1e-12)
    # sqrt(0.5 * 0.9) : sqrt(0.5 * 0.1) = 3 : 1
    np.testing.assert_allclose(pool(a, b, 0.5)[1], [0.75, 0.25], atol=1e-12)
    y = np.array([1, 1, 0, 0])
    sharp = np.array([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.7, 0.3]])
    blind = np.full((4, 2), 0.5)
    assert fit_weight(y, blind, sharp) == 1.0 and fit_weight(y, sharp, blind) == 0.0
    weight = fit_weight(y, blind, sharp)
    assert log_loss(y, pool(blind, sharp, weight)) <= min(log_loss(y, blind), log_loss(y, sharp))
    assert set(np.round(WEIGHTS, 2)) == {round(0.05 * k, 2) for k in range(21)}


def test_cross_fitting_pools_each_half_with_the_other_halfs_weight():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 40)
    a, b = rng.dirichlet(np.ones(3), 40), rng.dirichlet(np.ones(3), 40)
    got = cross_fitted(y, a, b, seed=7)
    halves = np.array_split(np.random.default_rng(7).permutation(40), 2)
    for held, fitted in ((halves[0], halves[1]), (halves[1], halves[0])):
        np.testing.assert_allclose(got[held], pool(a[held], b[held], fit_weight(y[fitted], a[fitted], b[fitted])))


@pytest.fixture(scope="module")
def plus_b(small_workdir, tmp_path_factory):
    """A real +b model (STN g's MLP, 2 epochs, pooled with the baseline) and its bundle."""
    workdir, run = small_workdir
    alone = transfer(workdir, [NetworkRef(run, "g")], name="plus-b-alone", settings=MLPSettings(epochs=2),
                     progress=False)
    model = pooled_with_baseline(workdir, alone, progress=False)
    save_model(model, Workdir(workdir).transfer_dir("plus-b"), workdir=workdir)
    path = tmp_path_factory.mktemp("plus-b") / "model.agf"
    write_bundle(model, path, front_end=open_store(Workdir(workdir)).settings)
    return alone, model, path


def test_a_plus_b_model_learns_from_training_and_validation_tracks_only(small_workdir, plus_b):
    workdir, _ = small_workdir
    alone, model, _ = plus_b
    tracks = load_tracks(Workdir(workdir))
    genres = model.genres
    train = tracks[tracks["split"] == "train"]
    expected = fit_baseline(statistics_of(workdir, list(train["track_id"]), progress=False),
                            genre_indices(train["genre"], genres, "train"), len(genres))
    assert model.baseline == expected  # fitted on the training tracks alone
    valid = tracks[tracks["split"] == "valid"]
    own = track_probabilities(workdir, alone, list(valid["track_id"]), progress=False)
    opinion = expected.probabilities(statistics_of(workdir, list(valid["track_id"]), progress=False))
    y_valid = genre_indices(valid["genre"], genres, "valid")
    assert model.baseline_weight == fit_weight(y_valid, own, opinion)  # and weighted on the validation tracks
    assert load_model(Workdir(workdir).transfer_dir("plus-b"), workdir=workdir).baseline == model.baseline


def test_a_plus_b_bundle_predicts_what_the_evaluation_path_scores(small_workdir, plus_b):
    workdir, _ = small_workdir
    alone, model, path = plus_b
    opened = load_bundle(path)
    assert opened.model.baseline == model.baseline and opened.model.baseline_weight == model.baseline_weight
    tracks = load_tracks(Workdir(workdir)).head(4)
    ids = list(tracks["track_id"])
    expected = track_probabilities(workdir, model, ids, progress=False)
    opinion = model.baseline.probabilities(statistics_of(workdir, ids, progress=False))
    np.testing.assert_allclose(expected, pool(track_probabilities(workdir, alone, ids, progress=False), opinion,
                                              model.baseline_weight))
    got = predict(path, list(tracks["path"]), device="cpu", settings=PredictSettings(batch_size=16))
    for pred, exp in zip(got, expected):
        assert pred.ok
        # float16 features in the store and the cache: agreement to that precision
        np.testing.assert_allclose([pred.probabilities[g] for g in model.genres], exp, atol=2e-2)


def edit_baseline(path, folder, change):
    target = folder / "b.agf"
    shutil.copytree(path, target)
    meta = json.loads((target / "bundle.json").read_text())
    change(meta["baseline"])
    (target / "bundle.json").write_text(json.dumps(meta))
    return target


@pytest.mark.parametrize("change, match", [
    (lambda b: b["model"].update(mean=b["model"]["mean"][:-1]), "baseline.model.mean must be a list of 94 finite"),
    (lambda b: b["model"]["scale"].__setitem__(3, 0.0), "baseline.model.scale must be positive"),
    (lambda b: b["model"]["coef"].pop(), r"baseline.model.coef must be a list of one row per genre \(3\)"),
    (lambda b: b["model"]["coef"][1].__setitem__(0, "x"), r"baseline.model.coef\[1\] must be a list"),
    (lambda b: b["model"]["statistics"].update(n_mfcc=0), "baseline.model.statistics out of bounds"),
    (lambda b: b.update(weight=1.5), "baseline.weight must be a number from 0 to 1"),
    (lambda b: b.pop("weight"), "baseline lacks 'weight'"),
    # a weight edited in bundle.json alone is refused by the record in the MLP's file
    (lambda b: b.update(weight=0.0 if b["weight"] else 1.0), r"baseline.weight is [01].0, but the MLP in mlp"),
])
def test_a_damaged_baseline_in_a_bundle_is_refused_in_one_line(plus_b, tmp_path, change, match):
    _, _, path = plus_b
    with pytest.raises(BundleError, match=match) as info:
        load_bundle(edit_baseline(path, tmp_path, change))
    assert "\n" not in str(info.value)


def test_a_plus_b_bundle_without_its_baseline_is_refused(plus_b, tmp_path):
    """Dropping the baseline from bundle.json would predict with the networks alone: the MLP's record says
    it was pooled, so the bundle is refused instead."""
    _, _, path = plus_b
    target = tmp_path / "b.agf"
    shutil.copytree(path, target)
    meta = json.loads((target / "bundle.json").read_text())
    meta["baseline"] = None
    (target / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="baseline differs from what the MLP in mlp.safetensors"):
        load_bundle(target)


def test_the_grid_plans_plus_b_cases_and_keeps_them_out_of_the_papers_tables():
    cases = plan_cases(("g", "m"), ("stn", "mtn"), plus_b=True)
    assert [c.name for c in cases if c.plus_b] == ["stn-g+b", "stn-gm+b", "mtn-gm+b"]
    assert [c.name for c in plan_cases(("g", "m"), ("stn", "mtn"))] == ["stn-g", "stn-m", "stn-gm", "mtn-gm"]
    assert Case.of_row("mtn", "gm+b") == Case("mtn", ("g", "m"), True)
    assert Case.of_row("mtn", "gm+b").networks_only == Case("mtn", ("g", "m"))
    assert Case.of_row("stn", "g").name == "stn-g"
    results = pd.DataFrame({"arch": ["stn", "stn", "stn", "baseline"], "tasks": ["g", "g+b", "m", "-"]})
    assert paper_cases(results)["tasks"].tolist() == ["g", "m"]


def test_the_pooling_question_pairs_the_best_plus_b_case_with_the_same_case_without():
    def record(losses):
        p = np.exp(-np.asarray(losses))
        return {"track_id": [f"t{i}" for i in range(len(p))], "y_true": [0] * len(p), "y_pred": [0] * len(p),
                "p_true": p.tolist()}

    rows = [("stn", "g", 0.9, [0.9] * 6), ("stn", "gm", 0.8, [0.8] * 6), ("stn", "g+b", 0.7, [0.5] * 6),
            ("stn", "gm+b", 0.75, [0.6] * 6), ("baseline", "-", 1.0, [1.0] * 6)]
    results = pd.DataFrame([{"arch": a, "tasks": t, "n_tasks": len(t.split("+")[0]), "valid_log_loss": v,
                             "per_track": record(losses)} for a, t, v, losses in rows])
    table = paired_comparisons(results).set_index("question")
    question = table.loc["networks pooled with the classical baseline vs networks only (best +b case)"]
    assert (question["a"], question["b"]) == ("stn g+b", "stn g")
    assert question["log_loss_a_minus_b"] == pytest.approx(0.5 - 0.9)
    assert table.loc["best case vs classical baseline", "a"] == "stn g+b"
    # the paper's question compares networks only
    assert table.loc["g + artist group factors vs g only (Table 3)", "a"] == "stn gm"


def test_agf_transfer_plus_b_writes_a_pooled_model_beside_the_networks_only_one(small_workdir, capsys):
    from agf.cli import main

    workdir, _ = small_workdir
    assert main(["transfer", "--workdir", str(workdir), "--networks", "stn:g", "--plus-b", "--epochs", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "transfer stn-g+b: networks stn-gm-g, pooled with the classical baseline" in out
    weight = float(out.split("baseline weight fitted on the validation tracks: ")[1].split()[0])
    pooled = load_model(Workdir(workdir).transfer_dir("stn-g+b"), workdir=workdir)
    alone = load_model(Workdir(workdir).transfer_dir("stn-g"), workdir=workdir)
    assert pooled.baseline is not None and pooled.baseline_weight == weight and alone.baseline is None
    assert (Workdir(workdir).transfer_dir("stn-g+b") / "val_probs.csv").is_file()
