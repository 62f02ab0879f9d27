"""Settings of the artist-group-factor targets (SPEC section 2), saved beside every task's artefacts."""

from __future__ import annotations

from dataclasses import dataclass

MISSING_ARTIST_CHOICES = ("singleton", "exclude")


@dataclass(frozen=True)
class FactorSettings:
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

    def __post_init__(self) -> None:
        if self.missing_artist not in MISSING_ARTIST_CHOICES:
            raise ValueError(f"missing_artist must be one of {MISSING_ARTIST_CHOICES}, got {self.missing_artist!r}")
        for name in ("n_clusters", "n_groups", "n_mfcc", "kmeans_iterations", "max_points_per_centroid", "lda_max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
