"""`agf prepare` end to end on real audio: bad inputs reported, the rest kept, kill -9 resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from agf.audio.frontend import file_log_mel
from agf.cli import main
from agf.data.prepare import prepare
from agf.data.store import MelStore
from agf.settings import SettingsMismatch


def test_gtzan3_keeps_209_tracks_and_names_the_corrupt_clip(shared_data, tmp_path, capsys):
    assert main(["prepare", str(shared_data / "gtzan3/tracks.csv"), "--workdir", str(tmp_path), "--jobs", "2"]) == 0
    tracks = pd.read_csv(tmp_path / "tracks.csv")
    errors = pd.read_csv(tmp_path / "errors.csv")
    assert len(tracks) == 209
    assert errors["track_id"].tolist() == ["jazz.00054"] and "jazz.00054.wav" in errors["path"][0]
    assert set(tracks["split"]) == {"train", "valid"}
    assert tracks["n_frames"].between(1285, 1300).mean() > 0.9  # 30-s clips: 1 + 661,500 / 512 ~ 1293 frames
    assert "209 usable tracks" in capsys.readouterr().out
    # the stored frames are the front end's output, to float16 precision
    store = MelStore(tmp_path / "store")
    row = tracks.iloc[5]
    expected = file_log_mel(row["path"])
    np.testing.assert_allclose(store.track(row["track_id"]).astype(np.float32), expected, atol=0.05)


@pytest.fixture
def bad_and_good(shared_data, link_manifest, tmp_path):
    excerpts = sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))[:6]
    audio = {f"audio/{p.name}": p for p in excerpts}
    audio["audio/jazz.00054.wav"] = shared_data / "gtzan3/audio/jazz.00054.wav"
    folder = tmp_path / "ds"
    rows = [{"path": rel, "genre": rel.split("/")[1].split(".")[0], "artist": "A"} for rel in audio]
    csv = link_manifest(folder, rows, audio)
    sf.write(folder / "audio/empty.wav", np.zeros(0, np.float32), 22050)
    sf.write(folder / "audio/silent.wav", np.zeros(44100, np.float32), 22050)
    y, _ = sf.read(excerpts[0], dtype="float32")
    sf.write(folder / "audio/short.flac", y[: int(0.4 * 22050)], 22050)
    extra = pd.DataFrame([
        {"path": "audio/empty.wav", "genre": "rock", "artist": "B"},
        {"path": "audio/silent.wav", "genre": "rock", "artist": "B"},
        {"path": "audio/short.flac", "genre": "blues", "artist": "C"},
        {"path": "audio/missing.mp3", "genre": "rock", "artist": "B"},
        {"path": "../../escape.wav", "genre": "rock", "artist": "B"},
        {"path": "audio/nolabel.wav", "genre": "", "artist": "B"},
    ])
    pd.concat([pd.read_csv(csv), extra]).to_csv(csv, index=False)
    return csv


def test_every_bad_input_gets_a_line_and_the_rest_are_kept(bad_and_good, tmp_path):
    summary = prepare(bad_and_good, tmp_path / "w", jobs=1, progress=False)
    errors = pd.read_csv(tmp_path / "w/errors.csv", keep_default_na=False).set_index("track_id")["error"]
    assert "cannot decode" in errors["jazz.00054"]
    assert "no audio samples" in errors["empty"]
    assert "silence" in errors["silent"]
    assert "not found" in errors["missing"]
    assert "escapes the dataset root" in errors["escape"]
    assert "no genre" in errors["nolabel"]
    tracks = pd.read_csv(tmp_path / "w/tracks.csv").set_index("track_id")
    assert len(tracks) == summary.n_tracks == 7  # 6 excerpts + the short clip
    # a 0.4-s clip is padded to one 43-frame segment and flagged
    assert tracks.loc["short", "padded"] == 1 and tracks.loc["short", "n_frames"] == 43
    assert tracks.drop("short")["padded"].sum() == 0


def test_other_settings_are_never_silently_reused(bad_and_good, tmp_path):
    prepare(bad_and_good, tmp_path / "w", jobs=1, progress=False)
    with pytest.raises(SettingsMismatch, match="split"):
        prepare(bad_and_good, tmp_path / "w", split="random", jobs=1, progress=False)


def test_kill_9_then_rerun_resumes_without_redoing_or_corrupting(shared_data, link_manifest, tmp_path):
    excerpts = sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))
    audio = {f"audio/{p.name}": p for p in excerpts}
    rows = [{"path": rel, "genre": rel.split("/")[1].split(".")[0], "artist": rel[6:-9]} for rel in audio]
    csv = link_manifest(tmp_path / "ds", rows, audio)
    work = tmp_path / "w"
    cmd = [sys.executable, "-m", "agf.cli", "prepare", str(csv), "--workdir", str(work), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = work / "store/index.csv"
    deadline = time.time() + 120
    while time.time() < deadline:
        if index.exists() and index.read_text().count("\n") > 20:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = index.read_text().count("\n") - 1
    assert 20 <= done_before < len(excerpts), "the run must be killed part-way"
    assert not (work / "tracks.csv").exists()

    summary = prepare(csv, work, jobs=1, progress=False)
    assert summary.n_new == len(excerpts) - done_before  # nothing decoded twice
    store = MelStore(work / "store")
    assert sorted(store.track_ids) == sorted(p.stem for p in excerpts)
    fresh = prepare(csv, tmp_path / "fresh", jobs=1, progress=False)
    assert fresh.n_tracks == summary.n_tracks
    reference = MelStore(tmp_path / "fresh/store")
    for tid in reference.track_ids:
        np.testing.assert_array_equal(store.track(tid), reference.track(tid))
    resumed, uninterrupted = pd.read_csv(work / "tracks.csv"), pd.read_csv(tmp_path / "fresh/tracks.csv")
    pd.testing.assert_frame_equal(resumed.drop(columns="path"), uninterrupted.drop(columns="path"))
