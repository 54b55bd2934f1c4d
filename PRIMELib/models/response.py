"""PRIME-R's response classifiers: Bagging, AdaBoost, Stacking, Rotation Forest and GTBR.

Four come from scikit-learn. Rotation Forest (Rodríguez, Kuncheva & Alonso, IEEE TPAMI 2006) is
written here: no well-kept Python library provides one (the authors' notebooks used a plain random
forest under that name), so this is a real one, tested against a tree and a random forest.
GTBR, the paper's "gradient tree boosting with randomness", is stochastic gradient boosting
(Friedman 2002): scikit-learn's gradient boosting with ``subsample < 1``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    GradientBoostingClassifier,
    StackingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["RESPONSE_ALGORITHMS", "RESPONSE_GRIDS", "RotationForestClassifier", "make_response_model"]


class RotationForestClassifier(ClassifierMixin, BaseEstimator):
    """Rotation Forest: decision trees grown on PCA-rotated feature subsets.

    For each tree the features are split at random into groups of ``n_features_per_subset``; for each
    group, a random non-empty subset of the classes is chosen and a bootstrap sample of
    ``sample_fraction`` of its rows is drawn; principal components of that sample (all of them, none
    dropped; on its correlation matrix, as Weka's implementation does, so feature units do not matter)
    rotate the group's features. The tree is grown on the whole training set in the rotated space.
    Probabilities are averaged over trees. When the number of features is not a multiple of the group
    size, the last group is filled with features drawn from the other groups.

    Parameters: ``n_estimators``; ``n_features_per_subset`` (3 in Rodríguez et al.);
    ``sample_fraction`` (0.75); ``max_depth``, ``min_samples_leaf``, ``criterion`` of each tree;
    ``random_state``. Fitted: ``classes_``, ``estimators_``, ``rotation_features_`` (trees, groups,
    group size), ``rotation_centers_`` and ``rotation_scales_`` (same shape), ``rotation_loadings_``
    (trees, groups, size, size).
    """

    def __init__(
        self,
        n_estimators=100,
        n_features_per_subset=3,
        sample_fraction=0.75,
        max_depth=None,
        min_samples_leaf=1,
        criterion="gini",
        random_state=None,
    ):
        self.n_estimators = n_estimators
        self.n_features_per_subset = n_features_per_subset
        self.sample_fraction = sample_fraction
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.criterion = criterion
        self.random_state = random_state

    def _check_params(self) -> None:
        for name in ("n_estimators", "n_features_per_subset"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}.")
        if not 0 < self.sample_fraction <= 1:
            raise ValueError(f"sample_fraction must be in (0, 1], got {self.sample_fraction!r}.")

    def fit(self, X, y):
        self._check_params()
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        rng = check_random_state(self.random_state)
        n_features = X.shape[1]
        size = min(self.n_features_per_subset, n_features)
        n_groups = -(-n_features // size)
        shape = (self.n_estimators, n_groups, size)
        self.rotation_features_ = np.empty(shape, dtype=np.intp)
        self.rotation_centers_ = np.empty(shape)
        self.rotation_scales_ = np.empty(shape)
        self.rotation_loadings_ = np.zeros((*shape, size))
        self.estimators_ = []
        for t in range(self.n_estimators):
            order = rng.permutation(n_features)
            missing = n_groups * size - n_features
            if missing:
                # Fill the last group with features from the other groups (never its own).
                others = order[: n_features - (size - missing)]
                order = np.concatenate([order, rng.choice(others, missing, replace=False)])
            groups = order.reshape(n_groups, size)
            self.rotation_features_[t] = groups
            for g, features in enumerate(groups):
                centre, scale, loadings = self._rotation(X[:, features], encoded, rng)
                self.rotation_centers_[t, g] = centre
                self.rotation_scales_[t, g] = scale
                self.rotation_loadings_[t, g] = loadings
            tree = DecisionTreeClassifier(
                criterion=self.criterion,
                max_depth=self.max_depth,
                min_samples_leaf=self.min_samples_leaf,
                random_state=rng.randint(np.iinfo(np.int32).max),
            )
            tree.fit(self._rotate(X, t), encoded)
            self.estimators_.append(tree)
        return self

    def _rotation(self, block: np.ndarray, encoded: np.ndarray, rng) -> tuple[np.ndarray, ...]:
        """Centre, scale and loadings (size × size) of one group, from a class subset's bootstrap sample."""
        n_classes = len(self.classes_)
        chosen = rng.choice(n_classes, rng.randint(1, n_classes + 1), replace=False)
        rows = np.flatnonzero(np.isin(encoded, chosen))
        n_draw = max(2, round(self.sample_fraction * len(rows)))
        sample = block[rng.choice(rows, n_draw, replace=True)]
        centre = sample.mean(axis=0)
        scale = sample.std(axis=0)
        scale[scale == 0] = 1.0
        # Principal axes of the sample: right singular vectors of the standardised data. Fewer rows
        # than features leaves some axes undetermined: they stay zero (a constant feature for the tree).
        _, _, vt = np.linalg.svd((sample - centre) / scale, full_matrices=False)
        loadings = np.zeros((block.shape[1], block.shape[1]))
        loadings[:, : vt.shape[0]] = vt.T
        return centre, scale, loadings

    def _rotate(self, X: np.ndarray, t: int) -> np.ndarray:
        features = self.rotation_features_[t]
        grouped = (X[:, features] - self.rotation_centers_[t]) / self.rotation_scales_[t]  # (n, groups, size)
        return np.einsum("ngs,gsk->ngk", grouped, self.rotation_loadings_[t]).reshape(len(X), -1)

    def predict_proba(self, X):
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, dtype=float, reset=False)
        proba = np.zeros((len(X), len(self.classes_)))
        for t, tree in enumerate(self.estimators_):
            proba[:, tree.classes_.astype(int)] += tree.predict_proba(self._rotate(X, t))
        return proba / len(self.estimators_)

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _bagging(random_state):
    return BaggingClassifier(
        DecisionTreeClassifier(random_state=random_state), n_estimators=100, random_state=random_state
    )


