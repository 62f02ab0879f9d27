"""`agf train` on real GTZAN clips, killed with SIGKILL mid-run and rerun: it resumes to the same weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from agf.data.prepare import prepare
from agf.training.runs import load_run


@pytest.fixture(scope="module")
def gtzan_workdir(tmp_path_factory, shared_data, link_manifest) -> Path:
    """16 real GTZAN clips (classical / jazz / rock) prepared into a work dir."""
    folder = tmp_path_factory.mktemp("gtzan")
    tracks = pd.read_csv(shared_data / "gtzan3" / "tracks.csv")
    chosen = tracks[tracks["path"] != "audio/jazz.00054.wav"].groupby("genre").head(6).head(16)
    rows = [{"path": r.path, "genre": r.genre, "artist": r.artist} for r in chosen.itertuples()]
    csv = link_manifest(folder / "src", rows, {r.path: shared_data / "gtzan3" / r.path for r in chosen.itertuples()})
    prepare(csv, folder / "w", jobs=1, progress=False)
    return folder / "w"


def agf_train(workdir: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "agf.cli", "train", "--workdir", str(workdir), "--tasks", "g", "--arch", "stn",
           "--epochs", "4", "--batch-size", "4", "--device", "cpu", "--no-progress", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_sigkill_mid_epoch_then_resume_gives_uninterrupted_weights(gtzan_workdir):
    whole = agf_train(gtzan_workdir, "--run-name", "whole")
    out, err = whole.communicate(timeout=240)
    assert whole.returncode == 0, err
    run_dir = gtzan_workdir / "runs" / "killed"
    killed = agf_train(gtzan_workdir, "--run-name", "killed")
    deadline = time.monotonic() + 240
    while not (run_dir / "checkpoint.pt").exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # into the next epoch
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (run_dir / "weights.safetensors").exists()
    epoch = torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"]
    assert 1 <= epoch < 4
    rerun = agf_train(gtzan_workdir, "--run-name", "killed")
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err
    a = load_file(gtzan_workdir / "runs" / "whole" / "weights.safetensors")
    b = load_file(run_dir / "weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log = pd.read_csv(run_dir / "log.csv")
    assert list(log["epoch"]) == [1, 2, 3, 4]
    run = load_run(run_dir)
    assert run.genres == ("classical", "jazz", "rock")
