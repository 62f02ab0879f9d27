"""Writing a file so that a reader (or a rerun after kill -9) sees the old file or the new one, never half of one.

Every artefact of a work directory is written through :func:`atomic_path`: the writer fills a
temporary file beside the target, which is renamed over the target only once it is complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: Path | str, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; it replaces ``path`` when the block ends.

    The temporary name keeps the suffix (``weights.tmp.safetensors``), so writers that add a
    missing suffix (``np.save``, ``np.savez``) write exactly there. ``durable`` flushes the file
    to disk before the rename, for artefacts that are costly to redo (training checkpoints).
    When the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{path.suffix}")
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path | str, payload: Any) -> None:
    """Indented, key-sorted JSON (stable for diffs and fingerprints)."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def write_csv(frame, path: Path | str, **to_csv) -> None:
    """A pandas frame as CSV (``index=False`` unless asked otherwise)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **{"index": False, **to_csv})
