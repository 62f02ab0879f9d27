"""Song-level descriptors of the e task: Essentia's MusicExtractor, flattened, cached per track.

``MusicExtractor()`` runs with its default statistics, which are the full set (mean, median,
var, stdev, min, max, and the derivative statistics dmean, dvar, dmean2, dvar2): about 4,466
numbers per track. Two groups are left out on purpose:

- ``metadata.*``: properties of the file, not of the music (bit rate, codec, length, replay
  gain, versions). On FMA the bit rate varies with the upload and would become a "descriptor".
- ``rhythm.beats_position``: a list of beat times whose length varies with the track; it is an
  event list, not a fixed-size descriptor.

Extraction runs in worker processes (one MusicExtractor per process), writes one small cache
file per track under ``DIR/factors/essentia_cache/`` as soon as it is done, and so resumes an
interrupted run. Each entry records the signature of the audio it was made from (the store's
record of the file, :func:`agf.provenance.file_signature`), so a track whose file was replaced
and decoded again is extracted again, never described by its old audio. A track Essentia fails
on is cached as an error and not retried while its file is the same; a worker
that dies (a crash inside the C++ library) costs only the tracks it held, which are retried
one at a time to find the culprit.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
import warnings
import zipfile
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from agf.atomic import atomic_path, write_text
from agf.errors import AgfError
from agf.provenance import made_from_same_file
from agf.settings import Settings, ensure_settings

SKIPPED_PREFIXES = ("metadata.",)
EVENT_LISTS = ("rhythm.beats_position",)


@dataclass(frozen=True)
class EssentiaSettings(Settings):
    """What the cached descriptors were made with (the cache refuses to mix versions)."""

    extractor: str = "MusicExtractor(defaults)"
    essentia_version: str = ""
    skipped_prefixes: tuple[str, ...] = SKIPPED_PREFIXES
    event_lists: tuple[str, ...] = EVENT_LISTS


def current_settings() -> EssentiaSettings:
    import essentia

    return EssentiaSettings(essentia_version=essentia.__version__)


def flatten_pool(pool) -> dict[str, float]:
    """Numeric descriptors of an Essentia pool as ``{column: value}``.

    Scalars keep their name (``lowlevel.spectral_centroid.mean``); vectors and matrices get
    index suffixes (``tonal.hpcp.mean.3``, ``lowlevel.mfcc.cov.2.5``); strings, ``metadata.*``
    and event lists are dropped.
    """
    out: dict[str, float] = {}
    for name in pool.descriptorNames():
        if name.startswith(SKIPPED_PREFIXES) or name in EVENT_LISTS:
            continue
        value = pool[name]
        if isinstance(value, str):
            continue
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):  # lists of strings (tags, key names)
            continue
        if array.ndim == 0:
            out[name] = float(array)
        else:
            for index in np.ndindex(array.shape):
                out[name + "." + ".".join(map(str, index))] = float(array[index])
    return out


_extractor = None


def _init_worker() -> None:
    global _extractor
    from agf.runtime import end_with_parent  # here: the rest of this module does not need it

    end_with_parent()  # a no-op when extract() loads the extractor in the command's own process
    import essentia
    import essentia.standard as es

    essentia.log.infoActive = False
    essentia.log.warningActive = False
    _extractor = es.MusicExtractor()


def extract(path: str | Path) -> tuple[dict[str, float] | None, str | None]:
    """(descriptors, None) for one audio file, or (None, error message); never raises."""
    if _extractor is None:
        _init_worker()
    try:
        pool, _ = _extractor(str(path))
    except Exception as err:  # Essentia reports every bad input as RuntimeError
        return None, f"essentia: {err}".replace("\n", " ")
    return flatten_pool(pool), None


def _extract_job(track_id: str, path: str) -> tuple[str, dict[str, float] | None, str | None]:
    descriptors, error = extract(path)
    return track_id, descriptors, error


def _cache_name(track_id: str) -> str:
    """A file name for any track id: readable part plus a hash (ids may hold '/' or clash when cleaned)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", track_id)[:80]
    return f"{safe}-{hashlib.sha1(track_id.encode()).hexdigest()[:8]}"


