"""StageClock: wall and CPU seconds per stage, child processes counted or left out."""

import subprocess
import sys

from agf.timing import StageClock

BURN = [sys.executable, "-c", "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"]


def test_a_stage_counts_the_cpu_of_the_children_it_waited_for():
    clock = StageClock()
    with clock.stage("decode"):
        subprocess.run(BURN, check=True)
    wall, cpu, calls = clock.stages["decode"]
    assert calls == 1 and cpu >= 0.45 and wall >= 0.45


def test_children_false_leaves_out_reaped_children():
    clock = StageClock()
    with clock.stage("cluster stop", children=False):
        subprocess.run(BURN, check=True)
    assert clock.stages["cluster stop"][1] < 0.3  # this process only: starting a child, waiting


def test_merge_adds_a_job_clock_sent_back_as_a_dict():
    clock = StageClock()
    clock.add("training steps", 2.0, 3.0)
    clock.merge({"training steps": [1.0, 1.5, 4], "scoring": [0.5, 0.5, 1]})
    assert clock.rows() == [{"stage": "training steps", "wall_s": 3.0, "cpu_s": 4.5, "calls": 5},
                            {"stage": "scoring", "wall_s": 0.5, "cpu_s": 0.5, "calls": 1}]
