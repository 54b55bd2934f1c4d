"""Clinical categories and ordinals as model inputs: the encoder, the cohort reader, the column report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_predict

from PRIMELib.clinical.columns import describe_clinical_columns, model_inputs
from PRIMELib.clinical.validation import ClinicalDataError
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.encoding import ClinicalEncoder, encoding_of, model_value, source_columns
from PRIMELib.models.pipelines import model_pipeline
from PRIMELib.training import TrainingData


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [50, 61.5, None, 70],
            "sex": ["male", "F", None, "Male"],
            "child_pugh_class": ["A", "B", "C", None],
            "bclc": ["0", "D", "B", "A"],
            "ecog": [0, 1.0, "4", 3],
            "interventional": ["TACE", "TACE+HAIC", None, "HAIC + tace"],
        },
        index=["p1", "p2", "p3", "p4"],
    )


def test_every_coding_becomes_the_numbers_written_out_by_hand() -> None:
    encoder = ClinicalEncoder(["age", "sex", "child_pugh_class", "bclc", "ecog", "interventional"])
    out = encoder.fit(_frame()).transform(_frame())
    expected = pd.DataFrame(
        {
            "age": [50, 61.5, np.nan, 70],
            "sex": [1, 0, np.nan, 1],  # female 0, male 1
            "child_pugh_class": [0, 1, 2, np.nan],  # A < B < C
            "bclc": [0, 4, 2, 1],  # 0 < A < B < C < D
            "ecog": [0, 1, 4, 3],
            # One-hot over the categories seen ("HAIC + tace" is TACE+HAIC; no HAIC alone), sorted;
            # a missing cell is missing in each column.
            "interventional=TACE": [1, 0, np.nan, 0],
            "interventional=TACE+HAIC": [0, 1, np.nan, 1],
        },
        index=_frame().index,
        dtype=float,
    )
    pd.testing.assert_frame_equal(out, expected)
    assert list(encoder.get_feature_names_out()) == list(expected.columns)
    assert source_columns(expected.columns) == [
        "age",
        "sex",
        "child_pugh_class",
        "bclc",
        "ecog",
        "interventional",
    ]


def test_a_category_unseen_in_training_is_all_zeros_and_a_bad_code_a_named_error() -> None:
    train = pd.DataFrame({"interventional": ["TACE", "TACE+HAIC", "TACE"], "sex": ["m", "f", "m"]})
    encoder = ClinicalEncoder().fit(train)
    out = encoder.transform(pd.DataFrame({"interventional": ["HAIC"], "sex": ["female"]}))
    assert out.iloc[0].tolist() == [0.0, 0.0, 0.0]
    # A number that is no code's position is an unknown category: missing, for the imputer.
    assert encoder.transform(pd.DataFrame({"interventional": [7.0], "sex": [2.0]})).isna().all(axis=None)
    with pytest.raises(ClinicalDataError) as caught:
        encoder.transform(pd.DataFrame({"interventional": ["RFA"], "sex": ["x"]}))
    assert {p.field for p in caught.value.problems} == {"interventional", "sex"}
    assert "not an allowed value" in str(caught.value)


def test_string_codes_and_stored_positions_give_the_same_inputs() -> None:
    frame = _frame()
    positions = frame.apply(lambda column: column.map(lambda v: model_value(column.name, v)))
    # model_value: text codes become their schema position, integer codes stay codes.
    assert positions.loc["p1", "bclc"] == 0 and positions.loc["p2", "bclc"] == 4
    assert positions.loc["p4", "interventional"] == 2  # TACE 0, HAIC 1, TACE+HAIC 2
    assert positions.loc["p3", "ecog"] == 4 and math.isnan(positions.loc["p3", "sex"])
    encoder = ClinicalEncoder().fit(positions)
    pd.testing.assert_frame_equal(encoder.transform(frame), encoder.transform(positions))
    with pytest.raises(PRIMEInputError, match="position 0–4"):
        model_value("bclc", 7)


def test_the_encoder_is_refitted_in_every_fold_of_a_clinical_pipeline() -> None:
    rng = np.random.default_rng(0)
    n = 90
    stage = rng.choice(["0", "A", "B", "C", "D"], n)
    therapy = rng.choice(["TACE", "HAIC", "TACE+HAIC"], n)
    rank = pd.Series(stage).map({"0": 0, "A": 1, "B": 2, "C": 3, "D": 4}).to_numpy()
    y = (rank + (therapy == "HAIC") * 2 + rng.normal(0, 0.8, n) < 2.5).astype(int)
    X = pd.DataFrame({"bclc": stage, "interventional": therapy, "age": rng.normal(60, 8, n)})
    pipeline = model_pipeline("response", "clinical", "gtbr", {"clinical": list(X.columns)}, random_state=0)
    probabilities = cross_val_predict(pipeline, X, y, cv=3, method="predict_proba")[:, 1]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y, probabilities) > 0.8  # the categories carry the signal, and are used
    fitted = clone(pipeline).fit(X, y)
    assert fitted[0].feature_names_out_[:2] == ["bclc", "interventional=HAIC"]


def test_the_cohort_reader_keeps_categories_and_says_why_a_column_is_not_used() -> None:
    frame = _frame()
    frame["response"] = [1, 0, 1, 0]
    frame["os_days"] = [100, 200, 300, 400]
    frame["os_event"] = [1, 0, 1, 1]
    frame["centre"] = "A"
    frame["hcv"] = [None] * 4
    frame["mrecist"] = ["PR", "SD", "CR", "PD"]
    frame["albi_grade"] = [2, 2, 2, 2]
    frame["my_score"] = [1.5, 2.5, 3.5, 0.5]
    frame["note"] = ["a", "b", "c", "d"]
    data = TrainingData.from_frame(frame)
    assert data.features.loc["p2", "bclc"] == 4 and data.features.loc["p1", "interventional"] == 0
    columns = data.clinical_columns
    assert set(columns.used) == {
        "age",
        "sex",
        "child_pugh_class",
        "bclc",
        "ecog",
        "interventional",
        "my_score",
    }
    assert columns.encoded["child_pugh_class"] == "ordered ranks (A < B < C)"
    assert columns.encoded["sex"] == "0/1 (female 0, male 1)"
    assert columns.encoded["interventional"].startswith("one-hot")
    assert columns.unused["hcv"] == "all missing"
    assert columns.unused["albi_grade"] == "constant (every case: 2)"
    assert columns.unused["note"] == "not in the schema, and not numeric"
    assert columns.unused["centre"].startswith("the centre")
    assert columns.unused["mrecist"].startswith("the response assessment")
    assert "note" not in data.features.columns and "mrecist" not in data.features.columns
    # All-missing and constant columns stay in the table (another set may hold them).
    assert {"hcv", "albi_grade"} <= set(data.features.columns)


def test_more_missing_than_the_imputer_allows_is_reported() -> None:
    frame = pd.DataFrame({"alb": [40, None, None, 35, 38], "ast": [30, 40, 50, 60, 70]})
    description = describe_clinical_columns(frame)
    assert description.unused == {"alb": "40% missing: over the 30% the imputer allows"}
    assert description.used == ["ast"]


def test_a_bad_code_in_a_cohort_is_reported_with_its_case() -> None:
    with pytest.raises(ClinicalDataError, match=r"Case p2: .*bclc.*'E'"):
        model_inputs(pd.DataFrame({"bclc": ["A", "E"]}, index=["p1", "p2"]))


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("age", "number"),
        ("sex", "binary"),
        ("hcv", "binary"),
        ("ecog", "ordinal"),
        ("bclc", "ordinal"),
        ("child_pugh_class", "ordinal"),
        ("interventional", "nominal"),
        ("case_id", "text"),
        ("arterial_original_firstorder_Mean", "number"),
    ],
)
def test_encoding_of_follows_the_schema(name: str, encoding: str) -> None:
    assert encoding_of(name) == encoding


def test_the_new_cohort_variables_take_their_codes_and_refuse_others_by_name() -> None:
    from PRIMELib.clinical import validate_record

    record = {"hcv": "positive", "macrovascular_invasion": 1, "tumor_over_50pct": "no", "ecog": 3}
    checked = validate_record(record)
    assert checked.values == {"hcv": 1, "macrovascular_invasion": 1, "tumor_over_50pct": 0, "ecog": 3}
    assert checked.warnings == ("ECOG 3 is outside the PRIME cohort (ECOG 0–1).",)
    with pytest.raises(ClinicalDataError) as caught:
        validate_record({"hcv": 2, "macrovascular_invasion": "maybe", "tumor_over_50pct": 0.5, "ecog": 5})
    assert {p.field for p in caught.value.problems} == {
        "hcv",
        "macrovascular_invasion",
        "tumor_over_50pct",
        "ecog",
    }
    assert all("is not an allowed value" in p.message for p in caught.value.problems)


def test_prime_train_prints_every_encoded_and_unused_clinical_column(capsys) -> None:
    from PRIMELib.cli import _print_clinical_columns

    frame = _frame().assign(note=["a", "b", "c", "d"], hcv=None)
    _print_clinical_columns(describe_clinical_columns(frame).to_dict())  # as the bundle stores it
    printed = capsys.readouterr().out
    assert "clinical bclc: encoded as ordered ranks (0 < A < B < C < D)" in printed
    assert "clinical note: not used: not in the schema, and not numeric" in printed
    assert "clinical hcv: not used: all missing" in printed


def test_a_flag_that_recodes_a_two_valued_column_is_not_a_second_input() -> None:
    """sex_male is sex recoded (derived from it): training keeps sex and lists sex_male as unused, with
    why; interventional has three values, so its coarser tace_haic flag stays an input."""
    from PRIMELib.cohort_data import TrainingData
    from PRIMELib.training.cohort import without_recoded_duplicates

    frame = pd.DataFrame(
        {
            "sex": ["male", "female", "male", "female"],
            "sex_male": [1, 0, 1, 0],
            "interventional": ["TACE", "HAIC", "TACE+HAIC", "TACE"],
            "tace_haic": [0, 0, 1, 0],
            "age": [60, 55, 70, 66],
            "response": [1, 0, 1, 0],
            "os_days": [300, 200, 500, 100],
            "os_event": [1, 1, 0, 1],
        },
        index=["p1", "p2", "p3", "p4"],
    )
    data = without_recoded_duplicates(TrainingData.from_frame(frame))
    assert list(data.features.columns) == ["sex", "interventional", "tace_haic", "age"]
    assert data.clinical_columns.unused["sex_male"] == (
        "the same information as sex (a 0/1 recoding of it), which is used"
    )
    assert "sex_male" not in data.clinical_columns.used and "sex" in data.clinical_columns.used
    # Without sex among the inputs, sex_male is the only carrier of it and stays.
    alone = without_recoded_duplicates(TrainingData.from_frame(frame.drop(columns=["sex"])))
    assert "sex_male" in alone.features.columns


def test_a_one_hot_feature_shows_whether_the_case_has_its_category_and_never_nan() -> None:
    """targeted = lenvatinib (code position 0): 'targeted=lenvatinib' is 1, 'targeted=sorafenib' 0;
    with targeted missing both are None (JSON has no NaN), as is any missing plain value."""
    from PRIMELib.clinical.coding import model_value
    from PRIMELib.models.explain import shown_value

    raw = {"targeted": model_value("targeted", "lenvatinib"), "age": 61.0, "alb": float("nan")}
    assert shown_value("targeted=lenvatinib", raw) == 1.0
    assert shown_value("targeted=sorafenib", raw) == 0.0
    assert shown_value("age", raw) == 61.0
    assert shown_value("alb", raw) is None
    assert shown_value("targeted=sorafenib", {"targeted": None}) is None


def test_a_case_missing_a_one_hot_coded_input_scores_to_valid_json() -> None:
    """The demonstration model uses immunotherapy (one-hot): a case without it is imputed column by
    column and its result is JSON without NaN (a panel Score once failed on exactly this)."""
    import json

    from PRIMELib.bundle import load_bundle
    from PRIMELib.paths import resource_path

    bundle = load_bundle(resource_path("models", "prime_demo.prime"))
    assert "immunotherapy" in bundle.required_features["clinical"]
    row = dict(bundle.manifest["preprocessing"]["reference_values"])
    row.pop("immunotherapy")
    result = bundle.score(row, case_id="c").to_dict()
    assert result["imputed_fields"] == ["immunotherapy"] and result["inputs"]["immunotherapy"] is None
    json.dumps(result, allow_nan=False)  # raises on NaN
    one_hot = [c for c in result["response_contributions"] + result["survival_contributions"]
               if c["feature"].startswith("immunotherapy=")]  # fmt: skip
    assert one_hot and all(c["value"] is None for c in one_hot)
