"""Where the time goes: wall and CPU seconds per stage of a run, summed over its calls.

A :class:`StageClock` is handed down to the code that does the work; each stage wraps its work
in ``with clock.stage("name"):``. CPU time counts this process and the child processes it waited
for (decoding and Essentia workers), so a stage run on 2 worker processes shows about twice its
wall time in CPU time. On CUDA, stages that queue GPU work end with a synchronisation, so their
wall time includes the GPU's.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def _cpu_seconds(children: bool = True) -> float:
    usage = [resource.getrusage(resource.RUSAGE_SELF)]
    if children:
        usage.append(resource.getrusage(resource.RUSAGE_CHILDREN))
    return sum(u.ru_utime + u.ru_stime for u in usage)


@dataclass
class StageClock:
    """Accumulated ``{stage: [wall seconds, cpu seconds, calls]}``, in the order stages first ran."""

    stages: dict[str, list[float]] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, sync=None, children: bool = True) -> Iterator[None]:
        """Time the block as ``name``; ``sync`` (e.g. ``torch.cuda.synchronize``) is called before the clock stops.

        ``children=False`` leaves out the CPU time of child processes reaped in the block: stopping
        a cluster reaps workers whose jobs already reported their own time.
        """
        wall, cpu = time.perf_counter(), _cpu_seconds(children)
        try:
            yield
        finally:
            if sync is not None:
                sync()
            total = self.stages.setdefault(name, [0.0, 0.0, 0])
            total[0] += time.perf_counter() - wall
            total[1] += _cpu_seconds(children) - cpu
            total[2] += 1

    def add(self, name: str, wall: float, cpu: float, calls: int = 1) -> None:
        total = self.stages.setdefault(name, [0.0, 0.0, 0])
        total[0] += wall
        total[1] += cpu
        total[2] += calls

    def merge(self, other: StageClock | dict[str, list[float]]) -> None:
        """Add another clock's stages (a job's, sent back from a worker as a plain dict)."""
        for name, (wall, cpu, calls) in (other.stages if isinstance(other, StageClock) else other).items():
            self.add(name, wall, cpu, int(calls))

    def rows(self) -> list[dict]:
        return [{"stage": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "calls": int(calls)}
                for name, (wall, cpu, calls) in self.stages.items()]
