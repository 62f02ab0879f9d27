"""What an artefact was made from, so that a rerun can tell a stale artefact from an up-to-date one.

An artefact that learned from earlier artefacts (a trained network from the store, the tracks
table and the factor targets; a transfer model from its networks) records their digests in an
``inputs.json`` beside it. A rerun compares the digests of the inputs as they are now with the
recorded ones: equal, the artefact is reused; different, it is stale and is rebuilt, and the
user is told which input changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agf.atomic import write_json

DIGEST_CHARS = 16


def digest(*texts: str | bytes) -> str:
    """A short SHA-256 of the texts, in order."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode() if isinstance(text, str) else text)
        h.update(b"\0")
    return h.hexdigest()[:DIGEST_CHARS]


def file_digest(*paths: Path) -> str:
    """A short SHA-256 of the files' bytes one after the other (read in 1 MiB blocks).

    No separator between files, so the digest of a run's settings and weights stays the one
    written into the bundles and models of earlier versions.
    """
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:DIGEST_CHARS]


def file_signature(path: Path | str, *, content: bool = False) -> str | None:
    """``size:mtime_ns`` of a file, and with ``content`` also a digest of its bytes (``size:mtime_ns:sha``).
    None when the file is gone.

    Size and time are cheap to compare on every run, even for 25,000 audio files, and any edit or
    replacement changes them. The digest is what tells a file that was only copied, restored or
    touched (the same bytes under a new time) from one that was edited: see :func:`unchanged`.
    """
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    cheap = f"{stat.st_size}:{stat.st_mtime_ns}"
    return f"{cheap}:{file_digest(Path(path))}" if content else cheap


def unchanged(path: Path | str, recorded: str) -> bool:
    """Whether the file at ``path`` still holds what ``recorded`` (a :func:`file_signature`) describes.

    Equal size and time: unchanged, without reading the file. A new time on the same size: the
    bytes are read and compared with the recorded digest, so a dataset copied to another disk is
    not decoded or trained again; a record written before records carried a digest cannot tell,
    and counts as changed. A gone file has changed.
    """
    now = file_signature(path)
    if now is None:
        return False
    size, mtime, sha = (recorded.split(":") + ["", ""])[:3]
    if now == f"{size}:{mtime}":
        return True
    return bool(sha) and now.split(":")[0] == size and file_digest(Path(path)) == sha


def made_from_same_file(made_from: str | None, now: str) -> bool:
    """Whether an artefact made from a file whose signature was ``made_from`` still describes it, the
    file's signature (as the store records it) being ``now``: the one rule of the caches made from a
    track's audio (its Essentia descriptors, its track statistics). Only two known signatures that
    differ condemn it: one that recorded none (written before they did) can tell nothing, and neither
    can a caller that does not know the file's (``now`` empty), so either keeps it, rather than
    spend hours extracting again what may well be current.
    """
    return not made_from or not now or made_from == now


def record_inputs(path: Path, inputs: dict[str, str]) -> None:
    """Write ``inputs`` (name -> digest) as the record of what the artefact at ``path``'s folder was made from."""
    write_json(path, {"inputs": dict(sorted(inputs.items()))})


def recorded_inputs(path: Path) -> dict[str, str]:
    """The record at ``path`` (name -> digest); empty when there is none or it cannot be read."""
    try:
        recorded = json.loads(Path(path).read_text())["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def changed_inputs(path: Path, inputs: dict[str, str]) -> list[str]:
    """The names of ``inputs`` whose digest differs from the record at ``path`` (all of them when there is none)."""
    recorded = recorded_inputs(path)
    if not recorded:
        return sorted(inputs)
    return sorted(name for name in set(inputs) | set(recorded) if inputs.get(name) != recorded.get(name))