class DescriptorCache:
    """One ``.npz`` (columns, values) or ``.error.txt`` per track under ``folder``.

    An entry that cannot be read back (a file cut short by a full disk, a bad copy) counts as
    missing: :meth:`has` warns, removes it, and the track is extracted again. So does one made
    from other audio than the track's ``source`` now (:func:`agf.provenance.made_from_same_file`:
    an entry that recorded no source, or a query that gives none, keeps it).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        ensure_settings(current_settings(), self.folder / "settings.json")

    def _paths(self, track_id: str) -> tuple[Path, Path]:
        name = _cache_name(track_id)
        return self.folder / f"{name}.npz", self.folder / f"{name}.error.txt"

    def has(self, track_id: str, source: str = "") -> bool:
        """Whether the track has a readable entry made from the audio ``source`` describes; a damaged
        entry is removed (with a warning). One made from other audio stays until :meth:`put` replaces it."""
        for path in self._paths(track_id):
            if path.exists():
                if problem := _damage(path):
                    warnings.warn(f"{path}: damaged Essentia cache entry of track {track_id!r} ({problem}); "
                                  "removed, extracting the track again", stacklevel=2)
                    path.unlink()
                    return False
                return made_from_same_file(_source(path), source)  # not: the file was replaced since
        return False

    def put(self, track_id: str, descriptors: dict[str, float] | None, error: str | None, source: str = "") -> None:
        """Cache one track's descriptors (or the error Essentia gave), made from the audio ``source`` describes."""
        values_path, error_path = self._paths(track_id)
        if error is not None:
            write_text(error_path, json.dumps({"track_id": track_id, "error": error, "source": source}))
        else:
            with atomic_path(values_path) as tmp:
                np.savez_compressed(tmp, track_id=np.array(track_id), columns=np.array(list(descriptors)),
                                    values=np.array(list(descriptors.values()), dtype=np.float64),
                                    source=np.array(source))
        # the entry of other audio, of the other kind, goes after the new one is down (a crash between
        # leaves both: has() then looks at the values first, finds them of other audio, and so redoes the track)
        (values_path if error is not None else error_path).unlink(missing_ok=True)

    def get(self, track_id: str) -> tuple[dict[str, float] | None, str | None]:
        values_path, error_path = self._paths(track_id)
        path = values_path if values_path.exists() else error_path
        try:
            if values_path.exists():
                with np.load(values_path, allow_pickle=False) as data:
                    return dict(zip(data["columns"].tolist(), data["values"].tolist())), None
            if error_path.exists():
                return None, json.loads(error_path.read_text())["error"]
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            # damaged past what has() looks at (a bad CRC inside): the entry goes, the next run redoes it
            path.unlink(missing_ok=True)
            raise AgfError(f"{path}: damaged Essentia cache entry of track {track_id!r} ({type(err).__name__}: "
                           f"{err}); removed it: rerun `agf factors` to extract the track again") from None
        raise KeyError(track_id)


def _source(path: Path) -> str | None:
    """The audio signature an entry was made from; None for entries written before entries recorded one."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return str(data["source"]) if "source" in data.files else None
    return json.loads(path.read_text()).get("source")


def _damage(path: Path) -> str | None:
    """What makes a cache entry unreadable, or None: an archive's directory of members (its end, so a
    file cut short has none) or an error record's JSON; the values themselves are read by ``get``."""
    try:
        if path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                missing = {"track_id.npy", "columns.npy", "values.npy"} - set(archive.namelist())
            return f"no {', '.join(sorted(missing))}" if missing else None
        json.loads(path.read_text())["error"]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
        return f"{type(err).__name__}: {err}"
    return None


def extract_all(tracks: list[tuple[str, str]], cache: DescriptorCache, *, sources: dict[str, str] | None = None,
                jobs: int = 1, progress: bool = True) -> None:
    """Fill ``cache`` for every ``(track_id, audio path)``; tracks already cached are skipped.

    ``sources``: each track's audio signature as the store recorded it when decoding: an entry
    made from other audio is extracted again. A track without one keeps whatever is cached.
    """
    sources = sources or {}
    pending = [(t, p) for t, p in tracks if not cache.has(t, sources.get(t, ""))]
    bar = tqdm(total=len(pending), desc="essentia", unit="track", disable=not progress)
    if jobs <= 1:
        for track_id, path in pending:
            cache.put(*_extract_job(track_id, path), sources.get(track_id, ""))
            bar.update()
        bar.close()
        return
    queue = list(pending)
    n_before = bar.n
    while queue:
        lost, queue = _run_pool(queue, cache, sources, jobs=jobs, bar=bar)
        for track_id, path in lost:
            # a worker died holding these: rerun each alone, so only the culprit is marked
            if _run_pool([(track_id, path)], cache, sources, jobs=1, bar=bar)[0]:
                if bar.n == n_before:
                    # not one track has come back: the workers cannot start at all
                    raise AgfError("essentia worker processes die before finishing any track; "
                                   "check that `python -c 'import essentia.standard'` works, or use --jobs 1")
                cache.put(track_id, None, "essentia crashed the worker process on this file", sources.get(track_id, ""))
                bar.update()
    bar.close()


def _run_pool(tracks, cache: DescriptorCache, sources: dict[str, str], *, jobs: int, bar) -> tuple[list, list]:
    """Extract ``tracks`` with ``jobs`` processes.

    Returns ([], []) when all are cached, or, when a worker died, (the tracks that were in
    flight, the tracks not yet submitted).
    """
    todo = deque(tracks)
    context = multiprocessing.get_context("spawn")
    in_flight: dict = {}
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker) as pool:
            while todo or in_flight:
                # a short window in flight: a dead worker then costs at most 2 * jobs retries
                while todo and len(in_flight) < 2 * jobs:
                    track_id, path = todo.popleft()
                    in_flight[pool.submit(_extract_job, track_id, str(path))] = (track_id, path)
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()  # raises BrokenProcessPool when a worker died
                    del in_flight[future]
                    cache.put(*result, sources.get(result[0], ""))
                    bar.update()
    except BrokenProcessPool:
        lost = list(in_flight.values())
        for future, track in list(in_flight.items()):
            if future.done() and future.exception() is None:
                cache.put(*future.result(), sources.get(track[0], ""))
                bar.update()
                lost.remove(track)
        return lost, list(todo)
    return [], []
