"""The grid's jobs, run on Dask workers: train a network, transfer and score the cases, the baseline.

Each job returns a :class:`JobResult`: its output, what it said (printed by the caller) and the
time of each of its stages. A case's row is scored twice when the split has test tracks: on
validation, where the grid chooses (``valid_log_loss``), and on test, where it reports.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agf.atomic import write_json
from agf.classifier.baseline import BaselineSettings, baseline_of
from agf.classifier.fit import network_input_name, transfer_many
from agf.classifier.model import TransferModel, save_model
from agf.classifier.networks import NetworkRef, run_fingerprint
from agf.classifier.pooled import with_baseline
from agf.classifier.scoring import Evaluation, evaluate_many, evaluation_of
from agf.classifier.settings import MLPSettings
from agf.classifier.statistics import statistics_inputs, statistics_of
from agf.data.tables import genre_classes, genre_indices, load_tracks, open_store, tracks_fingerprint
from agf.evaluation.intervals import per_track
from agf.evaluation.metrics import score
from agf.evaluation.pooling import cross_fitted, pool
from agf.evaluation.report import write_evaluation
from agf.experiments.cluster import job_device
from agf.experiments.grid import Case, Network
from agf.experiments.presets import Preset
from agf.locks import exclusive
from agf.runtime import keep_freed_memory
from agf.settings import fingerprint
from agf.timing import StageClock
from agf.training.runs import load_run, train
from agf.training.settings import TrainOptions, train_settings_for
from agf.workdir import Workdir


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
    # rows of earlier versions lack the per-track record of the intervals, or the validation score of the choice
    return row if row.get("inputs") == inputs and "per_track" in row and "valid_log_loss" in row else None


def cases_job(workdir: str, cases: list[Case], trained: dict[str, JobResult], preset: Preset, threads: int,
              device: str) -> JobResult:
    """Transfer and score every case; the value is their rows, in order. ``trained`` maps network name ->
    its training job's result.

    A case's row is cached with the digests of what it was computed from and reused while they
    hold; the MLPs of the stale cases are trained together, one pass over the training segments
    per epoch, and scored together in one pass over the validation segments (and one over the test
    segments). A stale +b case pools its networks-only case's distributions with the baseline's
    (:func:`_pooled`).
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
    inputs = {case.name: {**common, **{network_input_name(r): run_fingerprint(r.run_dir) for r in refs[case.name]},
                          **(_baseline_inputs() if case.plus_b else {})} for case in cases}
    rows = {case.name: _cached_row(wd.case_json(preset.name, case.name), inputs[case.name]) for case in cases}
    stale = [case for case in cases if rows[case.name] is None]
    said: list[str] = []
    if stale:
        # a +b case pools its networks-only case: that model is needed (loaded when up to date)
        needed = list(dict.fromkeys(case.networks_only for case in stale))
        with exclusive(wd.cases_lock(preset.name)):
            models = transfer_many(wd.root, {case.name: refs[case.name] for case in needed}, settings=settings,
                                   device=job_device(device), progress=False, retrain_on_other_settings=True,
                                   log=said.append, clock=clock)
            scored = {split: dict(zip(models, evaluate_many(wd.root, list(models.values()), split=split,
                                                            device=job_device(device), progress=False, clock=clock)))
                      for split in _scored_splits(tracks)}
            if plus_b := [case for case in stale if case.plus_b]:
                for split, pooled in _pooled(wd, tracks, plus_b, models, scored, preset, clock).items():
                    scored[split].update(pooled)
        for case in stale:
            evaluations = {split: scored[split][case.name] for split in scored}
            rows[case.name] = _case_row(wd, case, evaluations, refs[case.name], tracks, inputs[case.name], preset)
    return JobResult([rows[case.name] for case in cases], said, clock.stages, time.perf_counter() - started)


def _baseline_inputs() -> dict[str, str]:
    """What the baseline learns from besides the tracks, as a row's inputs name it."""
    return {"baseline settings": fingerprint(BaselineSettings()), **statistics_inputs()}


