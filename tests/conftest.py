"""Shared fixtures: the real data in ../shared/data (skipped with a reason where it is absent),
synthesised clips that need no data, manifests of real files, stand-in artist-group targets,
one-epoch training runs and CLI commands killed with SIGKILL at a chosen point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agf.data.prepare import prepare
from agf.data.tables import load_tracks
from agf.datasets.synthetic import SyntheticSettings, synthesize_track
from agf.errors import AgfError
from agf.factors.targets import TaskTargets
from agf.training.runs import train
from agf.training.settings import train_settings_for
from agf.workdir import Workdir

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"real test data not found at {DATA} (the ../shared folder beside the repository)")
    return DATA


@pytest.fixture(scope="session")
def synthetic_clip() -> Callable[..., np.ndarray]:
    """``synthetic_clip(index, seconds=2.0, sample_rate=22050)``: track ``index`` of a 6-track synthetic
    dataset (0 ambient drone, 1 punk rock, 2 folk, 3 cool jazz, 4 boom-bap hip-hop, 5 house), mono
    float32 peaking at -1 dBFS. Synthesised music (drums, bass, chords, melody, reverb), the same on
    every run, so the maths checks against librosa and scikit-learn run on a clone without ../shared."""

    def clip(index: int, seconds: float = 2.0, sample_rate: int = 22050) -> np.ndarray:
        settings = SyntheticSettings(n_tracks=6, duration_s=seconds, sample_rate=sample_rate)
        return synthesize_track(settings, index)[0]

    return clip


def _link_manifest(folder: Path, rows: list[dict], audio: dict[str, Path]) -> Path:
    for rel, target in audio.items():
        link = folder / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    csv_path = folder / "tracks.csv"
    pd.DataFrame(rows).to_csv(csv_path, index=False)
    return csv_path


@pytest.fixture(scope="session")
def link_manifest() -> Callable[[Path, list[dict], dict[str, Path]], Path]:
    """``link_manifest(folder, rows, audio)``: a manifest CSV in ``folder`` whose tracks are symlinks
    to real files; ``audio`` maps a path relative to ``folder`` to the file it points at."""
    return _link_manifest


def _artist_targets(workdir, task: str) -> TaskTargets:
    if task not in "sedm":
        raise AgfError(f"unknown task {task}")
    tracks = load_tracks(Workdir(workdir))
    rng = np.random.default_rng(len(task))
    by_artist = {a: rng.dirichlet(np.full(40, 0.3)).astype(np.float32) for a in sorted(tracks["artist"].unique())}
    return TaskTargets(task, tuple(tracks["track_id"]), np.stack([by_artist[a] for a in tracks["artist"]]),
                       (tracks["split"] == "valid").to_numpy())


@pytest.fixture(scope="session")
def fake_targets() -> Callable[[Path, str], TaskTargets]:
    """A targets loader giving each artist random soft 40-group targets, validation tracks held out
    (as `agf factors` writes them), so tests need no factors run (minutes of Essentia and LDA)."""
    return _artist_targets


@pytest.fixture(scope="session")
def make_run() -> Callable[..., Path]:
    """``make_run(workdir, tasks, arch="stn", seed=0)``: the run after one epoch of real training on the CPU."""

    def make(workdir: Path, tasks: str, arch: str = "stn", *, seed: int = 0) -> Path:
        settings = train_settings_for(arch, tasks, epochs=1, seed=seed, batch_size=16)
        return train(workdir, tasks=tasks, arch=arch, settings=settings, device="cpu", progress=False,
                     targets_loader=_artist_targets)

    return make


@pytest.fixture(scope="session")
def small_workdir(shared_data, link_manifest, make_run, tmp_path_factory):
    """15 real gtzan3 clips (5 per genre, several artists) prepared with an artist split."""
    root = tmp_path_factory.mktemp("xfer")
    table = pd.read_csv(shared_data / "gtzan3/tracks.csv")
    table = table[table["artist"].notna() & ~table["path"].str.contains("jazz.00054")]
    picked = pd.concat([g.groupby("artist").head(2).head(5) for _, g in table.groupby("genre")])
    rows, audio = [], {}
    for _, r in picked.iterrows():
        rel = f"audio/{r['track_id']}.mp3"
        audio[rel] = shared_data / "gtzan3" / r["path"]
        rows.append({"path": rel, "genre": r["genre"], "artist": r["artist"], "track_id": r["track_id"]})
    csv = link_manifest(root / "src", rows, audio)
    workdir = root / "work"
    prepare(str(csv), workdir, jobs=1, progress=False, valid_fraction=0.3)
    run = make_run(workdir, "gm", "stn")
    return workdir, run


@pytest.fixture(scope="session")
def bundle(small_workdir, tmp_path_factory) -> Path:
    """A real bundle of ``small_workdir``'s STN g and m (2 MLP epochs); tests tamper with copies of it only."""
    from agf.classifier.bundle import write_bundle
    from agf.classifier.fit import transfer
    from agf.classifier.networks import NetworkRef
    from agf.classifier.settings import MLPSettings
    from agf.data.tables import open_store

    workdir, run = small_workdir
    model = transfer(workdir, [NetworkRef(run, "g"), NetworkRef(run, "m")], name="predict-test",
                     settings=MLPSettings(epochs=2), progress=False)
    path = tmp_path_factory.mktemp("bundle") / "model.agf"
    write_bundle(model, path, front_end=open_store(Workdir(workdir)).settings)
    return path


# what the child runs after the patch: the command line, as `agf` would
_CLI_MAIN = """

import sys

from agf.cli import main

sys.exit(main(sys.argv[1:]))
"""


def _run_killed_cli(patch: str, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> None:
    """Run ``agf ARGV`` in a child Python that first executes ``patch``, and assert the child died of SIGKILL.

    ``patch`` is Python source that wraps an agf function so that the child kills itself with
    SIGKILL at an exact point. The child has a session of its own, so ``os.killpg(0, SIGKILL)``
    in the patch takes the processes it started (a Dask cluster) with it, and nothing else.
    """
    script = textwrap.dedent(patch) + _CLI_MAIN
    # stderr to a file, not a pipe: a pipe held open by a grandchild that outlived the kill would hang the read
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.run([sys.executable, "-c", script, *argv], check=False, stdout=subprocess.DEVNULL,
                               stderr=stderr, env={**os.environ, **(env or {})}, start_new_session=True,
                               timeout=timeout)
        stderr.seek(0)
        said = stderr.read().decode(errors="replace")[-3000:]
    assert child.returncode == -signal.SIGKILL, f"agf {argv[0]} exited {child.returncode} before the kill:\n{said}"


@pytest.fixture(scope="session")
def run_killed_cli() -> Callable[..., None]:
    """``run_killed_cli(patch, argv, env=None, timeout=600)``: ``agf ARGV`` run in a child process that
    ``patch`` (Python source) makes SIGKILL itself at a chosen point; fails unless it died of that kill."""
    return _run_killed_cli
