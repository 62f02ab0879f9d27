"""Choosing the torch device: CUDA when present, overridable by the user."""

from __future__ import annotations

import contextlib

import torch

from agf.errors import AgfError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``'auto'`` -> ``cuda`` when available, else ``cpu``; anything else is checked and returned."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as err:
        raise AgfError(f"unknown device {device!r} ({err}); use auto, cpu or cuda") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise AgfError(f"device {device!r} asked for, but torch sees no CUDA GPU; use --device cpu")
    return chosen


def autocast(device: torch.device):
    """bf16 autocast on CUDA (tensor cores, same range as fp32); a no-op context on CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16)
