"""The classical track statistics of a work directory's tracks, computed once per track and cached.

The classical baseline (:mod:`agf.classifier.baseline`) reads them, for its own case and for
the grid's ``+b`` cases. They are cached in ``W/statistics/<settings digest>.csv``, one row per
track (its id, its audio path, the store's signature of that file when it was decoded, then the
statistics), and reused while the track's path and audio are the same: a file replaced and
decoded again by ``agf prepare`` gets its statistics computed again. Rows written before the
cache recorded the signature are kept (they can tell nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from agf.atomic import write_csv
from agf.audio.statistics import N_CONTRAST, StatisticsSettings, track_statistics
from agf.data.tables import load_tracks, open_store
from agf.locks import exclusive
from agf.provenance import made_from_same_file
from agf.settings import fingerprint
from agf.workdir import Workdir


def statistic_names(settings: StatisticsSettings) -> list[str]:
    """The cache's column names, in :func:`track_statistics`' order: ``mfcc1_mean`` .. ``contrast7_std``."""
    parts = (("mfcc", settings.n_mfcc), ("mfcc_delta", settings.n_mfcc), ("contrast", N_CONTRAST))
    return [f"{part}{i + 1}_{stat}" for part, n in parts for stat in ("mean", "std") for i in range(n)]


def statistics_of(workdir: Path | str, track_ids: Sequence[str], settings: StatisticsSettings = StatisticsSettings(),
                  *, progress: bool = True) -> np.ndarray:
    """``(len(track_ids), settings.width)`` float64 (of float32 values): the statistics of the work
    directory's tracks, computed for the tracks the cache lacks (or whose audio path or file changed) and cached.

    Raises:
        AudioError: a track's audio can no longer be decoded (changed since ``agf prepare``).
    """
    wd = Workdir(workdir)
    paths = load_tracks(wd).set_index("track_id")["path"]
    sources = open_store(wd).sources
    names = statistic_names(settings)
    cache = wd.statistics_csv(fingerprint(settings))
    with exclusive(wd.statistics_lock()):  # the baseline and the +b cases of a grid ask at once
        cached = (pd.read_csv(cache, dtype={"track_id": str, "path": str, "source": str}, keep_default_na=False)
                  .set_index("track_id") if cache.exists()
                  else pd.DataFrame(columns=["path", "source", *names]).rename_axis("track_id"))
        if "source" not in cached.columns:  # a cache from before the signatures
            cached.insert(1, "source", "")
        todo = [t for t in dict.fromkeys(track_ids) if t not in cached.index or cached.at[t, "path"] != paths[t]
                or not made_from_same_file(cached.at[t, "source"], sources.get(t, ""))]
        if todo:
            rows = [track_statistics(paths[t], settings) for t in tqdm(todo, desc="track statistics", unit="track",
                                                                       disable=not progress)]
            fresh = pd.DataFrame(np.stack(rows), index=pd.Index(todo, name="track_id"), columns=names)
            fresh.insert(0, "path", [paths[t] for t in todo])
            fresh.insert(1, "source", [sources.get(t, "") for t in todo])
            kept = cached.drop(index=todo, errors="ignore")
            cached = pd.concat([kept, fresh]) if len(kept) else fresh
            write_csv(cached.reset_index(), cache, float_format="%.9g")
    # float32 as computed (the CSV's 9 digits give each float32 back exactly), float64 for what follows
    return cached.loc[list(track_ids), names].to_numpy(dtype=np.float32).astype(np.float64)


def statistics_inputs(settings: StatisticsSettings = StatisticsSettings()) -> dict[str, str]:
    """How an artefact that learned from the track statistics (the baseline, a +b model) records them among
    its inputs (:mod:`agf.provenance`)."""
    return {"track statistics": fingerprint(settings)}
