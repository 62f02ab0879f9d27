"""The paper's experiment grid: every task subset as STN and MTN (+ wSTN), presets, the Dask runner, reports."""

from agf.experiments.grid import Case, Network, plan_cases
from agf.experiments.presets import PRESETS, Preset
from agf.experiments.runner import run_experiment

__all__ = ["PRESETS", "Case", "Network", "Preset", "plan_cases", "run_experiment"]
