"""Median imputation: the 30 % rule, training medians, named imputed fields, refusal, JSON round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from PRIMELib.clinical import ClinicalDataError, MedianImputer
from PRIMELib.errors import PRIMEInputError

NAN = math.nan

# Ten training cases. By hand:
#   alb   3 of 10 missing (30 %: kept),  median of 30, 32, 35, 36, 38, 40, 44 = 36
#   afp   4 of 10 missing (40 %: dropped)
#   mon   none missing, median of 0.2 … 1.1 (ten values) = (0.6 + 0.7) / 2 = 0.65
#   ecog  1 missing, median of 0, 0, 0, 0, 1, 1, 1, 1, 1 = 1
TRAIN = pd.DataFrame(
    {
        "alb": [30, 32, NAN, 35, 36, NAN, 38, 40, NAN, 44],
        "afp": [5, NAN, 400, NAN, 20, NAN, 3000, NAN, 8, 12],
        "mon": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1],
        "ecog": [0, 0, 0, 0, 1, 1, 1, 1, 1, None],
    }
)


@pytest.fixture
def imputer() -> MedianImputer:
    return MedianImputer(max_imputed=2).fit(TRAIN)


def test_fit_drops_features_over_30_percent_missing_and_stores_medians(imputer: MedianImputer) -> None:
    assert imputer.features_ == ("alb", "mon", "ecog")
    assert imputer.dropped_ == {"afp": pytest.approx(0.4)}
    assert imputer.medians_ == {"alb": 36.0, "mon": pytest.approx(0.65), "ecog": 1.0}
    assert imputer.n_training_cases_ == 10
    assert list(imputer.get_feature_names_out()) == ["alb", "mon", "ecog"]


def test_a_feature_just_over_the_limit_is_dropped() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, NAN], "y": [1.0, 2.0, 3.0]})  # x: 33 % missing
    assert MedianImputer().fit(frame).features_ == ("y",)
    assert MedianImputer(max_missing_fraction=0.34).fit(frame).features_ == ("x", "y")


def test_impute_names_every_filled_field(imputer: MedianImputer) -> None:
    result = imputer.impute({"alb": None, "mon": 0.42, "afp": 7.0, "age": 60})
    assert result.imputed_fields == ("alb", "ecog")
    assert result.values == {"alb": 36.0, "mon": 0.42, "ecog": 1.0}


def test_a_case_missing_too_much_is_refused_with_the_list(imputer: MedianImputer) -> None:
    with pytest.raises(ClinicalDataError) as caught:
        imputer.impute({"alb": NAN}, case_id="P07")
    (problem,) = caught.value.problems
    assert "misses 3 of the model's inputs: alb, mon, ecog" in problem.message
    assert "at most 2" in problem.expected


def test_transform_fills_and_refuses_per_case(imputer: MedianImputer) -> None:
    cases = pd.DataFrame({"alb": [NAN, 41.0], "mon": [0.5, NAN], "ecog": [0, 1]}, index=["a", "b"])
    filled = imputer.transform(cases)
    assert filled.loc["a", "alb"] == 36.0 and filled.loc["b", "mon"] == pytest.approx(0.65)
    assert not filled.isna().any().any()
    incomplete = pd.DataFrame({"alb": [NAN, 40.0, NAN]}, index=["x", "y", "z"])  # mon, ecog absent
    with pytest.raises(ClinicalDataError) as caught:
        imputer.transform(incomplete)
    assert [p.value for p in caught.value.problems] == ["x", "z"]  # y misses two: allowed


def test_text_and_infinity_are_errors_not_gaps(imputer: MedianImputer) -> None:
    with pytest.raises(ClinicalDataError, match="not a finite number"):
        imputer.impute({"alb": "high", "mon": math.inf, "ecog": 0})
    with pytest.raises(ClinicalDataError) as caught:
        MedianImputer().fit(pd.DataFrame({"sex": ["male", "female"], "alb": [40.0, 38.0]}))
    assert {p.field for p in caught.value.problems} == {"sex"}


def test_json_round_trip_reproduces_the_imputer_exactly(imputer: MedianImputer) -> None:
    text = imputer.to_json()
    data = json.loads(text)  # plain JSON, no pickle
    assert data["format"] == "prime-median-imputer"
    assert data["medians"]["mon"] == imputer.medians_["mon"]
    restored = MedianImputer.from_json(text)
    assert restored.to_dict() == imputer.to_dict()
    assert restored.get_params() == imputer.get_params()
    cases = pd.DataFrame({"alb": [NAN, 39.0], "mon": [0.31, NAN], "ecog": [NAN, 0]})
    pd.testing.assert_frame_equal(restored.transform(cases), imputer.transform(cases))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=1, max_size=30))
def test_json_round_trip_keeps_medians_bit_for_bit(column: list) -> None:
    imputer = MedianImputer(max_missing_fraction=1.0).fit(pd.DataFrame({"x": column, "y": 1.0}))
    if not imputer.features_ or math.isnan(imputer.medians_.get("x", 0.0)):
        return  # an all-missing column has no median; covered below
    assert MedianImputer.from_json(imputer.to_json()).medians_ == imputer.medians_


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"format": "pickle"},
        {"format": "prime-median-imputer", "format_version": 2},
        {
            "format": "prime-median-imputer",
            "format_version": 1,
            "params": {"max_missing_fraction": 0.3, "max_imputed": 3},
            "features": ["a", "b"],
            "medians": {"a": 1.0},
            "dropped": {},
            "n_training_cases": 5,
        },
        {
            "format": "prime-median-imputer",
            "format_version": 1,
            "params": {"max_missing_fraction": 3.0, "max_imputed": 3},
            "features": [],
            "medians": {},
            "dropped": {},
            "n_training_cases": 5,
        },
    ],
)
def test_malformed_stored_imputers_are_refused(data: object) -> None:
    with pytest.raises(PRIMEInputError):
        MedianImputer.from_dict(data)
    with pytest.raises(PRIMEInputError, match="not valid JSON"):
        MedianImputer.from_json("{not json")


def test_unfitted_and_misused() -> None:
    with pytest.raises(PRIMEInputError, match="not been fitted"):
        MedianImputer().impute({})
    with pytest.raises(PRIMEInputError, match="non-empty DataFrame"):
        MedianImputer().fit(pd.DataFrame())
    with pytest.raises(PRIMEInputError, match="max_imputed"):
        MedianImputer(max_imputed=-1).fit(TRAIN)


def test_scikit_learn_compatibility() -> None:
    sklearn_base = pytest.importorskip("sklearn.base")
    imputer = MedianImputer(max_missing_fraction=0.2, max_imputed=None)
    twin = sklearn_base.clone(imputer)
    assert twin.get_params() == {"max_missing_fraction": 0.2, "max_imputed": None}
    assert not hasattr(twin, "features_")
    out = twin.fit_transform(TRAIN)
    assert list(out.columns) == ["mon", "ecog"]  # alb (30 %) is over a 20 % limit
    assert isinstance(out.to_numpy(), np.ndarray)
