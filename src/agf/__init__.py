"""agf: music-genre classification with transfer learning from artist group factors.

Kim, Won, Serra & Liem, "Transfer Learning of Artist Group Factors to Musical Genre
Classification", WWW 2018 Companion.

The pipeline, one function a stage (each imported on first use, so ``import agf`` stays light)::

    agf.prepare(source, workdir)                 decode a dataset into the spectrogram store
    agf.build_factors(workdir, tasks="sedm")     the artist-group-factor targets
    agf.train(workdir, arch="stn", tasks="gm")   train networks
    agf.transfer(workdir, refs)                  train the genre MLP on their features
    agf.evaluate(workdir, model)                 score a model on a split
    agf.run_experiment(source, workdir)          the paper's grid, end to end
    agf.predict(bundle, paths)                   classify audio files with a bundle
"""

from agf.lazy import lazy_exports

__version__ = "0.1.0"

_API = {
    "prepare": "agf.data.prepare",
    "build_factors": "agf.factors.build",
    "train": "agf.training.runs",
    "transfer": "agf.classifier.fit",
    "evaluate": "agf.classifier.scoring",
    "run_experiment": "agf.experiments.runner",
    "predict": "agf.classifier.predict",
}

__all__ = ["__version__", *_API]
__getattr__, __dir__ = lazy_exports(__name__, _API)
