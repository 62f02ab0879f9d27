"""Turning a SOURCE argument into a dataset: the registry of dataset readers.

    path/to/tracks.csv                      a manifest CSV (agf.datasets.manifest)
    fma:METADATA_DIR:AUDIO_DIR[:SUBSET]     the Free Music Archive (agf.datasets.fma; subset
                                            defaults to medium)
    synthetic[:N]                           N generated tracks (agf.datasets.synthetic; default 120),
                                            written to the folder the caller names
"""

from __future__ import annotations

from pathlib import Path

from agf.datasets.fma import check_audio_dir, read_fma
from agf.datasets.manifest import read_manifest
from agf.datasets.tracks import Dataset, DatasetError

SOURCE_SYNTAX = "a manifest CSV, fma:METADATA_DIR:AUDIO_DIR[:SUBSET] or synthetic[:N]"


def canonical_source(source: str | Path) -> str:
    """``source`` as it is recorded with a work directory: a manifest's path made absolute."""
    source = str(source)
    kind = source.partition(":")[0]
    return source if kind in ("synthetic", "fma") else str(Path(source).resolve())


def source_paths(source: str | Path) -> list[Path]:
    """The user's files and folders that ``source`` reads (none for a synthetic source, which agf writes)."""
    source = str(source)
    kind, _, rest = source.partition(":")
    if kind == "synthetic":
        return []
    if kind == "fma":
        return [Path(part) for part in rest.split(":")[:2] if part]
    return [Path(source)]


def source_tables(source: str | Path) -> list[Path]:
    """The files that list the source's tracks and labels: a change to one makes the prepared tracks stale."""
    paths = source_paths(source)
    if str(source).startswith("fma:"):
        return [paths[0] / "tracks.csv", paths[0] / "genres.csv"]  # the metadata folder's tables
    return paths


def load_source(source: str | Path, *, synthetic_dir: Path, jobs: int = 1, progress: bool = True) -> Dataset:
    """Read (for ``synthetic``, first generate into ``synthetic_dir`` with ``jobs`` processes) the dataset
    that ``source`` names.

    Raises:
        DatasetError: a malformed SOURCE, a missing or malformed manifest or FMA metadata.
        SettingsError: a synthetic dataset that cannot be made (e.g. fewer tracks than genres).
    """
    source = str(source)
    kind, _, rest = source.partition(":")
    if kind == "synthetic":
        return _synthetic(rest, synthetic_dir, jobs=jobs, progress=progress)
    if kind == "fma":
        parts = rest.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise DatasetError(f"expected fma:METADATA_DIR:AUDIO_DIR[:SUBSET], got {source!r}")
        dataset = read_fma(parts[0], parts[1], parts[2] if len(parts) == 3 else "medium")
        check_audio_dir(dataset, parts[1])
        return dataset
    if not Path(source).is_file():
        raise DatasetError(f"{source}: no such manifest file; SOURCE is {SOURCE_SYNTAX}")
    return read_manifest(Path(source))


def _synthetic(count: str, out_dir: Path, *, jobs: int, progress: bool) -> Dataset:
    from agf.datasets.synthetic import SyntheticSettings, generate_dataset

    try:
        n_tracks = int(count) if count else SyntheticSettings().n_tracks
    except ValueError:
        raise DatasetError(f"synthetic:N needs a whole number of tracks, got {count!r}") from None
    settings = SyntheticSettings(n_tracks=n_tracks)  # checked here, before anything is written
    dataset = read_manifest(generate_dataset(settings, Path(out_dir), jobs=jobs, progress=progress))
    dataset.name = f"synthetic{n_tracks}"
    return dataset
