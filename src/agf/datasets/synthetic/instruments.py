"""The instruments: band-limited wavetable oscillators, envelopes, FM, Karplus-Strong strings,
and a registry of note renderers (:data:`INSTRUMENTS`) that :class:`Voice` plays a track's
notes with.

An instrument is a function ``(voice, note) -> samples`` registered under its name with
:func:`instrument`; a recipe (:class:`Style`) names its instruments, so adding one is adding a
function here. All sources are vectorised; n = samples, sr = Hz, frequencies in Hz.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agf.datasets.synthetic.plan import ArtistProfile
from agf.datasets.synthetic.theory import midi_to_hz

__all__ = ["INSTRUMENTS", "Instrument", "Note", "Renderer", "Voice", "instrument"]

# ----------------------------------------------------------------------------------------------
# Sound sources
# ----------------------------------------------------------------------------------------------

_TABLE = 2048


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
    period = max(2, round(sr / freq - 0.5))
    blocks = n // period + 2
    y = np.zeros(blocks * period + 1)
    exc = rng.uniform(-1.0, 1.0, period)
    width = 1 + round(max(0.0, 1.6 - bright) * 3)
    if width > 1:
        exc = np.convolve(exc, np.ones(width) / width, mode="same")
    y[1 : period + 1] = exc - exc.mean()
    g = 10.0 ** (-3.0 / (decay_s * freq))
    for b in range(1, blocks):
        s = 1 + b * period
        y[s : s + period] = (0.5 * g) * (y[s - period : s] + y[s - period - 1 : s - 1])
    out = y[1 : n + 1]
    return out / (np.max(np.abs(out)) + 1e-9)


# ----------------------------------------------------------------------------------------------
# The registry and the voice that plays it
# ----------------------------------------------------------------------------------------------

Renderer = Callable[["Voice", "Note"], np.ndarray]


@dataclass(frozen=True)
class Instrument:
    """A registered instrument: its renderer, and how long (s) its notes ring after their held
    duration."""

    render: Renderer
    release: float


#: Instrument name -> instrument, filled by :func:`instrument`.
INSTRUMENTS: dict[str, Instrument] = {}


def instrument(
    name: str, *, release: float = 0.05, **params: float
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Register the decorated function as instrument ``name``.

    ``params`` are passed to it as keyword arguments, so that one function renders a family of
    instruments that differ only in their settings; stack the decorator to register each member.
    """

    def register(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        if name in INSTRUMENTS:
            raise ValueError(f"instrument {name!r} is registered twice")
        INSTRUMENTS[name] = Instrument(functools.partial(fn, **params) if params else fn, release)
        return fn

    return register


@dataclass(frozen=True)
class Note:
    """One note to render: its pitch, and its length including the instrument's release."""

    midi: int
    freq: float  # Hz
    n: int  # samples: held duration + release, at most 4 s
    t: np.ndarray  # the time of each sample, s
    release: float  # s


class Voice:
    """Plays a track's notes in its artist's sound, drawing from the track's random stream.

    Repeated notes (same instrument, pitch and length) are rendered once, and each plucked
    string (pitch, brightness, decay) once: its notes are cuts of it.
    """

    def __init__(self, artist: ArtistProfile, sr: int, rng: np.random.Generator, max_len: int):
        self.artist, self.sr, self.rng, self.max_len = artist, sr, rng, max_len
        self.detune = 2.0 ** (artist.detune_cents / 1200.0)  # frequency ratio of detuned oscillators
        self._strings: dict[tuple[int, float, float], np.ndarray] = {}
        self._notes: dict[tuple[str, int, int], np.ndarray] = {}

    def note(self, instr: str, midi: int, dur_s: float) -> np.ndarray:
        """One note of ``instr`` (``dur_s`` seconds held, plus its release) at unit velocity."""
        # int(): a melody's dur_s is a NumPy float, whose round() is a float before NumPy 2.
        key = (instr, int(midi), int(round(dur_s * self.sr)))  # noqa: RUF046
        if key not in self._notes:
            self._notes[key] = self._render(instr, int(midi), dur_s)
        return self._notes[key]

    def pluck(self, midi: int, n: int, bright: float, decay: float) -> np.ndarray:
        """``n`` samples of a plucked string, faded out over their last 20 ms."""
        key = (midi, round(bright, 3), decay)
        if key not in self._strings:
            length = min(int(2.5 * self.sr), self.max_len)
            self._strings[key] = _karplus(midi_to_hz(midi), length, self.sr, bright, decay, self.rng)
        tone = self._strings[key][:n].copy()
        r = min(len(tone), int(0.02 * self.sr))
        tone[len(tone) - r :] *= np.linspace(1.0, 0.0, r)
        return tone

    def _render(self, instr: str, midi: int, dur_s: float) -> np.ndarray:
        spec = INSTRUMENTS.get(instr)
        if spec is None:
            raise ValueError(f"unknown instrument {instr!r}; known: {', '.join(sorted(INSTRUMENTS))}")
        n = max(16, int(min(dur_s + spec.release, 4.0) * self.sr))
        return spec.render(self, Note(midi, midi_to_hz(midi), n, np.arange(n) / self.sr, spec.release))


# ----------------------------------------------------------------------------------------------
# Harmony instruments
# ----------------------------------------------------------------------------------------------


@instrument("pad", release=0.6)
def _pad(v: Voice, note: Note) -> np.ndarray:
    """Three detuned soft saws with a slow attack and a long release."""
    f, n, sr, det = note.freq, note.n, v.sr, v.detune
    tab = _table(_n_harm(f * det, sr, 24), 1.3 / v.artist.brightness)
    x = (_osc(tab, f, n, sr) + _osc(tab, f * det, n, sr, 0.3) + _osc(tab, f / det, n, sr, 0.6)) / 3
    return x * _env(n, sr, 0.5 * v.artist.attack, 1.0, 0.8, note.release)


@instrument("organ")
def _organ(v: Voice, note: Note) -> np.ndarray:
    """A few harmonics, odd ones stronger, with a 6 Hz tremolo."""
    f, n, sr = note.freq, note.n, v.sr
    trem = 1.0 + 0.15 * np.sin(2 * np.pi * 6.0 * note.t)
    x = _osc(_table(_n_harm(f, sr, 8), 1.0 / v.artist.brightness, odd=0.8), f, n, sr)
    return x * trem * _env(n, sr, 0.01, 0.2, 0.9)


@instrument("epiano", ratio=1.0, index=1.8, index_decay=0.3, attack=0.003, decay=1.2, sustain=0.1, tine=0.15)
@instrument("bell", release=1.2, ratio=3.5, index=2.5, index_decay=1.0, attack=0.002, decay=1.8, sustain=0.0)
@instrument("stab", ratio=1.0, index=3.5, index_decay=0.08, attack=0.003, decay=0.2, sustain=0.3)
@instrument("bass_fm", ratio=1.0, index=2.5, index_decay=0.12, attack=0.003, decay=0.3, sustain=0.5)
def _fm(
    v: Voice, note: Note, *, ratio: float, index: float, index_decay: float, attack: float, decay: float,
    sustain: float, tine: float = 0.0,
) -> np.ndarray:
    """Two-operator FM: the modulator at ``ratio`` times the pitch, its index decaying over
    ``index_decay`` s so that the attack is bright and the tail mellow; the artist's FM index and
    brightness scale it. ``tine`` adds the high, quickly fading partial of an electric piano."""
    a, f, n, t, sr = v.artist, note.freq, note.n, note.t, v.sr
    ind = index * a.fm_index * a.brightness * np.exp(-t / index_decay)
    w = 2 * np.pi * f * t
    x = np.sin(w + ind * np.sin(ratio * w))
    if tine:
        x += tine * np.exp(-t / 0.04) * np.sin(14.0 * w)
    return x * _env(n, sr, attack * a.attack, decay, sustain, note.release)


@instrument("power")
def _power(v: Voice, note: Note) -> np.ndarray:
    """Two detuned bright saws (a power chord is three of them; the drive comes in the mix)."""
    f, n, sr, det = note.freq, note.n, v.sr, v.detune
    tab = _table(_n_harm(f * det, sr, 30), 1.0 / v.artist.brightness)
    x = 0.5 * (_osc(tab, f, n, sr) + _osc(tab, f * det, n, sr, 0.25))
    return x * _env(n, sr, 0.005, 0.5, 0.85)


@instrument("piano", hammer_s=0.15, decay=1.0, sustain=0.15)
@instrument("bass_upright", hammer_s=0.08, decay=0.5, sustain=0.25)
def _struck(v: Voice, note: Note, *, hammer_s: float, decay: float, sustain: float) -> np.ndarray:
    """A bright tone fading into a dull one over ``hammer_s`` s: struck and plucked strings lose
    their upper harmonics first."""
    f, n, sr = note.freq, note.n, v.sr
    h = _n_harm(f, sr, 16)
    bright = _osc(_table(h, 1.2 / v.artist.brightness), f, n, sr)
    dull = _osc(_table(min(h, 3), 2.5), f, n, sr)
    w = np.exp(-note.t / hammer_s)
    return (w * bright + (1 - w) * dull) * _env(n, sr, 0.003, decay, sustain)


@instrument("pluck", decay=1.2)
@instrument("strum", decay=1.2)  # the strum is the arrangement's: the chord's notes staggered
@instrument("bass_pick", decay=0.9)
def _plucked(v: Voice, note: Note, *, decay: float) -> np.ndarray:
    """A Karplus-Strong string, ``decay`` s to -60 dB."""
    return v.pluck(note.midi, note.n, v.artist.brightness, decay)


# ----------------------------------------------------------------------------------------------
# Lead instruments: vibrato scaled by the artist's, attack by the artist's attack
# ----------------------------------------------------------------------------------------------


def _lead_vibrato(v: Voice, note: Note, depth: float, rate: float) -> np.ndarray:
    """Instantaneous frequency with the artist's vibrato times ``depth``, at ``rate`` Hz."""
    return _vibrato(note.freq, note.n, v.sr, v.artist.vibrato_cents * depth, rate)


@instrument("saw_lead")
def _saw_lead(v: Voice, note: Note) -> np.ndarray:
    """Two detuned saws, little vibrato."""
    f, n, sr = note.freq, note.n, v.sr
    fv = _lead_vibrato(v, note, 0.5, 5.5)
    tab = _table(_n_harm(f, sr, 30), 1.0 / v.artist.brightness)
    x = 0.5 * (_osc(tab, fv, n, sr) + _osc(tab, fv * v.detune, n, sr, 0.4))
    return x * _env(n, sr, 0.01 * v.artist.attack, 0.3, 0.75)


@instrument("fiddle")
def _fiddle(v: Voice, note: Note) -> np.ndarray:
    """A saw-like tone with a body resonance near 2.5 kHz, wide fast vibrato, bowed attack."""
    f, n, sr = note.freq, note.n, v.sr
    fv = _lead_vibrato(v, note, 1.3, 6.2)
    x = _osc(_table(_n_harm(f, sr, 30), 1.1 / v.artist.brightness, odd=0.7, formant=2500.0 / f), fv, n, sr)
    return x * _env(n, sr, 0.06 * v.artist.attack, 0.4, 0.8)


@instrument("sax")
def _sax(v: Voice, note: Note) -> np.ndarray:
    """A darker tone with a formant near 1.4 kHz."""
    f, n, sr = note.freq, note.n, v.sr
    fv = _lead_vibrato(v, note, 1.0, 5.0)
    x = _osc(_table(_n_harm(f, sr, 30), 1.4 / v.artist.brightness, odd=0.8, formant=1400.0 / f), fv, n, sr)
    return x * _env(n, sr, 0.04 * v.artist.attack, 0.3, 0.8)


@instrument("reed")
def _reed(v: Voice, note: Note) -> np.ndarray:
    """Mostly odd harmonics (a clarinet or harmonica) with a 7 Hz tremolo."""
    f, n, sr = note.freq, note.n, v.sr
    fv = _lead_vibrato(v, note, 0.8, 5.5)
    x = _osc(_table(_n_harm(f, sr, 30), 1.2 / v.artist.brightness, odd=0.3), fv, n, sr)
    x = x * (1 + 0.2 * np.sin(2 * np.pi * 7 * note.t))
    return x * _env(n, sr, 0.03 * v.artist.attack, 0.3, 0.8)


@instrument("flute")
def _flute(v: Voice, note: Note) -> np.ndarray:
    """An almost pure tone plus breath noise, slow attack."""
    f, n, sr = note.freq, note.n, v.sr
    fv = _lead_vibrato(v, note, 0.8, 4.8)
    breath = v.rng.standard_normal(n) * 0.05
    x = _osc(_table(min(_n_harm(f, sr, 30), 4), 3.0), fv, n, sr) + breath
    return x * _env(n, sr, 0.08 * v.artist.attack, 0.5, 0.85)


# ----------------------------------------------------------------------------------------------
# Bass instruments (bass_fm, bass_upright and bass_pick are above, with their families)
# ----------------------------------------------------------------------------------------------


def _falling_phase(note: Note, sr: int, depth: float) -> np.ndarray:
    """Phase (in periods) of a tone that starts at ``1 + depth`` times its pitch and falls to it
    within ~30 ms: the thump of a bass note's attack."""
    glide = 1.0 + depth * np.exp(-note.t / 0.03)
    return np.cumsum(note.freq * glide) / sr


@instrument("sub")
def _sub(v: Voice, note: Note) -> np.ndarray:
    """A sine bass."""
    x = np.sin(2 * np.pi * _falling_phase(note, v.sr, 0.3))
    return x * _env(note.n, v.sr, 0.004, 0.6, 0.4)


@instrument("bass_round")
def _bass_round(v: Voice, note: Note) -> np.ndarray:
    """A sine bass with some octave."""
    ph = _falling_phase(note, v.sr, 0.3)
    x = np.sin(2 * np.pi * ph)
    x += 0.3 * np.sin(4 * np.pi * ph)
    return x * _env(note.n, v.sr, 0.004, 0.6, 0.4)


@instrument("sub808", release=1.2)
def _sub808(v: Voice, note: Note) -> np.ndarray:
    """A saturated sine with a deeper pitch drop and a long tail: the 808 kick-bass."""
    x = np.tanh(1.8 * np.sin(2 * np.pi * _falling_phase(note, v.sr, 0.6)))
    return x * _env(note.n, v.sr, 0.002, 1.0, 0.4, note.release)


@instrument("bass_saw")
def _bass_saw(v: Voice, note: Note) -> np.ndarray:
    """A dark saw bass."""
    f, n, sr = note.freq, note.n, v.sr
    x = _osc(_table(_n_harm(f, sr, 24), 1.6 / v.artist.brightness), f, n, sr)
    return x * _env(n, sr, 0.003, 0.25, 0.6)
