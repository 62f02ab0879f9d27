"""The transfer MLP: architecture of SPEC section 4, learning, seeding, track means."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from agf.classifier.mlp import (
    MLPSettings,
    TransferMLP,
    segment_probabilities,
    track_means,
    train_mlp,
)


def test_architecture_is_the_specs():
    mlp = TransferMLP(1280, 16)
    kinds = [type(m) for m in mlp.layers]
    assert kinds == [nn.Dropout, nn.Linear, nn.ELU, nn.Dropout, nn.Linear]
    assert mlp.layers[0].p == 0.5 and mlp.layers[3].p == 0.5
    assert (mlp.layers[1].in_features, mlp.layers[1].out_features) == (1280, 1024)
    assert (mlp.layers[4].in_features, mlp.layers[4].out_features) == (1024, 16)


def _blobs(rng: np.random.Generator, n: int, dim: int = 32, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(scale=2.0, size=(k, dim))
    y = rng.integers(0, k, n)
    return (centres[y] + rng.normal(size=(n, dim))).astype(np.float16), y


def test_learns_separable_classes_and_is_seeded():
    rng = np.random.default_rng(0)
    x, y = _blobs(rng, 600)
    settings = MLPSettings(epochs=3, hidden=64, seed=3)
    a = train_mlp(x, y, 3, settings, progress=False)
    probs = segment_probabilities(a, x)
    assert probs.shape == (600, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert (probs.argmax(axis=1) == y).mean() > 0.95
    b = train_mlp(x, y, 3, settings, progress=False)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    c = train_mlp(x, y, 3, MLPSettings(epochs=3, hidden=64, seed=4), progress=False)
    assert not torch.equal(a.layers[1].weight, c.layers[1].weight)


def test_eval_mode_prediction_is_deterministic():
    # dropout must be off at prediction time
    rng = np.random.default_rng(1)
    x, y = _blobs(rng, 200)
    mlp = train_mlp(x, y, 3, MLPSettings(epochs=1, hidden=32), progress=False)
    np.testing.assert_array_equal(segment_probabilities(mlp, x), segment_probabilities(mlp, x))
    np.testing.assert_allclose(segment_probabilities(mlp, x), segment_probabilities(mlp, x, batch_size=7), atol=1e-6)


def test_track_mean_by_hand():
    seg = np.array([[0.2, 0.8], [0.6, 0.4], [1.0, 0.0], [0.1, 0.9], [0.3, 0.7]])
    track = np.array([0, 0, 1, 2, 2])
    np.testing.assert_allclose(track_means(seg, track, 3), [[0.4, 0.6], [1.0, 0.0], [0.2, 0.8]])
    with pytest.raises(ValueError, match="no segments"):
        track_means(seg, track, 4)
