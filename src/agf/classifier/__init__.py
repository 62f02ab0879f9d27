"""The transfer stage: segment features of trained networks, the genre MLP, model bundles, scoring, prediction.

- ``networks``: which trained networks an experiment transfers from, and the embedder
- ``features``: every segment's features per network, cached
- ``mlp`` / ``fit``: the transfer MLP and :func:`transfer`, which trains it
- ``model`` / ``bundle``: a trained transfer model on disk, and self-contained bundles
- ``scoring``: :func:`evaluate`, a model's scores on a split of a work directory
- ``predict``: classifying audio files with a bundle, streamed
"""

from agf.lazy import lazy_exports

_EXPORTS = {
    "load_bundle": "agf.classifier.bundle",
    "write_bundle": "agf.classifier.bundle",
    "transfer": "agf.classifier.fit",
    "MLPSettings": "agf.classifier.settings",
    "PredictSettings": "agf.classifier.settings",
    "NetworkRef": "agf.classifier.networks",
    "parse_networks": "agf.classifier.networks",
    "parse_runs": "agf.classifier.networks",
    "Prediction": "agf.classifier.predict",
    "Predictor": "agf.classifier.predict",
    "Evaluation": "agf.classifier.scoring",
    "evaluate": "agf.classifier.scoring",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
