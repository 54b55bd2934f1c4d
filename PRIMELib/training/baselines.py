"""Plain baselines, estimated beside PRIME-R and PRIME-S so a user sees whether fusion helps.

- ``clinical_logistic`` (response): clinical columns → median imputation → z-score → L2 logistic
  regression (scikit-learn's default C = 1).
- ``clinical_cox`` (survival): the same preprocessing → Cox proportional hazards with a small ridge
  penalty (scikit-survival, ``alpha=1``), which keeps it estimable with few events per variable.
- ``radiomics_random_forest`` (response): radiomics columns → median imputation → random forest
  (300 trees, leaves of at least 3 cases).
- ``radiomics_coxnet`` (survival): radiomics → median imputation → z-score → elastic-net Cox
  (scikit-survival's Coxnet, l1_ratio 0.5), its penalty chosen by inner cross-validation.

No feature selection, no algorithm choice and no fusion: each is one fixed, well-known model. They are
fitted and scored exactly where PRIME's models are (inside every outer fold, and on the training set
for the test and external sets).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from PRIMELib.cohort_data import TrainingData
from PRIMELib.models.pipelines import split_modalities
from PRIMELib.models.selection import ColumnSelector
from PRIMELib.models.survival import concordance_scorer
from PRIMELib.training.config import TrainingConfig

__all__ = ["BASELINES", "baseline_estimators", "fit_baselines", "predict_baselines"]

#: Baseline name → endpoint, in the order reports show them.
BASELINES = {
    "clinical_logistic": "response",
    "radiomics_random_forest": "response",
    "clinical_cox": "survival",
    "radiomics_coxnet": "survival",
}
#: Coxnet penalties tried by the inner cross-validation (on z-scored features).
COXNET_ALPHAS = (0.5, 0.2, 0.1, 0.05)


def _front(columns: list[str], *, scale: bool) -> list[tuple[str, object]]:
    steps = [("columns", ColumnSelector(columns)), ("impute", SimpleImputer(strategy="median"))]
    return steps + ([("scale", StandardScaler())] if scale else [])


def baseline_estimators(columns: dict[str, list[str]], config: TrainingConfig) -> dict[str, BaseEstimator]:
    """The baselines the cohort's columns allow (clinical ones need clinical columns, and so on)."""
    from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis

    out: dict[str, BaseEstimator] = {}
    seed = config.random_state
    if columns["clinical"]:
        out["clinical_logistic"] = Pipeline(
            [*_front(columns["clinical"], scale=True), ("model", LogisticRegression(max_iter=2000))]
        )
        out["clinical_cox"] = Pipeline(
            [*_front(columns["clinical"], scale=True), ("model", CoxPHSurvivalAnalysis(alpha=1.0))]
        )
    if columns["radiomics"]:
        forest = RandomForestClassifier(n_estimators=300, min_samples_leaf=3, random_state=seed, n_jobs=1)
        out["radiomics_random_forest"] = Pipeline(
            [*_front(columns["radiomics"], scale=False), ("model", forest)]
        )
        coxnet = Pipeline(
            [*_front(columns["radiomics"], scale=True), ("model", CoxnetSurvivalAnalysis(l1_ratio=0.5))]
        )
        out["radiomics_coxnet"] = GridSearchCV(
            coxnet,
            {"model__alphas": [[a] for a in COXNET_ALPHAS]},
            scoring=concordance_scorer,
            cv=StratifiedKFold(config.cv_folds, shuffle=True, random_state=seed),
            error_score=np.nan,
        )
    return out


def fit_baselines(train: TrainingData, config: TrainingConfig) -> dict[str, BaseEstimator]:
    """Every baseline fitted on ``train``: response ones on its cases with a response reading, survival
    ones on those with survival time and status."""
    from PRIMELib.training.procedure import endpoint_cohorts

    response_cases, survival_cases = endpoint_cohorts(train)
    cases = {
        "response": (response_cases.features, response_cases.response.to_numpy().astype(int)),
        "survival": (survival_cases.features, survival_cases.survival),
    }
    fitted = {}
    for name, estimator in baseline_estimators(split_modalities(train.features.columns), config).items():
        X, y = cases[BASELINES[name]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes of small folds; the scores tell
            if isinstance(estimator, GridSearchCV):  # stratify the inner folds by event
                estimator.set_params(cv=list(estimator.cv.split(np.zeros(len(y)), y["event"])))
            fitted[name] = estimator.fit(X, y)
    return fitted


def predict_baselines(fitted: dict[str, BaseEstimator], X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Response probabilities (response baselines) and risk scores (survival baselines)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # all-blank columns: named in the training report
        return {
            name: model.predict_proba(X)[:, 1]
            if BASELINES[name] == "response"
            else np.asarray(model.predict(X))
            for name, model in fitted.items()
        }
