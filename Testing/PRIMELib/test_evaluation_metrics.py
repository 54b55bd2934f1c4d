"""Evaluation metrics and curve data, checked against independent implementations on the same data:
scikit-learn, scikit-survival, statsmodels, lifelines, and hand-computed textbook examples."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, recall_score, roc_auc_score, roc_curve
from sksurv.metrics import (
    brier_score,
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
    integrated_brier_score,
)

from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation import (
    calibration_curve_data,
    decision_curve,
    response_metrics,
    roc_curve_data,
    survival_metrics,
    time_dependent_curves,
)
from PRIMELib.evaluation._calibration import calibration_in_the_large, logistic_fits
from PRIMELib.evaluation._concordance import ConcordancePairs, resample_counts, roc_auc
from PRIMELib.evaluation._ipcw import brier_terms, censoring_estimator, inverse_censoring_weights
from PRIMELib.io import to_jsonable
from PRIMELib.models.survival_data import make_survival_labels
from PRIMELib.scoring import DAYS_PER_MONTH

MONTHS = np.array([6, 12, 24, 36]) * DAYS_PER_MONTH


def _response(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    logit = -0.3 + 1.4 * (y - 0.5) * 2 + rng.normal(0, 1.2, n)
    return y, 1 / (1 + np.exp(-logit))


def _survival(n, seed, *, decimals=None):
    """Exponential survival with risk x, uniform censoring; no tied times unless rounded."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    death = rng.exponential(600 * np.exp(-0.8 * x))
    censor = rng.uniform(150, 2000, n)
    time = np.minimum(death, censor)
    if decimals is not None:
        time = np.round(time, decimals)
    return x, make_survival_labels(death <= censor, time)


def _exponential_survival(x):
    return lambda times: np.exp(-np.outer(np.exp(0.8 * x), np.asarray(times, float)) / 600)


# ---------------------------------------------------------------------------------------------
# Response


