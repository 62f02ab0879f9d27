"""The k-means dictionary against scikit-learn, on MFCC frames of real clips and of synthesised music."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from agf.audio.frontend import file_log_mel
from agf.audio.mel import LogMel
from agf.factors.kmeans import (
    WordAssigner,
    clamp_clusters,
    fit_kmeans,
    inertia,
    torch_kmeans,
)
from agf.factors.mfcc import mfcc_from_log_mel


@pytest.fixture(scope="module", params=["real", "synthetic"])
def mfcc_frames(request, synthetic_clip) -> np.ndarray:
    """MFCC frames of three 30-s real clips (~3,900 frames) or of three 10-s synthesised tracks
    (punk, jazz, hip-hop; 1,293 frames, still ~27 per centroid of the 48 fitted below)."""
    if request.param == "synthetic":
        mels = [LogMel()(torch.from_numpy(synthetic_clip(i, seconds=10.0))[None])[0].numpy() for i in (1, 3, 4)]
    else:
        folder = request.getfixturevalue("shared_data") / "gtzan3/audio"
        mels = [file_log_mel(folder / c) for c in ("classical.00010.mp3", "jazz.00010.mp3", "rock.00003.mp3")]
    return np.concatenate([mfcc_from_log_mel(mel) for mel in mels])


@pytest.mark.parametrize("implementation", ["faiss", "torch"])
def test_inertia_within_a_few_percent_of_sklearn(mfcc_frames, implementation):
    k = 48
    reference = KMeans(n_clusters=k, n_init=1, random_state=0).fit(mfcc_frames)
    if implementation == "faiss":
        centroids = fit_kmeans(mfcc_frames, k, n_iter=25, seed=0)
    else:
        centroids = torch_kmeans(mfcc_frames, k, n_iter=25, seed=0, device="cpu")
    assert centroids.shape == (k, 25)
    ours = inertia(mfcc_frames, centroids)
    # inertia recomputed by hand, not by our own search
    d2 = ((mfcc_frames[:, None, :].astype(np.float64) - centroids[None].astype(np.float64)) ** 2).sum(-1)
    assert ours == pytest.approx(d2.min(axis=1).sum(), rel=1e-4)
    assert ours <= 1.04 * reference.inertia_, (ours, reference.inertia_)


def test_words_are_the_nearest_centroids(mfcc_frames):
    centroids = fit_kmeans(mfcc_frames, 16, n_iter=5, seed=1)
    words, dist = WordAssigner(centroids, "cpu")(mfcc_frames)
    d2 = ((mfcc_frames[:, None, :].astype(np.float64) - centroids[None]) ** 2).sum(-1)
    expected = d2.argmin(axis=1)
    # ties aside (none expected on real data), the same word as a brute-force search
    assert (words == expected).mean() > 0.999
    np.testing.assert_allclose(dist, d2.min(axis=1), rtol=1e-3, atol=1e-2)


def test_fitting_subsamples_but_every_point_gets_a_word(mfcc_frames):
    # 4 points per centroid x 8 centroids = 32 fitted points out of thousands
    centroids = fit_kmeans(mfcc_frames, 8, n_iter=10, seed=0, max_points_per_centroid=4)
    words, _ = WordAssigner(centroids)(mfcc_frames)
    assert len(words) == len(mfcc_frames) and words.min() >= 0 and words.max() < 8
    t = torch_kmeans(mfcc_frames, 8, n_iter=10, seed=0, max_points_per_centroid=4, device="cpu")
    assert np.isfinite(t).all() and len(np.unique(t, axis=0)) == 8


def test_fewer_points_than_clusters_is_clamped_with_a_warning():
    with pytest.warns(UserWarning, match="only 5 points for 2048 clusters"):
        assert clamp_clusters(2048, 5) == 5
    assert clamp_clusters(16, 100) == 16
    points = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    centroids = fit_kmeans(points, 5, seed=0)
    assert inertia(points, centroids) == pytest.approx(0.0, abs=1e-6)  # one point per cluster
    with pytest.raises(ValueError, match="clamp first"):
        fit_kmeans(points, 6)
