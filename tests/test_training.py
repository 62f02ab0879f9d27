"""STN / MTN / wSTN training on a small synthetic store: reproducibility, resume, run files, bad input."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from agf.audio.mel import FrontEndSettings
from agf.data.store import StoreWriter
from agf.data.tables import open_store
from agf.errors import AgfError, MissingStep
from agf.models.dcnn import DCNN, count_parameters
from agf.training import loop
from agf.training.data import standardisation
from agf.training.runs import load_run, run_dir_for, train
from agf.training.settings import TrainOptions, train_settings_for
from agf.workdir import Workdir

GENRES = ("blues", "folk", "noise")


def make_workdir(root: Path, *, n_tracks: int = 24, short: int = 0, seed: int = 0) -> Path:
    """A work dir with a tiny store: genre-dependent spectra, 50-90 frames a track; 1/4 valid."""
    rng = np.random.default_rng(seed)
    rows = []
    with StoreWriter(root / "store", FrontEndSettings()) as writer:
        for i in range(n_tracks + short):
            genre = GENRES[i % 3]
            n = int(rng.integers(50, 90)) if i < n_tracks else 30
            mel = rng.normal(-40, 5, (n, 128)) + 20 * np.sin(np.arange(128) * (1 + i % 3) / 20)
            writer.append(f"t{i:03d}", mel.astype(np.float32))
            rows.append({"track_id": f"t{i:03d}", "genre": genre, "artist": f"a{i % 6}",
                         "split": "valid" if i % 4 == 3 else "train", "n_frames": n, "padded": 0, "subgenres": "",
                         "path": f"/nowhere/t{i:03d}.wav"})
    pd.DataFrame(rows).to_csv(root / "tracks.csv", index=False)
    return root


def tiny(arch: str, tasks: str, epochs: int = 2, **options):
    return train_settings_for(arch, tasks, epochs=epochs, batch_size=8, **options)


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(Path(run_dir) / "weights.safetensors")


@pytest.fixture
def workdir(tmp_path) -> Path:
    return make_workdir(tmp_path / "w")


def test_standardisation_matches_numpy(workdir):
    store = open_store(Workdir(workdir))
    rows = np.array([0, 2, 5])
    frames = np.concatenate([store.track(store.track_ids[r]).astype(np.float64) for r in rows])
    mean, std = standardisation(store, rows, level="absolute", chunk_frames=7)  # chunks smaller than a track
    np.testing.assert_allclose(mean, frames.mean(0), rtol=1e-6)
    np.testing.assert_allclose(std, frames.std(0), rtol=1e-5)


def test_stn_run_files_reproducible_and_loadable(tmp_path):
    a = train(make_workdir(tmp_path / "a"), tasks="g", arch="stn", settings=tiny("stn", "g"), device="cpu",
              progress=False)
    b = train(make_workdir(tmp_path / "b"), tasks="g", arch="stn", settings=tiny("stn", "g"), device="cpu",
              progress=False)
    assert a == run_dir_for(tmp_path / "a", "stn", ["g"]) == tmp_path / "a" / "runs" / "stn-g"
    assert sorted(p.name for p in a.iterdir()) == ["inputs.json", "log.csv", "settings.json", "weights.safetensors"]
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    log = pd.read_csv(a / "log.csv")
    assert list(log.columns) == ["epoch", "task", "train_loss", "valid_loss", "samples_per_s", "seconds"]
    assert list(log["epoch"]) == [1, 2] and log["valid_loss"].notna().all()
    # a copy holding only settings.json and weights.safetensors loads (what a model bundle carries)
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("settings.json", "weights.safetensors"):
        shutil.copy(a / name, copy / name)
    run = load_run(copy)
    assert (run.arch, run.tasks, run.genres) == ("stn", ("g",), GENRES)
    assert run.mean.shape == run.std.shape == (128,) and run.mean.dtype == np.float32
    store = open_store(Workdir(tmp_path / "a"))
    train_rows = [store.row_of[t] for t in pd.read_csv(tmp_path / "a" / "tracks.csv").query("split == 'train'")["track_id"]]
    # fitted on the training split only, each track centred on its mean dB as the default level asks
    tracks = [store.track(store.track_ids[r]).astype(np.float64) for r in train_rows]
    frames = np.concatenate([t - t.mean() for t in tracks])
    assert run.level == "segment"
    np.testing.assert_allclose(run.mean, frames.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run.std, frames.std(0), rtol=1e-5)
    net = DCNN(3)
    net.load_state_dict({k[2:]: v for k, v in wa.items() if k.startswith("g.")})
    x = torch.randn(5, 1, 128, 43)
    network = run.network("g")
    assert not network.training
    with torch.no_grad():
        torch.testing.assert_close(network.embed(x), net.eval().embed(x))
    assert run.n_params() == count_parameters(DCNN(3))
    # a finished run is returned as is
    mtime = (a / "weights.safetensors").stat().st_mtime_ns
    assert train(tmp_path / "a", tasks="g", arch="stn", device="cpu", progress=False) == a
    assert (a / "weights.safetensors").stat().st_mtime_ns == mtime


def test_resume_after_interruption_equals_uninterrupted(tmp_path, fake_targets):
    settings = tiny("stn", "gm", epochs=2)
    whole = train(make_workdir(tmp_path / "a"), tasks="gm", arch="stn", settings=settings, device="cpu",
                  progress=False, targets_loader=fake_targets)

    def interrupt(epoch):
        if epoch == 1:
            raise KeyboardInterrupt

    wd = make_workdir(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        train(wd, tasks="gm", arch="stn", settings=settings, device="cpu", targets_loader=fake_targets,
              on_epoch=interrupt, options=TrainOptions(checkpoint_seconds=0, progress=False))
    assert (run_dir_for(wd, "stn", "gm") / "checkpoint.pt").exists()
    resumed = train(wd, tasks="gm", arch="stn", settings=settings, device="cpu", progress=False,
                    targets_loader=fake_targets)
    assert not (resumed / "checkpoint.pt").exists()
    wa, wb = weights(whole), weights(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    la, lb = pd.read_csv(whole / "log.csv"), pd.read_csv(resumed / "log.csv")
    pd.testing.assert_frame_equal(la.drop(columns=["samples_per_s", "seconds"]), lb.drop(columns=["samples_per_s", "seconds"]))


def test_stacked_stns_learn_like_separate_ones(tmp_path, fake_targets):
    """Each network of a stacked STN run is its own: the g network of stn-gm starts where stn-g does, sees
    the same crops, and with dropout off (its only cross-network randomness) follows the same path.

    Weights are compared loosely: Adam divides by sqrt(v), so float rounding differences of
    near-zero gradients (grouped vs plain convs) grow to up to lr per step; the losses agree closely.
    """
    wd = make_workdir(tmp_path / "w")
    original = loop.build_model

    def without_dropout(*args):
        model = original(*args)
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        return model

    loop.build_model = without_dropout
    try:
        both = train(wd, tasks="gm", arch="stn", settings=tiny("stn", "gm"), device="cpu", progress=False,
                     targets_loader=fake_targets)
        alone = train(wd, tasks="g", arch="stn", settings=tiny("stn", "g"), device="cpu", progress=False)
    finally:
        loop.build_model = original
    log_both, log_alone = pd.read_csv(both / "log.csv"), pd.read_csv(alone / "log.csv")
    g_both = log_both[log_both["task"] == "g"]
    np.testing.assert_allclose(g_both["train_loss"], log_alone["train_loss"], rtol=1e-3)
    np.testing.assert_allclose(g_both["valid_loss"], log_alone["valid_loss"], rtol=1e-2)
    wb, wa = weights(both), weights(alone)
    for key in wa:
        if key.startswith("g.") and "num_batches" not in key:
            torch.testing.assert_close(wb[key], wa[key], rtol=0, atol=6 * 1e-3)  # 6 steps of at most lr
    assert any(k.startswith("m.") for k in wb)


def test_mtn_trains_k_times_the_epochs(workdir, fake_targets):
    run_dir = train(workdir, tasks=["m", "g"], arch="mtn", settings=tiny("mtn", "gm"), device="cpu", progress=False,
                    targets_loader=fake_targets)
    assert run_dir.name == "mtn-gm"
    log = pd.read_csv(run_dir / "log.csv")
    assert sorted(set(log["epoch"])) == [1, 2, 3, 4]  # 2 STN epochs x 2 tasks
    assert set(log["task"]) == {"g", "m"} and log["valid_loss"].notna().all()
    run = load_run(run_dir)
    assert run.tasks == ("g", "m")
    assert run.n_params() == count_parameters(DCNN(3)) + count_parameters(DCNN(40)) - (5 * 5 * 16 + 16)
    assert run.network("g").model.stem is run.network("m").model.stem  # one shared stem
    assert run.network("m").embed(torch.randn(2, 1, 128, 43)).shape == (2, 256)
    assert run.network("m")(torch.randn(2, 1, 128, 43)).shape == (2, 40)


def test_mtn_draws_tasks_uniformly():
    from agf.training.schedule import MultiTaskSchedule, SampleStream

    streams = [SampleStream(np.full(640, 100), np.random.default_rng(i), segment_frames=43) for i in range(4)]
    schedule = MultiTaskSchedule(streams, 64, np.random.default_rng(0))
    draws = [t for _ in range(200) for step in schedule.plan() for t in step.batches]
    counts = np.bincount(draws, minlength=4)
    assert len(draws) == 2000 and counts.min() > 430 and counts.max() < 570  # 500 each, sd ~19
    per_epoch = MultiTaskSchedule(streams, 64, np.random.default_rng(0), per_epoch=True)
    assert all(len({t for step in per_epoch.plan() for t in step.batches}) == 1 for _ in range(5))


def test_wstn_matches_parameter_count(workdir, fake_targets, capsys):
    run_dir = train(workdir, tasks="gm", arch="wstn", settings=tiny("wstn", "gm", epochs=1), device="cpu",
                    progress=False, targets_loader=fake_targets)
    out = capsys.readouterr().out
    target = count_parameters(DCNN(3)) + count_parameters(DCNN(40))
    assert f"{target:,}" in out
    run = load_run(run_dir)
    assert run_dir.name == "wstn-gm" and run.tasks == ("g",) and run.width > 1.3
    assert abs(run.n_params() - target) / target < 5e-3
    assert run.network("g").embed(torch.randn(2, 1, 128, 43)).shape[1] == round(256 * run.width)


def test_missing_data_and_factors(tmp_path, workdir):
    with pytest.raises(MissingStep, match="agf prepare"):
        train(tmp_path / "empty", tasks="g", arch="stn", device="cpu", progress=False)
    with pytest.raises(MissingStep, match=r"agf factors --workdir .* --tasks m"):
        train(workdir, tasks="g,m", arch="stn", settings=tiny("stn", "gm"), device="cpu", progress=False)
    with pytest.raises(AgfError, match="unknown task"):
        train(workdir, tasks="g,x", arch="stn", device="cpu", progress=False)
    with pytest.raises(AgfError, match="unknown architecture"):
        train(workdir, tasks="g", arch="cnn", device="cpu", progress=False)
    with pytest.raises(MissingStep, match="no finished training run"):
        load_run(tmp_path / "nothing")


def test_short_tracks_are_left_out(tmp_path):
    wd = make_workdir(tmp_path / "w", n_tracks=12, short=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_dir = train(wd, tasks="g", arch="stn", settings=tiny("stn", "g", epochs=1), device="cpu", progress=False)
    assert any("shorter than 43 frames" in str(w.message) for w in caught)
    assert (run_dir / "weights.safetensors").exists()


def test_nan_loss_stops_and_keeps_last_checkpoint(workdir, monkeypatch):
    calls = {"n": 0}
    original = loop.task_loss

    def poisoned(logits, targets):
        calls["n"] += 1
        loss = original(logits, targets)
        return loss * float("nan") if calls["n"] > 3 else loss  # epoch 1 has 3 steps (18 tracks / 8)

    monkeypatch.setattr(loop, "task_loss", poisoned)
    with pytest.raises(loop.TrainingDiverged, match="epoch 2.*checkpoint of epoch 1"):
        train(workdir, tasks="g", arch="stn", settings=tiny("stn", "g", epochs=3), device="cpu",
              options=TrainOptions(checkpoint_seconds=0, progress=False))
    run_dir = run_dir_for(workdir, "stn", "g")
    saved = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 1 and not (run_dir / "weights.safetensors").exists()
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())


def test_cli_trains_and_reports(workdir, capsys):
    from agf.cli import main

    assert main(["train", "--workdir", str(workdir), "--tasks", "g", "--arch", "stn", "--epochs", "1",
                 "--batch-size", "8", "--no-progress", "--device", "cpu"]) == 0
    assert "stn g, 562,979 parameters" in capsys.readouterr().out  # 566,320 - 13 * 257 for 3 genres
    assert main(["train", "--workdir", str(workdir), "--tasks", "g,q", "--arch", "stn"]) == 2
    assert "unknown task" in capsys.readouterr().err


def test_a_run_is_retrained_when_what_it_learned_from_changes(workdir, fake_targets):
    """Rebuilt factors make the runs that learned from them stale; a genre-only run is kept."""
    said: list[str] = []
    options = dict(device="cpu", progress=False, log=said.append)
    m = train(workdir, tasks="m", arch="stn", settings=tiny("stn", "m", epochs=1), targets_loader=fake_targets,
              **options)
    g = train(workdir, tasks="g", arch="stn", settings=tiny("stn", "g", epochs=1), **options)
    before_m, g_stamp = weights(m), (g / "weights.safetensors").stat().st_mtime_ns

    def rebuilt(wd, task):  # the factors rebuilt with other settings: other targets for the same tracks
        old = fake_targets(wd, task)
        return type(old)(task, old.track_ids, np.roll(old.targets, 1, axis=1), old.held_out)

    assert train(workdir, tasks="m", arch="stn", settings=tiny("stn", "m", epochs=1), targets_loader=fake_targets,
                 **options) == m and not said  # unchanged: reused, nothing said
    train(workdir, tasks="m", arch="stn", settings=tiny("stn", "m", epochs=1), targets_loader=rebuilt, **options)
    assert said == ["stn-m: trained on other targets of task m than the work directory has now; retraining"]
    assert any(not torch.equal(before_m[k], v) for k, v in weights(m).items())
    train(workdir, tasks="g", arch="stn", settings=tiny("stn", "g", epochs=1), targets_loader=rebuilt, **options)
    assert (g / "weights.safetensors").stat().st_mtime_ns == g_stamp and len(said) == 1


def test_a_checkpoint_made_from_other_inputs_is_not_resumed(workdir, fake_targets):
    settings = tiny("stn", "m", epochs=2)

    def interrupt(epoch):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(workdir, tasks="m", arch="stn", settings=settings, device="cpu", targets_loader=fake_targets,
              on_epoch=interrupt, options=TrainOptions(checkpoint_seconds=0, progress=False))
    assert (workdir / "runs" / "stn-m" / "checkpoint.pt").exists()
    other = pd.read_csv(workdir / "tracks.csv")
    other.loc[0, "split"] = "valid" if other.loc[0, "split"] == "train" else "train"  # a track changes sides
    other.to_csv(workdir / "tracks.csv", index=False)
    fresh = shutil.copytree(workdir, workdir.parent / "fresh", ignore=shutil.ignore_patterns("runs"))
    expected = train(fresh, tasks="m", arch="stn", settings=settings, device="cpu", progress=False,
                     targets_loader=fake_targets)
    said: list[str] = []
    run_dir = train(workdir, tasks="m", arch="stn", settings=settings, device="cpu", progress=False,
                    targets_loader=fake_targets, log=said.append)
    assert len(said) == 1 and "tracks" in said[0] and "retraining" in said[0]
    wa, wb = weights(expected), weights(run_dir)  # trained anew on the new split, not resumed from the old one
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_checkpoints_follow_the_interval_and_validation_its_epochs(workdir):
    """With a long interval only the last epoch is checkpointed; the validation loss comes every
    ``valid_every`` epochs and after the last; neither changes the weights."""
    saved: list[int] = []
    original = loop.Trainer.checkpoint

    def spy(self):
        saved.append(self.state.epoch)
        original(self)

    loop.Trainer.checkpoint = spy
    try:
        lazy = train(workdir, tasks="g", arch="stn", settings=tiny("stn", "g", epochs=5), device="cpu",
                     options=TrainOptions(checkpoint_seconds=3600, valid_every=2, progress=False), run_name="lazy")
        assert saved == [5]
        saved.clear()
        eager = train(workdir, tasks="g", arch="stn", settings=tiny("stn", "g", epochs=5), device="cpu",
                      options=TrainOptions(checkpoint_seconds=0, progress=False), run_name="eager")
        assert saved == [1, 2, 3, 4, 5]
    finally:
        loop.Trainer.checkpoint = original
    log = pd.read_csv(lazy / "log.csv")
    assert list(log["valid_loss"].notna()) == [False, True, False, True, True]
    wa, wb = weights(lazy), weights(eager)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_crops_cut_from_the_store_on_the_device_equal_those_read_from_disk(workdir, fake_targets):
    """The GPU path (the whole store as one tensor, crops cut by index arithmetic), run here on the
    CPU: the same batches, hence the same weights, as the threads reading the memmap."""
    runs = {}
    for mode in ("never", "always"):
        for arch, tasks in (("stn", "gm"), ("mtn", "gm")):
            runs[mode, arch] = train(workdir, tasks=tasks, arch=arch, settings=tiny(arch, tasks, epochs=1),
                                     device="cpu", targets_loader=fake_targets, run_name=f"{arch}-{mode}",
                                     options=TrainOptions(store_on_device=mode, progress=False))
    for arch in ("stn", "mtn"):
        wa, wb = weights(runs["never", arch]), weights(runs["always", arch])
        assert all(torch.equal(wa[k], wb[k]) for k in wa), arch
