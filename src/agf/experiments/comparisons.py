"""The paper's questions as paired comparisons on the grid's test tracks, with intervals.

Each question compares two cases scored on the same tracks (:func:`agf.evaluation.intervals.paired_difference`):

- does learning artist group factors help? the best case with g and AG tasks against the STN g (Table 3);
- does sharing a first block help? the MTN against the STN of the same tasks, for the most tasks;
- is it the tasks or the size? the best N-task STN or MTN against the wSTN of N tasks (Table 5);
- is the deep model worth it? the best case against the classical baseline;
- does the classical baseline add to the networks? the best ``+b`` case against the same case without.

"The best" is picked on the validation tracks (``valid_log_loss``), and the pair is compared on
the test tracks, which the choice never saw. A grid without test tracks (a two-way split) can
only compare on the validation tracks it chose on, which favours the chosen: the report says so.
With K folds the tracks of every fold are compared, resampled within their fold, and
``folds_a_better`` counts the folds where A's mean log loss is lower.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agf.evaluation.intervals import metric_intervals, paired_difference
from agf.evaluation.metrics import PROB_FLOOR
from agf.experiments.grid import paper_cases
from agf.tasks import PLUS_B

COMPARISON_COLUMNS = ["question", "a", "b", "log_loss_a_minus_b", "low", "high", "p_value", "folds_a_better"]


def _name(row: pd.Series) -> str:
    return "baseline" if row["arch"] == "baseline" else f"{row['arch']} {row['tasks']}"


def add_intervals(results: pd.DataFrame, n_classes: int, *, seed: int = 0) -> pd.DataFrame:
    """``results`` with a 95 % bootstrap interval (``<metric>_low``, ``<metric>_high``) of each case's
    log loss, macro F1 and accuracy, from the ``per_track`` record of each row."""
    results = results.copy()
    for index, row in results.iterrows():
        for metric, (low, high) in metric_intervals(row["per_track"], n_classes, seed=seed).items():
            results.loc[index, f"{metric}_low"], results.loc[index, f"{metric}_high"] = low, high
    return results


def _best(cases: pd.DataFrame) -> pd.Series:
    """The case chosen on validation."""
    return cases.loc[cases["valid_log_loss"].idxmin()]


def _folds_a_better(a: dict[str, list], b: dict[str, list]) -> str:
    if "fold" not in a:
        return ""
    frame = pd.DataFrame({"fold": a["fold"], "a": a["p_true"], "b": b["p_true"]})
    # a higher mean log-probability of the truth is a lower log loss
    means = frame.groupby("fold")[["a", "b"]].agg(lambda p: np.log(np.clip(p, PROB_FLOOR, 1.0)).mean())
    return f"{int((means['a'] > means['b']).sum())} of {len(means)}"


def paired_comparisons(results: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """One row per question the grid's cases can answer (none when a case it needs is missing)."""
    every = results[results["arch"] != "baseline"]
    deep = paper_cases(results)
    pairs = []
    genre_only = deep[(deep["arch"] == "stn") & (deep["tasks"] == "g")]
    with_ag = deep[deep["tasks"].str.contains("g") & (deep["tasks"].str.len() > 1)]
    if len(genre_only) and len(with_ag):
        pairs.append(("g + artist group factors vs g only (Table 3)", _best(with_ag),
                      genre_only.iloc[0]))
    shared = deep[deep["arch"] == "mtn"]
    if len(shared):
        mtn = shared.loc[shared["n_tasks"].idxmax()]
        stn = deep[(deep["arch"] == "stn") & (deep["tasks"] == mtn["tasks"])]
        if len(stn):
            pairs.append(("MTN vs STN of the same tasks", mtn, stn.iloc[0]))
    for _, wstn in deep[deep["arch"] == "wstn"].iterrows():
        same_n = deep[deep["arch"].isin(["stn", "mtn"]) & (deep["n_tasks"] == wstn["n_tasks"])]
        if len(same_n):
            pairs.append((f"multi-task vs wSTN of equal size, N = {wstn['n_tasks']} (Table 5)",
                          _best(same_n), wstn))
    plus_b = every[every["tasks"].str.endswith(PLUS_B)]
    if len(plus_b):
        with_b = _best(plus_b)
        without = deep[(deep["arch"] == with_b["arch"])
                       & (deep["tasks"] == with_b["tasks"].removesuffix(PLUS_B))]
        if len(without):
            pairs.append(("networks pooled with the classical baseline vs networks only (best +b case)", with_b,
                          without.iloc[0]))
    baseline = results[results["arch"] == "baseline"]
    if len(every) and len(baseline):
        pairs.append(("best case vs classical baseline", _best(every), baseline.iloc[0]))
    rows = []
    for question, a, b in pairs:
        d = paired_difference(a["per_track"], b["per_track"], seed=seed)
        rows.append([question, _name(a), _name(b), d.mean, d.low, d.high, d.p_value,
                     _folds_a_better(a["per_track"], b["per_track"])])
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
