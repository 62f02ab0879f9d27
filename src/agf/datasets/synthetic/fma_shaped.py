"""Synthesised audio laid out like the Free Music Archive, for rehearsing an FMA setup without its audio.

FMA's metadata (``fma_metadata/tracks.csv``, ``genres.csv``) is small and public; its audio is
hundreds of gigabytes. :func:`write_fma_audio` reads real metadata with
:func:`agf.datasets.fma.read_fma` and writes one MP3 per track at FMA's own place,
``AUDIO_DIR/000/000002.mp3``, so that ``fma:METADATA_DIR:AUDIO_DIR`` runs every stage on the
real track ids, artists, genres, ``genres_all`` and split. :func:`write_fma_metadata` makes
such metadata for any number of tracks, shaped like FMA-medium (its 16 genres in their skewed
sizes, a few tracks per artist, sub-genres from the real taxonomy, an artist-disjoint split).

Each FMA top genre plays one of the synthetic package's sub-genre recipes (:data:`FMA_STYLES`,
16 distinct ones); each artist gets one synthetic artist's sound (timbre, key, tempo range,
preferred patterns), so an artist's tracks sound alike as they do in FMA. A track's audio
depends only on (its genre, its artist's profile, ``seed``, its track id), like ``synthetic:N``.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm.auto import tqdm

from agf.atomic import atomic_path, write_csv, write_json
from agf.datasets.fma import read_fma
from agf.datasets.synthetic.arrangement import render_track
from agf.datasets.synthetic.plan import ArtistProfile, SyntheticSettings, arrangement_params, artist_profiles
from agf.datasets.synthetic.recipes import GENRE_BY_NAME, GENRES, Style
from agf.datasets.synthetic.writer import GENERATOR_VERSION
from agf.datasets.tracks import Dataset, DatasetError

__all__ = ["FMA_MEDIUM_GENRES", "FMA_STYLES", "write_fma_audio", "write_fma_metadata"]

#: FMA top genre -> (synthetic genre, sub-genre) whose recipe its tracks play: 16 distinct
#: recipes, neighbours in FMA (Rock, Pop; Folk, Country) on neighbouring recipes.
FMA_STYLES = {
    "Blues": ("blues", "chicago blues"),
    "Classical": ("ambient", "new age"),
    "Country": ("folk", "americana"),
    "Easy Listening": ("jazz", "bossa nova"),
    "Electronic": ("electronic", "techno"),
    "Experimental": ("ambient", "dark ambient"),
    "Folk": ("folk", "singer-songwriter"),
    "Hip-Hop": ("hiphop", "boom bap"),
    "Instrumental": ("ambient", "drone"),
    "International": ("folk", "celtic"),
    "Jazz": ("jazz", "swing"),
    "Old-Time / Historic": ("blues", "delta blues"),
    "Pop": ("electronic", "synthpop"),
    "Rock": ("rock", "indie rock"),
    "Soul-RnB": ("hiphop", "lo-fi"),
    "Spoken": ("reggae", "dub"),
}

#: Tracks per top genre in FMA-medium, approximately (25,000 tracks; Defferrard et al. 2017). The
#: counts are the published ones as recalled, not read from fma_metadata: the sample here holds
#: too few medium tracks to count them. Only the skew matters to a scale rehearsal.
FMA_MEDIUM_GENRES = {
    "Rock": 7103, "Electronic": 6314, "Experimental": 2250, "Hip-Hop": 2201, "Folk": 1519, "Instrumental": 1350,
    "Pop": 1186, "International": 1018, "Classical": 619, "Old-Time / Historic": 510, "Jazz": 384, "Country": 178,
    "Soul-RnB": 154, "Spoken": 118, "Blues": 74, "Easy Listening": 21,
}

_TAG_FMA = 1_000_005  # random-stream tag of an FMA-shaped track's audio (plan.py holds the others)
_STAMP = "fma_shaped.json"


def _style(genre: str) -> tuple[Style, int]:
    """The recipe of an FMA top genre and its random-stream tag (as :class:`TrackParams` ``style_tag``).

    A genre outside :data:`FMA_STYLES` (a newer taxonomy) gets a fixed recipe chosen by its name."""
    if genre in FMA_STYLES:
        name, sub = FMA_STYLES[genre]
    else:
        pairs = sorted(set(FMA_STYLES.values()))
        name, sub = pairs[zlib.crc32(genre.encode()) % len(pairs)]
    recipe = GENRE_BY_NAME[name]
    index = recipe.subgenre_names.index(sub)
    return recipe.subgenres[index][1], GENRES.index(recipe) * 16 + index


def _render(settings: SyntheticSettings, track_id: int, genre: str, artist: ArtistProfile, path: Path) -> None:
    """Synthesise one track and write it as MP3, atomically (an interrupted run leaves no truncated file)."""
    style, tag = _style(genre)
    rng = np.random.default_rng([settings.seed, _TAG_FMA, track_id])
    audio = render_track(settings, arrangement_params(style, tag, artist, rng), rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio, settings.sample_rate, format="MP3")


def write_fma_audio(metadata_dir: Path | str, audio_dir: Path | str, *, subset: str = "medium",
                    track_ids: list[str] | None = None, duration_s: float = 30.0, sample_rate: int = 22050,
                    seed: int = 0, jobs: int = 1, progress: bool = True) -> Dataset:
    """Write ``AUDIO_DIR/<id[:3]>/<id>.mp3`` for every usable track of the FMA ``subset`` (or of
    ``track_ids`` among them); returns those tracks as :func:`read_fma` reads them.

    Resumable: a track whose MP3 exists is kept (files are written atomically). ``AUDIO_DIR/fma_shaped.json``
    records the settings; a folder made with other settings, or holding MP3s that this function did not
    write (real FMA audio, say), is refused rather than overwritten.

    Raises:
        DatasetError: missing or malformed metadata, an unknown track id, or an ``audio_dir`` in use.
    """
    audio_dir = Path(audio_dir)
    dataset = read_fma(metadata_dir, audio_dir, subset)
    if track_ids is not None:
        by_id = {t.track_id: t for t in dataset.tracks}
        unknown = [t for t in track_ids if t not in by_id]
        if unknown:
            raise DatasetError(f"{metadata_dir}: track id(s) {', '.join(unknown[:5])} are not usable tracks of "
                               f"FMA {subset}; pick ids from its tracks.csv that have a top genre")
        dataset = Dataset(dataset.name, [by_id[t] for t in track_ids], [])
    settings = SyntheticSettings(n_tracks=max(len(dataset.tracks), 1), n_genres=1, duration_s=duration_s,
                                 sample_rate=sample_rate, label_noise=0.0, seed=seed)
    _claim(audio_dir, settings)
    # one synthetic artist's sound per FMA artist; a track without an artist is an artist of its own
    keys = sorted({t.artist or f"track:{t.track_id}" for t in dataset.tracks})
    profiles = artist_profiles(dataclasses.replace(settings, n_tracks=max(len(keys), 1),
                                                   artists_per_genre=max(len(keys), 1)))
    profile_of = dict(zip(keys, profiles))
    todo = [(int(t.track_id), t.genre, profile_of[t.artist or f"track:{t.track_id}"], Path(t.path))
            for t in dataset.tracks if not Path(t.path).exists()]
    bar = tqdm(total=len(todo), desc="synthesising FMA-shaped tracks", unit="track", disable=not progress or not todo)
    if jobs <= 1:
        for job in todo:
            _render(settings, *job)
            bar.update()
    elif todo:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("forkserver")) as pool:
            for future in [pool.submit(_render, settings, *job) for job in todo]:
                future.result()
                bar.update()
    bar.close()
    return dataset


def _claim(audio_dir: Path, settings: SyntheticSettings) -> None:
    """Stamp ``audio_dir`` as this generator's, or refuse one that holds other audio."""
    stamp = {"generator_version": GENERATOR_VERSION, "duration_s": settings.duration_s,
             "sample_rate": settings.sample_rate, "seed": settings.seed}
    path = audio_dir / _STAMP
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = None
        if old != stamp:
            raise DatasetError(f"{path}: the audio there was synthesised with other settings ({old}); "
                               "use an empty AUDIO_DIR or delete that folder")
        return
    if audio_dir.is_dir() and next(audio_dir.glob("*/*.mp3"), None) is not None:
        raise DatasetError(f"{audio_dir}: holds MP3s that were not synthesised here (real FMA audio?); "
                           "synthesise into an empty folder")
    audio_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, stamp)


