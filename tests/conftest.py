"""Shared fixtures: the real data in ../shared/data, skipped with a reason where it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"real test data not found at {DATA} (the ../shared folder beside the repository)")
    return DATA


def link_manifest(folder: Path, rows: list[dict], audio: dict[str, Path]) -> Path:
    """Write a manifest CSV in ``folder`` whose tracks are symlinks to real files.

    ``audio`` maps a relative path inside ``folder`` to the real file it should point at.
    """
    import pandas as pd

    for rel, target in audio.items():
        link = folder / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    csv_path = folder / "tracks.csv"
    pd.DataFrame(rows).to_csv(csv_path, index=False)
    return csv_path
