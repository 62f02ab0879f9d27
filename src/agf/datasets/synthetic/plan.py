"""What to synthesise: the settings, the artists, the dataset plan (which artist and genre every
track has, which labels are wrong) and each track's parameters (tempo, key, progression,
patterns) and labels.

Randomness comes only from ``numpy.random.Generator`` objects derived from the seed, so that the
labels are known without synthesising audio and any track can be made on its own: the plan from
``(seed, tag)``, each artist from ``(seed, tag, artist index)``, each track from ``(seed, track
index)`` and an artist's melody motif from ``(motif seed, tag, sub-genre)``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agf.datasets.synthetic.recipes import (
    GENRE_BY_NAME,
    GENRES,
    STYLE_PARTS,
    Genre,
    Style,
    blend,
    genre_names,
)
from agf.datasets.synthetic.theory import KEY_NAMES, Chord
from agf.errors import SettingsError
from agf.settings import Interval, Settings

__all__ = [
    "ArtistProfile",
    "SyntheticSettings",
    "TrackInfo",
    "TrackParams",
    "arrangement_params",
    "artist_profiles",
    "motif_rng",
    "track_infos",
    "track_params",
]

# Random-stream tags (the first element after the seed) for the different derived generators.
_TAG_PLAN = 1_000_001
_TAG_ARTIST = 1_000_002
_TAG_MOTIF = 1_000_003
_TAG_CROSSOVER = 1_000_004


@dataclass(frozen=True)
class SyntheticSettings(Settings):
    """Settings of a synthetic dataset.

    ``n_genres`` takes the first genres of :data:`GENRES` (at most ``len(GENRES)`` = 8).
    There are ``n_genres * artists_per_genre`` artists, fewer when ``n_tracks`` is smaller than
    that (every artist has at least one track). ``duration_s`` in seconds, ``sample_rate`` in Hz,
    ``label_noise`` the fraction of tracks whose genre label is replaced by another genre;
    ``crossover`` the fraction of tracks that borrow one or two parts of their arrangement
    (drums, harmony, bass, lead or production) from a neighbouring genre's sub-genre, keeping
    their own genre label: the overlap between neighbouring genres that real catalogues have.
    The defaults make a dataset that a classifier cannot learn perfectly.
    """

    n_tracks: int = 120
    n_genres: int = 6
    artists_per_genre: int = 5
    duration_s: float = 8.0
    sample_rate: int = 22050
    label_noise: float = 0.05
    crossover: float = 0.3
    seed: int = 0

    constraints = {
        "n_tracks": Interval(int, 1),
        "n_genres": Interval(int, 1, len(GENRES)),
        "artists_per_genre": Interval(int, 1),
        "duration_s": Interval(float, 0.0, low_open=True),
        "sample_rate": Interval(int, 8000),
        "label_noise": Interval(float, 0.0, 1.0, high_open=True),
        "crossover": Interval(float, 0.0, 1.0),
        "seed": Interval(int, 0),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_tracks < self.n_genres:
            raise SettingsError(f"n tracks ({self.n_tracks}) must be at least n genres ({self.n_genres}): "
                                "every genre needs a track")
        if self.label_noise > 0 and self.n_genres < 2:
            raise SettingsError("label noise needs at least two genres")

    @property
    def n_samples(self) -> int:
        """Length of every track in samples."""
        return round(self.duration_s * self.sample_rate)


@dataclass(frozen=True)
class ArtistProfile:
    """One synthetic artist: genres (primary first), a sub-genre per genre, and a sound.

    ``key`` is a pitch class (0 = C); ``tempo_pos`` places the artist's tempo sub-range inside
    each sub-genre's range (0 = slowest); the other fields scale the recipe (1 = unchanged).
    """

    index: int
    artist_id: str
    genres: tuple[str, ...]
    subgenres: tuple[str, ...]
    key: int
    tempo_pos: float
    brightness: float
    fm_index: float
    detune_cents: float
    vibrato_cents: float
    attack: float
    legato: float
    density: float
    levels: tuple[float, float, float, float]
    reverb: float
    echo: float
    cutoff: float
    kit_pitch: float
    kit_decay: float
    timing_ms: float
    pattern_pick: int
    progression_pick: int
    lead_pick: int
    motif_seed: int

    def subgenre_of(self, genre: str) -> str:
        return self.subgenres[self.genres.index(genre)]


@dataclass(frozen=True)
class TrackInfo:
    """The labels of one track, and what was synthesised.

    ``genre`` is the label (wrong when ``noisy``); ``true_genre`` is what the audio is.
    ``subgenres`` = (genre label, sub-genre label), ';'-joined in tracks.csv.
    """

    index: int
    track_id: str
    artist: str
    genre: str
    true_genre: str
    subgenres: tuple[str, ...]
    true_subgenre: str
    title: str
    tempo_bpm: float
    key: str
    noisy: bool

    @property
    def path(self) -> str:
        """Path of the audio file relative to tracks.csv."""
        return f"audio/{self.track_id}.flac"


def _n_artists(settings: SyntheticSettings) -> int:
    return min(settings.n_genres * settings.artists_per_genre, settings.n_tracks)


def _artist(settings: SyntheticSettings, k: int, n_artists: int) -> ArtistProfile:
    rng = np.random.default_rng([settings.seed, _TAG_ARTIST, k])
    names = genre_names(settings.n_genres)
    primary = names[k % settings.n_genres]
    genres = [primary]
    if settings.n_genres > 1 and rng.random() < 0.2:
        near = [g for g in GENRE_BY_NAME[primary].neighbours if g in names]
        others = near or [g for g in names if g != primary]
        genres.append(str(others[rng.integers(len(others))]))
    subs = []
    for g in genres:
        options = GENRE_BY_NAME[g].subgenre_names
        subs.append(options[rng.integers(len(options))])
    width = max(2, len(str(n_artists - 1)))
    return ArtistProfile(
        index=k,
        artist_id=f"syn-artist-{k:0{width}d}",
        genres=tuple(genres),
        subgenres=tuple(subs),
        key=int(rng.integers(12)),
        tempo_pos=float(rng.uniform(0.1, 0.9)),
        brightness=float(np.exp(rng.uniform(-0.4, 0.4))),
        fm_index=float(rng.uniform(0.6, 1.6)),
        detune_cents=float(rng.uniform(3.0, 18.0)),
        vibrato_cents=float(rng.uniform(5.0, 35.0)),
        attack=float(np.exp(rng.uniform(-0.5, 0.5))),
        legato=float(rng.uniform(0.55, 0.95)),
        density=float(np.exp(rng.uniform(-0.35, 0.35))),
        levels=tuple(float(v) for v in np.exp(rng.normal(0.0, 0.25, 4))),  # type: ignore[arg-type]
        reverb=float(rng.uniform(0.6, 1.5)),
        echo=float(rng.uniform(0.5, 1.5)),
        cutoff=float(np.exp(rng.uniform(-0.35, 0.3))),
        kit_pitch=float(np.exp(rng.uniform(-0.15, 0.15))),
        kit_decay=float(np.exp(rng.uniform(-0.25, 0.25))),
        timing_ms=float(rng.uniform(2.0, 12.0)),
        pattern_pick=int(rng.integers(1000)),
        progression_pick=int(rng.integers(1000)),
        lead_pick=int(rng.integers(1000)),
        motif_seed=int(rng.integers(2**31)),
    )


def artist_profiles(settings: SyntheticSettings) -> tuple[ArtistProfile, ...]:
    """All artists of the dataset; artist ``k``'s primary genre is genre ``k % n_genres``."""
    n = _n_artists(settings)
    return tuple(_artist(settings, k, n) for k in range(n))