def _adaboost(random_state):
    return AdaBoostClassifier(
        DecisionTreeClassifier(max_depth=1, random_state=random_state),
        n_estimators=100,
        random_state=random_state,
    )


def _stacking(random_state):
    base = [
        ("logistic", LogisticRegression(max_iter=1000)),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=random_state)),
        ("knn", KNeighborsClassifier(n_neighbors=15)),
    ]
    return StackingClassifier(base, final_estimator=LogisticRegression(max_iter=1000), cv=5)


def _rotation_forest(random_state):
    return RotationForestClassifier(n_estimators=100, random_state=random_state)


def _gtbr(random_state):
    return GradientBoostingClassifier(subsample=0.8, random_state=random_state)


#: name → factory(random_state) of each response algorithm of the paper.
RESPONSE_ALGORITHMS = {
    "bagging": _bagging,
    "adaboost": _adaboost,
    "stacking": _stacking,
    "rotation_forest": _rotation_forest,
    "gtbr": _gtbr,
}

#: Hyper-parameter grids ("default": the benchmark's; "quick": one point each, for tests and demos).
RESPONSE_GRIDS = {
    "default": {
        "bagging": {"n_estimators": [50, 100], "max_samples": [0.7, 1.0]},
        "adaboost": {"n_estimators": [50, 100], "learning_rate": [0.1, 0.5, 1.0]},
        "stacking": {"final_estimator__C": [0.1, 1.0, 10.0]},
        "rotation_forest": {"n_estimators": [50, 100], "max_depth": [None, 4]},
        "gtbr": {"n_estimators": [100], "learning_rate": [0.05, 0.1], "max_depth": [2, 3]},
    },
    "quick": {
        "bagging": {"n_estimators": [25]},
        "adaboost": {"n_estimators": [25]},
        "stacking": {"final_estimator__C": [1.0]},
        "rotation_forest": {"n_estimators": [15]},
        "gtbr": {"n_estimators": [30]},
    },
}


def make_response_model(name: str, random_state=None):
    """A fresh, unfitted response classifier by name (see :data:`RESPONSE_ALGORITHMS`)."""
    try:
        return RESPONSE_ALGORITHMS[name](random_state)
    except KeyError:
        raise ValueError(
            f"Unknown response algorithm {name!r}; choose from {', '.join(RESPONSE_ALGORITHMS)}."
        ) from None
