"""PRIME's models: feature selection, response and survival models, fusion, and explanations.

Everything follows scikit-learn's estimator API (parameters stored by ``__init__``, learnt state in
trailing-underscore attributes after ``fit``), so ``clone``, ``Pipeline``, ``GridSearchCV`` and
cross-validation work with it. scikit-survival is imported where survival models are built.
"""

from __future__ import annotations

from PRIMELib.models.fusion import WEIGHTING_RULES, BayesianModelAveragingSurvival, LateFusionClassifier
from PRIMELib.models.pipelines import (
    SelectionSettings,
    model_pipeline,
    selected_features,
    split_modalities,
)
from PRIMELib.models.response import (
    RESPONSE_ALGORITHMS,
    RESPONSE_GRIDS,
    RotationForestClassifier,
    make_response_model,
)
from PRIMELib.models.selection import (
    ColumnSelector,
    CoxnetScreen,
    ElasticNetCoxSelector,
    ElasticNetLogisticSelector,
    UnivariateLogisticFilter,
    VarianceFilter,
)
from PRIMELib.models.survival import (
    SURVIVAL_ALGORITHMS,
    SURVIVAL_GRIDS,
    SurvivalSVM,
    concordance_scorer,
    make_survival_model,
)
from PRIMELib.models.survival_data import event_and_time, make_survival_labels

__all__ = [
    "RESPONSE_ALGORITHMS",
    "RESPONSE_GRIDS",
    "SURVIVAL_ALGORITHMS",
    "SURVIVAL_GRIDS",
    "WEIGHTING_RULES",
    "BayesianModelAveragingSurvival",
    "ColumnSelector",
    "CoxnetScreen",
    "ElasticNetCoxSelector",
    "ElasticNetLogisticSelector",
    "LateFusionClassifier",
    "RotationForestClassifier",
    "SelectionSettings",
    "SurvivalSVM",
    "UnivariateLogisticFilter",
    "VarianceFilter",
    "concordance_scorer",
    "event_and_time",
    "make_response_model",
    "make_survival_labels",
    "make_survival_model",
    "model_pipeline",
    "selected_features",
    "split_modalities",
]
