"""Performance metrics of PRIME-R and PRIME-S, with 95 % bootstrap confidence intervals where useful.

Response: AUC, Brier score, accuracy / sensitivity / specificity at the frozen threshold, calibration
intercept and slope (logistic recalibration). Survival: Harrell's and Uno's C-index, time-dependent
AUC and Brier score at 6/12/24/36 months (where follow-up allows), integrated Brier score, hazard ratio
high vs low risk group with its 95 % CI and the log-rank p-value.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import brier_score_loss

from PRIMELib.models.survival_data import event_and_time

__all__ = ["bootstrap_ci", "response_metrics", "survival_metrics"]

DAYS_PER_MONTH = 365.25 / 12


def bootstrap_ci(metric, *arrays, n_bootstrap: int = 200, random_state: int = 0) -> list[float] | None:
    """Percentile 95 % interval of ``metric(*resampled arrays)`` over case resamples (None if < 20 valid)."""
    if n_bootstrap <= 0:
        return None
    rng = np.random.default_rng(random_state)
    n = len(arrays[0])
    values = []
    for _ in range(n_bootstrap):
        index = rng.integers(0, n, n)
        try:
            value = metric(*(a[index] for a in arrays))
        except ValueError:
            continue
        if value is not None and math.isfinite(value):
            values.append(value)
    if len(values) < 20:
        return None
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def _auc(y, p) -> float:
    """ROC AUC as the Mann–Whitney statistic (ties count half): roc_auc_score's value, without its
    input checks, which dominate the cost of 200 bootstrap resamples."""
    y = np.asarray(y)
    positives = y == 1
    n1 = int(positives.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def response_metrics(
    y, probability, threshold: float, *, n_bootstrap: int = 200, random_state: int = 0
) -> dict:
    """Metrics of response probabilities against 0/1 labels."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(probability, dtype=float)
    predicted = p >= threshold
    positives, negatives = y == 1, y == 0
    out = {
        "n": len(y),
        "n_responders": int(positives.sum()),
        "auc": _auc(y, p),
        "auc_ci95": bootstrap_ci(_auc, y, p, n_bootstrap=n_bootstrap, random_state=random_state),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "threshold": threshold,
        "accuracy": float(np.mean(predicted == positives)) if len(y) else float("nan"),
        "sensitivity": float(predicted[positives].mean()) if positives.any() else float("nan"),
        "specificity": float((~predicted[negatives]).mean()) if negatives.any() else float("nan"),
    }
    out.update(_calibration(y, p))
    return out


def _calibration(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Calibration slope and intercept: logistic regression of y on logit(p)."""
    if len(np.unique(y)) < 2:
        return {"calibration_intercept": float("nan"), "calibration_slope": float("nan")}
    from sklearn.linear_model import LogisticRegression

    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit[:, None], y)
    return {"calibration_intercept": float(fit.intercept_[0]), "calibration_slope": float(fit.coef_[0, 0])}


def _harrell(event, time, risk) -> float:
    from sksurv.metrics import concordance_index_censored

    if not event.any():
        return float("nan")
    return float(concordance_index_censored(event, time, risk)[0])


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

    ``y_train`` (the training labels) estimates the censoring distribution for Uno's C and the
    time-dependent metrics; ``survival_at(times)`` returns S(t) of every case of ``y`` at ``times``
    (days), (n, len(times)).
    """
    from sksurv.compare import compare_survival
    from sksurv.metrics import (
        brier_score,
        concordance_index_ipcw,
        cumulative_dynamic_auc,
        integrated_brier_score,
    )

    event, time = event_and_time(y)
    risk = np.asarray(risk, dtype=float)
    out: dict[str, object] = {"n": len(time), "n_events": int(event.sum())}
    out["c_index"] = _harrell(event, time, risk)
    out["c_index_ci95"] = bootstrap_ci(
        _harrell, event, time, risk, n_bootstrap=n_bootstrap, random_state=random_state
    )
    _, train_time = event_and_time(y_train)
    # Follow-up window where the censoring distribution is estimable from both sets.
    horizon = min(float(train_time.max()), float(time[event].max()) if event.any() else 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out["uno_c_index"] = float(concordance_index_ipcw(y_train, y, risk, tau=horizon)[0])
        except ValueError:
            out["uno_c_index"] = float("nan")
        valid = [m for m in months if time.min() <= m * DAYS_PER_MONTH < min(horizon, time.max())]
        out["td_auc"] = {}
        out["td_brier"] = {}
        if valid and event.any():
            times = np.array([m * DAYS_PER_MONTH for m in valid])
            try:
                auc, mean_auc = cumulative_dynamic_auc(y_train, y, risk, times)
                out["td_auc"] = {f"{m}_months": float(a) for m, a in zip(valid, auc, strict=True)}
                out["mean_td_auc"] = float(mean_auc)
            except ValueError:
                pass
            try:
                _, scores = brier_score(y_train, y, survival_at(times), times)
                out["td_brier"] = {f"{m}_months": float(b) for m, b in zip(valid, scores, strict=True)}
            except ValueError:
                pass
        grid = np.arange(1, 61) * DAYS_PER_MONTH
        grid = grid[(grid >= time.min()) & (grid < min(horizon, time.max()))]
        try:
            out["integrated_brier"] = (
                float(integrated_brier_score(y_train, y, survival_at(grid), grid)) if len(grid) > 1 else None
            )
        except ValueError:
            out["integrated_brier"] = None
    high = risk > risk_cutoff
    out["n_high_risk"] = int(high.sum())
    if 0 < high.sum() < len(high) and event.any():
        out.update(_hazard_ratio(event, time, high))
        labels = np.empty(len(time), dtype=[("event", bool), ("time", float)])
        labels["event"], labels["time"] = event, time
        out["logrank_p"] = float(compare_survival(labels, high.astype(int))[1])
    return out


def _hazard_ratio(event: np.ndarray, time: np.ndarray, high: np.ndarray) -> dict[str, object]:
    """Cox hazard ratio of the high-risk group vs the low-risk group, with a Wald 95 % CI."""
    from PRIMELib.models.fusion import cox_partial_likelihood

    group = high.astype(float)
    beta, _ = cox_partial_likelihood(group, event, time)
    # Observed information at beta for the standard error.
    order = np.argsort(-time, kind="stable")
    s, e, t = group[order], event[order], time[order]
    last_tie = np.searchsorted(-t, -t, side="right") - 1
    w = np.exp(beta * s)
    s0, s1 = np.cumsum(w)[last_tie], np.cumsum(w * s)[last_tie]
    mean = s1 / s0
    information = float(np.sum(e * (mean - mean**2)))  # s² = s for a 0/1 covariate
    if information <= 0 or not math.isfinite(beta) or abs(beta) > 20:
        return {"hazard_ratio": float("nan"), "hazard_ratio_ci95": None}
    se = 1 / math.sqrt(information)
    return {
        "hazard_ratio": math.exp(beta),
        "hazard_ratio_ci95": [math.exp(beta - 1.96 * se), math.exp(beta + 1.96 * se)],
    }
