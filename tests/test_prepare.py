"""`agf prepare` end to end on real audio: bad inputs reported, the rest kept, kill -9 resumed."""

from __future__ import annotations

import json

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
    assert set(tracks["split"]) == {"train", "valid", "test"}
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


# Commits every COMMIT_EVERY tracks and never on the clock, so which tracks are durable at the kill is
# known exactly; SIGKILL right after the KILL_AFTER-th append, when the last few appended are not yet committed.
COMMIT_EVERY, KILL_AFTER = 10, 25
KILL_MID_STORE = f"""
    import math
    import os
    import signal

    from agf.data.store import StoreWriter

    init, append = StoreWriter.__init__, StoreWriter.append
    appended = 0

    def init_committing_by_count(self, folder, settings, **_):
        init(self, folder, settings, commit_every={COMMIT_EVERY}, commit_seconds=math.inf)

    def append_then_kill(self, *args, **kwargs):
        global appended
        append(self, *args, **kwargs)
        appended += 1
        if appended == {KILL_AFTER}:
            os.kill(os.getpid(), signal.SIGKILL)

    StoreWriter.__init__, StoreWriter.append = init_committing_by_count, append_then_kill
"""


def test_kill_9_then_rerun_resumes_without_redoing_or_corrupting(shared_data, link_manifest, tmp_path,
                                                                 run_killed_cli):
    """`agf prepare` killed with appended but uncommitted tracks: the rerun decodes only what was not
    committed, drops the half-written tail, and its store and tracks.csv equal an uninterrupted run's."""
    excerpts = sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))
    audio = {f"audio/{p.name}": p for p in excerpts}
    rows = [{"path": rel, "genre": rel.split("/")[1].split(".")[0], "artist": rel[6:-4]} for rel in audio]
    csv = link_manifest(tmp_path / "ds", rows, audio)
    work = tmp_path / "w"
    run_killed_cli(KILL_MID_STORE, ["prepare", str(csv), "--workdir", str(work), "--jobs", "1"], timeout=120)
    index = pd.read_csv(work / "store/index.csv")
    done_before = 20  # committed after the 10th and the 20th append; the 21st to 25th are lost
    assert len(index) == done_before, "the run must be killed part-way, with only the committed tracks indexed"
    # the uncommitted tracks' frames reached the file: the rerun must cut them off, not index past them
    end = int((index["offset"] + index["n_frames"]).max())
    assert (work / "store/mel.f16").stat().st_size > end * 128 * np.dtype(np.float16).itemsize
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


def test_test_fraction_0_prepares_the_two_way_split_of_older_work_directories(shared_data, link_manifest, tmp_path,
                                                                             capsys):
    excerpts = sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))[::6][:40]
    rows = [{"path": f"audio/{p.name}", "genre": p.name.split(".")[0], "artist": p.name[:-4]} for p in excerpts]
    csv = link_manifest(tmp_path / "D", rows, {f"audio/{p.name}": p for p in excerpts})
    for name, extra in (("three", []), ("two", ["--test-fraction", "0"])):
        assert main(["prepare", str(csv), "--workdir", str(tmp_path / name), "--no-progress", "--jobs", "1",
                     *extra]) == 0
    three = pd.read_csv(tmp_path / "three/tracks.csv")
    two = pd.read_csv(tmp_path / "two/tracks.csv")
    assert set(two["split"]) == {"train", "valid"} and set(three["split"]) == {"train", "valid", "test"}
    genres = set(two["genre"])  # 7, one with only two tracks (metal)
    assert set(two.loc[two["split"] == "valid", "genre"]) == genres
    assert set(three.loc[three["split"] == "test", "genre"]) == genres
    # metal's second track trains, so it has no validation track: said, not hidden
    assert set(three.loc[three["split"] == "valid", "genre"]) == genres - {"metal"}
    assert "warning: no validation track of genre(s) 'metal'" in capsys.readouterr().err
    # a work directory saved before the test side existed was split two ways: it stays usable as it is
    saved = json.loads((tmp_path / "two/dataset.json").read_text())
    del saved["settings"]["test_fraction"], saved["settings"]["folds"], saved["settings"]["fold"]
    (tmp_path / "two/dataset.json").write_text(json.dumps(saved))
    prepare(csv, tmp_path / "two", test_fraction=0, jobs=1, progress=False)
    with pytest.raises(SettingsMismatch, match="test_fraction"):
        prepare(csv, tmp_path / "two", jobs=1, progress=False)


def test_the_test_fraction_is_checked_before_any_work(tmp_path, capsys):
    (tmp_path / "tracks.csv").write_text("path,genre,artist\na.wav,rock,A\n")
    argv = ["prepare", str(tmp_path / "tracks.csv"), "--workdir", str(tmp_path / "W"), "--valid-fraction", "0.4",
            "--test-fraction", "0.6"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--valid-fraction 0.4 and --test-fraction 0.6 add up to 1" in err
    assert not (tmp_path / "W").exists()
