"""Cutting a spectrogram into the networks' fixed-size 1-s segments.

A segment is ``SEGMENT_FRAMES`` = 43 frames: 1 s at 22,050 Hz with a 512-sample hop (SPEC
section 1). Tracks are cut with ``SEGMENT_HOP`` = 21 frames between segment starts (50 %
overlap, the paper's setting) unless a stage's settings say otherwise.
"""

from __future__ import annotations

import numpy as np

SEGMENT_FRAMES = 43
SEGMENT_HOP = 21


def segment_starts(n_frames: int, *, segment_frames: int = SEGMENT_FRAMES, hop: int = SEGMENT_HOP) -> np.ndarray:
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


def pad_frames(mel: np.ndarray, segment_frames: int = SEGMENT_FRAMES) -> np.ndarray:
    """Pad a (n_frames, n_mels) log-mel shorter than one segment with its own floor value."""
    n = mel.shape[0]
    if n >= segment_frames:
        return mel
    pad = np.full((segment_frames - n, mel.shape[1]), mel.min(), dtype=mel.dtype)
    return np.concatenate([mel, pad], axis=0)
