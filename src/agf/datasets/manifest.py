"""Datasets described by a manifest CSV: ``path, genre, artist`` (+ ``track_id``, ``subgenres``, ``split``, ``date``,
``album``).

Paths are relative to the CSV's folder and must stay inside it (no ``..`` or absolute
paths; symbolic links inside the folder are followed). ``subgenres`` are separated by
``;``. The split may be a column named ``split`` or ending in ``_split`` (GTZAN's ``sturm_split``);
its values train/valid/test (or training/validation) are used, any other value (``excluded``)
leaves the track outside the source's split. ``album`` names the track's album for the album split:
albums of one name count as one album, so write ``Artist - Album`` where two artists share a title.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from agf.datasets.tracks import Dataset, DatasetError, Problem, Track, normalise_split, safe_track_id

REQUIRED = ("path", "genre", "artist")


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def read_manifest(csv_path: Path | str) -> Dataset:
    """Read a manifest CSV into a :class:`Dataset`; bad rows become problems, not exceptions.

    Raises:
        DatasetError: the CSV is missing, unparsable, or lacks a required column.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DatasetError(f"{csv_path}: manifest not found")
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{csv_path}: malformed CSV ({err})") from None
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing and len(frame.columns) == 1 and any(sep in frame.columns[0] for sep in ";\t|"):
        sep = next(sep for sep in ";\t|" if sep in frame.columns[0])
        raise DatasetError(f"{csv_path}: the header looks {sep!r}-separated; a manifest is comma-separated "
                           f"(pandas: df.to_csv(path, index=False))")
    if missing:
        raise DatasetError(f"{csv_path}: missing column(s) {', '.join(missing)}; a manifest needs {', '.join(REQUIRED)}")
    split_columns = [c for c in frame.columns if c == "split" or c.endswith("_split")]
    with open(csv_path, "rb") as f:
        f.seek(max(0, csv_path.stat().st_size - 1))
        truncated = f.read(1) not in (b"\n", b"")
    root = csv_path.parent.resolve()
    tracks: list[Track] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for row_number, row in enumerate(frame.to_dict("records"), start=2):
        rel = _text(row["path"])
        track_id = safe_track_id(_text(row.get("track_id")) or (Path(rel).stem if rel else f"row{row_number}"))
        if truncated and row_number == len(frame) + 1 and any(_text(row[c]) is None for c in ("path", "genre")):
            problems.append(Problem(track_id, rel or "", f"{csv_path} line {row_number} is incomplete: the file looks truncated"))
            continue
        if rel is None:
            problems.append(Problem(track_id, "", f"{csv_path} line {row_number}: empty path"))
            continue
        # lexical check: '..' and absolute paths escape, a symlink the user placed inside does not
        path = Path(os.path.normpath(root / rel))
        if not path.is_relative_to(root):
            problems.append(Problem(track_id, rel, f"path escapes the dataset root {root}"))
            continue
        genre = _text(row["genre"])
        if genre is None:
            problems.append(Problem(track_id, rel, f"{csv_path} line {row_number}: no genre"))
            continue
        if track_id in seen:
            problems.append(Problem(track_id, rel, f"{csv_path} line {row_number}: duplicate track_id"))
            continue
        seen.add(track_id)
        subgenres = tuple(s.strip() for s in (_text(row.get("subgenres")) or "").split(";") if s.strip())
        split = normalise_split(row[split_columns[0]]) if split_columns else None
        tracks.append(Track(track_id, path, genre, _text(row["artist"]), subgenres, split, _text(row.get("date")),
                            _text(row.get("album"))))
    if not tracks and not problems:
        raise DatasetError(f"{csv_path}: no tracks listed")
    return Dataset(name=csv_path.parent.name, tracks=tracks, problems=problems)
