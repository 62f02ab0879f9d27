"""Musically structured synthetic audio: the toolkit's built-in dataset (``synthetic:N``).

Every track is a short excerpt of a small synthesised band: drums made from pitched sine sweeps
and filtered noise bursts, a bass line, chords (pads, organ, FM electric piano, Karplus-Strong
plucked or strummed strings, distorted power chords, ...) and a melody, following a chord
progression in a key and a mode, on a swung or straight 16-step grid, mixed with echo and reverb.

* A **genre** (:data:`GENRES`) fixes the musical recipe: tempo range, drum patterns and kit,
  swing, scale and chord progressions, instruments and production. Every genre has 2-3
  **sub-genres**, each a variant of the genre's recipe.
* An **artist** (:class:`ArtistProfile`) belongs to one genre (some to two) and to one sub-genre
  in each. Its own timbre (brightness, FM index, detune, vibrato, attack), preferred key, tempo
  sub-range, preferred patterns and progression, drum-kit tuning, mix levels, reverb and echo
  make its tracks sound alike.
* A **track** (:class:`TrackInfo`) is labelled with its genre and ``subgenres`` = (genre,
  artist's sub-genre), like FMA's ``genres_all``. Optionally a fraction of the tracks gets a
  wrong genre label (``label_noise``); their audio is unchanged.

Randomness comes only from ``numpy.random.Generator`` objects derived from the seed: the
dataset plan (artists, track-to-artist assignment, label noise) from ``(seed, tag)``, each
artist from ``(seed, tag, artist index)`` and each track's audio from ``(seed, track index)``.
The same settings therefore give bit-identical audio on the same platform, and a partial
generation completed later gives the same files.

Audio is mono float32 at ``sample_rate`` Hz, peak-normalised to -1 dBFS, written as 16-bit FLAC.

The modules, from the music to the files:

* ``theory``: scales and modes, chord qualities, key names, chord voicing, MIDI to Hz.
* ``recipes``: the drum kits and the genre and sub-genre recipes (:class:`Kit`, :class:`Style`,
  :class:`Genre`).
* ``plan``: the settings, the artists, which track has which artist and labels, and each
  track's tempo, key, progression and patterns; all random draws but the audio's.
* ``rhythm``: the 16-step grid: pattern hits, velocities, swing.
* ``drums``: a kit's one-shot drum sounds.
* ``instruments``: oscillators, envelopes, FM and plucked strings, and the registry of
  instrument renderers that the recipes name.
* ``arrangement``: the parts of a track on the grid, the mix bus and mastering
  (:func:`synthesize_track`).
* ``writer``: FLAC files, tracks.csv and the stamp file (:func:`generate_dataset`).

A change that alters the audio or the labels must bump :data:`GENERATOR_VERSION`.
"""

from agf.datasets.synthetic.arrangement import synthesize_track
from agf.datasets.synthetic.plan import (
    ArtistProfile,
    SyntheticSettings,
    TrackInfo,
    artist_profiles,
    track_infos,
)
from agf.datasets.synthetic.recipes import GENRES, Genre, Kit, Style, genre_names
from agf.datasets.synthetic.writer import GENERATOR_VERSION, generate_dataset

__all__ = [
    "GENERATOR_VERSION",
    "GENRES",
    "ArtistProfile",
    "Genre",
    "Kit",
    "Style",
    "SyntheticSettings",
    "TrackInfo",
    "artist_profiles",
    "generate_dataset",
    "genre_names",
    "synthesize_track",
    "track_infos",
]
