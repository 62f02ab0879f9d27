"""Faults of a distributed grid: a real Dask scheduler and two workers started with the `dask` command
line on loopback, one worker killed with SIGKILL in the middle of `agf experiment --cluster`, and a
--cluster address where no scheduler answers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import dask
import pandas as pd
import psutil
import pytest
from distributed import Client

from agf.experiments.cluster import JobLost, job_result, open_client
from agf.experiments.presets import Preset
from agf.experiments.runner import run_experiment
from agf.training.runs import WEIGHTS
from agf.workdir import Workdir

# the genre-only grid of one epoch: three jobs (the STN, its case, the classical baseline) on two workers
TINY = dict(epochs=1, mlp_epochs=2, clusters=16, hop=43)
SOURCE, TASKS = "synthetic:24", "g"
START_S = 120  # longest wait for the scheduler, its workers, or a job to start


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL ``process`` and every process below it (a `dask worker` is a nanny with a worker child)."""
    try:
        tree = [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]
    except psutil.NoSuchProcess:
        tree = []
    for member in tree:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    process.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[str]:
    """The address of a scheduler with two single-threaded workers, each a `dask` command of its own."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    started: list[subprocess.Popen] = []
    with open(folder / "dask.log", "wb") as log:
        def dask(*argv: str) -> None:
            started.append(subprocess.Popen([sys.executable, "-m", "dask", *argv], stdout=log, stderr=log,
                                            start_new_session=True))

        try:
            dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(scheduler_file))
            deadline = time.monotonic() + START_S
            while not scheduler_file.exists():
                assert time.monotonic() < deadline, (folder / "dask.log").read_text()[-3000:]
                time.sleep(0.1)
            for n in range(2):
                dask("worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--nworkers", "1",
                     "--no-dashboard", "--local-directory", str(folder / f"worker{n}"))
            address = json.loads(scheduler_file.read_text())["address"]
            with Client(address) as client:
                client.wait_for_workers(2, timeout=START_S)
            yield address
        finally:
            for process in started:
                _kill_tree(process)


def _victim(client: Client, work: Workdir) -> tuple[str, int] | None:
    """(network, pid) of a worker process that is training a network of ``work`` right now, if one is."""
    for address, keys in client.processing().items():
        for network in (str(key).removeprefix("train-") for key in keys if str(key).startswith("train-")):
            run = work.run_dir(network)
            if (run / "settings.json").exists() and not (run / WEIGHTS).exists():
                return network, client.run(os.getpid, workers=[address])[address]
    return None


def test_a_worker_killed_mid_grid_costs_only_its_job(dask_cluster, tmp_path):
    """The worker process training the network killed with SIGKILL (its nanny starts another): the
    scheduler gives the job to a live worker, which trains the network again from its seed, and the
    grid's results.csv is the undisturbed grid's, number for number."""
    preset = Preset("quick", **TINY)
    undisturbed = tmp_path / "undisturbed"
    run_experiment(SOURCE, undisturbed, preset=preset, tasks=TASKS, cluster=dask_cluster, jobs=1, progress=False)
    # the same inputs (the tracks and their store) for the disturbed grid: only the grid itself runs again
    work = Workdir(tmp_path / "disturbed")
    work.root.mkdir()
    for name in ("dataset.json", "tracks.csv", "errors.csv"):
        shutil.copy2(undisturbed / name, work.root / name)
    for name in ("source", "store"):
        shutil.copytree(undisturbed / name, work.root / name)
    argv = ["experiment", SOURCE, "--workdir", str(work.root), "--tasks", TASKS, "--cluster", dask_cluster,
            "--preset", "quick", "--no-progress", *(f"--{k.replace('_', '-')}={v}" for k, v in TINY.items())]
    log = tmp_path / "experiment.log"
    with open(log, "wb") as out:
        grid = subprocess.Popen([sys.executable, "-m", "agf", *argv], stdout=out, stderr=out, start_new_session=True)
    try:
        with Client(dask_cluster) as client:
            deadline = time.monotonic() + START_S
            while (victim := _victim(client, work)) is None:
                assert grid.poll() is None and time.monotonic() < deadline, f"no network trained:\n{log.read_text()}"
                time.sleep(0.05)
            network, pid = victim
            os.kill(pid, signal.SIGKILL)
        assert not (work.run_dir(network) / WEIGHTS).exists(), f"{network} was done before the kill"
        assert grid.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        _kill_tree(grid)
    assert (work.run_dir(network) / WEIGHTS).exists()
    pd.testing.assert_frame_equal(pd.read_csv(work.results_csv), pd.read_csv(undisturbed / "results.csv"))


def test_a_cluster_address_where_nothing_answers_is_one_line_before_any_work(tmp_path):
    """A port bound but not listening refuses every connection: as a mistyped --cluster does."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{unused.getsockname()[1]}"
        work = tmp_path / "w"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "agf", "experiment", "synthetic:24", "--workdir", str(work),
                               "--tasks", "g", "--cluster", address, "--no-progress"],
                              capture_output=True, text=True, timeout=120)
        took = time.monotonic() - started
    err = done.stderr.strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("agf experiment: error:") and address in err and "--cluster" in err
    assert not work.exists()  # refused before the dataset is generated
    assert took < 60, f"{took:.0f} s to give up on {address}"


def test_a_job_that_keeps_killing_its_workers_is_one_line():
    """Dask reruns a job whose worker died; once it gives up, the grid says so in one line, not a traceback."""
    # the grid's own local cluster (a bare LocalCluster would set Dask's allocator defaults in this process)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), open_client(workers=1) as client:
        future = client.submit(os._exit, 1, key="train-stn-g", pure=False)
        with pytest.raises(JobLost, match=r"^job train-stn-g ended the Dask worker that ran it.*rerun the same"):
            job_result(future)
