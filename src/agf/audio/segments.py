"""Cutting a spectrogram into the networks' fixed-size 1-s segments."""

from __future__ import annotations

import numpy as np


def segment_starts(n_frames: int, *, segment_frames: int = 43, hop: int = 21) -> np.ndarray:
    """First frame of every segment when a track of ``n_frames`` is cut with ``hop``.

    The last segment is aligned to the end of the track so no audio is dropped; a track shorter
    than one segment yields a single segment starting at 0 (callers pad it).
    """
    if n_frames <= segment_frames:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n_frames - segment_frames + 1, hop, dtype=np.int64)
    if starts[-1] != n_frames - segment_frames:
        starts = np.append(starts, n_frames - segment_frames)
    return starts


def pad_frames(mel: np.ndarray, segment_frames: int = 43) -> np.ndarray:
    """Pad a (n_frames, n_mels) log-mel shorter than one segment with its own floor value."""
    n = mel.shape[0]
    if n >= segment_frames:
        return mel
    pad = np.full((segment_frames - n, mel.shape[1]), mel.min(), dtype=mel.dtype)
    return np.concatenate([mel, pad], axis=0)
