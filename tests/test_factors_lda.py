"""Artist bags (hand-computed) and artist groups (scikit-learn's LDA as the reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import LatentDirichletAllocation

from agf.factors.bags import artist_bags, artist_keys, label_counts, track_word_counts
from agf.factors.groups import fit_artist_groups, load_lda, one_hot_argmax, save_lda


def test_bags_are_word_counts_divided_by_the_artists_track_count():
    counts = track_word_counts([np.array([0, 0, 2]), np.array([1]), np.array([2, 2, 2, 2]), np.array([], np.int64)], 3)
    np.testing.assert_array_equal(counts.toarray(), [[2, 0, 1], [0, 1, 0], [0, 0, 4], [0, 0, 0]])
    names, bags, n_tracks = artist_bags(counts, ["B", "A", "B", "C"])
    assert names == ["A", "B", "C"] and n_tracks.tolist() == [1, 2, 1]
    # B: ([2,0,1] + [0,0,4]) / 2 tracks; C has one track with no words: an empty bag
    np.testing.assert_allclose(bags.toarray(), [[0, 1, 0], [1, 0, 2.5], [0, 0, 0]])


def test_genre_labels_count_once_per_track_and_unknown_labels_are_ignored():
    counts = label_counts([["Rock", "Punk", "Punk"], ["Jazz", "Bebop"], ["Polka"]], ["Bebop", "Jazz", "Punk", "Rock"])
    np.testing.assert_array_equal(counts.toarray(), [[0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]])


def test_tracks_without_an_artist_are_singletons_or_excluded():
    tracks = pd.DataFrame({"track_id": ["1", "2", "3"], "artist": ["A", np.nan, " "]})
    assert artist_keys(tracks, "singleton").tolist() == ["A", "track:2", "track:3"]
    excluded = artist_keys(tracks, "exclude")
    assert excluded.iloc[0] == "A" and excluded.iloc[1:].isna().all()


@pytest.fixture
def bags() -> np.ndarray:
    rng = np.random.default_rng(0)
    # 30 artists over 60 words drawn from 4 "styles"; one artist with a single sparse track
    styles = rng.dirichlet(np.full(60, 0.1), size=4)
    mix = rng.dirichlet(np.full(4, 0.3), size=30)
    bags = np.stack([rng.multinomial(200, m @ styles) for m in mix]).astype(float) / rng.integers(1, 6, 30)[:, None]
    bags[7] = 0
    bags[7, 3] = 1.0  # an artist with a single track and a single word
    return bags


def test_groups_match_sklearn_lda_and_sum_to_one(bags):
    lda, dist = fit_artist_groups(bags, n_groups=40, seed=3, max_iter=20)
    reference = LatentDirichletAllocation(n_components=40, learning_method="batch", max_iter=20, random_state=3)
    expected = reference.fit(bags).transform(bags)
    assert dist.shape == (30, 40) and dist.dtype == np.float32
    np.testing.assert_allclose(dist.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(dist, expected, atol=1e-5)
    assert (dist >= 0).all()


def test_an_empty_bag_is_refused_not_fitted(bags):
    bags[4] = 0
    with pytest.raises(ValueError, match="empty"):
        fit_artist_groups(bags, n_groups=5)


def test_the_saved_model_transforms_like_the_fitted_one(bags, tmp_path):
    lda, _ = fit_artist_groups(bags, n_groups=6, seed=0, max_iter=10)
    save_lda(lda, tmp_path / "lda.npz")
    with np.load(tmp_path / "lda.npz", allow_pickle=False) as data:  # plain arrays, no pickle
        assert data["components_"].shape == (6, 60)
    new = np.random.default_rng(1).integers(0, 3, size=(4, 60)).astype(float)
    np.testing.assert_allclose(load_lda(tmp_path / "lda.npz").transform(new), lda.transform(new), atol=1e-10)


def test_hard_targets_are_one_hot_argmax():
    dist = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]], np.float32)
    np.testing.assert_array_equal(one_hot_argmax(dist), [[0, 1, 0], [1, 0, 0]])
