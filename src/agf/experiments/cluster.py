"""Running the grid's independent jobs on Dask distributed.

Dask rather than Ray: the grid is a static task graph (networks -> transfer cases) of
Python functions over a shared work directory, which is exactly what ``Client.submit`` with
futures as arguments expresses; Dask installs as pure-Python wheels (Ray is a large binary
with its own object store and dashboard we do not need), starts a local cluster in about a
second, and attaches to an existing scheduler with one address (``dask scheduler`` +
``dask worker`` on each node, or dask-jobqueue on SLURM/PBS).

Locally the cluster has one single-threaded worker process per GPU, or, without a GPU,
``workers`` processes that share the CPU cores (torch threads per job = cores / workers).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import dask
import torch
from distributed import Client, KilledWorker, LocalCluster, get_worker
from distributed.comm import CommClosedError

from agf.errors import AgfError
from agf.runtime import ALLOCATOR_ENV, process_count
from agf.timing import StageClock

check_workers = process_count("--workers")

# long enough for a scheduler across a data centre, short enough that a mistyped --cluster fails
# fast; Dask's own default of 30 s retries a refused connection all that while
CONNECT_TIMEOUT_S = 10.0


class JobLost(AgfError):
    """A job of the grid that the cluster could not finish: it kept killing its workers, or the scheduler went."""


def job_result(future):
    """A job's result; a job the cluster gave up on is one line, not Dask's traceback.

    Dask already reruns a job whose worker died (a lost node, a killed process); it gives up
    after ``distributed.scheduler.allowed-failures`` deaths, which points at the job itself.
    """
    try:
        return future.result()
    except KilledWorker:
        raise JobLost(f"job {future.key} ended the Dask worker that ran it, again and again (no memory left?): look at "
                      "the workers' logs, then rerun the same command: finished jobs are kept") from None
    except (CommClosedError, OSError) as err:
        raise JobLost(f"lost the Dask scheduler while job {future.key} ran ({type(err).__name__}); restart it and "
                      "rerun the same command: finished jobs are kept") from None


class ClusterUnreachable(AgfError):
    """No Dask scheduler answers at the address given."""


def connect(address: str, *, timeout: float = CONNECT_TIMEOUT_S) -> Client:
    """A client of the scheduler at ``address``, or a one-line error naming it when none answers within ``timeout``."""
    try:
        return Client(address, timeout=timeout)
    except ValueError as err:  # not an address Dask can parse
        raise ClusterUnreachable(f"--cluster {address}: {err}; give the scheduler's address, e.g. "
                                 "tcp://host:8786") from None
    except OSError:
        raise ClusterUnreachable(f"no Dask scheduler answers at {address} within {timeout:g} s; start one there "
                                 "(`dask scheduler`, then `dask worker ADDRESS` on each node) or fix --cluster"
                                 ) from None


def check_cluster(address: str) -> None:
    """Connect to the scheduler at ``address`` and let go: a wrong address fails before hours of prepare."""
    connect(address).close()


def default_workers() -> int:
    """One worker per GPU; without one, one per two cores (each job then runs two torch threads)."""
    n_gpus = torch.cuda.device_count()
    return n_gpus if n_gpus else max(1, (os.cpu_count() or 1) // 2)


CLUSTER_STAGE = "Dask: cluster start and stop"


@contextmanager
def open_client(address: str | None = None, *, workers: int | None = None,
                clock: StageClock | None = None) -> Iterator[Client]:
    """A client of the cluster at ``address``, or of a new local cluster on loopback; ``clock`` gets the
    time spent starting and stopping it."""
    clock = clock or StageClock()
    with ExitStack() as stack:
        with clock.stage(CLUSTER_STAGE, children=False):
            if address:
                client = stack.enter_context(connect(address))
            else:
                # Dask's own default trims freed memory at 64 KiB: the opposite of what torch on the CPU needs
                environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **ALLOCATOR_ENV}
                with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                    cluster = stack.enter_context(LocalCluster(
                        n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR))
                client = stack.enter_context(Client(cluster))
        try:
            yield client
        finally:
            with clock.stage(CLUSTER_STAGE, children=False):
                stack.close()


def job_device(requested: str = "auto") -> str:
    """The device for a job: on a GPU host, the GPU of this worker (workers are spread over GPUs)."""
    if requested != "auto":
        return requested
    n_gpus = torch.cuda.device_count()
    if not n_gpus:
        return "cpu"
    try:
        name = get_worker().name
    except ValueError:  # not inside a Dask worker
        return "cuda:0"
    index = name if isinstance(name, int) else sum(map(ord, str(name)))
    return f"cuda:{index % n_gpus}"
