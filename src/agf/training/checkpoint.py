"""Resumable training state: written atomically each epoch, read without executing code.

``checkpoint.pt`` holds only tensors, numbers, strings and containers of them (model and
optimiser state dicts, RNG states, the schedule state as JSON text, the log rows), so it is
read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from agf.atomic import atomic_path

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(run_dir: Path, state: dict) -> None:
    """Write ``state`` to ``run_dir/checkpoint.pt``, on disk before it replaces the last one (a kill leaves that)."""
    with atomic_path(Path(run_dir) / CHECKPOINT, durable=True) as tmp:
        torch.save(state, tmp)


def load_checkpoint(run_dir: Path) -> dict | None:
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def rng_state(device: torch.device) -> dict:
    """The torch RNG states that dropout draws from (CPU, and the GPU's when training there)."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