def test_response_metrics_match_scikit_learn_and_statsmodels():
    import statsmodels.api as sm

    y, p = _response()
    out = response_metrics(y, p, 0.4, n_bootstrap=100)
    predicted = (p >= 0.4).astype(int)
    assert out["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert out["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert out["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert out["sensitivity"] == pytest.approx(recall_score(y, predicted))
    assert out["specificity"] == pytest.approx(recall_score(y, predicted, pos_label=0))
    logit = np.log(p / (1 - p))
    reference = sm.Logit(y, sm.add_constant(logit)).fit(disp=0).params
    assert out["calibration_slope"] == pytest.approx(reference[1], abs=1e-6)
    # Calibration-in-the-large: the intercept with logit(p) as an offset (slope fixed at 1).
    in_the_large = sm.GLM(y, np.ones(len(y)), family=sm.families.Binomial(), offset=logit).fit().params[0]
    assert out["calibration_intercept"] == pytest.approx(in_the_large, abs=1e-6)
    assert out["calibration_intercept"] != pytest.approx(reference[0], abs=1e-3)  # not the 2-parameter one
    for name in ("auc", "accuracy", "sensitivity", "specificity", "brier", "calibration_slope"):
        low, high = out[f"{name}_ci95"]
        assert low <= out[name] <= high, name
    assert out["n"] == 120 and out["n_responders"] == int(y.sum()) and out["notes"] == []
    assert json.dumps(to_jsonable(out), allow_nan=False)
    # Same seed, same intervals; no bootstrap, no intervals.
    assert response_metrics(y, p, 0.4, n_bootstrap=100)["auc_ci95"] == out["auc_ci95"]
    assert response_metrics(y, p, 0.4, n_bootstrap=0)["auc_ci95"] is None


def test_resampled_response_metrics_equal_scikit_learn_and_statsmodels_on_the_resampled_cases():
    """The bootstrap's case-multiplicity shortcut gives what the references give on explicit resamples."""
    import statsmodels.api as sm

    y, p = _response(n=90, seed=4)
    p = np.round(p, 2)  # tied probabilities
    index = np.random.default_rng(1).integers(0, 90, (6, 90))
    counts = resample_counts(index, 90)
    auc = roc_auc(counts, p, y == 1)
    logit = np.log(p / (1 - p))
    fits = logistic_fits(logit, y.astype(float), counts)
    for k, rows in enumerate(index):
        assert auc[k] == pytest.approx(roc_auc_score(y[rows], p[rows]), abs=1e-12)
        expected = sm.Logit(y[rows], sm.add_constant(logit[rows])).fit(disp=0).params
        np.testing.assert_allclose(fits[k], expected, atol=1e-7)
    # Separated classes and a single class have no finite estimate.
    x = np.linspace(-1, 1, 20)
    separated = logistic_fits(x, (x > 0).astype(float), np.ones((1, 20)))
    one_class = logistic_fits(x, np.ones(20), np.ones((1, 20)))
    assert np.isnan(separated).all() and np.isnan(one_class).all()


def test_calibration_in_the_large_fixes_the_slope_at_one():
    import statsmodels.api as sm

    # Hand-computed: with one predicted probability p0 for everyone, a = logit(observed rate) − logit(p0).
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], float)  # 3 / 10
    p0 = 0.5
    a = calibration_in_the_large(np.full(10, np.log(p0 / (1 - p0))), y, np.ones((1, 10)))
    assert a[0] == pytest.approx(np.log(0.3 / 0.7), abs=1e-9)
    # The 2-parameter fit has no intercept-only answer here (logit p is constant): undefined.
    assert np.isnan(logistic_fits(np.zeros(10), y, np.ones((1, 10)))).all()
    # Large samples: perfectly calibrated p → a ≈ 0; p one unit too high on the logit scale → a ≈ −1,
    # also when the slope is off (over-confident p: logit p = 2 η), where the 2-parameter intercept is ~0.
    rng = np.random.default_rng(0)
    eta = rng.normal(-1.0, 1.0, 40_000)
    outcome = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    ones = np.ones((1, eta.size))
    assert calibration_in_the_large(eta, outcome, ones)[0] == pytest.approx(0.0, abs=0.03)
    assert calibration_in_the_large(eta + 1, outcome, ones)[0] == pytest.approx(-1.0, abs=0.03)
    two_parameter = logistic_fits(2 * eta, outcome, ones)[0]
    assert two_parameter == pytest.approx([0.0, 0.5], abs=0.03)
    in_the_large = calibration_in_the_large(2 * eta, outcome, ones)[0]
    assert in_the_large > 0.3  # over-confident and mostly low: the mean risk is too low
    # Bootstrap weights: each resample equals statsmodels' offset fit on the explicitly resampled cases.
    y, p = _response(n=90, seed=4)
    logit = np.log(p / (1 - p))
    index = np.random.default_rng(1).integers(0, 90, (5, 90))
    fits = calibration_in_the_large(logit, y.astype(float), resample_counts(index, 90))
    for k, rows in enumerate(index):
        model = sm.GLM(y[rows], np.ones(90), family=sm.families.Binomial(), offset=logit[rows]).fit()
        assert fits[k] == pytest.approx(model.params[0], abs=1e-8)
    assert np.isnan(calibration_in_the_large(logit, np.ones(90), np.ones((1, 90))))[0]


def test_response_metrics_with_one_class_are_nan_with_a_note():
    p = np.linspace(0.1, 0.9, 30)
    out = response_metrics(np.ones(30, int), p, 0.5, n_bootstrap=50)
    assert np.isnan(out["auc"]) and out["auc_ci95"] is None
    assert np.isnan(out["specificity"]) and np.isnan(out["calibration_slope"])
    assert out["sensitivity"] == pytest.approx(np.mean(p >= 0.5))
    assert "all 30 cases are responders" in out["notes"][0]
    assert json.dumps(to_jsonable(out), allow_nan=False)


@pytest.mark.parametrize(
    ("y", "p", "field", "words"),
    [
        ([0, 1, 1], [0.2, 0.8], "probability", "has 2 values but 'y' has 3"),
        ([0, 1, 2], [0.2, 0.8, 0.5], "y", "must be 0/1"),
        ([0, 1, np.nan], [0.2, 0.8, 0.5], "y", "must be 0/1"),
        ([0, 1, 1], [0.2, 1.8, 0.5], "probability", "must lie in [0, 1]"),
        ([0, 1, 1], [0.2, np.nan, 0.5], "probability", "missing or infinite"),
        ([], [], "y", "empty"),
    ],
)
def test_bad_response_input_is_refused_naming_the_field(y, p, field, words):
    with pytest.raises(PRIMEInputError) as error:
        response_metrics(np.array(y), np.array(p), 0.5)
    assert error.value.field == field
    assert words in str(error.value)


