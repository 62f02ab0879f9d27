"""Frame features of the m and d tasks: MFCCs of the stored log-mel, and their frame differences."""

from __future__ import annotations

import numpy as np
import scipy.fft

FRAME_TASKS = ("m", "d")


def mfcc_from_log_mel(mel_db: np.ndarray, *, n_mfcc: int = 25) -> np.ndarray:
    """MFCCs of a ``(n_frames, n_mels)`` dB log-mel: ``(n_frames, n_mfcc)`` float32.

    DCT-II with orthonormal scaling over the mel axis, the first ``n_mfcc`` coefficients:
    ``librosa.feature.mfcc(S=mel_db.T, n_mfcc=n_mfcc)`` transposed (librosa's S is
    ``(n_mels, n_frames)``; ours is frames-first like the store).
    """
    mel = np.asarray(mel_db, dtype=np.float32)
    if mel.ndim != 2:
        raise ValueError(f"expected a (n_frames, n_mels) log-mel, got shape {mel.shape}")
    if n_mfcc > mel.shape[1]:
        raise ValueError(f"n_mfcc={n_mfcc} exceeds the {mel.shape[1]} mel bands")
    return scipy.fft.dct(mel, type=2, norm="ortho", axis=1)[:, :n_mfcc].astype(np.float32, copy=False)


def delta_mfcc(mfcc: np.ndarray) -> np.ndarray:
    """First-order differences of consecutive frames of ONE track: ``(n_frames - 1, n_mfcc)``.

    Call it per track so no difference spans two tracks.
    """
    return np.diff(mfcc, axis=0)


def frame_features(mel_db: np.ndarray, task: str, *, n_mfcc: int = 25) -> np.ndarray:
    """The task's frame vectors for one track: MFCCs (``m``) or dMFCCs (``d``)."""
    mfcc = mfcc_from_log_mel(mel_db, n_mfcc=n_mfcc)
    if task == "m":
        return mfcc
    if task == "d":
        return delta_mfcc(mfcc)
    raise ValueError(f"frame features exist for tasks {FRAME_TASKS}, not {task!r}")


def n_feature_frames(n_frames: np.ndarray | int, task: str) -> np.ndarray | int:
    """How many feature vectors a track of ``n_frames`` frames yields for ``task``."""
    return n_frames - 1 if task == "d" else n_frames
