"""Song-level descriptor matrix of the e task: column selection and quantile normalisation."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import QuantileTransformer


def descriptor_matrix(rows: list[dict[str, float]]) -> tuple[np.ndarray, list[str]]:
    """Stack per-track ``{column: value}`` dicts into ``(n_tracks, n_columns)`` float64.

    Columns are in first-seen order (Essentia's own); a column a track lacks is NaN there, so
    the selection below drops it.
    """
    columns: dict[str, int] = {}
    for row in rows:
        for name in row:
            columns.setdefault(name, len(columns))
    matrix = np.full((len(rows), len(columns)), np.nan)
    for i, row in enumerate(rows):
        matrix[i, [columns[n] for n in row]] = list(row.values())
    return matrix, list(columns)


def usable_columns(train: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns that are finite on every training track and not constant."""
    finite = np.isfinite(train).all(axis=0)
    safe = np.where(np.isfinite(train), train, 0.0)
    varies = safe.max(axis=0, initial=-np.inf) > safe.min(axis=0, initial=np.inf)
    return finite & varies


def fit_quantile_normaliser(train: np.ndarray, *, seed: int = 0) -> QuantileTransformer:
    """Map each column to a standard normal through its training quantiles (up to 1,000 of them)."""
    transformer = QuantileTransformer(output_distribution="normal", n_quantiles=min(1000, len(train)),
                                      subsample=100_000, random_state=seed)
    return transformer.fit(train)


def normalise(transformer: QuantileTransformer, matrix: np.ndarray) -> np.ndarray:
    """Quantile-normalised ``matrix`` as float32; a non-finite value of a held-out track becomes
    0, the training median after the mapping."""
    out = transformer.transform(np.where(np.isfinite(matrix), matrix, np.nan))
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
