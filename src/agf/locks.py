"""Exclusive file locks: around artefacts that several processes may build at once, and around a work directory."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agf.errors import AgfError
from agf.workdir import Workdir


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if missing) for the block.

    Two grid workers that need the same network or feature cache, or a leftover worker of a
    killed run and the worker of its rerun, build it one after the other; the second then finds
    it done. The lock dies with its process, so a kill -9 never leaves a stale lock behind.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class WorkdirBusy(AgfError):
    """Another agf command is writing the work directory."""


@contextmanager
def hold_workdir(root: Path, command: str) -> Iterator[None]:
    """Hold the work directory ``root`` for ``command``; stop at once if another process holds it.

    Two commands writing one work directory at once corrupt it (two ``agf prepare`` interleave
    their appends to the store), so every command that writes one holds this lock for its whole
    run. It fails fast rather than waiting: the user is told which command holds it. A command
    that stops on a user error leaves no trace: the lock file it created goes, and so does the
    work directory if it created it and left it empty.
    """
    root = Path(root)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    lock_path = Workdir(root).lock
    lock_created = not lock_path.exists()
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WorkdirBusy(f"{root}: in use by {holder}; wait for it to finish, or use another --workdir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"`{command}` (pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        try:
            yield
        except AgfError:
            if lock_created:
                lock_path.unlink()
                if created and not any(root.iterdir()):
                    root.rmdir()
            raise
    finally:
        handle.close()  # closing the file releases the lock
