"""Evaluating a trained bundle on a cohort: sets, per-case predictions, metrics, hazard ratios, importance.

The bundle is the session's test bundle (trained once, :mod:`model_cohort`); the cohort is the one it
was trained on, so the bundle's own split, and the metrics training recorded, are known references.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from model_cohort import bundle_path, cohort, cohort_frame, trained
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from sksurv.metrics import concordance_index_censored

from PRIMELib.bundle import load_bundle
from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation.cohort_sets import as_evaluation_cohort, resolve_sets
from PRIMELib.evaluation.evaluate import evaluate_bundle
from PRIMELib.evaluation.metrics import (
    default_subgroups,
    hazard_ratio,
    kaplan_meier,
    response_metrics,
    subgroup_hazard_ratios,
    survival_metrics,
)
from PRIMELib.evaluation.results import PRIME_R, feature_family
from PRIMELib.io import to_jsonable
from PRIMELib.models.survival_data import make_survival_labels
from PRIMELib.training import split_cohort

N_BOOTSTRAP = 20


def _frame() -> pd.DataFrame:
    """The training cohort plus two non-input columns: a covariate and a treatment regimen."""
    frame = cohort_frame()
    rng = np.random.default_rng(7)
    frame["subsequent_therapy"] = rng.integers(0, 2, len(frame))
    frame["interventional"] = rng.choice(["TACE", "HAIC", "TACE+HAIC"], len(frame))
    return frame


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(bundle_path())


@pytest.fixture(scope="module")
def evaluation(bundle):
    return evaluate_bundle(
        bundle, _frame(), n_bootstrap=N_BOOTSTRAP, adjust_for=["subsequent_therapy", "interventional"]
    )


def _labels(rows: pd.DataFrame) -> np.ndarray:
    return make_survival_labels(rows["os_event"].to_numpy(), rows["os_days"].to_numpy())


#: The test bundle offers ΔMON, so PRIME-S is a 30-day landmark model (models/landmark.py).
LANDMARK = 30.0


def _at_landmark(rows: pd.DataFrame) -> pd.DataFrame:
    """PRIME-S's cases as training had them: alive past the landmark, timed from it."""
    kept = rows[rows["os_days"] > LANDMARK].copy()
    kept["os_days"] -= LANDMARK
    return kept


def test_the_bundles_own_split_is_found_from_digests_without_storing_case_ids(bundle, evaluation):
    truth = split_cohort(cohort(), trained().config)  # the split training made, recomputed
    predictions = evaluation.predictions
    for name in ("train", "test", "external"):
        assert set(predictions.index[predictions["set"] == name]) == set(truth[name]), name
        assert evaluation.sets[name].counts["n"] == bundle.manifest["training"]["cohort"][name]["n"]
    assert list(evaluation.sets) == ["train", "test", "external"]
    assert "the model's own split" in evaluation.settings["sets"]
    manifest = json.dumps(bundle.manifest)
    assert not any(case in manifest for case in cohort().features.index)  # no identifier in the bundle


def test_predictions_equal_bundle_score_case_by_case(bundle, evaluation):
    predictions = evaluation.predictions
    features = cohort().features
    for case in features.index[::12]:
        scored = bundle.score(features.loc[case].to_dict(), case_id=case)
        row = predictions.loc[case]
        assert row["prime_r_probability"] == scored.response_probability
        assert row["prime_s_risk"] == scored.risk_score
        assert row["risk_group"] == scored.risk_group and row["quadrant"] == scored.quadrant
        for month in (6, 12, 24, 36):
            assert row[f"survival_{month}_months"] == scored.survival[f"{month}_months"]
    # Batch routes through the fitted models agree with the per-case scores, and give the members.
    inputs = features.loc[predictions.index]
    np.testing.assert_allclose(
        predictions["prime_r_probability"], bundle.prime_r.predict_proba(inputs)[:, 1], rtol=1e-9
    )
    np.testing.assert_allclose(
        predictions["prime_s_risk"], bundle.prime_s.predict(inputs), rtol=1e-9, atol=1e-12
    )
    for name in ("clinical", "radiomics"):
        member = bundle.prime_r.named_estimators_[name]
        np.testing.assert_allclose(predictions[f"{name}_probability"], member.predict_proba(inputs)[:, 1])
    assert (
        predictions["risk_group"] == np.where(predictions["prime_s_risk"] > bundle.risk_cutoff, "high", "low")
    ).all()
    assert len(predictions) == 120 and not evaluation.excluded


