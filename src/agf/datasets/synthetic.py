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
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

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

#: Bump when a change to this module changes the audio or the labels; stored in the stamp file
#: so that an output folder made by another version is regenerated, not silently reused.
GENERATOR_VERSION = 1
PEAK_DBFS = -1.0
_PEAK = 10.0 ** (PEAK_DBFS / 20.0)
_STAMP = "synthetic.json"

# Random-stream tags (the first element after the seed) for the different derived generators.
_TAG_PLAN = 1_000_001
_TAG_ARTIST = 1_000_002
_TAG_MOTIF = 1_000_003

# ----------------------------------------------------------------------------------------------
# Musical vocabulary
# ----------------------------------------------------------------------------------------------

IONIAN = (0, 2, 4, 5, 7, 9, 11)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)
LYDIAN = (0, 2, 4, 6, 7, 9, 11)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
AEOLIAN = (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
MINOR_PENTATONIC = (0, 3, 5, 7, 10)
BLUES = (0, 3, 5, 6, 7, 10)

#: Chord qualities as semitone intervals above the root.
CHORDS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "pow": (0, 7, 12),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "dim": (0, 3, 6),
    "maj6": (0, 4, 7, 9),
    "dom7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "dom9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14),
}

KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

Chord = tuple[int, str]  # (root in semitones above the key, quality name in CHORDS)


@dataclass(frozen=True)
class Kit:
    """A synthesised drum kit. Frequencies in Hz, decays in seconds (exponential time constants)."""

    kick_hz: tuple[float, float] = (120.0, 55.0)  # sine sweep start -> end
    kick_decay: float = 0.25
    kick_click: float = 0.4  # level of the noise click on the kick's attack
    snare_hz: float = 190.0  # tonal body of the snare (0 = none)
    snare_decay: float = 0.16
    snare_noise: float = 0.75  # noise share of the snare
    snare_band: tuple[float, float] = (900.0, 7000.0)
    hat_decay: float = 0.045
    hat_open_decay: float = 0.35
    hat_hp: float = 6000.0  # high-pass corner of the hi-hat noise
    metallic: float = 0.0  # share of inharmonic partials in the cymbal (ride)
    gains: tuple[float, float, float] = (1.0, 0.8, 0.35)  # kick, snare, hat


KITS: dict[str, Kit] = {
    "acoustic": Kit(),
    "soft": Kit(kick_decay=0.2, kick_click=0.2, snare_decay=0.12, gains=(0.6, 0.4, 0.25)),
    "electronic": Kit(
        kick_hz=(170.0, 47.0), kick_decay=0.4, kick_click=0.15, snare_hz=230.0, snare_decay=0.2,
        snare_noise=0.9, snare_band=(800.0, 5000.0), hat_decay=0.03, hat_hp=8000.0,
        gains=(1.0, 0.7, 0.3),
    ),
    "808": Kit(
        kick_hz=(95.0, 42.0), kick_decay=0.8, kick_click=0.1, snare_hz=200.0, snare_decay=0.12,
        snare_noise=0.85, snare_band=(1500.0, 9000.0), hat_decay=0.022, hat_hp=9000.0,
        gains=(1.0, 0.75, 0.3),
    ),
    "boombap": Kit(
        kick_hz=(110.0, 50.0), kick_decay=0.3, kick_click=0.5, snare_hz=180.0, snare_decay=0.2,
        snare_noise=0.8, snare_band=(700.0, 5000.0), hat_decay=0.035, hat_hp=5000.0,
        gains=(1.0, 0.9, 0.3),
    ),
    "lofi": Kit(
        kick_hz=(100.0, 50.0), kick_decay=0.22, kick_click=0.2, snare_hz=170.0, snare_decay=0.15,
        snare_noise=0.7, snare_band=(500.0, 3000.0), hat_decay=0.03, hat_hp=4000.0,
        gains=(0.9, 0.7, 0.25),
    ),
    "brush": Kit(
        kick_hz=(90.0, 60.0), kick_decay=0.2, kick_click=0.0, snare_hz=0.0, snare_decay=0.25,
        snare_noise=1.0, snare_band=(2000.0, 8000.0), hat_decay=0.5, hat_hp=3000.0,
        metallic=0.6, gains=(0.5, 0.35, 0.3),
    ),
    "bossa": Kit(
        kick_hz=(100.0, 60.0), kick_decay=0.2, kick_click=0.2, snare_hz=900.0, snare_decay=0.035,
        snare_noise=0.3, snare_band=(1500.0, 6000.0), hat_decay=0.03, gains=(0.6, 0.45, 0.2),
    ),
    "hand": Kit(
        kick_hz=(110.0, 75.0), kick_decay=0.22, kick_click=0.6, gains=(0.8, 0.0, 0.0),
    ),
    "stomp": Kit(kick_hz=(70.0, 45.0), kick_decay=0.15, kick_click=0.8, gains=(0.9, 0.0, 0.0)),
    "reggae": Kit(
        kick_hz=(100.0, 50.0), kick_decay=0.3, kick_click=0.3, snare_hz=600.0, snare_decay=0.05,
        snare_noise=0.4, snare_band=(1200.0, 6000.0), hat_decay=0.03, gains=(1.0, 0.6, 0.25),
    ),
}


@dataclass(frozen=True)
class Style:
    """The recipe of one sub-genre.

    Patterns are 16-step bars (16th notes): ``.`` rest, ``o`` ghost, ``x`` normal, ``X`` accent;
    hi-hat patterns also know ``O`` (open hat) and ``r`` (a 32nd-note roll). Bass patterns use
    ``r`` root, ``f`` fifth, ``t`` third, ``o`` octave, ``w`` walking-bass note. Tuples of
    patterns are alternatives: an artist prefers one of them. Levels are linear gains for
    (drums, bass, harmony, lead). Tempi in BPM, cutoff in Hz, swing in [0, 1] (1 = triplets).
    """

    tempo: tuple[float, float]
    scale: tuple[int, ...]
    progressions: tuple[tuple[Chord, ...], ...]
    bars_per_chord: int = 1
    swing: float = 0.0
    swing_unit: int = 1  # 1: swing 16th-note pairs, 2: swing 8th-note pairs
    kit: str = "acoustic"
    kick: tuple[str, ...] = ()
    snare: tuple[str, ...] = ()
    hat: tuple[str, ...] = ()
    harmony: str = "pad"
    comp: tuple[str, ...] = ("x...............",)
    comp_legato: float = 0.95
    tie_chords: bool = False  # hold a chord across bars while it does not change
    arpeggiate: bool = False
    strum_ms: float = 0.0
    harmony_center: int = 60  # MIDI note the chord voicing is centred on
    bass: str = "bass_saw"  # "" = no bass
    bass_pattern: tuple[str, ...] = ("r.......r.......",)
    bass_low: int = 36  # lowest MIDI note of the bass octave
    leads: tuple[str, ...] = ("pluck",)
    lead_density: float = 0.3
    lead_step: int = 2  # melody grid in 16th notes
    lead_center: int = 72
    drive: float = 0.0  # distortion of the harmony bus
    lead_drive: float = 0.0
    reverb: float = 0.2
    echo: float = 0.0
    cutoff_hz: float = 9000.0
    vinyl: float = 0.0
    texture: float = 0.0  # low wind-like noise bed
    levels: tuple[float, float, float, float] = (1.0, 0.8, 0.7, 0.5)