# ---------------------------------------------------------------------------------------------
# Response curves


def test_roc_curve_data_is_scikit_learns():
    y, p = _response()
    out = roc_curve_data(y, p)
    fpr, tpr, thresholds = roc_curve(y, p)
    np.testing.assert_allclose(out["fpr"], fpr)
    np.testing.assert_allclose(out["tpr"], tpr)
    assert out["thresholds"][0] is None  # scikit-learn's infinite first threshold, as JSON allows
    np.testing.assert_allclose(out["thresholds"][1:], thresholds[1:])
    assert out["auc"] == pytest.approx(roc_auc_score(y, p))
    with pytest.raises(PRIMEInputError, match="needs responders and non-responders"):
        roc_curve_data(np.zeros(10, int), np.linspace(0, 1, 10))


@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_calibration_curve_data_is_scikit_learns_with_bin_counts(strategy):
    y, p = _response(n=203)
    out = calibration_curve_data(y, p, n_bins=8, strategy=strategy)
    observed, predicted = calibration_curve(y, p, n_bins=8, strategy=strategy)
    np.testing.assert_allclose(out["observed"], observed)
    np.testing.assert_allclose(out["predicted"], predicted)
    counts = np.array(out["count"])
    # The counts belong to the same bins: they add up to every case, every probability and every responder.
    assert counts.sum() == 203
    assert counts @ np.array(out["predicted"]) == pytest.approx(p.sum())
    assert counts @ np.array(out["observed"]) == pytest.approx(y.sum())
    with pytest.raises(PRIMEInputError, match="Unknown binning"):
        calibration_curve_data(y, p, strategy="kmeans")


def test_decision_curve_matches_a_hand_computed_table():
    # Ten cases, 5 responders (prevalence 0.5), p ≥ pt is "treat".
    y = np.array([1, 1, 1, 0, 1, 0, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.4, 0.3, 0.25, 0.2, 0.1])
    # pt = 0.2:  9 treated, TP 5, FP 4: 5/10 − 4/10 · 0.2/0.8 = 0.4;   all: 0.5 − 0.5 · 0.25 = 0.375
    # pt = 0.5:  5 treated, TP 4, FP 1: 4/10 − 1/10 · 1       = 0.3;   all: 0.5 − 0.5 · 1    = 0
    # pt = 0.75: 2 treated, TP 2, FP 0: 2/10                  = 0.2;   all: 0.5 − 0.5 · 3    = −1
    out = decision_curve(y, p, thresholds=[0.2, 0.5, 0.75])
    np.testing.assert_allclose(out["net_benefit"], [0.4, 0.3, 0.2], atol=1e-12)
    np.testing.assert_allclose(out["treat_all"], [0.375, 0.0, -1.0], atol=1e-12)
    assert out["treat_none"] == [0.0, 0.0, 0.0] and out["threshold"] == [0.2, 0.5, 0.75]
    default = decision_curve(y, p)
    assert len(default["threshold"]) == 99 and default["threshold"][0] == pytest.approx(0.01)
    with pytest.raises(PRIMEInputError, match="strictly between 0 and 1"):
        decision_curve(y, p, thresholds=[0.0, 0.5])


# ---------------------------------------------------------------------------------------------
# Survival metrics


