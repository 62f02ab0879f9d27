"""The spectrogram store: crops are the right frames, and a torn write is recovered."""

from __future__ import annotations

import numpy as np
import pytest

from agf.audio.mel import FrontEndSettings
from agf.data.store import MelStore, StoreWriter
from agf.settings import SettingsMismatch


def fill(folder, lengths, seed=0):
    rng = np.random.default_rng(seed)
    mels = {f"t{i}": rng.normal(size=(n, 128)).astype(np.float16) for i, n in enumerate(lengths)}
    with StoreWriter(folder, FrontEndSettings()) as w:
        for tid, mel in mels.items():
            w.append(tid, mel)
    return mels


def test_tracks_and_crops_are_the_stored_frames(tmp_path):
    mels = fill(tmp_path, [50, 43, 200])
    store = MelStore(tmp_path)
    assert store.track_ids == ["t0", "t1", "t2"]
    for tid, mel in mels.items():
        np.testing.assert_array_equal(store.track(tid), mel)
    crops = store.crops(np.array([2, 0, 1]), np.array([157, 7, 0]))
    assert crops.shape == (3, 43, 128) and crops.dtype == np.float16
    np.testing.assert_array_equal(crops[0], mels["t2"][157:200])
    np.testing.assert_array_equal(crops[1], mels["t0"][7:50])
    np.testing.assert_array_equal(crops[2], mels["t1"])


def test_random_crops_stay_inside_their_track(tmp_path):
    mels = fill(tmp_path, [44, 43, 60])
    store = MelStore(tmp_path)
    rows = np.repeat(np.arange(3), 200)
    crops = store.random_crops(rows, np.random.default_rng(0))
    for row, crop in zip(rows, crops):
        track = mels[f"t{row}"]
        windows = np.lib.stride_tricks.sliding_window_view(track, (43, 128))[:, 0]
        assert any(np.array_equal(crop, w) for w in windows)


def test_interrupted_write_is_recovered(tmp_path):
    fill(tmp_path, [50, 60])
    # a kill between the frames and the index line: frames written, index not
    with open(tmp_path / "mel.f16", "ab") as f:
        f.write(np.ones((30, 128), np.float16).tobytes()[:1000])
    with open(tmp_path / "index.csv", "a") as f:
        f.write("t9,110,3")  # torn line, no newline
    with StoreWriter(tmp_path, FrontEndSettings()) as w:
        assert set(w.latest) == {"t0", "t1"}
        w.append("t2", np.full((45, 128), 7, np.float16))
    store = MelStore(tmp_path)
    assert store.track_ids == ["t0", "t1", "t2"]
    assert np.all(store.track("t2") == 7)
    assert (tmp_path / "mel.f16").stat().st_size == (50 + 60 + 45) * 128 * 2


def test_store_made_with_other_settings_is_refused(tmp_path):
    fill(tmp_path, [50])
    with pytest.raises(SettingsMismatch, match="n_mels"):
        StoreWriter(tmp_path, FrontEndSettings(n_mels=96))
