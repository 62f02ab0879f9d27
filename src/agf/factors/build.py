"""Build the artist-group-factor targets of the tasks m, d, e and s (SPEC section 2).

For every task: one "document" per artist, whose words are dictionary entries (m: MFCC frames,
d: dMFCC frames, e: song-level Essentia descriptor vectors, each through a k-means
dictionary) or genre labels (s: top genre plus sub-genres). The artist bag counts those words
over the artist's training tracks, divided by its number of training tracks; LDA with
``n_groups`` topics turns the bags into one group distribution per artist, which every
training track of the artist gets as its soft target. Everything is fitted on the training
split only; validation tracks get held-out targets from their own artist's bag (over the
artist's validation tracks) through the fitted dictionary and ``lda.transform``. Test tracks
get no target.

Tracks without an artist: the default is ``singleton`` (each is its own artist). Excluding
them would drop these tracks from every AG task, and since unknown artists are not spread
evenly over genres (GTZAN's unknown clips sit in a few genres), the AG tasks would see a
genre mix different from the genre task's, while the network still trains on those tracks
for genre. A singleton's bag is its own content, a weaker but honest target, and no track
is lost. ``exclude`` is the option for a strict "artist groups only" reading.

Per task, ``DIR/factors/<task>/`` holds::

    settings.json        FactorSettings (a rerun with other settings is refused)
    centroids.npy        (K, dim) float32 dictionary (m, d, e); vocabulary.txt for s
    lda.npz              the LDA model: components_, state and parameters (no pickle)
    artist_groups.csv    artist, split, n_tracks, g00..g39: one distribution per artist
    targets.npz          per-track targets (agf.factors.targets)
    report.md/.png       groups x genres heat map and each group's top genres and artists
    done.json            written last: the task is finished
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from agf.atomic import write_json
from agf.data.tables import load_tracks, open_store, tracks_fingerprint
from agf.device import resolve_device
from agf.errors import AgfError
from agf.factors.bags import artist_bags, artist_keys, label_counts, track_word_counts
from agf.factors.descriptors import (
    descriptor_matrix,
    fit_quantile_normaliser,
    normalise,
    usable_columns,
)
from agf.factors.essentia_features import DescriptorCache, extract_all
from agf.factors.groups import (
    fit_artist_groups,
    group_distributions,
    one_hot_argmax,
    save_lda,
)
from agf.factors.kmeans import WordAssigner, clamp_clusters, fit_kmeans
from agf.factors.mfcc import frame_features, n_feature_frames
from agf.factors.report import write_report
from agf.factors.settings import FactorSettings
from agf.factors.targets import DONE_FILE, TaskTargets, save_targets
from agf.settings import save_settings, settings_diff
from agf.tasks import AG_TASKS, parse_tasks
from agf.timing import StageClock
from agf.workdir import Workdir

FRAME_BATCH = 65536  # frames per nearest-centroid search call


class TaskRefused(AgfError):
    """An AG task cannot be built from this data set (the other tasks still are)."""


@dataclass
class Words:
    """A task's words: count rows for the tracks that have them, and what made them."""

    track_ids: list[str]
    counts: sp.csr_matrix                 # (len(track_ids), n_words)
    n_words: int
    notes: list[str] = field(default_factory=list)
    files: dict[str, object] = field(default_factory=dict)   # extra artefacts: name -> array / text


