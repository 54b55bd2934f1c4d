"""The whole training procedure on one training set: grid search of every candidate, choice, fusion,
threshold and risk cut-off. :func:`fit_procedure` is what ``train_prime`` fits on the training set and
what nested validation refits inside every outer fold.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from PRIMELib.cohort_data import TrainingData
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.fusion import BayesianModelAveragingSurvival, LateFusionClassifier
from PRIMELib.models.pipelines import split_modalities
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.training.candidates import (
    CACHE_FROM_FEATURES,
    Candidate,
    choose_best,
    fit_candidates,
    forget_memory,
    plan,
)
from PRIMELib.training.cohort import check_enough_for_folds, folds
from PRIMELib.training.config import TrainingConfig
from PRIMELib.training.fusion import fit_prime_r, fit_prime_s, response_threshold

__all__ = [
    "FittedProcedure",
    "check_training_set",
    "endpoint_cohorts",
    "fit_procedure",
    "modalities_of",
]


@dataclass
class FittedProcedure:
    """PRIME-R and PRIME-S fitted on one training set, with every candidate and cross-validated score."""

    columns: dict[str, list[str]]
    modalities: list[str]
    candidates: list[Candidate]
    best: dict[tuple[str, str], Candidate]
    prime_r: LateFusionClassifier
    prime_s: BayesianModelAveragingSurvival
    #: Training-set cross-validated fused probabilities / risks (selection-CV: the members were chosen on
    #: the same folds, so these are optimistic).
    fused_oof: np.ndarray
    fused_cv_risk: np.ndarray
    threshold: float
    risk_cutoff: float
    y_response: np.ndarray
    y_survival: np.ndarray
    r_seconds: float
    s_seconds: float

    def predict_response(self, X: pd.DataFrame) -> np.ndarray:
        return self.prime_r.predict_proba(X)[:, 1]

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        return self.prime_s.predict(X)


def modalities_of(columns: dict[str, list[str]]) -> list[str]:
    """The modalities with columns, plus early fusion when both are present."""
    modalities = [m for m in ("clinical", "radiomics") if columns[m]]
    if not modalities:
        raise PRIMEInputError("The cohort has no numeric feature column to train on.", field="features")
    if len(modalities) == 2:
        modalities.append("early")
    return modalities


def endpoint_cohorts(data: TrainingData) -> tuple[TrainingData, TrainingData]:
    """The cases that train (and score) each endpoint: (response cohort, survival cohort)."""
    return data.endpoint("response"), data.endpoint("survival")


def check_training_set(train: TrainingData, config: TrainingConfig) -> None:
    """Both classes, a death, and enough of each for the inner cross-validation; else a named error.
    Each endpoint counts its own cases (those with a reading of it)."""
    y_response = train.response[train.has_response].to_numpy().astype(int)
    events = train.os_event[train.has_survival].to_numpy().astype(int)
    if len(np.unique(y_response)) < 2 or not events.any():
        raise PRIMEInputError(
            "The training set needs responders and non-responders, and at least one death.", field="cohort"
        )
    check_enough_for_folds(config, y_response, events)


def fit_procedure(
    train: TrainingData,
    config: TrainingConfig,
    *,
    progress: ProgressCallback | None = None,
    span: tuple[float, float] = (0.0, 1.0),
    early_fusion: bool = True,
) -> FittedProcedure:
    """Fit the whole procedure on ``train`` (every case of it is a training case).

    ``span``: the part of the progress bar this fit reports into. ``early_fusion``: also grid-search
    the early-fusion candidates (both modalities' columns in one model), which the training report
    compares with late fusion but neither PRIME-R nor PRIME-S uses; nested validation's outer folds
    leave them out (about a third of a fold's grid searches, and the widest).
    """
    columns = split_modalities(train.features.columns)
    modalities = modalities_of(columns)
    check_training_set(train, config)
    # Per-endpoint cohorts: PRIME-R learns from the cases with a response reading, PRIME-S from those
    # with survival time and status (usually the same cases).
    response_cases, survival_cases = endpoint_cohorts(train)
    X = {"response": response_cases.features, "survival": survival_cases.features}
    y_response = response_cases.response.to_numpy().astype(int)
    y_survival = survival_cases.survival
    cv = {"response": folds(config, y_response), "survival": folds(config, y_survival["event"])}
    labels = {"response": y_response, "survival": y_survival}
    steps = plan(config, modalities if early_fusion else [m for m in modalities if m != "early"])
    total = len(steps) + 2
    lo, hi = span

    def fraction(i: float) -> float:
        return lo + (hi - lo) * i / total

    cache = tempfile.mkdtemp(prefix="prime-train-cache-")
    memory = cache if train.features.shape[1] > CACHE_FROM_FEATURES else None
    try:
        candidates = fit_candidates(
            steps, X, labels, cv, columns, config,
            memory=memory, progress=progress, fraction=fraction,
        )  # fmt: skip
        best = choose_best(candidates, modalities)
        members = [m for m in modalities if m != "early"]
        report(progress, fraction(len(steps)), "Late fusion: PRIME-R")
        prime_r, fused_oof, r_seconds = fit_prime_r(
            best, members, X["response"], y_response, cv["response"], config
        )
        report(progress, fraction(len(steps) + 1), "Bayesian model averaging: PRIME-S")
        prime_s, fused_cv_risk, s_seconds = fit_prime_s(
            candidates, best, members, X["survival"], y_survival, config
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    for obj in [prime_r, prime_s] + [c.search.best_estimator_ for c in candidates]:
        forget_memory(obj)
    return FittedProcedure(
        columns=columns,
        modalities=modalities,
        candidates=candidates,
        best=best,
        prime_r=prime_r,
        prime_s=prime_s,
        fused_oof=fused_oof,
        fused_cv_risk=fused_cv_risk,
        threshold=response_threshold(config, y_response, fused_oof),
        risk_cutoff=float(np.median(prime_s.predict(X["survival"]))),
        y_response=y_response,
        y_survival=y_survival,
        r_seconds=r_seconds,
        s_seconds=s_seconds,
    )
