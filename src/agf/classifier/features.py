"""Segment features of every track in the store, cached per network (SPEC section 4).

Every track is cut into 1-s segments with hop 21 (:func:`agf.audio.segment_starts`; the hop
is a setting); each trained network embeds every segment once, in eval mode, into its 256-d
dense-BN-ELU output. The cache of one network is the folder ``DIR/features/hop<hop>/<run-name>-<task>/``::

    features.npy   (n_segments, 256) float16, the segments of track 0 first, then track 1, ...
    segments.csv   track_id, n_frames, first, n_segments: where each track's rows are
    meta.json      the run's fingerprint (settings + weights hash), hop, width; written last

A cache is reused when its fingerprint and track list match the run and the store, and
rebuilt otherwise (a retrained run, a re-prepared store). So a network shared by many
experiments (the five STNs by all 31 subsets) is embedded once.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from agf.atomic import atomic_path, write_csv, write_json
from agf.audio.segments import SEGMENT_HOP, segment_starts
from agf.classifier.networks import Embedder, NetworkRef, load_runs, run_fingerprint
from agf.data.store import MelStore
from agf.data.tables import open_store
from agf.device import autocast, resolve_device
from agf.errors import MissingStep
from agf.locks import exclusive
from agf.workdir import Workdir

FEATURE_DTYPE = np.float16
CACHE_VERSION = 1


def segment_table(store: MelStore, *, hop: int = SEGMENT_HOP) -> pd.DataFrame:
    """One row per stored track: ``track_id, n_frames, first, n_segments`` (rows into the features)."""
    frames = store.settings.segment_frames
    counts = np.array([len(segment_starts(int(n), segment_frames=frames, hop=hop)) for n in store.n_frames],
                      dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else counts
    return pd.DataFrame({"track_id": store.track_ids, "n_frames": store.n_frames, "first": first,
                         "n_segments": counts})


def segment_positions(store: MelStore, table: pd.DataFrame, *, hop: int = SEGMENT_HOP) -> tuple[np.ndarray, np.ndarray]:
    """(store row, start frame) of every segment, ``(n_segments,)`` each, in feature-row order."""
    frames = store.settings.segment_frames
    starts = [segment_starts(int(n), segment_frames=frames, hop=hop) for n in table["n_frames"]]
    rows = np.repeat(np.arange(len(table), dtype=np.int64), table["n_segments"].to_numpy())
    return rows, np.concatenate(starts) if starts else np.zeros(0, np.int64)


@dataclass
class SegmentFeatures:
    """The cached features of an experiment's networks over every segment of the store.

    ``parts[k]`` is network ``k``'s ``(n_segments, 256)`` float16 memmap; ``table`` says which
    rows belong to which track.
    """

    refs: tuple[NetworkRef, ...]
    table: pd.DataFrame
    parts: tuple[np.ndarray, ...]

    @property
    def width(self) -> int:
        return sum(p.shape[1] for p in self.parts)

    def columns(self, parts: list[int]) -> np.ndarray:
        """The column indices, in :meth:`select`'s output, of the networks ``parts`` (positions in ``refs``), in order."""
        starts = np.cumsum([0] + [p.shape[1] for p in self.parts])
        return np.concatenate([np.arange(starts[k], starts[k + 1]) for k in parts])

    def select(self, track_ids: list[str] | pd.Index) -> tuple[np.ndarray, np.ndarray]:
        """Features of the segments of ``track_ids``, concatenated over the networks in order.

        Returns ``(features (n, width) float16, track (n,) int)`` where ``track[i]`` is the
        position in ``track_ids`` of the track segment ``i`` comes from.
        """
        by_id = self.table.set_index("track_id")
        missing = [t for t in track_ids if t not in by_id.index]
        if missing:
            raise KeyError(f"tracks not in the feature cache: {missing[:5]}")
        first = by_id.loc[list(track_ids), "first"].to_numpy()
        counts = by_id.loc[list(track_ids), "n_segments"].to_numpy()
        rows = np.concatenate([np.arange(f, f + c) for f, c in zip(first, counts)]) if len(first) else np.zeros(0, np.int64)
        track = np.repeat(np.arange(len(first)), counts)
        features = np.concatenate([np.asarray(part[rows]) for part in self.parts], axis=1)
        return features, track


def cache_dir(workdir: Path | str, ref: NetworkRef, hop: int = SEGMENT_HOP) -> Path:
    return Workdir(workdir).features_dir(hop, ref.name)