@dataclass(frozen=True)
class _Plan:
    artists: tuple[ArtistProfile, ...]
    track_artist: tuple[int, ...]
    track_genre: tuple[str, ...]  # true genre
    label: tuple[tuple[str, str] | None, ...]  # (wrong genre, wrong sub-genre) for noisy tracks


@functools.lru_cache(maxsize=16)
def _plan(settings: SyntheticSettings) -> _Plan:
    artists = artist_profiles(settings)
    rng = np.random.default_rng([settings.seed, _TAG_PLAN])
    n_art, n = len(artists), settings.n_tracks
    weights = rng.lognormal(0.0, 1.0, n_art)  # heavy-tailed: a few prolific artists
    counts = 1 + rng.multinomial(n - n_art, weights / weights.sum())
    track_artist = rng.permutation(np.repeat(np.arange(n_art), counts))
    genres = []
    for a in track_artist:
        art = artists[a]
        if len(art.genres) > 1 and rng.random() < 0.35:
            genres.append(art.genres[1])
        else:
            genres.append(art.genres[0])
    labels: list[tuple[str, str] | None] = [None] * n
    n_noisy = round(settings.label_noise * n)
    names = genre_names(settings.n_genres)
    for i in sorted(rng.choice(n, size=n_noisy, replace=False).tolist()) if n_noisy else []:
        wrong = [g for g in names if g != genres[i]]
        g = wrong[rng.integers(len(wrong))]
        options = GENRE_BY_NAME[g].subgenre_names
        labels[i] = (g, options[rng.integers(len(options))])
    return _Plan(artists, tuple(int(a) for a in track_artist), tuple(genres), tuple(labels))


