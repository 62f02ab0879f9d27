"""Resumable training state: written atomically each epoch, read without executing code.

``checkpoint.pt`` holds only tensors, numbers, strings and containers of them (model and
optimiser state dicts, RNG states, the schedule state as JSON text, the log rows), so it is
read back with ``torch.load(weights_only=True)``, which refuses any other object instead of
building it.

``torch.save`` writes a zip archive with a CRC of every member, which tells the two ways a
checkpoint can be unreadable apart. An archive cut short or with a bad CRC was damaged after
(or while) agf wrote it: :class:`DamagedCheckpoint`, and the run trains from the start. A whole
archive the weights-only reader refuses, or a file that is no zip archive at all, holds what agf
never writes (a pickled object that would run code, say): :class:`ForeignCheckpoint`, and
nothing is loaded or removed, so the user can look at it before deleting it.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from agf.atomic import atomic_path
from agf.errors import AgfError

CHECKPOINT = "checkpoint.pt"
KEYS = ("epoch", "model", "optimizer", "schedule", "rng", "log", "finished")
ZIP_MAGIC = b"PK\x03\x04"  # how every torch.save archive starts


class DamagedCheckpoint(AgfError):
    """A checkpoint cut short or corrupted: it cannot be resumed from, but a rerun can train anew."""


class ForeignCheckpoint(AgfError):
    """A checkpoint.pt that agf did not write: refused, never loaded."""


def save_checkpoint(run_dir: Path, state: dict) -> None:
    """Write ``state`` to ``run_dir/checkpoint.pt``, on disk before it replaces the last one (a kill leaves that)."""
    with atomic_path(Path(run_dir) / CHECKPOINT, durable=True) as tmp:
        torch.save(state, tmp)


def load_checkpoint(run_dir: Path) -> dict | None:
    """The training state saved in ``run_dir``, or None when there is none.

    Raises:
        DamagedCheckpoint: the file is cut short or corrupted (the caller drops it).
        ForeignCheckpoint: the file is whole but holds something agf never writes.
    """
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    foreign = (f"{path} is not a checkpoint agf wrote ({{}}); agf will not load it: delete it, then rerun "
               "to train this run from the start")
    with open(path, "rb") as f:
        head = f.read(len(ZIP_MAGIC))
    if not ZIP_MAGIC.startswith(head):  # a shorter head is a file cut within its first bytes
        raise ForeignCheckpoint(foreign.format("not a torch.save archive"))
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # reads every member against its CRC
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DamagedCheckpoint(f"{path} is damaged (cut short? {err})") from None
    if bad is not None:
        raise DamagedCheckpoint(f"{path} is damaged ({bad} fails its CRC check)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ForeignCheckpoint(foreign.format("it holds Python objects that could run code when loaded")) from None
    except Exception as err:  # a whole zip archive torch cannot read as a checkpoint
        raise ForeignCheckpoint(foreign.format(f"{type(err).__name__}: {str(err).strip()[:80]}")) from None
    if not isinstance(state, dict) or any(key not in state for key in KEYS):
        raise ForeignCheckpoint(foreign.format("no training state agf recognises"))
    return state


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
