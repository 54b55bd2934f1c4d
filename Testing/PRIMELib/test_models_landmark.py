"""The one-month landmark of PRIME-S: which columns need it, and the landmark cohort's labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.landmark import Landmark, landmark_cohort, landmark_features, one_month_features


def test_landmark_features_are_the_one_month_columns_present_in_their_order():
    columns = ["age", "delta_pt", "albi_score", "delta_mon", "mon", "mon_1m", "pt", "hbv"]
    assert landmark_features(columns) == ["delta_pt", "delta_mon", "mon_1m"]
    assert landmark_features(pd.Index(["age", "pni"])) == []
    # The paper's two changes are among the schema's one-month features; baseline labs are not.
    assert {"delta_mon", "delta_pt", "pt_1m"} <= set(one_month_features())
    assert not {"mon", "pt", "alb"} & set(one_month_features())


def test_landmark_cohort_keeps_those_followed_past_the_landmark_timed_from_it():
    ids = ["a", "b", "c", "d", "e", "f"]
    os_days = pd.Series([10, 30, 31, 45.5, 400, 29], index=ids, name="os_days")
    os_event = pd.Series([1, 0, 1, 0, 1, 0], index=ids, name="os_event")
    lm = landmark_cohort(os_days, os_event)
    # a died at day 10, f was censored at day 29, b at exactly day 30: at or before the landmark.
    assert list(lm.excluded) == ["a", "b", "f"]
    assert list(lm.kept) == ["c", "d", "e"]
    pd.testing.assert_series_equal(
        lm.os_days, pd.Series([1.0, 15.5, 370.0], index=["c", "d", "e"], name="os_days")
    )
    assert lm.os_event.tolist() == [1, 0, 1] and list(lm.os_event.index) == ["c", "d", "e"]
    assert lm.landmark_days == 30.0
    assert "3 patient(s)" in lm.describe() and "30 days" in lm.describe()
    with pytest.raises(dataclasses.FrozenInstanceError):
        lm.landmark_days = 60  # type: ignore[misc]
    # Another landmark: 60 days keeps only e, 340 days on.
    later = landmark_cohort(os_days, os_event, landmark_days=60)
    assert isinstance(later, Landmark) and list(later.kept) == ["e"] and later.os_days.tolist() == [340.0]


@pytest.mark.parametrize(
    ("days", "events", "landmark", "field", "words"),
    [
        ([10, -1, 50], [1, 0, 1], 30, "os_days", "negative for 1 patient(s): p1"),
        ([10, np.nan, 50], [1, 0, 1], 30, "os_days", "missing"),
        ([10, 40, 50], [1, 2, 1], 30, "os_event", "not 0/1 for 1 patient(s): p1"),
        ([10, 40, 50], [1, 0, 1], 0, "landmark_days", "positive number"),
        ([10, 40, 50], [1, 0, 1], -30, "landmark_days", "positive number"),
        ([10, 40, 50], [1, 0, 1], float("nan"), "landmark_days", "positive number"),
        ([10, 20, 30], [1, 0, 1], 30, "os_days", "No patient is followed past the landmark of 30 days"),
    ],
)
def test_bad_landmark_input_is_refused_naming_the_field(days, events, landmark, field, words):
    ids = ["p0", "p1", "p2"]
    with pytest.raises(PRIMEInputError) as error:
        landmark_cohort(pd.Series(days, index=ids), pd.Series(events, index=ids), landmark)
    assert error.value.field == field
    assert words in str(error.value)


def test_labels_of_different_patients_are_refused():
    with pytest.raises(PRIMEInputError, match="same patients") as error:
        landmark_cohort(pd.Series([40, 50], index=["a", "b"]), pd.Series([1, 0], index=["a", "c"]))
    assert error.value.field == "os_event"
    with pytest.raises(PRIMEInputError, match="pandas Series"):
        landmark_cohort(np.array([40, 50]), pd.Series([1, 0]))


def test_curve_grid_starts_at_the_landmark_and_reads_the_model_on_its_own_clock():
    from PRIMELib.models.landmark import bundle_landmark, curve_grid

    # 30-day months (hand-checkable): landmark at day 45 = month 1.5, follow-up 100 days from it.
    months, model_days, shown = curve_grid(100.0, 45.0, 6, 30.0)
    assert months.tolist() == [1.5, 2, 3, 4, 5, 6]
    assert model_days.tolist() == [0, 15, 45, 75, 105, 135]
    assert shown.tolist() == [True, True, True, True, False, False]  # 145 days from treatment start
    months, model_days, shown = curve_grid(100.0, None, 4, 30.0)  # no landmark: from month 0
    assert months.tolist() == [0, 1, 2, 3, 4] and model_days.tolist() == [0, 30, 60, 90, 120]
    assert shown.tolist() == [True, True, True, True, False]
    assert bundle_landmark({"training": {"cohort": {"landmark": {"days": 30.0}}}}) == 30.0
    assert bundle_landmark({"training": {"cohort": {"landmark": {"days": None}}}}) is None
    assert bundle_landmark({}) is None  # a bundle from before the landmark
