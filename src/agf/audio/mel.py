"""Log-mel spectrograms in PyTorch, batched on CPU or CUDA, matching librosa's defaults.

``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024,
hop_length=512, n_mels=128))`` is the reference: centred frames with zero padding, a periodic
Hann window, Slaney mel filters with Slaney area normalisation, power 2, dB with ``ref=1``,
``amin=1e-10`` and an 80-dB floor below each track's maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agf.audio.segments import SEGMENT_FRAMES
from agf.errors import SettingsError
from agf.settings import Interval, Settings

N_MELS = 128


@dataclass(frozen=True)
class FrontEndSettings(Settings):
    """Every setting that shapes a stored spectrogram (SPEC section 1).

    ``segment_frames`` is the length of the 1-s segments the store's tracks are cut into (a
    shorter clip is padded to it); every stage reads it from the settings of the store or
    bundle it works on.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = N_MELS
    fmin: float = 0.0
    fmax: float = 11025.0
    top_db: float = 80.0
    segment_frames: int = SEGMENT_FRAMES

    constraints = {
        "sample_rate": Interval(int, 1000, 384_000),
        "n_fft": Interval(int, 16, 1 << 16),
        "hop_length": Interval(int, 1, 1 << 16),
        "n_mels": Interval(int, 1, 1024),
        "fmin": Interval(float, 0.0),
        "fmax": Interval(float, 0.0, low_open=True),
        "top_db": Interval(float, 0.0, low_open=True),
        "segment_frames": Interval(int, 1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.fmin < self.fmax <= self.sample_rate / 2:
            raise SettingsError(f"fmin < fmax <= sample_rate / 2 must hold, got fmin {self.fmin}, "
                                f"fmax {self.fmax}, sample_rate {self.sample_rate}")


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / f_sp
    log_region = hz >= min_log_hz
    mel[log_region] = min_log_hz / f_sp + np.log(hz[log_region] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * f_sp
    log_region = mel >= min_log_mel
    hz[log_region] = min_log_hz * np.exp(logstep * (mel[log_region] - min_log_mel))
    return hz


def mel_filterbank(*, sr: int = 22050, n_fft: int = 1024, n_mels: int = 128,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular Slaney mel filters, area-normalised; shape ``(n_mels, 1 + n_fft // 2)``."""
    fmax = sr / 2 if fmax is None else fmax
    fft_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(np.array([fmin]))[0], _hz_to_mel(np.array([fmax]))[0], n_mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


def power_to_db(power: torch.Tensor, *, amin: float = 1e-10, top_db: float | None = 80.0,
                n_frames: torch.Tensor | None = None, frame_axis: int = -1) -> torch.Tensor:
    """``10 log10(max(power, amin))`` floored ``top_db`` below each item's maximum.

    Args:
        power: ``(batch, n_mels, frames)`` power spectrogram (``frame_axis=-2`` for frames first).
        n_frames: valid frames per item when items were padded to one length; the maximum is
            taken over valid frames only.
    """
    db = 10.0 * torch.log10(torch.clamp(power, min=amin))
    if top_db is None:
        return db
    if n_frames is None:
        peak = db.amax(dim=(-2, -1), keepdim=True)
    else:
        valid = torch.arange(db.shape[frame_axis], device=db.device)[None, :] < n_frames[:, None]
        valid = valid[:, None, :] if frame_axis == -1 else valid[:, :, None]
        peak = db.masked_fill(~valid, -torch.inf).amax(dim=(-2, -1), keepdim=True)
    return torch.maximum(db, peak - top_db)


class LogMel(nn.Module):
    """Waveforms ``(batch, samples)`` -> log-mel ``(batch, frames, n_mels)`` in dB.

    Frames first, as the store, the segment cutter and every stage up to the networks keep
    them (a crop of a track is then one contiguous read); :mod:`agf.models.input` turns
    segments to the networks' mel-first layout. ``frames = 1 + samples // hop_length``
    (centred frames). The window and filters are buffers, so ``.to(device)`` moves them with
    the module.
    """

    def __init__(self, settings: FrontEndSettings = FrontEndSettings()):
        super().__init__()
        self.settings = settings
        s = settings
        self.register_buffer("window", torch.hann_window(s.n_fft, periodic=True), persistent=False)
        filters = mel_filterbank(sr=s.sample_rate, n_fft=s.n_fft, n_mels=s.n_mels, fmin=s.fmin, fmax=s.fmax)
        self.register_buffer("filters", torch.from_numpy(filters), persistent=False)

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``lengths`` (samples per item) restricts each item's dB floor to its own frames."""
        s = self.settings
        spec = torch.stft(waveforms, s.n_fft, s.hop_length, window=self.window, center=True,
                          pad_mode="constant", return_complex=True)
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(power.mT, self.filters.T)
        n_frames = None if lengths is None else 1 + lengths // s.hop_length
        return power_to_db(mel, top_db=s.top_db, n_frames=n_frames, frame_axis=-2)
