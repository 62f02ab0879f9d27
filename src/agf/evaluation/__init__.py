"""Metrics and reports: pure functions of true genres and predicted distributions (SPEC section 5).

Nothing here knows of models or work directories; the transfer stage and the grid score with it.
"""

from agf.evaluation.metrics import Scores, score
from agf.evaluation.report import write_evaluation, write_report

__all__ = ["Scores", "score", "write_evaluation", "write_report"]
