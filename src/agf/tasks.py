"""The method's vocabulary: the learning tasks, the architectures, and how a setup is named.

Tasks (SPEC Table 1), in the paper's order: ``g`` genre, and the artist-group-factor (AG)
tasks ``s`` sub-genres, ``e`` Essentia descriptors, ``d`` MFCC deltas, ``m`` MFCCs.
Architectures: ``stn`` one network per task, ``mtn`` one shared first block with a branch per
task, ``wstn`` one genre network widened to the size of a k-task setup. A setup whose track
distributions are pooled with the classical baseline's is named with ``+b`` (``stn-g+b``).
"""

from __future__ import annotations

from collections.abc import Iterable

from agf.errors import AgfError

GENRE_TASK = "g"
AG_TASKS = ("s", "e", "d", "m")
TASKS = (GENRE_TASK, *AG_TASKS)
ARCHS = ("stn", "mtn", "wstn")
PLUS_B = "+b"  # a case (and its model) pooled with the classical baseline

_TASK_HELP = "the tasks are g (genre) and s, e, d, m (artist-group factors), written e.g. gm or g,m"


class TaskError(AgfError):
    """A task list or architecture that names no known task or architecture."""


def parse_tasks(tasks: str | Iterable[str], *, allowed: Iterable[str] = TASKS) -> tuple[str, ...]:
    """Tasks in the paper's order, each once, from ``'gm'``, ``'g,m'``, ``'g, m'`` or ``('g', 'm')``.

    Raises:
        TaskError: a name that is not a task (or not one of ``allowed``), or no task at all.
    """
    allowed = tuple(allowed)
    items = [tasks] if isinstance(tasks, str) else list(tasks)
    letters = [c for item in items for c in str(item) if c not in ", "]
    unknown = sorted(set(letters) - set(TASKS))
    if unknown:
        raise TaskError(f"unknown task(s) {', '.join(map(repr, unknown))}; {_TASK_HELP}")
    refused = sorted(set(letters) - set(allowed), key=TASKS.index)
    if refused:
        raise TaskError(f"task(s) {', '.join(map(repr, refused))} not allowed here; choose from "
                        f"{', '.join(allowed)}")
    if not letters:
        raise TaskError(f"no task given; {_TASK_HELP}")
    return tuple(t for t in TASKS if t in letters)


def check_arch(arch: str) -> str:
    if arch not in ARCHS:
        raise TaskError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return arch


def setup_name(arch: str, tasks: Iterable[str]) -> str:
    """``<arch>-<tasks>``, e.g. ``stn-g``, ``mtn-gm``: the name of a trained run and of a grid case."""
    return f"{check_arch(arch)}-{''.join(parse_tasks(tasks))}"