def _frame_words(wd: Workdir, train_ids: list[str], all_ids: list[str], task: str, settings: FactorSettings,
                 device: str, progress: bool, log) -> Words:
    """m / d: k-means over frame MFCCs (dMFCCs) of training tracks, then every frame's word."""
    store = open_store(wd)
    rng = np.random.default_rng(settings.seed)
    train_rows = np.array([store.row_of[t] for t in train_ids])
    sizes = n_feature_frames(store.n_frames[train_rows], task)
    n_points = int(sizes.sum())
    k = clamp_clusters(settings.n_clusters, n_points, what=f"task {task} dictionary")
    limit = k * settings.max_points_per_centroid
    starts = np.concatenate([[0], np.cumsum(sizes)])
    # a uniform sample of frames over the whole training set, drawn by global frame number
    picks = np.sort(rng.choice(n_points, limit, replace=False)) if n_points > limit else np.arange(n_points)
    cut = np.searchsorted(picks, starts)
    sample = np.empty((len(picks), settings.n_mfcc), np.float32)
    for i, track_id in enumerate(tqdm(train_ids, desc=f"{task}: sample frames", unit="track", disable=not progress)):
        if cut[i + 1] > cut[i]:
            features = frame_features(store.track(track_id), task, n_mfcc=settings.n_mfcc)
            sample[cut[i]: cut[i + 1]] = features[picks[cut[i]: cut[i + 1]] - starts[i]]
    t0 = time.perf_counter()
    centroids = fit_kmeans(sample, k, n_iter=settings.kmeans_iterations, seed=settings.seed,
                           max_points_per_centroid=settings.max_points_per_centroid, device=device)
    fit_s = time.perf_counter() - t0
    log(f"{task}: dictionary of {k} words fitted on {len(sample):,} of {n_points:,} training frames "
        f"in {fit_s:.1f} s ({device})")
    assign = WordAssigner(centroids, device)
    counts, batch = [], []
    n_assigned = n_batch = 0

    def flush():
        # one search over many tracks' frames keeps the BLAS calls large
        nonlocal n_assigned, n_batch
        if batch:
            words, _ = assign(np.concatenate(batch))
            counts.append(track_word_counts(np.split(words, np.cumsum([len(b) for b in batch])[:-1]), k))
            n_assigned += len(words)
            batch.clear()
            n_batch = 0

    for track_id in tqdm(all_ids, desc=f"{task}: assign words", unit="track", disable=not progress):
        batch.append(frame_features(store.track(track_id), task, n_mfcc=settings.n_mfcc))
        n_batch += len(batch[-1])
        if n_batch >= FRAME_BATCH:
            flush()
    flush()
    notes = [f"{k} words, fitted on {len(sample):,} of {n_points:,} training frames in {fit_s:.1f} s on {device}",
             f"{n_assigned:,} frames of {len(all_ids)} tracks assigned"]
    return Words(list(all_ids), sp.vstack(counts).tocsr(), k, notes, {"centroids.npy": centroids})


def _essentia_words(wd: Workdir, train_ids: list[str], all_ids: list[str], paths: dict[str, str],
                    settings: FactorSettings, device: str, jobs: int, progress: bool, log, clock: StageClock) -> Words:
    """e: Essentia descriptors per track -> quantile-normalised -> k-means over training tracks."""
    cache = DescriptorCache(wd.essentia_cache_dir)
    with clock.stage("Essentia descriptors"):
        extract_all([(t, paths[t]) for t in all_ids], cache, sources=open_store(wd).sources, jobs=jobs,
                    progress=progress)
    ok_ids, rows, failures = [], [], []
    for track_id in all_ids:
        descriptors, error = cache.get(track_id)
        if error is None:
            ok_ids.append(track_id)
            rows.append(descriptors)
        else:
            failures.append({"track_id": track_id, "path": paths[track_id], "error": error})
    if failures:
        log(f"e: essentia failed on {len(failures)} of {len(all_ids)} tracks (left out of e): "
            + "; ".join(f"{f['track_id']}: {f['error'][:80]}" for f in failures[:3]))
    train_set = set(train_ids)
    is_train = np.array([t in train_set for t in ok_ids], dtype=bool)
    if not is_train.any():
        raise TaskRefused(f"essentia failed on every training track ({len(failures)} failures, e.g. "
                          f"{failures[0]['error'] if failures else 'none'}); task e needs song descriptors")
    matrix, columns = descriptor_matrix(rows)
    keep = usable_columns(matrix[is_train])
    if not keep.any():
        raise TaskRefused("no Essentia descriptor is finite and varying over the training tracks")
    log(f"e: {int(keep.sum())} of {len(columns)} descriptor columns kept (finite and varying on "
        f"{int(is_train.sum())} training tracks)")
    normaliser = fit_quantile_normaliser(matrix[is_train][:, keep], seed=settings.seed)
    vectors = normalise(normaliser, matrix[:, keep])
    k = clamp_clusters(settings.n_clusters, int(is_train.sum()), what="task e dictionary")
    centroids = fit_kmeans(vectors[is_train], k, n_iter=settings.kmeans_iterations, seed=settings.seed,
                           max_points_per_centroid=settings.max_points_per_centroid, device=device)
    words, _ = WordAssigner(centroids, device)(vectors)
    notes = [f"{int(keep.sum())} descriptor columns kept of {len(columns)}",
             f"{k} words fitted on {int(is_train.sum())} training tracks",
             f"essentia failed on {len(failures)} tracks (essentia_errors.csv)"]
    files = {"centroids.npy": centroids, "descriptor_columns.txt": "\n".join(np.array(columns)[keep]) + "\n",
             "essentia_errors.csv": pd.DataFrame(failures, columns=["track_id", "path", "error"])}
    return Words(ok_ids, track_word_counts([w[None] for w in words], k), k, notes, files)


def _track_labels(tracks: pd.DataFrame) -> list[list[str]]:
    return [[g] + [s for s in str(sub).split(";") if s] for g, sub in zip(tracks["genre"], tracks["subgenres"])]


