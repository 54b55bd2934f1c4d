"""The modality pipelines: columns → imputation → filters → z-score → selection → model.

One scikit-learn Pipeline per (endpoint, modality, algorithm), fitted as a whole, so cross-validation
and grid search refit imputation, scaling and selection in every fold (METHOD.md, "Feature
selection"). Modalities: ``clinical``, ``radiomics`` (columns named ``arterial_…`` / ``venous_…``), and
``early`` (early fusion: the selected clinical and radiomics features concatenated into one model).

Pipelines take a ``memory`` (a folder): the preprocessing and selection steps are identical for every
algorithm and grid point of one modality, so they are fitted once per fold and reused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from PRIMELib.clinical.imputation import MedianImputer
from PRIMELib.models.encoding import ClinicalEncoder
from PRIMELib.models.response import make_response_model
from PRIMELib.models.selection import (
    ColumnSelector,
    CoxnetScreen,
    ElasticNetCoxSelector,
    ElasticNetLogisticSelector,
    UnivariateLogisticFilter,
    VarianceFilter,
)
from PRIMELib.models.survival import make_survival_model

__all__ = [
    "ENDPOINTS",
    "MODALITIES",
    "RADIOMICS_PREFIXES",
    "SelectionSettings",
    "model_pipeline",
    "selected_features",
    "split_modalities",
]

RADIOMICS_PREFIXES = ("arterial_", "venous_")
ENDPOINTS = ("response", "survival")
MODALITIES = ("clinical", "radiomics", "early")


@dataclass(frozen=True)
class SelectionSettings:
    """The selection thresholds of METHOD.md (defaults are the paper's)."""

    response_variance: float = 0.01
    response_p_value: float = 0.05
    response_l1_ratio: float = 0.5
    response_coef_threshold: float = 1e-4
    survival_variance: float = 0.1
    #: The paper z-scores features, then applies the variance thresholds: on z-scores they drop only
    #: constant features. Clinical variables have mixed units (see selection.py's docstring) and
    #: radiomics has unitless ratios (sphericity, elongation, flatness: raw variance about 0.002 in a
    #: cohort of 2-20 cm tumours), so raw thresholds would drop informative features by their unit.
    clinical_constant_only: bool = True
    radiomics_constant_only: bool = True
    survival_screen_features: int = 50
    survival_l1_ratio: float = 0.5
    survival_top_k: int = 10
    max_missing_fraction: float = 0.30
    cv_folds: int = 5


def split_modalities(columns: Iterable[str]) -> dict[str, list[str]]:
    """Column names by modality: ``radiomics`` (phase-prefixed PyRadiomics names) and ``clinical``."""
    columns = [str(c) for c in columns]
    radiomics = [c for c in columns if c.startswith(RADIOMICS_PREFIXES)]
    clinical = [c for c in columns if not c.startswith(RADIOMICS_PREFIXES)]
    return {"clinical": clinical, "radiomics": radiomics}


def _chain(endpoint: str, modality: str, columns: list[str], settings: SelectionSettings, random_state):
    """The steps before the model, for one endpoint and one modality (clinical or radiomics)."""
    if modality == "clinical":
        imputer = MedianImputer(max_missing_fraction=settings.max_missing_fraction, max_imputed=None)
    else:
        imputer = SimpleImputer(strategy="median", keep_empty_features=True)
    # Clinical columns are selected by ClinicalEncoder, a ColumnSelector that also encodes the schema's
    # categories and ordinals (binary 0/1, ordinal ranks, nominal one-hot), refitted in every fold.
    selector = ClinicalEncoder(columns) if modality == "clinical" else ColumnSelector(columns)
    steps = [("columns", selector), ("impute", imputer)]
    if endpoint == "response":
        if modality == "radiomics":
            steps.append(
                (
                    "variance",
                    VarianceFilter(
                        settings.response_variance, constant_only=settings.radiomics_constant_only
                    ),
                )
            )
        steps.append(("scale", StandardScaler()))
        if modality == "clinical":
            steps.append(("univariate", UnivariateLogisticFilter(settings.response_p_value)))
        steps.append(
            (
                "elastic_net",
                ElasticNetLogisticSelector(
                    l1_ratio=settings.response_l1_ratio,
                    cv=settings.cv_folds,
                    threshold=settings.response_coef_threshold,
                    random_state=random_state,
                ),
            )
        )
    elif endpoint == "survival":
        constant_only = (
            settings.clinical_constant_only if modality == "clinical" else settings.radiomics_constant_only
        )
        steps += [
            ("variance", VarianceFilter(settings.survival_variance, constant_only=constant_only)),
            ("scale", StandardScaler()),
            ("cox_l1", CoxnetScreen(max_features=settings.survival_screen_features)),
            (
                "elastic_net_cox",
                ElasticNetCoxSelector(top_k=settings.survival_top_k, l1_ratio=settings.survival_l1_ratio),
            ),
        ]
    else:
        raise ValueError(f"Unknown endpoint {endpoint!r}; choose from {', '.join(ENDPOINTS)}.")
    return steps


def model_pipeline(
    endpoint: str,
    modality: str,
    algorithm: str,
    columns: dict[str, list[str]],
    *,
    random_state=None,
    memory=None,
    settings: SelectionSettings | None = None,
) -> Pipeline:
    """An unfitted pipeline for ``endpoint`` (response/survival), ``modality`` (clinical/radiomics/early)
    and ``algorithm`` (a name from RESPONSE_ALGORITHMS or SURVIVAL_ALGORITHMS); ``columns`` is
    :func:`split_modalities`' output. The model step is named ``model`` (grid keys ``model__…``)."""
    settings = settings or SelectionSettings()
    model = (
        make_response_model(algorithm, random_state)
        if endpoint == "response"
        else make_survival_model(algorithm, random_state)
    )
    if modality in ("clinical", "radiomics"):
        if not columns.get(modality):
            raise ValueError(f"No {modality} columns to build a {modality} {endpoint} model from.")
        steps = _chain(endpoint, modality, columns[modality], settings, random_state)
    elif modality == "early":
        parts = [
            (name, Pipeline(_chain(endpoint, name, columns[name], settings, random_state), memory=memory))
            for name in ("clinical", "radiomics")
            if columns.get(name)
        ]
        steps = [("features", FeatureUnion(parts, verbose_feature_names_out=False))]
    else:
        raise ValueError(f"Unknown modality {modality!r}; choose from {', '.join(MODALITIES)}.")
    return Pipeline([*steps, ("model", model)], memory=memory)


def selected_features(pipeline: Pipeline) -> list[str]:
    """Names of the input columns a fitted pipeline's model uses, in the model's column order."""
    return [str(name) for name in pipeline[:-1].get_feature_names_out()]