_ADJECTIVES = ("Blue", "Quiet", "Electric", "Golden", "Hollow", "Northern", "Broken", "Velvet",
               "Silent", "Crimson", "Lonely", "Distant", "Paper", "Midnight", "Summer", "Iron")
_NOUNS = ("River", "Light", "Engine", "Garden", "Signal", "Road", "Echo", "Harbor", "Window",
          "Mirror", "Station", "Dream", "Shadow", "Fields", "Circuit", "Letter")


@dataclass(frozen=True)
class TrackParams:
    """What the arrangement of one track needs beyond its labels.

    ``style_tag`` names the sub-genre in random-stream seeds (genre index * 16 + sub-genre
    index); ``key`` is a pitch class; ``pattern_picks`` index the style's pattern alternatives.
    """

    style: Style
    style_tag: int
    artist: ArtistProfile
    tempo: float
    key: int
    progression: tuple[Chord, ...]
    pattern_picks: tuple[int, int, int, int, int]  # kick, snare, hat, comp, bass


def _pick(options: Sequence[object], preferred: int, rng: np.random.Generator, keep: float) -> int:
    """Index of the artist's preferred option with probability ``keep``, else a random one."""
    if len(options) <= 1:
        return 0
    return preferred % len(options) if rng.random() < keep else int(rng.integers(len(options)))


def track_params(
    settings: SyntheticSettings, index: int
) -> tuple[TrackInfo, TrackParams, np.random.Generator]:
    """Track ``index``'s labels and parameters, and its random stream, positioned after the
    parameter draws: the audio continues from it, so it depends only on (settings, index)."""
    if not 0 <= index < settings.n_tracks:
        raise IndexError(f"track index {index} out of range 0..{settings.n_tracks - 1}")
    plan = _plan(settings)
    artist = plan.artists[plan.track_artist[index]]
    true_genre = plan.track_genre[index]
    sub = artist.subgenre_of(true_genre)
    genre = GENRE_BY_NAME[true_genre]
    sub_idx = genre.subgenre_names.index(sub)
    style = genre.subgenres[sub_idx][1]
    style_tag = GENRES.index(genre) * 16 + sub_idx

    rng = np.random.default_rng([settings.seed, index])
    params = arrangement_params(style, style_tag, artist, rng)
    title = f"{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} {_NOUNS[rng.integers(len(_NOUNS))]}"
    width = max(5, len(str(settings.n_tracks - 1)))
    noisy = plan.label[index]
    label_genre, label_sub = noisy if noisy is not None else (true_genre, sub)
    info = TrackInfo(
        index=index,
        track_id=f"syn{index:0{width}d}",
        artist=artist.artist_id,
        genre=label_genre,
        true_genre=true_genre,
        subgenres=(label_genre, label_sub),
        true_subgenre=sub,
        title=title,
        tempo_bpm=round(params.tempo, 2),
        key=KEY_NAMES[params.key],
        noisy=noisy is not None,
    )
    style, picks = _crossover(settings, index, genre, style, params.pattern_picks)
    return info, dataclasses.replace(params, style=style, pattern_picks=picks), rng  # type: ignore[arg-type]


