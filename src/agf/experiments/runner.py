"""``agf experiment``: prepare -> factors -> networks -> transfer cases -> results and report.

Every stage caches its artefacts under the work directory with a record of what made them:
the store, each task's factors, each network (``runs/<arch>-<tasks>``), each case's scored row
(``grid/<preset>/cases/<case>.json``). A rerun reuses what is up to date and redoes exactly
what a change touches: other factor settings rebuild the factors, which makes the networks
that learned from them stale, which makes the cases that use those networks stale; the
genre-only networks and their cases are kept. After a kill -9 the rerun finishes the grid,
and because every job is seeded and resumes from its last checkpoint, its results equal an
uninterrupted run's.
"""

from __future__ import annotations

import dataclasses
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
from distributed import as_completed
from tqdm.auto import tqdm

from agf.atomic import write_csv, write_json
from agf.classifier.bundle import write_bundle
from agf.classifier.fit import network_input_name, transfer_many
from agf.classifier.model import load_model
from agf.classifier.networks import NetworkRef, run_fingerprint
from agf.classifier.scoring import Evaluation, evaluate_many
from agf.classifier.settings import MLPSettings
from agf.data.prepare import prepare
from agf.data.settings import DatasetSettings
from agf.data.tables import (
    genre_classes,
    genre_indices,
    load_tracks,
    open_store,
    tracks_fingerprint,
)
from agf.evaluation.calibration import Calibration, apply_temperature, calibrate, plot_reliability
from agf.evaluation.intervals import per_track
from agf.evaluation.metrics import score
from agf.evaluation.report import write_evaluation
from agf.experiments.baseline import BaselineSettings, baseline_probabilities
from agf.experiments.cluster import (
    check_cluster,
    check_workers,
    default_workers,
    job_device,
    job_result,
    open_client,
)
from agf.experiments.comparisons import add_intervals, paired_comparisons
from agf.experiments.grid import GRID_ARCHS, Case, Network, networks_of, plan_cases
from agf.experiments.presets import PRESETS, Preset
from agf.experiments.report import RESULT_COLUMNS, write_report
from agf.factors.build import build_factors
from agf.factors.settings import FactorSettings
from agf.locks import exclusive
from agf.runtime import keep_freed_memory
from agf.settings import Settings, fingerprint, load_settings, replace_settings
from agf.tasks import AG_TASKS, GENRE_TASK, TaskError, parse_tasks, setup_name
from agf.timing import StageClock
from agf.training.runs import load_run, train
from agf.training.settings import TrainOptions, train_settings_for
from agf.workdir import Workdir


@dataclass(frozen=True)
class GridSettings(Settings):
    """What a grid run computes (saved beside its results)."""

    preset: Preset
    tasks: tuple[str, ...]
    archs: tuple[str, ...]
    wstn: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", parse_tasks(self.tasks))
        unknown = [a for a in self.archs if a not in GRID_ARCHS]
        if unknown or not self.archs:
            raise TaskError(f"--archs {','.join(self.archs) or '(none)'}: choose from {', '.join(GRID_ARCHS)} "
                            "(and --wstn for the wSTN cases)")


def _threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


@dataclass
class JobResult:
    """What a grid job sends back: its output, what it said, and where its time went."""

    value: object
    said: list[str]
    stages: dict[str, list[float]]
    wall: float


def train_job(workdir: str, network: Network, preset: Preset, threads: int, device: str) -> JobResult:
    """Train (or resume, or reuse, or retrain when stale) one network; its value is the run folder."""
    started = time.perf_counter()
    keep_freed_memory()
    torch.set_num_threads(threads)
    wd = Workdir(workdir)
    settings = train_settings_for(network.arch, network.tasks, epochs=preset.epochs, seed=preset.seed)
    # the grid reads no validation loss: computed after the last epoch only, for the log
    options = TrainOptions(valid_every=settings.total_epochs, progress=False)
    said: list[str] = []
    clock = StageClock()
    with exclusive(wd.run_lock(network.name)):
        run_dir = train(wd.root, tasks=network.tasks, arch=network.arch, settings=settings, device=job_device(device),
                        options=options, retrain_on_other_settings=True, log=said.append, clock=clock)
    return JobResult(str(run_dir), said, clock.stages, time.perf_counter() - started)


def _cached_row(path: Path, inputs: dict[str, str]) -> dict | None:
    """The row at ``path`` if it was computed from ``inputs``, else None (missing or stale)."""
    if not path.exists():
        return None
    row = json.loads(path.read_text())
    # rows of earlier versions lack the per-track record the intervals are computed from
    return row if row.get("inputs") == inputs and "per_track" in row else None


