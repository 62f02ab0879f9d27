"""``agf experiment``: prepare -> factors -> networks -> transfer cases -> results and report.

Every stage caches its artefacts under the work directory with a record of what made them:
the store, each task's factors, each network (``runs/<arch>-<tasks>``), each case's scored row
(``grid/<preset>/cases/<case>.json``). A rerun reuses what is up to date and redoes exactly
what a change touches: other factor settings rebuild the factors, which makes the networks
that learned from them stale, which makes the cases that use those networks stale; the
genre-only networks and their cases are kept. After a kill -9 the rerun finishes the grid,
and because every job is seeded and resumes from its last checkpoint, its results equal an
uninterrupted run's.

What is chosen is chosen on the validation tracks: the case of the bundle (lowest validation log
loss) and its temperature. What is reported is scored on the test tracks, which no choice saw.
With ``--folds K`` the grid runs once per fold, with ``--seeds S`` once per training seed (of each fold)
(:mod:`agf.experiments.folds`), and the report combines them.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from distributed import as_completed
from tqdm.auto import tqdm

from agf.atomic import write_csv
from agf.classifier.bundle import write_bundle
from agf.classifier.model import load_model
from agf.data.prepare import prepare
from agf.data.settings import DatasetSettings
from agf.data.tables import genre_classes, genre_indices, load_tracks, open_store
from agf.evaluation.calibration import (
    Calibration,
    apply_temperature,
    calibrate,
    expected_calibration_error,
    plot_reliability,
)
from agf.evaluation.metrics import log_loss
from agf.experiments.cluster import check_cluster, check_workers, default_workers, job_result, open_client
from agf.experiments.comparisons import add_intervals, paired_comparisons
from agf.experiments.folds import check_folds, check_seeds, combine_replicates, fold_workdir, seed_workdir
from agf.experiments.grid import GRID_ARCHS, Case, networks_of, plan_cases
from agf.experiments.jobs import JobResult, baseline_job, cases_job, train_job
from agf.experiments.presets import PRESETS, Preset
from agf.experiments.report import per_track_table, result_columns, write_report
from agf.factors.build import build_factors
from agf.factors.settings import FactorSettings
from agf.settings import Settings, load_settings, replace_settings
from agf.tasks import AG_TASKS, GENRE_TASK, TaskError, parse_tasks
from agf.timing import StageClock
from agf.workdir import Workdir


@dataclass(frozen=True)
class GridSettings(Settings):
    """What a grid run computes (saved beside its results)."""

    preset: Preset
    tasks: tuple[str, ...]
    archs: tuple[str, ...]
    wstn: bool
    plus_b: bool = True  # the +b cases

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", parse_tasks(self.tasks))
        unknown = [a for a in self.archs if a not in GRID_ARCHS]
        if unknown or not self.archs:
            raise TaskError(f"--archs {','.join(self.archs) or '(none)'}: choose from {', '.join(GRID_ARCHS)} "
                            "(and --wstn for the wSTN cases)")


@dataclass(frozen=True)
class Execution:
    """Where the grid's jobs run: an attached cluster's address or a local cluster of ``workers``
    processes, on ``device``."""

    cluster: str | None
    workers: int
    device: str = "auto"


def _threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


@dataclass
class GridRun:
    """What the grid of one split (or the K folds and S seeds combined) gives: its rows (with their per-track
    records), the tasks it kept, the genres, and the work directories whose models the rows score (one per
    fold and seed, seed 0 of the first fold first)."""

    results: pd.DataFrame
    kept: tuple[str, ...]
    genres: tuple[str, ...]
    workdirs: list[Workdir]


def _calibration(model_dirs: list[Path], diagram: Path, seeds: int = 1) -> tuple[Calibration, Calibration | None]:
    """The calibration of a model on validation (first fold), and, when there are test tracks, the effect
    on them of the temperature each fold's bundle would apply (pooled over the folds and the ``seeds``
    training seeds): the one fitted on its validation tracks where cross-fitting shows that it helps,
    else 1. The reliability diagram of the tracks reported on is saved at ``diagram``."""
    chosen, tested = [], []
    for model_dir in model_dirs:
        y_valid, p_valid = _probabilities(model_dir / "val_probs.csv")
        chosen.append(calibrate(y_valid, p_valid))
        if (model_dir / "test" / "test_probs.csv").exists():
            y_test, p_test = _probabilities(model_dir / "test" / "test_probs.csv")
            tested.append((y_test, p_test, apply_temperature(p_test, chosen[-1].chosen)))
    if tested:
        y_true, before, after = (np.concatenate(parts) for parts in zip(*tested))
        effect = Calibration(chosen[0].temperature, log_loss(y_true, before), log_loss(y_true, after),
                             expected_calibration_error(y_true, before), expected_calibration_error(y_true, after))
        # each track is scored once per seed: say so, rather than count its S records as S tracks
        what = (f"test tracks{f' x {seeds} seeds' if seeds > 1 else ''}, temperature as each fold's bundle "
                "applies it")
        n_tracks = len(y_true) // seeds
    else:
        y_true, before = _probabilities(model_dirs[0] / "val_probs.csv")
        after, effect = apply_temperature(before, chosen[0].temperature), None
        what, n_tracks = "validation tracks", len(y_true)
    plot_reliability(y_true, {"as trained": before, "temperature-scaled": after}, diagram,
                     title=f"{model_dirs[0].name}: {n_tracks} {what}")
    return chosen[0], effect


def _probabilities(path: Path) -> tuple[np.ndarray, np.ndarray]:
    scored = pd.read_csv(path, dtype={"track_id": str, "genre": str})
    genres = tuple(scored.columns[3:])
    return genre_indices(scored["genre"], genres, str(path)), scored[list(genres)].to_numpy()


def _protocol(dataset: DatasetSettings, folds: int, seeds: int = 1) -> str:
    """How the tracks were split and labelled, and how often each split was trained, as the report states it."""
    if dataset.split == "source":
        held_out = "the source's own"
    elif folds > 1:
        held_out = (f"{folds} folds, each holding out 1/{folds} of the tracks for test and "
                    f"{dataset.valid_fraction:.0%} for validation")
    elif dataset.test_fraction:
        held_out = f"{dataset.valid_fraction:.0%} held out for validation, {dataset.test_fraction:.0%} for test"
    else:
        held_out = f"{dataset.valid_fraction:.0%} held out for validation, no test tracks"
    noise = f"; {dataset.label_noise:.0%} of the training labels replaced at random" if dataset.label_noise else ""
    trained = (f"; {seeds} seeds: every {'fold' if folds > 1 else 'split'} trained with seeds {dataset.seed} .. "
               f"{dataset.seed + seeds - 1}, on the split of seed {dataset.seed}" if seeds > 1 else "")
    return f"{dataset.split} ({held_out}){noise}{trained}"


def run_experiment(source: str, workdir: Path | str, *, preset: str | Preset = "quick", tasks: str = "gsedm",
                   archs: tuple[str, ...] = GRID_ARCHS, wstn: bool = False, plus_b: bool = True,
                   split: str = "artist",
                   valid_fraction: float = 0.15, test_fraction: float = 0.15, folds: int | None = None,
                   seeds: int = 1, label_noise: float = 0.0, cluster: str | None = None, workers: int | None = None,
                   device: str = "auto", jobs: int | None = None, progress: bool = True,
                   command: str | None = None) -> Path:
    """Run (or finish, or bring up to date) the grid; returns the path of ``results.csv``.

    ``preset`` is a name of :data:`PRESETS` or a :class:`Preset`; its cases live in
    ``DIR/grid/<preset name>``. ``plus_b`` adds the ``+b`` cases
    (:func:`agf.experiments.grid.plan_cases`). ``split``, ``valid_fraction``, ``test_fraction`` and
    ``label_noise`` are :func:`agf.data.prepare.prepare`'s. ``folds`` (2 or more) runs the grid once per fold
    (:mod:`agf.experiments.folds`) and reports them combined; None runs it once. ``seeds`` runs each
    grid that many times, training with the preset's seed + 0 .. seeds - 1 on the same split, and reports
    them combined. ``command``, when given, is quoted in the report.
    """
    started = time.perf_counter()
    clock = StageClock()
    wd = Workdir(workdir)
    chosen = PRESETS[preset] if isinstance(preset, str) else preset
    asked = GridSettings(chosen, tasks, tuple(archs), wstn, plus_b)  # every check before any work
    if folds is not None:
        check_folds(folds)
    check_seeds(seeds)
    # the split's own checks, before a fold's folders are made
    DatasetSettings(source, split, valid_fraction, chosen.seed, label_noise, test_fraction, folds or 1)
    n_workers = check_workers(workers) if workers is not None else default_workers()
    if cluster:
        check_cluster(cluster)
    options = {"split": split, "valid_fraction": valid_fraction, "test_fraction": test_fraction,
               "label_noise": label_noise, "jobs": jobs or os.cpu_count() or 1, "seed": chosen.seed,
               "progress": progress}
    execution = Execution(cluster, n_workers, device)
    runs: list[list[GridRun]] = []  # [fold][seed]; one split is one fold here
    for fold in range(folds or 1):
        split_wd, split_options = (wd, options) if folds is None else \
            (fold_workdir(wd, fold), {**options, "folds": folds, "fold": fold})
        runs.append([])
        for seed in range(seeds):
            # the split stays that of the preset's seed (split_options): the seeds differ in training alone
            replicate = dataclasses.replace(asked, preset=dataclasses.replace(chosen, seed=chosen.seed + seed))
            replicate_wd = split_wd if seed == 0 else seed_workdir(split_wd, seed)
            named = ([f"fold {fold + 1} of {folds}"] if folds else []) + \
                ([f"training seed {chosen.seed + seed}"] if seeds > 1 else [])
            if named:
                print(f"=== {', '.join(named)} ({replicate_wd.root})")
            replicate_clock, replicate_started = StageClock(), time.perf_counter()
            runs[-1].append(run_split(source, replicate_wd, replicate, execution, split_options, replicate_clock))
            if replicate_wd.root != wd.root:  # W reports the combination
                _conclude(replicate_wd, runs[-1][-1], source, replicate.preset, replicate_clock, replicate_started,
                          command, folds=1, bundle=False)
            clock.merge(replicate_clock)
    if folds is None and seeds == 1:
        run = runs[0][0]
    else:
        every = [r for fold_runs in runs for r in fold_runs]  # seed 0 of fold 1 first: the bundle's
        run = GridRun(combine_replicates([[r.results for r in fold_runs] for fold_runs in runs], every[0].genres),
                      every[0].kept, every[0].genres, [r.workdirs[0] for r in every])
        combined = ([f"the {folds} folds"] if folds else []) + ([f"{seeds} seeds"] if seeds > 1 else [])
        print(f"=== {' x '.join(combined)} combined")
    _conclude(wd, run, source, chosen, clock, started, command, folds=folds or 1, seeds=seeds, bundle=True)
    return wd.results_csv


def run_split(source: str, wd: Workdir, asked: GridSettings, execution: Execution, options: dict,
              clock: StageClock) -> GridRun:
    """Prepare (``options`` are :func:`agf.data.prepare.prepare`'s), build the factors, train the networks,
    and transfer and score the cases of one split: the whole grid, or one fold's."""
    chosen, n_workers, cluster, device = asked.preset, execution.workers, execution.cluster, execution.device
    print(f"[1/5] prepare {source}")
    print(prepare(source, wd.root, clock=clock, **options).describe())
    ag_tasks = tuple(t for t in asked.tasks if t in AG_TASKS)
    kept = tuple(t for t in asked.tasks if t == GENRE_TASK)
    if ag_tasks:
        print(f"[2/5] artist group factors {','.join(ag_tasks)}")
        factor_settings = FactorSettings(n_clusters=chosen.clusters, n_groups=chosen.groups, seed=chosen.seed)
        status = build_factors(wd.root, tasks=ag_tasks, settings=factor_settings, rebuild=True, jobs=options["jobs"],
                               progress=options["progress"], clock=clock)
        for task, outcome in status.items():
            print(f"  {task}: {outcome}")
        kept += tuple(t for t in ag_tasks if not status[t].startswith("refused"))
    kept = parse_tasks(kept)
    dropped = [t for t in asked.tasks if t not in kept]
    if dropped:
        print(f"  tasks dropped (the dataset cannot provide them): {', '.join(dropped)}")
    settings = dataclasses.replace(asked, tasks=kept)
    if diff := replace_settings(settings, wd.grid_dir(chosen.name) / "settings.json"):
        print(f"  the grid's settings changed since its last run ({diff}); what they change is redone")
    cases = plan_cases(kept, asked.archs, asked.wstn, asked.plus_b)
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
                           unit="network", disable=not options["progress"]):
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
    order = {c.name: i for i, c in enumerate(cases)}
    results = pd.DataFrame(rows)
    results["_order"] = results.apply(lambda r: order.get(f"{r['arch']}-{r['tasks']}", len(order)), axis=1)
    results = results.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    return GridRun(results, kept, genre_classes(load_tracks(wd)), [wd])


