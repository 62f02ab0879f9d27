"""Temperature scaling and the expected calibration error against hand-computed values and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from agf.evaluation.calibration import apply_temperature, calibrate, expected_calibration_error, fit_temperature
from agf.evaluation.metrics import log_loss


def _overconfident(n: int, seed: int, sharpness: float = 3.0):
    """Tracks whose model is right 70 % of the time but says so with ~95 % confidence."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    guess = np.where(rng.random(n) < 0.7, y, (y + rng.integers(1, 4, n)) % 4)
    logits = rng.normal(0, 0.3, (n, 4)) + np.eye(4)[guess] * sharpness
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_a_temperature_keeps_the_ranking_and_one_is_the_identity():
    _, probs = _overconfident(50, 0)
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs, rtol=1e-12)
    for t in (0.5, 2.0, 7.0):
        scaled = apply_temperature(probs, t)
        np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
        assert (scaled.argmax(axis=1) == probs.argmax(axis=1)).all()
    # by hand: (0.8, 0.2) at T = 2 is (sqrt .8, sqrt .2) / (sqrt .8 + sqrt .2) = (2/3, 1/3)
    np.testing.assert_allclose(apply_temperature(np.array([[0.8, 0.2]]), 2.0), [[2 / 3, 1 / 3]])


def test_the_fitted_temperature_is_the_brute_force_minimum():
    y, probs = _overconfident(400, 1)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 4001))
    best = grid[np.argmin([log_loss(y, apply_temperature(probs, t)) for t in grid])]
    t = fit_temperature(y, probs)
    assert t == pytest.approx(best, rel=5e-3) and t > 1  # overconfident: softened


def test_expected_calibration_error_by_hand():
    # 4 tracks in two bins of 15: confidences 0.95, 0.95 (one right) and 0.55, 0.55 (both right)
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.45, 0.55]])
    y = np.array([0, 1, 0, 1])
    assert expected_calibration_error(y, probs) == pytest.approx(0.5 * abs(0.5 - 0.95) + 0.5 * abs(1.0 - 0.55))


def test_calibration_of_an_overconfident_model_is_scored_on_tracks_it_was_not_fitted_to():
    y, probs = _overconfident(600, 2)
    c = calibrate(y, probs)
    assert c.temperature > 1.3 and c.log_loss_after < c.log_loss_before and c.ece_after < c.ece_before / 2
    assert c.chosen == c.temperature
    # calibrated by construction (each truth drawn from the model's own distribution): nothing to gain
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 1.5, (2000, 4))
    honest_probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y2 = np.array([rng.choice(4, p=p) for p in honest_probs])
    honest = calibrate(y2, honest_probs)
    assert honest.temperature == pytest.approx(1.0, abs=0.1)
    assert abs(honest.log_loss_after - honest.log_loss_before) < 0.01
    assert honest.chosen == (honest.temperature if honest.log_loss_after < honest.log_loss_before else 1.0)
