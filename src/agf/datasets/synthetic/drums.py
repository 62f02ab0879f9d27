"""Drum sounds: a :class:`Kit`'s one-shot samples, synthesised per track from pitched sine sweeps
and filtered noise bursts and tuned by the artist."""

from __future__ import annotations

import numpy as np
from scipy import signal

from agf.datasets.synthetic.plan import ArtistProfile
from agf.datasets.synthetic.recipes import Kit

__all__ = ["drum_sounds"]


def drum_sounds(kit: Kit, artist: ArtistProfile, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
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