def cases_job(workdir: str, cases: list[Case], trained: dict[str, JobResult], preset: Preset, threads: int,
              device: str) -> JobResult:
    """Transfer and score every case; the value is their rows, in order. ``trained`` maps network name ->
    its training job's result.

    A case's row is cached with the digests of what it was computed from and reused while they
    hold; the MLPs of the stale cases are trained together, one pass over the training segments
    per epoch, and scored together in one pass over the validation segments.
    """
    started = time.perf_counter()
    clock = StageClock()
    keep_freed_memory()
    torch.set_num_threads(threads)
    wd = Workdir(workdir)
    settings = MLPSettings(epochs=preset.mlp_epochs, seed=preset.seed, hop=preset.hop)
    tracks = load_tracks(wd)
    common = {"mlp settings": fingerprint(settings), "store": open_store(wd).fingerprint(),
              "tracks": tracks_fingerprint(tracks)}
    refs = {case.name: [NetworkRef(Path(trained[net.name].value), task) for net, task in case.feature_sources()]
            for case in cases}
    inputs = {name: {**common, **{network_input_name(r): run_fingerprint(r.run_dir) for r in case_refs}}
              for name, case_refs in refs.items()}
    rows = {case.name: _cached_row(wd.case_json(preset.name, case.name), inputs[case.name]) for case in cases}
    stale = [case for case in cases if rows[case.name] is None]
    said: list[str] = []
    if stale:
        with exclusive(wd.cases_lock(preset.name)):
            models = transfer_many(wd.root, {case.name: refs[case.name] for case in stale}, settings=settings,
                                   device=job_device(device), progress=False, retrain_on_other_settings=True,
                                   log=said.append, clock=clock)
            evaluations = evaluate_many(wd.root, list(models.values()), split="valid", device=job_device(device),
                                        progress=False, clock=clock)
        for case, evaluation in zip(stale, evaluations):
            rows[case.name] = _case_row(wd, case, evaluation, refs[case.name], tracks, inputs[case.name], preset)
    return JobResult([rows[case.name] for case in cases], said, clock.stages, time.perf_counter() - started)


def _case_row(wd: Workdir, case: Case, evaluation: Evaluation, refs: list[NetworkRef], tracks: pd.DataFrame,
              inputs: dict[str, str], preset: Preset) -> dict:
    """Write a scored case's report files beside its model and its row (with its inputs) into the grid."""
    folder = wd.transfer_dir(case.name)
    scores = evaluation.scores
    write_evaluation(scores, evaluation.tracks, folder, split="valid",
                     extra={"model": str(folder), "networks": [r.name for r in refs]},
                     title=f"{case.name}: {scores.describe()}")
    runs = sorted({str(r.run_dir) for r in refs})
    row = {"tasks": "".join(case.tasks), "arch": case.arch, "n_tasks": len(case.tasks),
           "n_params": sum(load_run(run).n_params() for run in runs), "log_loss": scores.log_loss,
           "f1_macro": scores.macro_f1, "accuracy": scores.accuracy,
           "n_train_tracks": int((tracks["split"] == "train").sum()), "n_val_tracks": scores.n_tracks,
           "per_track": per_track(evaluation.tracks["track_id"].tolist(),
                                  genre_indices(evaluation.tracks["genre"], scores.genres, "validation tracks"),
                                  evaluation.tracks[list(scores.genres)].to_numpy()),
           "inputs": inputs}
    write_json(wd.case_json(preset.name, case.name), row)
    return row


def baseline_job(workdir: str, preset_name: str) -> JobResult:
    """The classical baseline's row (cached with its inputs)."""
    started = time.perf_counter()
    clock = StageClock()
    wd = Workdir(workdir)
    tracks = load_tracks(wd)
    settings = BaselineSettings()
    inputs = {"baseline settings": fingerprint(settings), "tracks": tracks_fingerprint(tracks)}
    row_path = wd.case_json(preset_name, "baseline")
    row = _cached_row(row_path, inputs)
    if row is not None:
        return JobResult(row, [], clock.stages, time.perf_counter() - started)
    genres = genre_classes(tracks)
    with clock.stage("classical baseline"):
        valid, probs = baseline_probabilities(tracks, genres, settings, progress=False)
    y_true = genre_indices(valid["genre"], genres, "validation tracks")
    scores = score(y_true, probs, genres)
    row = {"tasks": "-", "arch": "baseline", "n_tasks": 0, "n_params": 0, "log_loss": scores.log_loss,
           "f1_macro": scores.macro_f1, "accuracy": scores.accuracy,
           "n_train_tracks": int((tracks["split"] == "train").sum()), "n_val_tracks": scores.n_tracks,
           "per_track": per_track(valid["track_id"].tolist(), y_true, probs), "inputs": inputs}
    write_json(row_path, row)
    return JobResult(row, [], clock.stages, time.perf_counter() - started)


