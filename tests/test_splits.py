"""Splits: the artist-disjoint default never puts an artist on both sides; all are stratified."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from agf.data.splits import SplitError, assign_splits, check_split
from agf.datasets.manifest import read_manifest
from agf.datasets.tracks import Track


def toy_tracks(n_artists=40, per_artist=5, n_genres=4) -> list[Track]:
    return [Track(f"t{a}-{i}", Path(f"{a}-{i}.wav"), f"g{a % n_genres}", f"artist{a}")
            for a in range(n_artists) for i in range(per_artist)] + \
           [Track(f"anon{i}", Path(f"anon{i}.wav"), f"g{i % n_genres}") for i in range(20)]


def test_artist_split_is_artist_disjoint_and_stratified():
    tracks = toy_tracks()
    split = assign_splits(tracks, strategy="artist", valid_fraction=0.15, seed=3)
    sides = {}
    for t in tracks:
        if t.artist:
            sides.setdefault(t.artist, set()).add(split[t.track_id])
    assert all(len(s) == 1 for s in sides.values())
    valid = [t for t in tracks if split[t.track_id] == "valid"]
    assert 0.10 < len(valid) / len(tracks) < 0.20
    assert set(Counter(t.genre for t in valid)) == {"g0", "g1", "g2", "g3"}


def test_random_split_is_the_papers_stratified_85_15():
    tracks = toy_tracks()
    split = assign_splits(tracks, strategy="random", valid_fraction=0.15, seed=0)
    valid = [t for t in tracks if split[t.track_id] == "valid"]
    assert len(valid) == round(0.15 * len(tracks))
    per_genre = Counter(t.genre for t in valid)
    assert max(per_genre.values()) - min(per_genre.values()) <= 1
    # the paper's split leaks artists into validation: it is expected here
    assert any(split[f"t{a}-0"] != split[f"t{a}-1"] for a in range(40))


def test_splits_are_seeded():
    tracks = toy_tracks()
    assert assign_splits(tracks, seed=1) == assign_splits(tracks, seed=1)
    assert assign_splits(tracks, seed=1) != assign_splits(tracks, seed=2)


def test_single_track_genre_stays_in_training_and_source_split():
    tracks = toy_tracks() + [Track("lonely", Path("x.wav"), "polka", "solo")]
    assert assign_splits(tracks)["lonely"] == "train"
    with pytest.raises(SplitError, match="no split of its own"):
        assign_splits(tracks, strategy="source")


def test_artist_split_on_gtzan3(shared_data):
    tracks = read_manifest(shared_data / "gtzan3/tracks.csv").tracks
    split = assign_splits(tracks)
    by_artist = {}
    for t in tracks:
        if t.artist:
            by_artist.setdefault(t.artist, set()).add(split[t.track_id])
    assert all(len(s) == 1 for s in by_artist.values())
    assert {t.genre for t in tracks if split[t.track_id] == "valid"} == {"classical", "jazz", "rock"}


def _tracks(spec: dict[str, list[str]], per_artist: int = 3) -> list[Track]:
    """Tracks of ``spec`` (genre -> its artists), ``per_artist`` tracks each."""
    return [Track(f"{g}-{a}-{i}", Path(f"{g}-{a}-{i}.wav"), g, a)
            for g, artists in spec.items() for a in artists for i in range(per_artist)]


def _check_disjoint(tracks, split):
    sides = {}
    for t in tracks:
        sides.setdefault(t.artist, set()).add(split[t.track_id])
    assert all(len(s) == 1 for s in sides.values())


@pytest.mark.parametrize("seed", range(5))
def test_a_genre_by_one_artist_stays_in_training_with_a_warning(seed):
    tracks = _tracks({"rock": ["r1"], "jazz": ["j1", "j2", "j3"], "pop": ["p1", "p2", "p3"]}, per_artist=4)
    with pytest.warns(UserWarning, match="genre 'rock': all its tracks are by one artist"):
        split = assign_splits(tracks, strategy="artist", seed=seed)
    _check_disjoint(tracks, split)
    sides = {(t.genre, split[t.track_id]) for t in tracks}
    assert ("rock", "valid") not in sides and ("rock", "train") in sides
    assert {("jazz", "valid"), ("pop", "valid"), ("jazz", "train"), ("pop", "train")} <= sides


@pytest.mark.parametrize("seed", range(8))
def test_a_small_balanced_set_validates_every_genre_and_trains_on_every_genre(seed):
    tracks = _tracks({g: [f"{g}{k}" for k in range(2)] for g in ("rock", "jazz", "pop", "folk")})
    split = assign_splits(tracks, strategy="artist", valid_fraction=0.15, seed=seed)
    _check_disjoint(tracks, split)
    for side in ("train", "valid"):
        assert {t.genre for t in tracks if split[t.track_id] == side} == {"rock", "jazz", "pop", "folk"}, side


@pytest.mark.parametrize("spec", [{"rock": ["a"], "jazz": ["a"]}, {"rock": ["a"], "jazz": ["b"], "pop": ["c"]}],
                         ids=["one artist", "one artist per genre"])
def test_an_artist_split_that_can_validate_no_genre_is_refused_before_decoding(spec, tmp_path):
    rows = [{"path": f"{t.track_id}.wav", "genre": t.genre, "artist": t.artist} for t in _tracks(spec)]
    pd.DataFrame(rows).to_csv(tmp_path / "tracks.csv", index=False)
    dataset = read_manifest(tmp_path / "tracks.csv")  # the audio files do not even exist: nothing is decoded
    with pytest.raises(SplitError, match="use --split random"):
        check_split(dataset, "artist")
    assert check_split(dataset, "random") == set()


def test_the_date_split_holds_out_the_newest_tracks():
    tracks = [Track(f"t{i}", Path(f"{i}.wav"), "rock" if i % 2 else "jazz", f"a{i % 3}", date=f"2017-01-{i + 1:02d}")
              for i in range(20)] + [Track("undated", Path("u.wav"), "rock", "a0")]
    split = assign_splits(tracks, strategy="date", valid_fraction=0.15)
    assert sorted(t for t, side in split.items() if side == "valid") == ["t17", "t18", "t19"]  # 15 % of 20 dated
    assert split["undated"] == "train" and len(split) == 21


def test_a_date_split_needs_dates(tmp_path):
    rows = [{"path": f"{i}.wav", "genre": "rock", "artist": "a"} for i in range(3)]
    pd.DataFrame(rows).to_csv(tmp_path / "tracks.csv", index=False)
    with pytest.raises(SplitError, match="has no dates"):
        check_split(read_manifest(tmp_path / "tracks.csv"), "date")
    pd.DataFrame([{**r, "date": "2018-02-01" if i else ""} for i, r in enumerate(rows)]).to_csv(
        tmp_path / "tracks.csv", index=False)
    with pytest.warns(UserWarning, match="1 of 3 tracks have no date: the date split keeps them in training"):
        check_split(read_manifest(tmp_path / "tracks.csv"), "date")


def test_fma_tracks_carry_their_upload_date(shared_data):
    from agf.datasets.fma import read_fma

    dataset = read_fma(shared_data / "fma_metadata_sample", "/audio", "small")
    table = pd.read_csv(shared_data / "fma_metadata_sample/tracks.csv", header=[0, 1], index_col=0)
    dates = table[("track", "date_created")]
    assert all(t.date == dates[int(t.track_id)] for t in dataset.tracks)
    split = assign_splits(dataset.tracks, strategy="date", valid_fraction=0.2)
    valid = [t.date for t in dataset.tracks if split[t.track_id] == "valid"]
    train = [t.date for t in dataset.tracks if split[t.track_id] == "train"]
    assert len(valid) == round(0.2 * len(dataset.tracks)) and min(valid) >= max(train)
