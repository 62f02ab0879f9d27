"""Bootstrap intervals and paired comparisons against hand-computed bootstrap distributions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agf.evaluation.intervals import metric_intervals, paired_difference, per_track


def _record(p_true: list[float], correct: list[bool]) -> dict[str, list]:
    """Two-class tracks of class 0 whose probability of the truth is ``p_true``; predicted 0 where ``correct``."""
    probs = np.array([[p, 1 - p] for p in p_true])
    record = per_track([f"t{i:04d}" for i in range(len(p_true))], np.zeros(len(p_true), dtype=np.int64), probs)
    record["y_pred"] = [0 if c else 1 for c in correct]
    return record


def test_the_interval_of_the_mean_log_loss_is_the_exact_bootstrap_distributions():
    losses = np.array([0.1, 0.5, 1.2, 2.0])
    record = _record(list(np.exp(-losses)), [True] * 4)
    # every one of the 4**4 resamples is equally likely: the exact bootstrap distribution of the mean
    means = np.sort([losses[list(r)].mean() for r in itertools.product(range(4), repeat=4)])
    exact = (means[int(np.ceil(0.025 * len(means))) - 1], means[int(np.ceil(0.975 * len(means))) - 1])
    # by hand: the 7th smallest of the 256 means is 0.3 (0.1 once, 0.2 four times, then 0.3 = (0.1 + 0.1
    # + 0.5 + 0.5) / 4 six times), the 7th largest 1.625 (2.0 once, 1.8 four times, then (3 * 2.0 + 0.5) / 4)
    assert exact == pytest.approx((0.3, 1.625))
    low, high = metric_intervals(record, 2, resamples=200_000, seed=1)["log_loss"]
    assert low == pytest.approx(exact[0], abs=0.03) and high == pytest.approx(exact[1], abs=0.03)


def test_accuracy_and_f1_intervals_hold_the_point_and_shrink_with_more_tracks():
    small = _record([0.9] * 10, [True] * 7 + [False] * 3)
    large = _record([0.9] * 1000, [True] * 700 + [False] * 300)
    a, b = metric_intervals(small, 2, seed=0), metric_intervals(large, 2, seed=0)
    for name, point in (("accuracy", 0.7), ("f1_macro", None)):
        assert a[name][0] <= b[name][0] <= b[name][1] <= a[name][1]
        if point is not None:
            assert a[name][0] < point < a[name][1] and b[name][1] - b[name][0] < 0.07  # ~ 4 * sqrt(.21 / 1000)


def test_a_paired_difference_matches_its_hand_computed_bootstrap_p_value():
    # per-track differences A - B of -1, -1, -1, +1: the number k of +1 drawn in 4 is Binomial(4, 1/4);
    # the resampled mean (2k - 4) / 4 is >= 0 when k >= 2 (p = 0.2617) and <= 0 when k <= 2 (p = 0.9492)
    b = _record([np.exp(-1.0)] * 4, [True] * 4)
    a = _record([1.0, 1.0, 1.0, np.exp(-2.0)], [True] * 4)
    d = paired_difference(a, b, resamples=200_000, seed=2)
    assert d.mean == pytest.approx(-0.5)
    assert d.p_value == pytest.approx(2 * (1 - 0.75**4 - 4 * 0.25 * 0.75**3), abs=0.006)
    assert (d.low, d.high) == pytest.approx((-1.0, 0.5))


def test_identical_models_do_not_differ_and_a_model_better_on_every_track_does():
    a = _record([0.9, 0.8, 0.7, 0.6, 0.5], [True] * 5)
    same = paired_difference(a, a, resamples=500)
    assert (same.mean, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    worse = _record([0.5, 0.4, 0.3, 0.2, 0.1], [True] * 5)
    better = paired_difference(a, worse, resamples=500)
    assert better.high < 0 and better.p_value == 1 / 500


def test_records_of_other_tracks_are_not_compared():
    with pytest.raises(ValueError, match="same tracks"):
        paired_difference(_record([0.5], [True]), _record([0.5, 0.5], [True, True]))


def test_records_pair_up_by_track_whatever_order_the_tracks_came_in():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    a = per_track(["c", "a", "b"], np.array([0, 1, 0]), probs)
    b = per_track(["a", "b", "c"], np.array([1, 0, 0]), probs[[1, 2, 0]])
    assert a == b and a["track_id"] == ["a", "b", "c"] and a["p_true"] == [0.8, 0.6, 0.9]