def _pooled(wd: Workdir, tracks: pd.DataFrame, cases: list[Case], models: dict[str, TransferModel],
            scored: dict[str, dict[str, Evaluation]], preset: Preset,
            clock: StageClock) -> dict[str, dict[str, Evaluation]]:
    """The evaluations, per split, of the +b ``cases``: each networks-only case's track distributions
    (``scored``) pooled with the baseline's (fitted on the training tracks), the baseline's weight fitted
    on the validation tracks. Each +b model is saved beside the others.

    Its validation distributions are cross-fitted (each half of the tracks pooled with the weight fitted
    on the other), so that the validation log loss the grid chooses on does not flatter the pooling.
    """
    genres = genre_classes(tracks)
    with clock.stage("classical baseline"):
        # as baseline_job fits it (deterministic, and cheap once the statistics are cached)
        baseline = baseline_of(wd, tracks, genres, progress=False)
        opinions = {}
        for split, by_case in scored.items():
            track_ids = list(next(iter(by_case.values())).tracks["track_id"])  # every case's, in one order
            opinions[split] = baseline.probabilities(statistics_of(wd.root, track_ids, progress=False))
    pooled: dict[str, dict[str, Evaluation]] = {split: {} for split in scored}
    for case in cases:
        alone = {split: by_case[case.networks_only.name] for split, by_case in scored.items()}
        own = {split: evaluation.tracks[list(genres)].to_numpy() for split, evaluation in alone.items()}
        y_valid = genre_indices(alone["valid"].tracks["genre"], genres, "validation tracks")
        model = with_baseline(models[case.networks_only.name], baseline, y_valid, own["valid"], opinions["valid"])
        probs = {split: pool(own[split], opinions[split], model.baseline_weight) for split in own}
        probs["valid"] = cross_fitted(y_valid, own["valid"], opinions["valid"], seed=preset.seed)
        for split, evaluation in alone.items():
            pooled[split][case.name] = evaluation_of(evaluation.tracks[["track_id", "genre"]], probs[split], genres,
                                                     f"{split} tracks")
        save_model(model, wd.transfer_dir(case.name), workdir=wd.root)
    return pooled


def _scored_splits(tracks: pd.DataFrame) -> tuple[str, ...]:
    """``valid`` (where cases are chosen), and ``test`` (where they are reported) when the split has one."""
    return ("valid", "test") if (tracks["split"] == "test").any() else ("valid",)


def _row(scored: dict[str, tuple[pd.DataFrame, np.ndarray]], genres: tuple[str, ...],
         tracks: pd.DataFrame) -> dict:
    """The scores of a row: on the test tracks when there are any, else on the validation tracks; the
    validation log loss, on which the grid chooses, in any case. ``scored`` maps split -> (its tracks
    with track_id and genre, their probabilities)."""
    reported = "test" if "test" in scored else "valid"
    rows, probs = scored[reported]
    y_true = genre_indices(rows["genre"], genres, f"{reported} tracks")
    scores = score(y_true, probs, genres)
    valid_rows, valid_probs = scored["valid"]
    return {"log_loss": scores.log_loss, "f1_macro": scores.macro_f1, "accuracy": scores.accuracy,
            "valid_log_loss": score(genre_indices(valid_rows["genre"], genres, "valid tracks"), valid_probs,
                                    genres).log_loss,
            "scored_on": reported, "n_train_tracks": int((tracks["split"] == "train").sum()),
            "n_val_tracks": len(valid_rows), "n_test_tracks": len(rows) if reported == "test" else 0,
            "per_track": per_track(rows["track_id"].tolist(), y_true, probs)}


def _case_row(wd: Workdir, case: Case, evaluations: dict[str, Evaluation], refs: list[NetworkRef],
              tracks: pd.DataFrame, inputs: dict[str, str], preset: Preset) -> dict:
    """Write a scored case's report files beside its model (the test split's in ``test/``) and its row (with
    its inputs) into the grid."""
    folder = wd.transfer_dir(case.name)
    for split, evaluation in evaluations.items():
        write_evaluation(evaluation.scores, evaluation.tracks, folder if split == "valid" else folder / split,
                         split=split, extra={"model": str(folder), "networks": [r.name for r in refs]},
                         title=f"{case.name}, {split} tracks: {evaluation.scores.describe()}")
    genres = next(iter(evaluations.values())).scores.genres
    runs = sorted({str(r.run_dir) for r in refs})
    row = {"tasks": case.label, "arch": case.arch, "n_tasks": len(case.tasks),
           "n_params": sum(load_run(run).n_params() for run in runs),
           **_row({split: (e.tracks, e.tracks[list(genres)].to_numpy()) for split, e in evaluations.items()},
                  genres, tracks),
           "inputs": inputs}
    write_json(wd.case_json(preset.name, case.name), row)
    return row


def baseline_job(workdir: str, preset_name: str) -> JobResult:
    """The classical baseline's row (cached with its inputs)."""
    started = time.perf_counter()
    clock = StageClock()
    wd = Workdir(workdir)
    tracks = load_tracks(wd)
    # the store: its record of each audio file says which statistics are current
    inputs = {**_baseline_inputs(), "tracks": tracks_fingerprint(tracks), "store": open_store(wd).fingerprint()}
    row_path = wd.case_json(preset_name, "baseline")
    row = _cached_row(row_path, inputs)
    if row is not None:
        return JobResult(row, [], clock.stages, time.perf_counter() - started)
    genres = genre_classes(tracks)
    with clock.stage("classical baseline"):
        baseline = baseline_of(wd, tracks, genres, progress=False)
        scored = {}
        for split in _scored_splits(tracks):
            rows = tracks[tracks["split"] == split].reset_index(drop=True)
            scored[split] = rows, baseline.probabilities(statistics_of(wd.root, list(rows["track_id"]), progress=False))
    row = {"tasks": "-", "arch": "baseline", "n_tasks": 0, "n_params": 0, **_row(scored, genres, tracks),
           "inputs": inputs}
    write_json(row_path, row)
    return JobResult(row, [], clock.stages, time.perf_counter() - started)