@dataclass(frozen=True)
class Genre:
    """A top-level genre: its name and its sub-genres (name, recipe)."""

    name: str
    subgenres: tuple[tuple[str, Style], ...]
    neighbours: tuple[str, ...] = ()  # genres an artist of this genre may also play

    @property
    def subgenre_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.subgenres)


def _variant(base: Style, name: str, **changes: object) -> tuple[str, Style]:
    return name, dataclasses.replace(base, **changes)


_AMBIENT = Style(
    tempo=(62, 80), scale=AEOLIAN,
    progressions=(((0, "min9"), (8, "maj7")), ((0, "sus2"), (5, "min7")),
                  ((0, "min7"), (3, "maj7"), (10, "sus2"), (8, "maj7"))),
    bars_per_chord=2, kit="", harmony="pad", tie_chords=True, harmony_center=58,
    bass="sub", bass_pattern=("r...............",), leads=("bell", "flute"), lead_density=0.2,
    lead_step=4, reverb=0.8, echo=0.35, cutoff_hz=6000, texture=0.15, levels=(0, 0.5, 1.0, 0.5),
)
_ROCK = Style(
    tempo=(112, 140), scale=MINOR_PENTATONIC,
    progressions=(((0, "pow"), (10, "pow"), (5, "pow"), (0, "pow")),
                  ((0, "pow"), (8, "pow"), (10, "pow"), (5, "pow")),
                  ((0, "pow"), (5, "pow"), (7, "pow"), (5, "pow"))),
    kit="acoustic", kick=("X.....x.X.......", "X.......X.x....."), snare=("....X.......X...",),
    hat=("x.x.x.x.x.x.x.x.", "X.x.X.x.X.x.X.x."), harmony="power",
    comp=("x.x.x.x.x.x.x.x.", "x..x..x.x..x..x."), harmony_center=50, bass="bass_pick",
    bass_pattern=("r.r.r.r.r.r.r.r.",), bass_low=33, leads=("pluck", "saw_lead"),
    lead_density=0.35, drive=0.7, lead_drive=0.6, reverb=0.2, cutoff_hz=8000,
    levels=(1.0, 0.8, 0.8, 0.55),
)
_ELECTRONIC = Style(
    tempo=(122, 132), scale=AEOLIAN,
    progressions=(((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")), ((0, "min7"), (5, "min7"))),
    kit="electronic", kick=("X...X...X...X...",), snare=("....x.......x...",),
    hat=("..x...x...x...x.", "o.x.o.x.o.x.o.x."), harmony="stab",
    comp=("...x..x....x..x.", "x..x..x..x..x.x."), comp_legato=0.6, bass="bass_saw",
    bass_pattern=("..r...r...r...r.", "..r.r.r...r.r.o."), leads=("saw_lead", "bell"),
    lead_density=0.5, lead_step=1, echo=0.3, reverb=0.3, cutoff_hz=11000,
    levels=(1.0, 0.8, 0.6, 0.45),
)
_JAZZ = Style(
    tempo=(140, 175), scale=IONIAN,
    progressions=(((2, "min7"), (7, "dom7"), (0, "maj7"), (9, "dom7")),
                  ((0, "maj7"), (9, "min7"), (2, "min7"), (7, "dom7")),
                  ((4, "min7"), (9, "dom7"), (2, "min7"), (7, "dom7"))),
    swing=0.9, swing_unit=2, kit="brush", kick=("o...o...o...o...",),
    snare=("......o.......o.", "..o.....o..o...."), hat=("X...x.x.X...x.x.",),
    harmony="epiano", comp=("x.....x...x.....", "...x......x....."), comp_legato=0.7,
    bass="bass_upright", bass_pattern=("w...w...w...w...",), leads=("sax", "flute"),
    lead_density=0.55, reverb=0.35, cutoff_hz=8000, levels=(0.7, 0.9, 0.7, 0.7),
)
_FOLK = Style(
    tempo=(92, 116), scale=IONIAN,
    progressions=(((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")),
                  ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj"))),
    kit="soft", kick=("X.......X.......",), snare=("....x.......x...",), harmony="strum",
    comp=("x...x.x...x.x.x.", "x.x.x.x.x.x.x.x."), strum_ms=18, harmony_center=57,
    bass="bass_upright", bass_pattern=("r.......f.......",), leads=("fiddle", "flute", "pluck"),
    lead_density=0.3, reverb=0.3, cutoff_hz=7000, levels=(0.5, 0.7, 1.0, 0.6),
)
_HIPHOP = Style(
    tempo=(86, 96), scale=DORIAN,
    progressions=(((0, "min7"), (5, "min7")), ((0, "min9"), (8, "maj7")),
                  ((0, "min7"), (10, "dom7"), (8, "maj7"), (7, "min7"))),
    swing=0.5, kit="boombap", kick=("X.........X.....", "X......X..X....."),
    snare=("....X.......X...",), hat=("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."),
    harmony="epiano", comp=("x.......x.......", "x..............."), bass="sub",
    bass_pattern=("r.........r.....", "r......r..r....."), leads=("bell", "flute"),
    lead_density=0.15, vinyl=0.15, cutoff_hz=7000, levels=(1.0, 0.9, 0.6, 0.4),
)
_BLUES = Style(
    tempo=(76, 104), scale=BLUES,
    progressions=(((0, "dom7"), (5, "dom7"), (0, "dom7"), (7, "dom7")),
                  ((0, "dom7"), (0, "dom7"), (5, "dom7"), (0, "dom7"))),
    swing=1.0, swing_unit=2, kit="acoustic", kick=("X...X...X...X...",),
    snare=("....X.......X...",), hat=("x.x.x.x.x.x.x.x.",), harmony="piano",
    comp=("..x...x...x...x.",), comp_legato=0.6, bass="bass_upright",
    bass_pattern=("r.r.t.t.f.f.o.o.",), leads=("pluck", "reed"), lead_density=0.45,
    reverb=0.3, cutoff_hz=6500,
)
_REGGAE = Style(
    tempo=(70, 88), scale=AEOLIAN,
    progressions=(((0, "min"), (5, "min")), ((0, "maj"), (5, "maj"), (7, "maj"), (5, "maj")),
                  ((0, "min"), (10, "maj"))),
    swing=0.25, kit="reggae", kick=("........X.......",), snare=("........x.......",),
    hat=("x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.xx"), harmony="pluck",
    comp=("..x...x...x...x.",), comp_legato=0.3, harmony_center=64, bass="bass_round",
    bass_pattern=("r...r.f.....r.o.", "r..r....f.r....."), leads=("reed", "bell"),
    lead_density=0.2, echo=0.4, reverb=0.3, cutoff_hz=6000, levels=(0.9, 1.1, 0.6, 0.4),
)

#: The genre recipes, in the order ``n_genres`` takes them.
GENRES: tuple[Genre, ...] = (
    Genre("ambient", (
        _variant(_AMBIENT, "drone", tempo=(55, 68), progressions=(((0, "sus2"),), ((0, "min"),)),
                 bars_per_chord=4, leads=("flute",), lead_density=0.06, cutoff_hz=3500,
                 texture=0.3, harmony_center=52),
        _variant(_AMBIENT, "new age", scale=LYDIAN, tempo=(68, 84),
                 progressions=(((0, "maj7"), (2, "maj")),
                               ((0, "maj9"), (7, "sus2"), (9, "min7"), (5, "maj7"))),
                 leads=("bell",), lead_density=0.45, lead_step=2, cutoff_hz=9000, texture=0.05),
        _variant(_AMBIENT, "dark ambient", scale=PHRYGIAN,
                 progressions=(((0, "min"), (1, "maj")), ((0, "dim"), (0, "min"))),
                 harmony_center=48, leads=("flute",), lead_density=0.1, cutoff_hz=2200,
                 texture=0.5, reverb=0.9),
    ), neighbours=("electronic",)),
    Genre("rock", (
        _variant(_ROCK, "punk", tempo=(165, 190), scale=IONIAN,
                 kick=("X...X...X...X...", "X.X...X.X.X...X."), comp=("x.x.x.x.x.x.x.x.",),
                 progressions=(((0, "pow"), (5, "pow"), (7, "pow"), (5, "pow")),
                               ((0, "pow"), (7, "pow"), (9, "pow"), (5, "pow"))),
                 drive=1.0, cutoff_hz=9000, reverb=0.1, lead_density=0.15),
        _variant(_ROCK, "indie rock", tempo=(104, 126), scale=IONIAN,
                 progressions=(((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")),
                               ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj"))),
                 harmony="pluck", arpeggiate=True, comp=("x.x.x.x.x.x.x.x.",),
                 harmony_center=62, drive=0.15, lead_drive=0.1, leads=("saw_lead", "pluck"),
                 echo=0.3, reverb=0.35),
        _variant(_ROCK, "hard rock", tempo=(92, 114), scale=BLUES,
                 kick=("X..X..X.X.......", "X.X...X.X..X...."),
                 comp=("x..x..x.x..x..x.", "x.x..x.xx.x..x.x"), drive=1.0, lead_drive=0.9,
                 lead_density=0.45, lead_step=1),
    ), neighbours=("blues", "folk")),
    Genre("electronic", (
        _variant(_ELECTRONIC, "techno", tempo=(128, 136),
                 snare=("................", "....x.......x..."),
                 hat=("o.x.o.x.o.x.o.x.", "..X...X...X...X."), comp=("...x.....x....x.",),
                 progressions=(((0, "min"),), ((0, "min"), (0, "sus4"))), bass="bass_fm",
                 bass_pattern=("..r...r...r...r.", ".rr..rr..rr..rr."), leads=("bell",),
                 lead_density=0.15, cutoff_hz=9000, levels=(1.4, 0.7, 0.5, 0.4)),
        _variant(_ELECTRONIC, "house", tempo=(120, 126), scale=DORIAN,
                 hat=("..O...O...O...O.", "x.O.x.O.x.O.x.O."), harmony="organ",
                 comp=("..x..x....x..x..",),
                 progressions=(((0, "min7"), (5, "min7")),
                               ((2, "min7"), (7, "dom7"), (0, "maj7"), (9, "min7"))),
                 bass_pattern=("..r...r...r.r.r.", "r..r..r...r..r.."), leads=("saw_lead",),
                 lead_density=0.2, lead_step=2),
        _variant(_ELECTRONIC, "synthpop", tempo=(106, 120), scale=IONIAN,
                 kick=("X.......X.......", "X.......X.X....."), snare=("....X.......X...",),
                 hat=("x.x.x.x.x.x.x.x.",), harmony="pad", comp=("x...............",),
                 comp_legato=1.0, tie_chords=True,
                 progressions=(((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),
                               ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj"))),
                 bass_pattern=("r.r.r.r.r.r.r.r.", "r.ror.ror.ror.ro"), lead_density=0.4,
                 lead_step=2),
    ), neighbours=("ambient", "hiphop")),
    Genre("jazz", (
        _variant(_JAZZ, "swing"),
        _variant(_JAZZ, "cool jazz", tempo=(100, 126), swing=0.7, scale=DORIAN,
                 progressions=(((0, "min7"), (2, "min7")), ((0, "min9"), (5, "dom7"))),
                 snare=("o.o.o.o.o.o.o.o.",), leads=("flute", "sax"), lead_density=0.35,
                 cutoff_hz=5500, reverb=0.5),
        _variant(_JAZZ, "bossa nova", tempo=(120, 140), swing=0.0, kit="bossa",
                 kick=("X..xX..xX..xX..x",), snare=("x..x..x...x..x..",),
                 hat=("x.x.x.x.x.x.x.x.",), harmony="pluck", comp=("x..x..x...x..x..",),
                 strum_ms=12, comp_legato=0.8,
                 progressions=(((0, "maj7"), (2, "min7"), (7, "dom7"), (0, "maj7")),
                               ((2, "min7"), (7, "dom9"), (0, "maj7"), (0, "maj6"))),
                 bass="bass_round", bass_pattern=("r..f....r..f....",), leads=("flute", "sax")),
    ), neighbours=("blues",)),
    Genre("folk", (
        _variant(_FOLK, "singer-songwriter", tempo=(78, 100), kick=(), snare=(),
                 harmony="pluck", arpeggiate=True, comp=("x.x.x.x.x.x.x.x.",), strum_ms=0,
                 leads=("flute",), lead_density=0.2, lead_step=4),
        _variant(_FOLK, "celtic", tempo=(108, 128), scale=DORIAN, kit="hand",
                 kick=("X..x..x.X..x..x.", "X.xX.xX.X.xX.xX."), snare=(),
                 progressions=(((0, "min"), (10, "maj"), (0, "min"), (7, "min")),
                               ((0, "min"), (5, "maj"), (10, "maj"), (0, "min"))),
                 leads=("fiddle", "flute"), lead_density=0.85, cutoff_hz=8000),
        _variant(_FOLK, "americana", scale=MIXOLYDIAN, hat=("xoxoxoxoxoxoxoxo",),
                 progressions=(((0, "maj"), (10, "maj"), (5, "maj"), (0, "maj")),
                               ((0, "maj"), (5, "maj"), (10, "maj"), (5, "maj"))),
                 leads=("pluck",), lead_density=0.6),
    ), neighbours=("rock", "blues")),
    Genre("hiphop", (
        _variant(_HIPHOP, "boom bap", swing=0.55),
        _variant(_HIPHOP, "trap", tempo=(136, 150), swing=0.0, kit="808", scale=HARMONIC_MINOR,
                 kick=("X......X..X.....", "X.....X...X..X.."), snare=("........X.......",),
                 hat=("xxxxxxxxxxxxxxxx", "xxxxxxxrxxxxxxrr"), harmony="pad",
                 comp=("x...............",), tie_chords=True, comp_legato=1.0,
                 progressions=(((0, "min"), (8, "maj")), ((0, "min"), (5, "min"), (8, "maj"), (7, "maj"))),
                 bass="sub808", bass_low=28, leads=("bell",), lead_density=0.3, vinyl=0.0,
                 cutoff_hz=12000),
        _variant(_HIPHOP, "lo-fi", tempo=(70, 84), swing=0.6, kit="lofi", scale=IONIAN,
                 progressions=(((0, "maj9"), (9, "min9")), ((2, "min9"), (7, "dom9"), (0, "maj9"))),
                 vinyl=0.6, cutoff_hz=3200, reverb=0.4),
    ), neighbours=("electronic", "reggae")),
    Genre("blues", (
        _variant(_BLUES, "delta blues", tempo=(68, 92), kit="stomp", snare=(), hat=(),
                 harmony="pluck", comp=("x.x.x.x.x.x.x.x.",), arpeggiate=True, bass="",
                 leads=("pluck",)),
        _variant(_BLUES, "chicago blues", leads=("reed",)),
        _variant(_BLUES, "blues rock", swing=0.5, tempo=(96, 120), harmony="power", drive=0.8,
                 lead_drive=0.7, comp=("x.x.x.x.x.x.x.x.",), comp_legato=0.9, harmony_center=50,
                 progressions=(((0, "pow"), (5, "pow"), (0, "pow"), (7, "pow")),)),
    ), neighbours=("rock", "jazz")),
    Genre("reggae", (
        _variant(_REGGAE, "roots"),
        _variant(_REGGAE, "dub", echo=0.8, reverb=0.6, lead_density=0.05,
                 comp=("..x...........x.",), cutoff_hz=3500),
        _variant(_REGGAE, "dancehall", tempo=(92, 104), kit="electronic",
                 kick=("X...X...X...X...",), snare=("...x..x....x..x.",),
                 hat=("x.x.x.x.x.x.x.x.",), harmony="stab", bass="bass_fm",
                 bass_pattern=("r..r..r.r..r..r.",), echo=0.2),
    ), neighbours=("hiphop",)),
)

_GENRE_BY_NAME = {g.name: g for g in GENRES}


def genre_names(n_genres: int) -> tuple[str, ...]:
    """The names of the first ``n_genres`` genre recipes."""
    return tuple(g.name for g in GENRES[:n_genres])


# ----------------------------------------------------------------------------------------------
# Settings, artists, tracks
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticSettings:
    """Settings of a synthetic dataset.

    ``n_genres`` takes the first genres of :data:`GENRES` (at most ``len(GENRES)`` = 8).
    There are ``n_genres * artists_per_genre`` artists, fewer when ``n_tracks`` is smaller than
    that (every artist has at least one track). ``duration_s`` in seconds, ``sample_rate`` in Hz,
    ``label_noise`` the fraction of tracks whose genre label is replaced by another genre.
    """

    n_tracks: int = 120
    n_genres: int = 6
    artists_per_genre: int = 5
    duration_s: float = 8.0
    sample_rate: int = 22050
    label_noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.n_genres <= len(GENRES):
            raise ValueError(f"n_genres must be in 1..{len(GENRES)}, got {self.n_genres}")
        if self.n_tracks < self.n_genres:
            raise ValueError(f"n_tracks ({self.n_tracks}) must be >= n_genres ({self.n_genres})")
        if self.artists_per_genre < 1:
            raise ValueError("artists_per_genre must be >= 1")
        if not self.duration_s > 0:
            raise ValueError("duration_s must be > 0")
        if self.sample_rate < 8000:
            raise ValueError("sample_rate must be >= 8000")
        if not 0.0 <= self.label_noise < 1.0:
            raise ValueError("label_noise must be in [0, 1)")
        if self.label_noise > 0 and self.n_genres < 2:
            raise ValueError("label_noise needs at least two genres")

    @property
    def n_samples(self) -> int:
        """Length of every track in samples."""
        return int(round(self.duration_s * self.sample_rate))


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
        near = [g for g in _GENRE_BY_NAME[primary].neighbours if g in names]
        others = near or [g for g in names if g != primary]
        genres.append(str(others[rng.integers(len(others))]))
    subs = []
    for g in genres:
        options = _GENRE_BY_NAME[g].subgenre_names
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
    n_noisy = int(round(settings.label_noise * n))
    names = genre_names(settings.n_genres)
    for i in sorted(rng.choice(n, size=n_noisy, replace=False).tolist()) if n_noisy else []:
        wrong = [g for g in names if g != genres[i]]
        g = wrong[rng.integers(len(wrong))]
        options = _GENRE_BY_NAME[g].subgenre_names
        labels[i] = (g, options[rng.integers(len(options))])
    return _Plan(artists, tuple(int(a) for a in track_artist), tuple(genres), tuple(labels))


_ADJECTIVES = ("Blue", "Quiet", "Electric", "Golden", "Hollow", "Northern", "Broken", "Velvet",
               "Silent", "Crimson", "Lonely", "Distant", "Paper", "Midnight", "Summer", "Iron")
_NOUNS = ("River", "Light", "Engine", "Garden", "Signal", "Road", "Echo", "Harbor", "Window",
          "Mirror", "Station", "Dream", "Shadow", "Fields", "Circuit", "Letter")


@dataclass(frozen=True)
class _TrackParams:
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


def _track_params(
    settings: SyntheticSettings, index: int
) -> tuple[TrackInfo, _TrackParams, np.random.Generator]:
    if not 0 <= index < settings.n_tracks:
        raise IndexError(f"track index {index} out of range 0..{settings.n_tracks - 1}")
    plan = _plan(settings)
    artist = plan.artists[plan.track_artist[index]]
    true_genre = plan.track_genre[index]
    sub = artist.subgenre_of(true_genre)
    genre = _GENRE_BY_NAME[true_genre]
    sub_idx = genre.subgenre_names.index(sub)
    style = genre.subgenres[sub_idx][1]
    style_tag = GENRES.index(genre) * 16 + sub_idx

    rng = np.random.default_rng([settings.seed, index])
    lo, hi = style.tempo
    centre = lo + artist.tempo_pos * (hi - lo)
    half = 0.1 * (hi - lo)
    tempo = float(np.clip(centre + rng.uniform(-half, half), lo, hi))
    key = artist.key if rng.random() < 0.75 else (artist.key + int(rng.choice([2, 5, 7, 10]))) % 12
    prog = style.progressions[_pick(style.progressions, artist.progression_pick, rng, 0.7)]
    picks = tuple(
        _pick(opts, artist.pattern_pick + j, rng, 0.8) if opts else 0
        for j, opts in enumerate((style.kick, style.snare, style.hat, style.comp, style.bass_pattern))
    )
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
        tempo_bpm=round(tempo, 2),
        key=KEY_NAMES[key],
        noisy=noisy is not None,
    )
    params = _TrackParams(style, style_tag, artist, tempo, key, prog, picks)  # type: ignore[arg-type]
    return info, params, rng


def track_infos(settings: SyntheticSettings) -> list[TrackInfo]:
    """The labels of every track, without synthesising audio (cheap)."""
    return [_track_params(settings, i)[0] for i in range(settings.n_tracks)]


# ----------------------------------------------------------------------------------------------
# Sound sources (all vectorised; n = samples, sr = Hz, frequencies in Hz)
# ----------------------------------------------------------------------------------------------

_TABLE = 2048


def _mtof(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


@functools.lru_cache(maxsize=512)
def _table(n_harm: int, rolloff: float, odd: float = 1.0, formant: float = 0.0) -> np.ndarray:
    """One period (2048 samples) of a band-limited tone: harmonic k has amplitude k**-rolloff,
    even harmonics scaled by ``odd``; ``formant`` > 0 boosts harmonics near that harmonic number."""
    k = np.arange(1, n_harm + 1, dtype=np.float64)
    amp = k**-rolloff
    amp[1::2] *= odd
    if formant > 0:
        amp *= 1.0 + 2.5 * np.exp(-(((k - formant) / max(1.0, formant * 0.4)) ** 2))
    spec = np.zeros(_TABLE // 2 + 1, dtype=np.complex128)
    spec[1 : n_harm + 1] = -1j * amp
    tab = np.fft.irfft(spec, n=_TABLE)
    return tab / np.max(np.abs(tab))


def _n_harm(freq: float, sr: int, cap: int = 40) -> int:
    return int(max(1, min(cap, 0.45 * sr / max(freq, 1.0))))


def _osc(table: np.ndarray, freq: float | np.ndarray, n: int, sr: int, phase: float = 0.0) -> np.ndarray:
    """Wavetable oscillator; ``freq`` a constant or an array of n instantaneous frequencies."""
    if np.ndim(freq) == 0:
        ph = phase + np.arange(n) * (float(freq) / sr)
    else:
        ph = phase + np.cumsum(freq) / sr
    idx = ((ph - np.floor(ph)) * _TABLE).astype(np.intp) & (_TABLE - 1)
    return table[idx]


def _env(n: int, sr: int, attack: float, decay: float, sustain: float, release: float = 0.03) -> np.ndarray:
    """Attack ramp, exponential decay to ``sustain``, linear release over the last ``release`` s."""
    t = np.arange(n) / sr
    e = sustain + (1.0 - sustain) * np.exp(-t / max(decay, 1e-3))
    if attack > 0:
        e *= np.minimum(1.0, t / attack)
    r = min(n, max(1, int(release * sr)))
    e[n - r :] *= np.linspace(1.0, 0.0, r)
    return e


def _vibrato(freq: float, n: int, sr: int, cents: float, rate: float, delay: float = 0.15) -> np.ndarray:
    t = np.arange(n) / sr
    depth = cents * np.clip((t - delay) / 0.3, 0.0, 1.0)
    return freq * 2.0 ** (depth * np.sin(2 * np.pi * rate * t) / 1200.0)


def _karplus(freq: float, n: int, sr: int, bright: float, decay_s: float, rng: np.random.Generator) -> np.ndarray:
    """Karplus-Strong plucked string, looping over periods (not samples)."""
    period = max(2, int(round(sr / freq - 0.5)))
    blocks = n // period + 2
    y = np.zeros(blocks * period + 1)
    exc = rng.uniform(-1.0, 1.0, period)
    width = 1 + int(round(max(0.0, 1.6 - bright) * 3))
    if width > 1:
        exc = np.convolve(exc, np.ones(width) / width, mode="same")
    y[1 : period + 1] = exc - exc.mean()
    g = 10.0 ** (-3.0 / (decay_s * freq))
    for b in range(1, blocks):
        s = 1 + b * period
        y[s : s + period] = (0.5 * g) * (y[s - period : s] + y[s - period - 1 : s - 1])
    out = y[1 : n + 1]
    return out / (np.max(np.abs(out)) + 1e-9)


class _Voice:
    """Renders notes of a track's instruments; caches plucked strings per pitch."""

    def __init__(self, artist: ArtistProfile, sr: int, rng: np.random.Generator, max_len: int):
        self.a, self.sr, self.rng, self.max_len = artist, sr, rng, max_len
        self._ks: dict[tuple[int, float, float], np.ndarray] = {}
        self._notes: dict[tuple[str, int, int], np.ndarray] = {}

    def _pluck(self, midi: int, n: int, bright: float, decay: float) -> np.ndarray:
        key = (midi, round(bright, 3), decay)
        if key not in self._ks:
            length = min(int(2.5 * self.sr), self.max_len)
            self._ks[key] = _karplus(_mtof(midi), length, self.sr, bright, decay, self.rng)
        tone = self._ks[key][:n].copy()
        r = min(len(tone), int(0.02 * self.sr))
        tone[len(tone) - r :] *= np.linspace(1.0, 0.0, r)
        return tone

    def note(self, instr: str, midi: int, dur_s: float) -> np.ndarray:
        """One note of ``instr`` (``dur_s`` seconds held, plus its release) at unit velocity.

        Repeated notes of a track (same instrument, pitch and length) are rendered once.
        """
        key = (instr, int(midi), int(round(dur_s * self.sr)))
        if key not in self._notes:
            self._notes[key] = self._render_note(instr, int(midi), dur_s)
        return self._notes[key]

    def _render_note(self, instr: str, midi: int, dur_s: float) -> np.ndarray:
        a, sr = self.a, self.sr
        f = _mtof(midi)
        b = a.brightness
        rel = 0.05
        if instr in ("pad",):
            rel = 0.6
        elif instr in ("bell", "sub808"):
            rel = 1.2
        n = max(16, int(min(dur_s + rel, 4.0) * sr))
        t = np.arange(n) / sr
        det = 2.0 ** (a.detune_cents / 1200.0)
        if instr == "pad":
            tab = _table(_n_harm(f * det, sr, 24), 1.3 / b)
            x = (_osc(tab, f, n, sr) + _osc(tab, f * det, n, sr, 0.3) + _osc(tab, f / det, n, sr, 0.6)) / 3
            return x * _env(n, sr, 0.5 * a.attack, 1.0, 0.8, rel)
        if instr == "organ":
            trem = 1.0 + 0.15 * np.sin(2 * np.pi * 6.0 * t)
            x = _osc(_table(_n_harm(f, sr, 8), 1.0 / b, odd=0.8), f, n, sr)
            return x * trem * _env(n, sr, 0.01, 0.2, 0.9)
        if instr in ("epiano", "bell", "stab", "bass_fm"):
            ratio, idx, tau_i, dec, sus, att = {
                "epiano": (1.0, 1.8, 0.3, 1.2, 0.1, 0.003),
                "bell": (3.5, 2.5, 1.0, 1.8, 0.0, 0.002),
                "stab": (1.0, 3.5, 0.08, 0.2, 0.3, 0.003),
                "bass_fm": (1.0, 2.5, 0.12, 0.3, 0.5, 0.003),
            }[instr]
            ind = idx * a.fm_index * b * np.exp(-t / tau_i)
            w = 2 * np.pi * f * t
            x = np.sin(w + ind * np.sin(ratio * w))
            if instr == "epiano":
                x += 0.15 * np.exp(-t / 0.04) * np.sin(14.0 * w)
            return x * _env(n, sr, att * a.attack, dec, sus, rel)
        if instr == "power":
            tab = _table(_n_harm(f * det, sr, 30), 1.0 / b)
            x = 0.5 * (_osc(tab, f, n, sr) + _osc(tab, f * det, n, sr, 0.25))
            return x * _env(n, sr, 0.005, 0.5, 0.85)
        if instr in ("piano", "bass_upright"):
            h = _n_harm(f, sr, 16)
            bright = _osc(_table(h, 1.2 / b), f, n, sr)
            dull = _osc(_table(min(h, 3), 2.5), f, n, sr)
            w = np.exp(-t / (0.15 if instr == "piano" else 0.08))
            dec, sus = (1.0, 0.15) if instr == "piano" else (0.5, 0.25)
            return (w * bright + (1 - w) * dull) * _env(n, sr, 0.003, dec, sus)
        if instr in ("pluck", "strum", "bass_pick"):
            decay = 1.2 if instr != "bass_pick" else 0.9
            return self._pluck(midi, n, b, decay)
        if instr in ("saw_lead", "fiddle", "sax", "reed", "flute"):
            cents = a.vibrato_cents * {"saw_lead": 0.5, "fiddle": 1.3, "sax": 1.0, "reed": 0.8, "flute": 0.8}[instr]
            rate = {"saw_lead": 5.5, "fiddle": 6.2, "sax": 5.0, "reed": 5.5, "flute": 4.8}[instr]
            fv = _vibrato(f, n, sr, cents, rate)
            h = _n_harm(f, sr, 30)
            if instr == "saw_lead":
                x = 0.5 * (_osc(_table(h, 1.0 / b), fv, n, sr) + _osc(_table(h, 1.0 / b), fv * det, n, sr, 0.4))
                return x * _env(n, sr, 0.01 * a.attack, 0.3, 0.75)
            if instr == "fiddle":
                x = _osc(_table(h, 1.1 / b, odd=0.7, formant=2500.0 / f), fv, n, sr)
                return x * _env(n, sr, 0.06 * a.attack, 0.4, 0.8)
            if instr == "sax":
                x = _osc(_table(h, 1.4 / b, odd=0.8, formant=1400.0 / f), fv, n, sr)
                return x * _env(n, sr, 0.04 * a.attack, 0.3, 0.8)
            if instr == "reed":
                x = _osc(_table(h, 1.2 / b, odd=0.3), fv, n, sr) * (1 + 0.2 * np.sin(2 * np.pi * 7 * t))
                return x * _env(n, sr, 0.03 * a.attack, 0.3, 0.8)
            breath = self.rng.standard_normal(n) * 0.05
            x = _osc(_table(min(h, 4), 3.0), fv, n, sr) + breath
            return x * _env(n, sr, 0.08 * a.attack, 0.5, 0.85)
        if instr in ("sub", "sub808", "bass_round"):
            glide = 1.0 + (0.6 if instr == "sub808" else 0.3) * np.exp(-t / 0.03)
            ph = np.cumsum(f * glide) / sr
            x = np.sin(2 * np.pi * ph)
            if instr == "bass_round":
                x += 0.3 * np.sin(4 * np.pi * ph)
            if instr == "sub808":
                x = np.tanh(1.8 * x)
                return x * _env(n, sr, 0.002, 1.0, 0.4, rel)
            return x * _env(n, sr, 0.004, 0.6, 0.4)
        if instr == "bass_saw":
            x = _osc(_table(_n_harm(f, sr, 24), 1.6 / b), f, n, sr)
            return x * _env(n, sr, 0.003, 0.25, 0.6)
        raise ValueError(f"unknown instrument {instr!r}")


def _place(bus: np.ndarray, sound: np.ndarray, start: int, gain: float) -> None:
    """Add ``gain * sound`` into ``bus`` at sample ``start`` (clipped to the bus)."""
    if start >= len(bus) or gain == 0.0:
        return
    if start < 0:
        sound, start = sound[-start:], 0
    m = min(len(sound), len(bus) - start)
    if m > 0:
        bus[start : start + m] += gain * sound[:m]


def _drum_sounds(kit: Kit, artist: ArtistProfile, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The kit's one-shot samples (kick, snare, closed and open hat), tuned by the artist."""
    p, d = artist.kit_pitch, artist.kit_decay
    out: dict[str, np.ndarray] = {}
    n = int(min(1.5, 5 * kit.kick_decay * d) * sr)
    t = np.arange(n) / sr
    f0, f1 = kit.kick_hz[0] * p, kit.kick_hz[1] * p
    freq = f1 + (f0 - f1) * np.exp(-t / 0.035)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / (kit.kick_decay * d))
    click = rng.standard_normal(n) * np.exp(-t / 0.004) * kit.kick_click
    out["kick"] = kick + click
    n = int(0.6 * sr)
    t = np.arange(n) / sr
    lo, hi = kit.snare_band
    sos = signal.butter(2, [min(lo * p, 0.2 * sr), min(hi * p * artist.brightness, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(n))
    noise /= np.max(np.abs(noise)) + 1e-9
    body = np.sin(2 * np.pi * kit.snare_hz * p * t) if kit.snare_hz > 0 else np.zeros(n)
    sd = kit.snare_decay * d
    out["snare"] = (kit.snare_noise * noise + (1 - kit.snare_noise) * body * np.exp(-t / (0.5 * sd))) * np.exp(-t / sd)
    n = int(min(2.0, 5 * max(kit.hat_open_decay, kit.hat_decay)) * sr)
    t = np.arange(n) / sr
    sos = signal.butter(2, min(kit.hat_hp * artist.brightness, 0.4 * sr), "highpass", fs=sr, output="sos")
    hat = signal.sosfilt(sos, rng.standard_normal(n))
    hat /= np.max(np.abs(hat)) + 1e-9
    if kit.metallic > 0:
        ratios = np.array([1.0, 1.48, 1.83, 2.37, 2.91, 3.61])
        partials = np.sign(np.sin(2 * np.pi * np.outer(ratios * 420.0 * p, t))).sum(axis=0) / 6
        hat = (1 - kit.metallic) * hat + kit.metallic * partials
    out["hat"] = hat * np.exp(-t / (kit.hat_decay * d))
    out["open"] = hat * np.exp(-t / (kit.hat_open_decay * d))
    return out


_VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.4, "O": 0.8, "r": 0.6}


def _swing(pos: np.ndarray | float, swing: float, unit: int) -> np.ndarray:
    """Map grid positions (in 16th notes) to swung positions: the off-beat of each pair of
    ``unit``-long notes is delayed by ``swing/3`` of a pair (1 = triplet feel)."""
    pos = np.asarray(pos, dtype=np.float64)
    period = 2.0 * unit
    base = np.floor(pos / period) * period
    p = pos - base
    mid = unit * (1.0 + swing / 3.0)
    mapped = np.where(p < unit, p * mid / unit, mid + (p - unit) * (period - mid) / unit)
    return base + mapped


def _hits(pattern: str) -> list[tuple[int, str]]:
    return [(i, c) for i, c in enumerate(pattern[:16]) if c != "."]


def _voicing(root_midi: int, quality: str, center: int) -> list[int]:
    if quality == "pow":
        base = root_midi + 12 * round((center - 4 - root_midi) / 12)
        return [base + iv for iv in CHORDS["pow"]]
    notes = []
    for iv in CHORDS[quality]:
        m = root_midi + iv
        m += 12 * round((center - m) / 12)
        notes.append(m)
    return sorted(set(notes))


# ----------------------------------------------------------------------------------------------
# Rendering a track
# ----------------------------------------------------------------------------------------------


def _render(settings: SyntheticSettings, tp: _TrackParams, rng: np.random.Generator) -> np.ndarray:
    style, a, sr = tp.style, tp.artist, settings.sample_rate
    n = settings.n_samples
    step_s = 60.0 / tp.tempo / 4.0
    n_bars = int(math.ceil(settings.duration_s / (16 * step_s))) + 1
    voice = _Voice(a, sr, rng, n)

    def onset(pos: float, jitter: bool = True) -> int:
        t = float(_swing(pos, style.swing, style.swing_unit)) * step_s
        if jitter:
            t += rng.normal(0.0, a.timing_ms * 1e-3)
        return int(round(t * sr))

    def chord_at(bar: int) -> Chord:
        return tp.progression[(bar // style.bars_per_chord) % len(tp.progression)]

    drums = np.zeros(n)
    bass = np.zeros(n)
    harm = np.zeros(n)
    lead = np.zeros(n)

    # Drums
    kk, ks, kh, kc, kb = tp.pattern_picks
    if style.kit and (style.kick or style.snare or style.hat):
        kit = KITS[style.kit]
        snd = _drum_sounds(kit, a, sr, rng)
        parts = ((style.kick, kk, "kick", kit.gains[0]), (style.snare, ks, "snare", kit.gains[1]),
                 (style.hat, kh, "hat", kit.gains[2]))
        for patterns, pick, name, gain in parts:
            if not patterns or gain == 0:
                continue
            hits = _hits(patterns[pick])
            for bar in range(n_bars):
                for step, c in hits:
                    v = _VELOCITY.get(c, 0.75) * gain * float(np.exp(rng.normal(0, 0.08)))
                    sample = snd["open"] if c == "O" else snd[name]
                    _place(drums, sample, onset(bar * 16 + step), v)
                    if c == "r":
                        _place(drums, sample, onset(bar * 16 + step + 0.5), v)

    # Bass
    if style.bass:
        hits = _hits(style.bass_pattern[kb])
        for bar in range(n_bars):
            r, q = chord_at(bar)
            root = style.bass_low + (tp.key + r) % 12
            nxt = style.bass_low + (tp.key + chord_at(bar + 1)[0]) % 12
            ivs = CHORDS[q]
            for j, (step, c) in enumerate(hits):
                end = hits[j + 1][0] if j + 1 < len(hits) else 16
                if c == "w":
                    if step == 0:
                        m = root
                    elif step >= 12:
                        m = nxt + int(rng.choice([-1, 1]))
                    else:
                        m = root + int(rng.choice(ivs[1:]))
                else:
                    m = root + {"r": 0, "f": 7, "t": ivs[1] if len(ivs) > 1 else 0, "o": 12}.get(c, 0)
                dur = (end - step) * step_s * (0.9 if style.bass != "sub808" else 1.0) * (0.5 + 0.5 * a.legato)
                _place(bass, voice.note(style.bass, m, dur), onset(bar * 16 + step), _VELOCITY.get(c, 0.8))

    # Harmony
    comp = _hits(style.comp[kc])
    events: list[list] = []  # [position in 16ths, length in 16ths, chord]
    for bar in range(n_bars):
        ch = chord_at(bar)
        for j, (step, _) in enumerate(comp):
            end = comp[j + 1][0] if j + 1 < len(comp) else 16
            pos = bar * 16 + step
            if (style.tie_chords and events and events[-1][2] == ch
                    and events[-1][0] + events[-1][1] == pos
                    and (events[-1][1] + end - step) * step_s <= 3.2):  # notes last <= 4 s
                events[-1][1] += end - step
            else:
                events.append([pos, end - step, ch])
    arp_i = 0
    for pos, length, (r, q) in events:
        notes = _voicing(tp.key + r + 12 * 4, q, style.harmony_center)
        dur = length * step_s * style.comp_legato
        start = onset(pos)
        vel = 0.9 if pos % 4 == 0 else 0.7
        if style.arpeggiate:
            seq = notes + notes[-2:0:-1]
            m = seq[arp_i % len(seq)]
            arp_i += 1
            _place(harm, voice.note(style.harmony, m, dur), start, vel)
            continue
        order = notes if pos % 4 == 0 or not style.strum_ms else notes[::-1]
        for i, m in enumerate(order):
            off = int(i * style.strum_ms * 1e-3 * sr)
            _place(harm, voice.note(style.harmony, m, dur), start + off, vel / math.sqrt(len(notes)))

    # Lead melody: an artist motif (rhythm + contour) varied per track, fitted to the chords
    if style.leads and style.lead_density > 0:
        instr = style.leads[a.lead_pick % len(style.leads)]
        mrng = np.random.default_rng([a.motif_seed, _TAG_MOTIF, tp.style_tag])
        grid = np.arange(0, 16, style.lead_step)
        dens = float(np.clip(style.lead_density * a.density, 0.02, 0.95))
        mask = mrng.random(len(grid)) < dens
        mask[0] = True
        contour = mrng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3], size=len(grid))
        scale_pitches = np.array([m for m in range(style.lead_center - 14, style.lead_center + 15)
                                  if (m - tp.key) % 12 in style.scale])
        idx = int(np.argmin(np.abs(scale_pitches - style.lead_center)))
        for bar in range(n_bars):
            r, q = chord_at(bar)
            chord_pcs = {(tp.key + r + iv) % 12 for iv in CHORDS[q]}
            bar_mask = mask ^ (rng.random(len(grid)) < 0.12)
            steps = grid[bar_mask]
            moves = contour[bar_mask]
            for j, step in enumerate(steps):
                idx = int(np.clip(idx + moves[j], 0, len(scale_pitches) - 1))
                if step % 8 == 0:  # strong beats land on chord tones
                    cands = [k for k in range(max(0, idx - 2), min(len(scale_pitches), idx + 3))
                             if scale_pitches[k] % 12 in chord_pcs]
                    if cands:
                        idx = min(cands, key=lambda k: abs(k - idx))
                end = steps[j + 1] if j + 1 < len(steps) else 16
                dur = min((end - step) * step_s * a.legato, 2.0)
                vel = 0.8 + 0.2 * float(rng.random())
                _place(lead, voice.note(instr, int(scale_pitches[idx]), dur), onset(bar * 16 + int(step)), vel)

    # Mix
    lv = [s * x for s, x in zip(style.levels, a.levels)]
    if style.drive > 0:
        g = 1.0 + 8.0 * style.drive
        harm = np.tanh(g * harm / (np.max(np.abs(harm)) + 1e-9)) / math.tanh(g)
    if style.lead_drive > 0:
        g = 1.0 + 6.0 * style.lead_drive
        lead = np.tanh(g * lead / (np.max(np.abs(lead)) + 1e-9)) / math.tanh(g)

    def norm(x: np.ndarray) -> np.ndarray:
        return x / (np.sqrt(np.mean(x * x)) + 1e-9) * 0.1 if np.any(x) else x

    drums, bass, harm, lead = norm(drums), norm(bass), norm(harm), norm(lead)
    dry = lv[0] * drums + lv[1] * bass + lv[2] * harm + lv[3] * lead
    echo_amt = min(0.95, style.echo * a.echo)
    if echo_amt > 0:
        send = lv[3] * lead + (0.5 * lv[2] * harm if echo_amt > 0.5 else 0.0)
        d = int(0.75 * 4 * step_s * sr)
        fb = 0.3 + 0.3 * echo_amt
        wet = np.zeros(n)
        for k in range(1, 5):
            if k * d < n:
                wet[k * d :] += fb**k * send[: n - k * d]
        dry = dry + echo_amt * wet
    rev_amt = min(1.0, style.reverb * a.reverb)
    if rev_amt > 0:
        rt = 0.6 + 2.2 * rev_amt
        m = int(rt * sr)
        t = np.arange(m) / sr
        ir = rng.standard_normal(m) * np.exp(-6.9 * t / rt)
        ir = signal.sosfilt(signal.butter(1, min(4000.0 * a.brightness, 0.45 * sr), fs=sr, output="sos"), ir)
        ir[: int(0.015 * sr)] = 0.0
        ir /= np.sqrt(np.sum(ir * ir)) + 1e-9
        send = lv[2] * harm + lv[3] * lead + 0.3 * lv[0] * drums
        dry = dry + 0.8 * rev_amt * signal.fftconvolve(send, ir)[:n]
    if style.vinyl > 0:
        crackle = np.zeros(n)
        k = rng.poisson(25 * settings.duration_s)
        crackle[rng.integers(0, n, k)] = rng.uniform(-1, 1, k)
        hiss = signal.sosfilt(signal.butter(1, min(3000.0, 0.45 * sr), fs=sr, output="sos"), rng.standard_normal(n))
        dry = dry + style.vinyl * (0.15 * crackle + 0.01 * hiss)
    if style.texture > 0:
        t = np.arange(n) / sr
        wind = signal.sosfilt(signal.butter(2, [150, 700], "bandpass", fs=sr, output="sos"), rng.standard_normal(n))
        wind *= 0.6 + 0.4 * np.sin(2 * np.pi * float(rng.uniform(0.05, 0.2)) * t + float(rng.uniform(0, 6.3)))
        dry = dry + style.texture * 0.3 * wind
    cutoff = min(style.cutoff_hz * a.cutoff, 0.45 * sr)
    sos = np.vstack([signal.butter(2, cutoff, fs=sr, output="sos"),
                     signal.butter(1, 30.0, "highpass", fs=sr, output="sos")])
    out = signal.sosfilt(sos, dry)
    fade = min(n, int(0.01 * sr))
    out[:fade] *= np.linspace(0.0, 1.0, fade)
    out[n - fade :] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= _PEAK / peak
    return out.astype(np.float32)


def synthesize_track(settings: SyntheticSettings, track_index: int) -> tuple[np.ndarray, TrackInfo]:
    """Synthesise track ``track_index`` (0-based).

    Returns the audio, float32 of shape ``(settings.n_samples,)`` at ``settings.sample_rate`` Hz
    with peak -1 dBFS, and its labels. Depends only on (settings, track_index).
    """
    info, params, rng = _track_params(settings, track_index)
    return _render(settings, params, rng), info


# ----------------------------------------------------------------------------------------------
# Writing a dataset
# ----------------------------------------------------------------------------------------------


def _complete(path: Path, settings: SyntheticSettings) -> bool:
    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - any unreadable file is regenerated
        return False
    return info.frames == settings.n_samples and info.samplerate == settings.sample_rate and info.channels == 1


def _write_flac(path: Path, audio: np.ndarray, sr: int) -> None:
    tmp = path.with_name(path.stem + ".tmp.flac")
    sf.write(str(tmp), audio, sr, format="FLAC", subtype="PCM_16")
    os.replace(tmp, path)


def generate_dataset(settings: SyntheticSettings, out_dir: Path, *, progress: bool = True) -> Path:
    """Write ``out_dir/audio/<track_id>.flac`` for every track and ``out_dir/tracks.csv``.

    Returns the csv path. Idempotent and resumable: audio files already present with the right
    length and sample rate are kept. ``out_dir/synthetic.json`` records the settings and
    :data:`GENERATOR_VERSION`; if it records anything else, the old audio and csv are deleted
    first. tracks.csv columns: track_id, path (relative to the csv), genre, artist, subgenres
    (';'-separated), title.
    """
    out_dir = Path(out_dir)
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "tracks.csv"
    stamp_path = out_dir / _STAMP
    stamp = {"generator_version": GENERATOR_VERSION, "settings": dataclasses.asdict(settings)}
    try:
        old = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        old = None
    if old != stamp:
        for f in audio_dir.glob("syn*.flac"):
            f.unlink()
        csv_path.unlink(missing_ok=True)
        tmp = stamp_path.with_name(stamp_path.name + ".tmp")
        tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, stamp_path)

    infos = track_infos(settings)
    todo = [i for i in infos if not _complete(out_dir / i.path, settings)]
    if todo:
        items = todo
        if progress:
            from tqdm import tqdm

            items = tqdm(todo, desc="synthesising tracks", unit="track")
        for info in items:
            audio, _ = synthesize_track(settings, info.index)
            _write_flac(out_dir / info.path, audio, settings.sample_rate)

    tmp_csv = csv_path.with_name(csv_path.name + ".tmp")
    with open(tmp_csv, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["track_id", "path", "genre", "artist", "subgenres", "title"])
        for i in infos:
            w.writerow([i.track_id, i.path, i.genre, i.artist, ";".join(i.subgenres), i.title])
    os.replace(tmp_csv, csv_path)
    return csv_path
