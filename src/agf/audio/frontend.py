"""From an audio file to its log-mel frames: decode, resample, mel, dB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from agf.audio.decode import load_audio
from agf.audio.mel import FrontEndSettings, LogMel


def file_log_mel(path: Path | str, settings: FrontEndSettings = FrontEndSettings(),
                 log_mel: LogMel | None = None) -> np.ndarray:
    """The ``(n_frames, n_mels)`` float32 log-mel of a whole file (frames first, as stored).

    Raises:
        AudioError: when the file cannot be decoded or holds no sound.
    """
    y = load_audio(path, sr=settings.sample_rate)
    log_mel = log_mel or LogMel(settings)
    with torch.inference_mode():
        return log_mel(torch.from_numpy(y)[None])[0].numpy()
