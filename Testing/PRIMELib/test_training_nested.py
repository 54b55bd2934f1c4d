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
from PRIMELib.training import TrainingConfig, TrainingData, split_cohort, train_prime
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


def test_each_outer_fold_refits_everything_without_its_held_out_cases():
    """Changing the outcomes of the held-out cases changes nothing in that fold's predictions; changing
    one training case's outcome does (the test can fail)."""
    data = tiny()
    config = TrainingConfig(**TINY)
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


def test_the_nested_estimate_is_the_metric_of_the_pooled_out_of_fold_predictions():
    result = nested_result()
    nested = result.nested
    data = tiny()
    ids = [c for r in nested.results for c in r.test_ids]
    assert len(ids) == len(set(ids)) == result.cohort["train"]["n"]  # each training case held out once
    order = data.features.index.get_indexer(ids)
    y = data.response.to_numpy()[order]
    event, time = data.os_event.to_numpy()[order].astype(bool), data.os_days.to_numpy()[order]
    for name, key in (("prime_r", "auc"), ("clinical_logistic", "auc"), ("radiomics_random_forest", "auc")):
        pooled = np.concatenate([r.predictions[name] for r in nested.results])
        assert nested.metrics[name][key] == pytest.approx(roc_auc_score(y, pooled))
    for name in ("prime_s", "clinical_cox", "radiomics_coxnet"):
        pooled = np.concatenate([r.predictions[name] for r in nested.results])
        expected = concordance_index_censored(event, time, pooled)[0]
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
    """The outer folds run again in two spawned worker processes give the very same estimate."""
    serial = nested_result()
    config = TrainingConfig(**{**TINY, "n_jobs": 2})
    train = tiny().subset(split_cohort(tiny(), config)["train"])
    parallel = nested_estimate(train, config)
    assert parallel.metrics == serial.nested.metrics
    for a, b in zip(parallel.results, serial.nested.results, strict=True):
        assert a.test_ids == b.test_ids and a.chosen == b.chosen


def test_outer_fold_settings_are_checked():
    with pytest.raises(PRIMEInputError, match="at least 2 outer folds") as raised:
        TrainingConfig(outer_folds=1).check()
    assert raised.value.field == "outer_folds"
    data = cohort(n=24, n_radiomics=4, n_external=0)
    config = TrainingConfig(**{**TINY, "outer_folds": 20, "test_size": 0.0})
    with pytest.raises(PRIMEInputError, match="outer fold") as raised:
        train_prime(data, config)
    assert raised.value.field == "outer_folds" and "--outer-folds" in raised.value.hint


def test_shuffled_outcomes_give_nested_estimates_near_one_half():
    """A permutation test of the whole train_prime: outcomes shuffled across patients (response and
    survival rows kept together), so no input carries signal. With 150 patients the null SD of an AUC
    is about 0.05, so 0.5 ± 0.1 is about two SDs; the seed is fixed."""
    frame = cohort_frame(n=150, n_radiomics=6, n_external=0, seed=11)
    order = np.random.default_rng(11).permutation(len(frame))
    for column in ("response", "os_days", "os_event"):
        frame[column] = frame[column].to_numpy()[order]
    config = TrainingConfig(**{**TINY, "test_size": 0.0, "n_bootstrap": 0})
    nested = train_prime(TrainingData.from_frame(frame), config).metrics["nested"]
    assert nested["response"]["auc"] == pytest.approx(0.5, abs=0.1)
    assert nested["survival"]["c_index"] == pytest.approx(0.5, abs=0.1)


def test_nested_validation_on_a_local_dask_cluster_gives_the_same_estimate():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is in the cluster extra")
    serial = nested_result()
    config = TrainingConfig(**TINY)
    train = tiny().subset(split_cohort(tiny(), config)["train"])
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
