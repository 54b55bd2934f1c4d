"""Evaluation of PRIME-R and PRIME-S: metrics with bootstrap confidence intervals, Kaplan–Meier and Cox
hazard ratios (overall, adjusted, by subgroup), and the data behind the evaluation figures.

Import from here, or from :mod:`PRIMELib.evaluation.metrics`, which gathers the same names.
"""

from __future__ import annotations

from PRIMELib.evaluation.metrics import (
    bootstrap_ci,
    calibration_curve_data,
    cox_hazard_ratios,
    decision_curve,
    default_subgroups,
    hazard_ratio,
    kaplan_meier,
    logrank_p,
    response_metrics,
    roc_curve_data,
    subgroup_hazard_ratios,
    survival_metrics,
    time_dependent_curves,
)

__all__ = [
    "bootstrap_ci",
    "calibration_curve_data",
    "cox_hazard_ratios",
    "decision_curve",
    "default_subgroups",
    "hazard_ratio",
    "kaplan_meier",
    "logrank_p",
    "response_metrics",
    "roc_curve_data",
    "subgroup_hazard_ratios",
    "survival_metrics",
    "time_dependent_curves",
]
