"""Fusion of the clinical and radiomics models: late fusion (primary) and early fusion (comparison).

* PRIME-R, :class:`LateFusionClassifier`: each base model's **out-of-fold** probabilities on the
  training set (stratified k-fold, the base models refit in every fold, feature selection included)
  feed a logistic-regression meta-classifier; at inference the base models refit on all training
  data feed it. The meta-classifier sees log-odds, so its coefficients read as weights on each
  modality's log-odds. (This is scikit-learn's ``StackingClassifier`` on log-odds, written out so the
  per-modality terms are available for explanations.) For a binary outcome the default
  meta-classifier is :class:`NonNegativeLogisticRegression`: a member's weight cannot turn negative
  (a negative weight would read "the more this model predicts response, the less likely response",
  which the paper's fusion never meant); a member held at weight 0 is named in ``notes_``.
* PRIME-S, :class:`BayesianModelAveragingSurvival`: a weighted average of survival models. The weights
  come from the training set's cross-validation only, are stored in the model and never recomputed on
  test or external data (the authors' notebooks recomputed them from test labels). The rule is a
  parameter, ``weighting``:

  - ``"pseudo_bma_plus"`` (default): pseudo-Bayesian model averaging with the Bayesian bootstrap
    (Yao, Vehtari, Simpson & Gelman, Bayesian Analysis 2018). Each model's out-of-fold risk scores
    are standardised, a one-parameter Cox model on them (β ≥ 0: a higher risk score may not mean a
    longer survival) gives per-event log partial-likelihood terms ℓ_i; for each of ``n_bootstrap``
    Dirichlet(1, …, 1) draws α over the events, the weights are softmax_m(N Σ_i α_i ℓ_{m,i}); the
    final weights are their mean. This keeps pseudo-BMA's preference for the better model while not
    collapsing onto one model by chance.
  - ``"pseudo_bma"``: softmax of the cross-validated log partial likelihoods (Σ_i ℓ_{m,i}).
  - ``"concordance"``: the authors' rule, w_m ∝ exp((C_m − 0.5) / τ) with C_m the out-of-fold
    Harrell C-index and τ = ``tau``.
  - ``"equal"``: 1 / M.

  Sign-awareness: a member whose out-of-fold C-index is ≤ 0.5 (its risk ranks patients the wrong way
  round, or not at all) gets weight 0 under every rule, and is named in ``notes_``. It is dropped
  rather than sign-flipped because its survival curves, which enter the fused curve, are as wrong as
  its ranking. (The unconstrained one-parameter Cox fit of the paper's pseudo-BMA gave an
  anti-concordant member the same likelihood, so the same weight, as its mirror image.) When no member
  is concordant the weights fall back to 1 / M, with a note.

  Each model's risk score is standardised with the mean and SD of its **out-of-fold** risks (scales
  differ: RSF sums cumulative hazards, GBSA gives log-hazards), the same standardisation the weights
  were fitted on; a model refit on all data scores new patients on the scale of its out-of-fold
  scores, not of its (over-fitted, wider) scores on its own training patients. The fused risk score is
  Σ_m w_m (r_m − mean_m) / sd_m; the fused survival curve is the mixture Σ_m w_m S_m(t).
* Early fusion: :func:`PRIMELib.models.pipelines.early_fusion_pipeline` concatenates the selected
  clinical and radiomics features and fits one model.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_predict
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from PRIMELib.models.survival_data import event_and_time, step_values

__all__ = [
    "WEIGHTING_RULES",
    "BayesianModelAveragingSurvival",
    "LateFusionClassifier",
    "NonNegativeLogisticRegression",
    "cox_partial_likelihood",
]

WEIGHTING_RULES = ("pseudo_bma_plus", "pseudo_bma", "concordance", "equal")
_CLIP = 1e-6


def _check_estimators(estimators) -> None:
    if not estimators or not all(isinstance(e, tuple) and len(e) == 2 for e in estimators):
        raise ValueError("estimators must be a non-empty list of (name, estimator) pairs.")
    names = [name for name, _ in estimators]
    if len(set(names)) != len(names):
        raise ValueError(f"Estimator names must be unique, got {names}.")


class NonNegativeLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary L2-penalised logistic regression whose coefficients are constrained to be ≥ 0 (the
    intercept is free): PRIME-R's meta-classifier, so no member enters the fusion with a negative weight.

    It minimises scikit-learn's ``LogisticRegression`` objective, Σ log-loss + ‖w‖² / (2 C), with
    ``scipy.optimize.minimize`` (L-BFGS-B, bounds w ≥ 0). Hand-written because scikit-learn's
    ``LogisticRegression`` has no ``positive`` option (its linear regressions have); where the
    unconstrained optimum is already non-negative, the two give the same coefficients (tested).
    Fitted: ``classes_``, ``coef_`` (1, p), ``intercept_`` (1,), ``n_features_in_``.
    """

    def __init__(self, C=1.0, max_iter=1000, tol=1e-8):
        self.C = C
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C!r}.")
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"NonNegativeLogisticRegression handles two classes; got {len(self.classes_)}.")
        sign = np.where(encoded == 1, 1.0, -1.0)
        p = X.shape[1]

        def objective(theta):
            w, b = theta[:p], theta[p]
            margin = sign * (X @ w + b)
            loss = -np.sum(log_expit(margin)) + w @ w / (2 * self.C)
            residual = -sign * expit(-margin)  # d loss / d (X w + b)
            return loss, np.append(X.T @ residual + w / self.C, residual.sum())

        start = np.zeros(p + 1)
        prevalence = np.clip(encoded.mean(), 1e-6, 1 - 1e-6)
        start[p] = np.log(prevalence / (1 - prevalence))
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * p + [(None, None)],
            options={"maxiter": self.max_iter, "gtol": self.tol},
        )
        self.coef_ = result.x[None, :p].copy()
        self.intercept_ = result.x[p:].copy()
        self.n_iter_ = np.array([result.nit])
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=float, reset=False)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


