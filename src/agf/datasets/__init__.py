"""Dataset readers, one module per dataset (as mirdata does): FMA, a manifest CSV, the built-in synthetic music."""

from agf.lazy import lazy_exports

_EXPORTS = {
    "load_source": "agf.datasets.sources",
    "Dataset": "agf.datasets.tracks",
    "DatasetError": "agf.datasets.tracks",
    "Problem": "agf.datasets.tracks",
    "Track": "agf.datasets.tracks",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
