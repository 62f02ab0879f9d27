"""The experiment grid: 62 cases for gsedm, the networks they share, and the report tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agf.errors import AgfError
from agf.experiments.grid import (
    Case,
    Network,
    networks_of,
    plan_cases,
    task_subsets,
)
from agf.experiments.report import table3, table4, table5, write_report
from agf.tasks import parse_tasks as ordered
from agf.workdir import Workdir


def test_the_papers_62_cases():
    tasks = ordered("gsedm")
    assert len(task_subsets(tasks)) == 31
    cases = plan_cases(tasks)
    assert len([c for c in cases if c.arch == "stn"]) == 31
    assert len([c for c in cases if c.arch == "mtn"]) == 26  # + 5 single-task MTNs, which are the STNs
    assert len(cases) == 57  # 62 cases of which 5 coincide
    nets = networks_of(cases)
    assert sum(n.arch == "stn" for n in nets) == 5 and sum(n.arch == "mtn" for n in nets) == 26


def test_feature_sources_share_stns_and_order_tasks():
    assert Case("stn", ("g", "m")).feature_sources() == [(Network("stn", ("g",)), "g"), (Network("stn", ("m",)), "m")]
    assert Case("mtn", ("g", "m")).feature_sources() == [(Network("mtn", ("g", "m")), "g"), (Network("mtn", ("g", "m")), "m")]
    assert Case("mtn", ("e",)).feature_sources() == [(Network("stn", ("e",)), "e")]
    assert Case("wstn", ("g", "s", "e")).feature_sources() == [(Network("wstn", ("g", "s", "e")), "g")]
    assert ordered("mdg") == ("g", "d", "m")
    with pytest.raises(AgfError, match="unknown task"):
        ordered("gx")


def test_wstn_cases_for_2_to_n_tasks():
    wstn = [c for c in plan_cases(ordered("gedm"), wstn=True) if c.arch == "wstn"]
    assert [c.tasks for c in wstn] == [("g", "e"), ("g", "e", "d"), ("g", "e", "d", "m")]


def fake_results() -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    for case in plan_cases(ordered("gsm"), wstn=True):
        tasks = "".join(case.tasks)
        rows.append({"tasks": tasks, "arch": case.arch, "n_tasks": len(tasks), "n_params": 1000 * len(tasks),
                     "log_loss": 1.0 - 0.05 * len(tasks) + rng.uniform(0, 0.01), "f1_macro": 0.5 + 0.02 * len(tasks),
                     "accuracy": 0.6, "valid_log_loss": rng.uniform(0.8, 1.0), "scored_on": "test",
                     "n_train_tracks": 100, "n_val_tracks": 20, "n_test_tracks": 20})
    rows.append({"tasks": "-", "arch": "baseline", "n_tasks": 0, "n_params": 0, "log_loss": 0.95, "f1_macro": 0.5,
                 "accuracy": 0.55, "valid_log_loss": 0.9, "scored_on": "test", "n_train_tracks": 100,
                 "n_val_tracks": 20, "n_test_tracks": 20})
    return pd.DataFrame(rows)


def test_tables_are_computed_from_the_results():
    results = fake_results()
    t3 = table3(results)
    stn_with_g = results[(results["arch"] == "stn") & results["tasks"].str.contains("g")]["log_loss"].mean()
    assert t3.loc["with g", "LogLoss STN"] == pytest.approx(stn_with_g)
    t4 = table4(results)
    assert list(t4.index) == ["g", "s", "m", "gs", "gm", "sm", "gsm"]
    assert np.isnan(t4.loc["g", "MTN LogLoss"])
    t5 = table5(results)
    assert list(t5.index) == [2, 3]
    # the best of N tasks is chosen on validation, and shown with its test score
    two = results[(results["arch"] == "stn") & (results["n_tasks"] == 2)]
    chosen = two.loc[two["valid_log_loss"].idxmin()]
    assert t5.loc[2, "LogLoss stn"] == pytest.approx(chosen["log_loss"])
    assert t5.loc[2, "tasks stn"] == chosen["tasks"] != two.loc[two["log_loss"].idxmin(), "tasks"]


def test_report_files(tmp_path):
    fake_results().to_csv(tmp_path / "results.csv", index=False)
    md, page = write_report(Workdir(tmp_path), title="t", context={"dataset": "fake"}, images={})
    text = md.read_text()
    assert "Table 3" in text and "Table 4" in text and "Table 5" in text and "figure3.png" in text
    assert "baseline" in text and (tmp_path / "figure3.png").stat().st_size > 1000
    assert "<table" in page.read_text()
