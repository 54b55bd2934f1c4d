"""Kaplan–Meier, log-rank, Cox hazard ratios and subgroups, checked against lifelines, scikit-survival
and a hand-computed textbook example."""

from __future__ import annotations

import warnings

import lifelines
import numpy as np
import pandas as pd
import pytest

from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation import (
    cox_hazard_ratios,
    default_subgroups,
    hazard_ratio,
    kaplan_meier,
    subgroup_hazard_ratios,
)

# lifelines' own calls into pandas (not ours) warn about pandas 4.
pytestmark = pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")


def _cohort(n=150, seed=0, *, ties=False):
    """Exponential survival: hazard × 2.7 for the high-risk group, × 1.5 per unit of z."""
    rng = np.random.default_rng(seed)
    high = rng.random(n) < 0.5
    z = rng.normal(size=n)
    therapy = (rng.random(n) < 0.4).astype(float)
    death = rng.exponential(600 * np.exp(-(1.0 * high + 0.4 * z - 0.3 * therapy)))
    censor = rng.uniform(100, 1500, n)
    time = np.minimum(death, censor)
    time = np.ceil(time / 30) * 30 if ties else time
    return pd.DataFrame({"time": time, "event": (death <= censor).astype(int), "high": high, "z": z,
                         "therapy": therapy})  # fmt: skip


