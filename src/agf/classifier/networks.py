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

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from agf.errors import AgfError, MissingStep
from agf.models.folding import fold_batch_norms
from agf.models.input import Standardiser
from agf.provenance import file_digest
from agf.tasks import ARCHS, GENRE_TASK, TaskError, parse_tasks
from agf.training.runs import SETTINGS, WEIGHTS, TrainedRun, load_run, run_dir_for
from agf.workdir import Workdir

RUN_FILES = (SETTINGS, WEIGHTS)


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
    """A digest of the run's settings and weights: a retrained run gets another fingerprint."""
    paths = [Path(run_dir) / name for name in RUN_FILES]
    for path in paths:
        if not path.is_file():
            raise MissingStep(f"{run_dir}: no {path.name}; train this run first (`agf train`)")
    return file_digest(*paths)


def _runs_training(workdir: Path, arch: str, task: str) -> list[Path]:
    """Finished runs of ``arch`` under DIR/runs whose task list includes ``task``."""
    runs_dir = Workdir(workdir).runs_dir
    found = []
    for run_dir in sorted(runs_dir.glob(f"{arch}-*")) if runs_dir.is_dir() else []:
        tasks = run_dir.name.removeprefix(f"{arch}-")
        try:
            standard = run_dir_for(workdir, arch, tasks).name == run_dir.name
        except TaskError:  # a folder named otherwise (agf train --run-name)
            continue
        if task in tasks and standard and (run_dir / WEIGHTS).is_file():
            found.append(run_dir)
    return found


def _check_run(run_dir: Path, what: str, workdir: Path) -> Path:
    if not (run_dir / WEIGHTS).is_file():
        raise MissingStep(f"{what}: no trained run at {run_dir}; run `agf train --workdir {workdir} "
                          f"--arch {run_dir.name.split('-')[0]} --tasks {run_dir.name.partition('-')[2]}` first")
    return run_dir


def parse_networks(text: str, workdir: Path | str) -> list[NetworkRef]:
    """References from ``ARCH:TASKS[,ARCH:TASKS...]`` (module docstring), in the order given."""
    workdir = Path(workdir)
    refs: list[NetworkRef] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        arch, sep, letters = item.partition(":")
        arch = arch.lower()
        if not sep or arch not in ARCHS or not letters:
            raise NetworkSpecError(f"--networks item {item!r}: expected ARCH:TASKS with ARCH one of "
                                   f"{', '.join(ARCHS)} and TASKS letters of g, s, e, d, m (e.g. stn:g or mtn:gm)")
        tasks = parse_tasks(letters)
        if arch == "mtn":
            run_dir = _check_run(run_dir_for(workdir, "mtn", tasks), item, workdir)
            refs.extend(NetworkRef(run_dir, task) for task in tasks)
        elif arch == "wstn":
            # a wSTN is a genre network; its task letters only say whose size it matches
            refs.append(NetworkRef(_check_run(run_dir_for(workdir, "wstn", tasks), item, workdir), GENRE_TASK))
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
        if not run_dir.is_dir() and workdir is not None and Workdir(workdir).run_dir(path_text).is_dir():
            run_dir = Workdir(workdir).run_dir(path_text)
        if not (run_dir / WEIGHTS).is_file():
            raise MissingStep(f"--runs {item}: {run_dir} holds no trained run ({WEIGHTS} missing)")
        if not tasks:
            run = load_run(run_dir)
            tasks = GENRE_TASK if run.arch == "wstn" else "".join(run.tasks)
        refs.extend(NetworkRef(run_dir, task) for task in parse_tasks(tasks))
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
    """dB segments ``(B, frames, n_mels)`` (frames first, as stored) -> features ``(B, 256 * n_networks)``.

    Each network sees the segment standardised as its own run was trained (level, per-mel-bin
    mean and std); networks of one run share the standardisation. Always in eval mode, with each
    conv's batch norm folded into it (:func:`~agf.models.folding.fold_batch_norms`: the runs'
    networks are the embedder's own and never train again), and channels-last (kept by
    ``.to(device)``): on CUDA for the tensor cores, and on CPU too, where oneDNN's convolutions
    and PyTorch's max-pool are faster in it (``bench/bench_predict.py``: 1.8x the networks'
    throughput of NCHW with ``nn.MaxPool2d``). Features differ from those of the unfolded NCHW
    networks by float rounding only.
    """

    def __init__(self, runs: list[TrainedRun], refs: list[NetworkRef]):
        super().__init__()
        by_dir = {Path(run.run_dir).resolve(): i for i, run in enumerate(runs)}
        self.run_of = [by_dir[Path(ref.run_dir).resolve()] for ref in refs]
        self.networks = nn.ModuleList(runs[self.run_of[k]].network(ref.task) for k, ref in enumerate(refs))
        self.inputs = nn.ModuleList(Standardiser(run.mean, run.std, run.level) for run in runs)
        fold_batch_norms(self)
        self.to(memory_format=torch.channels_last)

    def forward(self, segments_db: torch.Tensor) -> torch.Tensor:
        inputs: dict[int, torch.Tensor] = {}
        stems: dict[int, torch.Tensor] = {}  # by stem module: an MTN's task networks share theirs
        outputs = []
        for network, run in zip(self.networks, self.run_of):
            if run not in inputs:
                inputs[run] = self.inputs[run](segments_db)
            if id(network.stem) not in stems:
                stems[id(network.stem)] = network.stem(inputs[run])
            outputs.append(network.trunk(stems[id(network.stem)]).float())
        return torch.cat(outputs, dim=1)


def load_runs(refs: list[NetworkRef], device: torch.device | str = "cpu") -> list[TrainedRun]:
    """Each distinct run of ``refs`` loaded once, in order of first mention."""
    runs: dict[Path, TrainedRun] = {}
    for ref in refs:
        key = Path(ref.run_dir).resolve()
        if key not in runs:
            runs[key] = load_run(ref.run_dir, device=device)
        if ref.task not in runs[key].tasks:
            raise NetworkSpecError(f"{ref.run_dir} was trained on tasks {''.join(runs[key].tasks)}, not {ref.task!r}")
    return list(runs.values())