def _conclude(wd: Workdir, run: GridRun, source: str, chosen: Preset, clock: StageClock, started: float,
              command: str | None, *, folds: int, bundle: bool, seeds: int = 1) -> None:
    """Intervals, comparisons, results.csv, per_track.csv and the report of ``run`` in ``wd``, and with
    ``bundle`` the bundle of the case chosen on validation."""
    print("[4/5] results" + (f" of {wd.root}" if not bundle else ""))
    with clock.stage("bootstrap intervals"):
        results = add_intervals(run.results, len(run.genres), seed=chosen.seed)
        write_csv(paired_comparisons(results, seed=chosen.seed), wd.report("comparisons.csv"), float_format="%.6f")
    write_csv(results[result_columns(results)], wd.results_csv, float_format="%.6f")
    write_csv(per_track_table(results), wd.report("per_track.csv"), float_format="%.6f")
    print(results[result_columns(results)].to_string(index=False))
    print("[5/5] report" + (" and bundle of the case chosen on validation" if bundle else ""))
    best = results[results["arch"] != "baseline"].sort_values(["valid_log_loss", "tasks"]).iloc[0]
    name = Case.of_row(best["arch"], best["tasks"]).name
    with clock.stage("calibration"):
        calibration, effect = _calibration([w.transfer_dir(name) for w in run.workdirs], wd.report("calibration.png"),
                                           seeds)
    if bundle:
        _write_bundle(run.workdirs[0].transfer_dir(name), wd, calibration.chosen)
    reported = "test" if best["scored_on"] == "test" else "validation"
    images = {f"Reliability of the chosen case's probabilities on the {reported} tracks": wd.report("calibration.png")}
    for task in run.kept:
        heat_map = run.workdirs[0].factors_dir(task) / "report.png"
        if heat_map.exists():
            images[f"Artist groups of task {task} over genres" + (" (fold 1)" if folds > 1 else "")] = heat_map
    replicates = ([f"{folds} folds"] if folds > 1 else []) + ([f"{seeds} seeds"] if seeds > 1 else [])
    context = {"source": source, "preset": str(chosen), "tasks": "".join(run.kept),
               "split": _protocol(load_settings(DatasetSettings, run.workdirs[0].dataset_json), folds, seeds),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}, "
                          f"Python {sys.version.split()[0]}, torch {torch.__version__}",
               "chosen case": f"{best['arch']} {best['tasks']} (lowest validation log loss"
                              + (f", mean of {' x '.join(replicates)})" if replicates else ")"),
               "calibration of the chosen case": _calibration_line(calibration, effect, folds),
               "wall time": f"{(time.perf_counter() - started) / 60:.1f} min (stages already done are skipped)"}
    if bundle:
        context["bundle"] = (f"{wd.bundle_dir}: the chosen case" + (" as trained on fold 1" if folds > 1 else "")
                             + (f", temperature {calibration.chosen:.3f}" if calibration.chosen != 1.0 else ""))
    if command:
        context = {"command": command, **context}
    timings = pd.DataFrame(clock.rows())
    write_csv(timings, wd.report("timings.csv"))
    md, page = write_report(wd, title=f"agf experiment on {source}", context=context, images=images, timings=timings,
                            genres=run.genres)
    print(f"wrote {wd.results_csv}, {md}, {page}" + (f" and the bundle {wd.bundle_dir}" if bundle else ""))


