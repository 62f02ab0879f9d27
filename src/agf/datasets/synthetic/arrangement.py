"""Arranging a track: the drum, bass, chord and melody parts placed on the swung 16-step grid
with the artist's timing, then the mix bus (drive, echo, reverb, vinyl, texture), the master
filter and peak normalisation.

Every part draws from the track's random stream, so the parts and effects run in a fixed order
(drums, bass, harmony, lead, then the mix): reordering them changes the audio.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from agf.datasets.synthetic.drums import drum_sounds
from agf.datasets.synthetic.instruments import Voice
from agf.datasets.synthetic.plan import (
    SyntheticSettings,
    TrackInfo,
    TrackParams,
    motif_rng,
    track_params,
)
from agf.datasets.synthetic.recipes import KITS
from agf.datasets.synthetic.rhythm import VELOCITY, hits, swing
from agf.datasets.synthetic.theory import CHORDS, Chord, voicing

__all__ = ["PEAK_DBFS", "render_track", "synthesize_track"]

PEAK_DBFS = -1.0
_PEAK = 10.0 ** (PEAK_DBFS / 20.0)


def synthesize_track(settings: SyntheticSettings, track_index: int) -> tuple[np.ndarray, TrackInfo]:
    """Synthesise track ``track_index`` (0-based).

    Returns the audio, float32 of shape ``(settings.n_samples,)`` at ``settings.sample_rate`` Hz
    with peak -1 dBFS, and its labels. Depends only on (settings, track_index).
    """
    info, params, rng = track_params(settings, track_index)
    return render_track(settings, params, rng), info


def render_track(settings: SyntheticSettings, params: TrackParams, rng: np.random.Generator) -> np.ndarray:
    """The audio of a track with ``params``, float32 ``(settings.n_samples,)`` at ``settings.sample_rate``
    Hz and peak -1 dBFS; ``rng`` is the track's random stream, positioned after the draws of ``params``."""
    track = _Track(settings, params, rng)
    # The parts are rendered in argument order (the order of their random draws) and go straight
    # into the mix, which replaces them with processed copies: names holding them here would keep
    # the four originals alive as well (measurably slower on 8-s tracks).
    return _mix(track, _drum_part(track), _bass_part(track), _harmony_part(track), _lead_part(track))


