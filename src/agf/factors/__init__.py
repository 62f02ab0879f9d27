"""Artist group factors: MFCC / dMFCC / Essentia dictionaries, artist bags, LDA targets.

- ``mfcc``: frame MFCCs of the stored log-mel and their frame differences (tasks m, d)
- ``essentia_features`` / ``descriptors``: song-level Essentia descriptors (task e)
- ``kmeans``: the k-means dictionary (faiss; PyTorch on CUDA without faiss GPU)
- ``bags``: artist bags of words or genre labels (task s)
- ``groups``: LDA artist groups, saved without pickle
- ``build``: :func:`build_factors`, what ``agf factors`` and the experiment run
- ``targets``: :func:`load_targets` / :class:`TaskTargets`, what the training code reads
"""

from agf.factors.build import build_factors
from agf.factors.settings import FactorSettings
from agf.factors.targets import TaskTargets, load_targets

__all__ = ["FactorSettings", "TaskTargets", "build_factors", "load_targets"]
