"""The fast paths of scoring one case give the values of the plain path (issue 18: a row in ≤ 50 ms).

``ModelBundle.score`` reads the reference and the case from one batch of coalitions, evaluates only the
distinct coalition rows, lets the trees of AdaBoost and random survival forests skip re-validating rows
their ensemble has validated, fills missing clinical values on the array and builds the case's frame on a
cached column index. Each is checked here against the plain computation: the fused models' own
``predict_proba``/``predict``/``survival_at``, and Shapley values computed the old way (one unbatched
call per coalition set, the library's own models) or by brute force over all feature orders.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from PRIMELib.bundle import DEFAULT_BUNDLE, load_bundle
from PRIMELib.bundle.format import _case_frame
from PRIMELib.clinical.coding import encoding_of
from PRIMELib.clinical.imputation import MedianImputer
from PRIMELib.clinical.schema import CLINICAL_SCHEMA, Kind
from PRIMELib.models.explain import baseline_shapley, shapley_and_ends, trees_checked_once
from PRIMELib.models.landmark import bundle_landmark, curve_grid
from PRIMELib.scoring import DAYS_PER_MONTH, REPORT_MONTHS


def _codes(name: str) -> list[float]:
    """The numbers a feature table holds for a coded clinical column (text codes: their positions)."""
    variable = CLINICAL_SCHEMA.get_variable(name)
    if variable.kind is Kind.CATEGORY:
        return [float(i) for i in range(len(variable.codes))]
    return [float(code) for code in variable.codes]


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(DEFAULT_BUNDLE)


def _rows(bundle, n: int = 6) -> list[dict]:
    """The reference case and random cases within (and a little beyond) the typical ranges, with 0 to 3
    clinical values missing."""
    reference = bundle.manifest["preprocessing"]["reference_values"]
    ranges = bundle.manifest["preprocessing"]["typical_ranges"]
    clinical = sorted(bundle.required_features["clinical"])
    rows = [dict(reference)]
    for seed in range(n - 1):
        rng = np.random.default_rng(seed)
        row = {}
        for name, value in reference.items():
            low, high = ranges[name]
            if encoding_of(name) != "number":  # a coded column: one of its codes, never between two
                row[name] = float(rng.choice([c for c in _codes(name) if low <= c <= high] or [value]))
            else:
                row[name] = float(rng.uniform(low - 0.1 * (high - low), high + 0.1 * (high - low)))
        for name in rng.choice(clinical, size=seed % 4, replace=False):
            row[str(name)] = None
        rows.append(row)
    return rows


def _plain_member_terms(bundle, fused, kind: str, frame: pd.DataFrame) -> tuple[dict, float, float]:
    """Contributions, reference total and case total the plain way: each member pipeline's own model,
    validated as usual, the ends predicted separately from the coalitions."""
    reference = _case_frame(
        bundle.manifest["preprocessing"]["reference_values"], bundle.manifest["input_columns"]
    )
    contributions, at_reference, at_case = {}, 0.0, 0.0
    for _, pipeline, factor in fused.member_terms():
        prefix, model = pipeline[:-1], pipeline[-1]
        if kind == "log_odds":

            def output(rows, model=model, factor=factor):
                p = np.clip(model.predict_proba(rows)[:, 1], 1e-6, 1 - 1e-6)
                return factor * np.log(p / (1 - p))

        else:

            def output(rows, model=model, factor=factor):
                return factor * np.asarray(model.predict(rows), dtype=float)

        x = np.asarray(prefix.transform(frame), float)[0]
        r = np.asarray(prefix.transform(reference), float)[0]
        phi = baseline_shapley(output, x, r)
        ends = output(np.vstack([r, x]))
        at_reference += float(ends[0])
        at_case += float(ends[1])
        contributions |= dict(zip([str(f) for f in prefix.get_feature_names_out()], phi, strict=True))
    return contributions, at_reference, at_case


def test_score_gives_the_plain_paths_values_on_cases_with_and_without_missing_values(bundle):
    rows = _rows(bundle)
    assert any(any(v is None for v in row.values()) for row in rows)
    for number, row in enumerate(rows):
        result = bundle.score(row, case_id=f"case-{number}")
        frame = _case_frame(row, bundle.manifest["input_columns"])
        assert result.response_probability == pytest.approx(
            bundle.prime_r.predict_proba(frame)[0, 1], abs=1e-12
        )
        assert result.risk_score == pytest.approx(bundle.prime_s.predict(frame)[0], abs=1e-12)
        follow_up = float(bundle.manifest["survival"]["max_follow_up_days"])
        _, model_days, shown = curve_grid(
            follow_up, bundle_landmark(bundle.manifest), max(REPORT_MONTHS), DAYS_PER_MONTH
        )
        curve = bundle.prime_s.survival_at(frame, model_days)[0]
        assert [p["survival"] for p in result.survival_curve] == pytest.approx(curve[shown], abs=1e-12)

        for fused, kind, got, reference_key in (
            (bundle.prime_r, "log_odds", result.response_contributions, "response_reference_log_odds"),
            (bundle.prime_s, "risk", result.survival_contributions, "survival_reference_risk"),
        ):
            plain, at_reference, at_case = _plain_member_terms(bundle, fused, kind, frame)
            assert {c["feature"] for c in got} == set(plain)
            for contribution in got:
                assert contribution["contribution"] == pytest.approx(
                    plain[contribution["feature"]], abs=1e-12
                )
            offset = result.explanation[reference_key] - at_reference
            assert offset + at_case == pytest.approx(
                math.log(result.response_probability / (1 - result.response_probability))
                if kind == "log_odds"
                else result.risk_score,
                abs=1e-9,
            )


def _brute_force_shapley(f, x, reference):
    """Shapley values by their definition: the mean marginal gain over all m! orders."""
    m = len(x)
    phi = np.zeros(m)
    orders = list(itertools.permutations(range(m)))
    for order in orders:
        current = np.array(reference, dtype=float)
        before = f(current[None, :])[0]
        for j in order:
            current[j] = x[j]
            after = f(current[None, :])[0]
            phi[j] += after - before
            before = after
    return phi / len(orders)


def test_shapley_evaluates_each_distinct_coalition_once_and_reads_both_ends_from_it():
    calls = []

    def f(rows):
        calls.append(len(rows))
        return np.sin(rows[:, 0] * rows[:, 1]) + rows[:, 2] ** 2 * rows[:, 3] - np.exp(0.1 * rows[:, 4])

    reference = np.array([0.3, -1.0, 2.0, 0.5, 1.0])
    x = np.array([1.2, -1.0, -0.5, 0.5, 3.0])  # two features equal the reference
    phi, at_reference, at_case = shapley_and_ends(f, x, reference)
    assert calls == [2**3]  # one call, on the 2^3 coalitions of the three differing features
    assert phi == pytest.approx(_brute_force_shapley(f, x, reference), abs=1e-12)
    assert phi[[1, 3]].tolist() == [0.0, 0.0]
    assert at_reference == pytest.approx(f(reference[None, :])[0], abs=0)
    assert at_case == pytest.approx(f(x[None, :])[0], abs=0)
    # Sampled (more features than the exact limit): the ends still come from the one call.
    calls.clear()
    phi, at_reference, at_case = shapley_and_ends(f, x, reference, exact_max_features=2, n_permutations=8)
    assert len(calls) == 1
    assert phi.sum() == pytest.approx(at_case - at_reference, abs=1e-12)
    assert at_case == f(x[None, :])[0] and at_reference == f(reference[None, :])[0]
    # Nothing differs: no coalitions, the ends predicted directly.
    assert shapley_and_ends(f, reference, reference)[0].tolist() == [0.0] * 5


def test_trees_checked_once_predict_exactly_as_the_ensembles_do():
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.linear_model import LogisticRegression
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.util import Surv

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 4))  # noqa: N806 (scikit-learn's name)
    label = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    rows = rng.normal(size=(50, 4))

    boosted = AdaBoostClassifier(n_estimators=20, random_state=0).fit(X, label)
    view, prepare = trees_checked_once(boosted)
    assert view is not boosted and view.estimators_[0] is not boosted.estimators_[0]
    assert np.array_equal(view.predict_proba(prepare(rows)), boosted.predict_proba(rows))
    assert type(boosted.estimators_[0]).__name__ == "DecisionTreeClassifier"  # the model is untouched
    with pytest.raises(ValueError, match="not all finite"):
        prepare(np.where(rows > 1, np.inf, rows))

    y = Surv.from_arrays(event=rng.random(80) < 0.7, time=rng.uniform(1, 100, 80))
    forest = RandomSurvivalForest(n_estimators=10, min_samples_leaf=5, random_state=0).fit(X, y)
    view, prepare = trees_checked_once(forest)
    assert np.array_equal(view.predict(prepare(rows)), forest.predict(rows))
    assert np.array_equal(
        view.predict_survival_function(rows, return_array=True),
        forest.predict_survival_function(rows, return_array=True),
    )
    linear = LogisticRegression().fit(X, label)
    assert trees_checked_once(linear)[0] is linear


def test_median_imputer_transform_fills_as_pandas_fillna_does():
    rng = np.random.default_rng(0)
    training = pd.DataFrame(rng.normal(size=(30, 4)), columns=["a", "b", "c", "d"])
    imputer = MedianImputer(max_imputed=2).fit(training)
    cases = pd.DataFrame(rng.normal(size=(5, 4)), columns=["a", "b", "c", "d"], index=list("vwxyz"))
    cases.iloc[0, 1] = np.nan
    cases.iloc[3, [0, 3]] = np.nan
    filled = imputer.transform(cases)
    pd.testing.assert_frame_equal(filled, cases.fillna(imputer.medians_))
    assert filled.iloc[3, 0] == training["a"].median()


def test_the_case_frame_is_the_formats_case_frame(bundle):
    for row in _rows(bundle, 3):
        values = {k: (math.nan if v is None else float(v)) for k, v in row.items()}
        pd.testing.assert_frame_equal(
            bundle._frame(values), _case_frame(values, list(bundle.manifest["input_columns"]))
        )