def write_fma_metadata(out_dir: Path | str, n_tracks: int, *, genres_csv: Path | str, tracks_per_artist: float = 5.0,
                       seed: int = 0) -> Path:
    """Write ``out_dir/tracks.csv`` and ``genres.csv`` for ``n_tracks`` tracks shaped like FMA-medium.

    Genres follow :data:`FMA_MEDIUM_GENRES`' proportions (every genre at least 2 tracks, so a split
    can stratify it); artists have ``tracks_per_artist`` tracks on average, heavy-tailed (a few
    prolific ones), one genre each and one or two of its sub-genres from ``genres_csv`` (FMA's
    ``genres.csv``), which every track's ``genres_all`` carries after the top genre. The official
    split is artist-disjoint, 80/10/10 over artists, as FMA's is. Returns the folder.
    """
    if n_tracks < 2 * len(FMA_MEDIUM_GENRES):
        raise DatasetError(f"FMA-shaped metadata needs at least {2 * len(FMA_MEDIUM_GENRES)} tracks (2 per genre), "
                           f"got {n_tracks}")
    genres = pd.read_csv(genres_csv)
    missing = [c for c in ("genre_id", "parent", "title") if c not in genres.columns]
    if missing:
        raise DatasetError(f"{genres_csv}: missing column(s) {', '.join(missing)}; pass FMA's genres.csv")
    top_id = dict(zip(genres.loc[genres["parent"] == 0, "title"], genres.loc[genres["parent"] == 0, "genre_id"]))
    absent = [g for g in FMA_MEDIUM_GENRES if g not in top_id]
    if absent:
        raise DatasetError(f"{genres_csv}: no top-level genre(s) {', '.join(absent)}; pass FMA's genres.csv")
    rng = np.random.default_rng(seed)
    sizes = np.array(list(FMA_MEDIUM_GENRES.values()), float)
    counts = 2 + rng.multinomial(n_tracks - 2 * len(sizes), sizes / sizes.sum())
    rows = []
    artist_id = 0
    for genre, n_genre in zip(FMA_MEDIUM_GENRES, counts):
        children = genres.loc[genres["parent"] == top_id[genre], "genre_id"].to_numpy()
        n_artists = max(1, round(n_genre / tracks_per_artist))
        weights = rng.lognormal(0.0, 1.0, n_artists)
        per_artist = 1 + rng.multinomial(n_genre - n_artists, weights / weights.sum())
        for n in per_artist:
            artist_id += 1
            subs = rng.choice(children, size=min(len(children), int(rng.integers(1, 3))), replace=False) \
                if len(children) else []
            labels = [int(top_id[genre]), *sorted(int(s) for s in subs)]
            rows += [(genre, str(labels[1:] or labels), str(labels), artist_id)] * int(n)
    table = pd.DataFrame(rows, columns=["genre_top", "genres", "genres_all", "artist"])
    split_of = dict(zip(range(1, artist_id + 1), rng.choice(["training", "validation", "test"], size=artist_id,
                                                            p=[0.8, 0.1, 0.1])))
    order = rng.permutation(len(table))
    # FMA's ids are sparse in 1..155,320; sorted, so tracks.csv reads like the real one
    ids = np.sort(rng.choice(np.arange(1, 155_321), size=len(table), replace=False))
    table = table.iloc[order].reset_index(drop=True)
    frame = pd.DataFrame({
        ("artist", "id"): table["artist"].to_numpy(),
        ("set", "split"): table["artist"].map(split_of).to_numpy(),
        ("set", "subset"): "medium",
        ("track", "genre_top"): table["genre_top"].to_numpy(),
        ("track", "genres"): table["genres"].to_numpy(),
        ("track", "genres_all"): table["genres_all"].to_numpy(),
    }, index=pd.Index(ids, name="track_id"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "tracks.csv") as tmp:
        frame.to_csv(tmp)
    write_csv(genres, out_dir / "genres.csv")
    return out_dir