def _calibration_line(calibration: Calibration, effect: Calibration | None, folds: int) -> str:
    fitted = (f"temperature {calibration.temperature:.3f} fitted on the validation tracks"
              + (" of fold 1 (each fold fits its own)" if folds > 1 else ""))
    crossed = (f"cross-fitted on halves of them: log loss {calibration.log_loss_before:.4f} -> "
               f"{calibration.log_loss_after:.4f}, so the bundle "
               + ("applies it" if calibration.chosen != 1.0 else "keeps the probabilities as trained"))
    if effect is None:
        return (f"{fitted}; {crossed}; ECE {calibration.ece_before:.4f} -> {calibration.ece_after:.4f} "
                "(no test tracks)")
    applied = "as each fold's bundle applies it (or not)" if folds > 1 else "as the bundle applies it (or not)"
    return (f"{fitted}; {crossed}; on the test tracks, the temperature {applied}: log loss "
            f"{effect.log_loss_before:.4f} -> {effect.log_loss_after:.4f}, ECE {effect.ece_before:.4f} -> "
            f"{effect.ece_after:.4f}")


def _write_bundle(model_dir: Path, wd: Workdir, temperature: float) -> None:
    """The bundle of the transfer model at ``model_dir``, its probabilities scaled by ``temperature``."""
    if wd.bundle_dir.exists():
        shutil.rmtree(wd.bundle_dir)
    model = dataclasses.replace(load_model(model_dir, workdir=model_dir.parent.parent), temperature=temperature)
    write_bundle(model, wd.bundle_dir, front_end=open_store(Workdir(model_dir.parent.parent)).settings)
