"""The prepared data of a work directory: the spectrogram store, the splits and ``agf prepare``."""

from agf.lazy import lazy_exports

_EXPORTS = {
    "DatasetSettings": "agf.data.settings",
    "assign_splits": "agf.data.splits",
    "MelStore": "agf.data.store",
    "StoreWriter": "agf.data.store",
    "genre_classes": "agf.data.tables",
    "load_tracks": "agf.data.tables",
    "open_store": "agf.data.tables",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