def _cache_is_valid(folder: Path, fingerprint: str, table: pd.DataFrame, hop: int) -> bool:
    meta_path = folder / "meta.json"
    if not meta_path.exists() or not (folder / "features.npy").exists() or not (folder / "segments.csv").exists():
        return False
    try:
        meta = json.loads(meta_path.read_text())
        cached = pd.read_csv(folder / "segments.csv", dtype={"track_id": str}, keep_default_na=False)
    except (ValueError, OSError):
        return False
    return (meta.get("fingerprint") == fingerprint and meta.get("hop") == hop and meta.get("version") == CACHE_VERSION
            and cached[["track_id", "n_frames", "n_segments"]].equals(table[["track_id", "n_frames", "n_segments"]]))


def extract_features(workdir: Path | str, refs: list[NetworkRef], *, batch_size: int = 512, device: str = "auto",
                     progress: bool = True, hop: int = SEGMENT_HOP) -> SegmentFeatures:
    """Embed every segment of the store with each network of ``refs``, reusing valid caches.

    The networks whose caches are missing or stale are run together in one pass over the
    store, so each segment is read from disk once. Each cache is built under a file lock, so
    concurrent experiments sharing a network (grid workers) embed it once.
    """
    workdir = Workdir(workdir)
    store = open_store(workdir)
    if len(store) == 0:
        raise MissingStep(f"{workdir.root}: the spectrogram store holds no tracks; run `agf prepare` on a source with usable audio")
    table = segment_table(store, hop=hop)
    fingerprints = {ref: run_fingerprint(ref.run_dir) for ref in refs}

    def stale() -> list[NetworkRef]:
        return [ref for ref in dict.fromkeys(refs)
                if not _cache_is_valid(cache_dir(workdir.root, ref, hop), fingerprints[ref], table, hop)]

    if stale():
        with ExitStack() as locks:  # in name order, so two processes never wait on each other
            for ref in sorted(stale(), key=lambda r: r.name):
                locks.enter_context(exclusive(workdir.features_lock(hop, ref.name)))
            todo = stale()  # another process may have built some while we waited
            if todo:
                _embed_store(workdir.root, store, table, todo, fingerprints, batch_size=batch_size,
                             device=resolve_device(device), progress=progress, hop=hop)
    parts = tuple(np.load(cache_dir(workdir.root, ref, hop) / "features.npy", mmap_mode="r") for ref in refs)
    return SegmentFeatures(refs=tuple(refs), table=table, parts=parts)


def _embed_store(root: Path, store: MelStore, table: pd.DataFrame, refs: list[NetworkRef],
                 fingerprints: dict[NetworkRef, str], *, batch_size: int, device: torch.device,
                 progress: bool, hop: int) -> None:
    runs = load_runs(refs, device=device)
    embedder = Embedder(runs, refs).to(device)
    rows, starts = segment_positions(store, table, hop=hop)
    n = len(rows)
    folders = [cache_dir(root, ref, hop) for ref in refs]
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)  # stale: never mix rows of two fingerprints
        folder.mkdir(parents=True)
    names = ", ".join(ref.name for ref in refs)
    with ExitStack() as files, torch.inference_mode(), \
            tqdm(total=n, desc=f"features {names}", unit="seg", disable=not progress) as bar:
        tmps = [files.enter_context(atomic_path(folder / "features.npy")) for folder in folders]
        outputs: list[np.ndarray] = []  # opened at the first batch, once the feature width is known
        for lo in range(0, n, batch_size):
            hi = min(lo + batch_size, n)
            crops = store.crops(rows[lo:hi], starts[lo:hi], frames=store.settings.segment_frames)
            x = torch.from_numpy(crops).to(device, non_blocking=True)
            with autocast(device):
                y = embedder(x).float().cpu().numpy()
            width = y.shape[1] // len(refs)
            if not outputs:
                outputs = [np.lib.format.open_memmap(tmp, mode="w+", dtype=FEATURE_DTYPE, shape=(n, width))
                           for tmp in tmps]
            for k, out in enumerate(outputs):
                out[lo:hi] = y[:, k * width:(k + 1) * width]
            bar.update(hi - lo)
        for out in outputs:
            out.flush()
    for ref, folder in zip(refs, folders):
        write_csv(table, folder / "segments.csv")
        # meta.json last: its presence marks a complete cache
        write_json(folder / "meta.json", {"version": CACHE_VERSION, "fingerprint": fingerprints[ref],
                                          "run_dir": str(ref.run_dir), "task": ref.task, "hop": hop, "n_segments": n})
