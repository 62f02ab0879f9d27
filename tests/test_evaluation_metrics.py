"""Track metrics against scikit-learn and hand-computed values; the report files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from agf.evaluation.metrics import confusion_matrix, log_loss, score
from agf.evaluation.report import write_report


def _random_case(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    y_true = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y_true]  # better than chance, not perfect
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y_true, probs


@pytest.mark.parametrize("seed,n,k", [(0, 50, 3), (1, 400, 16), (2, 7, 5), (3, 1000, 40)])
def test_every_metric_equals_scikit_learn(seed, n, k):
    y_true, probs = _random_case(np.random.default_rng(seed), n, k)
    labels = list(range(k))
    y_pred = probs.argmax(axis=1)
    s = score(y_true, probs, [f"g{i}" for i in range(k)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined precision of never-predicted classes: 0 either way
        assert s.log_loss == pytest.approx(skm.log_loss(y_true, probs, labels=labels), rel=1e-12)
        assert s.macro_f1 == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"), rel=1e-12)
        assert s.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred), rel=1e-12)
        p, r, f, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels)
    table = s.per_class()
    np.testing.assert_allclose(table["precision"], p, rtol=1e-12)
    np.testing.assert_allclose(table["recall"], r, rtol=1e-12)
    np.testing.assert_allclose(table["f1"], f, rtol=1e-12)
    np.testing.assert_array_equal(table["support"], support)
    np.testing.assert_array_equal(s.confusion, skm.confusion_matrix(y_true, y_pred, labels=labels))


def test_hand_built_case():
    # 4 tracks, 3 genres; track 3 is wrong (true 2, predicted 0)
    y_true = np.array([0, 1, 2, 2])
    probs = np.array([[0.7, 0.2, 0.1],
                      [0.1, 0.8, 0.1],
                      [0.25, 0.25, 0.5],
                      [0.6, 0.3, 0.1]])
    s = score(y_true, probs, ("a", "b", "c"))
    assert s.log_loss == pytest.approx(-(np.log(0.7) + np.log(0.8) + np.log(0.5) + np.log(0.1)) / 4)
    assert s.accuracy == 0.75
    np.testing.assert_array_equal(s.confusion, [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
    # a: P 1/2 R 1 F 2/3; b: 1, 1, 1; c: P 1 R 1/2 F 2/3
    assert s.macro_f1 == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    table = s.per_class()
    assert table.loc["a", "precision"] == 0.5 and table.loc["c", "recall"] == 0.5


def test_zero_probability_is_clipped_not_infinite():
    y_true = np.array([0, 1])
    probs = np.array([[0.0, 1.0], [0.0, 1.0]])  # the first track gets 0 for its true genre
    assert log_loss(y_true, probs) == pytest.approx(-np.log(1e-15) / 2)


def test_macro_f1_averages_the_genres_present_in_truth_or_predictions():
    # the model knows 4 genres; the tracks hold two, the model also predicts a third, never the fourth
    y_true = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.05, 0.05, 0.0], [0.2, 0.1, 0.7, 0.0], [0.1, 0.8, 0.1, 0.0], [0.1, 0.8, 0.1, 0.0]])
    s = score(y_true, probs, ("a", "b", "c", "d"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = skm.f1_score(y_true, probs.argmax(1), average="macro", zero_division=0)
    # a: P 1 R 1/2 F 2/3; b: 1, 1, 1; c: predicted once, never true: 0; d: neither, left out
    assert s.macro_f1 == pytest.approx(expected) == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert s.per_class()["support"].tolist() == [2, 2, 0, 0]  # the table still lists every genre
    assert confusion_matrix(y_true, probs.argmax(1), 4)[:, 3].sum() == 0


def test_report_files(tmp_path):
    y_true, probs = _random_case(np.random.default_rng(5), 60, 3)
    s = score(y_true, probs, ("classical", "jazz", "rock"))
    paths = write_report(s, tmp_path / "out", extra={"model": "x"})
    metrics = json.loads(paths["metrics.json"].read_text())
    assert metrics["log_loss"] == pytest.approx(s.log_loss) and metrics["model"] == "x"
    assert metrics["genres"] == ["classical", "jazz", "rock"] and metrics["n_tracks"] == 60
    confusion = pd.read_csv(paths["confusion.csv"], index_col=0)
    np.testing.assert_array_equal(confusion.to_numpy(), skm.confusion_matrix(y_true, probs.argmax(1)))
    assert list(confusion.columns) == ["classical", "jazz", "rock"]
    per_class = pd.read_csv(paths["per_class.csv"], index_col=0)
    assert list(per_class.index) == ["classical", "jazz", "rock"]
    assert paths["confusion.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
