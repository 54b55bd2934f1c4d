"""Response models: a real Rotation Forest, and the paper's zoo working in pipelines and grid search."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import check_estimator

from PRIMELib.models import RESPONSE_ALGORITHMS, RESPONSE_GRIDS, RotationForestClassifier, make_response_model


def test_rotation_forest_passes_scikit_learns_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(RotationForestClassifier(n_estimators=5, random_state=0))


def test_rotation_forest_beats_a_tree_and_matches_a_random_forest_on_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    models = {
        "decision tree": DecisionTreeClassifier(random_state=0),
        "random forest (50 trees)": RandomForestClassifier(50, random_state=0),
        "rotation forest (50 trees)": RotationForestClassifier(50, random_state=0),
    }
    accuracy = {name: cross_val_score(m, X, y, cv=folds).mean() for name, m in models.items()}
    for name, value in accuracy.items():
        print(f"breast cancer, 5-fold CV accuracy: {name}: {value:.4f}")
    rotation, forest, tree = (
        accuracy[k] for k in ("rotation forest (50 trees)", "random forest (50 trees)", "decision tree")
    )
    assert rotation > tree + 0.02
    assert rotation >= forest - 0.005


def test_rotation_forest_rotates_every_feature_with_orthonormal_group_axes():
    X, y = load_breast_cancer(return_X_y=True)
    forest = RotationForestClassifier(n_estimators=4, n_features_per_subset=4, random_state=1).fit(
        X[:200], y[:200]
    )
    n_trees, n_groups, size = forest.rotation_features_.shape
    assert (n_trees, size) == (4, 4) and n_groups == 8  # 30 features → 8 groups of 4, last one filled
    for t in range(n_trees):
        assert set(forest.rotation_features_[t].ravel()) == set(range(30))
        for g in range(n_groups):
            assert len(set(forest.rotation_features_[t, g])) == size
            loadings = forest.rotation_loadings_[t, g]
            assert np.allclose(loadings.T @ loadings, np.eye(size), atol=1e-8)
    # Different seeds give different rotations; the same seed the same forest.
    again = RotationForestClassifier(n_estimators=4, n_features_per_subset=4, random_state=1).fit(
        X[:200], y[:200]
    )
    assert np.array_equal(forest.predict_proba(X[200:]), again.predict_proba(X[200:]))


@pytest.mark.parametrize("name", list(RESPONSE_ALGORITHMS))
def test_every_response_algorithm_tunes_in_grid_search_and_gives_probabilities(name):
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:150, :8], y[:150]
    X = (X - X.mean(0)) / X.std(0)  # PRIME's pipelines z-score before the model
    model = make_response_model(name, random_state=0)
    search = GridSearchCV(model, RESPONSE_GRIDS["quick"][name], cv=3, scoring="roc_auc").fit(X, y)
    proba = search.best_estimator_.predict_proba(X)
    assert proba.shape == (150, 2) and np.allclose(proba.sum(1), 1)
    assert search.best_score_ > 0.8
    assert repr(clone(model)) == repr(model)


def test_gtbr_is_stochastic_gradient_boosting():
    assert make_response_model("gtbr").subsample < 1
    with pytest.raises(ValueError, match="Unknown response algorithm"):
        make_response_model("svm")
