"""Training PRIME-R and PRIME-S from a cohort: splits, grid search inside the training set, fusion.

What happens (METHOD.md), in order:

1. **Split**: a whole centre (``external_centre``, by the ``centre`` column) becomes the external set;
   the rest is split 7:3, stratified by response × death, into training and internal test sets. A case
   whose radiomics are all blank is left out (:mod:`PRIMELib.cohort_data`); each endpoint trains on the
   cases with a reading of it (per-endpoint cohorts).
2. **Nested validation** (the headline estimate, ``outer_folds``): steps 3–6 are run inside every fold
   of an outer cross-validation of the training set and scored on the held-out fold
   (:mod:`~PRIMELib.training.nested`), beside plain baselines (:mod:`~PRIMELib.training.baselines`).
   Then steps 3–6 are run once more on the whole training set: the final models.
3. **Candidates**: for each endpoint (response, survival), modality (clinical, radiomics, early fusion)
   and algorithm, a pipeline (imputation → filters → z-score → selection → model) is tuned by grid
   search with k-fold cross-validation **inside the training set only**.
4. **Choice**: per endpoint and modality, the algorithm with the best cross-validated metric (AUC,
   Harrell's C). Test and external metrics are reported for every candidate and never used to choose.
5. **Fusion**: PRIME-R = late fusion of the chosen clinical and radiomics models (out-of-fold
   probabilities → logistic meta-classifier); PRIME-S = Bayesian model averaging of the chosen clinical
   and radiomics survival models (or of all of them), weights from training cross-validation.
6. **Freeze**: the response threshold, the risk cut-off (training median of the PRIME-S risk score),
   every fitted scaler, median, selected feature and weight are kept with the models, and applied
   unchanged to test and external data.

Every metric is labelled by kind (:data:`~PRIMELib.training.report.METRIC_KINDS`): nested CV,
selection-CV (optimistic), apparent (optimistic), internal test, external.

Seeds: one ``random_state`` drives splits, folds and models; the same seed gives the same models.

Package layout, along the steps above:

- :mod:`PRIMELib.cohort_data` (below this package; evaluation shares it): reading and joining the cohort
  tables, :class:`TrainingData`, the case-id digests.
- :mod:`~PRIMELib.training.cohort`: the split, fold checks and the cohort summary.
- :mod:`~PRIMELib.training.candidates`: the grid searches and the choice per endpoint and modality.
- :mod:`~PRIMELib.training.fusion`: PRIME-R and PRIME-S from the chosen candidates.
- :mod:`~PRIMELib.training.procedure`: the whole procedure on one training set (:func:`fit_procedure`).
- :mod:`~PRIMELib.training.nested`: the outer cross-validation around it, in parallel or on Dask.
- :mod:`~PRIMELib.training.baselines`: clinical logistic / Cox, radiomics random forest / Coxnet.
- :mod:`~PRIMELib.training.report`: the candidate table and the metrics, labelled by kind.
- :mod:`~PRIMELib.training.train`: :func:`train_prime`.
"""

from __future__ import annotations

from PRIMELib.cohort_data import (
    _ID_COLUMNS,
    EXCLUDED_CLINICAL,
    TrainingData,
    case_id_salt,
    hash_case_ids,
    load_training_data,
    read_cohort_tables,
    read_feature_table,
)
from PRIMELib.training.cohort import split_cohort
from PRIMELib.training.config import TrainingConfig, TrainingResult
from PRIMELib.training.procedure import FittedProcedure, fit_procedure
from PRIMELib.training.train import train_prime

__all__ = [
    "EXCLUDED_CLINICAL",
    "_ID_COLUMNS",
    "FittedProcedure",
    "TrainingConfig",
    "TrainingData",
    "TrainingResult",
    "case_id_salt",
    "fit_procedure",
    "hash_case_ids",
    "load_training_data",
    "read_cohort_tables",
    "read_feature_table",
    "split_cohort",
    "train_prime",
]
