"""Predictions do not move with a file's level: a real clip at -12, -6 and 0 dB gets one answer."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from agf.audio.frontend import file_log_mel
from agf.classifier.bundle import write_bundle
from agf.classifier.fit import transfer
from agf.classifier.networks import NetworkRef
from agf.classifier.settings import MLPSettings
from agf.cli import main
from agf.data.tables import open_store
from agf.models.input import network_input
from agf.training.runs import train
from agf.training.settings import train_settings_for
from agf.workdir import Workdir

GAINS_DB = (-12.0, -6.0, 0.0)


@pytest.fixture(scope="module")
def clips(shared_data, tmp_path_factory):
    """A real 30-s clip written at three levels, as float WAV (no requantisation noise)."""
    folder = tmp_path_factory.mktemp("levels")
    y, sr = sf.read(shared_data / "gtzan3/audio/rock.00003.mp3", dtype="float32")
    paths = []
    for gain in GAINS_DB:
        path = folder / f"rock{gain:+.0f}dB.wav"
        sf.write(path, y * np.float32(10 ** (gain / 20)), sr, subtype="FLOAT")
        paths.append(path)
    return paths


def test_a_gain_is_a_constant_in_the_log_mel(clips):
    """What the segment level relies on: -6 dB of gain is -6 dB in every bin, the 80-dB floor included."""
    quiet, loud = file_log_mel(clips[1]), file_log_mel(clips[2])
    np.testing.assert_allclose(quiet - loud, -6.0, atol=1e-3)


def test_segment_level_inputs_are_equal_at_any_gain(clips):
    mean, std = torch.zeros(128), torch.ones(128)
    segments = [torch.from_numpy(file_log_mel(p)[None, 500:543]) for p in clips]
    inputs = [network_input(s, mean, std, level="segment") for s in segments]
    torch.testing.assert_close(inputs[0], inputs[2], atol=1e-3, rtol=0)
    assert (network_input(segments[0], mean, std, level="absolute")
            - network_input(segments[2], mean, std, level="absolute")).abs().mean() > 11.9


def _bundle(small_workdir, level: str, folder):
    # the prepared tracks alone, so that the session's work directory keeps its own runs
    workdir = shutil.copytree(small_workdir, folder / f"work-{level}",
                              ignore=shutil.ignore_patterns("runs", "features", "transfer"))
    settings = dataclasses.replace(train_settings_for("stn", "g", epochs=1, batch_size=16), level=level)
    run = train(workdir, tasks="g", arch="stn", settings=settings, device="cpu", progress=False)
    model = transfer(workdir, [NetworkRef(run, "g")], name=f"gain-{level}", settings=MLPSettings(epochs=2),
                     progress=False)
    return write_bundle(model, folder / f"{level}.agf", front_end=open_store(Workdir(workdir)).settings)


def _predict(bundle, clips, capsys) -> np.ndarray:
    capsys.readouterr()
    assert main(["predict", str(bundle), *map(str, clips), "--json", "--device", "cpu"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return np.array([[line["probabilities"][g] for g in sorted(line["probabilities"])] for line in lines])


def test_predictions_agree_at_minus_12_minus_6_and_0_db(small_workdir, clips, tmp_path, capsys):
    workdir, _ = small_workdir
    segment = _predict(_bundle(workdir, "segment", tmp_path), clips, capsys)
    np.testing.assert_allclose(segment, segment[[2, 2, 2]], atol=1e-4)
    # the same network taking absolute levels moves with the gain: the check above can fail
    absolute = _predict(_bundle(workdir, "absolute", tmp_path), clips, capsys)
    assert np.abs(absolute - absolute[[2, 2, 2]]).max() > 1e-2