def _subgenre_words(tracks: pd.DataFrame, train_ids: list[str], all_ids: list[str]) -> Words:
    """s: each track's genre labels (top genre and every sub-genre) are its words."""
    table = tracks.set_index("track_id")
    train_labels = _track_labels(table.loc[train_ids].reset_index())
    if not any(len(labels) > 1 for labels in train_labels):
        raise TaskRefused("task s needs sub-genre labels (the 'subgenres' column of tracks.csv), and no "
                          "training track has any; use a dataset with sub-genres (e.g. FMA)")
    vocabulary = sorted({label for labels in train_labels for label in labels})
    counts = label_counts(_track_labels(table.loc[all_ids].reset_index()), vocabulary)
    return Words(list(all_ids), counts, len(vocabulary), [f"{len(vocabulary)} genre labels in training tracks"],
                 {"vocabulary.txt": "\n".join(vocabulary) + "\n"})


def _write_file(folder: Path, name: str, content) -> None:
    path = folder / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False)
    else:
        path.write_text(content)


def build_task(wd: Workdir, task: str, settings: FactorSettings, *, jobs: int = 1, device: str = "cpu",
               progress: bool = True, log=print, clock: StageClock | None = None) -> dict:
    """Build one task's targets into ``DIR/factors/<task>/``; returns its summary (done.json)."""
    started = time.perf_counter()
    clock = clock or StageClock()
    tracks = load_tracks(wd)
    keys = artist_keys(tracks, settings.missing_artist)
    usable = tracks[keys.notna() & tracks["split"].isin(["train", "valid"])].copy()
    usable["artist_key"] = keys[usable.index]
    train_ids = usable.loc[usable["split"] == "train", "track_id"].tolist()
    all_ids = usable["track_id"].tolist()
    if not train_ids:
        raise TaskRefused("no training track with an artist key (check the split and the missing_artist setting)")
    if task == "e":  # Essentia is timed apart: its own stage inside
        words = _essentia_words(wd, train_ids, all_ids, dict(zip(tracks["track_id"], tracks["path"])),
                                settings, device, jobs, progress, log, clock)
    else:
        with clock.stage("factor words and k-means dictionaries"):
            if task in ("m", "d"):
                words = _frame_words(wd, train_ids, all_ids, task, settings, device, progress, log)
            elif task == "s":
                words = _subgenre_words(tracks, train_ids, all_ids)
            else:
                raise ValueError(f"not an artist-group task: {task!r}")  # callers parse tasks first
    info = usable.set_index("track_id").loc[words.track_ids]
    is_train = (info["split"] == "train").to_numpy()
    key = info["artist_key"].to_numpy().astype(str)
    artists, bags, n_tracks = artist_bags(words.counts[is_train], key[is_train])
    filled = np.asarray(bags.sum(axis=1)).ravel() > 0
    if not filled.any():
        raise TaskRefused("every training artist's bag is empty")
    with clock.stage("LDA artist groups"):
        lda, dist = fit_artist_groups(bags[filled], n_groups=settings.n_groups, seed=settings.seed,
                                      max_iter=settings.lda_max_iter)
    train_artists = [a for a, f in zip(artists, filled) if f]
    artist_row = {a: i for i, a in enumerate(train_artists)}

    valid_artists, valid_bags, valid_n = artist_bags(words.counts[~is_train], key[~is_train]) if (~is_train).any() \
        else ([], sp.csr_matrix((0, words.n_words)), np.zeros(0, int))
    valid_filled = np.asarray(valid_bags.sum(axis=1)).ravel() > 0
    valid_dist = group_distributions(lda, valid_bags[valid_filled]) if valid_filled.any() \
        else np.zeros((0, settings.n_groups), np.float32)
    valid_kept = [a for a, f in zip(valid_artists, valid_filled) if f]
    valid_row = {a: i for i, a in enumerate(valid_kept)}
    if settings.hard_targets:
        dist, valid_dist = one_hot_argmax(dist), one_hot_argmax(valid_dist)

    ids, rows, held = [], [], []
    for track_id, artist, train in zip(words.track_ids, key, is_train):
        lookup, source = (artist_row, dist) if train else (valid_row, valid_dist)
        if artist in lookup:
            ids.append(track_id)
            rows.append(source[lookup[artist]])
            held.append(not train)
    targets = TaskTargets(task, tuple(ids), np.asarray(rows, np.float32).reshape(len(ids), settings.n_groups),
                          np.array(held, dtype=bool))

    folder = wd.factors_dir(task)
    for name, content in words.files.items():
        _write_file(folder, name, content)
    save_lda(lda, folder / "lda.npz")
    group_cols = [f"g{i:02d}" for i in range(settings.n_groups)]
    table = pd.concat([
        pd.DataFrame({"artist": train_artists, "split": "train", "n_tracks": n_tracks[filled]}),
        pd.DataFrame({"artist": valid_kept, "split": "valid", "n_tracks": valid_n[valid_filled]}),
    ], ignore_index=True)
    table = pd.concat([table, pd.DataFrame(np.vstack([dist, valid_dist]), columns=group_cols)], axis=1)
    table.to_csv(folder / "artist_groups.csv", index=False, float_format="%.6g")
    save_targets(folder, targets)
    train_mask = ~targets.held_out
    with clock.stage("factor reports"):
        write_report(folder, task, genres=info.loc[list(np.array(targets.track_ids)[train_mask]), "genre"].to_numpy(),
                     targets=targets.targets[train_mask], artists=train_artists, artist_groups=dist,
                     artist_tracks=n_tracks[filled])
    summary = {
        "task": task, "tracks_fingerprint": tracks_fingerprint(tracks),
        "store_fingerprint": open_store(wd).fingerprint(), "targets_fingerprint": targets.fingerprint(),
        "n_train_tracks": int(train_mask.sum()), "n_held_out_tracks": int(targets.held_out.sum()),
        "n_train_artists": len(train_artists), "n_empty_train_bags": int((~filled).sum()),
        "n_valid_artists": len(valid_kept), "n_empty_valid_bags": int((~valid_filled).sum()),
        "n_words": words.n_words, "n_words_assigned": int(round(words.counts.sum())), "notes": words.notes,
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(folder / DONE_FILE, summary)
    return summary


def build_factors(workdir: Path | str, *, tasks: str | Sequence[str] = AG_TASKS,
                  settings: FactorSettings = FactorSettings(), rebuild: bool = False, jobs: int = 1,
                  device: str = "auto", progress: bool = True, log: Callable[[str], None] = print,
                  clock: StageClock | None = None) -> dict[str, str]:
    """Build every asked AG task; returns task -> "built" / "skipped (already built)" / "refused: reason".

    A finished task with the same settings, built from the same tracks and store, is skipped. One
    built with other settings, from other tracks (``tracks.csv`` changed since) or from another
    store (tracks re-decoded since) is refused, or,
    with ``rebuild``, built anew; a task the data cannot give is refused. The other tasks
    still run. ``log`` is told when a task is rebuilt and why; with ``progress`` also how each
    build went.

    Raises:
        TaskError: a name in ``tasks`` that is not an AG task.
        MissingStep: ``agf prepare`` has not run.
    """
    tasks = parse_tasks(tasks, allowed=AG_TASKS)
    wd = Workdir(workdir)
    tracks = load_tracks(wd)  # MissingStep before anything else when prepare has not run
    device = str(resolve_device(device))  # k-means takes 'cpu' or 'cuda[:N]'
    detail = log if progress else (lambda *_: None)
    results: dict[str, str] = {}
    for task in tasks:
        folder = wd.factors_dir(task)
        if (folder / DONE_FILE).exists():
            stale = _stale_reason(folder, settings, tracks, open_store(wd).fingerprint())
            if stale is None:
                results[task] = "skipped (already built)"
                continue
            if not rebuild:
                results[task] = f"refused: {folder} {stale}; rebuild it with --rebuild"
                continue
            log(f"{task}: {stale}; rebuilding")
        if folder.exists():
            shutil.rmtree(folder)  # a build cut short, or one replaced: start the task over
        folder.mkdir(parents=True)
        save_settings(settings, folder / "settings.json")
        try:
            summary = build_task(wd, task, settings, jobs=jobs, device=device, progress=progress, log=detail,
                                 clock=clock)
        except TaskRefused as err:
            shutil.rmtree(folder, ignore_errors=True)
            results[task] = f"refused: {err}"
            continue
        results[task] = "built"
        detail(f"{task}: built in {summary['seconds']:.1f} s: {summary['n_train_tracks']} training tracks of "
               f"{summary['n_train_artists']} artists, {summary['n_held_out_tracks']} held-out validation tracks")
    return results


def _stale_reason(folder: Path, settings: FactorSettings, tracks: pd.DataFrame, store: str) -> str | None:
    """Why the finished task in ``folder`` does not fit ``settings``, ``tracks`` and the store of fingerprint
    ``store``, or None when it does."""
    diff = settings_diff(json.loads((folder / "settings.json").read_text()).get("settings", {}), settings)
    if diff:
        return f"was built with other settings ({diff})"
    if json.loads((folder / DONE_FILE).read_text()).get("tracks_fingerprint") != tracks_fingerprint(tracks):
        return "was built from other tracks (tracks.csv changed since)"
    # the words of m, d and e come from the decoded audio: a re-decoded store (changed files) makes them stale
    built_from = json.loads((folder / DONE_FILE).read_text()).get("store_fingerprint")
    if built_from is None:
        return "records no spectrogram store (built by an earlier agf)"
    if built_from != store:
        return "was built from another spectrogram store (tracks re-decoded since)"
    return None
