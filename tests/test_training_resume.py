"""`agf train` on real GTZAN clips, killed with SIGKILL mid-run and rerun: it resumes to the same weights."""

from __future__ import annotations

import os
import subprocess
import sys
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


# a checkpoint after every epoch (the default is one a minute), so the kill below finds epoch 1's
TRAIN = ["train", "--tasks", "g", "--arch", "stn", "--epochs", "4", "--batch-size", "4", "--device", "cpu",
         "--no-progress", "--checkpoint-seconds", "0"]
# one thread, so float sums run in the same order in every process and the weights can be compared bit for bit
ONE_THREAD = {"OMP_NUM_THREADS": "1"}

# The killed run: SIGKILL right after the 2nd step of epoch 2, when epoch 1 is checkpointed and epoch 2 is not.
KILL_IN_EPOCH_2 = """
    import os
    import signal

    from agf.training.loop import Trainer

    train_epoch, step = Trainer.train_epoch, Trainer.step
    now = {"epoch": 0, "step": 0}

    def counting_epoch(self, epoch, total):
        now["epoch"], now["step"] = epoch, 0
        return train_epoch(self, epoch, total)

    def step_then_kill(self, x, targets):
        losses = step(self, x, targets)
        now["step"] += 1
        if (now["epoch"], now["step"]) == (2, 2):
            os.kill(os.getpid(), signal.SIGKILL)
        return losses

    Trainer.train_epoch, Trainer.step = counting_epoch, step_then_kill
"""


def agf_train(workdir: Path, run_name: str) -> None:
    done = subprocess.run([sys.executable, "-m", "agf.cli", *TRAIN, "--workdir", str(workdir), "--run-name", run_name],
                          check=False, capture_output=True, text=True, env={**os.environ, **ONE_THREAD}, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


def test_sigkill_mid_epoch_then_resume_gives_uninterrupted_weights(gtzan_workdir, run_killed_cli):
    """A run killed in the middle of epoch 2 resumes after epoch 1 (not from scratch) and ends with the
    uninterrupted run's weights, bit for bit."""
    agf_train(gtzan_workdir, "whole")
    run_dir = gtzan_workdir / "runs" / "killed"
    run_killed_cli(KILL_IN_EPOCH_2, [*TRAIN, "--workdir", str(gtzan_workdir), "--run-name", "killed"],
                   env=ONE_THREAD, timeout=240)
    assert not (run_dir / "weights.safetensors").exists()
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] == 1
    epoch_1 = pd.read_csv(run_dir / "log.csv")
    assert list(epoch_1["epoch"]) == [1]
    agf_train(gtzan_workdir, "killed")
    a = load_file(gtzan_workdir / "runs" / "whole" / "weights.safetensors")
    b = load_file(run_dir / "weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log = pd.read_csv(run_dir / "log.csv")
    assert list(log["epoch"]) == [1, 2, 3, 4]
    # epoch 1's row, its timings included, is the killed run's: resumed after epoch 1, not redone
    pd.testing.assert_frame_equal(log.head(1), epoch_1)
    run = load_run(run_dir)
    assert run.genres == ("classical", "jazz", "rock")
