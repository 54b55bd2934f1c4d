"""Performance metrics of PRIME-R and PRIME-S, with 95 % percentile bootstrap confidence intervals.

Response (:func:`response_metrics`): AUC, Brier score, accuracy / sensitivity / specificity at the
frozen threshold, calibration intercept (calibration-in-the-large: logit P(y) = a + logit p, the slope
fixed at 1) and calibration slope (logit P(y) = a + b · logit p). Survival (:func:`survival_metrics`):
Harrell's and Uno's C-index, time-dependent AUC and Brier score at 6/12/24/36 months (where follow-up
allows), integrated Brier score, and the hazard ratio of the high vs the low risk group with its 95 % CI
and the log-rank p-value.

The censoring distribution of the IPCW metrics (Uno's C, time-dependent AUC and Brier score) is
estimated on the evaluated set's own labels (see :mod:`._ipcw`). The bootstrap resamples the evaluation
cases only and refits nothing: the models' predictions and that censoring distribution stay fixed. A
resample is a vector of case multiplicities, and every metric is computed for all resamples at once
from it (matrix products over cases and pairs of cases: :mod:`._concordance`, :mod:`._calibration`,
:mod:`._ipcw`), so all intervals of one call come from the same resamples and 200 of them take
milliseconds. An interval is None when the point estimate is undefined or fewer than 20 resamples (or
fewer than half of them) give a value.

Undefined metrics (one outcome class, no deaths) are NaN, with the reason in ``notes``; malformed input
(lengths that differ, missing values, labels not 0/1) raises :class:`PRIMEInputError`.

This module is also where the other evaluation statistics are imported from: Kaplan–Meier, Cox hazard
ratios, subgroups (:mod:`.survival_analysis`, :mod:`.subgroups`) and the data of the ROC, calibration,
decision and time-dependent curves (:mod:`.curves`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.integrate import trapezoid

from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation._calibration import calibration_in_the_large, logistic_fits
from PRIMELib.evaluation._checks import binary_outcome, finite_scores, survival_labels
from PRIMELib.evaluation._concordance import ConcordancePairs, resample_counts, roc_auc
from PRIMELib.evaluation._ipcw import (
    brier_terms,
    censoring_estimator,
    follow_up_horizon,
    inverse_censoring_weights,
    usable_times,
)
from PRIMELib.evaluation.curves import (
    calibration_curve_data,
    decision_curve,
    roc_curve_data,
    time_dependent_curves,
)
from PRIMELib.evaluation.subgroups import default_subgroups, subgroup_hazard_ratios
from PRIMELib.evaluation.survival_analysis import (
    cox_hazard_ratios,
    hazard_ratio,
    kaplan_meier,
    logrank_p,
)
from PRIMELib.scoring import DAYS_PER_MONTH

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

#: Fewest resamples with a value for an interval to be reported.
MIN_RESAMPLES = 20
#: Monthly grid (days) of the integrated Brier score, cut to the follow-up.
_IBS_GRID = np.arange(1, 61) * DAYS_PER_MONTH


# ---------------------------------------------------------------------------------------------
# Bootstrap


def bootstrap_ci(metric, *arrays, n_bootstrap: int = 200, random_state: int = 0) -> list[float] | None:
    """Percentile 95 % interval of ``metric(*resampled arrays)`` over case resamples (None if fewer
    than 20, or fewer than half of the resamples, give a finite value)."""
    return _bootstrap(lambda *a: {"value": metric(*a)}, arrays, n_bootstrap, random_state).get("value")


def _bootstrap(
    statistics: Callable[..., dict[str, float]], arrays: Sequence[np.ndarray], n_bootstrap: int, seed: int
) -> dict[str, list[float] | None]:
    """Percentile intervals of every statistic ``statistics(*resampled arrays)`` returns, from the same
    ``n_bootstrap`` resamples of the cases (rows) of ``arrays``."""
    values: dict[str, list[float]] = {}
    for rows in _resamples(len(arrays[0]), n_bootstrap, seed):
        try:
            replicate = statistics(*(a[rows] for a in arrays))
        except ValueError:  # a statistic undefined on this resample (e.g. one class only)
            continue
        for name, value in replicate.items():
            values.setdefault(name, []).append(float("nan") if value is None else float(value))
    return {name: _interval(np.asarray(v), n_bootstrap) for name, v in values.items()}


def _resamples(n: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """Case indices of ``n_bootstrap`` resamples with replacement (n_bootstrap, n)."""
    return np.random.default_rng(seed).integers(0, n, (max(n_bootstrap, 0), n))


def _interval(values: np.ndarray, n_bootstrap: int) -> list[float] | None:
    """2.5th and 97.5th percentiles of the finite values; None when too few resamples gave one."""
    finite = values[np.isfinite(values)]
    if len(finite) < max(MIN_RESAMPLES, n_bootstrap // 2):
        return None
    return [float(x) for x in np.percentile(finite, [2.5, 97.5])]


# ---------------------------------------------------------------------------------------------
# Response


_RESPONSE_METRICS = (
    "auc",
    "accuracy",
    "sensitivity",
    "specificity",
    "brier",
    "calibration_intercept",
    "calibration_slope",
)


def response_metrics(
    y, probability, threshold: float, *, n_bootstrap: int = 200, random_state: int = 0
) -> dict:
    """Metrics of response probabilities against 0/1 labels, each with ``<name>_ci95``.

    ``threshold``: the frozen response threshold (a case is called a responder when p ≥ threshold).
    Calibration intercept: calibration-in-the-large, a in logit P(y) = a + logit(p) (0 when the mean
    risk is right); calibration slope: b in logit P(y) = a + b · logit(p) (1 when perfect).
    """
    y, p = binary_outcome(y, probability)
    if not 0 <= threshold <= 1:
        raise PRIMEInputError(
            f"The response threshold must lie in [0, 1]; got {threshold}.",
            field="threshold",
            value=threshold,
            expected="a probability",
        )
    n = len(y)
    # Row 0: the data; rows 1…: bootstrap resamples, as case multiplicities.
    counts = np.vstack([np.ones((1, n)), resample_counts(_resamples(n, n_bootstrap, random_state), n)])
    values = _response_statistics(counts, y, p, threshold)
    out: dict[str, object] = {"n": n, "n_responders": int(y.sum()), "threshold": threshold}
    for name in _RESPONSE_METRICS:
        out[name] = float(values[name][0])
        out[f"{name}_ci95"] = _interval(values[name][1:], n_bootstrap) if math.isfinite(out[name]) else None
    notes = []
    if len(np.unique(y)) < 2:
        which = "responders" if y[0] == 1 else "non-responders"
        undefined = "specificity" if y[0] == 1 else "sensitivity"
        notes.append(f"all {n} cases are {which}: AUC, {undefined} and calibration are undefined")
    elif not math.isfinite(out["calibration_slope"]):
        notes.append("calibration undefined: the probabilities separate responders from non-responders")
    out["notes"] = notes
    return out


def _response_statistics(counts: np.ndarray, y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Each response metric for each row of case multiplicities ``counts``."""
    positive = y == 1
    called = p >= threshold
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "auc": roc_auc(counts, p, positive),
            "brier": counts @ (p - y) ** 2 / total,
            "accuracy": counts @ (called == positive) / total,
            "sensitivity": (counts @ (called & positive)) / (counts @ positive),
            "specificity": (counts @ (~called & ~positive)) / (counts @ ~positive),
        }
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped))
    out["calibration_intercept"] = calibration_in_the_large(logit, y.astype(float), counts)
    out["calibration_slope"] = logistic_fits(logit, y.astype(float), counts)[:, 1]
    return out


