"""The Free Music Archive (Defferrard et al., ISMIR 2017) as published.

``tracks.csv`` has three header rows (column groups, names, index); list-valued columns such
as ``genres_all`` are Python literals. Audio lives at ``AUDIO_DIR/123/123456.mp3``. Subsets are
nested: small < medium < large < full; ``set.subset`` holds the smallest subset of a track.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from agf.datasets.tracks import Dataset, DatasetError, Problem, Track, normalise_split

SUBSETS = ("small", "medium", "large", "full")


def audio_path(audio_dir: Path, track_id: int) -> Path:
    tid = f"{track_id:06d}"
    return Path(audio_dir) / tid[:3] / f"{tid}.mp3"


def _read(path: Path, **kwargs) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"{path}: not found (expected the fma_metadata folder)")
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{path}: malformed CSV ({err})") from None


def read_fma(metadata_dir: Path | str, audio_dir: Path | str, subset: str = "medium") -> Dataset:
    """Tracks of an FMA subset with top genre, all genre labels, artist id, album id and official split.

    Tracks without a top genre cannot be used for the genre task: each becomes a problem.
    """
    if subset not in SUBSETS:
        raise DatasetError(f"unknown FMA subset {subset!r}; choose one of {', '.join(SUBSETS)}")
    metadata_dir, audio_dir = Path(metadata_dir), Path(audio_dir)
    tracks_csv = metadata_dir / "tracks.csv"
    table = _read(tracks_csv, index_col=0, header=[0, 1])
    genres = _read(metadata_dir / "genres.csv", index_col=0)
    needed = [("track", "genre_top"), ("track", "genres_all"), ("artist", "id"), ("set", "split"), ("set", "subset")]
    missing = [".".join(c) for c in needed if c not in table.columns]
    if missing:
        raise DatasetError(f"{tracks_csv}: missing column(s) {', '.join(missing)}")
    if "title" not in genres.columns:
        raise DatasetError(f"{metadata_dir / 'genres.csv'}: missing column title")
    genre_title = genres["title"].to_dict()
    top_titles = set(genres.loc[genres["parent"] == 0, "title"]) if "parent" in genres.columns else set(genre_title.values())
    keep = SUBSETS[: SUBSETS.index(subset) + 1]
    table = table[table[("set", "subset")].isin(keep)] if subset != "full" else table

    tracks: list[Track] = []
    problems: list[Problem] = []
    for track_id, row in table.iterrows():
        path = audio_path(audio_dir, int(track_id))
        tid = str(track_id)
        genre = row[("track", "genre_top")]
        if not isinstance(genre, str) or not genre:
            problems.append(Problem(tid, str(path), "no top genre (track.genre_top is empty)"))
            continue
        if genre not in top_titles:
            problems.append(Problem(tid, str(path), f"unknown genre {genre!r}: not a top-level genre of genres.csv"))
            continue
        try:
            ids = ast.literal_eval(row[("track", "genres_all")]) if isinstance(row[("track", "genres_all")], str) else []
        except (ValueError, SyntaxError):
            ids = []
        subgenres = tuple(genre_title[g] for g in ids if g in genre_title)
        artist = row[("artist", "id")]
        artist = None if pd.isna(artist) else str(int(artist))
        date = row.get(("track", "date_created"))
        album = row.get(("album", "id"))  # optional: only the album split needs it
        tracks.append(Track(tid, path, genre, artist, subgenres, normalise_split(row[("set", "split")]),
                            date if isinstance(date, str) and date else None,
                            None if album is None or pd.isna(album) else str(int(album))))
    return Dataset(name=f"fma_{subset}", tracks=tracks, problems=problems)


def check_audio_dir(dataset: Dataset, audio_dir: Path | str) -> None:
    """One message for a wrong audio folder, rather than a "file not found" for each of its tracks.

    Raises:
        DatasetError: ``audio_dir`` is missing, or holds none of the dataset's files.
    """
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise DatasetError(f"{audio_dir}: audio folder not found (expected FMA's audio, e.g. fma_medium/ "
                           "holding 000/000002.mp3)")
    if dataset.tracks and not any(t.path.exists() for t in dataset.tracks):
        raise DatasetError(f"{audio_dir}: holds none of the {len(dataset.tracks)} tracks' files of {dataset.name} "
                           f"(expected e.g. {dataset.tracks[0].path}); is it the audio folder of this subset?")
