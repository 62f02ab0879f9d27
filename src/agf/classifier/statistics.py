"""The classical track statistics as an input of the transfer MLP: computed once per track, cached, and
standardised on the training tracks.

The grid's ``+b`` cases read them beside their networks' segment features: every segment of a
track gets its track's statistics as extra columns, so the MLP can lean on what the classical
baseline knows where the networks know less (small labelled sets). They are cached in
``W/statistics/<settings digest>.csv``, one row per track (its id, its audio path, then the
statistics), and reused while the track's path is unchanged; the baseline reads the same cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from agf.atomic import write_csv
from agf.audio.statistics import N_CONTRAST, StatisticsSettings, track_statistics
from agf.data.tables import load_tracks
from agf.locks import exclusive
from agf.settings import fingerprint, to_dict
from agf.workdir import Workdir

# a statistic constant over the training tracks is divided by 1, not by 0
MIN_STD = 1e-6


def statistic_names(settings: StatisticsSettings) -> list[str]:
    """The cache's column names, in :func:`track_statistics`' order: ``mfcc1_mean`` .. ``contrast7_std``."""
    parts = (("mfcc", settings.n_mfcc), ("mfcc_delta", settings.n_mfcc), ("contrast", N_CONTRAST))
    return [f"{part}{i + 1}_{stat}" for part, n in parts for stat in ("mean", "std") for i in range(n)]


def statistics_of(workdir: Path | str, track_ids: Sequence[str], settings: StatisticsSettings = StatisticsSettings(),
                  *, progress: bool = True) -> np.ndarray:
    """``(len(track_ids), settings.width)`` float64 (of float32 values): the statistics of the work
    directory's tracks, computed for the tracks the cache lacks (or whose audio path changed) and cached.

    Raises:
        AudioError: a track's audio can no longer be decoded (changed since ``agf prepare``).
    """
    wd = Workdir(workdir)
    paths = load_tracks(wd).set_index("track_id")["path"]
    names = statistic_names(settings)
    cache = wd.statistics_csv(fingerprint(settings))
    with exclusive(wd.statistics_lock()):  # the baseline and the +b cases of a grid ask at once
        cached = (pd.read_csv(cache, dtype={"track_id": str, "path": str}, keep_default_na=False).set_index("track_id")
                  if cache.exists() else pd.DataFrame(columns=["path", *names]).rename_axis("track_id"))
        todo = [t for t in dict.fromkeys(track_ids) if t not in cached.index or cached.at[t, "path"] != paths[t]]
        if todo:
            rows = [track_statistics(paths[t], settings) for t in tqdm(todo, desc="track statistics", unit="track",
                                                                       disable=not progress)]
            fresh = pd.DataFrame(np.stack(rows), index=pd.Index(todo, name="track_id"), columns=names)
            fresh.insert(0, "path", [paths[t] for t in todo])
            kept = cached.drop(index=todo, errors="ignore")
            cached = pd.concat([kept, fresh]) if len(kept) else fresh
            write_csv(cached.reset_index(), cache, float_format="%.9g")
    # float32 as computed (the CSV's 9 digits give each float32 back exactly), float64 for what follows
    return cached.loc[list(track_ids), names].to_numpy(dtype=np.float32).astype(np.float64)


def statistics_inputs(settings: StatisticsSettings = StatisticsSettings()) -> dict[str, str]:
    """How an artefact that learned from the track statistics (a +b model, the baseline's row) records them
    among its inputs (:mod:`agf.provenance`)."""
    return {"track statistics": fingerprint(settings)}


@dataclass(frozen=True)
class StatisticsInput:
    """The track statistics a transfer model reads: their settings, and the mean and standard deviation of
    each statistic over the training tracks, which standardise them (kept with the model, as the
    networks keep their input standardisation)."""

    settings: StatisticsSettings
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, statistics: np.ndarray, settings: StatisticsSettings) -> StatisticsInput:
        """From the ``(n_train_tracks, width)`` statistics of the training tracks (one row per track, so a
        long track weighs as much as a short one)."""
        return cls(settings, tuple(map(float, statistics.mean(axis=0))),
                   tuple(map(float, np.maximum(statistics.std(axis=0), MIN_STD))))

    @property
    def width(self) -> int:
        return self.settings.width

    def standardise(self, statistics: np.ndarray) -> np.ndarray:
        """``(n, width)`` float32 of ``(n, width)`` raw statistics."""
        return ((statistics - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)

    def to_json(self) -> dict:
        return {"settings": to_dict(self.settings), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_json(cls, payload: dict) -> StatisticsInput:
        return cls(StatisticsSettings(**payload["settings"]), tuple(map(float, payload["mean"])),
                   tuple(map(float, payload["std"])))


def with_statistics(features: np.ndarray, track: np.ndarray, inputs: Sequence[StatisticsInput],
                    statistics: dict[StatisticsSettings, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """``features (n_segments, width)`` with each of ``inputs``' standardised statistics appended to every
    segment of its track (``track[i]``: the track of segment ``i``; ``statistics``: the raw statistics of
    the tracks by settings), and the columns of each input in the result."""
    blocks, columns, start = [features], [], features.shape[1]
    for item in inputs:
        block = item.standardise(statistics[item.settings])[track].astype(features.dtype)
        blocks.append(block)
        columns.append(np.arange(start, start + item.width))
        start += item.width
    return (np.concatenate(blocks, axis=1) if inputs else features), columns
