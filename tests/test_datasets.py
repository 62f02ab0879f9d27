"""Manifest and FMA readers on the real files, and the bad inputs they must survive."""

from __future__ import annotations

import ast

import pandas as pd
import pytest

from agf.datasets.fma import audio_path, read_fma
from agf.datasets.manifest import read_manifest
from agf.datasets.tracks import DatasetError


def test_gtzan3_manifest_loads_as_it_is(shared_data):
    ds = read_manifest(shared_data / "gtzan3/tracks.csv")
    assert len(ds.tracks) == 210 and not ds.problems
    assert {t.genre for t in ds.tracks} == {"classical", "jazz", "rock"}
    raw = pd.read_csv(shared_data / "gtzan3/tracks.csv")
    assert sum(t.artist is None for t in ds.tracks) == int(raw["artist"].isna().sum()) > 0
    assert all(t.path.is_relative_to((shared_data / "gtzan3").resolve()) for t in ds.tracks)
    # sturm_split: train/valid used, 'excluded' leaves the track outside the source's split
    assert sum(t.split is None for t in ds.tracks) == int((raw["sturm_split"] == "excluded").sum())


def test_fma_sample_genres_artists_and_official_split(shared_data):
    meta = shared_data / "fma_metadata_sample"
    raw = pd.read_csv(meta / "tracks.csv", index_col=0, header=[0, 1])
    genres = pd.read_csv(meta / "genres.csv", index_col=0)
    ds = read_fma(meta, "/audio", subset="full")
    no_top = int(raw[("track", "genre_top")].isna().sum())
    assert len(ds.tracks) == 682 - no_top and len(ds.problems) == no_top
    assert all("no top genre" in p.error for p in ds.problems)
    first = ds.tracks[0]
    assert first.track_id == "2" and first.genre == "Hip-Hop" and first.artist == "1"
    assert first.path.as_posix() == "/audio/000/000002.mp3"
    # sub-genres are genres_all turned into titles: track 135 is [58, 12, 45] in the file
    t135 = next(t for t in ds.tracks if t.track_id == "135")
    assert ast.literal_eval(raw.loc[135, ("track", "genres_all")]) == [58, 12, 45]
    assert t135.genre == "Rock" and t135.subgenres == ("Psych-Rock", "Rock", "Loud-Rock")
    assert genres.loc[45, "title"] == "Loud-Rock"
    counts = pd.Series([t.split for t in ds.tracks]).value_counts()
    raw_ok = raw[raw[("track", "genre_top")].notna()]
    assert counts["train"] == (raw_ok[("set", "split")] == "training").sum()
    assert counts["valid"] == (raw_ok[("set", "split")] == "validation").sum()
    assert counts["test"] == (raw_ok[("set", "split")] == "test").sum()


def test_fma_subsets_are_nested(shared_data):
    meta = shared_data / "fma_metadata_sample"
    sizes = [len(read_fma(meta, "/a", s).tracks) + len(read_fma(meta, "/a", s).problems) for s in ("small", "medium", "large", "full")]
    assert sizes == sorted(sizes) and sizes[-1] == 682 and sizes[0] == 58
    with pytest.raises(DatasetError, match="unknown FMA subset"):
        read_fma(meta, "/a", "huge")


def test_fma_unknown_genre_is_a_problem_not_a_crash(shared_data, tmp_path):
    meta = shared_data / "fma_metadata_sample"
    lines = (meta / "tracks.csv").read_text().splitlines(keepends=True)
    raw = pd.read_csv(meta / "tracks.csv", index_col=0, header=[0, 1])
    column = list(raw.columns).index(("track", "genre_top")) + 1
    # rewrite the first data row's top genre to a value genres.csv does not know
    row = next(csv_row for csv_row in pd.read_csv(meta / "tracks.csv", header=None, skiprows=3, nrows=1).values)
    assert row[column] == "Hip-Hop"
    lines[3] = lines[3].replace(",Hip-Hop,", ",Polka-Grindcore,", 1)
    (tmp_path / "tracks.csv").write_text("".join(lines))
    (tmp_path / "genres.csv").write_text((meta / "genres.csv").read_text())
    ds = read_fma(tmp_path, "/a", "full")
    assert any(p.track_id == "2" and "Polka-Grindcore" in p.error for p in ds.problems)
    assert len(ds.tracks) == len(read_fma(meta, "/a", "full").tracks) - 1


def test_fma_audio_path_layout():
    assert audio_path("/fma", 123456).as_posix() == "/fma/123/123456.mp3"
    assert audio_path("/fma", 2).as_posix() == "/fma/000/000002.mp3"


def test_manifest_bad_rows_become_problems(tmp_path):
    (tmp_path / "a.wav").touch()
    (tmp_path / "tracks.csv").write_text(
        "path,genre,artist,subgenres\n"
        "a.wav,rock,X,rock;punk\n"
        "../outside.wav,rock,Y,\n"
        "/etc/passwd,rock,Y,\n"
        "b.wav,,Z,\n"
        ",jazz,Z,\n"
    )
    ds = read_manifest(tmp_path / "tracks.csv")
    assert [t.track_id for t in ds.tracks] == ["a"]
    assert ds.tracks[0].subgenres == ("rock", "punk")
    errors = {p.path: p.error for p in ds.problems}
    assert "escapes the dataset root" in errors["../outside.wav"]
    assert "escapes the dataset root" in errors["/etc/passwd"]
    assert "no genre" in errors["b.wav"]
    assert "empty path" in errors[""]


def test_manifest_missing_columns_and_malformed_csv(tmp_path):
    bad = tmp_path / "cols.csv"
    bad.write_text("file,label\na.wav,rock\n")
    with pytest.raises(DatasetError, match="cols.csv: missing column"):
        read_manifest(bad)
    broken = tmp_path / "broken.csv"
    broken.write_text('path,genre,artist\n"a.wav,rock,X\n')  # truncated inside a quoted field
    with pytest.raises(DatasetError, match="broken.csv: malformed CSV"):
        read_manifest(broken)
    with pytest.raises(DatasetError, match="not found"):
        read_manifest(tmp_path / "absent.csv")


def test_truncated_manifest_keeps_complete_rows(shared_data, tmp_path):
    # a manifest cut mid-row, as an interrupted copy leaves it: complete rows are kept
    text = (shared_data / "gtzan3/tracks.csv").read_text()
    cut = text[: len(text) // 2]
    cut = cut[: cut.rfind(",")]  # stop in the middle of a row
    (tmp_path / "audio").symlink_to(shared_data / "gtzan3/audio")
    (tmp_path / "tracks.csv").write_text(cut)
    ds = read_manifest(tmp_path / "tracks.csv")
    full = read_manifest(shared_data / "gtzan3/tracks.csv")
    assert len(ds.tracks) == cut.count("\n") - 1 > 50  # every complete row after the header
    assert len(ds.problems) == 1 and "truncated" in ds.problems[0].error
    assert [t.track_id for t in ds.tracks] == [t.track_id for t in full.tracks][: len(ds.tracks)]


def test_fma_tracks_carry_their_album_id(shared_data):
    # the album split's groups: FMA's album.id
    dataset = read_fma(shared_data / "fma_metadata_sample", "/audio", "full")
    table = pd.read_csv(shared_data / "fma_metadata_sample/tracks.csv", header=[0, 1], index_col=0)
    albums = table[("album", "id")]
    assert all(t.album == str(albums[int(t.track_id)]) for t in dataset.tracks)
    assert len({t.album for t in dataset.tracks}) > 50
