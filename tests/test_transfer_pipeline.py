"""Segment features, their cache, the transfer experiment, `agf transfer` and `agf evaluate`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn import metrics as skm

from agf.audio.segments import segment_starts
from agf.classifier import fit as fit_module
from agf.classifier.features import cache_dir, extract_features
from agf.classifier.networks import NetworkRef, load_runs, parse_networks
from agf.classifier.settings import MLPSettings
from agf.cli import main
from agf.data.tables import genre_classes, load_tracks, open_store
from agf.errors import AgfError, MissingStep
from agf.workdir import Workdir


def _expected_features(workdir, ref: NetworkRef, track_id: str) -> np.ndarray:
    """One track's features computed directly: cut, standardise, embed one segment at a time."""
    store = open_store(Workdir(workdir))
    mel = np.asarray(store.track(track_id), dtype=np.float64)
    run = load_runs([ref])[0]
    net = run.network(ref.task)
    out = []
    for s in segment_starts(len(mel)):
        seg = mel[s:s + 43].T
        if run.level == "segment":  # the default: each segment centred on its mean dB
            seg = seg - seg.mean()
        seg = (seg - run.mean[:, None]) / run.std[:, None]
        with torch.no_grad():
            out.append(net.embed(torch.tensor(seg[None, None], dtype=torch.float32))[0].numpy())
    return np.stack(out)


def test_features_are_cut_embedded_cached_and_invalidated(small_workdir):
    workdir, run = small_workdir
    refs = [NetworkRef(run, "g"), NetworkRef(run, "m")]
    feats = extract_features(workdir, refs, progress=False, batch_size=100)
    store = open_store(Workdir(workdir))
    expected_n = sum(len(segment_starts(int(n))) for n in store.n_frames)
    assert all(p.shape == (expected_n, 256) and p.dtype == np.float16 for p in feats.parts)
    track = store.track_ids[3]
    x, seg_track = feats.select([track])
    assert x.shape == (len(segment_starts(int(store.n_frames[3]))), 512) and (seg_track == 0).all()
    for k, ref in enumerate(refs):
        np.testing.assert_allclose(x[:, 256 * k: 256 * (k + 1)], _expected_features(workdir, ref, track),
                                   atol=2e-2, rtol=1e-2)
    # reuse: the cache file is not rewritten
    stamp = (cache_dir(workdir, refs[0]) / "features.npy").stat().st_mtime_ns
    again = extract_features(workdir, refs[:1], progress=False)
    assert (cache_dir(workdir, refs[0]) / "features.npy").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.parts[0], feats.parts[0])
    meta = json.loads((cache_dir(workdir, refs[0]) / "meta.json").read_text())
    assert meta["n_segments"] == expected_n and meta["hop"] == 21


def test_cache_is_rebuilt_when_the_run_changes(small_workdir, make_run, tmp_path):
    workdir, _ = small_workdir
    run = make_run(workdir, "d", "stn", seed=1)
    ref = NetworkRef(run, "d")
    before = np.array(extract_features(workdir, [ref], progress=False).parts[0][:50])
    shutil.rmtree(run)
    make_run(workdir, "d", "stn", seed=2)  # retrained: other weights in the same folder
    after = extract_features(workdir, [ref], progress=False)
    assert not np.allclose(before, after.parts[0][:50])
    x, _ = after.select([open_store(Workdir(workdir)).track_ids[0]])
    np.testing.assert_allclose(x, _expected_features(workdir, ref, open_store(Workdir(workdir)).track_ids[0]),
                               atol=2e-2, rtol=1e-2)


def test_network_references(small_workdir):
    workdir, run = small_workdir
    refs = parse_networks("stn:g, stn:m", workdir)
    assert refs == [NetworkRef(run, "g"), NetworkRef(run, "m")]
    assert parse_networks("stn:gm", workdir) == refs
    with pytest.raises(MissingStep, match="agf train"):
        parse_networks("mtn:gm", workdir)
    with pytest.raises(MissingStep, match="task 'e'"):
        parse_networks("stn:e", workdir)
    with pytest.raises(AgfError, match="ARCH:TASKS"):
        parse_networks("cnn:g", workdir)
    with pytest.raises(AgfError, match="twice"):
        parse_networks("stn:g,stn:g", workdir)


