"""No leakage: selection inside the folds, and nothing learnt from test or external rows.

Permutation test. With the labels permuted, nothing can be learnt, so an honest cross-validation must
score near chance. Bound: the AUC of a random score on n = 120 cases with about half responders has a
standard deviation of sqrt((n1 + n0 + 1) / (12 n1 n0)) ≈ 0.053 (Hanley & McNeil); the mean of five
per-fold AUCs on folds of 24 is noisier, about 0.07–0.09 here, and the C-index under the null about as
variable. Averaging five permutations brings it to about 0.035, so we require |mean − 0.5| < 0.1
(about 3 SD: a false alarm well under 1 in 100). Cross-validation under the null also leans slightly
below 0.5 (held-out folds are anti-correlated with their training folds), which the bound allows for.
Selecting features on all rows before cross-validating — the classic leak — exceeds the bound on the
same data, which the test also shows: the bound has the power to catch a leak.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from model_cohort import FAST, cohort, trained
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from PRIMELib.models import SelectionSettings, concordance_scorer, model_pipeline, split_modalities
from PRIMELib.training import TrainingConfig, TrainingData, split_cohort, train_prime

BOUND = 0.1


def _permuted(seed: int):
    data = cohort(n=120, n_radiomics=30, seed=seed, n_external=0)
    rng = np.random.default_rng(100 + seed)
    order = rng.permutation(len(data.features))
    return data, data.response.to_numpy()[order], data.survival[order]


def test_permuted_labels_give_chance_level_cross_validated_auc_and_c_index():
    aucs, c_indices, leaky = [], [], []
    for seed in range(5):
        data, response, survival = _permuted(seed)
        columns = split_modalities(data.features.columns)
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        settings = SelectionSettings(cv_folds=3)  # the inner CV of the elastic net, kept small here
        response_model = model_pipeline(
            "response", "early", "rotation_forest", columns, random_state=seed, settings=settings
        )
        response_model.set_params(model__n_estimators=20)
        aucs.append(
            cross_val_score(response_model, data.features, response, cv=folds, scoring="roc_auc").mean()
        )
        survival_model = model_pipeline(
            "survival", "early", "fsvm", columns, random_state=seed, settings=settings
        )
        survival_folds = list(folds.split(data.features, survival["event"]))
        c_indices.append(
            cross_val_score(
                survival_model, data.features, survival, cv=survival_folds, scoring=concordance_scorer
            ).mean()
        )
        # The leak, for contrast: the 5 features most associated with the labels, chosen on all 120
        # rows, then cross-validated.
        z = (data.features - data.features.mean()) / data.features.std()
        chosen = z.corrwith(pd.Series(response, index=z.index)).abs().sort_values().index[-5:]
        leaky.append(
            cross_val_score(LogisticRegression(), z[chosen], response, cv=folds, scoring="roc_auc").mean()
        )
    print(f"permuted labels, CV AUC {np.round(aucs, 3)}, C-index {np.round(c_indices, 3)}")
    print(f"permuted labels, selection outside CV (leaky) AUC {np.round(leaky, 3)}")
    assert abs(np.mean(aucs) - 0.5) < BOUND
    assert abs(np.mean(c_indices) - 0.5) < BOUND
    assert np.mean(leaky) - 0.5 > BOUND  # the bound would catch a leak


def _disturb(data: TrainingData, ids, seed: int) -> TrainingData:
    """The same cohort with the given rows' features and outcomes replaced by noise."""
    rng = np.random.default_rng(seed)
    features = data.features.copy()
    rows = features.index.isin(ids)
    features.loc[rows] = rng.normal(size=(rows.sum(), features.shape[1])) * 100
    response, days, event = data.response.copy(), data.os_days.copy(), data.os_event.copy()
    response.loc[rows] = rng.integers(0, 2, rows.sum())
    days.loc[rows] = rng.uniform(1, 3000, rows.sum())
    event.loc[rows] = rng.integers(0, 2, rows.sum())
    return TrainingData(features, response, days, event, data.centre)


def test_test_and_external_rows_influence_nothing_that_is_learnt():
    data = cohort()
    config = TrainingConfig(external_centre="B", **FAST)
    split = split_cohort(data, config)  # the split itself is stratified by the internal labels
    held_out = split["test"].append(split["external"])
    disturbed = _disturb(data, held_out, seed=5)

    first = trained()  # train_prime(data, config), shared with other tests
    second = train_prime(disturbed, config, split=split)

    probe = data.features  # every case, on the original values
    assert np.array_equal(first.prime_r.predict_proba(probe), second.prime_r.predict_proba(probe))
    assert np.array_equal(first.prime_s.predict(probe), second.prime_s.predict(probe))
    assert np.array_equal(first.prime_s.weights_, second.prime_s.weights_)
    assert first.selected_features == second.selected_features
    assert first.reference_values == second.reference_values
    assert first.clinical_medians == second.clinical_medians
    assert (first.response_threshold, first.risk_cutoff) == (second.response_threshold, second.risk_cutoff)
    columns = ["endpoint", "modality", "algorithm", "cv_mean", "cv_sd", "params", "chosen"]
    pd.testing.assert_frame_equal(first.summary[columns], second.summary[columns])
    # …while the test-set metrics, computed on the disturbed rows, do change.
    assert not first.summary["test"].equals(second.summary["test"])
