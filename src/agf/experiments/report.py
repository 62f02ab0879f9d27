"""Reports laid out as the paper's Tables 3, 4, 5 and Figure 3, from ``results.csv`` and ``per_track.csv``.

Every number in a report is computed here from the runs that exist; nothing is typed in,
except the paper's own published figures, shown beside ours and labelled as the paper's.
Scores are on the test tracks when the split has them (else on validation, and the report says
so); every choice ("the best case") is made on the validation log loss. The 95 % intervals
come from the per-track records: a case's from its own, a cell averaging several cases (Table 3,
Figure 3) from resampling the tracks they share. The paper's tables and figure hold the paper's
cases only (:func:`agf.experiments.grid.paper_cases`); the ``+b`` cases appear in the list of all
runs, in the choice of the best case and in the comparisons.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from agf.atomic import write_text
from agf.evaluation.intervals import group_intervals, record_scores
from agf.evaluation.report import plot_confusion
from agf.experiments.grid import paper_cases
from agf.tasks import TASKS
from agf.workdir import Workdir

METRICS = ("log_loss", "f1_macro", "accuracy")
RESULT_COLUMNS = ["tasks", "arch", "n_tasks", "n_params", *METRICS, "valid_log_loss", "scored_on",
                  "n_train_tracks", "n_val_tracks", "n_test_tracks",
                  *(f"{m}_{side}" for m in METRICS for side in ("low", "high"))]
# with K folds: a t interval over the K folds' scores, beside the bootstrap over tracks
FOLD_COLUMNS = [f"{m}_folds_{side}" for m in METRICS for side in ("low", "high")]
# with S training seeds: how much a case's score moves with the seed alone
SEED_COLUMNS = [f"{m}_seeds_sd" for m in METRICS]
# seed only with training seeds, so that a grid of one seed writes what it always did
PER_TRACK_COLUMNS = ["arch", "tasks", "fold", "seed", "track_id", "y_true", "y_pred", "p_true"]
Records = dict[tuple[str, str], dict[str, list]]


def result_columns(results: pd.DataFrame) -> list[str]:
    """The columns of ``results.csv``: :data:`RESULT_COLUMNS`, :data:`FOLD_COLUMNS` for K folds and
    :data:`SEED_COLUMNS` for S seeds."""
    return (RESULT_COLUMNS + (FOLD_COLUMNS if FOLD_COLUMNS[0] in results else [])
            + (SEED_COLUMNS if SEED_COLUMNS[0] in results else []))


def per_track_table(results: pd.DataFrame) -> pd.DataFrame:
    """``per_track.csv``: one row per case and scored track (its fold, with training seeds its seed, true and
    predicted class, and the probability given to the truth), from which every interval of the report is
    computed."""
    parts = []
    for _, row in results.iterrows():
        record = row["per_track"]
        part = pd.DataFrame({key: record[key] for key in ("track_id", "y_true", "y_pred", "p_true", "seed")
                             if key in record})
        parts.append(part.assign(arch=row["arch"], tasks=row["tasks"], fold=record.get("fold", 0)))
    table = pd.concat(parts, ignore_index=True)
    return table[[column for column in PER_TRACK_COLUMNS if column in table]]


def read_records(path: Path) -> Records:
    """``per_track.csv`` back as per-track records by (arch, tasks), with their folds when there are several
    and their training seeds when there are seeds."""
    table = pd.read_csv(path, dtype={"tasks": str, "track_id": str})
    records = {}
    for key, part in table.groupby(["arch", "tasks"], sort=False):
        record = {column: part[column].tolist() for column in ("track_id", "y_true", "y_pred", "p_true")}
        if part["fold"].nunique() > 1:
            record["fold"] = part["fold"].tolist()
        if "seed" in part:
            record["seed"] = part["seed"].tolist()
        records[key] = record
    return records


def _interval(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"

# SPEC section 6: the paper's figures on FMA-medium (internal stratified random 85/15 split)
PAPER = pd.DataFrame(
    [("g", "stn", 0.8891, 0.5963), ("gsedm", "stn", 0.7894, 0.6599), ("gsedm", "mtn", 0.7727, 0.6571),
     ("gsedm", "wstn", 0.8290, 0.6528)],
    columns=["tasks", "arch", "log_loss", "f1_macro"],
)


def _fmt(value: float) -> str:
    return "N/A" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4f}"


def table3(results: pd.DataFrame, records: Records | None = None) -> pd.DataFrame:
    """Mean log loss and F1 of the cases with and without the genre task g, per architecture; with
    ``records``, the 95 % interval of each mean (resampling the tracks all its cases share).

    Single-task cases count for STN only (a single-task MTN is the STN), as in Table 4.
    """
    deep = paper_cases(results)
    deep = deep[deep["arch"].isin(["stn", "mtn"])].copy()
    deep["with_g"] = deep["tasks"].str.contains("g")
    n_classes = _n_classes(records)
    rows = []
    for with_g, label in ((False, "without g"), (True, "with g")):
        part = deep[deep["with_g"] == with_g]
        row = {"": label}
        for arch in ("stn", "mtn"):
            cases = part[part["arch"] == arch]
            ci = group_intervals([records[k] for k in zip(cases["arch"], cases["tasks"])], n_classes) \
                if records and len(cases) else None
            for metric, name in (("log_loss", "LogLoss"), ("f1_macro", "F1")):
                row[f"{name} {arch.upper()}"] = cases[metric].mean() if len(cases) else np.nan
                if records:
                    row[f"{name} {arch.upper()} 95% CI"] = _interval(*ci[metric]) if ci else ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("")


def _n_classes(records: Records | None) -> int:
    """The number of genres, as far as the records show (the largest class index + 1)."""
    if not records:
        return 0
    return 1 + max(max(max(r["y_true"]), max(r["y_pred"])) for r in records.values())


def table4(results: pd.DataFrame) -> pd.DataFrame:
    """One row per task set (paper order): STN and MTN log loss and F1, with their 95 % intervals when
    ``results`` has them."""
    deep = paper_cases(results)
    deep = deep[deep["arch"].isin(["stn", "mtn"])]
    order = sorted(deep["tasks"].unique(), key=lambda t: (len(t), [TASKS.index(c) for c in t]))
    with_ci = "log_loss_low" in results
    rows = []
    for tasks in order:
        row = {"tasks": tasks}
        for arch in ("stn", "mtn"):
            match = deep[(deep["tasks"] == tasks) & (deep["arch"] == arch)]
            for metric, name in (("log_loss", "LogLoss"), ("f1_macro", "F1")):
                row[f"{arch.upper()} {name}"] = match[metric].iloc[0] if len(match) else np.nan
                if with_ci:
                    bounds = match[[f"{metric}_low", f"{metric}_high"]].to_numpy()
                    row[f"{arch.upper()} {name} 95% CI"] = _interval(*bounds[0]) if len(match) else ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("tasks")


def table5(results: pd.DataFrame) -> pd.DataFrame:
    """For N tasks: wSTN against the best N-task STN and MTN (best by validation log loss), with the log
    loss's 95 % interval when ``results`` has it."""
    with_ci = "log_loss_low" in results
    results = paper_cases(results)
    rows = []
    for n in sorted(results.loc[results["arch"] == "wstn", "n_tasks"].unique()):
        row = {"N": int(n)}
        for arch in ("wstn", "stn", "mtn"):
            part = results[(results["arch"] == arch) & (results["n_tasks"] == n)]
            best = part.loc[part["valid_log_loss"].idxmin()] if len(part) else None
            row[f"LogLoss {arch}"] = best["log_loss"] if best is not None else np.nan
            if with_ci:
                row[f"LogLoss {arch} 95% CI"] = (_interval(best["log_loss_low"], best["log_loss_high"])
                                                 if best is not None else "")
            row[f"F1 {arch}"] = best["f1_macro"] if best is not None else np.nan
            row[f"tasks {arch}"] = best["tasks"] if best is not None else ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("N") if rows else pd.DataFrame()


