"""The data behind the evaluation figures: ROC, calibration, decision and time-dependent curves.

Plain lists of floats (JSON-ready), computed with scikit-learn and scikit-survival; drawing is left to
the report code. These raise :class:`PRIMEInputError` when a curve cannot exist (an ROC curve with one
outcome class, time-dependent curves without deaths).
"""

from __future__ import annotations

import warnings

import numpy as np

from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation._checks import binary_outcome, finite_scores, survival_labels
from PRIMELib.evaluation._ipcw import brier_terms, censoring_estimator, follow_up_horizon, usable_times

__all__ = ["calibration_curve_data", "decision_curve", "roc_curve_data", "time_dependent_curves"]

_STRATEGIES = ("quantile", "uniform")


def roc_curve_data(y, p) -> dict:
    """ROC curve: ``fpr``, ``tpr``, ``thresholds`` (p ≥ threshold is called positive; the first, for
    the point (0, 0), is None instead of infinity) and the ``auc`` (scikit-learn)."""
    from sklearn.metrics import auc, roc_curve

    y, p = binary_outcome(y, p)
    if len(np.unique(y)) < 2:
        raise PRIMEInputError(
            f"An ROC curve needs responders and non-responders; all {len(y)} cases have y = {y[0]}.",
            field="y",
            value=int(y[0]),
            expected="both outcome classes",
        )
    fpr, tpr, thresholds = roc_curve(y, p)
    return {
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": [float(t) if np.isfinite(t) else None for t in thresholds],
        "auc": float(auc(fpr, tpr)),
    }


def calibration_curve_data(y, p, n_bins: int = 10, strategy: str = "quantile") -> dict:
    """Calibration curve: per non-empty bin the mean ``predicted`` probability, the ``observed``
    fraction of responders (scikit-learn's ``calibration_curve``) and the ``count`` of cases.

    ``strategy``: "quantile" (bins of equal size) or "uniform" (bins of equal width on [0, 1]).
    """
    from sklearn.calibration import calibration_curve

    y, p = binary_outcome(y, p)
    if strategy not in _STRATEGIES:
        raise PRIMEInputError(
            f"Unknown binning '{strategy}'.",
            field="strategy",
            value=strategy,
            expected=" or ".join(_STRATEGIES),
        )
    if int(n_bins) != n_bins or n_bins < 1:
        raise PRIMEInputError("n_bins must be a whole number ≥ 1.", field="n_bins", value=n_bins)
    observed, predicted = calibration_curve(y, p, n_bins=int(n_bins), strategy=strategy)
    # The counts, with scikit-learn's own bin edges and assignment (it does not return them).
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, int(n_bins) + 1))
    else:
        edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=int(n_bins))
    counts = counts[counts > 0]
    if len(counts) != len(observed):  # only if scikit-learn changes how it bins
        raise RuntimeError("Calibration bin counts do not match scikit-learn's bins.")
    return {"predicted": predicted.tolist(), "observed": observed.tolist(), "count": counts.tolist()}


def decision_curve(y, p, thresholds=None) -> dict:
    """Decision curve analysis (Vickers & Elkin 2006): net benefit of treating the cases with
    p ≥ threshold, against treating all and treating none.

    net benefit = TP/n − FP/n · pt/(1 − pt) at threshold probability pt; treat-all uses the
    prevalence in place of TP/n and 1 − prevalence in place of FP/n. ``thresholds`` default: 0.01 to
    0.99 by 0.01.
    """
    y, p = binary_outcome(y, p)
    pt = np.linspace(0.01, 0.99, 99) if thresholds is None else np.atleast_1d(np.asarray(thresholds, float))
    if not ((pt > 0) & (pt < 1)).all():
        raise PRIMEInputError(
            "Decision-curve thresholds must lie strictly between 0 and 1.",
            field="thresholds",
            value=[float(pt.min()), float(pt.max())],
            expected="threshold probabilities in (0, 1)",
        )
    n = len(y)
    treated = p[None, :] >= pt[:, None]  # (thresholds, cases)
    true_positive = (treated & (y == 1)[None, :]).sum(axis=1)
    false_positive = (treated & (y == 0)[None, :]).sum(axis=1)
    odds = pt / (1 - pt)
    prevalence = float(y.mean())
    return {
        "threshold": pt.tolist(),
        "net_benefit": (true_positive / n - false_positive / n * odds).tolist(),
        "treat_all": (prevalence - (1 - prevalence) * odds).tolist(),
        "treat_none": np.zeros(len(pt)).tolist(),
    }


def time_dependent_curves(y_train, y, risk, survival_at, times) -> dict:
    """Time-dependent (cumulative/dynamic) AUC and IPCW Brier score at ``times`` (days).

    The censoring distribution is the evaluated set's own (``y``'s); ``y_train`` bounds the times by
    the training follow-up. ``survival_at(times)`` returns S(t) per case (n,
    len(times)). Times outside the follow-up (before the first time, from the last death or the end of
    the training follow-up on) are dropped and listed in ``dropped_times``. Returns ``times``, ``auc``,
    ``brier``, ``mean_auc`` (scikit-survival's, weighted by the Kaplan–Meier estimate), ``dropped_times``
    and ``note`` (None, or why ``auc`` is all NaN).
    """
    from sksurv.metrics import cumulative_dynamic_auc

    event, time = survival_labels(y, field="y")
    _, train_time = survival_labels(y_train, field="y_train")
    risk = finite_scores(risk, len(time), field="risk", reference="y")
    if not event.any():
        raise PRIMEInputError(
            "Time-dependent AUC and Brier curves need deaths; this set has none.", field="y", value=0
        )
    times = np.unique(np.asarray(times, dtype=float))
    usable = usable_times(times, time, follow_up_horizon(train_time, event, time))
    kept = times[usable]
    if len(kept) == 0:
        raise PRIMEInputError(
            "None of the curve times lies within the follow-up.",
            field="times",
            value=[float(times.min()), float(times.max())] if len(times) else [],
            expected=f"days in [{time.min():g}, {follow_up_horizon(train_time, event, time):g})",
        )
    labels = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    labels["event"], labels["time"] = event, time
    survival = np.asarray(survival_at(kept), dtype=float)
    if survival.shape != (len(time), len(kept)):
        raise PRIMEInputError(
            f"survival_at(times) returned shape {survival.shape}.",
            field="survival_at",
            expected=f"({len(time)}, {len(kept)})",
        )
    brier = brier_terms(censoring_estimator(labels), event, time, survival, kept).mean(axis=0)
    note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            auc, mean_auc = cumulative_dynamic_auc(labels, labels, risk, kept)
        except ValueError as error:
            auc, mean_auc = np.full(len(kept), np.nan), float("nan")
            note = f"time-dependent AUC undefined: {error}"
    return {
        "times": kept.tolist(),
        "auc": np.atleast_1d(auc).astype(float).tolist(),
        "brier": brier.tolist(),
        "mean_auc": float(mean_auc),
        "dropped_times": times[~usable].tolist(),
        "note": note,
    }