def test_validation_tracks_never_reach_the_mlp(small_workdir, monkeypatch):
    workdir, run = small_workdir
    refs = [NetworkRef(run, "g"), NetworkRef(run, "m")]
    feats = extract_features(workdir, refs, progress=False)
    tracks = load_tracks(Workdir(workdir))
    valid = tracks[tracks["split"] == "valid"]
    assert len(valid) > 0
    # poison every validation segment in the cache: NaN features would make NaN weights
    table = feats.table.set_index("track_id")
    for ref in refs:
        part = np.load(cache_dir(workdir, ref) / "features.npy", mmap_mode="r+")
        for t in valid["track_id"]:
            part[table.loc[t, "first"]: table.loc[t, "first"] + table.loc[t, "n_segments"]] = np.nan
        part.flush()
    seen = {}
    real_train = fit_module.train_mlps

    def spy(features, labels, columns, n_genres, settings, **kwargs):
        seen["features"], seen["labels"] = np.array(features), np.array(labels)
        return real_train(features, labels, columns, n_genres, settings, **kwargs)

    monkeypatch.setattr(fit_module, "train_mlps", spy)
    model = fit_module.transfer(workdir, refs, name="leak-check", settings=MLPSettings(epochs=2), progress=False)
    train = tracks[tracks["split"] == "train"]
    assert len(seen["features"]) == int(table.loc[train["track_id"], "n_segments"].sum())
    assert np.isfinite(seen["features"]).all()
    assert all(torch.isfinite(p).all() for p in model.mlp.parameters())
    # the labels are the training tracks' genres, segment by segment
    genres = list(genre_classes(tracks))
    expected = np.repeat([genres.index(g) for g in train["genre"]], table.loc[train["track_id"], "n_segments"])
    np.testing.assert_array_equal(seen["labels"], expected)
    # restore the cache for the other tests
    for ref in refs:
        (cache_dir(workdir, ref) / "meta.json").unlink()


def test_transfer_and_evaluate_commands(small_workdir, tmp_path, capsys):
    workdir, run = small_workdir
    bundle = tmp_path / "model.agf"
    assert main(["transfer", "--workdir", str(workdir), "--networks", "stn:g,stn:m", "--epochs", "2",
                 "--bundle", str(bundle)]) == 0
    out = capsys.readouterr().out
    folder = workdir / "transfer" / "stn-gm"
    for name in ("settings.json", "model.json", "mlp.safetensors", "val_probs.csv", "metrics.json",
                 "per_class.csv", "confusion.csv", "confusion.png"):
        assert (folder / name).is_file(), name
    probs = pd.read_csv(folder / "val_probs.csv", dtype={"track_id": str})
    tracks = load_tracks(Workdir(workdir))
    assert sorted(probs["track_id"]) == sorted(tracks.loc[tracks["split"] == "valid", "track_id"])
    genres = sorted(tracks["genre"].unique())
    p = probs[genres].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    p = p / p.sum(axis=1, keepdims=True)  # undo the CSV's 6-decimal rounding
    y = probs["genre"].map(genres.index).to_numpy()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=range(3)), abs=1e-4)
    assert metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, p.argmax(1)))
    assert metrics["macro_f1"] == pytest.approx(skm.f1_score(y, p.argmax(1), average="macro", zero_division=0))
    assert "macro F1" in out and str(bundle) in out

    # evaluate the model folder and the bundle: the same numbers
    for model, out_dir in ((folder, tmp_path / "eval-dir"), (bundle, tmp_path / "eval-bundle")):
        assert main(["evaluate", "--workdir", str(workdir), "--model", str(model), "--out", str(out_dir)]) == 0
        again = json.loads((out_dir / "metrics.json").read_text())
        assert again["log_loss"] == pytest.approx(metrics["log_loss"], abs=1e-6)
        assert (out_dir / "confusion.png").is_file()
    assert "log loss" in capsys.readouterr().out

    # the same name with other settings is refused rather than overwritten
    assert main(["transfer", "--workdir", str(workdir), "--networks", "stn:gm", "--epochs", "3"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_experiments_too_big_for_memory_train_in_groups_and_learn_the_same(small_workdir, tmp_path):
    """transfer_many cuts the experiments into groups whose features fit the budget; a case learns the
    same in a group of its own as with the others."""
    workdir, run = small_workdir
    copy = tmp_path / "w"
    shutil.copytree(workdir, copy, ignore=shutil.ignore_patterns("transfer"))
    experiments = {"only-g": [NetworkRef(run, "g")], "only-m": [NetworkRef(run, "m")],
                   "both": [NetworkRef(run, "g"), NetworkRef(run, "m")]}
    settings = MLPSettings(epochs=2, hop=43)
    together = fit_module.transfer_many(copy, experiments, settings=settings, progress=False)
    store, tracks = open_store(Workdir(copy)), load_tracks(Workdir(copy))
    todo = {name: (refs, {}) for name, refs in experiments.items()}
    n_train = int((tracks["split"] == "train").sum())
    one_network = fit_module._groups(todo, n_train, store, 43, max_bytes=1 << 40)
    assert one_network == [["only-g", "only-m", "both"]]
    per_network = np.mean([len(segment_starts(int(n), hop=43)) for n in store.n_frames]) * n_train * 256 * 2
    alone = fit_module._groups(todo, n_train, store, 43, max_bytes=int(per_network))
    assert alone == [["only-g"], ["only-m"], ["both"]]
    shutil.rmtree(Workdir(copy).transfer_dir("only-g").parent)
    apart = fit_module.transfer_many(copy, experiments, settings=settings, progress=False,
                                     max_feature_bytes=int(per_network))
    for name in experiments:
        for (key, a), b in zip(together[name].mlp.state_dict().items(), apart[name].mlp.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=f"{name} {key}")
