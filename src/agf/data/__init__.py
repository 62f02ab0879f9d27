"""Datasets, splits and the on-disk spectrogram store."""

from agf.data.sources import load_source
from agf.data.splits import assign_splits
from agf.data.store import MelStore, StoreWriter
from agf.data.tracks import Dataset, DatasetError, Problem, Track

__all__ = ["Dataset", "DatasetError", "MelStore", "Problem", "StoreWriter", "Track", "assign_splits", "load_source"]
