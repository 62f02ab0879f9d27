"""A training checkpoint cut short, a checkpoint holding code, an Essentia cache entry cut short:
each handled in one line, with real training runs (15 GTZAN clips, 2 epochs) and real Essentia."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from agf.errors import AgfError
from agf.factors.essentia_features import DescriptorCache, extract_all
from agf.training.checkpoint import CHECKPOINT, ForeignCheckpoint, load_checkpoint
from agf.training.runs import train
from agf.training.settings import TrainOptions, train_settings_for

SETTINGS = dict(arch="stn", tasks="g", epochs=2, batch_size=16)
CLI_SETTINGS = ["--arch", "stn", "--tasks", "g", "--epochs", "2", "--batch-size", "16"]


class Stop(Exception):
    """Ends a training run after its first epoch's checkpoint, as a kill would."""


def train_run(workdir: Path, run_name: str, *, stop_after: int | None = None, log=print) -> list[int]:
    """Train the 2-epoch run ``run_name`` (a checkpoint after every epoch); returns the epochs it trained."""
    trained = []

    def on_epoch(epoch: int) -> None:
        trained.append(epoch)
        if epoch == stop_after:
            raise Stop

    settings = train_settings_for(SETTINGS["arch"], SETTINGS["tasks"], epochs=SETTINGS["epochs"],
                                  batch_size=SETTINGS["batch_size"])
    try:
        train(workdir, tasks="g", arch="stn", settings=settings, device="cpu", run_name=run_name, log=log,
              options=TrainOptions(checkpoint_seconds=0, progress=False), on_epoch=on_epoch)
    except Stop:
        pass
    return trained


@pytest.fixture(scope="module")
def workdir(small_workdir) -> Path:
    return small_workdir[0]


def test_a_checkpoint_cut_short_is_dropped_and_the_run_trains_from_the_start(workdir):
    assert train_run(workdir, "whole") == [1, 2]
    run_dir = workdir / "runs" / "cut"
    assert train_run(workdir, "cut", stop_after=1) == [1]
    checkpoint = run_dir / CHECKPOINT
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 2])
    said: list[str] = []
    assert train_run(workdir, "cut", log=said.append) == [1, 2]  # epoch 1 again: from the start
    [line] = said
    assert str(checkpoint) in line and "damaged" in line and "from the start" in line and "\n" not in line
    assert not checkpoint.exists()
    whole, cut = load_file(workdir / "runs/whole/weights.safetensors"), load_file(run_dir / "weights.safetensors")
    for key in whole:
        torch.testing.assert_close(cut[key], whole[key], rtol=0, atol=0)


class RunsCode:
    """A pickled object whose unpickling calls ``open(marker, "w")``: loading it would create the marker."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_holding_code_is_refused_by_agf_train_in_one_line(workdir, tmp_path):
    run_dir = workdir / "runs" / "hostile"
    assert train_run(workdir, "hostile", stop_after=1) == [1]
    marker = tmp_path / "code-ran"
    checkpoint = run_dir / CHECKPOINT
    state = torch.load(checkpoint, weights_only=True)
    state["log"] = RunsCode(marker)  # a whole, valid archive: only its content is hostile
    torch.save(state, checkpoint)
    done = subprocess.run([sys.executable, "-m", "agf", "train", "--workdir", str(workdir), *CLI_SETTINGS,
                           "--run-name", "hostile", "--device", "cpu", "--no-progress", "--checkpoint-seconds", "0"],
                          capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2, done.stderr[-3000:]
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(checkpoint) in err and "not a checkpoint agf wrote" in err and "delete it" in err
    assert not marker.exists()
    assert checkpoint.exists() and not (run_dir / "weights.safetensors").exists()  # left for the user to look at


def test_files_that_are_no_torch_archive_are_refused_unloaded(tmp_path):
    marker = tmp_path / "code-ran"
    checkpoint = tmp_path / CHECKPOINT
    checkpoint.write_bytes(pickle.dumps({"epoch": 1, "model": RunsCode(marker)}))  # a bare pickle
    with pytest.raises(ForeignCheckpoint, match="not a torch.save archive"):
        load_checkpoint(tmp_path)
    assert not marker.exists()
    torch.save({"epoch": 1}, checkpoint)  # tensors and numbers only, but no training state
    with pytest.raises(ForeignCheckpoint, match="no training state agf recognises"):
        load_checkpoint(tmp_path)


@pytest.fixture(scope="module")
def clip(shared_data) -> str:
    return str(sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))[0])


def test_an_essentia_cache_entry_cut_short_is_extracted_again(clip, tmp_path):
    cache = DescriptorCache(tmp_path / "cache")
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not audio")
    tracks = [("blues/1", clip), ("bad", str(not_audio))]
    extract_all(tracks, cache, jobs=1, progress=False)
    descriptors, _ = cache.get("blues/1")
    [values] = (tmp_path / "cache").glob("*.npz")
    [error] = (tmp_path / "cache").glob("*.error.txt")
    values.write_bytes(values.read_bytes()[: values.stat().st_size // 2])
    error.write_text(error.read_text()[:10])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        extract_all(tracks, DescriptorCache(tmp_path / "cache"), jobs=1, progress=False)
    said = sorted(str(w.message) for w in caught)
    assert len(said) == 2 and all("\n" not in s and "damaged Essentia cache entry" in s for s in said)
    assert str(error) in said[0] and "'bad'" in said[0] and str(values) in said[1] and "'blues/1'" in said[1]
    again, _ = cache.get("blues/1")
    assert again.keys() == descriptors.keys()
    np.testing.assert_allclose(list(again.values()), list(descriptors.values()), rtol=1e-6, equal_nan=True)
    assert cache.get("bad")[0] is None and cache.get("bad")[1].startswith("essentia:")


def test_an_essentia_cache_entry_damaged_inside_is_removed_with_one_line(clip, tmp_path):
    cache = DescriptorCache(tmp_path / "cache")
    extract_all([("blues/1", clip)], cache, jobs=1, progress=False)
    [values] = (tmp_path / "cache").glob("*.npz")
    data = bytearray(values.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 64] = bytes(64)  # the archive's directory at the end is intact; a member is not
    values.write_bytes(bytes(data))
    assert cache.has("blues/1")
    with pytest.raises(AgfError, match="damaged Essentia cache entry of track 'blues/1'") as info:
        cache.get("blues/1")
    assert "\n" not in str(info.value) and str(values) in str(info.value)
    assert not values.exists() and not cache.has("blues/1")  # the next run extracts it again
