"""Which trained networks an experiment transfers from, and running them on log-mel segments.

An experiment is an ordered list of :class:`NetworkRef` (a run folder and one of its tasks);
its segment feature is the concatenation of the referenced networks' 256-d dense-BN-ELU
outputs in that order (SPEC section 4).

Command-line syntax of a reference list, comma-separated items (see :func:`parse_networks`):

    stn:g          the single-task network of task g: the one run DIR/runs/stn-* that trained g
    stn:gm         the STNs of g and of m (same as ``stn:g,stn:m``)
    mtn:gm         the MTN trained on g and m (DIR/runs/mtn-gm): its g and m branches
    wstn:gsedm     the width-scaled genre network sized like 5 tasks (DIR/runs/wstn-gsedm)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from agf.errors import AgfError
from agf.workdir import MissingStep

if TYPE_CHECKING:
    from agf.training.runs import TrainedRun


def _training():
    """The training stage's run API, imported on use: the `agf` command line must keep working
    (every other sub-command) in a build that has no training code yet."""
    try:
        from agf.training import runs
    except ImportError as err:
        raise MissingStep(f"the training code (agf.training.runs) is not installed ({err})") from None
    return runs

ARCHS = ("stn", "mtn", "wstn")
RUN_FILES = ("settings.json", "weights.safetensors")


class NetworkSpecError(AgfError):
    """A network reference that names no trained run, or says it ambiguously."""


@dataclass(frozen=True)
class NetworkRef:
    """One trained network: the run folder that holds it and the task whose branch it is."""

    run_dir: Path
    task: str

    @property
    def name(self) -> str:
        """``<run-name>-<task>``: the feature cache folder's name."""
        return f"{Path(self.run_dir).name}-{self.task}"


def run_fingerprint(run_dir: Path) -> str:
    """A hash of the run's settings and weights: a retrained run gets another fingerprint."""
    digest = hashlib.sha256()
    for name in RUN_FILES:
        path = Path(run_dir) / name
        if not path.is_file():
            raise MissingStep(f"{run_dir}: no {name}; train this run first (`agf train`)")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _runs_training(workdir: Path, arch: str, task: str) -> list[Path]:
    """Finished runs of ``arch`` under DIR/runs whose task list includes ``task``."""
    runs_dir = Path(workdir) / "runs"
    found = []
    for run_dir in sorted(runs_dir.glob(f"{arch}-*")) if runs_dir.is_dir() else []:
        tasks = run_dir.name.removeprefix(f"{arch}-")
        if task in tasks and (run_dir / "weights.safetensors").is_file() and \
                _training().run_dir_for(workdir, arch, tuple(tasks)).name == run_dir.name:
            found.append(run_dir)
    return found


def _check_run(run_dir: Path, what: str, workdir: Path) -> Path:
    if not (run_dir / "weights.safetensors").is_file():
        raise MissingStep(f"{what}: no trained run at {run_dir}; run `agf train --workdir {workdir} "
                          f"--arch {run_dir.name.split('-')[0]} --tasks {run_dir.name.partition('-')[2]}` first")
    return run_dir


def parse_networks(text: str, workdir: Path | str) -> list[NetworkRef]:
    """References from ``ARCH:TASKS[,ARCH:TASKS...]`` (module docstring), in the order given."""
    workdir = Path(workdir)
    refs: list[NetworkRef] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        arch, sep, tasks = item.partition(":")
        arch = arch.lower()
        if not sep or arch not in ARCHS or not tasks:
            raise NetworkSpecError(f"--networks item {item!r}: expected ARCH:TASKS with ARCH one of "
                                   f"{', '.join(ARCHS)} and TASKS letters of g, s, e, d, m (e.g. stn:g or mtn:gm)")
        if arch == "mtn":
            run_dir = _check_run(_training().run_dir_for(workdir, "mtn", tuple(tasks)), item, workdir)
            refs.extend(NetworkRef(run_dir, task) for task in tasks)
        elif arch == "wstn":
            # a wSTN is a genre network; its task letters only say whose size it matches
            refs.append(NetworkRef(_check_run(_training().run_dir_for(workdir, "wstn", tuple(tasks)), item, workdir), "g"))
        else:
            for task in tasks:
                runs = _runs_training(workdir, "stn", task)
                if not runs:
                    raise MissingStep(f"--networks {item}: no STN run of task {task!r} under {workdir / 'runs'}; "
                                      f"run `agf train --workdir {workdir} --arch stn --tasks {task}` first")
                if len(runs) > 1:
                    names = ", ".join(r.name for r in runs)
                    raise NetworkSpecError(f"--networks {item}: task {task!r} was trained by several STN runs "
                                           f"({names}); name one with --runs RUN_DIR:{task}")
                refs.append(NetworkRef(runs[0], task))
    if not refs:
        raise NetworkSpecError("no networks given; e.g. --networks stn:g,stn:m")
    _check_unique(refs)
    return refs


