"""Kaplan–Meier curves, the log-rank test and Cox hazard ratios (risk groups, adjusted, multivariable).

* Kaplan–Meier: scikit-survival's ``kaplan_meier_estimator`` with log-log ("exponential Greenwood")
  confidence bands, the numbers at risk and the median; log-rank p from ``compare_survival``.
* Cox: statsmodels' ``PHReg`` (Newton–Raphson, observed-information standard errors, Wald CI and p).
  It handles ties by Breslow's method (the default here, as in scikit-survival) or Efron's, and gives
  standard errors, which scikit-survival's ``CoxPHSurvivalAnalysis`` does not. The tests check it against
  lifelines' ``CoxPHFitter`` and scikit-survival.

Data that cannot give a hazard ratio (no deaths, one group only, no deaths in one group, so that the
estimate runs off to 0 or infinity) make :func:`cox_hazard_ratios` raise; :func:`hazard_ratio` instead
returns NaN with the reason in ``note``, so one empty subgroup or set does not stop a report.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation._checks import survival_arrays
from PRIMELib.scoring import DAYS_PER_MONTH

__all__ = ["cox_hazard_ratios", "hazard_ratio", "kaplan_meier", "logrank_p"]

_TIES = ("breslow", "efron")


# ---------------------------------------------------------------------------------------------
# Kaplan–Meier and log-rank


def kaplan_meier(event, time, groups=None, *, at_risk_times=None, conf_level: float = 0.95) -> dict:
    """Kaplan–Meier survival of each group, with its confidence band, numbers at risk and median.

    ``groups``: one label per case (e.g. "high risk"/"low risk"); None treats all cases as one group
    labelled "all". ``at_risk_times`` (days): where to count the patients still at risk (time ≥ t);
    default every 6 months from 0 to the last follow-up. Returns ``{label: {"time", "survival",
    "ci_lower", "ci_upper", "at_risk": {t: n}, "n", "events", "median_days"}}`` with the curve starting
    at (0, 1), plus ``"logrank_p"`` when there are two groups or more. ``median_days`` is the first time
    survival is ≤ 0.5, None when the curve stays above it.
    """
    event, time = survival_arrays(event, time)
    labels = _group_labels(groups, len(time))
    if at_risk_times is None:
        at_risk_times = np.arange(0.0, time.max() + 1e-9, 6 * DAYS_PER_MONTH)
    at_risk_times = [float(t) for t in np.atleast_1d(np.asarray(at_risk_times, dtype=float))]
    from sksurv.nonparametric import kaplan_meier_estimator

    out: dict[str, object] = {}
    for label in np.unique(labels):
        mask = labels == label
        e, t = event[mask], time[mask]
        times, survival, band = kaplan_meier_estimator(e, t, conf_type="log-log", conf_level=conf_level)
        if times[0] > 0:  # the curve starts at (0, 1) for drawing and reading numbers off it
            times, survival = np.r_[0.0, times], np.r_[1.0, survival]
            band = np.c_[[1.0, 1.0], band]
        below = np.flatnonzero(survival <= 0.5)
        out[str(label)] = {
            "time": times.tolist(),
            "survival": survival.tolist(),
            "ci_lower": band[0].tolist(),
            "ci_upper": band[1].tolist(),
            "at_risk": {x: int((t >= x).sum()) for x in at_risk_times},
            "n": int(mask.sum()),
            "events": int(e.sum()),
            "median_days": float(times[below[0]]) if len(below) else None,
        }
    if len(out) >= 2:
        out["logrank_p"] = logrank_p(event, time, labels)
    return out


def logrank_p(event, time, groups) -> float:
    """Log-rank test p-value of equal survival across the groups (NaN with < 2 groups or no deaths)."""
    event, time = survival_arrays(event, time)
    labels = _group_labels(groups, len(time))
    if len(np.unique(labels)) < 2 or not event.any():
        return float("nan")
    from sksurv.compare import compare_survival

    return float(compare_survival(_structured(event, time), labels)[1])


def _group_labels(groups, n: int) -> np.ndarray:
    if groups is None:
        return np.full(n, "all", dtype=object)
    labels = np.asarray(groups)
    if labels.ndim != 1 or len(labels) != n:
        raise PRIMEInputError(
            f"'groups' has {labels.size} labels for {n} cases.",
            field="groups",
            value=labels.size,
            expected=f"one group label per case ({n})",
        )
    if pd.isna(labels).any():
        raise PRIMEInputError(
            f"'groups' has {int(pd.isna(labels).sum())} missing labels.",
            field="groups",
            expected="a group label for every case",
            hint="Leave cases without a group out, or give them a group of their own.",
        )
    return labels.astype(str).astype(object)


def _structured(event: np.ndarray, time: np.ndarray) -> np.ndarray:
    labels = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    labels["event"], labels["time"] = event, time
    return labels


# ---------------------------------------------------------------------------------------------
# Cox regression


def cox_hazard_ratios(
    event, time, covariates: pd.DataFrame, *, ties: str = "breslow", conf_level: float = 0.95
) -> pd.DataFrame:
    """A multivariable Cox model: per covariate the hazard ratio per unit, its Wald CI and p-value.

    ``covariates``: numeric columns, one row per case, none missing (encode categories as 0/1
    indicator columns). Returns a frame indexed by covariate with columns ``hr, ci_lower, ci_upper, p``
    (and ``coef``, ``se`` on the log scale). Raises :class:`PRIMEInputError` when the data cannot give
    hazard ratios (no deaths, a constant covariate, a fit that runs off to infinity).
    """
    event, time = survival_arrays(event, time)
    design = _numeric_covariates(covariates, len(time), field="covariates")
    missing = design.isna().sum()
    if missing.any():
        column = str(missing.idxmax())
        raise PRIMEInputError(
            f"Covariate '{column}' is missing for {int(missing.max())} cases.",
            field=column,
            value=int(missing.max()),
            expected="a value for every case",
            hint="Impute it or leave those cases out (hazard_ratio(adjust_for=...) leaves them out).",
        )
    table, reason = _fit_cox(event, time, design, ties=ties, conf_level=conf_level)
    if table is None:
        raise PRIMEInputError(f"No Cox model can be fitted: {reason}.", field="covariates")
    return table


def hazard_ratio(
    event,
    time,
    high,
    *,
    adjust_for: pd.DataFrame | None = None,
    ties: str = "breslow",
    conf_level: float = 0.95,
) -> dict:
    """Cox hazard ratio of the high-risk group vs the low-risk group, with its Wald 95 % CI and p.

    ``high``: one boolean (or 0/1) per case. ``adjust_for``: covariates to adjust for (e.g. a
    ``subsequent_therapy`` column), numeric; cases missing any of them are left out (counted in
    ``note``). Returns ``hazard_ratio``, ``hazard_ratio_ci95`` ([lower, upper]), ``hazard_ratio_p``,
    ``n``, ``n_events``, ``n_high_risk``, ``adjusted_for`` and ``note``: None, or why the ratio is NaN
    (e.g. no deaths in one group) or which cases were left out.
    """
    event, time = survival_arrays(event, time)
    high = _indicator(high, len(time), field="high")
    design = pd.DataFrame({"high_risk": high.astype(float)})
    names: list[str] = []
    notes: list[str] = []
    if adjust_for is not None:
        adjust = _numeric_covariates(adjust_for, len(time), field="adjust_for")
        names = [str(c) for c in adjust.columns]
        if "high_risk" in names:
            raise PRIMEInputError(
                "'adjust_for' has a column named 'high_risk', the name of the risk-group term.",
                field="adjust_for",
                hint="Rename that column.",
            )
        complete = adjust.notna().all(axis=1).to_numpy()
        if not complete.all():
            notes.append(f"{int((~complete).sum())} cases without {', '.join(names)} left out")
        design = (
            pd.concat([design, adjust.set_axis(design.index)], axis=1).loc[complete].reset_index(drop=True)
        )
        event, time, high = event[complete], time[complete], high[complete]
    out: dict[str, object] = {
        "hazard_ratio": float("nan"),
        "hazard_ratio_ci95": None,
        "hazard_ratio_p": float("nan"),
        "n": len(time),
        "n_events": int(event.sum()),
        "n_high_risk": int(high.sum()),
        "adjusted_for": names,
        "note": None,
    }
    reason = _two_group_problem(event, high)
    table = None
    if reason is None:
        table, reason = _fit_cox(event, time, design, ties=ties, conf_level=conf_level)
    if table is not None:
        row = table.loc["high_risk"]
        out["hazard_ratio"] = float(row["hr"])
        out["hazard_ratio_ci95"] = [float(row["ci_lower"]), float(row["ci_upper"])]
        out["hazard_ratio_p"] = float(row["p"])
    else:
        notes.insert(0, f"no hazard ratio: {reason}")
    out["note"] = "; ".join(notes) or None
    return out


def _two_group_problem(event: np.ndarray, high: np.ndarray) -> str | None:
    """Why a high-vs-low hazard ratio is undefined here, or None."""
    if high.all() or not high.any():
        return f"all {len(high)} cases are in the {'high' if high.all() else 'low'}-risk group"
    if not event.any():
        return "there are no deaths"
    for name, mask in (("high", high), ("low", ~high)):
        if not event[mask].any():
            return f"no deaths in the {name}-risk group (the hazard ratio would be 0 or infinite)"
    return None


def _fit_cox(
    event: np.ndarray, time: np.ndarray, design: pd.DataFrame, *, ties: str, conf_level: float
) -> tuple[pd.DataFrame | None, str | None]:
    """The fitted table, or None and the reason no fit is possible."""
    if ties not in _TIES:
        raise PRIMEInputError(
            f"Unknown tie handling '{ties}'.", field="ties", value=ties, expected=" or ".join(_TIES)
        )
    if not event.any():
        return None, "there are no deaths"
    constant = [str(c) for c in design.columns if design[c].nunique() < 2]
    if constant:
        return None, f"covariate {', '.join(constant)} does not vary"
    if len(design.columns) >= event.sum():
        return None, f"{len(design.columns)} covariates for {int(event.sum())} deaths"
    from scipy.stats import norm
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = PHReg(time, design.to_numpy(dtype=float), status=event.astype(float), ties=ties).fit()
        except np.linalg.LinAlgError:
            return None, "the covariates are collinear"
    coef, se = np.asarray(result.params, dtype=float), np.asarray(result.bse, dtype=float)
    failed = any(issubclass(w.category, ConvergenceWarning | HessianInversionWarning) for w in caught)
    if failed or not (np.isfinite(coef).all() and np.isfinite(se).all()):
        return None, "the Cox fit did not converge (a group without deaths, or covariates that separate them)"
    z = float(norm.ppf(0.5 + conf_level / 2))
    table = pd.DataFrame(
        {
            "hr": np.exp(coef),
            "ci_lower": np.exp(coef - z * se),
            "ci_upper": np.exp(coef + z * se),
            "p": np.asarray(result.pvalues, dtype=float),
            "coef": coef,
            "se": se,
        },
        index=pd.Index([str(c) for c in design.columns], name="covariate"),
    )
    return table, None


def _numeric_covariates(covariates, n: int, *, field: str) -> pd.DataFrame:
    if isinstance(covariates, pd.Series):
        covariates = covariates.to_frame()
    if not isinstance(covariates, pd.DataFrame) or covariates.shape[1] == 0:
        raise PRIMEInputError(
            f"'{field}' must be a table (pandas DataFrame) with one column per covariate.",
            field=field,
            value=type(covariates).__name__,
        )
    if len(covariates) != n:
        raise PRIMEInputError(
            f"'{field}' has {len(covariates)} rows for {n} cases.",
            field=field,
            value=len(covariates),
            expected=f"{n} rows, one per case, in the order of the outcome",
        )
    out = {}
    for column in covariates.columns:
        values = covariates[column]
        if values.dtype == bool:
            values = values.astype(float)
        numeric = pd.to_numeric(values, errors="coerce")
        if (numeric.isna() & values.notna()).any():
            example = values[numeric.isna() & values.notna()].iloc[0]
            raise PRIMEInputError(
                f"Covariate '{column}' has a value that is not a number: {example!r}.",
                field=str(column),
                value=example,
                expected="numbers (0/1 for yes/no)",
                hint="Encode categories as 0/1 indicator columns, e.g. with pandas.get_dummies.",
            )
        out[str(column)] = numeric.astype(float).to_numpy()
    return pd.DataFrame(out)


def _indicator(values, n: int, *, field: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n:
        raise PRIMEInputError(
            f"'{field}' has {array.size} values for {n} cases.",
            field=field,
            value=array.size,
            expected=f"one True/False per case ({n})",
        )
    if array.dtype == bool:
        return array
    try:
        numeric = array.astype(float)
    except (TypeError, ValueError):
        numeric = np.full(n, np.nan)
    if np.isnan(numeric).any() or not set(np.unique(numeric).tolist()) <= {0.0, 1.0}:
        raise PRIMEInputError(
            f"'{field}' must be True/False (or 1/0) for every case.",
            field=field,
            expected="booleans, e.g. risk > cutoff",
        )
    return numeric.astype(bool)