class _Track:
    """One track being arranged: its parameters, random stream, grid and instrument voice."""

    def __init__(self, settings: SyntheticSettings, params: TrackParams, rng: np.random.Generator):
        self.params, self.style, self.artist, self.rng = params, params.style, params.artist, rng
        self.sr, self.n, self.duration_s = settings.sample_rate, settings.n_samples, settings.duration_s
        self.step_s = 60.0 / params.tempo / 4.0  # one 16th note
        self.n_bars = math.ceil(settings.duration_s / (16 * self.step_s)) + 1
        self.voice = Voice(self.artist, self.sr, rng, self.n)

    def onset(self, pos: float) -> int:
        """The sample where grid position ``pos`` (in 16th notes) sounds: swung, with the
        artist's timing jitter."""
        t = float(swing(pos, self.style.swing, self.style.swing_unit)) * self.step_s
        t += self.rng.normal(0.0, self.artist.timing_ms * 1e-3)
        return round(t * self.sr)

    def chord_at(self, bar: int) -> Chord:
        progression = self.params.progression
        return progression[(bar // self.style.bars_per_chord) % len(progression)]


def _place(bus: np.ndarray, sound: np.ndarray, start: int, gain: float) -> None:
    """Add ``gain * sound`` into ``bus`` at sample ``start`` (clipped to the bus)."""
    if start >= len(bus) or gain == 0.0:
        return
    if start < 0:
        sound, start = sound[-start:], 0
    m = min(len(sound), len(bus) - start)
    if m > 0:
        bus[start : start + m] += gain * sound[:m]


# ----------------------------------------------------------------------------------------------
# The parts
# ----------------------------------------------------------------------------------------------


def _drum_part(track: _Track) -> np.ndarray:
    style, rng = track.style, track.rng
    bus = np.zeros(track.n)
    if not (style.kit and (style.kick or style.snare or style.hat)):
        return bus
    kk, ks, kh, _, _ = track.params.pattern_picks
    kit = KITS[style.kit]
    snd = drum_sounds(kit, track.artist, track.sr, rng)
    parts = ((style.kick, kk, "kick", kit.gains[0]), (style.snare, ks, "snare", kit.gains[1]),
             (style.hat, kh, "hat", kit.gains[2]))
    for patterns, pick, name, gain in parts:
        if not patterns or gain == 0:
            continue
        pattern = hits(patterns[pick])
        for bar in range(track.n_bars):
            for step, c in pattern:
                v = VELOCITY.get(c, 0.75) * gain * float(np.exp(rng.normal(0, 0.08)))
                sample = snd["open"] if c == "O" else snd[name]
                _place(bus, sample, track.onset(bar * 16 + step), v)
                if c == "r":  # a roll: the same hit again a 32nd note later
                    _place(bus, sample, track.onset(bar * 16 + step + 0.5), v)
    return bus


def _bass_part(track: _Track) -> np.ndarray:
    style, a, rng, key = track.style, track.artist, track.rng, track.params.key
    bus = np.zeros(track.n)
    if not style.bass:
        return bus
    pattern = hits(style.bass_pattern[track.params.pattern_picks[4]])
    for bar in range(track.n_bars):
        r, q = track.chord_at(bar)
        root = style.bass_low + (key + r) % 12
        nxt = style.bass_low + (key + track.chord_at(bar + 1)[0]) % 12
        ivs = CHORDS[q]
        for j, (step, c) in enumerate(pattern):
            end = pattern[j + 1][0] if j + 1 < len(pattern) else 16
            if c == "w":  # walking bass: root, chord tones, a chromatic step into the next root
                if step == 0:
                    m = root
                elif step >= 12:
                    m = nxt + int(rng.choice([-1, 1]))
                else:
                    m = root + int(rng.choice(ivs[1:]))
            else:
                m = root + {"r": 0, "f": 7, "t": ivs[1] if len(ivs) > 1 else 0, "o": 12}.get(c, 0)
            dur = (end - step) * track.step_s * (0.9 if style.bass != "sub808" else 1.0) * (0.5 + 0.5 * a.legato)
            _place(bus, track.voice.note(style.bass, m, dur), track.onset(bar * 16 + step), VELOCITY.get(c, 0.8))
    return bus


def _harmony_part(track: _Track) -> np.ndarray:
    style, step_s = track.style, track.step_s
    bus = np.zeros(track.n)
    comp = hits(style.comp[track.params.pattern_picks[3]])
    events: list[list] = []  # [position in 16ths, length in 16ths, chord]
    for bar in range(track.n_bars):
        ch = track.chord_at(bar)
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
        notes = voicing(track.params.key + r + 12 * 4, q, style.harmony_center)
        dur = length * step_s * style.comp_legato
        start = track.onset(pos)
        vel = 0.9 if pos % 4 == 0 else 0.7
        if style.arpeggiate:
            seq = notes + notes[-2:0:-1]
            m = seq[arp_i % len(seq)]
            arp_i += 1
            _place(bus, track.voice.note(style.harmony, m, dur), start, vel)
            continue
        order = notes if pos % 4 == 0 or not style.strum_ms else notes[::-1]  # up-strokes off the beat
        for i, m in enumerate(order):
            off = int(i * style.strum_ms * 1e-3 * track.sr)
            _place(bus, track.voice.note(style.harmony, m, dur), start + off, vel / math.sqrt(len(notes)))
    return bus


def _lead_part(track: _Track) -> np.ndarray:
    """The melody: the artist's motif (rhythm + contour) varied per track, fitted to the chords."""
    style, a, rng, key = track.style, track.artist, track.rng, track.params.key
    bus = np.zeros(track.n)
    if not (style.leads and style.lead_density > 0):
        return bus
    instr = style.leads[a.lead_pick % len(style.leads)]
    mrng = motif_rng(track.params)
    grid = np.arange(0, 16, style.lead_step)
    dens = float(np.clip(style.lead_density * a.density, 0.02, 0.95))
    mask = mrng.random(len(grid)) < dens
    mask[0] = True
    contour = mrng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3], size=len(grid))
    scale_pitches = np.array([m for m in range(style.lead_center - 14, style.lead_center + 15)
                              if (m - key) % 12 in style.scale])
    idx = int(np.argmin(np.abs(scale_pitches - style.lead_center)))
    for bar in range(track.n_bars):
        r, q = track.chord_at(bar)
        chord_pcs = {(key + r + iv) % 12 for iv in CHORDS[q]}
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
            dur = min((end - step) * track.step_s * a.legato, 2.0)
            vel = 0.8 + 0.2 * float(rng.random())
            _place(bus, track.voice.note(instr, int(scale_pitches[idx]), dur), track.onset(bar * 16 + int(step)), vel)
    return bus


# ----------------------------------------------------------------------------------------------
# The mix
# ----------------------------------------------------------------------------------------------