# ---------------------------------------------------------------------------------------------
# Survival


def _harrell(event, time, risk) -> float:
    """Harrell's C-index (scikit-survival's; ties in risk count half); NaN without comparable pairs."""
    from sksurv.metrics import concordance_index_censored

    if not np.asarray(event).any():
        return float("nan")
    try:
        return float(concordance_index_censored(event, time, risk)[0])
    except ValueError:  # no comparable pairs
        return float("nan")


def survival_metrics(
    y_train,
    y,
    risk,
    survival_at,
    *,
    risk_cutoff: float,
    months=(6, 12, 24, 36),
    n_bootstrap: int = 200,
    random_state: int = 0,
) -> dict:
    """Metrics of risk scores and survival predictions against survival labels ``y``.

    The censoring distribution of Uno's C and the time-dependent metrics is estimated on ``y`` itself;
    ``y_train`` (the training labels) only bounds the times looked at by the training follow-up.
    ``survival_at(times)`` returns S(t) of every case of ``y`` at ``times``
    (days), (n, len(times)); it is called once, before the bootstrap. Months outside the follow-up
    (before the first time; from the set's last death or the end of the training follow-up on) are left
    out of ``td_auc`` / ``td_brier``. Uno's C is truncated at that same horizon.
    """
    event, time = survival_labels(y, field="y")
    _, train_time = survival_labels(y_train, field="y_train")
    risk = finite_scores(risk, len(time), field="risk", reference="y")
    labels = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    labels["event"], labels["time"] = event, time
    # The evaluated set's own censoring (without deaths nothing is weighted, and it is not estimable).
    censoring = censoring_estimator(labels) if event.any() else None

    horizon = follow_up_horizon(train_time, event, time)
    months = [m for m in months if usable_times([m * DAYS_PER_MONTH], time, horizon)[0]]
    month_days = np.array([m * DAYS_PER_MONTH for m in months])
    grid = _IBS_GRID[usable_times(_IBS_GRID, time, horizon)]
    brier_at = _survival_terms(censoring, event, time, survival_at, month_days)
    brier_grid = _survival_terms(censoring, event, time, survival_at, grid) if len(grid) > 1 else None

    # Row 0: the data; rows 1…: bootstrap resamples, as case multiplicities.
    n = len(time)
    counts = np.vstack([np.ones((1, n)), resample_counts(_resamples(n, n_bootstrap, random_state), n)])
    values = _survival_statistics(counts, censoring, event, time, risk, horizon, months, month_days)
    if event.any():
        for k, m in enumerate(months):
            values[f"td_brier_{m}"] = counts @ brier_at[:, k] / n
        if brier_grid is not None:
            curves = counts @ brier_grid / n
            values["integrated_brier"] = trapezoid(curves, grid, axis=1) / (grid[-1] - grid[0])

    point = {name: float(v[0]) for name, v in values.items()}

    def ci(name: str) -> list[float] | None:
        if name not in values or not math.isfinite(point[name]):
            return None
        return _interval(values[name][1:], n_bootstrap)

    out: dict[str, object] = {"n": n, "n_events": int(event.sum())}
    for name in ("c_index", "uno_c_index"):
        out[name], out[f"{name}_ci95"] = point.get(name, float("nan")), ci(name)
    for kind in ("td_auc", "td_brier"):
        defined = [m for m in months if math.isfinite(point.get(f"{kind}_{m}", float("nan")))]
        out[kind] = {f"{m}_months": point[f"{kind}_{m}"] for m in defined}
        out[f"{kind}_ci95"] = {f"{m}_months": ci(f"{kind}_{m}") for m in defined}
    if math.isfinite(point.get("mean_td_auc", float("nan"))):
        out["mean_td_auc"], out["mean_td_auc_ci95"] = point["mean_td_auc"], ci("mean_td_auc")
    ibs = point.get("integrated_brier", float("nan"))
    out["integrated_brier"] = ibs if math.isfinite(ibs) else None
    out["integrated_brier_ci95"] = ci("integrated_brier")

    high = risk > risk_cutoff
    out["risk_cutoff"] = float(risk_cutoff)
    out["n_high_risk"] = int(high.sum())
    hr = hazard_ratio(event, time, high)
    out["hazard_ratio"], out["hazard_ratio_ci95"] = hr["hazard_ratio"], hr["hazard_ratio_ci95"]
    out["hazard_ratio_p"] = hr["hazard_ratio_p"]
    out["logrank_p"] = logrank_p(event, time, high) if 0 < high.sum() < n else float("nan")
    out["notes"] = _survival_notes(event, months, grid, hr["note"])
    return out


