"""PRIME-S's survival models: Random Survival Forest, Gradient Boosting Survival Analysis, FastSurvivalSVM.

All three come from scikit-survival. Every model here has ``predict`` returning a risk score (higher =
shorter survival) and ``predict_survival_function``. FastSurvivalSVM has no survival function of its
own: :class:`SurvivalSVM` adds one with a Cox model on its score and Breslow's baseline hazard.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from PRIMELib.models.survival_data import event_and_time

__all__ = [
    "SURVIVAL_ALGORITHMS",
    "SURVIVAL_GRIDS",
    "SurvivalSVM",
    "concordance_scorer",
    "make_survival_model",
]


class SurvivalSVM(BaseEstimator):
    """FastSurvivalSVM (ranking objective) with a survival function.

    The SVM's score is mapped to a Cox linear predictor ``β × standardised score`` fitted on the
    training set, with Breslow's estimator of the baseline hazard; ``predict`` returns that linear
    predictor (higher = higher risk, whatever the SVM's sign convention), so it ranks as the SVM does.
    Parameters are FastSurvivalSVM's. Fitted: ``svm_``, ``score_mean_``, ``score_scale_``, ``beta_``,
    ``baseline_``, ``unique_times_``.
    """

    def __init__(self, alpha=1.0, rank_ratio=1.0, max_iter=100, tol=None, random_state=None):
        self.alpha = alpha
        self.rank_ratio = rank_ratio
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit(self, X, y):
        from sksurv.linear_model import CoxPHSurvivalAnalysis
        from sksurv.linear_model.coxph import BreslowEstimator
        from sksurv.svm import FastSurvivalSVM

        event, time = event_and_time(y)
        self.svm_ = FastSurvivalSVM(
            alpha=self.alpha,
            rank_ratio=self.rank_ratio,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        ).fit(X, y)
        self.n_features_in_ = self.svm_.n_features_in_
        if hasattr(self.svm_, "feature_names_in_"):
            self.feature_names_in_ = self.svm_.feature_names_in_
        score = self.svm_.predict(X)
        self.score_mean_ = float(score.mean())
        self.score_scale_ = float(score.std()) or 1.0
        standardised = ((score - self.score_mean_) / self.score_scale_)[:, None]
        cox = CoxPHSurvivalAnalysis(alpha=1e-6).fit(standardised, y)
        self.beta_ = float(cox.coef_[0])
        self.baseline_ = BreslowEstimator().fit(self.beta_ * standardised[:, 0], event, time)
        self.unique_times_ = np.unique(time[event]) if event.any() else np.unique(time)
        return self

    def predict(self, X):
        check_is_fitted(self, "baseline_")
        return self.beta_ * (self.svm_.predict(X) - self.score_mean_) / self.score_scale_

    def predict_survival_function(self, X, return_array=False):
        functions = self.baseline_.get_survival_function(self.predict(X))
        if return_array:
            return np.vstack([fn(self.unique_times_) for fn in functions])
        return functions

    def score(self, X, y):
        return concordance_scorer(self, X, y)


def concordance_scorer(estimator, X, y) -> float:
    """Harrell's C-index of ``estimator.predict(X)`` (a risk score) against survival labels ``y``;
    usable as ``scoring=`` in GridSearchCV and cross_validate."""
    from sksurv.metrics import concordance_index_censored

    event, time = event_and_time(y)
    if not event.any():
        return float("nan")
    return float(concordance_index_censored(event, time, np.asarray(estimator.predict(X), float))[0])


def _rsf(random_state):
    from sksurv.ensemble import RandomSurvivalForest

    return RandomSurvivalForest(
        n_estimators=100, min_samples_leaf=10, max_features="sqrt", random_state=random_state
    )


def _gbsa(random_state):
    from sksurv.ensemble import GradientBoostingSurvivalAnalysis

    return GradientBoostingSurvivalAnalysis(loss="coxph", subsample=0.8, random_state=random_state)


def _fsvm(random_state):
    return SurvivalSVM(alpha=0.1, random_state=random_state)


#: name → factory(random_state) of each survival algorithm of the paper.
SURVIVAL_ALGORITHMS = {"rsf": _rsf, "gbsa": _gbsa, "fsvm": _fsvm}

#: Hyper-parameter grids ("default": the benchmark's; "quick": one point each, for tests and demos).
SURVIVAL_GRIDS = {
    "default": {
        "rsf": {"min_samples_leaf": [5, 15], "max_features": ["sqrt", None]},
        "gbsa": {"n_estimators": [100], "learning_rate": [0.05, 0.1], "max_depth": [2, 3]},
        "fsvm": {"alpha": [0.01, 0.1, 1.0]},
    },
    "quick": {
        "rsf": {"n_estimators": [25]},
        "gbsa": {"n_estimators": [30]},
        "fsvm": {"alpha": [0.1]},
    },
}


def make_survival_model(name: str, random_state=None):
    """A fresh, unfitted survival model by name (see :data:`SURVIVAL_ALGORITHMS`)."""
    try:
        return SURVIVAL_ALGORITHMS[name](random_state)
    except KeyError:
        raise ValueError(
            f"Unknown survival algorithm {name!r}; choose from {', '.join(SURVIVAL_ALGORITHMS)}."
        ) from None
