"""Training STN, MTN and wSTN networks on random 1-s crops (resumable, provenance-checked)."""

from agf.training.runs import TrainedRun, load_run, run_dir_for, train
from agf.training.settings import TrainSettings, train_settings_for

__all__ = ["TrainSettings", "TrainedRun", "load_run", "run_dir_for", "train", "train_settings_for"]