def test_survival_metrics_match_scikit_survival_and_lifelines():
    from lifelines.utils import concordance_index

    _, y_train = _survival(160, 1)
    x, y = _survival(110, 2)
    out = survival_metrics(y_train, y, x, _exponential_survival(x), risk_cutoff=0.0, n_bootstrap=60)
    event, time = y["event"], y["time"]
    harrell = concordance_index_censored(event, time, x)[0]
    assert out["c_index"] == pytest.approx(harrell, abs=1e-12)
    assert out["c_index"] == pytest.approx(concordance_index(time, -x, event), abs=1e-12)  # lifelines
    horizon = min(y_train["time"].max(), time[event].max())
    # The IPCW references get the evaluated set as their own "survival_train": its censoring, not training's.
    assert out["uno_c_index"] == pytest.approx(concordance_index_ipcw(y, y, x, tau=horizon)[0])
    auc, mean_auc = cumulative_dynamic_auc(y, y, x, MONTHS)
    assert list(out["td_auc"]) == ["6_months", "12_months", "24_months", "36_months"]
    np.testing.assert_allclose(list(out["td_auc"].values()), auc, atol=1e-12)
    assert out["mean_td_auc"] == pytest.approx(mean_auc, abs=1e-12)
    _, brier = brier_score(y, y, _exponential_survival(x)(MONTHS), MONTHS)
    np.testing.assert_allclose(list(out["td_brier"].values()), brier, atol=1e-12)
    grid = np.arange(1, 61) * DAYS_PER_MONTH
    grid = grid[(grid >= time.min()) & (grid < min(horizon, time.max()))]
    ibs = integrated_brier_score(y, y, _exponential_survival(x)(grid), grid)
    assert out["integrated_brier"] == pytest.approx(ibs, abs=1e-12)
    for name in ("c_index", "uno_c_index", "mean_td_auc", "integrated_brier"):
        low, high = out[f"{name}_ci95"]
        assert low <= out[name] <= high, name
    for m, (low, high) in out["td_auc_ci95"].items():
        assert low <= out["td_auc"][m] <= high
    assert out["hazard_ratio"] > 1.5 and out["hazard_ratio_p"] < 0.05 and out["logrank_p"] < 0.05
    assert out["notes"] == []
    assert json.dumps(to_jsonable(out), allow_nan=False)


def test_resampled_statistics_equal_scikit_survival_on_the_resampled_cases():
    """The bootstrap's matrix shortcut (case multiplicities) gives what scikit-survival gives on the
    explicitly resampled data, ties in time and in risk included."""
    _, y_train = _survival(150, 3, decimals=-1)
    x, y = _survival(80, 4, decimals=-1)
    x = np.round(x, 1)
    event, time = y["event"], y["time"]
    censoring = censoring_estimator(y_train)
    horizon = min(y_train["time"].max(), time[event].max())
    inverse_g = inverse_censoring_weights(censoring, event, time, horizon)
    pairs = ConcordancePairs(event, time, x)
    survival = _exponential_survival(x)(MONTHS[:3])
    terms = brier_terms(censoring, event, time, survival, MONTHS[:3])
    index = np.random.default_rng(0).integers(0, 80, (5, 80))
    counts = resample_counts(index, 80)
    harrell = pairs.concordance(counts)
    uno = pairs.concordance(counts, inverse_g**2)
    auc_12 = pairs.cumulative_dynamic_auc(counts, MONTHS[1], inverse_g)
    for k, rows in enumerate(index):
        sample = y[rows]
        assert harrell[k] == pytest.approx(concordance_index_censored(event[rows], time[rows], x[rows])[0])
        assert uno[k] == pytest.approx(concordance_index_ipcw(y_train, sample, x[rows], tau=horizon)[0])
        assert auc_12[k] == pytest.approx(cumulative_dynamic_auc(y_train, sample, x[rows], [MONTHS[1]])[0][0])
        _, expected = brier_score(y_train, sample, survival[rows], MONTHS[:3])
        np.testing.assert_allclose(counts[k] @ terms / 80, expected, atol=1e-12)


def test_ipcw_metrics_use_the_evaluated_sets_own_censoring():
    """An external centre censored much earlier than the training centre: its IPCW metrics are
    scikit-survival's with the external set as its own ``survival_train``, not with the training set."""
    rng = np.random.default_rng(7)
    _, y_train = _survival(200, 8)  # censoring uniform over 150–2000 days
    x = rng.normal(size=150)
    death = rng.exponential(600 * np.exp(-0.8 * x))
    censor = rng.exponential(400, 150)  # heavy early censoring
    y = make_survival_labels(death <= censor, np.minimum(death, censor))
    months = [6, 12]
    out = survival_metrics(y_train, y, x, _exponential_survival(x), risk_cutoff=0.0, months=months)
    horizon = min(y_train["time"].max(), y["time"][y["event"]].max())
    times = np.array(months) * DAYS_PER_MONTH
    own = {
        "uno": concordance_index_ipcw(y, y, x, tau=horizon)[0],
        "auc": cumulative_dynamic_auc(y, y, x, times)[0],
        "brier": brier_score(y, y, _exponential_survival(x)(times), times)[1],
    }
    training = {
        "uno": concordance_index_ipcw(y_train, y, x, tau=horizon)[0],
        "auc": cumulative_dynamic_auc(y_train, y, x, times)[0],
        "brier": brier_score(y_train, y, _exponential_survival(x)(times), times)[1],
    }
    assert out["uno_c_index"] == pytest.approx(own["uno"], abs=1e-12)
    np.testing.assert_allclose(list(out["td_auc"].values()), own["auc"], atol=1e-12)
    np.testing.assert_allclose(list(out["td_brier"].values()), own["brier"], atol=1e-12)
    # The two censoring distributions give visibly different answers: the choice matters here.
    assert abs(own["brier"] - training["brier"]).max() > 0.01
    curves = time_dependent_curves(y_train, y, x, _exponential_survival(x), times)
    np.testing.assert_allclose(curves["brier"], own["brier"], atol=1e-12)
    np.testing.assert_allclose(curves["auc"], own["auc"], atol=1e-12)


