"""A package's public names, imported on first use (PEP 562).

A package's ``__init__`` names its public API in ``__all__`` without importing it, so that
importing one small module of a package (``agf.data.store``) never drags in the rest
(``agf.data.prepare`` and scikit-learn), and ``agf predict --help`` starts in a blink.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public ``name`` lives in module ``exports[name]``."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
