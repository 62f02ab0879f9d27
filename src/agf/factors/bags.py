"""Artist bags: per artist, word (or genre-label) counts over its tracks, divided by its track count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

SINGLETON_PREFIX = "track:"


def artist_keys(tracks: pd.DataFrame, missing_artist: str) -> pd.Series:
    """Artist of each track; tracks without one become ``track:<id>`` (``singleton``) or NaN (``exclude``)."""
    artist = tracks["artist"].astype(object)
    missing = artist.isna() | (artist.astype(str).str.strip() == "")
    if missing_artist == "singleton":
        return artist.where(~missing, SINGLETON_PREFIX + tracks["track_id"].astype(str))
    if missing_artist == "exclude":
        return artist.where(~missing, np.nan)
    raise ValueError(f"missing_artist must be 'singleton' or 'exclude', got {missing_artist!r}")


def track_word_counts(words_per_track: list[np.ndarray], n_words: int) -> sp.csr_matrix:
    """``(n_tracks, n_words)`` sparse counts from each track's word indices."""
    rows = np.repeat(np.arange(len(words_per_track)), [len(w) for w in words_per_track])
    cols = np.concatenate(words_per_track) if words_per_track else np.zeros(0, np.int64)
    counts = sp.csr_matrix((np.ones(len(cols), np.float64), (rows, cols)), shape=(len(words_per_track), n_words))
    counts.sum_duplicates()
    return counts


def label_counts(labels_per_track: list[list[str]], vocabulary: list[str]) -> sp.csr_matrix:
    """``(n_tracks, len(vocabulary))`` 0/1 counts of each track's labels; unknown labels ignored."""
    position = {label: i for i, label in enumerate(vocabulary)}
    rows, cols = [], []
    for i, labels in enumerate(labels_per_track):
        for j in sorted({position[l] for l in labels if l in position}):
            rows.append(i)
            cols.append(j)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(labels_per_track), len(vocabulary)))


def artist_bags(counts: sp.spmatrix | np.ndarray, artists: list[str] | np.ndarray) -> tuple[list[str], sp.csr_matrix, np.ndarray]:
    """Sum the tracks' count rows per artist and divide by the artist's number of tracks.

    Args:
        counts: ``(n_tracks, n_words)`` counts of the tracks to pool.
        artists: the artist key of each track.
    Returns:
        (artist names in sorted order, ``(n_artists, n_words)`` bags, tracks per artist).
    """
    names, index, n_tracks = np.unique(np.asarray(artists, dtype=object).astype(str), return_inverse=True, return_counts=True)
    membership = sp.csr_matrix((1.0 / n_tracks[index], (index, np.arange(len(index)))), shape=(len(names), len(index)))
    return names.tolist(), sp.csr_matrix(membership @ sp.csr_matrix(counts)), n_tracks