def _mix(track: _Track, drums: np.ndarray, bass: np.ndarray, harm: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """The parts at the style's levels times the artist's, through the effects, mastered."""
    style, a, rng, sr, n = track.style, track.artist, track.rng, track.sr, track.n
    lv = [s * x for s, x in zip(style.levels, a.levels)]
    if style.drive > 0:
        harm = _overdrive(harm, 1.0 + 8.0 * style.drive)
    if style.lead_drive > 0:
        lead = _overdrive(lead, 1.0 + 6.0 * style.lead_drive)
    drums, bass, harm, lead = _normalised(drums), _normalised(bass), _normalised(harm), _normalised(lead)
    dry = lv[0] * drums + lv[1] * bass + lv[2] * harm + lv[3] * lead
    echo_amt = min(0.95, style.echo * a.echo)
    if echo_amt > 0:
        send = lv[3] * lead + (0.5 * lv[2] * harm if echo_amt > 0.5 else 0.0)
        delay = int(0.75 * 4 * track.step_s * sr)  # a dotted 8th note
        dry = dry + echo_amt * _echo(send, delay, 0.3 + 0.3 * echo_amt)
    rev_amt = min(1.0, style.reverb * a.reverb)
    if rev_amt > 0:
        ir = _reverb_ir(0.6 + 2.2 * rev_amt, min(4000.0 * a.brightness, 0.45 * sr), sr, rng)
        send = lv[2] * harm + lv[3] * lead + 0.3 * lv[0] * drums
        dry = dry + 0.8 * rev_amt * signal.fftconvolve(send, ir)[:n]
    if style.vinyl > 0:
        dry = dry + style.vinyl * _vinyl(n, sr, track.duration_s, rng)
    if style.texture > 0:
        dry = dry + style.texture * 0.3 * _wind(n, sr, rng)
    return _master(dry, min(style.cutoff_hz * a.cutoff, 0.45 * sr), sr)


def _normalised(x: np.ndarray) -> np.ndarray:
    """``x`` at RMS 0.1 (silence stays silent), so that the levels alone set the balance."""
    return x / (np.sqrt(np.mean(x * x)) + 1e-9) * 0.1 if np.any(x) else x


def _overdrive(x: np.ndarray, gain: float) -> np.ndarray:
    """``x`` scaled to peak 1 and soft-clipped by tanh at ``gain``, the peak kept at 1."""
    return np.tanh(gain * x / (np.max(np.abs(x)) + 1e-9)) / math.tanh(gain)


def _echo(send: np.ndarray, delay: int, feedback: float) -> np.ndarray:
    """Four repeats of ``send``, ``delay`` samples apart, each ``feedback`` times the last."""
    n = len(send)
    wet = np.zeros(n)
    for k in range(1, 5):
        if k * delay < n:
            wet[k * delay :] += feedback**k * send[: n - k * delay]
    return wet


def _reverb_ir(rt: float, cutoff: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A room's impulse response, unit energy: noise decaying by 60 dB in ``rt`` s, low-passed at
    ``cutoff`` Hz, after 15 ms of pre-delay."""
    m = int(rt * sr)
    t = np.arange(m) / sr
    ir = rng.standard_normal(m) * np.exp(-6.9 * t / rt)
    ir = signal.sosfilt(signal.butter(1, cutoff, fs=sr, output="sos"), ir)
    ir[: int(0.015 * sr)] = 0.0
    ir /= np.sqrt(np.sum(ir * ir)) + 1e-9
    return ir


def _vinyl(n: int, sr: int, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Record noise: ~25 crackles a second over a low hiss."""
    crackle = np.zeros(n)
    k = rng.poisson(25 * duration_s)
    crackle[rng.integers(0, n, k)] = rng.uniform(-1, 1, k)  # Python draws the values before the places
    hiss = signal.sosfilt(signal.butter(1, min(3000.0, 0.45 * sr), fs=sr, output="sos"), rng.standard_normal(n))
    return 0.15 * crackle + 0.01 * hiss


def _wind(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A low, slowly swelling noise bed."""
    t = np.arange(n) / sr
    wind = signal.sosfilt(signal.butter(2, [150, 700], "bandpass", fs=sr, output="sos"), rng.standard_normal(n))
    wind *= 0.6 + 0.4 * np.sin(2 * np.pi * float(rng.uniform(0.05, 0.2)) * t + float(rng.uniform(0, 6.3)))
    return wind


def _master(dry: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    """Low-pass at ``cutoff`` Hz, high-pass at 30 Hz, 10 ms fades, peak at :data:`PEAK_DBFS`;
    float32."""
    n = len(dry)
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