def figure3(results: pd.DataFrame, path: Path, records: Records | None = None) -> Path:
    """Mean log loss and F1 against the number of learning tasks, STN and MTN (PNG); with ``records``,
    error bars of each mean's 95 % interval (resampling the tracks its cases share)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    deep = paper_cases(results)
    deep = deep[deep["arch"].isin(["stn", "mtn"])]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, metric, label in ((axes[0], "log_loss", "log loss (lower is better)"), (axes[1], "f1_macro", "macro F1")):
        for arch, marker in (("stn", "o"), ("mtn", "s")):
            part = deep[deep["arch"] == arch]
            if arch == "mtn":  # a single-task MTN is the STN
                part = pd.concat([part, deep[(deep["arch"] == "stn") & (deep["n_tasks"] == 1)]])
            means = part.groupby("n_tasks")[metric].mean()
            errors = None
            if records:
                bounds = [group_intervals([records[k] for k in zip(cases["arch"], cases["tasks"])],
                                          _n_classes(records))[metric] for _, cases in part.groupby("n_tasks")]
                errors = np.abs(np.array(bounds).T - means.to_numpy())
            ax.errorbar(means.index, means.values, yerr=errors, marker=marker, capsize=3, label=arch.upper())
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
                 timings: pd.DataFrame | None = None, genres: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """Write the work directory's ``report.md`` and ``report.html`` (plus ``figure3.png``) from its ``results.csv``
    and, when present, ``per_track.csv`` (the intervals of Tables 3-5 and Figure 3, and with ``genres`` the
    per-genre table and confusion matrix of the chosen case).

    ``context``: lines shown at the top (dataset, split, preset, machine, command).
    ``images``: captions -> PNG paths (reliability diagram, artist-group maps).
    ``timings``: one row per stage of this run (``stage, wall_s, cpu_s, calls``).
    """
    results = pd.read_csv(wd.results_csv, dtype={"tasks": str})
    records = read_records(wd.report("per_track.csv")) if wd.report("per_track.csv").exists() else None
    out_dir = wd.root
    fig3 = figure3(results, wd.report("figure3.png"), records)
    deep = results[results["arch"] != "baseline"]
    best = deep.loc[deep["valid_log_loss"].idxmin()] if len(deep) else None
    on = "test" if (results["scored_on"] == "test").all() else "validation"
    baseline = results[results["arch"] == "baseline"]
    verdict = ""
    if best is not None and len(baseline):
        b = baseline.iloc[0]
        better = best["log_loss"] < b["log_loss"] and best["f1_macro"] >= b["f1_macro"]
        verdict = (f"The case chosen on validation ({best['arch']} {best['tasks']}: on the {on} tracks log loss "
                   f"{best['log_loss']:.4f}, F1 {best['f1_macro']:.4f}, accuracy {best['accuracy']:.4f}) "
                   + ("beats" if better else "does NOT beat")
                   + f" the MFCC + spectral-contrast logistic-regression baseline (log loss {b['log_loss']:.4f}, "
                     f"F1 {b['f1_macro']:.4f}, accuracy {b['accuracy']:.4f}).")
    if on == "validation":
        verdict += (" These scores are on the validation tracks the cases were chosen on, which flatters the "
                    "chosen ones: hold out test tracks (--test-fraction) for scores that do not.")
    per_genre, seeds = pd.DataFrame(), 1
    if records and genres and best is not None:
        record = records[(best["arch"], best["tasks"])]
        chosen = record_scores(record, genres)
        # with S training seeds each track has S records: its support is one track, not S
        seeds = len(set(record["seed"])) if "seed" in record else 1
        per_genre = chosen.per_class()
        per_genre["support"] = (per_genre["support"] // seeds).astype(str)  # a count, not a score of 4 decimals
        plot_confusion(chosen, wd.report("confusion.png"),
                       title=f"{best['arch']} {best['tasks']}, {chosen.n_tracks // seeds} {on} tracks"
                             + (f" x {seeds} seeds (each seed's prediction counted)" if seeds > 1 else ""))
        images = {f"Confusion matrix of the chosen case on the {on} tracks": wd.report("confusion.png"), **images}
    comparisons = wd.report("comparisons.csv")
    sections = [
        (f"Paired comparisons: log loss of A minus B on the same {on} tracks (negative: A is better), with a "
         "95 % bootstrap interval and p-value; each 'best' case is chosen on validation"
         + (", which here are the same tracks: this favours the chosen" if on == "validation" else ""),
         pd.read_csv(comparisons, dtype={"folds_a_better": str}).set_index("question").dropna(axis=1, how="all")
         if comparisons.exists() else pd.DataFrame()),
        (f"Table 3: average performance with or without the main task g ({on} tracks)", table3(results, records)),
        (f"Table 4: every combination of tasks ({on} tracks)", table4(results)),
        (f"Table 5: wSTN against the best STN / MTN with N tasks (chosen on validation, scored on {on} tracks)",
         table5(results)),
        (f"Per genre: the chosen case on the {on} tracks"
         + (f", pooled over its {seeds} training seeds (support in tracks)" if seeds > 1 else ""), per_genre),
        (f"All runs on the {on} tracks, with 95 % bootstrap intervals over the tracks (_low, _high)"
         + (" and t intervals over the folds (_folds_low, _folds_high)" if FOLD_COLUMNS[0] in results else "")
         + (", the standard deviation over training seeds (_seeds_sd)" if SEED_COLUMNS[0] in results else "")
         + "; valid_log_loss is what the grid chooses on", results.set_index("tasks")),
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
