"""Artist group factors: MFCC / dMFCC / Essentia dictionaries, artist bags, LDA targets.

- ``mfcc``: frame MFCCs of the stored log-mel and their frame differences (tasks m, d)
- ``essentia_features`` / ``descriptors``: song-level Essentia descriptors (task e)
- ``kmeans``: the k-means dictionary (faiss; PyTorch on CUDA without faiss GPU)
- ``bags``: artist bags of words or genre labels (task s)
- ``groups``: LDA artist groups, saved without pickle
- ``build``: ``build_factors`` for the experiment runner; ``command``: ``agf factors``
- ``targets``: ``load_targets`` / ``TaskTargets``, what the training code reads
"""
