"""Inverse-probability-of-censoring weighting shared by the survival metrics and curves.

The censoring distribution G is estimated on the labels of the **evaluated set itself**
(scikit-survival's ``CensoringDistributionEstimator``, a reverse Kaplan–Meier): IPCW corrects for the
censoring of the cases being scored, and an external centre's follow-up (enrolment period, losses)
need not resemble the training centre's. The paper, and PRIME before, used the training set's
censoring for every set. G is estimated once per set and held fixed when the set's cases are
resampled, so the IPCW Brier score at time t is a plain mean over cases of

    S_i(t)² · 1(T_i ≤ t, died) / G(T_i)  +  (1 − S_i(t))² · 1(T_i > t) / G(t),

exactly what ``sksurv.metrics.brier_score`` computes when given the set as its own
``survival_train`` (the tests check it). Keeping the per-case terms lets a bootstrap resample rows of
a matrix instead of re-running the estimator, and lets the integrated Brier score use one fixed time
grid for every resample. The training follow-up still bounds the times looked at
(:func:`follow_up_horizon`): beyond it the models' survival curves are extrapolated.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "brier_terms",
    "censoring_estimator",
    "follow_up_horizon",
    "inverse_censoring_weights",
    "usable_times",
]


def censoring_estimator(y):
    """The censoring distribution G of the survival labels ``y`` (fitted): PRIME passes the labels of
    the set being evaluated."""
    from sksurv.nonparametric import CensoringDistributionEstimator

    return CensoringDistributionEstimator().fit(y)


def follow_up_horizon(train_time: np.ndarray, event: np.ndarray, time: np.ndarray) -> float:
    """The last time the metrics may look at: within the training follow-up (beyond it the models'
    curves are extrapolated) and no later than the evaluation set's last death (0 when it has none)."""
    return min(float(train_time.max()), float(time[event].max()) if event.any() else 0.0)


def usable_times(times: np.ndarray, time: np.ndarray, horizon: float) -> np.ndarray:
    """Mask of ``times`` inside the evaluation set's follow-up, [first time, min(horizon, last time))."""
    times = np.asarray(times, dtype=float)
    return (times >= time.min()) & (times < min(horizon, float(time.max())))


def inverse_censoring_weights(censoring, event: np.ndarray, time: np.ndarray, horizon: float) -> np.ndarray:
    """1/G(Tᵢ) for the deaths before ``horizon``, 0 for everyone else: the case weights of Uno's C (squared)
    and of the cumulative/dynamic AUC. Times past the end of G's follow-up are held at its end, where G
    is still defined."""
    g = censoring.predict_proba(np.minimum(time, float(censoring.unique_time_[-1])))
    usable = event & (time < horizon) & (g > 0)
    return np.where(usable, 1 / np.where(usable, g, 1.0), 0.0)


def brier_terms(censoring, event: np.ndarray, time: np.ndarray, survival: np.ndarray, times) -> np.ndarray:
    """Per-case IPCW Brier terms (n_cases, n_times); their column means are the Brier scores.

    ``survival``: S_i(t) of each case at ``times`` (n_cases, n_times). ``times`` must lie within G's
    follow-up; a case's own time past it is never needed (it is no "case" at any such t), so it is held
    at G's last time to keep G defined.
    """
    times = np.asarray(times, dtype=float)
    last = float(censoring.unique_time_[-1])
    g_times = censoring.predict_proba(times)
    g_cases = censoring.predict_proba(np.minimum(time, last))
    # G = 0 means no weight can be given; scikit-survival makes such terms 0 the same way.
    g_times = np.where(g_times == 0, np.inf, g_times)
    g_cases = np.where(g_cases == 0, np.inf, g_cases)
    died_by = (time[:, None] <= times[None, :]) & event[:, None]
    alive_after = time[:, None] > times[None, :]
    return (survival**2) * died_by / g_cases[:, None] + ((1 - survival) ** 2) * alive_after / g_times[None, :]
