"""`agf factors` end to end on real clips: every task built, checked against independent references;
the m and s groups also on synthesised tracks, so those checks run without ../shared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import LatentDirichletAllocation

from agf.cli import main
from agf.data.prepare import prepare
from agf.data.tables import load_tracks, open_store
from agf.datasets.synthetic import SyntheticSettings, generate_dataset
from agf.errors import MissingStep
from agf.factors.build import build_factors
from agf.factors.essentia_features import DescriptorCache
from agf.factors.groups import load_lda
from agf.factors.settings import FactorSettings
from agf.factors.targets import load_targets
from agf.tasks import AG_TASKS
from agf.workdir import Workdir

# (track id, artist, split, sub-genres); genre is the id's prefix
TRACKS = [
    ("blues.00001", "John Lee Hooker", "train", "Delta Blues"),
    ("blues.00002", "John Lee Hooker", "train", "Delta Blues"),
    ("blues.00003", "John Lee Hooker", "train", "Delta Blues"),   # audio swapped for a text file after prepare
    ("classical.00001", "JS Bach", "train", "Baroque"),
    ("classical.00002", "JS Bach", "train", "Baroque"),
    ("classical.00003", "JS Bach", "train", "Baroque"),
    ("jazz.00033", "Coleman Hawkins", "train", "Swing"),
    ("jazz.00034", "Coleman Hawkins", "train", "Swing"),
    ("jazz.00035", "Coleman Hawkins", "train", "Swing;Bebop"),
    ("rock.00016", "Queen", "train", "Glam"),                       # an artist with a single track
    ("jazz.00047", "", "train", "Bebop"),                            # no artist: a singleton
    ("jazz.00011", "Joe Lovano", "valid", "Bebop"),                  # an artist only in validation
    ("jazz.00012", "Joe Lovano", "valid", "Bebop"),
    ("country.00001", "Patty Loveless", "valid", "Bluegrass"),      # s: labels unseen in training -> empty bag
]
SETTINGS = FactorSettings(n_clusters=16)


def _prepare(shared_data, link_manifest, folder, *, subgenres=True):
    audio_dir = shared_data / "gtzan10_excerpts/audio"
    rows = [{"track_id": t, "path": f"audio/{t}.wav", "genre": t.split(".")[0], "artist": a, "split": s,
             "subgenres": sub if subgenres else ""} for t, a, s, sub in TRACKS]
    csv = link_manifest(folder / "ds", rows, {f"audio/{t}.wav": audio_dir / f"{t}.wav" for t, *_ in TRACKS})
    prepare(csv, folder / "w", split="source", jobs=1, progress=False)
    return folder / "w"


@pytest.fixture(scope="module")
def built(shared_data, link_manifest, tmp_path_factory):
    folder = tmp_path_factory.mktemp("factors")
    workdir = _prepare(shared_data, link_manifest, folder)
    broken = folder / "ds/audio/blues.00003.wav"
    broken.unlink()
    broken.write_text("a text file renamed .wav: Essentia cannot read it\n")
    with pytest.warns(UserWarning, match="task e dictionary"):
        results = build_factors(workdir, settings=SETTINGS, jobs=2, progress=False)
    return workdir, results


@pytest.fixture(scope="module")
def built_synthetic(tmp_path_factory) -> Path:
    """24 synthesised 4-s tracks of 3 genres by 12 artists (1 to 4 tracks each; sub-genres from the
    generator's plan), artist split, with the m and s factors built: no ../shared, no Essentia."""
    folder = tmp_path_factory.mktemp("synthetic")
    settings = SyntheticSettings(n_tracks=24, n_genres=3, artists_per_genre=4, duration_s=4.0)
    csv = generate_dataset(settings, folder / "ds", progress=False)
    prepare(csv, folder / "w", jobs=1, progress=False)
    results = build_factors(folder / "w", tasks=("m", "s"), settings=SETTINGS, jobs=1, progress=False)
    assert results == {"m": "built", "s": "built"}
    return folder / "w"


@pytest.fixture(params=["real", "synthetic"])
def m_and_s_built(request) -> tuple[Path, str]:
    """A work dir whose m and s factors are built, and a training artist of several tracks in it:
    the real excerpts' JS Bach, or the synthesised tracks' first such artist."""
    if request.param == "real":
        return request.getfixturevalue("built")[0], "JS Bach"
    workdir = request.getfixturevalue("built_synthetic")
    tracks = load_tracks(Workdir(workdir))
    counts = tracks.loc[tracks["split"] == "train", "artist"].value_counts()
    return workdir, min(counts.index[counts > 1])


def _artist_groups(workdir, task) -> pd.DataFrame:
    return pd.read_csv(Workdir(workdir).factors_dir(task) / "artist_groups.csv", keep_default_na=False)


def test_every_task_is_built_with_40_group_distributions(built):
    workdir, results = built
    assert results == {t: "built" for t in AG_TASKS}
    for task in AG_TASKS:
        targets = load_targets(workdir, task)
        assert targets.targets.shape == (len(targets.track_ids), 40) and targets.targets.dtype == np.float32
        np.testing.assert_allclose(targets.targets.sum(axis=1), 1, atol=1e-5)
        held = dict(zip(targets.track_ids, targets.held_out))
        assert held["jazz.00011"] and held["jazz.00012"] and not held["jazz.00033"]
        groups = _artist_groups(workdir, task)
        np.testing.assert_allclose(groups.filter(like="g").to_numpy().sum(axis=1), 1, atol=1e-4)
        assert groups.loc[groups["artist"] == "Joe Lovano", "split"].tolist() == ["valid"]
        assert {"Queen", "track:jazz.00047"} <= set(groups.loc[groups["split"] == "train", "artist"])
        folder = Workdir(workdir).factors_dir(task)
        assert (folder / "report.png").stat().st_size > 1000 and "| group |" in (folder / "report.md").read_text()
        # each training track carries its artist's row
        row = groups.set_index(["artist", "split"]).loc[("JS Bach", "train")].filter(like="g").to_numpy(np.float32)
        np.testing.assert_allclose(targets.targets[targets.track_ids.index("classical.00002")], row, atol=1e-5)


def test_m_groups_follow_from_librosa_mfccs_and_a_brute_force_dictionary(m_and_s_built):
    """An artist's m groups are the saved LDA's transform of its bag of words, recomputed from
    librosa's MFCCs of the stored frames and a brute-force nearest-centroid search."""
    librosa = pytest.importorskip("librosa")
    workdir, artist = m_and_s_built
    wd = Workdir(workdir)
    tracks, store = load_tracks(wd), open_store(wd)
    centroids = np.load(wd.factors_dir("m") / "centroids.npy").astype(np.float64)
    assert centroids.shape == (16, 25)
    train = tracks[tracks["split"] == "train"]
    own = train.loc[train["artist"] == artist, "track_id"]
    bag = np.zeros(16)
    for track_id in own:
        mfcc = librosa.feature.mfcc(S=store.track(track_id).astype(np.float32).T, n_mfcc=25).T
        words = ((mfcc[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(axis=1)
        bag += np.bincount(words, minlength=16)
    bag /= len(own)
    expected = load_lda(wd.factors_dir("m") / "lda.npz").transform(bag[None])[0]
    groups = _artist_groups(workdir, "m").set_index(["artist", "split"])
    np.testing.assert_allclose(groups.loc[(artist, "train")].filter(like="g").to_numpy(float), expected, atol=1e-3)


def test_s_groups_equal_sklearn_lda_on_hand_made_genre_bags(m_and_s_built):
    """Every training artist's s groups equal scikit-learn's LDA of bags made by hand from the
    genre and sub-genre labels."""
    workdir, _ = m_and_s_built
    tracks = load_tracks(Workdir(workdir))
    train = tracks[tracks["split"] == "train"].copy()
    train["artist"] = train["artist"].fillna("track:" + train["track_id"])
    labels = [{g, *filter(None, s.split(";"))} for g, s in zip(train["genre"], train["subgenres"])]
    vocabulary = sorted(set().union(*labels))
    onehot = pd.DataFrame([[int(v in l) for v in vocabulary] for l in labels], index=train["artist"].to_numpy())
    bags = onehot.groupby(level=0).mean().sort_index()  # counts summed / the artist's track count
    lda = LatentDirichletAllocation(n_components=40, learning_method="batch", max_iter=50, random_state=0).fit(bags.to_numpy())
    expected = pd.DataFrame(lda.transform(bags.to_numpy()), index=bags.index)
    groups = _artist_groups(workdir, "s")
    ours = groups[groups["split"] == "train"].set_index("artist").filter(like="g")
    np.testing.assert_allclose(ours.loc[expected.index].to_numpy(), expected.to_numpy(), atol=1e-4)


def test_s_labels_unseen_in_training_leave_an_empty_bag_and_no_target(built):
    workdir, _ = built
    # Patty Loveless' only labels (country, Bluegrass) are unseen in training: empty bag, no target
    assert "country.00001" not in load_targets(workdir, "s").track_ids
    assert json.loads((Workdir(workdir).factors_dir("s") / "done.json").read_text())["n_empty_valid_bags"] == 1


def test_d_uses_differences_within_tracks_only(built):
    workdir, _ = built
    tracks = load_tracks(Workdir(workdir))
    done = json.loads((Workdir(workdir).factors_dir("d") / "done.json").read_text())
    assert done["n_words_assigned"] == int((tracks["n_frames"] - 1).sum())


def test_a_track_essentia_fails_on_is_left_out_of_e_only(built):
    workdir, _ = built
    folder = Workdir(workdir).factors_dir("e")
    errors = pd.read_csv(folder / "essentia_errors.csv")
    assert errors["track_id"].tolist() == ["blues.00003"]
    assert "blues.00003" not in load_targets(workdir, "e").track_ids
    assert "blues.00003" in load_targets(workdir, "m").track_ids
    columns = (folder / "descriptor_columns.txt").read_text().split()
    assert len(columns) > 1000 and "lowlevel.spectral_centroid.mean" in columns


def test_a_rerun_skips_and_other_settings_are_refused(built):
    workdir, _ = built
    assert build_factors(workdir, settings=SETTINGS, progress=False) == {t: "skipped (already built)" for t in AG_TASKS}
    other = build_factors(workdir, tasks=("m",), settings=FactorSettings(n_clusters=16, n_groups=10), progress=False)
    assert other["m"].startswith("refused:") and "n_groups" in other["m"] and "saved 40, asked 10" in other["m"]
    assert "--rebuild" in other["m"]


def test_missing_targets_name_the_command_to_run(tmp_path):
    with pytest.raises(MissingStep, match="agf factors --workdir .* --tasks m"):
        load_targets(tmp_path, "m")


def test_options_hard_targets_and_excluding_unknown_artists(built, tmp_path):
    workdir, _ = built
    copy = tmp_path / "w"
    shutil.copytree(workdir, copy, ignore=shutil.ignore_patterns("factors"))
    settings = FactorSettings(n_clusters=16, hard_targets=True, missing_artist="exclude")
    assert build_factors(copy, tasks=("s",), settings=settings, progress=False) == {"s": "built"}
    targets = load_targets(copy, "s")
    assert "jazz.00047" not in targets.track_ids
    assert set(np.unique(targets.targets)) == {0.0, 1.0} and (targets.targets.sum(axis=1) == 1).all()


def test_command_refuses_s_without_subgenres_and_builds_the_rest(shared_data, link_manifest, tmp_path, capsys):
    workdir = _prepare(shared_data, link_manifest, tmp_path, subgenres=False)
    args = ["factors", "--workdir", str(workdir), "--clusters", "8", "--groups", "4", "--jobs", "1", "--no-progress"]
    assert main([*args, "--tasks", "s,m"]) == 0
    out = capsys.readouterr().out
    assert "s: refused: task s needs sub-genre labels" in out and "m: built" in out
    assert not (workdir / "factors/s").exists()
    assert main([*args, "--tasks", "s"]) == 2


def test_factors_of_a_re_decoded_store_are_stale(tmp_path):
    """The m words come from the store's frames and the e words from the audio files: once a track's
    file changes and `agf prepare` decodes it again, the factors built before are refused (rebuilt with
    ``rebuild``), not silently reused, and the rebuilt e describes the new audio, not the cached old one."""
    settings = SyntheticSettings(n_tracks=12, n_genres=2, artists_per_genre=3, duration_s=2.0)
    csv = generate_dataset(settings, tmp_path / "ds", progress=False)
    workdir = tmp_path / "w"
    prepare(csv, workdir, jobs=1, progress=False)
    small = FactorSettings(n_clusters=8, n_groups=4)
    both = ("m", "e")
    assert build_factors(workdir, tasks=both, settings=small, jobs=1, progress=False) == {"m": "built", "e": "built"}
    assert build_factors(workdir, tasks=("m",), settings=small, progress=False) == {"m": "skipped (already built)"}
    tracks = load_tracks(Workdir(workdir))
    (replaced, audio), (other, other_audio) = tracks[["track_id", "path"]].iloc[:2].itertuples(index=False)
    Path(audio).write_bytes(Path(other_audio).read_bytes())  # replaced by other audio: prepare decodes it again
    prepare(csv, workdir, jobs=1, progress=False)
    for task, outcome in build_factors(workdir, tasks=both, settings=small, jobs=1, progress=False).items():
        assert outcome.startswith("refused:") and "another spectrogram store" in outcome, task
    rebuilt = build_factors(workdir, tasks=both, settings=small, rebuild=True, jobs=1, progress=False)
    assert rebuilt == {"m": "built", "e": "built"}
    cache = DescriptorCache(Workdir(workdir).essentia_cache_dir)
    assert cache.get(replaced) == cache.get(other)  # the same bytes now, so the same descriptors
