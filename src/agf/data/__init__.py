"""The prepared data of a work directory: the spectrogram store, the splits and ``agf prepare``."""

from agf.data.prepare import prepare
from agf.data.splits import assign_splits
from agf.data.store import MelStore, StoreWriter
from agf.data.tables import genre_classes, load_tracks, open_store

__all__ = ["MelStore", "StoreWriter", "assign_splits", "genre_classes", "load_tracks", "open_store", "prepare"]
