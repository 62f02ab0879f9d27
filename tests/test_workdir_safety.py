"""Nothing lost, nothing stale: a work directory never writes over its inputs, one command writes it
at a time, the store refuses a broken index, and audio changed after `agf prepare` is noticed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from agf.audio.frontend import file_log_mel
from agf.audio.mel import FrontEndSettings
from agf.cli import main
from agf.data.store import MelStore, StoreError, StoreWriter
from agf.data.tables import load_tracks
from agf.datasets.tracks import safe_track_id
from agf.workdir import OWNED, Workdir


def _copied_manifest(shared_data, folder, n: int, *, genres=("blues", "classical", "country")):
    """A manifest of ``n`` real excerpts per genre, copied (not linked) so that a test may replace them."""
    rows = []
    for genre in genres:
        for path in sorted((shared_data / "gtzan10_excerpts/audio").glob(f"{genre}.*.wav"))[:n]:
            (folder / "audio").mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / "audio" / path.name)
            rows.append({"path": f"audio/{path.name}", "genre": genre, "artist": f"{genre}-{len(rows) % 2}"})
    pd.DataFrame(rows).to_csv(folder / "tracks.csv", index=False)
    return folder / "tracks.csv"


def test_a_work_directory_never_writes_over_the_source_manifest(shared_data, tmp_path, capsys):
    manifest = _copied_manifest(shared_data, tmp_path / "D", 2)
    before = manifest.read_bytes()
    assert main(["prepare", str(manifest), "--workdir", str(tmp_path / "D"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "writes over this input" in err and "tracks.csv" in err
    assert manifest.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "D").iterdir()) == ["audio", "tracks.csv"]  # no lock file left
    # a manifest beside the work files, not among them, is fine
    other = tmp_path / "D/my-tracks.csv"
    other.write_bytes(before)
    assert main(["prepare", str(other), "--workdir", str(tmp_path / "D"), "--no-progress", "--jobs", "1"]) == 0
    assert other.read_bytes() == before and manifest.read_bytes() != before  # D/tracks.csv is now the work table


def test_every_path_of_a_work_directory_is_one_it_owns(tmp_path):
    wd = Workdir(tmp_path)
    paths = [wd.lock, wd.dataset_json, wd.tracks_csv, wd.source_json, wd.errors_csv, wd.source_dir,
             wd.store_dir, wd.factors_dir("m"), wd.essentia_cache_dir, wd.run_dir("stn-g"), wd.run_lock("stn-g"),
             wd.features_dir(21, "x"), wd.features_lock(21, "x"), wd.transfer_dir("x"), wd.grid_dir("p"),
             wd.case_json("p", "c"), wd.cases_lock("p"), wd.results_csv, wd.report("report.md"),
             wd.report("figure3.png"), wd.report("timings.csv"), wd.report("report.html"), wd.report("comparisons.csv"),
             wd.report("calibration.png"), wd.report("per_track.csv"), wd.report("confusion.png"),
             wd.bundle_dir, wd.fold_dir(0), wd.seed_dir(1), wd.statistics_csv("d"), wd.statistics_lock()]
    assert all(wd.owns(p) for p in paths)
    assert {p.relative_to(tmp_path).parts[0] for p in paths} == set(OWNED)
    assert not wd.owns(tmp_path / "audio/x.mp3") and not wd.owns(tmp_path) and not wd.owns(tmp_path.parent / "store")


def _wait_for(path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_second_prepare_on_a_busy_work_directory_stops_and_the_store_stays_whole(shared_data, link_manifest,
                                                                                   tmp_path):
    # 30-s clips, so that the first is still decoding when the second starts
    table = pd.read_csv(shared_data / "gtzan3/tracks.csv").groupby("genre").head(10)
    table = table[table["track_id"] != "jazz.00054"]
    manifest = link_manifest(tmp_path / "D", table[["path", "genre", "artist"]].to_dict("records"),
                             {p: shared_data / "gtzan3" / p for p in table["path"]})
    work = tmp_path / "W"
    argv = [sys.executable, "-m", "agf", "prepare", str(manifest), "--workdir", str(work), "--jobs", "1",
            "--no-progress"]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(work / "store/index.csv")  # the first is decoding
    second = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 2, second.stdout
    assert second.stderr.count("\n") == 1 and "in use by `agf prepare` (pid" in second.stderr
    store = MelStore(work / "store")
    tracks = pd.read_csv(work / "tracks.csv", dtype={"track_id": str})
    assert len(store) == len(tracks) == len(table)
    for row in tracks.iloc[::7].itertuples():
        np.testing.assert_allclose(store.track(row.track_id).astype(np.float32), file_log_mel(row.path), atol=0.05)
    # the lock is released: a rerun goes through and has nothing left to decode
    assert main(["prepare", str(manifest), "--workdir", str(work), "--no-progress"]) == 0


def _store(folder, n: int = 3) -> None:
    with StoreWriter(folder, FrontEndSettings()) as w:
        for i in range(n):
            w.append(f"t{i}", np.full((50, 128), i, np.float16))


def test_a_store_written_by_two_writers_at_once_is_refused(tmp_path):
    _store(tmp_path)
    index = tmp_path / "index.csv"
    # what two interleaved writers leave: a second writer's lines that start where its own view ended
    index.write_text(index.read_text() + "t9,50,50,50,\n")
    with pytest.raises(StoreError, match=r"index.csv line 5 \(t9\).*do not follow.*delete its folder"):
        MelStore(tmp_path)
    with pytest.raises(StoreError):
        StoreWriter(tmp_path, FrontEndSettings())


def test_a_store_whose_frames_are_shorter_than_its_index_is_refused(tmp_path):
    _store(tmp_path)
    os.truncate(tmp_path / "mel.f16", 100 * 128 * 2)
    with pytest.raises(StoreError, match="mel.f16: 25600 bytes, but its index lists 150 frames"):
        MelStore(tmp_path)


def test_audio_replaced_or_deleted_after_prepare_is_redone_or_dropped(shared_data, tmp_path, capsys):
    manifest = _copied_manifest(shared_data, tmp_path / "D", 3)
    work = tmp_path / "W"
    assert main(["prepare", str(manifest), "--workdir", str(work), "--no-progress", "--jobs", "1"]) == 0
    fingerprint = MelStore(work / "store").fingerprint()
    capsys.readouterr()
    audio = tmp_path / "D/audio"
    replaced, deleted = audio / "blues.00001.wav", audio / "classical.00001.wav"
    shutil.copy(shared_data / "gtzan10_excerpts/audio/metal.00001.wav", replaced)
    deleted.unlink()
    assert main(["prepare", str(manifest), "--workdir", str(work), "--no-progress", "--jobs", "1"]) == 0
    assert "(1 decoded now, 1 of them because the file changed)" in capsys.readouterr().out
    store = MelStore(work / "store")
    np.testing.assert_allclose(store.track("blues.00001").astype(np.float32), file_log_mel(replaced), atol=0.05)
    assert store.fingerprint() != fingerprint  # so every network trained on the old frames is stale
    tracks = pd.read_csv(work / "tracks.csv", dtype={"track_id": str})
    errors = pd.read_csv(work / "errors.csv", dtype={"track_id": str}).set_index("track_id")["error"]
    assert "classical.00001" not in set(tracks["track_id"]) and "no longer used" in errors["classical.00001"]
    assert len(tracks) == 8


def test_a_dataset_only_touched_after_prepare_is_neither_decoded_nor_refused_again(shared_data, tmp_path, capsys):
    """Copying a dataset to another disk, or restoring it from a backup, gives every file a new
    modification time and the same bytes: that must not re-decode the store (and so retrain
    every network) nor refuse the tracks table, while a real edit still does."""
    manifest = _copied_manifest(shared_data, tmp_path / "D", 2)
    work = tmp_path / "W"
    assert main(["prepare", str(manifest), "--workdir", str(work), "--no-progress", "--jobs", "1"]) == 0
    fingerprint = MelStore(work / "store").fingerprint()
    later = time.time() + 3600
    for path in [manifest, *(tmp_path / "D/audio").iterdir()]:
        os.utime(path, (later, later))
    capsys.readouterr()
    assert len(load_tracks(work)) == 6  # the manifest's new time alone is no reason to refuse
    assert main(["prepare", str(manifest), "--workdir", str(work), "--no-progress", "--jobs", "1"]) == 0
    assert "(0 decoded now)" in capsys.readouterr().out
    assert MelStore(work / "store").fingerprint() == fingerprint  # so nothing learned from it is stale
    # the same size and a new time, but other bytes: an edit, decoded again
    edited = tmp_path / "D/audio/blues.00001.wav"
    data = bytearray(edited.read_bytes())
    data[-2000:] = bytes(2000)
    edited.write_bytes(bytes(data))
    assert main(["prepare", str(manifest), "--workdir", str(work), "--no-progress", "--jobs", "1"]) == 0
    assert "(1 decoded now, 1 of them because the file changed)" in capsys.readouterr().out


def test_a_manifest_edited_after_prepare_stops_the_next_stage_until_prepare_runs_again(shared_data, tmp_path,
                                                                                       capsys):
    manifest = _copied_manifest(shared_data, tmp_path / "D", 3)
    table = pd.read_csv(manifest)
    table["split"] = ["valid" if i % 3 == 0 else "train" for i in range(len(table))]
    table.to_csv(manifest, index=False)
    work = tmp_path / "W"
    assert main(["prepare", str(manifest), "--workdir", str(work), "--split", "source", "--no-progress"]) == 0
    table.loc[1, "split"] = "valid"  # a track moves to validation: networks trained on it must not be used
    table.to_csv(manifest, index=False)
    capsys.readouterr()
    assert main(["train", "--workdir", str(work), "--tasks", "g", "--arch", "stn", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"{manifest.resolve()} changed after `agf prepare`" in err
    assert main(["prepare", str(manifest), "--workdir", str(work), "--split", "source", "--no-progress"]) == 0
    assert load_tracks(work).set_index("track_id").loc["blues.00002", "split"] == "valid"


def test_bad_files_and_names_get_a_precise_line(shared_data, tmp_path):
    folder = tmp_path / "D"
    (folder / "audio").mkdir(parents=True)
    good = sorted((shared_data / "gtzan10_excerpts/audio").glob("rock.*.wav"))[:2]
    shutil.copy(good[0], folder / "audio/live, 1999.wav")
    shutil.copy(good[1], folder / "audio/live_ 1999.wav")
    (folder / "audio/empty.mp3").write_bytes(b"")
    (folder / "audio/notes.mp3").write_text("these are my notes, not audio")
    shutil.copy(shared_data / "gtzan3/audio/jazz.00054.wav", folder / "audio/jazz.00054.wav")
    names = ("live, 1999.wav", "live_ 1999.wav", "empty.mp3", "notes.mp3", "jazz.00054.wav")
    rows = [{"path": f"audio/{name}", "genre": "rock", "artist": artist} for artist, name in zip("ABABA", names)]
    pd.DataFrame(rows).to_csv(folder / "tracks.csv", index=False)
    for _ in range(2):  # a rerun must not trip on anything the first run stored
        assert main(["prepare", str(folder / "tracks.csv"), "--workdir", str(tmp_path / "W"), "--no-progress"]) == 0
    tracks = pd.read_csv(tmp_path / "W/tracks.csv", dtype={"track_id": str})
    assert sorted(tracks["track_id"]) == sorted([safe_track_id("live, 1999"), safe_track_id("live_ 1999")])
    assert len(set(tracks["track_id"])) == 2 and all("," not in t for t in tracks["track_id"])
    errors = pd.read_csv(tmp_path / "W/errors.csv").set_index("track_id")["error"]
    assert errors["empty"] == "empty file (0 bytes)"
    assert errors["notes"].startswith("cannot decode: not an MPEG stream (starts with b'thes')")
    assert errors["jazz.00054"].startswith("cannot decode: not a WAV file (no RIFF header)")


def test_a_semicolon_separated_manifest_gets_a_hint(tmp_path, capsys):
    (tmp_path / "tracks.csv").write_text("path;genre;artist\naudio/a.mp3;rock;A\n")
    assert main(["prepare", str(tmp_path / "tracks.csv"), "--workdir", str(tmp_path / "W")]) == 2
    assert "looks ';'-separated; a manifest is comma-separated" in capsys.readouterr().err
    assert not (tmp_path / "W").exists()


@pytest.mark.parametrize("make_folder", [False, True], ids=["missing", "empty"])
def test_a_wrong_fma_audio_folder_is_one_line(shared_data, tmp_path, capsys, make_folder):
    audio = tmp_path / "fma_small"
    if make_folder:
        audio.mkdir()
    source = f"fma:{shared_data / 'fma_metadata_sample'}:{audio}:small"
    assert main(["prepare", source, "--workdir", str(tmp_path / "W"), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert ("audio folder not found" if not make_folder else "holds none of the 58 tracks' files") in captured.err
    assert not (tmp_path / "W").exists()


def test_a_dataset_without_one_usable_track_is_an_error(tmp_path, capsys):
    (tmp_path / "D/audio").mkdir(parents=True)
    for name in ("a", "b"):
        (tmp_path / f"D/audio/{name}.mp3").write_bytes(b"")
    (tmp_path / "D/tracks.csv").write_text("path,genre,artist\naudio/a.mp3,rock,A\naudio/b.mp3,jazz,B\n")
    assert main(["prepare", str(tmp_path / "D/tracks.csv"), "--workdir", str(tmp_path / "W"), "--no-progress",
                 "--split", "random"]) == 2
    err = capsys.readouterr().err
    assert "no usable track, all 2 failed" in err and "empty file (0 bytes) (2 of 2)" in err
