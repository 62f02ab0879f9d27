"""The transfer MLP: architecture of SPEC section 4, learning, seeding, track means, and the
batched training and scoring of many cases against each case alone and against plain torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from agf.classifier.mlp import (
    MLPSettings,
    TransferMLP,
    segment_probabilities,
    segment_probabilities_many,
    track_means,
    train_mlp,
    train_mlps,
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


# Cases of a small grid over 48 feature columns: two of width 32 (one reading its columns
# backwards), an overlapping one of width 32 made of three pieces, one of 16, one of 48.
COLUMNS = [np.arange(16, 48), np.arange(16), np.arange(32)[::-1].copy(), np.r_[40:48, 0:8, 20:36], np.arange(48)]


def _grid_data(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """``n`` segments (not a multiple of the batch of 64, so the last batch is short) of 3 genres."""
    return _blobs(np.random.default_rng(5), n, dim=48)


def _weights(mlp: TransferMLP) -> dict[str, torch.Tensor]:
    return {name: w.detach().cpu() for name, w in mlp.state_dict().items()}


@pytest.mark.parametrize("dropout", [0.5, 0.0])
def test_a_case_learns_the_same_in_a_batch_as_alone(dropout):
    # A case's random numbers depend on the seed and its width alone, and its arithmetic is its
    # own (batched products run each case's GEMM alone, the loss and Adam are elementwise), so
    # the weights agree to float rounding; they came out bit-equal here, and the 1e-6 only allows
    # for a BLAS that blocks a batched product differently than a single one.
    x, y = _grid_data()
    settings = MLPSettings(epochs=2, hidden=32, dropout=dropout, seed=7)
    together = train_mlps(x, y, COLUMNS, 3, settings, progress=False)
    assert [m.n_inputs for m in together] == [len(c) for c in COLUMNS]
    for case, cols in enumerate(COLUMNS):
        alone = train_mlps(x, y, [cols], 3, settings, progress=False)[0]
        torch.testing.assert_close(_weights(together[case]), _weights(alone), rtol=0, atol=1e-6)
    # and train_mlp is the batch of one
    single = train_mlp(np.ascontiguousarray(x[:, COLUMNS[0]]), y, 3, settings, progress=False)
    torch.testing.assert_close(_weights(single), _weights(together[0]), rtol=0, atol=1e-6)


def _reference_training(x: np.ndarray, y: np.ndarray, settings: MLPSettings) -> TransferMLP:
    """The training loop written with plain torch: nn.Linear, nn.Dropout, torch.optim.Adam,
    initialised and dropped out by the global generator seeded with the settings' seed."""
    torch.manual_seed(settings.seed)
    model = TransferMLP(x.shape[1], 3, hidden=settings.hidden, dropout=settings.dropout).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    order = torch.Generator().manual_seed(settings.seed)
    features, labels = torch.as_tensor(x).float(), torch.as_tensor(y)
    for _ in range(settings.epochs):
        permutation = torch.randperm(len(features), generator=order)
        for lo in range(0, len(features), settings.batch_size):
            batch = permutation[lo:lo + settings.batch_size]
            loss = F.cross_entropy(model(features[batch]), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_the_batched_maths_is_torchs(dropout):
    # the stacked products, ELU, cross-entropy, backward and fused Adam against torch's own
    # modules, case by case; with dropout on, a case on the CPU also draws nn.Dropout's very
    # masks (the noise continues the seeded stream that initialised the weights). Tolerance:
    # float rounding (fused vs per-tensor Adam, batched vs single GEMM) over 10 steps: ~3e-8 here.
    x, y = _grid_data()
    settings = MLPSettings(epochs=2, hidden=32, dropout=dropout, seed=11)
    together = train_mlps(x, y, COLUMNS, 3, settings, progress=False)
    for case, cols in enumerate(COLUMNS):
        reference = _reference_training(np.ascontiguousarray(x[:, cols]), y, settings)
        torch.testing.assert_close(_weights(together[case]), _weights(reference), rtol=1e-5, atol=1e-6)


def test_scores_every_case_in_one_pass_like_each_alone():
    x, y = _grid_data()
    mlps = train_mlps(x, y, COLUMNS, 3, MLPSettings(epochs=1, hidden=32), progress=False)
    together = segment_probabilities_many(mlps, x, COLUMNS, batch_size=37)
    assert len(together) == len(COLUMNS)
    for mlp, cols, probs in zip(mlps, COLUMNS, together):
        with torch.no_grad():  # the module's own forward, eval mode
            expected = torch.softmax(mlp.eval()(torch.as_tensor(x[:, cols]).float()), dim=1).double().numpy()
        assert probs.shape == (len(x), 3) and probs.dtype == np.float64
        np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-6)
        np.testing.assert_allclose(segment_probabilities(mlp, np.ascontiguousarray(x[:, cols])), probs,
                                   rtol=0, atol=1e-6)


def test_columns_of_other_cases_never_leak():
    # NaN in the columns only case 1 reads: case 0 trains and scores as on clean features
    x, y = _grid_data()
    clean = np.concatenate([x, np.zeros((len(x), 8), np.float16)], axis=1)
    poisoned = clean.copy()
    poisoned[:, 48:] = np.nan
    columns = [np.arange(16), np.r_[0:8, 48:56]]
    settings = MLPSettings(epochs=1, hidden=32)
    mlps = train_mlps(poisoned, y, columns, 3, settings, progress=False)
    alone = train_mlps(clean, y, columns[:1], 3, settings, progress=False)[0]
    torch.testing.assert_close(_weights(mlps[0]), _weights(alone), rtol=0, atol=1e-6)
    assert not torch.isfinite(mlps[1].layers[1].weight).all()  # the poison did reach its own case
    probs = segment_probabilities_many(mlps, poisoned, columns)
    np.testing.assert_allclose(probs[0], segment_probabilities(alone, np.ascontiguousarray(clean[:, :16])), atol=1e-6)
    assert np.isnan(probs[1]).all()


def test_columns_must_fit_the_features_and_the_mlps():
    x, y = _grid_data(80)
    with pytest.raises(ValueError, match="outside the 48 feature columns"):
        train_mlps(x, y, [np.arange(40, 50)], 3, MLPSettings(epochs=1, hidden=8), progress=False)
    mlp = TransferMLP(16, 3, hidden=8)
    with pytest.raises(ValueError, match="an MLP of 16 inputs"):
        segment_probabilities_many([mlp], x, [np.arange(20)])
    with pytest.raises(ValueError, match="one column list per MLP"):
        segment_probabilities_many([mlp, mlp], x, [np.arange(16)])