def test_metrics_are_those_of_the_metric_functions_and_of_training(bundle, evaluation):
    predictions = evaluation.predictions
    assert bundle.manifest["training"]["cohort"]["landmark"]["days"] == LANDMARK
    train = _at_landmark(predictions[predictions["set"] == "train"])
    for name in ("test", "external"):
        rows = predictions[predictions["set"] == name]
        kept = _at_landmark(rows)
        result = evaluation.sets[name]
        assert result.censoring_reference == name  # IPCW: the evaluated set's own censoring
        for model, column in ((PRIME_R, "prime_r_probability"), ("clinical", "clinical_probability")):
            direct = response_metrics(
                rows["response"], rows[column], bundle.response_threshold, n_bootstrap=N_BOOTSTRAP
            )
            assert to_jsonable(result.response[model]) == to_jsonable(direct)  # NaN-aware
        inputs = cohort().features.loc[kept.index]
        direct = survival_metrics(
            _labels(train), _labels(kept), kept["prime_s_risk"].to_numpy(),
            lambda times, inputs=inputs: bundle.prime_s.survival_at(inputs, times),
            risk_cutoff=bundle.risk_cutoff, n_bootstrap=N_BOOTSTRAP,
        )  # fmt: skip
        for key in ("c_index", "uno_c_index", "integrated_brier", "hazard_ratio", "td_auc", "td_brier"):
            assert result.survival[key] == pytest.approx(direct[key], rel=1e-12), key
        # Independent implementations on the same cases.
        assert result.response[PRIME_R]["auc"] == pytest.approx(
            roc_auc_score(
                rows["response"], bundle.prime_r.predict_proba(cohort().features.loc[rows.index])[:, 1]
            )
        )
        harrell = concordance_index_censored(
            kept["os_event"].astype(bool), kept["os_days"], bundle.prime_s.predict(inputs)
        )[0]
        assert result.survival["c_index"] == pytest.approx(harrell)
        # The same numbers training recorded in the manifest for these sets.
        recorded = bundle.manifest["metrics"][name]
        assert result.response[PRIME_R]["auc"] == pytest.approx(recorded["response"]["auc"])
        assert result.survival["c_index"] == pytest.approx(recorded["survival"]["c_index"])
        assert result.survival["integrated_brier"] == pytest.approx(recorded["survival"]["integrated_brier"])


