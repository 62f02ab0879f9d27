"""Reports laid out as the paper's Tables 3, 4, 5 and Figure 3, from ``results.csv`` alone.

Every number in a report is computed here from the runs that exist; nothing is typed in,
except the paper's own published figures, shown beside ours and labelled as the paper's.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from agf.atomic import write_text
from agf.tasks import TASKS
from agf.workdir import Workdir

RESULT_COLUMNS = ["tasks", "arch", "n_tasks", "n_params", "log_loss", "f1_macro", "accuracy",
                  "n_train_tracks", "n_val_tracks", "log_loss_low", "log_loss_high", "f1_macro_low", "f1_macro_high",
                  "accuracy_low", "accuracy_high"]

# SPEC section 6: the paper's figures on FMA-medium (internal stratified random 85/15 split)
PAPER = pd.DataFrame(
    [("g", "stn", 0.8891, 0.5963), ("gsedm", "stn", 0.7894, 0.6599), ("gsedm", "mtn", 0.7727, 0.6571),
     ("gsedm", "wstn", 0.8290, 0.6528)],
    columns=["tasks", "arch", "log_loss", "f1_macro"],
)


def _fmt(value: float) -> str:
    return "N/A" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4f}"


def table3(results: pd.DataFrame) -> pd.DataFrame:
    """Mean log loss and F1 of the cases with and without the genre task g, per architecture.

    Single-task cases count for STN only (a single-task MTN is the STN), as in Table 4.
    """
    deep = results[results["arch"].isin(["stn", "mtn"])].copy()
    deep["with_g"] = deep["tasks"].str.contains("g")
    rows = []
    for with_g, label in ((False, "without g"), (True, "with g")):
        part = deep[deep["with_g"] == with_g]
        row = {"": label}
        for metric, name in (("log_loss", "LogLoss"), ("f1_macro", "F1")):
            for arch in ("stn", "mtn"):
                values = part.loc[part["arch"] == arch, metric]
                row[f"{name} {arch.upper()}"] = values.mean() if len(values) else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("")


def table4(results: pd.DataFrame) -> pd.DataFrame:
    """One row per task set (paper order): STN and MTN log loss and F1."""
    deep = results[results["arch"].isin(["stn", "mtn"])]
    order = sorted(deep["tasks"].unique(), key=lambda t: (len(t), [TASKS.index(c) for c in t]))
    rows = []
    for tasks in order:
        row = {"tasks": tasks}
        for arch in ("stn", "mtn"):
            match = deep[(deep["tasks"] == tasks) & (deep["arch"] == arch)]
            row["STN LogLoss" if arch == "stn" else "MTN LogLoss"] = match["log_loss"].iloc[0] if len(match) else np.nan
            row[f"{arch.upper()} F1"] = match["f1_macro"].iloc[0] if len(match) else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["tasks", "STN LogLoss", "STN F1", "MTN LogLoss", "MTN F1"]).set_index("tasks")


def table5(results: pd.DataFrame) -> pd.DataFrame:
    """For N tasks: wSTN against the best N-task STN and MTN (best by log loss)."""
    rows = []
    for n in sorted(results.loc[results["arch"] == "wstn", "n_tasks"].unique()):
        row = {"N": int(n)}
        for arch in ("wstn", "stn", "mtn"):
            part = results[(results["arch"] == arch) & (results["n_tasks"] == n)]
            best = part.loc[part["log_loss"].idxmin()] if len(part) else None
            row[f"LogLoss {arch}"] = best["log_loss"] if best is not None else np.nan
            row[f"F1 {arch}"] = best["f1_macro"] if best is not None else np.nan
            row[f"tasks {arch}"] = best["tasks"] if best is not None else ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("N") if rows else pd.DataFrame()


def figure3(results: pd.DataFrame, path: Path) -> Path:
    """Mean log loss and F1 against the number of learning tasks, STN and MTN (PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    deep = results[results["arch"].isin(["stn", "mtn"])]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, metric, label in ((axes[0], "log_loss", "log loss (lower is better)"), (axes[1], "f1_macro", "macro F1")):
        for arch, marker in (("stn", "o"), ("mtn", "s")):
            part = deep[deep["arch"] == arch]
            if arch == "mtn":  # a single-task MTN is the STN
                part = pd.concat([part, deep[(deep["arch"] == "stn") & (deep["n_tasks"] == 1)]])
            means = part.groupby("n_tasks")[metric].mean()
            ax.plot(means.index, means.values, marker=marker, label=arch.upper())
        baseline = results[results["arch"] == "baseline"]
        if len(baseline):
            ax.axhline(baseline[metric].iloc[0], color="grey", linestyle="--", label="MFCC+contrast LR")
        ax.set_xlabel("number of learning tasks")
        ax.set_ylabel(label)
        ax.set_xticks(sorted(deep["n_tasks"].unique()))
        ax.grid(alpha=0.3)
    axes[1].legend()
    fig.suptitle("Figure 3: average performance by number of tasks in feature learning")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _timing_table(timings: pd.DataFrame | None) -> pd.DataFrame:
    """The stages with their share of the summed wall time, slowest first."""
    if timings is None or timings.empty:
        return pd.DataFrame()
    table = timings.set_index("stage").sort_values("wall_s", ascending=False)
    table["share of wall"] = table["wall_s"] / table["wall_s"].sum()
    return table


def _markdown(frame: pd.DataFrame) -> str:
    cols = [frame.index.name or ""] + list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for index, row in frame.iterrows():
        cells = [str(index)] + [_fmt(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _html(frame: pd.DataFrame) -> str:
    formatted = frame.map(lambda v: _fmt(v) if isinstance(v, float) else v)
    return formatted.to_html(escape=True, border=0, classes="results")


def write_report(wd: Workdir, *, title: str, context: dict[str, str], images: dict[str, Path],
                 timings: pd.DataFrame | None = None) -> tuple[Path, Path]:
    """Write the work directory's ``report.md`` and ``report.html`` (plus ``figure3.png``) from its ``results.csv``.

    ``context``: lines shown at the top (dataset, split, preset, machine, command).
    ``images``: captions -> PNG paths (confusion matrix of the best case, artist-group maps).
    ``timings``: one row per stage of this run (``stage, wall_s, cpu_s, calls``).
    """
    results = pd.read_csv(wd.results_csv, dtype={"tasks": str})
    out_dir = wd.root
    fig3 = figure3(results, wd.report("figure3.png"))
    deep = results[results["arch"] != "baseline"]
    best = deep.loc[deep["log_loss"].idxmin()] if len(deep) else None
    baseline = results[results["arch"] == "baseline"]
    verdict = ""
    if best is not None and len(baseline):
        b = baseline.iloc[0]
        better = best["log_loss"] < b["log_loss"] and best["f1_macro"] >= b["f1_macro"]
        verdict = (f"The best deep case ({best['arch']} {best['tasks']}: log loss {best['log_loss']:.4f}, "
                   f"F1 {best['f1_macro']:.4f}, accuracy {best['accuracy']:.4f}) "
                   + ("beats" if better else "does NOT beat")
                   + f" the MFCC + spectral-contrast logistic-regression baseline (log loss {b['log_loss']:.4f}, "
                     f"F1 {b['f1_macro']:.4f}, accuracy {b['accuracy']:.4f}) on this split.")
    comparisons = wd.report("comparisons.csv")
    sections = [
        ("Paired comparisons: log loss of A minus B on the same validation tracks (negative: A is better), "
         "with a 95 % bootstrap interval and p-value. The best cases are picked on these tracks too, which "
         "favours them", pd.read_csv(comparisons).set_index("question") if comparisons.exists() else pd.DataFrame()),
        ("Table 3: average performance with or without the main task g", table3(results)),
        ("Table 4: every combination of tasks (validation tracks)", table4(results)),
        ("Table 5: wSTN against the best STN / MTN with N tasks", table5(results)),
        ("All runs, with 95 % bootstrap intervals over the validation tracks (_low, _high)",
         results.set_index("tasks")),
        ("The paper's figures (FMA-medium, stratified random 85/15 split), for reference", PAPER.set_index("tasks")),
        ("Time per stage of this run (stages already done are skipped; CPU time counts every process of the "
         "stage, so it can exceed the wall time)", _timing_table(timings)),
    ]
    md = [f"# {title}", ""] + [f"- {k}: {v}" for k, v in context.items()] + ["", verdict, ""]
    body = [f"<h1>{html.escape(title)}</h1>", "<ul>"] + [f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in context.items()]
    body += ["</ul>", f"<p><b>{html.escape(verdict)}</b></p>"]
    for heading, frame in sections:
        if frame.empty:
            continue
        md += [f"## {heading}", "", _markdown(frame), ""]
        body += [f"<h2>{html.escape(heading)}</h2>", _html(frame)]
    figures = {"Figure 3: mean performance against the number of tasks": fig3, **images}
    for caption, path in figures.items():
        rel = Path(path).resolve().relative_to(out_dir.resolve()) if Path(path).resolve().is_relative_to(out_dir.resolve()) else Path(path)
        md += [f"## {caption}", "", f"![{caption}]({rel.as_posix()})", ""]
        body += [f"<h2>{html.escape(caption)}</h2>", f'<img src="{html.escape(rel.as_posix())}" style="max-width:100%">']
    style = "body{font-family:sans-serif;max-width:1100px;margin:2em auto} table.results{border-collapse:collapse} " \
            "table.results td,table.results th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
    md_path, html_path = wd.report("report.md"), wd.report("report.html")
    write_text(md_path, "\n".join(md) + "\n")
    write_text(html_path, f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                          f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
    return md_path, html_path
