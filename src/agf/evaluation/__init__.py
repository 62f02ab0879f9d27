"""Metrics and reports: pure functions of true genres and predicted distributions (SPEC section 5).

Nothing here knows of models or work directories; the transfer stage and the grid score with it.
"""

from agf.lazy import lazy_exports

_EXPORTS = {
    "Scores": "agf.evaluation.metrics",
    "score": "agf.evaluation.metrics",
    "write_evaluation": "agf.evaluation.report",
    "write_report": "agf.evaluation.report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
