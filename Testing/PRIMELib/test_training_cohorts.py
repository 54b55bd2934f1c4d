"""Per-endpoint cohorts and the missing-data rules of training: who trains which model, which cases
are left out, which columns are dropped or imputed — each reported, none silently."""

from __future__ import annotations

import numpy as np
import pytest
from model_cohort import cohort_frame
from test_training_nested import TINY

from PRIMELib.cohort_data import cases_without_radiomics
from PRIMELib.errors import PRIMEInputError
from PRIMELib.training import TrainingConfig, TrainingData, train_prime

NO_RADIOMICS = ["P000", "P001", "P002"]
SURVIVAL_ONLY = ["P010", "P011", "P012", "P013"]
RESPONSE_ONLY = ["P020", "P021"]


def partial_frame():
    frame = cohort_frame(n=80, n_radiomics=6, n_external=0, seed=3)
    radiomics = [c for c in frame.columns if c.startswith(("arterial_", "venous_"))]
    frame.loc[NO_RADIOMICS, radiomics] = np.nan
    frame.loc[SURVIVAL_ONLY, "response"] = np.nan
    frame.loc[RESPONSE_ONLY, ["os_days", "os_event"]] = np.nan
    frame["venous_original_firstorder_Blank"] = np.nan  # a column blank for everyone
    frame.loc[frame.index[1::2], "ast"] = np.nan  # a column half blank
    return frame


def test_a_case_with_one_endpoint_trains_that_endpoint_and_blank_radiomics_are_left_out_and_said():
    frame = partial_frame()
    with pytest.raises(PRIMEInputError, match="6 case"):  # by default, both outcomes are needed
        TrainingData.from_frame(frame)
    data = TrainingData.from_frame(frame, partial_outcomes=True)
    assert list(cases_without_radiomics(data.features)) == NO_RADIOMICS
    result = train_prime(data, TrainingConfig(**{**TINY, "outer_folds": 2, "test_size": 0.0}))

    trained = [c for c in frame.index if c not in NO_RADIOMICS]
    assert result.excluded_cases == {"no_radiomics": NO_RADIOMICS, "before_landmark": []}
    assert result.cohort["excluded_cases"]["no_radiomics"]["n"] == 3
    assert result.cohort["train"]["n"] == len(trained) == 77
    assert result.cohort["train"]["n_response"] == 77 - len(SURVIVAL_ONLY)
    assert result.cohort["train"]["n_survival"] == 77 - len(RESPONSE_ONLY)
    # PRIME-R's out-of-fold meta-features and PRIME-S's out-of-fold risks: one row per training case of
    # the endpoint, so the survival-only cases trained PRIME-S, the response-only ones PRIME-R.
    assert len(result.prime_r.oof_meta_features_) == 73
    assert len(result.prime_s.oof_risk_) == 75
    assert result.nested.metrics["prime_r"]["n"] == 73 and result.nested.metrics["prime_s"]["n"] == 75
    assert np.isfinite(result.metrics["nested"]["response"]["auc"])
    # Columns: the blank one is named as unused, the half-blank one as imputed, with its share.
    assert result.cohort["all_missing_columns"] == ["venous_original_firstorder_Blank"]
    expected = float(frame.loc[trained, "ast"].isna().mean())
    assert result.cohort["imputed_columns"]["ast"] == pytest.approx(expected, abs=1e-3)
    assert 0.4 < expected < 0.6


def test_a_case_with_neither_outcome_is_refused_by_name():
    frame = partial_frame()
    frame.loc["P030", ["response", "os_days", "os_event"]] = np.nan
    with pytest.raises(PRIMEInputError, match=r"1 case\(s\) lack both outcomes.*P030"):
        TrainingData.from_frame(frame, partial_outcomes=True)


def test_with_one_month_features_prime_s_can_be_a_landmark_model():
    """landmark_days=30: patients who died or were censored by day 30 do not train PRIME-S (they still
    train PRIME-R), and the others are timed from the landmark; the cohort summary says how many."""
    frame = cohort_frame(n=80, n_radiomics=6, n_external=0, seed=5)
    frame.loc[["P003", "P004"], "os_days"] = [12.0, 30.0]  # died (or censored) by the landmark
    data = TrainingData.from_frame(frame)
    assert "delta_mon" in data.features.columns
    config = TrainingConfig(**{**TINY, "outer_folds": 0, "test_size": 0.0, "landmark_days": 30.0})
    result = train_prime(data, config)
    early = sorted(frame.index[frame.os_days <= 30])
    assert {"P003", "P004"} <= set(early)
    assert result.excluded_cases["before_landmark"] == early
    landmark = result.cohort["landmark"]
    assert landmark["days"] == 30.0 and landmark["features"] == ["delta_mon"]
    assert landmark["train"]["excluded"] == len(early)
    assert len(result.prime_s.oof_risk_) == 80 - len(early)
    assert len(result.prime_r.oof_meta_features_) == 80
    # The paper's way (no landmark) keeps everyone on the treatment-start clock.
    assert TrainingConfig().landmark_days is None


def test_a_single_case_without_a_response_reading_does_not_stop_the_stratified_splits():
    """A lone "no response" stratum is too small to stratify on: it joins another, in the 7:3 split
    and in the outer folds, instead of failing the split."""
    from PRIMELib.training import split_cohort
    from PRIMELib.training.nested import outer_folds

    frame = cohort_frame(n=60, n_radiomics=4, n_external=0, seed=8)
    frame.loc["P005", "response"] = np.nan
    data = TrainingData.from_frame(frame, partial_outcomes=True)
    split = split_cohort(data, TrainingConfig())
    assert sorted([*split["train"], *split["test"]]) == sorted(frame.index)
    held_out = [c for _, _, _, test in outer_folds(data, TrainingConfig(outer_folds=5)) for c in test]
    assert sorted(held_out) == sorted(frame.index)
