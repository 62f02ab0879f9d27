"""The CUDA path, stage by stage, against the CPU: front end, k-means, training, features, transfer, predict.

Skipped without a CUDA device. On CUDA the networks run in bf16 autocast and the convolutions
use other kernels, so results are compared within tolerances stated per check; the store on the
device must give exactly the host store's crops.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agf.audio.mel import LogMel
from agf.classifier.bundle import write_bundle
from agf.classifier.features import extract_features
from agf.classifier.fit import transfer
from agf.classifier.networks import NetworkRef
from agf.classifier.predict import predict
from agf.classifier.settings import MLPSettings
from agf.data.prepare import prepare
from agf.data.tables import load_tracks, open_store
from agf.datasets.synthetic import SyntheticSettings, synthesize_track
from agf.factors.build import build_factors
from agf.factors.kmeans import fit_kmeans, inertia
from agf.factors.settings import FactorSettings
from agf.factors.targets import load_targets
from agf.training.loader import DeviceCrops
from agf.training.runs import load_run, train
from agf.training.settings import TrainOptions, train_settings_for

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU path is checked "
                                "where one is present (the CPU tests exercise the same code paths)")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("cuda") / "w"
    prepare("synthetic:48", work, jobs=2, progress=False)
    return work


def test_log_mel_on_cuda_equals_the_cpu(workdir):
    clips = torch.from_numpy(np.stack([synthesize_track(SyntheticSettings(n_tracks=6, duration_s=3.0), i)[0]
                                       for i in range(3)]))
    cpu = LogMel()(clips)
    gpu = LogMel().cuda()(clips.cuda()).cpu()
    assert (cpu - gpu).abs().max() < 1e-2  # dB; float32 FFTs of two libraries


def test_kmeans_on_cuda_reaches_the_cpus_inertia(workdir):
    points = np.random.default_rng(0).normal(size=(20_000, 25)).astype(np.float32)
    cpu = inertia(points, fit_kmeans(points, 64, seed=0, device="cpu"))
    gpu = inertia(points, fit_kmeans(points, 64, seed=0, device="cuda"))
    assert gpu / cpu < 1.02


def test_factors_train_transfer_and_predict_on_cuda_agree_with_the_cpu(workdir, tmp_path):
    assert build_factors(workdir, tasks="m", settings=FactorSettings(n_clusters=32), device="cuda",
                         progress=False) == {"m": "built"}
    targets = load_targets(workdir, "m")
    np.testing.assert_allclose(targets.targets.sum(axis=1), 1.0, atol=1e-5)
    runs = {}
    for device in ("cpu", "cuda"):
        for arch in ("stn", "mtn"):
            settings = train_settings_for(arch, "gm", epochs=2, batch_size=16)
            runs[device, arch] = train(workdir, tasks="gm", arch=arch, settings=settings, device=device,
                                       run_name=f"{arch}-gm-{device}", options=TrainOptions(progress=False))
    for arch in ("stn", "mtn"):
        cpu_log = np.loadtxt(runs["cpu", arch] / "log.csv", delimiter=",", skiprows=1, usecols=2)
        gpu_log = np.loadtxt(runs["cuda", arch] / "log.csv", delimiter=",", skiprows=1, usecols=2)
        assert np.isfinite(gpu_log).all()
        # same initial weights and crops; bf16 and other kernels: the first epoch's losses agree loosely
        np.testing.assert_allclose(gpu_log[: len(cpu_log) // 2], cpu_log[: len(cpu_log) // 2], rtol=0.2)
    # one trained network's features, computed on either device
    refs = [NetworkRef(runs["cuda", "stn"], "g"), NetworkRef(runs["cuda", "stn"], "m")]
    on_cpu = np.asarray(extract_features(workdir, refs, device="cpu", progress=False).parts[0], np.float32)
    (workdir / "features").rename(tmp_path / "cpu-features")  # force a rebuild on the GPU
    on_gpu = np.asarray(extract_features(workdir, refs, device="cuda", progress=False).parts[0], np.float32)
    assert np.abs(on_gpu - on_cpu).max() < 0.05 * np.abs(on_cpu).max()  # bf16 autocast on the GPU
    model = transfer(workdir, refs, settings=MLPSettings(epochs=3), device="cuda", progress=False)
    bundle = write_bundle(model, tmp_path / "bundle", front_end=open_store(workdir).settings)
    paths = list(load_tracks(workdir)["path"][:4])
    for a, b in zip(predict(bundle, paths, device="cpu"), predict(bundle, paths, device="cuda")):
        assert a.ok and b.ok
        p, q = np.array(list(a.probabilities.values())), np.array(list(b.probabilities.values()))
        assert np.abs(p - q).max() < 0.05
    assert load_run(runs["cuda", "mtn"]).tasks == ("g", "m")


def test_the_store_on_the_gpu_cuts_the_host_stores_crops(workdir):
    store = open_store(workdir)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(store), 64)
    starts = rng.integers(0, store.n_frames[rows] - store.settings.segment_frames + 1)
    on_gpu = DeviceCrops(store, torch.device("cuda")).crops(rows, starts).cpu().numpy()
    np.testing.assert_array_equal(on_gpu, store.crops(rows, starts, frames=store.settings.segment_frames))
