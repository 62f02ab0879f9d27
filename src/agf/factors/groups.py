"""Artist groups: LDA topics over artist bags, and the model saved as plain arrays (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import LatentDirichletAllocation

_LDA_PARAMS = ("n_components", "doc_topic_prior", "topic_word_prior", "learning_method", "learning_decay",
               "learning_offset", "max_iter", "batch_size", "evaluate_every", "total_samples", "perp_tol",
               "mean_change_tol", "max_doc_update_iter", "random_state")
_LDA_STATE = ("components_", "exp_dirichlet_component_", "doc_topic_prior_", "topic_word_prior_",
              "n_batch_iter_", "n_iter_", "bound_", "n_features_in_")


def fit_artist_groups(bags: sp.spmatrix | np.ndarray, *, n_groups: int = 40, seed: int = 0,
                      max_iter: int = 50) -> tuple[LatentDirichletAllocation, np.ndarray]:
    """Fit LDA with ``n_groups`` topics on ``(n_artists, n_words)`` bags (batch variational Bayes).

    Returns the model and the ``(n_artists, n_groups)`` float32 topic distributions, rows
    summing to 1. Every bag must be non-empty (an empty bag has no evidence; callers leave
    those artists out).
    """
    bags = sp.csr_matrix(bags)
    if (np.asarray(bags.sum(axis=1)).ravel() <= 0).any():
        raise ValueError("an artist bag is empty: leave such artists out before fitting")
    lda = LatentDirichletAllocation(n_components=n_groups, learning_method="batch", max_iter=max_iter,
                                    random_state=seed)
    lda.fit(bags)
    return lda, group_distributions(lda, bags)


def group_distributions(lda: LatentDirichletAllocation, bags: sp.spmatrix | np.ndarray) -> np.ndarray:
    """``(n_bags, n_groups)`` float32 topic distributions of bags under a fitted LDA, rows sum to 1."""
    theta = lda.transform(sp.csr_matrix(bags)).astype(np.float64)
    theta /= theta.sum(axis=1, keepdims=True)
    return theta.astype(np.float32)


def one_hot_argmax(distributions: np.ndarray) -> np.ndarray:
    """Hard targets: 1 at each row's most probable group."""
    hard = np.zeros_like(distributions)
    hard[np.arange(len(distributions)), distributions.argmax(axis=1)] = 1
    return hard


def save_lda(lda: LatentDirichletAllocation, path: Path) -> None:
    """The fitted model as an ``.npz`` of arrays plus its parameters as JSON text."""
    params = {name: getattr(lda, name) for name in _LDA_PARAMS}
    state = {name: np.asarray(getattr(lda, name)) for name in _LDA_STATE}
    np.savez(path, params=np.array(json.dumps(params)), **state)


def load_lda(path: Path) -> LatentDirichletAllocation:
    """Rebuild a fitted LDA from :func:`save_lda`'s file, ready for ``transform``."""
    with np.load(path, allow_pickle=False) as data:
        lda = LatentDirichletAllocation(**json.loads(str(data["params"])))
        for name in _LDA_STATE:
            value = data[name]
            setattr(lda, name, value if value.ndim else value.item())
    return lda
