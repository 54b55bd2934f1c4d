"""Validation of clinical values and records: ranges, unit hints, types, names, one-pass reporting."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from PRIMELib.clinical import (
    CLINICAL_SCHEMA,
    ClinicalDataError,
    Kind,
    get_variable,
    prepare_record,
    validate_record,
    validate_value,
)
from PRIMELib.errors import PRIMEInputError

# ---------------------------------------------------------------------------------------------
# The schema itself


def test_schema_covers_every_variable_of_the_paper() -> None:
    # The table of docs/CLINICAL.md, name by name.
    names = (
        "age sex bmi weight ecog hbv cirrhosis alt ast tbil alb afp pt inr mon lym neu plt ldh "
        "tumor_diameter tumor_number hvtt pvtt ehm bclc child_pugh albi_grade interventional immunotherapy "
        "targeted "
        "subsequent_therapy"
    ).split()
    for name in names:
        assert name in CLINICAL_SCHEMA
    for lab in ("alt", "ast", "tbil", "alb", "afp", "pt", "inr", "mon", "lym", "neu", "plt", "ldh"):
        assert get_variable(f"{lab}_1m").unit == get_variable(lab).unit
        assert get_variable(f"delta_{lab}").derived_from == (lab, f"{lab}_1m")


def test_schema_entries_are_consistent() -> None:
    for variable in CLINICAL_SCHEMA:
        if variable.kind in (Kind.NUMBER, Kind.INTEGER):
            assert variable.minimum is not None and variable.maximum is not None
            assert variable.minimum < variable.maximum, variable.name
            if variable.typical:
                assert variable.minimum <= variable.typical[0] < variable.typical[1] <= variable.maximum
        if variable.kind in (Kind.ORDINAL, Kind.CATEGORY):
            assert len(set(variable.codes)) == len(variable.choices) >= 2, variable.name
        for source in variable.derived_from:
            assert source in CLINICAL_SCHEMA, (variable.name, source)
        assert variable.help and variable.label
    json.dumps(CLINICAL_SCHEMA.to_dict())  # plain JSON for the model bundle and the panel


def test_unknown_names_get_suggestions() -> None:
    with pytest.raises(PRIMEInputError, match="Did you mean 'alb'") as caught:
        get_variable("albumin")
    assert caught.value.field == "albumin"
    assert CLINICAL_SCHEMA.suggest("Total bilirubin (mg/dL)") == ["tbil"]
    assert CLINICAL_SCHEMA.suggest("age_years") == ["age"]
    assert CLINICAL_SCHEMA.suggest("qwerty") == []


# ---------------------------------------------------------------------------------------------
# Ranges and unit hints


def test_albumin_in_g_per_dl_is_refused_with_a_hint() -> None:
    with pytest.raises(PRIMEInputError) as caught:
        validate_value("alb", 3.5)
    error = caught.value
    assert error.field == "alb" and error.value == 3.5
    assert "10 to 70 g/L" in error.expected
    assert "g/dL" in error.hint and "multiply by 10" in error.hint and "35 g/L" in error.hint
    assert "3.5" in str(error)


def test_bilirubin_in_mg_per_dl_is_refused_with_a_hint() -> None:
    with pytest.raises(PRIMEInputError) as caught:
        validate_value("tbil", 1.2)
    assert "µmol/L" in caught.value.expected
    assert "mg/dL" in caught.value.hint and "17.1" in caught.value.hint and "20.52" in caught.value.hint


def test_unusual_but_allowed_values_warn_with_the_hint() -> None:
    value, warnings = validate_value("tbil", 2.5)  # 2.5 µmol/L is allowed but looks like 2.5 mg/dL
    assert value == 2.5
    assert len(warnings) == 1 and "unusual" in warnings[0] and "mg/dL" in warnings[0]
    assert validate_value("tbil", 16.8) == (16.8, ())


@pytest.mark.parametrize(
    ("name", "value", "hint_words"),
    [
        ("mon", 8.0, "percentage"),
        ("plt", 150000.0, "cells/µL"),
        ("tumor_diameter", 45.0, "mm"),
        ("pt", 1.1, "INR"),
        ("inr", 13.5, "seconds"),
        ("alt", 0.6, "µkat/L"),
    ],
)
def test_other_common_unit_slips_get_hints(name: str, value: float, hint_words: str) -> None:
    with pytest.raises(PRIMEInputError) as caught:
        validate_value(name, value)
    assert hint_words in caught.value.hint


def test_boundaries_of_the_allowed_range_are_inclusive() -> None:
    assert validate_value("alb", 10)[0] == 10.0
    assert validate_value("alb", 70.0)[0] == 70.0
    for outside in (9.99, 70.01):
        with pytest.raises(PRIMEInputError):
            validate_value("alb", outside)


# ---------------------------------------------------------------------------------------------
# Types and codings


@pytest.mark.parametrize("bad", ["abc", [38.5], {"v": 1}, True, np.bool_(False), 1 + 2j, math.inf, b"38"])
def test_wrong_types_for_numbers(bad: object) -> None:
    with pytest.raises(PRIMEInputError) as caught:
        validate_value("alb", bad)
    assert caught.value.field == "alb"


def test_numbers_in_quotes_are_refused_with_a_hint() -> None:
    with pytest.raises(PRIMEInputError, match="without quotes"):
        validate_value("alb", "38.5")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (38, 38.0),
        (np.float32(38.5), 38.5),
        (np.int64(40), 40.0),
        (Decimal("38.5"), 38.5),
        (Fraction(77, 2), 38.5),
    ],
)
def test_any_real_number_type_is_accepted(value: object, expected: float) -> None:
    assert validate_value("alb", value) == (expected, ())


@pytest.mark.parametrize("missing", [None, math.nan, np.nan, "", "  ", "NA", "n/a"])
def test_missing_values_are_dropped(missing: object) -> None:
    assert validate_value("alb", missing) == (None, ())
    assert validate_record({"alb": missing, "age": 60}).values == {"age": 60.0}


def test_whole_numbers() -> None:
    assert validate_value("tumor_number", 2.0) == (2, ())
    with pytest.raises(PRIMEInputError, match="whole number"):
        validate_value("tumor_number", 2.5)


def test_ecog_2_to_4_are_accepted_with_a_warning_and_5_is_refused() -> None:
    assert validate_value("ecog", 0) == (0, ())
    for code in (2, 3, 4):
        value, warnings = validate_value("ecog", code)
        assert value == code and f"ECOG {code} is outside the PRIME cohort" in warnings[0]
    with pytest.raises(PRIMEInputError) as caught:
        validate_value("ecog", 5)
    assert caught.value.field == "ecog"
    assert "0" in caught.value.expected and "4" in caught.value.expected


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("hbv", True, 1),
        ("hbv", "yes", 1),
        ("hbv", "Negative", 0),
        ("hbv", 1.0, 1),
        ("ecog", "1", 1),
        ("sex", " Male ", "male"),
        ("sex", "F", "female"),
        ("bclc", "c", "C"),
        ("bclc", 0, "0"),
        ("interventional", "haic + tace", "TACE+HAIC"),
        ("immunotherapy", "AK104", "cadonilimab"),
    ],
)
def test_codings_accept_their_spellings(name: str, value: object, code: object) -> None:
    assert validate_value(name, value)[0] == code


@pytest.mark.parametrize(
    ("name", "value"), [("ecog", True), ("sex", 1), ("sex", "mal"), ("pvtt", 5), ("ecog", 0.5)]
)
def test_codings_refuse_other_values(name: str, value: object) -> None:
    with pytest.raises(PRIMEInputError):
        validate_value(name, value)


def test_misspelt_category_gets_a_suggestion() -> None:
    with pytest.raises(PRIMEInputError, match="Did you mean 'lenvatinib'"):
        validate_value("targeted", "lenvatinb")


# ---------------------------------------------------------------------------------------------
# Records: one pass, every problem


def test_every_problem_of_a_record_is_reported_at_once() -> None:
    record = {"age": 58, "alb": 3.5, "tbil": 1.2, "albumine": 40, "ecog": 5, "sex": 1, "lym": "1.3"}
    with pytest.raises(ClinicalDataError) as caught:
        validate_record(record)
    problems = {p.field: p for p in caught.value.problems}
    assert set(problems) == {"alb", "tbil", "albumine", "ecog", "sex", "lym"}
    assert "g/dL" in problems["alb"].hint
    assert "mg/dL" in problems["tbil"].hint
    assert "Did you mean 'alb'" in problems["albumine"].hint
    message = str(caught.value)
    assert message.startswith("6 problems in the clinical record")
    assert message.count("Expected") == 6  # each problem's expectation appears once, not twice


def test_a_single_problem_error_carries_its_fields() -> None:
    with pytest.raises(ClinicalDataError) as caught:
        validate_record({"alb": 3.5})
    error = caught.value
    assert isinstance(error, PRIMEInputError)
    assert (error.field, error.value) == ("alb", 3.5)
    assert "g/dL" in error.hint


@pytest.mark.parametrize("record", [None, [("alb", 38)], "alb=38", 42])
def test_a_record_must_be_a_mapping(record: object) -> None:
    with pytest.raises(PRIMEInputError, match="mapping"):
        validate_record(record)


def test_non_text_names_are_problems() -> None:
    with pytest.raises(ClinicalDataError, match="must be text"):
        validate_record({1: 38.0, "alb": 38.0})


def test_valid_record_round_trips_with_warnings() -> None:
    result = prepare_record({"case_id": 17, "ecog": 2, "alb": 40, "tbil": 10.0})
    assert result.values["case_id"] == "17"
    assert result.values["albi_grade"] == 1
    assert result.warnings == ("ECOG 2 is outside the PRIME cohort (ECOG 0–1).",)
    assert set(result.derived) == {"albi_score", "albi_grade"}


# ---------------------------------------------------------------------------------------------
# Property-based: no input crashes validation with anything but the project's error type

_NAMES = st.sampled_from(CLINICAL_SCHEMA.names)
_ANY_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**5000), max_value=10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.fractions(),
    st.complex_numbers(),
    st.text(max_size=20),
    st.binary(max_size=5),
    st.dates(),
    st.sampled_from(["", "NA", "male", "TACE+HAIC", "C", "1", "yes", "38.5", "3,5", "<2", "\x00"]),
    st.just(np.nan),
    st.just(np.array([1.0, 2.0])),
    st.just(np.int64(2)),
    st.just(np.float32("inf")),
)
_ANY_VALUE = st.recursive(
    _ANY_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
_KEYS = st.one_of(_NAMES, st.text(max_size=12), st.integers(), st.none())


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_KEYS, _ANY_VALUE, max_size=8))
def test_no_record_crashes_validation(record: dict) -> None:
    for check in (validate_record, prepare_record):
        try:
            result = check(record)
        except PRIMEInputError as error:
            assert str(error)  # every error can be shown to the user
        else:
            assert isinstance(result.values, dict)


@settings(max_examples=300, deadline=None)
@given(_NAMES, _ANY_VALUE)
def test_no_value_crashes_validate_value(name: str, value: object) -> None:
    try:
        validate_value(name, value)
    except PRIMEInputError as error:
        assert error.field == name and str(error)


@settings(max_examples=100, deadline=None)
@given(_ANY_VALUE)
def test_no_object_crashes_record_validation(record: object) -> None:
    try:
        prepare_record(record)
    except PRIMEInputError:
        pass


_NUMERIC = [v for v in CLINICAL_SCHEMA if v.kind is Kind.NUMBER]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_value_inside_the_range_is_accepted_unchanged(data: st.DataObject) -> None:
    variable = data.draw(st.sampled_from(_NUMERIC))
    value = data.draw(st.floats(variable.minimum, variable.maximum))
    assert validate_value(variable.name, value)[0] == value