def test_kaplan_meier_hazard_ratios_and_subgroups_use_the_frozen_risk_groups(bundle, evaluation):
    predictions = evaluation.predictions
    frame = _frame()
    rows = _at_landmark(predictions[predictions["set"] == "external"])  # PRIME-S's cases
    result = evaluation.sets["external"]
    event, time = rows["os_event"].to_numpy().astype(bool), rows["os_days"].to_numpy()
    high = (rows["prime_s_risk"] > bundle.risk_cutoff).to_numpy()
    km = kaplan_meier(event, time, np.where(high, "high risk", "low risk"), at_risk_times=[0.0])
    for group in ("high risk", "low risk"):
        assert (
            result.kaplan_meier[group]["n"]
            == km[group]["n"]
            == (high if group == "high risk" else ~high).sum()
        )
        assert result.kaplan_meier[group]["survival"] == km[group]["survival"]
        assert result.kaplan_meier[group]["at_risk"][0.0] == km[group]["n"]  # everyone at risk at 0
    assert result.kaplan_meier["logrank_p"] == pytest.approx(km["logrank_p"])
    assert result.hazard_ratios["unadjusted"] == hazard_ratio(event, time, high)
    covariates = pd.DataFrame(
        {
            "subsequent_therapy": frame.loc[rows.index, "subsequent_therapy"].to_numpy(float),
            "interventional_TACE": (frame.loc[rows.index, "interventional"] == "TACE").to_numpy(float),
            "interventional_TACE+HAIC": (frame.loc[rows.index, "interventional"] == "TACE+HAIC").to_numpy(
                float
            ),
        }
    )
    adjusted = hazard_ratio(event, time, high, adjust_for=covariates)
    assert result.hazard_ratios["adjusted"]["hazard_ratio"] == pytest.approx(adjusted["hazard_ratio"])
    assert adjusted["hazard_ratio"] != pytest.approx(result.hazard_ratios["unadjusted"]["hazard_ratio"])
    cox = {row["covariate"]: row for row in result.hazard_ratios["cox_model"]["rows"]}
    assert set(cox) == {"high_risk", *covariates.columns}
    assert cox["high_risk"]["hr"] == pytest.approx(adjusted["hazard_ratio"])
    subgroups = subgroup_hazard_ratios(event, time, high, default_subgroups(frame.loc[rows.index]))
    assert [r["subgroup"] for r in result.subgroups] == list(subgroups["subgroup"])
    assert "TACE+HAIC" in [r["subgroup"] for r in result.subgroups]
    assert [r["n"] for r in result.subgroups] == list(subgroups["n"])


def test_importance_is_the_mean_absolute_contribution_and_correlation_spearmans(bundle, evaluation):
    predictions = evaluation.predictions
    ids = predictions.index[predictions["set"] == "test"]
    features = cohort().features
    totals: dict[str, dict[str, float]] = {"response": {}, "survival": {}}
    for case in ids:
        scored = bundle.score(features.loc[case].to_dict(), case_id=case)
        for endpoint, items in (
            ("response", scored.response_contributions),
            ("survival", scored.survival_contributions),
        ):
            for item in items:
                totals[endpoint][item["feature"]] = totals[endpoint].get(item["feature"], 0.0) + abs(
                    item["contribution"]
                )
    importance = evaluation.sets["test"].importance
    for endpoint in ("response", "survival"):
        assert importance[endpoint] == pytest.approx({f: t / len(ids) for f, t in totals[endpoint].items()})
        values = list(importance[endpoint].values())
        assert values == sorted(values, reverse=True)
    # PRIME-R's strongest signal in this cohort is tumour size (truth: diameter and PNI drive response).
    top = list(importance["response"])[:4]
    assert {"tumor_diameter", "arterial_original_shape_Maximum3DDiameter", "pni"} & set(top)
    correlation = evaluation.sets["test"].correlation
    assert list(correlation.columns) == bundle.features
    rho = spearmanr(features.loc[ids, bundle.features]).statistic
    np.testing.assert_allclose(correlation.to_numpy(), rho, atol=1e-12)
    assert feature_family("arterial_original_shape_Maximum3DDiameter") == "geometric/shape"
    assert feature_family("venous_original_glcm_Contrast") == "texture"
    assert feature_family("venous_wavelet-LLH_firstorder_Feature2") == "first-order"
    assert feature_family("albi_score") == "clinical-systemic"


def test_the_evaluation_is_plain_json_with_the_facts_a_reader_needs(evaluation):
    data = evaluation.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert "P000" not in text  # per-case rows stay in predictions, not in the JSON
    facts = data["facts"]
    assert [s["set"] for s in facts["sets"]] == ["train", "test", "external"]
    assert facts["sets"][2]["centres"] == "B (30)" and facts["sets"][0]["deaths"] == 43
    assert {row["variable"] for row in facts["missing_data"]} == set(load_bundle(bundle_path()).features)
    assert facts["radiomics_params"] == "prime_paper" and "70:30" in facts["model_training_split"]
    for name, s in data["sets"].items():
        assert set(s["curves"]["roc"]) == {"clinical", "radiomics", PRIME_R}, name
        assert s["curves"]["time_dependent"]["times"], name
    summary = evaluation.summary()
    assert list(summary.index) == ["train", "test", "external"]
    assert summary.loc["external", "cases"] == 30


