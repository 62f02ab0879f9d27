"""Turning a SOURCE argument into a dataset.

    path/to/tracks.csv                      a manifest CSV (see agf.data.manifest)
    fma:METADATA_DIR:AUDIO_DIR[:SUBSET]     the Free Music Archive (subset defaults to medium)
    synthetic[:N]                           N generated tracks (default 120), written under the workdir
"""

from __future__ import annotations

from pathlib import Path

from agf.data.fma import read_fma
from agf.data.manifest import read_manifest
from agf.data.tracks import Dataset, DatasetError


def load_source(source: str, workdir: Path, *, progress: bool = True) -> Dataset:
    """Read (and for ``synthetic``, first generate) the dataset that ``source`` names."""
    kind, _, rest = source.partition(":")
    if kind == "synthetic":
        from agf.datasets.synthetic import SyntheticSettings, generate_dataset

        try:
            n_tracks = int(rest) if rest else SyntheticSettings().n_tracks
        except ValueError:
            raise DatasetError(f"synthetic:N needs a whole number of tracks, got {rest!r}") from None
        csv_path = generate_dataset(SyntheticSettings(n_tracks=n_tracks), Path(workdir) / "source", progress=progress)
        dataset = read_manifest(csv_path)
        dataset.name = f"synthetic{n_tracks}"
        return dataset
    if kind == "fma":
        parts = rest.split(":")
        if len(parts) not in (2, 3):
            raise DatasetError(f"expected fma:METADATA_DIR:AUDIO_DIR[:SUBSET], got {source!r}")
        return read_fma(parts[0], parts[1], parts[2] if len(parts) == 3 else "medium")
    return read_manifest(Path(source))
