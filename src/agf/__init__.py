"""agf: music-genre classification with transfer learning from artist group factors.

Kim, Won, Serra & Liem, "Transfer Learning of Artist Group Factors to Musical Genre
Classification", WWW 2018 Companion.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``agf.predict(bundle, paths)`` for notebooks, imported on first use so ``import agf`` stays light."""
    if name == "predict":
        from agf.transfer.predict import predict

        return predict
    raise AttributeError(f"module 'agf' has no attribute {name!r}")
