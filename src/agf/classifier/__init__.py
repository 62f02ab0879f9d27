"""The transfer stage: segment features of trained networks, the genre MLP, model bundles, scoring, prediction.

- ``networks``: which trained networks an experiment transfers from, and the embedder
- ``features``: every segment's features per network, cached
- ``mlp`` / ``fit``: the transfer MLP and :func:`transfer`, which trains it
- ``model`` / ``bundle``: a trained transfer model on disk, and self-contained bundles
- ``scoring``: :func:`evaluate`, a model's scores on a split of a work directory
- ``predict``: classifying audio files with a bundle, streamed
"""

from agf.classifier.bundle import load_bundle, write_bundle
from agf.classifier.fit import transfer
from agf.classifier.mlp import MLPSettings
from agf.classifier.networks import NetworkRef, parse_networks, parse_runs
from agf.classifier.predict import Prediction, Predictor, PredictSettings, predict
from agf.classifier.scoring import Evaluation, evaluate

__all__ = ["Evaluation", "MLPSettings", "NetworkRef", "PredictSettings", "Prediction", "Predictor", "evaluate", "load_bundle",
           "parse_networks", "parse_runs", "predict", "transfer", "write_bundle"]