def parse_runs(text: str, workdir: Path | str | None = None) -> list[NetworkRef]:
    """References from ``RUN_DIR[:TASKS][,...]``; without TASKS every task of the run is used.

    A relative RUN_DIR is looked up as given, then under DIR/runs.
    """
    refs: list[NetworkRef] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        path_text, _, tasks = item.rpartition(":") if ":" in item else (item, "", "")
        run_dir = Path(path_text)
        if not run_dir.is_dir() and workdir is not None and (Path(workdir) / "runs" / run_dir).is_dir():
            run_dir = Path(workdir) / "runs" / run_dir
        if not (run_dir / "weights.safetensors").is_file():
            raise MissingStep(f"--runs {item}: {run_dir} holds no trained run (weights.safetensors missing)")
        if not tasks:
            run = _training().load_run(run_dir)
            tasks = "g" if run.arch == "wstn" else "".join(run.tasks)
        refs.extend(NetworkRef(run_dir, task) for task in tasks)
    if not refs:
        raise NetworkSpecError("no runs given; e.g. --runs runs/stn-gsedm:g")
    _check_unique(refs)
    return refs


def _check_unique(refs: list[NetworkRef]) -> None:
    seen = set()
    for ref in refs:
        key = (Path(ref.run_dir).resolve(), ref.task)
        if key in seen:
            raise NetworkSpecError(f"network {ref.name} is listed twice")
        seen.add(key)


class Embedder(nn.Module):
    """dB segments ``(B, 128, 43)`` -> concatenated features ``(B, 256 * n_networks)``.

    Each network sees the segment standardised with its own run's per-mel-bin mean and std;
    networks of one run share the standardisation. Always in eval mode.
    """

    def __init__(self, runs: list[TrainedRun], refs: list[NetworkRef]):
        super().__init__()
        by_dir = {Path(run.run_dir).resolve(): i for i, run in enumerate(runs)}
        self.run_of = [by_dir[Path(ref.run_dir).resolve()] for ref in refs]
        self.extractors = nn.ModuleList(runs[self.run_of[k]].feature_extractor(ref.task) for k, ref in enumerate(refs))
        self.register_buffer("mean", torch.from_numpy(np.stack([np.asarray(r.mean, np.float32) for r in runs])))
        self.register_buffer("std", torch.from_numpy(np.stack([np.asarray(r.std, np.float32) for r in runs])))
        self.eval()

    def forward(self, segments_db: torch.Tensor) -> torch.Tensor:
        x = segments_db.float()
        standardised = {}
        outputs = []
        for k, extractor in enumerate(self.extractors):
            run = self.run_of[k]
            if run not in standardised:
                standardised[run] = ((x - self.mean[run][:, None]) / self.std[run][:, None]).unsqueeze(1)
            outputs.append(extractor(standardised[run]).float())
        return torch.cat(outputs, dim=1)


def load_runs(refs: list[NetworkRef], device: torch.device | str = "cpu") -> list[TrainedRun]:
    """Each distinct run of ``refs`` loaded once, in order of first mention."""
    runs: dict[Path, TrainedRun] = {}
    for ref in refs:
        key = Path(ref.run_dir).resolve()
        if key not in runs:
            runs[key] = _training().load_run(ref.run_dir, device=device)
        if ref.task not in runs[key].tasks:
            raise NetworkSpecError(f"{ref.run_dir} was trained on tasks {''.join(runs[key].tasks)}, not {ref.task!r}")
    return list(runs.values())
