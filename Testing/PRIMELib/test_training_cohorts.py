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
    # The paper's clock (landmark_days=0): the survival counts below are the per-endpoint rule's alone
    # (the default 30-day landmark would also leave out the early deaths: tested below).
    config = TrainingConfig(**{**TINY, "outer_folds": 2, "test_size": 0.0, "landmark_days": 0})
    result = train_prime(data, config)

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


def test_with_one_month_features_prime_s_is_a_landmark_model_by_default():
    """By default (landmark_days "auto" = 30 with a one-month feature): patients who died or were
    censored by day 30 do not train PRIME-S (they still train PRIME-R), and the others are timed from
    the landmark; the cohort summary says how many."""
    frame = cohort_frame(n=80, n_radiomics=6, n_external=0, seed=5)
    frame.loc[["P003", "P004"], "os_days"] = [12.0, 30.0]  # died (or censored) by the landmark
    data = TrainingData.from_frame(frame)
    assert "delta_mon" in data.features.columns
    config = TrainingConfig(**{**TINY, "outer_folds": 0, "test_size": 0.0})
    assert config.landmark_days == "auto"
    result = train_prime(data, config)
    early = sorted(frame.index[frame.os_days <= 30])
    assert {"P003", "P004"} <= set(early)
    assert result.excluded_cases["before_landmark"] == early
    landmark = result.cohort["landmark"]
    assert landmark["days"] == 30.0 and landmark["features"] == ["delta_mon"]
    assert landmark["train"]["excluded"] == len(early)
    assert len(result.prime_s.oof_risk_) == 80 - len(early)
    assert len(result.prime_r.oof_meta_features_) == 80
    # The recorded bundle manifest's landmark is what evaluation and scoring read back.
    from PRIMELib.models.landmark import bundle_landmark

    assert bundle_landmark({"training": {"cohort": result.cohort}}) == 30.0


def test_the_landmark_rule_auto_a_number_or_none():
    """ "auto": 30 days only when a one-month feature is offered; a number: that landmark; 0 / None: the
    paper's way; anything else is refused by name."""
    with_delta, without = ["age", "delta_mon"], ["age", "afp"]
    assert TrainingConfig().landmark_for(with_delta) == 30.0
    assert TrainingConfig().landmark_for(without) is None
    assert TrainingConfig(landmark_days=45).landmark_for(with_delta) == 45.0
    assert TrainingConfig(landmark_days=0).landmark_for(with_delta) is None
    assert TrainingConfig(landmark_days=None).landmark_for(with_delta) is None
    for bad in (-5, float("nan"), "soon", True):
        with pytest.raises(PRIMEInputError, match="landmark") as error:
            TrainingConfig(landmark_days=bad).check()
        assert error.value.field == "landmark_days"


def test_the_paper_way_keeps_everyone_on_the_treatment_start_clock():
    frame = cohort_frame(n=60, n_radiomics=4, n_external=0, seed=5)
    frame.loc["P003", "os_days"] = 12.0
    data = TrainingData.from_frame(frame)
    config = TrainingConfig(**{**TINY, "outer_folds": 0, "test_size": 0.0, "landmark_days": 0})
    result = train_prime(data, config)
    assert result.excluded_cases["before_landmark"] == []
    assert result.cohort["landmark"]["days"] is None
    assert result.cohort["landmark"]["features"] == ["delta_mon"]
    assert "immortal-time bias" in result.cohort["landmark"]["note"]
    assert len(result.prime_s.oof_risk_) == 60


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


def test_stacking_with_too_few_cases_per_inner_fold_is_a_named_error():
    """Stacking's k-NN member (k = 15) fits on 4/5 of an inner fold: 40 patients, 7:3, 3 folds leave it
    about 15 cases. That was scikit-learn's bare 'Expected n_neighbors <= n_samples_fit' ValueError."""
    from model_cohort import FAST, cohort

    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.training import TrainingConfig, train_prime

    settings = {**FAST, "response_algorithms": ("stacking",), "survival_algorithms": ("fsvm",)}
    with pytest.raises(PRIMEInputError, match="too few cases") as error:
        train_prime(cohort(n=40, n_external=0), TrainingConfig(**settings))
    assert error.value.field == "response_algorithms"
    assert error.value.value == "stacking"
