"""Survival models, late fusion, Bayesian model averaging and Shapley explanations."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import (
    check_estimator,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)
from threadpoolctl import threadpool_limits

from PRIMELib.models import (
    BayesianModelAveragingSurvival,
    LateFusionClassifier,
    SurvivalSVM,
    concordance_scorer,
    make_survival_labels,
    make_survival_model,
)
from PRIMELib.models.explain import baseline_shapley
from PRIMELib.models.fusion import NonNegativeLogisticRegression, cox_partial_likelihood
from PRIMELib.models.survival_data import step_values


def _survival(n=150, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    death = rng.exponential(500 * np.exp(-(1.0 * X[:, 0] + 0.6 * X[:, 1])))
    censor = rng.uniform(100, 1500, n)
    return X, make_survival_labels(death <= censor, np.minimum(death, censor))


def test_late_fusion_passes_scikit_learns_estimator_checks():
    fusion = LateFusionClassifier(
        [("nb", GaussianNB()), ("tree", DecisionTreeClassifier(max_depth=2, random_state=0))],
        cv=3,
        random_state=0,
    )
    # One BLAS thread: on a busy 2-core machine the meta-classifier's many tiny lbfgs fits run 5 times
    # slower with two threads competing.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        check_estimator(fusion)


def test_late_fusion_meta_classifier_learns_from_out_of_fold_log_odds():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] + rng.normal(size=120) > 0).astype(int)
    members = [("a", LogisticRegression()), ("b", DecisionTreeClassifier(max_depth=3, random_state=0))]
    fusion = LateFusionClassifier(members, cv=5, random_state=3).fit(X, y)
    folds = StratifiedKFold(5, shuffle=True, random_state=3)
    oof = cross_val_predict(LogisticRegression(), X, y, cv=folds, method="predict_proba")[:, 1]
    oof = np.clip(oof, 1e-6, 1 - 1e-6)
    assert np.allclose(fusion.oof_meta_features_[:, 0], np.log(oof / (1 - oof)))
    # The fused log-odds is intercept + Σ coefficient × member log-odds, with members refit on all data.
    total = fusion.meta_.intercept_[0]
    for _, model, coef in fusion.member_terms():
        p = np.clip(model.predict_proba(X)[:, 1], 1e-6, 1 - 1e-6)
        total = total + coef * np.log(p / (1 - p))
    assert np.allclose(total, fusion.decision_function(X))


def test_cox_partial_likelihood_matches_scikit_survival():
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    X, y = _survival()
    beta, terms = cox_partial_likelihood(X[:, 0], y["event"], y["time"])
    reference = CoxPHSurvivalAnalysis(ties="breslow").fit(X[:, [0]], y)
    assert beta == pytest.approx(reference.coef_[0], rel=1e-5)
    assert len(terms) == y["event"].sum()


def test_survival_svm_has_a_risk_score_and_survival_functions():
    X, y = _survival()
    model = SurvivalSVM(alpha=0.1, random_state=0).fit(X, y)
    assert concordance_scorer(model, X, y) > 0.65  # predict is a risk: higher = shorter survival
    curves = step_values(model.predict_survival_function(X[:5]), np.linspace(0, 1500, 50))
    assert np.all(np.diff(curves, axis=1) <= 1e-12) and np.all(curves <= 1.0)
    name = "SurvivalSVM"
    check_no_attributes_set_in_init(name, SurvivalSVM())
    check_get_params_invariance(name, SurvivalSVM())
    check_set_params(name, SurvivalSVM())


def _bma(weighting, **kwargs):
    members = [("rsf", make_survival_model("rsf", 0)), ("fsvm", make_survival_model("fsvm", 0))]
    members[0][1].set_params(n_estimators=20)
    return BayesianModelAveragingSurvival(members, weighting=weighting, cv=3, random_state=0, **kwargs)


@pytest.mark.parametrize("weighting", ["pseudo_bma_plus", "pseudo_bma", "concordance", "equal"])
def test_model_averaging_weights_follow_their_documented_rule(weighting):
    X, y = _survival()
    model = _bma(weighting, tau=0.05).fit(X, y)
    w = model.weights_
    assert w.sum() == pytest.approx(1) and (w >= 0).all()
    if weighting == "equal":
        assert np.allclose(w, 0.5)
    elif weighting == "concordance":
        raw = np.exp((model.cv_concordance_ - 0.5) / 0.05)
        assert np.allclose(w, raw / raw.sum())
    elif weighting == "pseudo_bma":
        raw = np.exp(model.cv_log_partial_likelihood_ - model.cv_log_partial_likelihood_.max())
        assert np.allclose(w, raw / raw.sum())
    # The fused risk is the weighted sum of standardised member risks; the curve, the weighted mixture.
    assert np.allclose(model.predict(X), model.member_risks(X) @ w)
    times = [100.0, 400.0, 900.0]
    mixture = sum(
        wi * step_values(est.predict_survival_function(X[:4]), times)
        for wi, est in zip(w, model.estimators_, strict=True)
    )
    assert np.allclose(model.survival_at(X[:4], times), mixture)
    assert concordance_scorer(model, X, y) > 0.65


def test_pseudo_bma_plus_is_less_extreme_than_pseudo_bma():
    X, y = _survival()
    plain = _bma("pseudo_bma").fit(X, y).weights_
    plus = _bma("pseudo_bma_plus").fit(X, y).weights_
    assert plus.max() <= plain.max() + 1e-12


def test_model_averaging_is_a_clonable_estimator_and_refuses_an_unknown_rule():
    # check_estimator needs class or regression targets; these API checks apply to survival models.
    model = _bma("equal")
    for check in (check_no_attributes_set_in_init, check_get_params_invariance, check_set_params):
        check("BayesianModelAveragingSurvival", model)
    assert clone(model).get_params(deep=False)["weighting"] == "equal"
    assert "rsf__n_estimators" in model.get_params()
    X, y = _survival()
    with pytest.raises(ValueError, match="weighting must be one of"):
        _bma("stacking").fit(X, y)


def test_baseline_shapley_is_exact_for_a_linear_model_and_sums_to_the_change():
    rng = np.random.default_rng(0)
    w = rng.normal(size=6)
    x, r = rng.normal(size=6), rng.normal(size=6)
    phi = baseline_shapley(lambda rows: rows @ w, x, r)
    assert np.allclose(phi, w * (x - r))

    def f(rows):  # an interaction and a saturation
        return np.tanh(rows[:, 0] * rows[:, 1]) + rows[:, 2] ** 2 + rows[:, 3:].sum(1)

    x, r = rng.normal(size=14), rng.normal(size=14)
    sampled = baseline_shapley(f, x, r, exact_max_features=10, n_permutations=400)
    assert sampled.sum() == pytest.approx(f(x[None])[0] - f(r[None])[0])
    exact = baseline_shapley(f, x[:8], r[:8])
    approx = baseline_shapley(f, x[:8], r[:8], exact_max_features=4, n_permutations=2000)
    assert np.allclose(exact, approx, atol=0.05)
    assert math.isclose(exact[2], x[2] ** 2 - r[2] ** 2)  # a feature acting alone gets its own effect


# ---------------------------------------------------------------------------------------------
# Sign-aware model averaging, one standardisation, non-negative fusion weights


class _NegatedCox(BaseEstimator):
    """A Cox model on column 0 whose risk score is turned upside down: deliberately anti-concordant."""

    def fit(self, X, y):
        from sksurv.linear_model import CoxPHSurvivalAnalysis

        self.model_ = CoxPHSurvivalAnalysis().fit(np.asarray(X)[:, [0]], y)
        return self

    def predict(self, X):
        return -self.model_.predict(np.asarray(X)[:, [0]])

    def predict_survival_function(self, X):
        return self.model_.predict_survival_function(np.asarray(X)[:, [0]])


def _cox_on_column_0():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    return make_pipeline(ColumnTransformer([("x0", "passthrough", [0])]), CoxPHSurvivalAnalysis())


@pytest.mark.parametrize("weighting", ["pseudo_bma_plus", "pseudo_bma", "equal"])
def test_an_anti_concordant_member_gets_no_weight_and_the_fused_risk_stays_concordant(weighting):
    from sksurv.metrics import concordance_index_censored

    X, y = _survival()
    members = [("good", _cox_on_column_0()), ("anti", _NegatedCox())]
    model = BayesianModelAveragingSurvival(members, weighting=weighting, cv=3, random_state=0).fit(X, y)
    good, anti = model.cv_concordance_
    assert good > 0.6 and anti == pytest.approx(1 - good)  # the anti member is the mirror image
    # The paper's rule weighed the mirror image as much as the model (the fused risk then cancels to 0).
    assert model.weights_ == pytest.approx([1.0, 0.0])
    assert len(model.notes_) == 1 and "'anti'" in model.notes_[0] and "weight 0" in model.notes_[0]
    fused_c = concordance_index_censored(y["event"], y["time"], model.predict(X))[0]
    assert fused_c > 0.6
    assert concordance_index_censored(y["event"], y["time"], model.cv_fused_risk_)[0] == pytest.approx(good)


def test_without_a_concordant_member_the_weights_are_equal_with_a_note():
    X, y = _survival()
    members = [("anti", _NegatedCox()), ("anti2", _NegatedCox())]
    model = BayesianModelAveragingSurvival(members, cv=3, random_state=0).fit(X, y)
    assert model.weights_ == pytest.approx([0.5, 0.5])
    assert len(model.notes_) == 3 and "equal weights" in model.notes_[-1]


def test_weights_are_fitted_and_applied_on_the_out_of_fold_standardisation():
    X, y = _survival()
    model = _bma("pseudo_bma").fit(X, y)
    oof = model.oof_risk_
    # The one standardisation: the out-of-fold risks' mean and SD (not the refit models' own training scores).
    np.testing.assert_allclose(model.risk_mean_, oof.mean(axis=0))
    np.testing.assert_allclose(model.risk_scale_, oof.std(axis=0))
    standardised = (oof - oof.mean(axis=0)) / oof.std(axis=0)
    np.testing.assert_allclose(model.cv_fused_risk_, standardised @ model.weights_)
    # The pseudo-BMA weights are the softmax of the Cox log partial likelihoods of these same scores.
    loglik = [cox_partial_likelihood(standardised[:, m], y["event"], y["time"])[1].sum() for m in range(2)]
    np.testing.assert_allclose(model.cv_log_partial_likelihood_, loglik, rtol=1e-8)
    refit = np.column_stack([est.predict(X[:7]) for est in model.estimators_])
    np.testing.assert_allclose(model.predict(X[:7]), ((refit - oof.mean(0)) / oof.std(0)) @ model.weights_)


def test_the_non_negative_cox_fit_of_a_reversed_score_is_the_null_model():
    X, y = _survival()
    beta, _ = cox_partial_likelihood(-X[:, 0], y["event"], y["time"])
    assert beta < 0
    beta, terms = cox_partial_likelihood(-X[:, 0], y["event"], y["time"], non_negative=True)
    # β = 0: each death's term is −log(the number still at risk at its time).
    at_risk = np.array([(y["time"] >= t).sum() for t in y["time"][y["event"]]])
    assert beta == 0.0
    np.testing.assert_allclose(np.sort(terms), np.sort(-np.log(at_risk)))


def test_non_negative_logistic_regression_is_scikit_learns_where_the_weights_are_positive():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = (X @ [1.0, 0.5, 0.8] + rng.normal(size=200) > 0.3).astype(int)
    ours = NonNegativeLogisticRegression().fit(X, y)
    reference = LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
    assert (reference.coef_ > 0).all()
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-5)
    # Where scikit-learn's weight is negative, ours stops at 0.
    flipped = X * [1, -1, 1]
    assert LogisticRegression().fit(flipped, y).coef_[0, 1] < 0
    assert NonNegativeLogisticRegression().fit(flipped, y).coef_[0, 1] == 0.0


class _Reversed(ClassifierMixin, BaseEstimator):
    """Logistic regression on column 1 with its two probability columns swapped: anti-informative."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(np.asarray(X)[:, [1]], y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(np.asarray(X)[:, [1]])[:, ::-1]

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def test_late_fusion_gives_an_anti_informative_member_weight_zero_and_says_so():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + X[:, 1] + rng.normal(size=200) > 0).astype(int)
    good = make_pipeline(ColumnTransformer([("x0", "passthrough", [0])]), LogisticRegression())
    members = [("radiomics", good), ("clinical", _Reversed())]
    fusion = LateFusionClassifier(members, cv=5, random_state=0).fit(X, y)
    # An unconstrained meta-classifier turns the reversed member round with a negative weight.
    assert LogisticRegression().fit(fusion.oof_meta_features_, y).coef_[0, 1] < 0
    coefficients = {name: c for name, _, c in fusion.member_terms()}
    assert coefficients["radiomics"] > 0 and coefficients["clinical"] == 0.0
    assert len(fusion.notes_) == 1 and "'clinical' has weight 0" in fusion.notes_[0]
    # A meta-classifier that allows negative weights has them reported.
    free = LateFusionClassifier(members, final_estimator=LogisticRegression(), cv=5, random_state=0).fit(X, y)
    assert "'clinical' has a negative weight" in free.notes_[0]
