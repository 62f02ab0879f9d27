"""Training STN, MTN and wSTN networks on random 1-s crops (resumable, provenance-checked)."""

from agf.lazy import lazy_exports

_EXPORTS = {
    "TrainedRun": "agf.training.runs",
    "load_run": "agf.training.runs",
    "run_dir_for": "agf.training.runs",
    "train": "agf.training.runs",
    "TrainSettings": "agf.training.settings",
    "train_settings_for": "agf.training.settings",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
