"""The paper's experiment grid: which networks each case needs, and in what order.

A *case* is a set of learning tasks and an architecture. For 5 tasks (g, s, e, d, m) there are
31 non-empty subsets, each as STN and MTN: 62 cases, where a single-task MTN is the STN. An STN
network depends only on its task, so the STN cases share 5 trained networks; each MTN case of
k >= 2 tasks is its own network; wSTN N is a genre-only network as large as the N-task setup.
A ``+b`` case is a case whose track distributions are pooled with the classical baseline's
(:mod:`agf.evaluation.pooling`), with the baseline's weight fitted on the validation tracks
(0 keeps the networks' case, 1 is the baseline); the grid adds them for g alone and for all its
tasks, so that the case it chooses can do what the baseline does, and more.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from agf.tasks import GENRE_TASK, PLUS_B, parse_tasks, setup_name

if TYPE_CHECKING:  # the command line imports this module to build its help: pandas only when called
    import pandas as pd

GRID_ARCHS = ("stn", "mtn")  # the grid's two architectures; wSTN cases come with --wstn


@dataclass(frozen=True)
class Network:
    """One trained model the grid needs: an architecture over an ordered task tuple."""

    arch: str  # 'stn' | 'mtn' | 'wstn'
    tasks: tuple[str, ...]

    @property
    def name(self) -> str:
        return setup_name(self.arch, self.tasks)


@dataclass(frozen=True)
class Case:
    """One row of results: the MLP over the features of ``tasks``' networks of ``arch`` (with ``plus_b``,
    pooled with the classical baseline)."""

    arch: str  # 'stn' | 'mtn' | 'wstn'
    tasks: tuple[str, ...]
    plus_b: bool = False

    @property
    def name(self) -> str:
        """``stn-gm``, ``stn-g+b``: its transfer model's folder and its row's ``arch-tasks``."""
        return f"{self.arch}-{self.label}"

    @property
    def label(self) -> str:
        """The ``tasks`` of its row in results.csv: ``gm``, ``g+b``."""
        return "".join(parse_tasks(self.tasks)) + (PLUS_B if self.plus_b else "")

    @classmethod
    def of_row(cls, arch: str, label: str) -> Case:
        """The case of a results row (its ``arch`` and ``tasks``)."""
        return cls(arch, parse_tasks(label.removesuffix(PLUS_B)), label.endswith(PLUS_B))

    @property
    def networks_only(self) -> Case:
        """The case without the baseline: the one whose model a +b case pools."""
        return Case(self.arch, self.tasks)

    def feature_sources(self) -> list[tuple[Network, str]]:
        """(network, task) pairs whose 256-d features are concatenated, in task order.

        A single-task MTN is the STN of that task.
        """
        if self.arch == "stn" or (self.arch == "mtn" and len(self.tasks) == 1):
            return [(Network("stn", (t,)), t) for t in self.tasks]
        if self.arch == "mtn":
            net = Network("mtn", self.tasks)
            return [(net, t) for t in self.tasks]
        return [(Network("wstn", self.tasks), GENRE_TASK)]


def task_subsets(tasks: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty subset of ``tasks`` (in the paper's order), by size (Table 4's row order)."""
    return [combo for k in range(1, len(tasks) + 1) for combo in combinations(tasks, k)]


def plan_cases(tasks: tuple[str, ...], archs: tuple[str, ...] = ("stn", "mtn"), wstn: bool = False,
               plus_b: bool = False) -> list[Case]:
    """All cases of the grid. Single-task MTN cases are left out: they are the STN cases.

    wSTN cases (N = 2 .. len(tasks)) match the parameter count of the N-task setup made of the
    first N tasks in paper order (g first), the reference the paper compares them with. With
    ``plus_b``, the ``+b`` cases of g alone and of all the tasks (each architecture) follow.
    """
    cases = []
    for subset in task_subsets(tasks):
        for arch in archs:
            if arch == "mtn" and len(subset) == 1 and "stn" in archs:
                continue
            cases.append(Case(arch, subset))
    if wstn:
        cases += [Case("wstn", tasks[:n]) for n in range(2, len(tasks) + 1)]
    if plus_b:
        ends = [(GENRE_TASK,)] if GENRE_TASK in tasks else []
        ends += [tuple(tasks)] if tuple(tasks) not in ends else []
        pooled = [Case(case.arch, case.tasks, True) for case in cases if case.tasks in ends and case.arch != "wstn"]
        cases += list(dict.fromkeys(pooled))
    return cases


def paper_cases(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of the paper's cases: networks' features only, no baseline and no ``+b`` case (the paper's
    tables and questions are about what the networks learn)."""
    return results[(results["arch"] != "baseline") & ~results["tasks"].str.endswith(PLUS_B)]


def networks_of(cases: list[Case]) -> list[Network]:
    """The distinct networks the cases need, each once, STNs first (they are shared most)."""
    seen: dict[Network, None] = {}
    for case in cases:
        for net, _ in case.feature_sources():
            seen.setdefault(net, None)
    return sorted(seen, key=lambda n: (n.arch != "stn", len(n.tasks), n.name))