def _calibration(model_dir: Path, diagram: Path) -> Calibration:
    """How well calibrated the model's validation probabilities are, before and after temperature scaling,
    with their reliability diagram at ``diagram``."""
    scored = pd.read_csv(model_dir / "val_probs.csv", dtype={"track_id": str, "genre": str})
    genres = list(scored.columns[3:])
    y_true, probs = genre_indices(scored["genre"], tuple(genres), "validation tracks"), scored[genres].to_numpy()
    calibration = calibrate(y_true, probs)
    plot_reliability(y_true, {"as trained": probs,
                              f"temperature {calibration.temperature:.2f}": apply_temperature(probs,
                                                                                              calibration.temperature)},
                     diagram, title=f"{model_dir.name}: {len(y_true)} validation tracks")
    return calibration


def _protocol(dataset: DatasetSettings) -> str:
    """How the tracks were split and labelled, as the report states it."""
    held_out = ("the source's own" if dataset.split == "source"
                else f"{dataset.valid_fraction:.0%} held out for validation")
    noise = f"; {dataset.label_noise:.0%} of the training labels replaced at random" if dataset.label_noise else ""
    return f"{dataset.split} ({held_out}){noise}"


def run_experiment(source: str, workdir: Path | str, *, preset: str | Preset = "quick", tasks: str = "gsedm",
                   archs: tuple[str, ...] = GRID_ARCHS, wstn: bool = False, split: str = "artist",
                   valid_fraction: float = 0.15, label_noise: float = 0.0, cluster: str | None = None,
                   workers: int | None = None, device: str = "auto", jobs: int | None = None,
                   progress: bool = True, command: str | None = None) -> Path:
    """Run (or finish, or bring up to date) the grid; returns the path of ``results.csv``.

    ``preset`` is a name of :data:`PRESETS` or a :class:`Preset`; its cases live in
    ``DIR/grid/<preset name>``. ``split``, ``valid_fraction`` and ``label_noise`` are
    :func:`agf.data.prepare.prepare`'s. ``command``, when given, is quoted in the report.
    """
    started = time.perf_counter()
    clock = StageClock()
    wd = Workdir(workdir)
    chosen = PRESETS[preset] if isinstance(preset, str) else preset
    asked = GridSettings(chosen, tasks, tuple(archs), wstn)  # every check before any work
    n_workers = check_workers(workers) if workers is not None else default_workers()
    if cluster:
        check_cluster(cluster)
    jobs = jobs or os.cpu_count() or 1
    print(f"[1/5] prepare {source}")
    print(prepare(source, wd.root, split=split, valid_fraction=valid_fraction, label_noise=label_noise, jobs=jobs,
                  seed=chosen.seed, progress=progress, clock=clock).describe())
    ag_tasks = tuple(t for t in asked.tasks if t in AG_TASKS)
    kept = tuple(t for t in asked.tasks if t == GENRE_TASK)
    if ag_tasks:
        print(f"[2/5] artist group factors {','.join(ag_tasks)}")
        factor_settings = FactorSettings(n_clusters=chosen.clusters, n_groups=chosen.groups, seed=chosen.seed)
        status = build_factors(wd.root, tasks=ag_tasks, settings=factor_settings, rebuild=True, jobs=jobs,
                               progress=progress, clock=clock)
        for task, outcome in status.items():
            print(f"  {task}: {outcome}")
        kept += tuple(t for t in ag_tasks if not status[t].startswith("refused"))
    kept = parse_tasks(kept)
    dropped = [t for t in asked.tasks if t not in kept]
    if dropped:
        print(f"  tasks dropped (the dataset cannot provide them): {', '.join(dropped)}")
    settings = GridSettings(chosen, kept, tuple(archs), wstn)
    if diff := replace_settings(settings, wd.grid_dir(chosen.name) / "settings.json"):
        print(f"  the grid's settings changed since its last run ({diff}); what they change is redone")
    cases = plan_cases(kept, tuple(archs), wstn)
    networks = networks_of(cases)
    threads = _threads(n_workers) if not cluster else 1
    print(f"[3/5] {len(networks)} networks and {len(cases)} cases on "
          + (f"the cluster at {cluster}" if cluster else f"a local Dask cluster of {n_workers} worker(s)"))
    rows = []
    jobs_done: list[JobResult] = []
    with open_client(cluster, workers=n_workers, clock=clock) as client:
        grid_started = time.perf_counter()
        trained = {net.name: client.submit(train_job, str(wd.root), net, chosen, threads, device,
                                           key=f"train-{net.name}", pure=False) for net in networks}
        scored = client.submit(cases_job, str(wd.root), cases, trained, chosen, threads, device, key="cases",
                               pure=False)
        baseline = client.submit(baseline_job, str(wd.root), chosen.name, key="baseline", pure=False)
        for future in tqdm(as_completed(list(trained.values())), total=len(trained), desc="networks",
                           unit="network", disable=not progress):
            jobs_done.append(job_result(future))
            for line in jobs_done[-1].said:
                print(f"  {line}")
        for future in as_completed([scored, baseline]):
            jobs_done.append(job_result(future))
            rows += jobs_done[-1].value if future is scored else [jobs_done[-1].value]
            for line in jobs_done[-1].said:
                print(f"  {line}")
        grid_wall = time.perf_counter() - grid_started
        n_busy = len(client.scheduler_info()["workers"])  # an attached cluster's workers too
    for job in jobs_done:
        clock.merge(job.stages)
    # workers x the grid's wall, less the jobs' own time: scheduling, transfers, and waiting on dependencies
    idle = max(0.0, n_busy * grid_wall - sum(job.wall for job in jobs_done))
    clock.add("Dask: idle worker time (scheduling, waiting on dependencies)", idle, 0.0)
    print("[4/5] results")
    order = {c.name: i for i, c in enumerate(cases)}
    results = pd.DataFrame(rows)
    results["_order"] = results.apply(lambda r: order.get(f"{r['arch']}-{r['tasks']}", len(order)), axis=1)
    results = results.sort_values("_order").drop(columns="_order")
    with clock.stage("bootstrap intervals"):
        results = add_intervals(results, len(genre_classes(load_tracks(wd))), seed=chosen.seed)
        write_csv(paired_comparisons(results, seed=chosen.seed), wd.report("comparisons.csv"), float_format="%.6f")
    write_csv(results[RESULT_COLUMNS], wd.results_csv, float_format="%.6f")
    print(results[RESULT_COLUMNS].to_string(index=False))
    print("[5/5] report and bundle of the best case")
    best = results[results["arch"] != "baseline"].sort_values(["log_loss", "tasks"]).iloc[0]
    best_model = wd.transfer_dir(setup_name(best["arch"], best["tasks"]))
    with clock.stage("calibration"):
        calibration = _calibration(best_model, wd.report("calibration.png"))
    _write_bundle(best_model, wd, calibration.chosen)
    images = {f"Confusion matrix of the best case ({best['arch']} {best['tasks']})": best_model / "confusion.png",
              "Reliability of the best case's probabilities on the validation tracks": wd.report("calibration.png")}
    for task in kept:
        heat_map = wd.factors_dir(task) / "report.png"
        if heat_map.exists():
            images[f"Artist groups of task {task} over genres"] = heat_map
    context = {"source": source, "preset": str(chosen), "tasks": "".join(kept),
               "split": _protocol(load_settings(DatasetSettings, wd.dataset_json)),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}, "
                          f"Python {sys.version.split()[0]}, torch {torch.__version__}",
               "best case": f"{best['arch']} {best['tasks']}",
               "calibration of the best case": (
                   f"temperature {calibration.temperature:.3f}; log loss {calibration.log_loss_before:.4f} -> "
                   f"{calibration.log_loss_after:.4f}, ECE {calibration.ece_before:.4f} -> {calibration.ece_after:.4f} "
                   "(the scaled figures cross-fitted on halves of the validation tracks); "
                   + (f"the bundle applies temperature {calibration.chosen:.3f}" if calibration.chosen != 1.0
                      else "scaling did not help on held-out halves: the bundle keeps the probabilities as trained")),
               "wall time": f"{(time.perf_counter() - started) / 60:.1f} min (stages already done are skipped)"}
    if command:
        context = {"command": command, **context}
    timings = pd.DataFrame(clock.rows())
    write_csv(timings, wd.report("timings.csv"))
    md, page = write_report(wd, title=f"agf experiment on {source}", context=context, images=images, timings=timings)
    print(f"wrote {wd.results_csv}, {md}, {page} and the bundle {wd.bundle_dir}")
    return wd.results_csv


def _write_bundle(model_dir: Path, wd: Workdir, temperature: float) -> None:
    """The bundle of the transfer model at ``model_dir``, its probabilities scaled by ``temperature``."""
    if wd.bundle_dir.exists():
        shutil.rmtree(wd.bundle_dir)
    model = dataclasses.replace(load_model(model_dir, workdir=wd.root), temperature=temperature)
    write_bundle(model, wd.bundle_dir, front_end=open_store(wd).settings)
