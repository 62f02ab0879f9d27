"""Processes: malloc tuning for PyTorch on the CPU, pool workers that end with their parent, and the
rule for a number of processes (``--jobs``, ``--workers``)."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import wait

from agf.errors import SettingsError

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc mallopt parameters
KEEP_BYTES = 1 << 30
# The same policy for a process not yet started (glibc reads these at its first malloc): the
# local Dask cluster's workers get it, since their job threads have arenas before a job runs.
ALLOCATOR_ENV = {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_THRESHOLD_": str(KEEP_BYTES),
                 "MALLOC_TRIM_THRESHOLD_": str(KEEP_BYTES)}


def keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed blocks of up to 1 GiB instead of unmapping them.

    By default every freed block over 128 KiB-32 MiB goes back to the kernel, so each conv
    activation of every batch is mapped afresh and page-faulted in: measured on a batch of 256
    segments through the DCNN, 1.0 M minor page faults and 40 % of the CPU time in the kernel.
    Keeping the blocks makes CPU inference 1.65x faster. The cost: up to 1 GiB of freed memory
    stays with the process. One arena for every thread, because a thread's own arena is a heap
    of at most 64 MiB that maps every larger block afresh whatever the threshold: measured in a
    worker thread, a batch of 512 segments through three networks took 3.8 s with per-thread
    arenas and 2.1 s with one. A no-op where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)
        mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)
        mallopt(M_ARENA_MAX, 1)


def process_count(option: str) -> Callable[[str | int], int]:
    """The check of ``option``, a number of processes or workers (``--jobs``, ``--workers``): a whole
    number >= 1 passes (as an int), anything else raises a one-line error naming the option.

    The one rule for every such option: the argparse ``type`` of the commands' ``--jobs`` and
    ``--workers``, and the check of ``run_experiment(workers=...)``. Without it ``--jobs 0`` or
    ``--jobs -2`` silently ran the work in the command's own process, as ``--jobs 1`` does.
    """
    def check(value: str | int) -> int:
        count = value
        if isinstance(value, str):
            try:
                count = int(value)
            except ValueError:
                pass
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise SettingsError(f"{option} must be a whole number >= 1 (processes to run), got {value}")
        return count

    return check


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent() -> None:
    """Make this pool worker end as soon as the process that started it ends, even by kill -9.

    Call it first in a process pool's initializer. Without it, the workers of a killed
    ``agf prepare`` or ``agf factors`` go on decoding, and for a forkserver pool they also keep
    the forkserver and the resource tracker alive (each worker holds the write end of the
    pipes whose EOF tells those two to exit). Two mechanisms, because neither covers both pools:

    - multiprocessing's parent sentinel, a pipe that reaches EOF when the parent ends: a
      thread waits on it and ends the worker. Portable, and it names the process that created
      the pool, also for a forkserver worker (whose own parent is the forkserver). It needs
      the GIL to act, so a worker inside a long C call that holds the GIL finishes that call first.
    - Linux's ``PR_SET_PDEATHSIG``: the kernel sends SIGKILL when the parent ends, at once,
      whatever the worker is doing. Only where the pool's creator is the worker's own parent
      (spawn and fork pools), since the signal follows the OS parent; strictly, the parent's
      thread that started the worker, which for our pools is the thread that uses the pool.

    A no-op in a process that multiprocessing did not start (the command line itself).
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if sys.platform.startswith("linux") and os.getppid() == parent.pid:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(target=_end_when_ended, args=(parent.sentinel,), name="end-with-parent", daemon=True).start()


def _end_when_ended(sentinel: int) -> None:
    wait([sentinel])  # returns once the parent's end of the pipe is closed: the parent has ended
    os.kill(os.getpid(), signal.SIGKILL)
