"""Splits: the artist-disjoint default never puts an artist on both sides; all are stratified."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from agf.data.settings import DatasetSettings
from agf.data.splits import SplitError, assign_splits, check_split
from agf.datasets.manifest import read_manifest
from agf.datasets.tracks import Track
from agf.errors import SettingsError


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
    split = assign_splits(tracks, strategy="random", valid_fraction=0.15, test_fraction=0, seed=0)
    valid = [t for t in tracks if split[t.track_id] == "valid"]
    assert len(valid) == round(0.15 * len(tracks)) and "test" not in split.values()
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
    with pytest.warns(UserWarning, match=r"^no test track of genre\(s\) 'polka': their test scores are not measured$"):
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
    split = assign_splits(tracks, strategy="artist", valid_fraction=0.15, test_fraction=0, seed=seed)
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
    split = assign_splits(tracks, strategy="date", valid_fraction=0.15, test_fraction=0)
    assert sorted(t for t, side in split.items() if side == "valid") == ["t17", "t18", "t19"]  # 15 % of 20 dated
    assert split["undated"] == "train" and len(split) == 21
    split = assign_splits(tracks, strategy="date", valid_fraction=0.15, test_fraction=0.1)
    assert sorted(t for t, side in split.items() if side == "test") == ["t18", "t19"]  # 10 % of 20 dated
    assert sorted(t for t, side in split.items() if side == "valid") == ["t15", "t16", "t17"]  # the next newest
    assert split["undated"] == "train"


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
    split = assign_splits(dataset.tracks, strategy="date", valid_fraction=0.2, test_fraction=0)
    valid = [t.date for t in dataset.tracks if split[t.track_id] == "valid"]
    train = [t.date for t in dataset.tracks if split[t.track_id] == "train"]
    assert len(valid) == round(0.2 * len(dataset.tracks)) and min(valid) >= max(train)


# --- three sides, folds, albums -----------------------------------------------------------------------------


def _sides_of(tracks, split, group=lambda t: t.artist) -> dict[str, set[str]]:
    sides: dict[str, set[str]] = {}
    for t in tracks:
        sides.setdefault(group(t) or f"none:{t.track_id}", set()).add(split[t.track_id])
    return sides


def _check_three_way(tracks, split):
    """Artist-disjoint across all three sides; every genre with >= 3 artists on every side; ~70/15/15."""
    assert all(len(s) == 1 for s in _sides_of(tracks, split).values())
    artists_of = {}
    for t in tracks:
        if t.artist:
            artists_of.setdefault(t.genre, set()).add(t.artist)
    counts = Counter(split.values())
    for side in ("train", "valid", "test"):
        genres = {t.genre for t in tracks if split[t.track_id] == side}
        assert {g for g, a in artists_of.items() if len(a) >= 3} <= genres, side
    assert 0.62 < counts["train"] / len(tracks) < 0.78
    assert 0.10 < counts["valid"] / len(tracks) < 0.20 and 0.10 < counts["test"] / len(tracks) < 0.20


@pytest.mark.parametrize("seed", range(3))
def test_the_default_split_is_three_way_artist_disjoint_and_stratified(seed):
    tracks = toy_tracks()
    split = assign_splits(tracks, seed=seed)
    assert set(split) == {t.track_id for t in tracks}
    _check_three_way(tracks, split)


@pytest.mark.parametrize("name", ["gtzan3", "gtzan10_excerpts"])
def test_the_default_split_of_real_manifests_is_three_way(shared_data, name):
    tracks = read_manifest(shared_data / name / "tracks.csv").tracks
    _check_three_way(tracks, assign_splits(tracks))


def test_test_fraction_0_is_the_two_way_split():
    tracks = toy_tracks()
    split = assign_splits(tracks, seed=2, test_fraction=0)
    assert set(split.values()) == {"train", "valid"}
    valid = [t for t in tracks if split[t.track_id] == "valid"]
    assert 0.10 < len(valid) / len(tracks) < 0.20
    assert all(len(s) == 1 for s in _sides_of(tracks, split).values())


@pytest.mark.parametrize(("strategy", "group"), [("artist", lambda t: t.artist), ("random", lambda t: t.track_id),
                                                 ("album", lambda t: t.album)], ids=["artist", "random", "album"])
def test_the_k_test_sides_partition_the_tracks(strategy, group):
    tracks = [Track(f"t{a}-{i}", Path("x.wav"), f"g{a % 4}", f"artist{a}", album=f"album{a}-{i % 2}")
              for a in range(30) for i in range(4)]
    tracks.append(Track("lonely", Path("x.wav"), "polka", "solo", album="solo1"))  # one track: always trained on
    tested = Counter()
    for fold in range(5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # polka has no validation or test track: warned, tested elsewhere
            split = assign_splits(tracks, strategy=strategy, folds=5, fold=fold, seed=4)
        assert set(split) == {t.track_id for t in tracks} and split["lonely"] == "train"
        test = [t for t in tracks if split[t.track_id] == "test"]
        tested.update(t.track_id for t in test)
        assert 0.15 < len(test) / len(tracks) < 0.25  # ~1/5 (test_fraction is not used)
        valid = [t for t in tracks if split[t.track_id] == "valid"]
        assert 0.10 < len(valid) / len(tracks) < 0.20
        if strategy != "random":  # the fold's three sides share no group
            assert all(len(s) == 1 for s in _sides_of(tracks, split, group).values()), fold
        for side in (test, valid):
            assert {t.genre for t in side} == {"g0", "g1", "g2", "g3"}
    assert set(tested) == {t.track_id for t in tracks} - {"lonely"} and set(tested.values()) == {1}


def test_a_fold_without_a_test_track_of_a_genre_warns_and_names_it():
    tracks = _tracks({"rock": [f"r{k}" for k in range(10)], "jazz": [f"j{k}" for k in range(10)],
                      "polka": ["p1", "p2"]}, per_artist=2)
    folds_without = 0
    for fold in range(5):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            split = assign_splits(tracks, folds=5, fold=fold)
        said = [str(w.message) for w in caught if "test track" in str(w.message)]
        if "polka" in {t.genre for t in tracks if split[t.track_id] == "test"}:
            assert not said
        else:
            folds_without += 1
            assert said == [f"fold {fold + 1} of 5: no test track of genre(s) 'polka': their test scores are "
                            "not measured in this fold"]
    assert folds_without == 3  # polka's two artists are tested in two of the five folds


def test_folds_are_refused_where_they_cannot_be_made(tmp_path):
    rows = [{"path": f"{a}{i}.wav", "genre": "rock" if i % 2 else "jazz", "artist": a} for a in "xyz" for i in range(4)]
    pd.DataFrame(rows).to_csv(tmp_path / "tracks.csv", index=False)
    dataset = read_manifest(tmp_path / "tracks.csv")
    with pytest.raises(SplitError, match="^--folds 5 needs at least 5 artists, found 3; use fewer folds$"):
        check_split(dataset, "artist", folds=5)
    check_split(dataset, "artist", folds=3)
    check_split(dataset, "random", folds=5)  # 12 tracks
    with pytest.raises(SplitError, match="--folds 13 needs at least 13 tracks, found 12"):
        check_split(dataset, "random", folds=13)
    with pytest.raises(SplitError, match="--folds needs --split artist, album or random"):
        check_split(dataset, "date", folds=5)
    tracks = toy_tracks()
    with pytest.raises(SplitError, match="--folds 41 needs at least 41 artists, found 40"):
        assign_splits([t for t in tracks if t.artist], folds=41, fold=0)
    for strategy in ("date", "source"):
        with pytest.raises(SplitError, match="--folds needs --split artist, album or random"):
            assign_splits(tracks, strategy=strategy, folds=3)
    with pytest.raises(SplitError, match=r"--fold 3 must be in 0 .. 2 \(--folds 3\)"):
        assign_splits(tracks, folds=3, fold=3)


def test_shares_leaving_nothing_for_training_are_refused_naming_both_options():
    message = r"--valid-fraction 0.5 and --test-fraction 0.5 add up to 1, leaving no track for training"
    with pytest.raises(SettingsError, match=message):
        DatasetSettings("x", valid_fraction=0.5, test_fraction=0.5)
    with pytest.raises(SplitError, match=message):
        assign_splits(toy_tracks(), valid_fraction=0.5, test_fraction=0.5)
    with pytest.raises(SettingsError, match=r"--valid-fraction 0.6 and --folds 2 \(each fold tests 1/2"):
        DatasetSettings("x", valid_fraction=0.6, folds=2)
    DatasetSettings("x", valid_fraction=0.6, test_fraction=0.3)
    DatasetSettings("x", valid_fraction=0.6, test_fraction=0.9, folds=5)  # folds: the test fraction is not used
    with pytest.raises(SettingsError, match="test fraction must be a number in \\[0, 1\\), got 1"):
        DatasetSettings("x", test_fraction=1)


def test_the_album_split_keeps_albums_together_but_not_artists(tmp_path):
    tracks = [Track(f"t{a}-{i}", Path("x.wav"), f"g{a % 3}", f"artist{a}", album=f"a{a}-{i // 3}")
              for a in range(15) for i in range(6)]  # two albums of three tracks per artist
    split = assign_splits(tracks, strategy="album", seed=1)
    assert all(len(s) == 1 for s in _sides_of(tracks, split, lambda t: t.album).values())
    assert any(len(s) > 1 for s in _sides_of(tracks, split).values())  # an artist's albums may part
    assert {t.genre for t in tracks if split[t.track_id] == "test"} == {"g0", "g1", "g2"}
    # the manifest's album column is read; a dataset without any album is refused
    rows = [{"path": f"{t.track_id}.wav", "genre": t.genre, "artist": t.artist, "album": t.album} for t in tracks]
    pd.DataFrame(rows).to_csv(tmp_path / "tracks.csv", index=False)
    read = read_manifest(tmp_path / "tracks.csv")
    assert [t.album for t in read.tracks] == [t.album for t in tracks]
    assert assign_splits(read.tracks, strategy="album", seed=1) == split
    pd.DataFrame(rows).drop(columns="album").to_csv(tmp_path / "tracks.csv", index=False)
    with pytest.raises(SplitError, match="has no albums"):
        check_split(read_manifest(tmp_path / "tracks.csv"), "album")
