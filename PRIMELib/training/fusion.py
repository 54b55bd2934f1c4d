"""Fusion: PRIME-R and PRIME-S fitted from the chosen candidates, with their cross-validated scores.

PRIME-R is the late fusion of the chosen clinical and radiomics response models (out-of-fold
probabilities → logistic meta-classifier); PRIME-S the Bayesian model averaging of the chosen clinical
and radiomics survival models (or of all of them, ``bma_members="all"``). The response threshold
(fixed or Youden on the fused out-of-fold probabilities) and the risk cut-off (training median of the
PRIME-S risk) are frozen here.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_curve
from sklearn.model_selection import cross_val_predict

from PRIMELib.models.fusion import BayesianModelAveragingSurvival, LateFusionClassifier
from PRIMELib.training.candidates import Candidate
from PRIMELib.training.config import TrainingConfig

__all__ = ["fit_prime_r", "fit_prime_s", "response_threshold", "youden"]


def fit_prime_r(
    best: dict[tuple[str, str], Candidate],
    members: list[str],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    config: TrainingConfig,
) -> tuple[LateFusionClassifier, np.ndarray, float]:
    """PRIME-R fitted on ``X``, ``y``; its cross-validated fused probabilities (the meta-classifier
    refitted per fold on the out-of-fold member probabilities); seconds taken."""
    t0 = time.perf_counter()
    prime_r = LateFusionClassifier(
        [(m, clone(best["response", m].search.best_estimator_)) for m in members],
        cv=config.cv_folds,
        random_state=config.random_state,
    ).fit(X, y)
    fused_oof = cross_val_predict(
        clone(prime_r.meta_), prime_r.oof_meta_features_, y, cv=folds, method="predict_proba"
    )[:, 1]
    return prime_r, fused_oof, time.perf_counter() - t0


def fit_prime_s(
    candidates: list[Candidate],
    best: dict[tuple[str, str], Candidate],
    members: list[str],
    X: pd.DataFrame,
    y: np.ndarray,
    config: TrainingConfig,
) -> tuple[BayesianModelAveragingSurvival, np.ndarray, float]:
    """PRIME-S fitted on ``X``, ``y``; its cross-validated fused risk (each member's out-of-fold risks
    standardised and weighted as PRIME-S does); seconds taken."""
    t0 = time.perf_counter()
    if config.bma_members == "all":
        chosen = [c for c in candidates if c.endpoint == "survival" and c.modality != "early"]
    else:
        chosen = [best["survival", m] for m in members]
    prime_s = BayesianModelAveragingSurvival(
        [(f"{c.modality}_{c.algorithm}", clone(c.search.best_estimator_)) for c in chosen],
        weighting=config.bma_weighting,
        tau=config.bma_tau,
        cv=config.cv_folds,
        random_state=config.random_state,
    ).fit(X, y)
    oof = prime_s.oof_risk_
    fused_cv_risk = (
        (oof - oof.mean(axis=0)) / np.where(oof.std(axis=0) > 0, oof.std(axis=0), 1.0)
    ) @ prime_s.weights_
    return prime_s, fused_cv_risk, time.perf_counter() - t0


def youden(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, thresholds = roc_curve(y, p)
    best = int(np.argmax(tpr - fpr))
    return float(np.clip(thresholds[best], 1e-6, 1 - 1e-6))


def response_threshold(config: TrainingConfig, y: np.ndarray, fused_oof: np.ndarray) -> float:
    """The frozen response threshold: fixed, or Youden's J on the cross-validated fused probabilities."""
    if config.response_threshold == "youden":
        return youden(y, fused_oof)
    return float(config.response_threshold)
