"""``agf prepare``: decode every track once into the spectrogram store, in parallel, resumably."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from agf.atomic import write_csv
from agf.audio.decode import AudioError
from agf.audio.frontend import file_log_mel
from agf.audio.mel import FrontEndSettings, LogMel
from agf.audio.segments import pad_frames
from agf.data.noise import add_label_noise
from agf.data.settings import DatasetSettings
from agf.data.splits import assign_splits, check_split
from agf.data.store import StoreWriter
from agf.data.tables import TRACK_COLUMNS, write_tracks
from agf.datasets.sources import canonical_source, load_source, source_paths, source_tables
from agf.datasets.tracks import Problem, Track
from agf.errors import AgfError
from agf.provenance import file_signature, record_inputs, unchanged
from agf.runtime import end_with_parent, keep_freed_memory
from agf.settings import ensure_settings
from agf.timing import StageClock
from agf.workdir import Workdir


@dataclass
class PrepareSummary:
    n_tracks: int
    n_new: int
    problems: list[Problem] = field(default_factory=list)
    table: pd.DataFrame | None = None
    n_changed: int = 0  # tracks decoded again because their audio file changed

    def describe(self) -> str:
        t = self.table
        changed = f", {self.n_changed} of them because the file changed" if self.n_changed else ""
        lines = [f"{self.n_tracks} usable tracks ({self.n_new} decoded now{changed}), "
                 f"{len(self.problems)} unusable (errors.csv)"]
        if t is not None and len(t):
            lines.append(f"genres: {t['genre'].nunique()}  artists: {t['artist'].nunique()} known, "
                         f"{int(t['artist'].isna().sum())} tracks without artist  padded (<1 s): {int(t['padded'].sum())}")
            # per genre, so that a genre missing from a split shows at a glance
            counts = pd.crosstab(t["genre"], t["split"], margins=True, margins_name="all")
            counts = counts[[c for c in ("train", "valid", "test", "all") if c in counts.columns]]
            counts.index.name = counts.columns.name = None
            lines.append("tracks per genre and split:")
            lines += ["  " + line for line in counts.to_string().splitlines()]
        return "\n".join(lines)


_worker_log_mel: LogMel | None = None


def _init_worker(settings: FrontEndSettings) -> None:
    global _worker_log_mel
    end_with_parent()
    # one process per core: intra-op threads would only contend with the other workers
    torch.set_num_threads(1)
    keep_freed_memory()
    _worker_log_mel = LogMel(settings)


def _decode(track: Track, settings: FrontEndSettings) -> tuple[str, np.ndarray | None, int, str | None, str]:
    """(track_id, frames to store, frames of audio, error, the file's signature with its content digest)
    for one track; never raises for bad audio."""
    # signed before decoding: a file replaced meanwhile then differs from the record, and is decoded again
    signature = file_signature(track.path, content=True) or ""
    try:
        mel = file_log_mel(track.path, settings, _worker_log_mel)
    except AudioError as err:
        return track.track_id, None, 0, err.problem, signature
    except Exception as err:  # a decoder bug on one file must not stop a run of 25,000
        return track.track_id, None, 0, f"unexpected {type(err).__name__}: {err}", signature
    return track.track_id, pad_frames(mel, settings.segment_frames), mel.shape[0], None, signature


def prepare(source: str | Path, workdir: Path | str, *, split: str = "artist", valid_fraction: float = 0.15,
            test_fraction: float = 0.15, folds: int = 1, fold: int = 0, seed: int = 0, label_noise: float = 0.0,
            jobs: int = 1, front_end: FrontEndSettings = FrontEndSettings(), progress: bool = True,
            clock: StageClock | None = None) -> PrepareSummary:
    """Decode the tracks of ``source`` into ``workdir``'s store and write tracks.csv / errors.csv.

    Tracks already in the store are skipped, so an interrupted run resumes where it stopped; a
    track whose audio file changed since it was decoded is decoded again (one only copied or
    touched, the same bytes under a new time, is not), and one whose file is gone is dropped.
    The split holds out ``test_fraction`` for test (or, with ``folds`` > 1, fold ``fold``) and
    ``valid_fraction`` for validation (:func:`agf.data.splits.assign_splits`).
    ``label_noise`` gives that share of the training tracks another genre (:mod:`agf.data.noise`).

    Raises:
        PrepareError: the source lies inside the work directory, or no track is usable.
        SplitError: a split the dataset cannot give (checked before decoding).
    """
    wd = Workdir(workdir)
    settings = DatasetSettings(canonical_source(source), split, valid_fraction, seed, label_noise, test_fraction,
                               folds, fold)
    # every check a user can trip comes before the work directory is stamped or a track decoded,
    # so a mistyped source leaves nothing behind that a corrected rerun would refuse
    for path in source_paths(source):
        if wd.owns(path):
            raise PrepareError(f"{path}: the work directory {wd.root} writes over this input; "
                               f"choose a --workdir outside it (e.g. {wd.root / 'agf-work'})")
    if wd.dataset_json.exists():
        ensure_settings(settings, wd.dataset_json)
    clock = clock or StageClock()
    with clock.stage("read (or generate) the dataset"):
        dataset = load_source(source, synthetic_dir=wd.source_dir, jobs=jobs, progress=progress)
    warned = check_split(dataset, split, folds=folds)
    ensure_settings(settings, wd.dataset_json)
    problems = list(dataset.problems)
    with clock.stage("decode and log-mel"), StoreWriter(wd.store_dir, front_end) as writer:
        known, n_stored = writer.latest, len(writer.entries)
        # audio deleted since an earlier prepare: its old spectrogram must not stay in use
        gone = {t.track_id for t in dataset.tracks if t.track_id in known and not t.path.exists()}
        for t in dataset.tracks:
            if t.track_id in gone:
                problems.append(Problem(t.track_id, str(t.path), "file not found (decoded by an earlier prepare; "
                                                                  "no longer used)"))
        # audio replaced since: decoded again (stores older than the source column cannot tell)
        changed = {t.track_id for t in dataset.tracks if t.track_id in known and t.track_id not in gone
                   and known[t.track_id].source and not unchanged(t.path, known[t.track_id].source)}
        pending = [t for t in dataset.tracks if t.track_id not in known or t.track_id in changed]
        by_id = {t.track_id: t for t in dataset.tracks}
        bar = tqdm(total=len(pending), desc="prepare", unit="track", disable=not progress)
        if jobs <= 1:
            global _worker_log_mel
            _worker_log_mel = LogMel(front_end)
            for track in pending:
                _store(_decode(track, front_end), writer, problems, by_id)
                bar.update()
        else:
            # workers fork from a server that imported the front end once: no fork of a parent
            # whose torch threads may be running, and no per-worker torch import
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["agf.audio.frontend"])
            with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(front_end,)) as pool:
                # no list of the futures kept here: a finished future holds its track's log-mel, and
                # as_completed lets go of each one it yields, so only the tracks in flight stay in memory
                for future in as_completed([pool.submit(_decode, t, front_end) for t in pending]):
                    _store(future.result(), writer, problems, by_id)
                    bar.update()
        bar.close()
        stored, n_new = writer.latest, len(writer.entries) - n_stored
    unusable = {p.track_id for p in problems}
    usable = [t for t in dataset.tracks if t.track_id in stored and t.track_id not in unusable]
    splits = assign_splits(usable, strategy=split, valid_fraction=valid_fraction, test_fraction=test_fraction,
                           folds=folds, fold=fold, seed=seed, warned=warned)
    rows = []
    for t in usable:
        if t.track_id not in splits:
            problems.append(Problem(t.track_id, str(t.path), "outside the source's own split"))
            continue
        rows.append({
            "track_id": t.track_id, "genre": t.genre, "artist": t.artist, "split": splits[t.track_id],
            "n_frames": stored[t.track_id].n_frames,
            "padded": int(stored[t.track_id].audio_frames < stored[t.track_id].n_frames),
            "subgenres": ";".join(t.subgenres), "path": str(t.path),
        })
    table = add_label_noise(pd.DataFrame(rows, columns=TRACK_COLUMNS), label_noise, seed)
    write_tracks(wd, table)
    record_inputs(wd.source_json, {str(path): file_signature(path, content=True) or ""
                                  for path in source_tables(source)})
    write_csv(pd.DataFrame([p.__dict__ for p in problems], columns=["track_id", "path", "error"]), wd.errors_csv)
    if table.empty:
        raise PrepareError(f"{dataset.name}: no usable track, all {len(problems)} failed ({wd.errors_csv}); "
                           f"most often: {_most_common(problems)}")
    return PrepareSummary(len(table), n_new, problems, table, len(changed))


class PrepareError(AgfError):
    """A dataset that yields nothing to learn from."""


def _most_common(problems: list[Problem]) -> str:
    # a file's own path begins most messages: count the problem, not the file
    counts = Counter(p.error.removeprefix(f"{p.path}: ") for p in problems)
    error, n = counts.most_common(1)[0] if counts else ("no tracks listed", 0)
    return f"{error} ({n} of {len(problems)})"


def _store(result, writer: StoreWriter, problems: list[Problem], by_id: dict[str, Track]) -> None:
    track_id, mel, audio_frames, error, signature = result
    if error is not None:
        problems.append(Problem(track_id, str(by_id[track_id].path), error))
        return
    writer.append(track_id, mel, audio_frames, signature)
