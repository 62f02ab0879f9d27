"""The musical recipes: drum kits (:data:`KITS`) and genres (:data:`GENRES`), each genre a few
sub-genres whose :class:`Style` fixes tempo, scale, progressions, patterns, instruments and mix."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from agf.datasets.synthetic.theory import (
    AEOLIAN,
    BLUES,
    DORIAN,
    HARMONIC_MINOR,
    IONIAN,
    LYDIAN,
    MINOR_PENTATONIC,
    MIXOLYDIAN,
    PHRYGIAN,
    Chord,
)

__all__ = ["GENRES", "GENRE_BY_NAME", "KITS", "STYLE_PARTS", "Genre", "Kit", "Style", "blend", "genre_names"]


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
    ``harmony``, ``bass`` and ``leads`` name instruments of the registry in ``instruments``.
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

GENRE_BY_NAME: dict[str, Genre] = {g.name: g for g in GENRES}


def genre_names(n_genres: int) -> tuple[str, ...]:
    """The names of the first ``n_genres`` genre recipes."""
    return tuple(g.name for g in GENRES[:n_genres])


#: The parts of a recipe that one style can borrow from another (:func:`blend`).
STYLE_PARTS: dict[str, tuple[str, ...]] = {
    "drums": ("kit", "kick", "snare", "hat", "swing", "swing_unit"),
    "harmony": ("harmony", "comp", "comp_legato", "tie_chords", "arpeggiate", "strum_ms", "drive"),
    "bass": ("bass", "bass_pattern"),
    "lead": ("leads", "lead_density", "lead_step", "lead_drive"),
    "production": ("reverb", "echo", "cutoff_hz", "vinyl", "texture"),
}


def blend(style: Style, other: Style, parts: tuple[str, ...]) -> Style:
    """``style`` playing the named :data:`STYLE_PARTS` the way ``other`` does: a cross-over track,
    the overlap between neighbouring genres that real catalogues have."""
    return dataclasses.replace(style, **{name: getattr(other, name) for part in parts for name in STYLE_PARTS[part]})
