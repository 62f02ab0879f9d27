"""Artist group factors: MFCC / dMFCC / Essentia dictionaries, artist bags, LDA targets.

- ``mfcc``: frame MFCCs of the stored log-mel and their frame differences (tasks m, d)
- ``essentia_features`` / ``descriptors``: song-level Essentia descriptors (task e)
- ``kmeans``: the k-means dictionary (faiss; PyTorch on CUDA without faiss GPU)
- ``bags``: artist bags of words or genre labels (task s)
- ``groups``: LDA artist groups, saved without pickle
- ``build``: :func:`build_factors`, what ``agf factors`` and the experiment run
- ``targets``: :func:`load_targets` / :class:`TaskTargets`, what the training code reads
"""

from agf.lazy import lazy_exports

_EXPORTS = {
    "build_factors": "agf.factors.build",
    "FactorSettings": "agf.factors.settings",
    "TaskTargets": "agf.factors.targets",
    "load_targets": "agf.factors.targets",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