def test_survival_metrics_without_deaths_are_nan_with_a_note():
    _, y_train = _survival(100, 5)
    x = np.linspace(-1, 1, 40)
    y = make_survival_labels(np.zeros(40), np.linspace(100, 900, 40))
    out = survival_metrics(y_train, y, x, _exponential_survival(x), risk_cutoff=0.0, n_bootstrap=30)
    assert np.isnan(out["c_index"]) and out["c_index_ci95"] is None
    assert out["td_auc"] == {} and out["integrated_brier"] is None
    assert np.isnan(out["hazard_ratio"]) and out["hazard_ratio_ci95"] is None
    assert out["notes"][0].startswith("no deaths")
    assert json.dumps(to_jsonable(out), allow_nan=False)


def test_bad_survival_input_is_refused_naming_the_field():
    _, y_train = _survival(100, 5)
    x, y = _survival(50, 6)
    with pytest.raises(PRIMEInputError, match="'risk' has 49 values but 'y' has 50") as error:
        survival_metrics(y_train, y, x[:49], _exponential_survival(x), risk_cutoff=0.0)
    assert error.value.field == "risk"
    with pytest.raises(PRIMEInputError, match="not a survival outcome") as error:
        survival_metrics(y_train, np.ones(50), x, _exponential_survival(x), risk_cutoff=0.0)
    assert error.value.field == "y"
    with pytest.raises(PRIMEInputError, match="returned shape") as error:
        survival_metrics(y_train, y, x, lambda t: np.ones((3, len(t))), risk_cutoff=0.0)
    assert error.value.field == "survival_at"


def test_time_dependent_curves_match_scikit_survival():
    _, y_train = _survival(160, 1)
    x, y = _survival(110, 2)
    horizon = min(y_train["time"].max(), y["time"][y["event"]].max())
    times = np.arange(1, 80) * 30.0
    out = time_dependent_curves(y_train, y, x, _exponential_survival(x), times)
    kept = times[(times >= y["time"].min()) & (times < min(horizon, y["time"].max()))]
    assert out["times"] == kept.tolist() and out["dropped_times"] == times[len(kept) :].tolist()
    auc, mean_auc = cumulative_dynamic_auc(y, y, x, kept)
    np.testing.assert_allclose(out["auc"], auc, atol=1e-12)
    assert out["mean_auc"] == pytest.approx(mean_auc)
    _, brier = brier_score(y, y, _exponential_survival(x)(kept), kept)
    np.testing.assert_allclose(out["brier"], brier, atol=1e-12)
    no_deaths = make_survival_labels(np.zeros(20), np.linspace(100, 900, 20))
    with pytest.raises(PRIMEInputError, match="need deaths"):
        time_dependent_curves(y_train, no_deaths, x[:20], _exponential_survival(x[:20]), times)


def test_to_jsonable_makes_plain_json():
    frame = pd.DataFrame({"hr": [1.5, np.nan]}, index=pd.Index(["a", "b"], name="covariate"))
    value = {1: np.float64(np.inf), "x": (np.int64(2), np.array([0.5, np.nan])), "t": frame, "na": pd.NA}
    assert to_jsonable(value) == {
        "1": None,
        "x": [2, [0.5, None]],
        "t": [{"covariate": "a", "hr": 1.5}, {"covariate": "b", "hr": None}],
        "na": None,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        json.dumps(to_jsonable(value), allow_nan=False)