def _survival_statistics(counts, censoring, event, time, risk, horizon, months, month_days) -> dict:
    """Harrell's and Uno's C, the time-dependent AUC at each month and their mean, per row of
    ``counts`` (see :mod:`._concordance`)."""
    if not event.any():
        return {}
    pairs = ConcordancePairs(event, time, risk)
    out = {"c_index": pairs.concordance(counts)}
    inverse_g = inverse_censoring_weights(censoring, event, time, horizon)
    out["uno_c_index"] = pairs.concordance(counts, inverse_g**2)
    for m, t in zip(months, month_days, strict=True):
        out[f"td_auc_{m}"] = pairs.cumulative_dynamic_auc(counts, t, inverse_g)
    if len(months) >= 1:
        auc = np.column_stack([out[f"td_auc_{m}"] for m in months])
        survival = pairs.kaplan_meier(counts, month_days)
        # scikit-survival's mean AUC: the AUCs weighted by the Kaplan–Meier drop at each time.
        drop = -np.diff(np.c_[np.ones(len(counts)), survival], axis=1)
        total = 1 - survival[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean_td_auc"] = np.where(total > 0, (auc * drop).sum(axis=1) / total, np.nan)
    return out


def _survival_terms(censoring, event, time, survival_at, times: np.ndarray) -> np.ndarray:
    """Per-case IPCW Brier terms at ``times`` from the model's survival predictions (called once)."""
    if len(times) == 0:
        return np.empty((len(time), 0))
    survival = np.asarray(survival_at(times), dtype=float)
    if survival.shape != (len(time), len(times)) or not np.isfinite(survival).all():
        raise PRIMEInputError(
            f"survival_at(times) returned shape {survival.shape}"
            + ("" if np.isfinite(survival).all() else " with missing values")
            + ".",
            field="survival_at",
            value=survival.shape,
            expected=f"finite survival probabilities of shape ({len(time)}, {len(times)})",
        )
    return brier_terms(censoring, event, time, survival, times)


def _survival_notes(event, months, grid, hr_note) -> list[str]:
    notes = []
    if not event.any():
        notes.append("no deaths: C-indices, time-dependent metrics and the hazard ratio are undefined")
        return notes
    if not months:
        notes.append("no reporting month lies within the follow-up: no time-dependent AUC or Brier score")
    if len(grid) < 2:
        notes.append("follow-up too short for the integrated Brier score")
    if hr_note:
        notes.append(f"hazard ratio: {hr_note}")
    return notes
