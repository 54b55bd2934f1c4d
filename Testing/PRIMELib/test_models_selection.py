"""Feature selection steps: correct statistics, the paper's rules, and scikit-learn's estimator API."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import (
    check_estimator,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from PRIMELib.models import (
    ColumnSelector,
    CoxnetScreen,
    ElasticNetCoxSelector,
    ElasticNetLogisticSelector,
    UnivariateLogisticFilter,
    VarianceFilter,
    make_survival_labels,
)
from PRIMELib.models.selection import elastic_net_logistic_path


def _classification(n=120, p=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (1.5 * X[:, 0] - 1.2 * X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


def _survival(n=150, p=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    death = rng.exponential(500 * np.exp(-(1.0 * X[:, 0] + 0.8 * X[:, 1])))
    censor = rng.uniform(100, 1500, n)
    return X, make_survival_labels(death <= censor, np.minimum(death, censor))


@pytest.mark.parametrize(
    "estimator",
    [
        VarianceFilter(),
        VarianceFilter(constant_only=True),
        UnivariateLogisticFilter(),
        ElasticNetLogisticSelector(n_lambdas=5, cv=3, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_classification_selectors_pass_scikit_learns_estimator_checks(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator)


@pytest.mark.parametrize(
    "estimator", [CoxnetScreen(), ElasticNetCoxSelector(), ColumnSelector()], ids=lambda e: type(e).__name__
)
def test_survival_and_column_steps_pass_the_checks_that_apply(estimator):
    # check_estimator feeds class or regression targets and plain arrays: survival selectors need a
    # (event, time) target and ColumnSelector a DataFrame. These API checks need neither.
    name = type(estimator).__name__
    check_parameters_default_constructible(name, estimator)
    check_no_attributes_set_in_init(name, estimator)
    check_get_params_invariance(name, estimator)
    check_set_params(name, estimator)


def test_proximal_gradient_path_reaches_scikit_learns_saga_solution():
    X, y = _classification(n=80, p=20, seed=1)
    X = (X - X.mean(0)) / X.std(0)
    lam = 0.03
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saga = LogisticRegression(
            C=1 / (lam * len(y)), l1_ratio=0.5, solver="saga", tol=1e-10, max_iter=100000
        )
        saga.fit(X, y)
    coefs, intercepts, _ = elastic_net_logistic_path(X, y.astype(float), np.array([lam]), tol=1e-10)
    assert np.abs(coefs[0] - saga.coef_[0]).max() < 1e-6
    assert intercepts[0] == pytest.approx(saga.intercept_[0], abs=1e-6)
    assert (coefs[0] == 0).sum() == (saga.coef_[0] == 0).sum() > 0  # the same sparsity


def test_elastic_net_logistic_keeps_the_informative_features():
    X, y = _classification()
    selector = ElasticNetLogisticSelector(random_state=0).fit(X, y)
    kept = set(np.flatnonzero(selector.get_support()))
    assert {0, 1} <= kept
    assert len(kept) < 15
    assert selector.C_ == pytest.approx(1 / (selector.lambda_ * len(y)))
    assert np.argmin(selector.cv_log_loss_) == list(selector.lambdas_).index(selector.lambda_)


def test_univariate_filter_p_values_are_likelihood_ratio_tests():
    X, y = _classification()
    selector = UnivariateLogisticFilter().fit(X, y)
    for j in (0, 5):
        full = LogisticRegression(C=np.inf).fit(X[:, [j]], y)
        p = full.predict_proba(X[:, [j]])[:, 1]
        loglik = np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
        null = len(y) * (y.mean() * np.log(y.mean()) + (1 - y.mean()) * np.log(1 - y.mean()))
        assert selector.statistics_[j] == pytest.approx(2 * (loglik - null), rel=1e-5)
    assert selector.get_support()[0] and selector.pvalues_[0] < 1e-6


def test_variance_filter_thresholds_raw_values_and_keeps_at_least_one():
    X = np.column_stack([np.linspace(0, 1, 50), np.full(50, 3.0), np.linspace(0, 0.1, 50)])
    assert list(VarianceFilter(0.01).fit(X).get_support()) == [True, False, False]
    assert list(VarianceFilter(0.01, constant_only=True).fit(X).get_support()) == [True, False, True]
    assert VarianceFilter(100.0).fit(X).get_support().sum() == 1  # nothing passes: the widest is kept


def test_cox_screen_and_elastic_net_cox_find_the_prognostic_features():
    X, y = _survival()
    screen = CoxnetScreen(max_features=8).fit(X, y)
    assert screen.get_support().sum() == 8 and screen.get_support()[[0, 1]].all()
    # The strongest feature enters the lasso path first.
    assert screen.entry_step_[0] == screen.entry_step_.min()
    top = ElasticNetCoxSelector(top_k=3).fit(X, y)
    assert top.get_support().sum() == 3 and top.get_support()[[0, 1]].all()


def test_selectors_are_clonable_and_refit_identically():
    X, y = _survival()
    first = ElasticNetCoxSelector(top_k=4).fit(X, y)
    second = clone(first).fit(X, y)
    assert np.array_equal(first.get_support(), second.get_support())
    with pytest.raises(ValueError, match="structured array"):
        ElasticNetCoxSelector().fit(X, np.zeros(len(X)))


def test_column_selector_returns_named_columns_and_missing_ones_as_nan():
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    selector = ColumnSelector(["b", "c"]).fit(frame)
    out = selector.transform(frame)
    assert list(out.columns) == ["b", "c"] and out["c"].isna().all()
    assert list(selector.get_feature_names_out()) == ["b", "c"]


def test_pipelines_filter_variance_on_z_scores_so_unitless_shape_ratios_survive():
    """The paper z-scores, then drops low-variance features. A sphericity (0.6-0.9, raw variance about
    0.002) that decides response and survival must reach the models; a raw 0.01 / 0.1 threshold, still
    available as an option, would drop it for its unit."""
    import pandas as pd

    from PRIMELib.models import SelectionSettings
    from PRIMELib.models.pipelines import model_pipeline, selected_features

    rng = np.random.default_rng(3)
    n = 150
    sphericity = rng.uniform(0.6, 0.9, n)
    frame = pd.DataFrame(
        {
            "arterial_original_shape_Sphericity": sphericity,
            "arterial_original_shape_Maximum3DDiameter": rng.normal(90, 30, n),
            **{f"venous_original_firstorder_Noise{i}": rng.normal(100, 20, n) for i in range(6)},
        }
    )
    assert frame["arterial_original_shape_Sphericity"].var() < 0.01
    z = (sphericity - sphericity.mean()) / sphericity.std()
    response = (2.0 * z + rng.normal(size=n) > 0).astype(int)
    death = rng.exponential(600 * np.exp(-1.2 * z))
    survival = make_survival_labels(death <= 1500, np.minimum(death, 1500))
    columns = {"clinical": [], "radiomics": list(frame.columns)}

    def kept(endpoint, y, settings):
        algorithm = "gtbr" if endpoint == "response" else "gbsa"
        pipeline = model_pipeline(
            endpoint, "radiomics", algorithm, columns, random_state=0, settings=settings
        )
        return selected_features(pipeline.fit(frame, y))

    for endpoint, y in (("response", response), ("survival", survival)):
        assert "arterial_original_shape_Sphericity" in kept(endpoint, y, SelectionSettings())
        raw = SelectionSettings(radiomics_constant_only=False)
        assert "arterial_original_shape_Sphericity" not in kept(endpoint, y, raw)