def arrangement_params(style: Style, style_tag: int, artist: ArtistProfile, rng: np.random.Generator) -> TrackParams:
    """The tempo, key, progression and pattern picks of a track of ``artist`` in ``style``, drawn from
    ``rng`` in this order: :func:`track_params` and the FMA-shaped tracks (``fma_shaped``) share them."""
    lo, hi = style.tempo
    centre = lo + artist.tempo_pos * (hi - lo)
    half = 0.1 * (hi - lo)
    tempo = float(np.clip(centre + rng.uniform(-half, half), lo, hi))
    key = artist.key if rng.random() < 0.75 else (artist.key + int(rng.choice([2, 5, 7, 10]))) % 12
    prog = style.progressions[_pick(style.progressions, artist.progression_pick, rng, 0.7)]
    picks = tuple(
        _pick(opts, artist.pattern_pick + j, rng, 0.8) if opts else 0
        for j, opts in enumerate(_patterns(style))
    )
    return TrackParams(style, style_tag, artist, tempo, key, prog, picks)  # type: ignore[arg-type]


def _patterns(style: Style) -> tuple[tuple[str, ...], ...]:
    """The pattern alternatives the picks of :class:`TrackParams` index: kick, snare, hat, comp, bass."""
    return style.kick, style.snare, style.hat, style.comp, style.bass_pattern


def _crossover(settings: SyntheticSettings, index: int, genre: Genre, style: Style,
               picks: tuple[int, ...]) -> tuple[Style, tuple[int, ...]]:
    """The track's style and pattern picks, or with probability ``settings.crossover`` a blend with a
    neighbouring genre's sub-genre (a borrowed pattern gets a pick of its own). Its own random
    stream, drawn after the track's other parameters, so nothing else about the track changes."""
    if settings.crossover == 0:
        return style, picks
    rng = np.random.default_rng([settings.seed, _TAG_CROSSOVER, index])
    near = [g for g in genre.neighbours if g in genre_names(settings.n_genres)]
    if not near or rng.random() >= settings.crossover:
        return style, picks
    other = GENRE_BY_NAME[near[rng.integers(len(near))]]
    other_style = other.subgenres[rng.integers(len(other.subgenres))][1]
    parts = tuple(rng.choice(list(STYLE_PARTS), size=int(rng.integers(1, 3)), replace=False).tolist())
    crossed = blend(style, other_style, parts)
    picks = tuple(pick if new == old else (int(rng.integers(len(new))) if new else 0)
                  for pick, old, new in zip(picks, _patterns(style), _patterns(crossed)))
    return crossed, picks


def track_infos(settings: SyntheticSettings) -> list[TrackInfo]:
    """The labels of every track, without synthesising audio (cheap)."""
    return [track_params(settings, i)[0] for i in range(settings.n_tracks)]


def motif_rng(params: TrackParams) -> np.random.Generator:
    """The generator of a track's melody motif: the same for every track of one artist in one
    sub-genre, so that the artist's melodies sound alike."""
    return np.random.default_rng([params.artist.motif_seed, _TAG_MOTIF, params.style_tag])