class LateFusionClassifier(ClassifierMixin, _BaseComposition):
    """Late (decision-level) fusion: out-of-fold base probabilities → logistic meta-classifier.

    Parameters: ``estimators`` — (name, classifier) pairs, each usually a Pipeline that selects its own
    columns from a shared DataFrame; ``final_estimator`` — the meta-classifier (default:
    :class:`NonNegativeLogisticRegression` for two classes, logistic regression for more); ``cv`` — folds
    for the out-of-fold probabilities (int: stratified, shuffled with ``random_state``). Fitted:
    ``estimators_`` (refit on all data), ``named_estimators_``, ``meta_``, ``oof_meta_features_`` (the
    meta-classifier's training inputs), ``classes_``, ``notes_`` (members the meta-classifier gave a
    weight of 0, or a negative weight when a ``final_estimator`` allows one: training prints them).
    """

    def __init__(self, estimators, final_estimator=None, cv=5, random_state=None):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.random_state = random_state

    def get_params(self, deep=True):
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        self._set_params("estimators", **params)
        return self

    def _splitter(self, y):
        if isinstance(self.cv, int):
            return StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        return check_cv(self.cv, y, classifier=True)

    def _meta_features(self, probabilities: list[np.ndarray]) -> np.ndarray:
        columns = []
        for proba in probabilities:
            clipped = np.clip(proba, _CLIP, 1 - _CLIP)
            if clipped.shape[1] == 2:
                columns.append(np.log(clipped[:, 1:] / clipped[:, :1]))
            else:
                columns.append(np.log(clipped))
        return np.hstack(columns)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            tags.input_tags.sparse = all(get_tags(est).input_tags.sparse for _, est in self.estimators)
            tags.input_tags.allow_nan = all(get_tags(est).input_tags.allow_nan for _, est in self.estimators)
        except (TypeError, ValueError, AttributeError):  # malformed estimators: fit reports them
            pass
        return tags

    def fit(self, X, y):
        _check_estimators(self.estimators)
        if y is None:
            raise ValueError("LateFusionClassifier requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("LateFusionClassifier needs at least two classes in y; got one class.")
        splitter = self._splitter(encoded)
        oof = [
            cross_val_predict(clone(est), X, encoded, cv=splitter, method="predict_proba")
            for _, est in self.estimators
        ]
        self.oof_meta_features_ = self._meta_features(oof)
        meta = self.final_estimator
        if meta is None:
            meta = NonNegativeLogisticRegression() if len(self.classes_) == 2 else LogisticRegression()
        self.meta_ = clone(meta).fit(self.oof_meta_features_, encoded)
        self.notes_ = self._weight_notes()
        self.estimators_ = [clone(est).fit(X, encoded) for _, est in self.estimators]
        self.named_estimators_ = {
            name: est for (name, _), est in zip(self.estimators, self.estimators_, strict=True)
        }
        if hasattr(self.estimators_[0], "n_features_in_"):
            self.n_features_in_ = self.estimators_[0].n_features_in_
        if hasattr(self.estimators_[0], "feature_names_in_"):
            self.feature_names_in_ = self.estimators_[0].feature_names_in_
        return self

    def _weight_notes(self) -> list[str]:
        if len(self.classes_) != 2 or not hasattr(self.meta_, "coef_"):
            return []
        notes = []
        for (name, _), coef in zip(self.estimators, np.ravel(self.meta_.coef_), strict=True):
            if coef < 0:
                notes.append(
                    f"fusion member '{name}' has a negative weight ({coef:.3g}): the fused model treats "
                    "its predicted response as evidence against response"
                )
            elif coef == 0:
                notes.append(
                    f"fusion member '{name}' has weight 0: its out-of-fold predictions add nothing once "
                    "the other members are known (a negative weight was not allowed)"
                )
        return notes

    def transform_meta(self, X) -> np.ndarray:
        """The meta-classifier's inputs for ``X``: each base model's log-odds (binary outcome) or
        log-probabilities."""
        check_is_fitted(self, "meta_")
        return self._meta_features([est.predict_proba(X) for est in self.estimators_])

    def predict_proba(self, X):
        check_is_fitted(self, "meta_")
        return self.meta_.predict_proba(self.transform_meta(X))

    def decision_function(self, X):
        check_is_fitted(self, "meta_")
        return self.meta_.decision_function(self.transform_meta(X))

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def member_terms(self) -> list[tuple[str, object, float]]:
        """(name, fitted base model, meta coefficient) per base model: the fused log-odds is
        ``intercept + Σ coefficient × base log-odds`` (binary outcomes with a linear meta-classifier)."""
        check_is_fitted(self, "meta_")
        if len(self.classes_) != 2 or not hasattr(self.meta_, "coef_"):
            raise ValueError("Member terms exist only for a binary outcome and a linear meta-classifier.")
        coef = np.ravel(self.meta_.coef_)
        return [
            (name, est, float(c))
            for (name, _), est, c in zip(self.estimators, self.estimators_, coef, strict=True)
        ]


def cox_partial_likelihood(
    score: np.ndarray, event: np.ndarray, time: np.ndarray, *, non_negative: bool = False
) -> tuple[float, np.ndarray]:
    """Fit ``h(t | s) = h0(t) exp(β s)`` for one covariate ``s``; return β and the per-event log
    partial-likelihood terms ℓ_i = β s_i − log Σ_{j: t_j ≥ t_i} exp(β s_j) (Breslow's ties).

    ``non_negative``: constrain β ≥ 0 (the log partial likelihood is concave in β, so the constrained
    maximum is β = 0 whenever the free one is negative): a risk score then earns likelihood only by
    ranking the way it claims to."""
    order = np.argsort(-time, kind="stable")
    s, e, t = score[order], event[order], time[order]
    # Risk sets: sorted by decreasing time, the risk set of i is every j up to the last tied time.
    last_tie = np.searchsorted(-t, -t, side="right") - 1

    def terms(beta: float):
        eta = beta * s
        shift = eta.max(initial=0.0)
        w = np.exp(eta - shift)
        s0 = np.cumsum(w)[last_tie]
        s1 = np.cumsum(w * s)[last_tie]
        s2 = np.cumsum(w * s * s)[last_tie]
        loglik_terms = eta - shift - np.log(s0)
        return loglik_terms, s1 / s0, s2 / s0 - (s1 / s0) ** 2

    beta = 0.0
    for _ in range(50):
        _, mean, var = terms(beta)
        gradient = float(np.sum(e * (s - mean)))
        information = float(np.sum(e * var))
        if information <= 1e-12:
            break
        step = float(np.clip(gradient / information, -2.0, 2.0))
        beta += step
        if abs(step) < 1e-10:
            break
    if non_negative:
        beta = max(beta, 0.0)
    loglik_terms, _, _ = terms(beta)
    return beta, loglik_terms[e]


class BayesianModelAveragingSurvival(_BaseComposition):
    """Bayesian model averaging of survival models, with weights from training cross-validation.

    Parameters: ``estimators`` — (name, survival model) pairs, each with ``predict`` (risk score) and
    ``predict_survival_function``; ``weighting`` — one of :data:`WEIGHTING_RULES` (see the module
    docstring); ``tau`` — the temperature of the ``"concordance"`` rule; ``cv`` — folds (stratified by
    the event indicator, shuffled with ``random_state``); ``n_bootstrap`` — Bayesian-bootstrap draws of
    ``"pseudo_bma_plus"``.
    Fitted: ``weights_`` (≥ 0, sum 1; 0 for an anti-concordant member), ``cv_concordance_``,
    ``cv_log_partial_likelihood_``, ``oof_risk_`` (n, M), ``risk_mean_`` and ``risk_scale_`` (of the
    out-of-fold risks: the standardisation of both the weighting and ``predict``), ``cv_fused_risk_``
    (the out-of-fold risks standardised and weighted as ``predict`` does), ``notes_`` (members left
    out, and why), ``estimators_``, ``unique_times_``, ``max_follow_up_``.
    """

    def __init__(
        self, estimators, weighting="pseudo_bma_plus", tau=0.05, cv=5, n_bootstrap=1000, random_state=None
    ):
        self.estimators = estimators
        self.weighting = weighting
        self.tau = tau
        self.cv = cv
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def get_params(self, deep=True):
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        self._set_params("estimators", **params)
        return self

    def fit(self, X, y):
        from sksurv.metrics import concordance_index_censored

        _check_estimators(self.estimators)
        if self.weighting not in WEIGHTING_RULES:
            raise ValueError(f"weighting must be one of {WEIGHTING_RULES}, got {self.weighting!r}.")
        if self.weighting == "concordance" and not self.tau > 0:
            raise ValueError(f"tau must be > 0, got {self.tau!r}.")
        event, time = event_and_time(y)
        if not event.any():
            raise ValueError("Survival models need at least one event (death) in the training data.")
        n_splits = self.cv if isinstance(self.cv, int) else self.cv.get_n_splits()
        splitter = (
            StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
            if isinstance(self.cv, int)
            else self.cv
        )
        self.oof_risk_ = np.zeros((len(time), len(self.estimators)))
        for train, test in splitter.split(np.zeros(len(time)), event):
            for m, (_, est) in enumerate(self.estimators):
                fitted = clone(est).fit(_safe_indexing(X, train), y[train])
                self.oof_risk_[test, m] = fitted.predict(_safe_indexing(X, test))
        self.cv_concordance_ = np.array(
            [
                concordance_index_censored(event, time, self.oof_risk_[:, m])[0]
                for m in range(len(self.estimators))
            ]
        )
        # One standardisation, of the out-of-fold risks, for the weighting and for predict.
        self.risk_mean_ = self.oof_risk_.mean(axis=0)
        scale = self.oof_risk_.std(axis=0)
        self.risk_scale_ = np.where(scale > 0, scale, 1.0)
        standardised = (self.oof_risk_ - self.risk_mean_) / self.risk_scale_
        pointwise = np.asarray(
            [
                cox_partial_likelihood(standardised[:, m], event, time, non_negative=True)[1]
                for m in range(len(self.estimators))
            ]
        )  # (M, events)
        self.cv_log_partial_likelihood_ = pointwise.sum(axis=1)
        self.weights_, self.notes_ = self._sign_aware_weights(pointwise)
        self.cv_fused_risk_ = standardised @ self.weights_
        self.estimators_ = [clone(est).fit(X, y) for _, est in self.estimators]
        self.named_estimators_ = {
            name: est for (name, _), est in zip(self.estimators, self.estimators_, strict=True)
        }
        self.unique_times_ = np.unique(time[event])
        self.max_follow_up_ = float(time.max())
        if hasattr(self.estimators_[0], "n_features_in_"):
            self.n_features_in_ = self.estimators_[0].n_features_in_
        return self

    def _sign_aware_weights(self, pointwise: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """The rule's weights over the members whose out-of-fold C-index exceeds 0.5; 0 for the rest."""
        names = [name for name, _ in self.estimators]
        concordant = self.cv_concordance_ > 0.5
        notes = [
            f"survival member '{name}' left out of the model average (weight 0): its out-of-fold "
            f"C-index is {c:.3f}, not above 0.5"
            for name, c, keep in zip(names, self.cv_concordance_, concordant, strict=True)
            if not keep
        ]
        weights = np.zeros(len(names))
        if not concordant.any():
            notes.append("no survival member ranks patients better than chance out of fold: equal weights")
            return np.full(len(names), 1.0 / len(names)), notes
        weights[concordant] = self._weights(pointwise[concordant], self.cv_concordance_[concordant])
        return weights, notes

    def _weights(self, pointwise: np.ndarray, concordance: np.ndarray) -> np.ndarray:
        n_models = pointwise.shape[0]
        if self.weighting == "equal":
            return np.full(n_models, 1.0 / n_models)
        if self.weighting == "concordance":
            return _softmax((concordance - 0.5) / self.tau)
        if self.weighting == "pseudo_bma":
            return _softmax(pointwise.sum(axis=1))
        rng = check_random_state(self.random_state)
        n_events = pointwise.shape[1]
        alpha = rng.dirichlet(np.ones(n_events), size=self.n_bootstrap)  # (B, events)
        draws = n_events * alpha @ pointwise.T  # (B, M)
        return np.mean([_softmax(row) for row in draws], axis=0)

    def member_risks(self, X) -> np.ndarray:
        """Each model's standardised risk score (n, M); the fused risk is ``member_risks @ weights_``."""
        check_is_fitted(self, "weights_")
        risks = np.column_stack([est.predict(X) for est in self.estimators_])
        return (risks - self.risk_mean_) / self.risk_scale_

    def predict(self, X):
        """The fused risk score (higher = shorter survival)."""
        return self.member_risks(X) @ self.weights_

    def predict_survival_function(self, X, return_array=False):
        """The weighted mixture of the models' survival functions, on ``unique_times_``.

        ``return_array=True``: an array (n, len(unique_times_)); otherwise scikit-survival
        ``StepFunction`` objects (so its metrics can use them).
        """
        from sksurv.functions import StepFunction

        values = self.survival_at(X, self.unique_times_)
        if return_array:
            return values
        return np.array([StepFunction(self.unique_times_, row) for row in values])

    def survival_at(self, X, times) -> np.ndarray:
        """S(t | x) of the mixture at any ``times`` (days), (n, len(times)); constant beyond the last
        training event time (callers flag times beyond ``max_follow_up_``)."""
        check_is_fitted(self, "weights_")
        total = 0.0
        for weight, est in zip(self.weights_, self.estimators_, strict=True):
            total = total + weight * step_values(est.predict_survival_function(X), times)
        return np.asarray(total)

    def member_terms(self) -> list[tuple[str, object, float]]:
        """(name, fitted model, factor) per model: the fused risk is Σ factor × (risk − mean)."""
        check_is_fitted(self, "weights_")
        return [
            (name, est, float(w / s))
            for (name, _), est, w, s in zip(
                self.estimators, self.estimators_, self.weights_, self.risk_scale_, strict=True
            )
        ]

    def score(self, X, y):
        from PRIMELib.models.survival import concordance_scorer

        return concordance_scorer(self, X, y)


def _softmax(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()
