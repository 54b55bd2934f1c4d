"""Evaluation of PRIME-R and PRIME-S: metrics with bootstrap confidence intervals, Kaplan–Meier and Cox
hazard ratios (overall, adjusted, by subgroup), and the data behind the evaluation figures.

Import from here, or from :mod:`PRIMELib.evaluation.metrics`, which gathers the same names.
"""

from __future__ import annotations

from PRIMELib.evaluation import metrics
from PRIMELib.evaluation.metrics import *  # noqa: F403  (the public names, listed once in metrics)

__all__ = list(metrics.__all__)