def test_sets_from_a_column_all_or_the_caller_and_clear_errors(bundle):
    frame = cohort_frame(n=40, n_external=10)
    frame["set"] = ["development"] * 25 + ["validation"] * 15
    foreign = {"training": {"cohort": {}}}  # a bundle that recorded no split
    sets, how = resolve_sets(foreign, as_evaluation_cohort(frame))
    assert {k: len(v) for k, v in sets.items()} == {"development": 25, "validation": 15}
    assert "'set'" in how
    sets, _ = resolve_sets(foreign, as_evaluation_cohort(frame.drop(columns=["set"])))
    assert {k: len(v) for k, v in sets.items()} == {"A": 30, "B": 10}  # the centre column
    sets, _ = resolve_sets(foreign, as_evaluation_cohort(frame), "all")
    assert list(sets) == ["all"] and len(sets["all"]) == 40
    # Cases of the bundle's cohort and new ones: the new ones form 'other'.
    mixed = pd.concat([cohort_frame().iloc[:50], cohort_frame(n=20, seed=5).rename(index=lambda c: f"N{c}")])
    sets, how = resolve_sets(bundle.manifest, as_evaluation_cohort(mixed))
    assert len(sets["other"]) == 20 and sum(map(len, sets.values())) == 70
    assert "20 case(s) outside the model's cohort" in how
    with pytest.raises(PRIMEInputError, match="no set column 'arm'") as error:
        resolve_sets(foreign, as_evaluation_cohort(frame), "arm")
    assert "development" not in str(error.value) and "set" in error.value.expected
    with pytest.raises(PRIMEInputError, match="No case of the cohort belongs to the bundle's"):
        resolve_sets(bundle.manifest, as_evaluation_cohort(frame.rename(index=lambda c: f"X{c}")), "bundle")
    frame.loc[frame.index[3], "set"] = None
    with pytest.raises(PRIMEInputError, match=r"1 case\(s\) have no value in the set column 'set': P003"):
        resolve_sets(foreign, as_evaluation_cohort(frame), "set")


def test_bad_input_is_refused_clearly_and_unscorable_cases_are_left_out(bundle):
    frame = _frame().iloc[:40]
    missing = "arterial_original_shape_Maximum3DDiameter"
    with pytest.raises(PRIMEInputError, match=f"lacks 1 column.*needs: {missing}") as error:
        evaluate_bundle(bundle, frame.drop(columns=[missing]), n_bootstrap=0)
    assert error.value.field == "features" and "prime_paper" in error.value.hint
    with pytest.raises(PRIMEInputError, match="no column 'therapy_after'"):
        evaluate_bundle(bundle, frame, adjust_for="therapy_after", n_bootstrap=0)
    with pytest.raises(PRIMEInputError, match="no column 'os_event'"):
        evaluate_bundle(bundle, frame.drop(columns=["os_event"]), n_bootstrap=0)
    frame = frame.copy()
    frame.loc["P001", missing] = np.nan  # a case the model cannot score
    frame.loc["P002", "albi_score"] = np.nan  # imputed, still scored
    result = evaluate_bundle(bundle, frame, sets="all", n_bootstrap=0, subgroups=False)
    assert list(result.excluded) == ["P001"] and missing in result.excluded["P001"]
    assert result.predictions.loc["P002", "imputed_fields"] == "albi_score"
    assert result.sets["all"].counts["n"] == 39 and result.facts["sets"][0]["excluded"] == 1
    assert any("1 case(s) were left out" in w for w in result.warnings)
    assert not math.isnan(result.sets["all"].response[PRIME_R]["auc"])
