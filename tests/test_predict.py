"""`agf predict` and model bundles: agreement with the evaluation path, and every bad input."""

from __future__ import annotations

import copy
import hashlib
import json
import tracemalloc
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

import agf
from agf.audio.decode import load_audio
from agf.audio.segments import segment_starts
from agf.classifier.bundle import BundleError, load_bundle, write_bundle
from agf.classifier.networks import Embedder, NetworkRef, load_runs
from agf.classifier.predict import Predictor, predict
from agf.classifier.scoring import track_probabilities
from agf.classifier.settings import PredictSettings
from agf.cli import main
from agf.data.tables import load_tracks
from agf.errors import AgfError
from agf.models.dcnn import DCNN
from agf.models.input import network_input
from agf.models.multitask import MultiTaskDCNN
from agf.training.runs import TrainedRun
from agf.workdir import Workdir


def test_bundle_fingerprints_stay_the_sha256_of_each_runs_files(bundle):
    """The format bundles of every agf version are checked against: a run's settings then weights, hashed."""
    meta = json.loads((bundle / "bundle.json").read_text())
    for net in meta["networks"]:
        folder = bundle / "networks" / net["run"]
        files = (folder / "settings.json").read_bytes() + (folder / "weights.safetensors").read_bytes()
        assert net["fingerprint"] == hashlib.sha256(files).hexdigest()[:16]


def test_bundle_predictions_equal_the_evaluation_path(small_workdir, bundle):
    workdir, _ = small_workdir
    tracks = load_tracks(Workdir(workdir)).head(4)
    opened = load_bundle(bundle)
    expected = track_probabilities(workdir, opened.model, list(tracks["track_id"]), progress=False)
    got = predict(bundle, list(tracks["path"]), device="cpu", settings=PredictSettings(batch_size=16))
    for row, pred, exp in zip(tracks.itertuples(), got, expected):
        assert pred.ok and not pred.padded
        assert pred.n_segments == len(segment_starts(row.n_frames))
        p = np.array([pred.probabilities[g] for g in opened.model.genres])
        assert p.sum() == pytest.approx(1.0, abs=1e-9)
        # the store keeps float16 frames and features: agreement to that precision
        np.testing.assert_allclose(p, exp, atol=2e-2)
        assert pred.genre == opened.model.genres[int(p.argmax())]


def test_embedder_runs_channels_last_with_the_features_of_nchw_networks():
    """The Embedder's channels-last layout, its batch norms folded into the convs and an MTN's stem
    computed once for all its task networks (all faster on CPU) change the features by float
    rounding only."""
    torch.manual_seed(0)
    stn, mtn = DCNN(16).eval(), MultiTaskDCNN({"g": 16, "m": 40}).eval()
    for net in (stn, mtn):  # non-trivial BN statistics and affine weights, negative scales too, as after training
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
                m.weight.data.uniform_(-1.5, 1.5)
                m.bias.data.normal_()
    mean, std = np.random.default_rng(0).normal(-40, 5, 128), np.full(128, 12.0)
    runs = [TrainedRun(Path("runs/stn-g"), "stn", ("g",), ("a", "b"), mean, std, "segment",
                       networks={"g": copy.deepcopy(stn)}),
            TrainedRun(Path("runs/mtn-gm"), "mtn", ("g", "m"), ("a", "b"), mean, std, "segment",
                       multitask=copy.deepcopy(mtn))]
    refs = [NetworkRef(Path("runs/stn-g"), "g"), NetworkRef(Path("runs/mtn-gm"), "m"), NetworkRef(Path("runs/mtn-gm"), "g")]
    embedder = Embedder(runs, refs)
    assert embedder.networks[0].stem.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in embedder.modules())  # folded
    stem_calls = []
    embedder.networks[1].stem.register_forward_hook(lambda *_: stem_calls.append(1))
    segments = torch.randn(16, 43, 128) * 12 - 40  # dB, frames first
    x = network_input(segments, torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32),
                      level="segment")
    with torch.no_grad():
        expected = torch.cat([stn.embed(x), mtn.embed(x, "m"), mtn.embed(x, "g")], dim=1)
        torch.testing.assert_close(embedder(segments), expected, rtol=1e-4, atol=1e-5)
    assert len(stem_calls) == 1  # the MTN's stem, once for its two task networks


