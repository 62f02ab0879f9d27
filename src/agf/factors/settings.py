"""Settings of the artist-group-factor targets (SPEC section 2), saved beside every task's artefacts."""

from __future__ import annotations

from dataclasses import dataclass

from agf.settings import Interval, OneOf, Settings

MISSING_ARTIST_CHOICES = ("singleton", "exclude")


@dataclass(frozen=True)
class FactorSettings(Settings):
    """Every setting that shapes an AG task's dictionary, artist bags and artist groups.

    ``n_clusters``: dictionary size K (clamped, with a warning, to the number of points).
    ``n_groups``: LDA topics = artist groups = size of each soft target.
    ``missing_artist``: ``singleton`` (each track without an artist is its own artist) or
    ``exclude`` (such tracks get no AG target); see :mod:`agf.factors.build` for the default.
    ``max_points_per_centroid``, ``kmeans_iterations``: k-means is fitted with this many Lloyd
    iterations on at most ``K * max_points_per_centroid`` points drawn uniformly at random;
    every point is still assigned a word. 64 x 20 (faiss's own default is 256 x 25) reaches
    MiniBatchKMeans' inertia 16x faster on 2 M MFCC frames; 256 x 25 lowers the inertia by
    another ~3 % for ~2.5x the fitting time (bench/bench_kmeans.py).
    """

    n_clusters: int = 2048
    n_groups: int = 40
    n_mfcc: int = 25
    missing_artist: str = "singleton"
    hard_targets: bool = False
    kmeans_iterations: int = 20
    max_points_per_centroid: int = 64
    lda_max_iter: int = 50
    seed: int = 0

    constraints = {
        "n_clusters": Interval(int, 1),
        "n_groups": Interval(int, 1),
        "n_mfcc": Interval(int, 1),
        "missing_artist": OneOf(*MISSING_ARTIST_CHOICES),
        "hard_targets": OneOf(False, True),
        "kmeans_iterations": Interval(int, 1),
        "max_points_per_centroid": Interval(int, 1),
        "lda_max_iter": Interval(int, 1),
        "seed": Interval(int, 0),
    }
