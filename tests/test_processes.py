"""A command killed with SIGKILL takes its worker processes with it: no pool worker, forkserver or
resource tracker of `agf prepare` (synthesis and decoding pools) or `agf factors` (Essentia pool)
is left running, reparented to init, once the command is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psutil
import pytest

from agf.cli import main
from agf.data.prepare import prepare
from agf.datasets.synthetic import SyntheticSettings, generate_dataset
from agf.workdir import Workdir

READY_S = 60  # longest wait for the workers to be busy
GONE_S = 10  # how long the workers may take to follow the command


def _session(sid: int) -> list[psutil.Process]:
    """The live processes of session ``sid`` (zombies are dead: only their exit status is left to collect)."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) == sid and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def _describe(processes: list[psutil.Process]) -> str:
    lines = []
    for process in processes:
        try:
            lines.append(f"{process.pid} (parent {process.ppid()}): {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return "\n".join(lines)


def _kill_when_busy(argv: list[str], log: Path, busy: Callable[[], bool], n_processes: int) -> None:
    """Run ``agf ARGV`` in a session of its own; once ``busy()`` holds and the session has ``n_processes``
    processes (the command, its helpers, its workers), SIGKILL the command alone, as the kernel's OOM
    killer or a user's kill -9 would, and assert that every other process of the session ends too."""
    with open(log, "wb") as out:
        command = subprocess.Popen([sys.executable, "-m", "agf", *argv, "--no-progress"], stdout=out, stderr=out,
                                   start_new_session=True)
    sid = command.pid
    try:
        deadline = time.monotonic() + READY_S
        while not (busy() and len(_session(sid)) >= n_processes):
            assert command.poll() is None, f"agf {argv[0]} ended before it was killed:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no busy workers after {READY_S} s:\n{_describe(_session(sid))}"
            time.sleep(0.1)
        before = _describe(_session(sid))
        command.kill()
        command.wait()
        deadline = time.monotonic() + GONE_S
        while _session(sid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _session(sid)
        assert not left, (f"{GONE_S} s after the kill of agf {argv[0]} these still run:\n{_describe(left)}\n"
                          f"(before the kill:\n{before})")
    finally:
        command.kill()
        for process in _session(sid):
            process.kill()


def _has_file(folder: Path, pattern: str) -> Callable[[], bool]:
    """Whether ``folder`` holds a non-empty file matching ``pattern`` (a temporary file may vanish as we look)."""
    def found() -> bool:
        for path in folder.glob(pattern):
            try:
                if path.stat().st_size:
                    return True
            except FileNotFoundError:
                continue
        return False

    return found


def test_killed_prepare_ends_its_synthesis_workers(tmp_path):
    """synthetic:N generates its audio in a forkserver pool: the command, the resource tracker, the
    forkserver and two workers; killed after the first track is written."""
    work = tmp_path / "w"
    _kill_when_busy(["prepare", "synthetic:200", "--workdir", str(work), "--jobs", "2"], tmp_path / "log",
                    _has_file(Workdir(work).source_dir / "audio", "*.flac"), n_processes=5)


@pytest.fixture(scope="module")
def synthetic_tracks(tmp_path_factory) -> Path:
    """6 synthetic 8-s tracks (one per genre)."""
    folder = tmp_path_factory.mktemp("synthetic")
    return generate_dataset(SyntheticSettings(n_tracks=6), folder, jobs=1, progress=False)


def test_killed_prepare_ends_its_decoding_workers(synthetic_tracks, link_manifest, tmp_path):
    """A manifest of 150 tracks (links to the 6 synthetic files, 25 each) decoded in the forkserver pool of
    `agf prepare`; killed once the store holds its first spectrogram."""
    rows, audio = [], {}
    for copy in range(25):
        for _, track in pd.read_csv(synthetic_tracks).iterrows():
            rel = f"audio/{track['track_id']}-{copy}.flac"
            audio[rel] = synthetic_tracks.parent / track["path"]
            rows.append({"path": rel, "genre": track["genre"], "artist": track["artist"],
                         "track_id": f"{track['track_id']}-{copy}"})
    manifest = link_manifest(tmp_path / "source", rows, audio)
    work = tmp_path / "w"
    # --split random: the 6 files' genres have one artist each, which an artist split refuses
    _kill_when_busy(["prepare", str(manifest), "--workdir", str(work), "--jobs", "2", "--split", "random"],
                    tmp_path / "log",
                    _has_file(Workdir(work).store_dir, "mel.*"), n_processes=5)


def test_killed_factors_ends_its_essentia_workers(tmp_path):
    """`agf factors --tasks e` extracts descriptors in a spawn pool: the command, the resource tracker
    and two workers; killed once the first track's descriptors are cached."""
    pytest.importorskip("essentia.standard", reason="the e task needs Essentia")
    work = tmp_path / "w"
    prepare("synthetic:24", work, jobs=1, progress=False)
    _kill_when_busy(["factors", "--tasks", "e", "--workdir", str(work), "--jobs", "2"], tmp_path / "log",
                    _has_file(Workdir(work).essentia_cache_dir, "**/*.*"), n_processes=4)


@pytest.mark.parametrize("value", ["0", "-2", "all"])
@pytest.mark.parametrize(("command", "option"), [
    (["prepare", "synthetic:24"], "--jobs"),
    (["factors"], "--jobs"),
    (["experiment", "synthetic:24"], "--workers"),
    (["demo"], "--workers"),
])
def test_a_process_count_below_one_is_one_line_before_any_work(tmp_path, capsys, command, option, value):
    """0 or a negative count would run the work in the command's own process, as if --jobs 1 had been asked."""
    work = tmp_path / "w"
    assert main([*command, option, value, "--workdir", str(work), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err == f"agf {command[0]}: error: {option} must be a whole number >= 1 (processes to run), got {value}"
    assert not work.exists()
