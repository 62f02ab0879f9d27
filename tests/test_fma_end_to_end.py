"""`agf experiment fma:METADATA:AUDIO:small` end to end on FMA's real metadata (../shared/data/fma_metadata_sample:
its real track ids, artists, top genres, genres_all and split) with synthesised MP3s at FMA's own paths."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agf.classifier.predict import Predictor
from agf.cli import main
from agf.datasets.synthetic.fma_shaped import FMA_STYLES, write_fma_audio, write_fma_metadata
from agf.datasets.tracks import DatasetError
from agf.factors.targets import load_targets

# the 58 tracks of FMA-small in the sample, 4 s each; one epoch per STN and a 16-word dictionary
TINY = ["--preset", "quick", "--epochs", "1", "--mlp-epochs", "2", "--clusters", "16", "--hop", "43"]
SECONDS = 4.0


@pytest.fixture(scope="module")
def metadata(shared_data) -> Path:
    folder = shared_data / "fma_metadata_sample"
    if not (folder / "tracks.csv").is_file():
        pytest.skip(f"FMA metadata sample not found at {folder}")
    return folder


@pytest.fixture(scope="module")
def fma_tracks(metadata) -> pd.DataFrame:
    """The sample's tracks.csv, read independently of agf's reader."""
    return pd.read_csv(metadata / "tracks.csv", index_col=0, header=[0, 1])


@pytest.fixture(scope="module")
def experiment(metadata, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fma")
    audio, workdir = root / "audio", root / "w"
    write_fma_audio(metadata, audio, subset="small", duration_s=SECONDS, jobs=2, progress=False)
    source = f"fma:{metadata}:{audio}:small"
    assert main(["experiment", source, "--tasks", "gs", "--workers", "1", "--workdir", str(workdir),
                 "--no-progress", *TINY]) == 0
    return audio, workdir


def test_audio_sits_at_fma_paths_for_every_small_track(experiment, fma_tracks):
    audio, _ = experiment
    small = fma_tracks[(fma_tracks[("set", "subset")] == "small") & fma_tracks[("track", "genre_top")].notna()]
    written = sorted(audio.glob("*/*.mp3"))
    assert [p.relative_to(audio).as_posix() for p in written] == \
        [f"{i:06d}"[:3] + f"/{i:06d}.mp3" for i in sorted(small.index)]
    import soundfile as sf

    info = sf.info(str(written[0]))
    assert info.format == "MP3" and abs(info.duration - SECONDS) < 0.1


def test_experiment_runs_every_case_on_the_real_labels(experiment, fma_tracks):
    _, workdir = experiment
    tracks = pd.read_csv(workdir / "tracks.csv", dtype={"track_id": str, "artist": str})
    small = fma_tracks[fma_tracks[("set", "subset")] == "small"]
    assert sorted(tracks["track_id"].astype(int)) == sorted(small.index[small[("track", "genre_top")].notna()])
    by_id = small.set_index(small.index.astype(str))
    assert (tracks["genre"].to_numpy() == by_id.loc[tracks["track_id"], ("track", "genre_top")].to_numpy()).all()
    assert (tracks["artist"].to_numpy() == by_id.loc[tracks["track_id"], ("artist", "id")].astype(str).to_numpy()).all()
    # `agf experiment` splits by artist (its default): no artist on both sides
    sides = tracks.groupby("artist")["split"].nunique()
    assert set(tracks["split"]) == {"train", "valid", "test"} and (sides == 1).all()
    results = pd.read_csv(workdir / "results.csv", dtype={"tasks": str})
    assert set(zip(results["arch"], results["tasks"])) == \
        {("stn", "g"), ("stn", "s"), ("stn", "gs"), ("mtn", "gs"), ("baseline", "-"),
         ("stn", "g+b"), ("stn", "gs+b"), ("mtn", "gs+b")}
    assert np.isfinite(results[["log_loss", "f1_macro", "accuracy"]].to_numpy()).all()
    assert (results["n_train_tracks"] == (tracks["split"] == "train").sum()).all()


def test_s_task_learns_artist_groups_of_genres_all(experiment, metadata, fma_tracks):
    _, workdir = experiment
    tracks = pd.read_csv(workdir / "tracks.csv", dtype={"track_id": str, "artist": str})
    titles = pd.read_csv(metadata / "genres.csv", index_col=0)["title"].to_dict()
    train = tracks[tracks["split"] == "train"]
    # the s words of a training track: its top genre and the titles of its genres_all ids
    labels = {t: {fma_tracks.loc[int(t), ("track", "genre_top")]}
              | {titles[g] for g in ast.literal_eval(fma_tracks.loc[int(t), ("track", "genres_all")])}
              for t in train["track_id"]}
    vocabulary = (workdir / "factors" / "s" / "vocabulary.txt").read_text().split("\n")[:-1]
    assert vocabulary == sorted(set().union(*labels.values()))
    assert len(vocabulary) > train["genre"].nunique()  # sub-genres, not only the top genres
    targets = load_targets(workdir, "s")
    # training and validation tracks get targets; the test tracks none (no artist group is fitted on them)
    assert set(targets.track_ids) == set(tracks.loc[tracks["split"] != "test", "track_id"])
    assert np.allclose(targets.targets.sum(axis=1), 1.0, atol=1e-4)
    # soft targets are per artist: every training track of an artist gets its artist's distribution
    rows = pd.DataFrame(targets.targets, index=list(targets.track_ids)).loc[train["track_id"]]
    for _, group in rows.groupby(train["artist"].to_numpy()):
        assert np.allclose(group.to_numpy(), group.to_numpy()[0], atol=1e-6)


def test_bundle_predicts_an_fma_mp3(experiment):
    audio, workdir = experiment
    tracks = pd.read_csv(workdir / "tracks.csv")
    mp3 = sorted(audio.glob("*/*.mp3"))[0]
    out = Predictor(workdir / "bundle", device="cpu").predict_file(mp3)
    assert set(out.probabilities) == set(tracks["genre"])
    assert abs(sum(out.probabilities.values()) - 1) < 1e-6


def test_an_audio_folder_of_other_mp3s_is_refused(metadata, tmp_path):
    real = tmp_path / "audio" / "000" / "000002.mp3"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"not ours")
    with pytest.raises(DatasetError, match="not synthesised here"):
        write_fma_audio(metadata, tmp_path / "audio", subset="small", duration_s=1.0, progress=False)
    assert real.read_bytes() == b"not ours"


def test_fma_medium_shaped_metadata(metadata, tmp_path):
    from agf.datasets.fma import read_fma

    write_fma_metadata(tmp_path, 400, genres_csv=metadata / "genres.csv", seed=3)
    dataset = read_fma(tmp_path, tmp_path / "audio", "medium")
    assert len(dataset.tracks) == 400 and not dataset.problems
    genres = pd.Series([t.genre for t in dataset.tracks]).value_counts()
    assert set(genres.index) == set(FMA_STYLES) and genres["Rock"] > 10 * genres["Easy Listening"]
    artists = pd.Series([t.artist for t in dataset.tracks])
    assert 40 <= artists.nunique() <= 120  # about 5 tracks per artist
    split = pd.DataFrame({"artist": artists, "split": [t.split for t in dataset.tracks]})
    assert (split.groupby("artist")["split"].nunique() == 1).all() and set(split["split"]) == {"train", "valid", "test"}
    assert all(len(t.subgenres) >= 1 and t.subgenres[0] == t.genre for t in dataset.tracks)