def _lifelines_cox(frame, columns, **kwargs):
    fitter = lifelines.CoxPHFitter(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Tighter than lifelines' default, which stops ~1e-4 short of the maximum.
        data = frame[["time", "event", *columns]].astype(float)
        fitter.fit(data, "time", "event", fit_options={"precision": 1e-10})
    return fitter.summary


# ---------------------------------------------------------------------------------------------
# Kaplan–Meier and log-rank


def test_kaplan_meier_of_a_textbook_example():
    # 6 patients: deaths at 3, 7, 9, 12; censored at 5 and 11.
    event = np.array([1, 0, 1, 1, 0, 1])
    time = np.array([3.0, 5, 7, 9, 11, 12])
    # S(3) = 5/6; S(7) = 5/6 · 3/4 = 0.625; S(9) = 0.625 · 2/3 = 0.41667; S(12) = 0.
    # Log-log band at 7: Greenwood Σ d/(n(n−d)) = 1/30 + 1/12 = 0.11667; se of log(−log S) =
    # √0.11667 / |log 0.625| = 0.72673; S^exp(±1.95996 · 0.72673) = 0.625^4.1552, 0.625^0.24066
    # = 0.14185, 0.89305.
    out = kaplan_meier(event, time, at_risk_times=[0, 6, 10])
    curve = out["all"]
    assert curve["time"] == [0.0, 3, 5, 7, 9, 11, 12]
    np.testing.assert_allclose(curve["survival"], [1, 5 / 6, 5 / 6, 0.625, 0.625 * 2 / 3, 0.625 * 2 / 3, 0])
    assert curve["ci_lower"][3] == pytest.approx(0.14185, abs=1e-5)
    assert curve["ci_upper"][3] == pytest.approx(0.89305, abs=1e-5)
    assert curve["median_days"] == 9.0  # first time S ≤ 0.5
    assert curve["at_risk"] == {0.0: 6, 6.0: 4, 10.0: 2}
    assert (curve["n"], curve["events"]) == (6, 4)
    assert "logrank_p" not in out


def test_kaplan_meier_by_group_matches_lifelines_curves_bands_medians_and_log_rank():
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    frame = _cohort(200, 1)
    groups = np.where(frame["high"], "high risk", "low risk")
    out = kaplan_meier(frame["event"], frame["time"], groups)
    assert set(out) == {"high risk", "low risk", "logrank_p"}
    for label in ("high risk", "low risk"):
        part = frame[groups == label]
        fitter = lifelines.KaplanMeierFitter().fit(part["time"], part["event"])
        curve = out[label]
        expected = fitter.survival_function_at_times(curve["time"]).to_numpy()
        np.testing.assert_allclose(curve["survival"], expected, atol=1e-12)
        band = fitter.confidence_interval_survival_function_
        inside = (np.array(curve["survival"]) > 0) & (np.array(curve["survival"]) < 1)
        times = np.array(curve["time"])[inside]
        np.testing.assert_allclose(
            np.array(curve["ci_lower"])[inside], band.iloc[:, 0].loc[times], atol=1e-10
        )
        np.testing.assert_allclose(
            np.array(curve["ci_upper"])[inside], band.iloc[:, 1].loc[times], atol=1e-10
        )
        lifelines_median = fitter.median_survival_time_
        assert curve["median_days"] == (
            None if np.isinf(lifelines_median) else pytest.approx(lifelines_median)
        )
        assert (curve["n"], curve["events"]) == (len(part), int(part["event"].sum()))
    high, low = frame[frame["high"]], frame[~frame["high"]]
    reference = logrank_test(high["time"], low["time"], high["event"], low["event"]).p_value
    assert out["logrank_p"] == pytest.approx(reference, rel=1e-8)
    # Three groups: the k-sample log-rank test.
    three = np.array(["a", "b", "c"])[np.arange(200) % 3]
    expected = multivariate_logrank_test(frame["time"], three, frame["event"]).p_value
    assert kaplan_meier(frame["event"], frame["time"], three)["logrank_p"] == pytest.approx(
        expected, rel=1e-8
    )


def test_kaplan_meier_refuses_bad_input():
    with pytest.raises(PRIMEInputError, match="'groups' has 3 labels for 4 cases"):
        kaplan_meier([1, 0, 1, 1], [1.0, 2, 3, 4], ["a", "b", "a"])
    with pytest.raises(PRIMEInputError, match="≥ 0 days"):
        kaplan_meier([1, 0], [1.0, -2])
    with pytest.raises(PRIMEInputError, match="0/1"):
        kaplan_meier([1, 2], [1.0, 2])


# ---------------------------------------------------------------------------------------------
# Cox regression


def test_cox_hazard_ratios_match_lifelines_without_ties():
    frame = _cohort(180, 2)
    covariates = frame[["high", "z", "therapy"]].astype(float)
    out = cox_hazard_ratios(frame["event"], frame["time"], covariates)
    reference = _lifelines_cox(frame, ["high", "z", "therapy"])
    assert list(out.index) == ["high", "z", "therapy"] and out.index.name == "covariate"
    np.testing.assert_allclose(out["hr"], reference["exp(coef)"], rtol=1e-5)
    np.testing.assert_allclose(out["ci_lower"], reference["exp(coef) lower 95%"], rtol=1e-5)
    np.testing.assert_allclose(out["ci_upper"], reference["exp(coef) upper 95%"], rtol=1e-5)
    np.testing.assert_allclose(out["p"], reference["p"], rtol=1e-4, atol=1e-12)


def test_cox_ties_breslow_match_scikit_survival_and_efron_match_lifelines():
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    from PRIMELib.models.survival_data import make_survival_labels

    frame = _cohort(180, 3, ties=True)
    assert frame["time"].nunique() < 60  # many tied times
    covariates = frame[["high", "z"]].astype(float)
    breslow = cox_hazard_ratios(frame["event"], frame["time"], covariates)
    sksurv = CoxPHSurvivalAnalysis(alpha=0, ties="breslow").fit(
        covariates.to_numpy(), make_survival_labels(frame["event"], frame["time"])
    )
    np.testing.assert_allclose(breslow["coef"], sksurv.coef_, rtol=1e-5)
    efron = cox_hazard_ratios(frame["event"], frame["time"], covariates, ties="efron")
    reference = _lifelines_cox(frame, ["high", "z"])  # lifelines handles ties by Efron's method
    np.testing.assert_allclose(efron["hr"], reference["exp(coef)"], rtol=1e-5)
    np.testing.assert_allclose(efron["ci_lower"], reference["exp(coef) lower 95%"], rtol=1e-5)
    np.testing.assert_allclose(efron["p"], reference["p"], rtol=1e-4, atol=1e-12)
    assert not np.allclose(breslow["coef"], efron["coef"])  # the tie handling matters here


def test_hazard_ratio_high_vs_low_unadjusted_and_adjusted_match_lifelines():
    frame = _cohort(200, 4)
    out = hazard_ratio(frame["event"], frame["time"], frame["high"])
    reference = _lifelines_cox(frame, ["high"]).loc["high"]
    assert out["hazard_ratio"] == pytest.approx(reference["exp(coef)"], rel=1e-5)
    assert out["hazard_ratio_ci95"] == pytest.approx(
        [reference["exp(coef) lower 95%"], reference["exp(coef) upper 95%"]], rel=1e-5
    )
    assert out["hazard_ratio_p"] == pytest.approx(reference["p"], rel=1e-4)
    assert (out["n"], out["n_high_risk"], out["adjusted_for"], out["note"]) == (
        200,
        frame["high"].sum(),
        [],
        None,
    )

    # Adjusted for subsequent therapy, two cases without it left out.
    therapy = frame[["therapy"]].copy()
    therapy.iloc[[3, 7], 0] = np.nan
    adjusted = hazard_ratio(frame["event"], frame["time"], frame["high"], adjust_for=therapy)
    kept = frame.drop(index=[3, 7])
    reference = _lifelines_cox(kept, ["high", "therapy"]).loc["high"]
    assert adjusted["hazard_ratio"] == pytest.approx(reference["exp(coef)"], rel=1e-5)
    assert adjusted["hazard_ratio_p"] == pytest.approx(reference["p"], rel=1e-4)
    assert adjusted["n"] == 198 and adjusted["adjusted_for"] == ["therapy"]
    assert adjusted["note"] == "2 cases without therapy left out"


def test_hazard_ratio_is_nan_with_a_reason_when_undefined():
    time = np.arange(1.0, 21)
    high = np.arange(20) < 10
    no_high_deaths = hazard_ratio(np.where(high, 0, 1), time, high)
    assert np.isnan(no_high_deaths["hazard_ratio"]) and no_high_deaths["hazard_ratio_ci95"] is None
    assert "no deaths in the high-risk group" in no_high_deaths["note"]
    assert (
        "all 20 cases are in the high-risk group"
        in hazard_ratio(np.ones(20), time, np.ones(20, bool))["note"]
    )
    assert "there are no deaths" in hazard_ratio(np.zeros(20), time, high)["note"]


def test_cox_refuses_what_it_cannot_fit_naming_the_column():
    frame = _cohort(60, 5)
    missing = frame[["z"]].copy()
    missing.iloc[0, 0] = np.nan
    with pytest.raises(PRIMEInputError, match="'z' is missing for 1 cases") as error:
        cox_hazard_ratios(frame["event"], frame["time"], missing)
    assert error.value.field == "z"
    with pytest.raises(PRIMEInputError, match="not a number: 'yes'") as error:
        cox_hazard_ratios(frame["event"], frame["time"], pd.DataFrame({"ehm": ["yes"] * 60}))
    assert error.value.field == "ehm"
    with pytest.raises(PRIMEInputError, match="has 59 rows for 60 cases"):
        cox_hazard_ratios(frame["event"], frame["time"], frame[["z"]].iloc[1:])
    with pytest.raises(PRIMEInputError, match="does not vary"):
        cox_hazard_ratios(frame["event"], frame["time"], pd.DataFrame({"one": np.ones(60)}))
    with pytest.raises(PRIMEInputError, match="did not converge"):  # z separates the deaths perfectly
        cox_hazard_ratios(frame["event"], frame["time"], pd.DataFrame({"z": frame["event"] * 5.0}))
    with pytest.raises(PRIMEInputError, match="Unknown tie handling"):
        cox_hazard_ratios(frame["event"], frame["time"], frame[["z"]], ties="exact")


# ---------------------------------------------------------------------------------------------
# Subgroups


def test_subgroup_hazard_ratios_are_the_hazard_ratios_within_each_subgroup():
    from lifelines.statistics import logrank_test

    frame = _cohort(200, 6)
    old = np.arange(200) % 2 == 0
    subgroups = {"old": old, "young": ~old, "tiny": np.arange(200) < 6, "no high": ~frame["high"].to_numpy()}
    out = subgroup_hazard_ratios(frame["event"], frame["time"], frame["high"], subgroups)
    assert list(out["subgroup"]) == ["old", "young", "tiny", "no high"]
    assert list(out.columns) == ["subgroup", "n", "events", "n_high_risk", "hr", "ci_lower", "ci_upper", "p",
                                 "logrank_p", "note"]  # fmt: skip
    for name in ("old", "young"):
        row = out.set_index("subgroup").loc[name]
        part = frame[subgroups[name]]
        reference = _lifelines_cox(part, ["high"]).loc["high"]
        assert row["hr"] == pytest.approx(reference["exp(coef)"], rel=1e-5)
        assert row["ci_lower"] == pytest.approx(reference["exp(coef) lower 95%"], rel=1e-5)
        assert row["p"] == pytest.approx(reference["p"], rel=1e-4)
        high, low = part[part["high"]], part[~part["high"]]
        expected = logrank_test(high["time"], low["time"], high["event"], low["event"]).p_value
        assert row["logrank_p"] == pytest.approx(expected, rel=1e-8)
        assert (row["n"], row["events"]) == (len(part), part["event"].sum()) and pd.isna(row["note"])
    tiny = out.set_index("subgroup").loc["tiny"]
    assert np.isnan(tiny["hr"]) and tiny["note"] == "only 6 cases (fewer than 10)"
    assert "low-risk group" in out.set_index("subgroup").loc["no high", "note"]
    with pytest.raises(PRIMEInputError, match="subgroup 'bad'"):
        subgroup_hazard_ratios(frame["event"], frame["time"], frame["high"], {"bad": np.ones(5, bool)})


def test_default_subgroups_follow_the_papers_cut_points_and_skip_absent_columns():
    frame = pd.DataFrame(
        {
            "age": [40, 55, 70, np.nan],
            "tumor_diameter": [3.0, 10.0, 12.5, 9.9],
            "ehm": [0, 1, np.nan, 0],
            "interventional": ["TACE", "TACE+HAIC", "HAIC", None],
        }
    )
    out = default_subgroups(frame)
    assert {k: v.tolist() for k, v in out.items()} == {
        "Age < 55 years": [True, False, False, False],
        "Age ≥ 55 years": [False, True, True, False],
        "Tumour diameter < 10 cm": [True, False, False, True],
        "Tumour diameter ≥ 10 cm": [False, True, True, False],
        "Extrahepatic metastasis: no": [True, False, False, True],
        "Extrahepatic metastasis: yes": [False, True, False, False],
        "TACE or HAIC alone": [True, False, True, False],
        "TACE+HAIC": [False, True, False, False],
    }
    derived = default_subgroups(pd.DataFrame({"tace_haic": [1, 0, 1]}), age_cutoff_years=60)
    assert {k: v.tolist() for k, v in derived.items()} == {
        "TACE or HAIC alone": [False, True, False],
        "TACE+HAIC": [True, False, True],
    }
    assert list(default_subgroups(pd.DataFrame({"age": [61, 59]}), age_cutoff_years=60)) == [
        "Age < 60 years",
        "Age ≥ 60 years",
    ]
    assert default_subgroups(pd.DataFrame({"bmi": [20.0]})) == {}
    with pytest.raises(PRIMEInputError, match="unknown regimen: 'TARE'"):
        default_subgroups(pd.DataFrame({"interventional": ["TARE"]}))
    with pytest.raises(PRIMEInputError, match="'ehm' must be 0/1"):
        default_subgroups(pd.DataFrame({"ehm": [2]}))
