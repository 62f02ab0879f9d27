"""Which GPU a grid job runs on: one worker per GPU by default, several per GPU with ``--workers``.

No GPU is needed: the mapping from a Dask worker to a device is checked with the GPU count
replaced, and the worker names it relies on are those of a real local cluster.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from distributed import get_worker

from agf.experiments import cluster
from agf.experiments.cluster import default_workers, job_device, open_client


@pytest.fixture
def gpus(monkeypatch):
    """Pretend this host has ``n`` GPUs and that the caller runs inside the Dask worker named ``name``."""
    def pretend(n: int, name=None):
        def worker():
            if name is None:
                raise ValueError("No worker found")  # what distributed raises outside a worker
            return SimpleNamespace(name=name)

        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(cluster, "get_worker", worker)
    return pretend


def test_local_workers_are_named_0_to_n_minus_1():
    """job_device spreads workers over GPUs by these names; LocalCluster must keep giving them."""
    with open_client(workers=3) as client:
        addresses = list(client.scheduler_info()["workers"])
        names = {client.submit(_worker_name, workers=[a], pure=False).result() for a in addresses}
    assert names == {0, 1, 2}


def _worker_name():
    """As a job sees it (job_device asks the same)."""
    return get_worker().name


def test_one_worker_per_gpu_by_default_and_each_on_its_own(gpus):
    gpus(2)
    assert default_workers() == 2
    devices = []
    for name in range(2):
        gpus(2, name)
        devices.append(job_device())
    assert devices == ["cuda:0", "cuda:1"]


def test_more_workers_than_gpus_share_them_evenly(gpus):
    """`agf experiment --workers 4` on 2 GPUs: two jobs on each, for networks too small to fill one."""
    devices = []
    for name in range(4):
        gpus(2, name)
        devices.append(job_device())
    assert devices == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]


def test_named_remote_workers_each_see_their_own_gpu(gpus):
    """A remote worker started with CUDA_VISIBLE_DEVICES=g sees one GPU, whatever its name."""
    gpus(1, "gpu3")
    assert job_device() == "cuda:0"


def test_outside_a_worker_and_when_asked_for(gpus):
    gpus(2)
    assert job_device() == "cuda:0"
    assert job_device("cpu") == "cpu"
    gpus(0)
    assert job_device() == "cpu"
