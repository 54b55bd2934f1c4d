"""Candidates and grids: one grid search per endpoint × modality × algorithm, inside the training set.

Each candidate is a whole modality pipeline (imputation → filters → z-score → selection → model) tuned
by :class:`~sklearn.model_selection.GridSearchCV` on the given folds; per endpoint and modality the
algorithm with the best cross-validated metric is chosen (:func:`choose_best`).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline

from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.fusion import BayesianModelAveragingSurvival, LateFusionClassifier
from PRIMELib.models.pipelines import model_pipeline
from PRIMELib.models.response import RESPONSE_GRIDS
from PRIMELib.models.survival import SURVIVAL_GRIDS, concordance_scorer
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.training.config import TrainingConfig

__all__ = ["Candidate", "choose_best", "fit_candidates", "forget_memory", "plan"]

#: Above this many feature columns the per-fold preprocessing and selection are cached (see fit_candidates).
CACHE_FROM_FEATURES = 200
SCORING = {"response": "roc_auc", "survival": concordance_scorer}


@dataclass
class Candidate:
    endpoint: str
    modality: str
    algorithm: str
    search: GridSearchCV
    seconds: float


def plan(config: TrainingConfig, modalities: list[str]) -> list[tuple[str, str, str]]:
    """(endpoint, modality, algorithm) of every grid search, in the order they run."""
    algorithms = {"response": config.response_algorithms, "survival": config.survival_algorithms}
    return [(e, m, a) for e in ("response", "survival") for m in modalities for a in algorithms[e]]


def fit_candidates(
    steps: list[tuple[str, str, str]],
    X: dict[str, pd.DataFrame],
    labels: dict[str, np.ndarray],
    folds: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    columns: dict[str, list[str]],
    config: TrainingConfig,
    *,
    memory: str | None = None,
    progress: ProgressCallback | None = None,
    fraction=lambda i: 0.0,
) -> list[Candidate]:
    """Grid-search every (endpoint, modality, algorithm) of ``steps`` on ``X[endpoint]`` and
    ``labels[endpoint]`` (each endpoint has its own cases).

    ``memory``: a folder caching preprocessing and selection, which are the same for every algorithm
    and grid point of a modality (worth it only when selection is costly: many features).
    ``fraction(i)``: the progress fraction reported before step ``i``.
    """
    grids = {"response": RESPONSE_GRIDS[config.grid], "survival": SURVIVAL_GRIDS[config.grid]}
    candidates = []
    for i, (endpoint, modality, algorithm) in enumerate(steps):
        report(
            progress, fraction(i), f"Grid search {i + 1}/{len(steps)}: {endpoint}, {modality}, {algorithm}"
        )
        t0 = time.perf_counter()
        pipeline = model_pipeline(
            endpoint, modality, algorithm, columns,
            random_state=config.random_state, memory=memory, settings=config.selection,
        )  # fmt: skip
        grid = {f"model__{key}": values for key, values in grids[endpoint][algorithm].items()}
        search = GridSearchCV(
            pipeline, grid or {"model__random_state": [config.random_state]},
            scoring=SCORING[endpoint], cv=folds[endpoint], n_jobs=config.n_jobs, error_score="raise",
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            try:
                search.fit(X[endpoint], labels[endpoint])
            except ValueError as error:
                if "n_neighbors <= n_samples" not in str(error):
                    raise
                # Stacking's k-nearest-neighbours member (k = 15) fits on 4/5 of an inner training fold:
                # a small cohort split by outer and inner folds leaves it fewer cases than k.
                raise PRIMEInputError(
                    f"The {endpoint} {modality} '{algorithm}' model has too few cases to fit in some "
                    f"cross-validation folds ({error}).",
                    field="response_algorithms",
                    value=algorithm,
                    expected="about 20 or more training cases in every inner fold of every outer fold",
                    hint="Train on more patients, use fewer outer folds (--outer-folds), or leave "
                    f"'{algorithm}' out of the response algorithms.",
                ) from error
        candidates.append(Candidate(endpoint, modality, algorithm, search, time.perf_counter() - t0))
    return candidates


def choose_best(candidates: list[Candidate], modalities: list[str]) -> dict[tuple[str, str], Candidate]:
    """Per endpoint and single modality (not early fusion), the candidate with the best CV score."""
    return {
        (endpoint, modality): max(
            (c for c in candidates if c.endpoint == endpoint and c.modality == modality),
            key=lambda c: c.search.best_score_,
        )
        for endpoint in ("response", "survival")
        for modality in modalities
        if modality != "early" and any(c.endpoint == endpoint and c.modality == modality for c in candidates)
    }


def forget_memory(obj) -> None:
    """Drop the (deleted) cache folder from every pipeline, so saved models carry no stray path."""
    if isinstance(obj, Pipeline):
        obj.memory = None
        for _, step in obj.steps:
            forget_memory(step)
    elif isinstance(obj, FeatureUnion):
        for _, part in obj.transformer_list:
            forget_memory(part)
    elif isinstance(obj, LateFusionClassifier | BayesianModelAveragingSurvival):
        for _, estimator in obj.estimators:
            forget_memory(estimator)
        for estimator in getattr(obj, "estimators_", []):
            forget_memory(estimator)
