"""What a network sees: a standardised log-mel segment, mel bins first.

Everything up to the networks keeps log-mel frames first, ``(frames, n_mels)``: the front end,
the store (a crop is one contiguous read), the segment cutter. The networks of Table 2 take
``(B, channels, n_mels, frames)``, mel bins on the height axis. This module is the one place
where the two layouts meet, and where the per-mel-bin standardisation fitted on the training
tracks (:func:`agf.training.data.standardisation`) is applied, for training, feature
extraction and prediction alike.

A gain is a constant added to every dB value of a log-mel (the 80-dB floor follows the track's
maximum, so it moves too). With ``level='segment'`` each segment's mean dB is subtracted
first, so that a quieter or louder copy of a track gives the network the same input: users'
files come at every level, and absolute level says more about mastering than about genre.
``'absolute'`` keeps the level (the paper's input, and every run trained before this setting).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def network_input(segments_db: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, *, level: str) -> torch.Tensor:
    """dB segments ``(B, frames, n_mels)`` or ``(B, C, frames, n_mels)`` -> ``(B, C, n_mels, frames)`` float32.

    With ``level='segment'`` each segment (each channel of it) is centred on its mean dB; then each
    mel bin is standardised with ``mean`` and ``std`` ``(n_mels,)`` (on the segments' device); a
    3-d input gets one channel.
    """
    x = segments_db.float()
    if x.ndim == 3:
        x = x[:, None]
    if level == "segment":
        x = x - x.mean(dim=(-2, -1), keepdim=True)
    return ((x - mean) / std).transpose(-1, -2)


class Standardiser(nn.Module):
    """:func:`network_input` with its mean and std as buffers, so ``.to(device)`` moves them along."""

    def __init__(self, mean: np.ndarray | torch.Tensor, std: np.ndarray | torch.Tensor, level: str):
        super().__init__()
        self.level = level
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, np.float32)))

    def forward(self, segments_db: torch.Tensor) -> torch.Tensor:
        return network_input(segments_db, self.mean, self.std, level=self.level)
