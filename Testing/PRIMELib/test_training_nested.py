"""Nested validation: the whole procedure refitted inside every outer fold, its pooled out-of-fold
estimate with a CI, the baselines beside it, metrics labelled by kind, and a permutation test."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from model_cohort import cohort, cohort_frame
from sklearn.metrics import roc_auc_score
from sksurv.metrics import concordance_index_censored

from PRIMELib.errors import PRIMEInputError
from PRIMELib.models import SelectionSettings
from PRIMELib.models.pipelines import split_modalities
from PRIMELib.training import TrainingConfig, TrainingData, split_cohort, train_prime
from PRIMELib.training.cohort import apply_landmark
from PRIMELib.training.nested import nested_estimate, outer_folds, run_outer_fold

#: One algorithm per endpoint, one grid point, 3 inner and 3 outer folds: the cheapest whole procedure.
TINY = {
    "grid": "quick",
    "cv_folds": 3,
    "selection": SelectionSettings(cv_folds=3),
    "response_algorithms": ("gtbr",),
    "survival_algorithms": ("fsvm",),
    "n_bootstrap": 50,
    "outer_folds": 3,
}


def tiny() -> TrainingData:
    return cohort(n=80, n_radiomics=6, n_external=0)


@functools.cache
def nested_result():
    return train_prime(tiny(), TrainingConfig(**TINY))


@pytest.mark.parametrize("algorithm", ["gtbr", "stacking"])
def test_each_outer_fold_refits_everything_without_its_held_out_cases(algorithm):
    """Changing the outcomes of the held-out cases changes nothing in that fold's predictions; changing
    one training case's outcome does (the test can fail). Stacking too, whose internal folds are one
    more place a leak could hide (on shuffled outcomes, 12 cohorts of 100, its nested AUC averaged
    0.47, SD 0.06)."""
    data = tiny() if algorithm == "gtbr" else cohort(n=120, n_radiomics=6, n_external=0)
    config = TrainingConfig(**{**TINY, "response_algorithms": (algorithm,)})
    repeat, fold, train_ids, test_ids = outer_folds(data, config)[0]
    first = run_outer_fold(data, repeat, fold, train_ids, test_ids, config)
    flipped = data.subset(data.features.index)
    flipped.response = flipped.response.copy()
    flipped.os_days = flipped.os_days.copy()
    flipped.response.loc[test_ids] = 1 - flipped.response.loc[test_ids]
    flipped.os_days.loc[test_ids] = flipped.os_days.loc[test_ids][::-1].to_numpy()
    again = run_outer_fold(flipped, repeat, fold, train_ids, test_ids, config)
    assert first.predictions.keys() == again.predictions.keys()
    for name, values in first.predictions.items():
        np.testing.assert_array_equal(values, again.predictions[name], err_msg=name)
    leaked = data.subset(data.features.index)
    leaked.response = leaked.response.copy()
    leaked.response.loc[train_ids[:6]] = 1 - leaked.response.loc[train_ids[:6]]
    changed = run_outer_fold(leaked, repeat, fold, train_ids, test_ids, config)
    assert not np.array_equal(first.predictions["prime_r"], changed.predictions["prime_r"])


def test_outer_folds_skip_the_early_fusion_candidates_which_change_no_prediction():
    """Early fusion is only compared in the report: a fold fitted without its candidates predicts
    exactly what the full procedure predicts, with fewer grid searches."""
    from PRIMELib.training.procedure import fit_procedure

    data = tiny()
    config = TrainingConfig(**TINY)
    _, _, train_ids, test_ids = outer_folds(data, config)[0]
    train, test = data.subset(train_ids), data.subset(test_ids)
    full = fit_procedure(train, config)
    lean = fit_procedure(train, config, early_fusion=False)
    assert {c.modality for c in full.candidates} == {"clinical", "radiomics", "early"}
    assert {c.modality for c in lean.candidates} == {"clinical", "radiomics"}
    np.testing.assert_array_equal(full.predict_response(test.features), lean.predict_response(test.features))
    np.testing.assert_array_equal(full.predict_risk(test.features), lean.predict_risk(test.features))
    assert (full.threshold, full.risk_cutoff) == (lean.threshold, lean.risk_cutoff)


def test_the_nested_estimate_is_the_metric_of_the_pooled_out_of_fold_predictions():
    result = nested_result()
    nested = result.nested
    data = tiny()
    ids = [c for r in nested.results for c in r.test_ids]
    assert len(ids) == len(set(ids)) == result.cohort["train"]["n"]  # each training case held out once
    order = data.features.index.get_indexer(ids)
    y = data.response.to_numpy()[order]
    # PRIME-S (ΔMON offered) is a 30-day landmark model: its cases are those alive past day 30, timed
    # from it, in the same pooled order.
    assert result.cohort["landmark"]["days"] == 30.0
    landmarked, _ = apply_landmark(data, 30.0)
    alive = landmarked.has_survival.to_numpy()[order]
    event = landmarked.os_event.to_numpy()[order][alive].astype(bool)
    time = landmarked.os_days.to_numpy()[order][alive]
    for name, key in (("prime_r", "auc"), ("clinical_logistic", "auc"), ("radiomics_random_forest", "auc")):
        pooled = np.concatenate([r.predictions[name] for r in nested.results])
        assert nested.metrics[name][key] == pytest.approx(roc_auc_score(y, pooled))
    for name in ("prime_s", "clinical_cox", "radiomics_coxnet"):
        pooled = np.concatenate([r.predictions[name] for r in nested.results])
        expected = concordance_index_censored(event, time, pooled[alive])[0]
        assert nested.metrics[name]["c_index"] == pytest.approx(expected)
    for name, entry in nested.metrics.items():
        key = "auc" if "auc" in entry else "c_index"
        low, high = entry[f"{key}_ci95"]
        assert low <= entry[key] <= high, name
        assert len(entry[f"{key}_per_fold"]) == 3
    # The signal of the synthetic cohort is found by the nested procedure too.
    assert result.metrics["nested"]["response"]["auc"] > 0.7
    assert result.metrics["nested"]["survival"]["c_index"] > 0.55


def test_every_metric_is_labelled_by_kind_and_the_baselines_sit_beside_the_fused_models():
    result = nested_result()
    metrics = result.metrics
    assert next(iter(metrics)) == "nested"  # the headline first
    kinds = {name: entry["kind"] for name, entry in metrics.items()}
    assert kinds == {
        "nested": "nested CV",
        "test": "internal test",
        "cv": "selection-CV",
        "train": "apparent",
    }
    assert "optimistic" in metrics["cv"]["note"] and "optimistic" in metrics["train"]["note"]
    assert set(metrics["nested"]["baselines"]) == {
        "clinical_logistic", "radiomics_random_forest", "clinical_cox", "radiomics_coxnet",
    }  # fmt: skip
    assert set(metrics["test"]["baselines"]) == set(metrics["nested"]["baselines"])
    summary = result.summary
    fused = summary[summary.fusion.str.startswith("late")]
    assert fused.nested.tolist() == pytest.approx(
        [metrics["nested"]["response"]["auc"], metrics["nested"]["survival"]["c_index"]]
    )
    baselines = summary[summary.fusion == "baseline"]
    assert baselines.nested.notna().all()
    # Candidates are not nested-estimated (their selection-CV is what chose them).
    assert summary[summary.fusion.isin(["none", "early"])].nested.isna().all()


def test_nested_validation_is_repeatable_with_its_seed_and_the_same_in_parallel():
    """The outer folds run again in two spawned worker processes give the very same estimate; the final
    fit run as one more task of that pool gives the very models train_prime fits after the folds."""
    serial = nested_result()
    config = TrainingConfig(**{**TINY, "n_jobs": 2})
    data = tiny()  # as train_prime sees it: PRIME-S counted from the one-month landmark
    landmark = config.landmark_for(split_modalities(data.features.columns)["clinical"])
    if landmark:
        data = apply_landmark(data, landmark)[0]
    train = data.subset(split_cohort(tiny(), config)["train"])
    parallel = nested_estimate(train, config, final_fit=True)
    assert parallel.metrics == serial.nested.metrics
    for a, b in zip(parallel.results, serial.nested.results, strict=True):
        assert a.test_ids == b.test_ids and a.chosen == b.chosen
    final, cases = parallel.final, tiny().features
    np.testing.assert_array_equal(final.predict_response(cases), serial.prime_r.predict_proba(cases)[:, 1])
    np.testing.assert_array_equal(final.predict_risk(cases), serial.prime_s.predict(cases))
    days = [180.0, 365.0, 730.0]
    np.testing.assert_array_equal(
        final.prime_s.survival_at(cases, days), serial.prime_s.survival_at(cases, days)
    )
    assert (final.threshold, final.risk_cutoff) == (serial.response_threshold, serial.risk_cutoff)


def test_outer_fold_settings_are_checked():
    with pytest.raises(PRIMEInputError, match="at least 2 outer folds") as raised:
        TrainingConfig(outer_folds=1).check()
    assert raised.value.field == "outer_folds"
    data = cohort(n=24, n_radiomics=4, n_external=0)
    config = TrainingConfig(**{**TINY, "outer_folds": 20, "test_size": 0.0})
    with pytest.raises(PRIMEInputError, match="outer fold") as raised:
        train_prime(data, config)
    assert raised.value.field == "outer_folds" and "--outer-folds" in raised.value.hint


#: Shuffles the permutation test averages over, and its cohort size.
PERMUTATIONS, NULL_PATIENTS = 3, 150


def test_shuffled_outcomes_give_nested_estimates_near_one_half():
    """A permutation test of the whole procedure, nested: outcomes shuffled across patients (response and
    survival rows kept together), so no input carries signal, and the nested estimate run on each of
    ``PERMUTATIONS`` shuffles; their mean must be 0.5 ± 0.07 (the issue's bar).

    One shuffle is not enough: with 150 patients and 3 outer folds a single nested AUC or C-index
    spreads about ±0.05 around its mean (0.36 was seen). And pooled out-of-fold estimates
    under the null sit somewhat *below* 0.5 on small cohorts, a known effect of cross-validation (the
    outcomes are a permutation of fixed values, so a chance association the rest of the cohort teaches
    is, on average, reversed in the held-out fold): measured with this configuration, a mean
    of about 0.45 (AUC) with 100 patients and 0.48 with 150, where 15 shuffles over 5 cohorts gave
    AUC 0.42–0.54 and C 0.41–0.54. Hence 150 patients and the mean of 3 shuffles (SD of the mean about
    0.02): every cohort seed tried, 1 to 5 and 11, kept both means within the bar (lowest 0.455)."""
    frame = cohort_frame(n=NULL_PATIENTS, n_radiomics=6, n_external=0, seed=11)
    rng = np.random.default_rng(11)
    config = TrainingConfig(**{**TINY, "test_size": 0.0, "n_bootstrap": 0})
    auc, c_index = [], []
    for _ in range(PERMUTATIONS):
        order = rng.permutation(len(frame))
        shuffled = frame.copy()
        for column in ("response", "os_days", "os_event"):
            shuffled[column] = frame[column].to_numpy()[order]
        metrics = nested_estimate(TrainingData.from_frame(shuffled), config).metrics
        auc.append(metrics["prime_r"]["auc"])
        c_index.append(metrics["prime_s"]["c_index"])
    print(f"\nshuffled outcomes, nested AUC {np.round(auc, 3)}, C-index {np.round(c_index, 3)}")
    assert np.mean(auc) == pytest.approx(0.5, abs=0.07), auc
    assert np.mean(c_index) == pytest.approx(0.5, abs=0.07), c_index


def test_nested_validation_on_a_local_dask_cluster_gives_the_same_estimate():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is in the cluster extra")
    serial = nested_result()
    config = TrainingConfig(**TINY)
    # As train_prime sees it: PRIME-S counted from the one-month landmark (ΔMON offered).
    landmarked, _ = apply_landmark(tiny(), config.landmark_for(tiny().features.columns))
    train = landmarked.subset(split_cohort(tiny(), config)["train"])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = nested_estimate(train, config, scheduler=cluster.scheduler_address)
    assert remote.metrics == serial.nested.metrics


def test_the_model_card_labels_every_row_by_kind_and_shows_the_baselines():
    from PRIMELib.bundle.card import model_card_markdown

    result = nested_result()
    card = model_card_markdown(
        {
            "name": "nested",
            "metrics": result.metrics,
            "training": {"cohort": result.cohort, "config": result.config.to_dict()},
        }
    )
    nested = result.metrics["nested"]
    auc, (low, high) = nested["response"]["auc"], nested["response"]["auc_ci95"]
    assert f"| nested CV | {auc:.2f} ({low:.2f}–{high:.2f}) |" in card
    for kind in ("selection-CV", "apparent", "internal test"):
        assert f"| {kind} |" in card and f"- **{kind}**:" in card
    assert "Nested validation: 3-fold outer cross-validation" in card
    assert "### Against plain baselines (does fusion help?)" in card
    logistic = nested["baselines"]["clinical_logistic"]
    test_value = result.metrics["test"]["baselines"]["clinical_logistic"]
    row = next(line for line in card.splitlines() if line.startswith("| clinical logistic |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    low, high = logistic["auc_ci95"]
    assert cells == [
        "clinical logistic",
        "AUC",
        f"{logistic['auc']:.2f} ({low:.2f}–{high:.2f})",
        f"{test_value:.2f}",
    ]
