"""The paper's experiment grid: every task subset as STN and MTN (+ wSTN), presets, the Dask runner, reports."""

from agf.lazy import lazy_exports

_EXPORTS = {
    "Case": "agf.experiments.grid",
    "Network": "agf.experiments.grid",
    "plan_cases": "agf.experiments.grid",
    "PRESETS": "agf.experiments.presets",
    "Preset": "agf.experiments.presets",
    "run_experiment": "agf.experiments.runner",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