def test_bad_files_get_an_error_line_and_the_rest_go_on(shared_data, bundle, tmp_path, capsys):
    good = shared_data / "gtzan3/audio/classical.00000.mp3"
    corrupt = shared_data / "gtzan3/audio/jazz.00054.wav"
    folder = tmp_path / "a-folder"
    folder.mkdir()
    paths = [good, corrupt, folder, tmp_path / "missing.mp3", good]
    assert main(["predict", str(bundle), *map(str, paths), "--json", "--device", "cpu"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in paths]
    assert [("error" in line) for line in lines] == [False, True, True, True, False]
    assert "cannot decode" in lines[1]["error"] and "directory" in lines[2]["error"]
    assert "not found" in lines[3]["error"]
    assert set(lines[0]) == {"path", "genre", "probabilities", "n_segments", "padded"}
    assert lines[0] == lines[4] and sum(lines[0]["probabilities"].values()) == pytest.approx(1.0)


def test_a_clip_under_one_second_is_padded_with_its_floor(shared_data, bundle, tmp_path):
    y = load_audio(shared_data / "gtzan3/audio/jazz.00001.mp3")[22050 * 5: 22050 * 5 + 4410]  # 0.2 s
    clip = tmp_path / "short.wav"
    sf.write(clip, np.stack([y, 0.5 * y], axis=1), 22050)  # stereo, to be averaged
    [pred] = agf.predict(bundle, clip, device="cpu")  # the package-level API for notebooks
    assert pred.ok and pred.padded and pred.n_segments == 1
    # reference: librosa's log-mel of the mono clip, padded with its own minimum, through the networks
    mono = sf.read(clip, dtype="float32")[0].mean(axis=1)
    db = librosa.power_to_db(librosa.feature.melspectrogram(y=mono, sr=22050, n_fft=1024, hop_length=512,
                                                            n_mels=128), ref=1.0, top_db=80.0)
    assert db.shape[1] == 9
    padded = np.concatenate([db, np.full((128, 43 - db.shape[1]), db.min())], axis=1)
    opened = load_bundle(bundle)
    refs = list(opened.model.refs)
    with torch.no_grad():
        features = Embedder(load_runs(refs), refs)(torch.tensor(padded.T[None], dtype=torch.float32))  # frames first
        expected = torch.softmax(opened.model.mlp.eval()(features), dim=1)[0].numpy()
    got = np.array([pred.probabilities[g] for g in opened.model.genres])
    np.testing.assert_allclose(got, expected, atol=2e-3)


def test_a_long_file_is_streamed_in_bounded_memory(bundle, tmp_path):
    # 10 minutes of a tone with noise at 44.1 kHz stereo, as FLAC: decoded in 15-s blocks
    sr, seconds = 44100, 600
    rng = np.random.default_rng(0)
    t = np.arange(sr * seconds) / sr
    mono = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.1 * t)) + 0.05 * rng.normal(size=t.size)
    path = tmp_path / "long.flac"
    sf.write(path, np.stack([mono, mono], axis=1).astype(np.float32), sr, subtype="PCM_16")
    del t, mono
    predictor = Predictor(bundle, device="cpu", settings=PredictSettings(batch_size=128, block_seconds=15.0))
    tracemalloc.start()
    chunked = predictor.predict_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # reading the whole file would take 600 s x 44,100 x 2 channels x 4 B = 212 MB, its mono 22,050-Hz
    # signal 53 MB; a 15-s block is 5.3 MB read, so numpy's peak stays at a few blocks' worth
    assert peak < 30e6, f"numpy peak {peak / 1e6:.1f} MB"
    whole = Predictor(bundle, device="cpu", settings=PredictSettings(batch_size=512, block_seconds=10 * seconds)).predict_file(path)
    assert chunked.ok and whole.ok
    assert chunked.n_segments == whole.n_segments == len(segment_starts(1 + seconds * 22050 // 512))
    for genre, p in whole.probabilities.items():
        assert chunked.probabilities[genre] == pytest.approx(p, abs=1e-3)


def test_bundle_errors_are_clear(bundle, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BundleError, match="empty folder"):
        load_bundle(empty)
    with pytest.raises(BundleError, match="no such model bundle"):
        load_bundle(tmp_path / "nowhere")
    file = tmp_path / "file.agf"
    file.write_text("x")
    with pytest.raises(BundleError, match="is a file"):
        load_bundle(file)

    def copy(name: str):
        import shutil

        target = tmp_path / name
        shutil.copytree(bundle, target)
        return target

    newer = copy("newer")
    meta = json.loads((newer / "bundle.json").read_text())
    meta["format_version"] = 99
    (newer / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="format version 99.*upgrade agf"):
        load_bundle(newer)
    garbled = copy("garbled")
    (garbled / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="damaged"):
        load_bundle(garbled)
    truncated = copy("truncated")
    weights = next((truncated / "networks").glob("*/weights.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(BundleError, match="damaged"):
        load_bundle(truncated)
    no_mlp = copy("no-mlp")
    (no_mlp / "mlp.safetensors").unlink()
    with pytest.raises(BundleError, match="mlp.safetensors missing"):
        load_bundle(no_mlp)
    bad_mlp = copy("bad-mlp")
    (bad_mlp / "mlp.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(BundleError, match="damaged"):
        load_bundle(bad_mlp)
    assert issubclass(BundleError, AgfError)
    # the command line prints one clear line, no traceback
    assert main(["predict", str(empty), "x.mp3"]) == 2
    err = capsys.readouterr().err
    assert "empty folder" in err and "Traceback" not in err
    # writing over something that is not a bundle is refused
    with pytest.raises(BundleError, match="not a model bundle"):
        write_bundle(load_bundle(bundle).model, file, front_end=load_bundle(bundle).front_end)


def test_cc_music_files_of_every_rate_and_length(shared_data, bundle):
    files = sorted((shared_data / "cc_music").glob("*.ogg"))
    results = predict(bundle, files, device="cpu")
    assert len(results) == len(files)
    for r in results:
        assert r.ok, r.error
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
    info = pd.DataFrame([{"n": r.n_segments, "seconds": sf.info(f).duration} for r, f in zip(results, files)])
    # one segment per 21 frames (0.49 s) of audio, give or take the end-aligned last one
    np.testing.assert_allclose(info["n"], np.maximum(1, (info["seconds"] * 22050 / 512 - 43) / 21 + 1), atol=2.01)
