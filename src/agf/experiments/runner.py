"""``agf experiment``: prepare -> factors -> networks -> transfer cases -> results and report.

Every stage caches its artefacts under the work directory, keyed by its settings: the
store, each task's factors, each network (``runs/<arch>-<tasks>``), each case's row
(``grid/<preset>/cases/<case>.json``). Rerunning skips what exists; after a kill -9 the rerun
finishes the grid, and because every job is seeded and resumes from its last checkpoint, its
results equal an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from agf.data.prepare import prepare
from agf.experiments.cluster import default_workers, job_device, open_client
from agf.experiments.grid import Case, Network, networks_of, ordered, plan_cases
from agf.experiments.presets import PRESETS, Preset
from agf.experiments.report import RESULT_COLUMNS, write_report
from agf.locks import exclusive
from agf.runtime import keep_freed_memory
from agf.settings import ensure_settings, write_json_atomic
from agf.workdir import Workdir


@dataclass(frozen=True)
class GridSettings:
    """What a grid run computes (saved beside its results)."""

    preset: Preset
    tasks: tuple[str, ...]
    archs: tuple[str, ...]
    wstn: bool


def _threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def train_job(workdir: str, network: Network, preset: Preset, threads: int, device: str) -> str:
    """Train (or resume, or reuse) one network; returns its run folder."""
    from agf.training.runs import train, train_settings_for

    keep_freed_memory()
    torch.set_num_threads(threads)
    settings = train_settings_for(network.arch, network.tasks, epochs=preset.epochs, seed=preset.seed)
    with exclusive(Path(workdir) / "runs" / f".{network.name}.lock"):
        return str(train(workdir, tasks=network.tasks, arch=network.arch, settings=settings,
                         device=job_device(device), progress=False))


def case_job(workdir: str, case: Case, run_dirs: dict[str, str], preset: Preset, threads: int, device: str,
             cases_dir: str) -> dict:
    """Transfer + evaluate one case (cached as a JSON row); ``run_dirs`` maps network name -> run folder."""
    from agf.training.runs import load_run
    from agf.transfer.fit import transfer
    from agf.transfer.mlp import MLPSettings
    from agf.transfer.networks import NetworkRef

    row_path = Path(cases_dir) / f"{case.name}.json"
    if row_path.exists():
        return json.loads(row_path.read_text())
    keep_freed_memory()
    torch.set_num_threads(threads)
    refs = [NetworkRef(Path(run_dirs[net.name]), task) for net, task in case.feature_sources()]
    with exclusive(Path(cases_dir) / f".{case.name}.lock"):
        settings = MLPSettings(epochs=preset.mlp_epochs, seed=preset.seed, hop=preset.hop)
        result = transfer(workdir, refs, name=case.name, settings=settings, device=job_device(device), progress=False)
    tracks = Workdir(workdir).tracks()
    n_params = sum(load_run(run_dirs[name]).n_params() for name in sorted({n.name for n, _ in case.feature_sources()}))
    row = {"tasks": "".join(case.tasks), "arch": case.arch, "n_tasks": len(case.tasks), "n_params": n_params,
           "log_loss": result.scores.log_loss, "f1_macro": result.scores.macro_f1, "accuracy": result.scores.accuracy,
           "n_train_tracks": int((tracks["split"] == "train").sum()), "n_val_tracks": result.scores.n_tracks,
           "model": str(result.folder)}
    write_json_atomic(row_path, row)
    return row


def baseline_job(workdir: str, cases_dir: str) -> dict:
    from agf.evaluation.metrics import score
    from agf.experiments.baseline import baseline_probabilities

    row_path = Path(cases_dir) / "baseline.json"
    if row_path.exists():
        return json.loads(row_path.read_text())
    tracks = Workdir(workdir).tracks()
    genres = sorted(tracks["genre"].unique())
    valid, probs = baseline_probabilities(tracks, genres, progress=False)
    scores = score(valid["genre"].map(genres.index).to_numpy(), probs, genres)
    row = {"tasks": "-", "arch": "baseline", "n_tasks": 0, "n_params": 0, "log_loss": scores.log_loss,
           "f1_macro": scores.macro_f1, "accuracy": scores.accuracy,
           "n_train_tracks": int((tracks["split"] == "train").sum()), "n_val_tracks": scores.n_tracks, "model": ""}
    write_json_atomic(row_path, row)
    return row


def run_experiment(source: str, workdir: Path | str, *, preset: str | Preset = "quick", tasks: str = "gsedm",
                   archs: tuple[str, ...] = ("stn", "mtn"), wstn: bool = False, cluster: str | None = None,
                   workers: int | None = None, device: str = "auto", jobs: int | None = None,
                   progress: bool = True, command: str | None = None) -> Path:
    """Run (or finish) the grid; returns the path of ``results.csv``.

    ``preset`` is a name of :data:`PRESETS` or a :class:`Preset`; its results live in
    ``DIR/grid/<preset name>``. ``command``, when given, is quoted in the report.
    """
    started = time.perf_counter()
    from agf.factors.build import build_factors
    from agf.factors.settings import FactorSettings

    wd = Workdir(workdir)
    chosen = PRESETS[preset] if isinstance(preset, str) else preset
    asked = ordered(tasks)
    jobs = jobs or os.cpu_count() or 1
    print(f"[1/5] prepare {source}")
    print(prepare(source, wd.root, jobs=jobs, seed=chosen.seed, progress=progress).describe())
    ag_tasks = tuple(t for t in asked if t != "g")
    kept = ("g",) if "g" in asked else ()
    if ag_tasks:
        print(f"[2/5] artist group factors {','.join(ag_tasks)}")
        factor_settings = FactorSettings(n_clusters=chosen.clusters, n_groups=chosen.groups, seed=chosen.seed)
        status = build_factors(wd.root, tasks=ag_tasks, settings=factor_settings, jobs=jobs, progress=progress)
        for task, outcome in status.items():
            print(f"  {task}: {outcome}")
        kept += tuple(t for t in ag_tasks if not status[t].startswith("refused"))
    kept = ordered(kept)
    dropped = [t for t in asked if t not in kept]
    if dropped:
        print(f"  tasks dropped (the dataset cannot provide them): {', '.join(dropped)}")
    settings = GridSettings(chosen, kept, tuple(archs), wstn)
    grid_dir = wd.root / "grid" / chosen.name
    ensure_settings(settings, grid_dir / "settings.json")
    cases_dir = grid_dir / "cases"
    cases = plan_cases(kept, tuple(archs), wstn)
    networks = networks_of(cases)
    n_workers = workers or default_workers()
    threads = _threads(n_workers) if not cluster else 1
    print(f"[3/5] {len(networks)} networks and {len(cases)} cases on "
          + (f"the cluster at {cluster}" if cluster else f"a local Dask cluster of {n_workers} worker(s)"))
    rows = []
    with open_client(cluster, workers=n_workers) as client:
        trained = {net.name: client.submit(train_job, str(wd.root), net, chosen, threads, device, key=f"train-{net.name}",
                                           pure=False) for net in networks}
        futures = []
        for case in cases:
            needs = {net.name: trained[net.name] for net, _ in case.feature_sources()}
            futures.append(client.submit(case_job, str(wd.root), case, needs, chosen, threads, device, str(cases_dir),
                                         key=f"case-{case.name}", pure=False))
        futures.append(client.submit(baseline_job, str(wd.root), str(cases_dir), key="baseline", pure=False))
        from distributed import as_completed
        from tqdm.auto import tqdm

        for future in tqdm(as_completed(futures), total=len(futures), desc="grid", unit="case", disable=not progress):
            rows.append(future.result())
    print("[4/5] results")
    order = {c.name: i for i, c in enumerate(cases)}
    results = pd.DataFrame(rows)
    results["_order"] = results.apply(lambda r: order.get(f"{r['arch']}-{r['tasks']}", len(order)), axis=1)
    results = results.sort_values("_order").drop(columns="_order")
    results_csv = wd.root / "results.csv"
    results[RESULT_COLUMNS].to_csv(results_csv, index=False, float_format="%.6f")
    print(results[RESULT_COLUMNS].to_string(index=False))
    print("[5/5] report and bundle of the best case")
    best = results[results["arch"] != "baseline"].sort_values(["log_loss", "tasks"]).iloc[0]
    _write_bundle(Path(best["model"]), wd, case_name=f"{best['arch']}-{best['tasks']}")
    images = {f"Confusion matrix of the best case ({best['arch']} {best['tasks']})": Path(best["model"]) / "confusion.png"}
    for task in kept:
        heat_map = wd.factors_dir(task) / "report.png"
        if heat_map.exists():
            images[f"Artist groups of task {task} over genres"] = heat_map
    context = {"source": source, "preset": str(chosen), "tasks": "".join(kept),
               "split": json.loads(wd.dataset_json.read_text())["settings"]["split"],
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}, "
                          f"Python {sys.version.split()[0]}, torch {torch.__version__}",
               "best case": f"{best['arch']} {best['tasks']}",
               "wall time": f"{(time.perf_counter() - started) / 60:.1f} min (stages already done are skipped)"}
    if command:
        context = {"command": command, **context}
    md, page = write_report(results_csv, wd.root, title=f"agf experiment on {source}", context=context, images=images)
    print(f"wrote {results_csv}, {md}, {page} and the bundle {wd.root / 'bundle'}")
    return results_csv


def _write_bundle(model_dir: Path, wd: Workdir, *, case_name: str) -> None:
    from agf.transfer.bundle import write_bundle
    from agf.transfer.model import load_model

    target = wd.root / "bundle"
    if target.exists():
        shutil.rmtree(target)
    write_bundle(load_model(model_dir, workdir=wd.root), target, front_end=wd.store().settings)
