"""The panel's Qt-free rules: the clinical form from the schema, field text → value or reason,
live derived indices, clinical record files, the scoring subprocess command and progress lines."""

from __future__ import annotations

import json
import sys

import pytest


def _field(prime_module, name):
    return next(field for field in prime_module.clinicalFormFields() if field.name == name)


def test_form_has_the_schema_inputs_only_with_units_ranges_and_help(prime_module):
    from PRIMELib.clinical import CLINICAL_SCHEMA

    fields = prime_module.clinicalFormFields()
    names = [field.name for field in fields]
    assert {"age", "alb", "tbil", "lym", "sex", "ecog", "alb_1m"} <= set(names)
    assert not {"albi_score", "pni", "child_pugh", "delta_alb", "os_days", "mrecist"} & set(names)
    alb = _field(prime_module, "alb")
    variable = CLINICAL_SCHEMA.get_variable("alb")
    assert (alb.unit, alb.minimum, alb.maximum) == (variable.unit, variable.minimum, variable.maximum)
    assert alb.placeholder == f"{variable.minimum:g}–{variable.maximum:g} {variable.unit}"
    assert variable.help in alb.toolTip and variable.expected() in alb.toolTip
    sex = _field(prime_module, "sex")
    assert sex.choices[0] == ("", "—")
    assert [code for code, _ in sex.choices[1:]] == list(CLINICAL_SCHEMA.get_variable("sex").codes)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("alb", "38.5", 38.5),
        ("alb", " 40 ", 40.0),
        ("ecog", "1", 1),
        ("sex", "male", "male"),
        ("age", "", None),
    ],
)
def test_field_text_gives_the_canonical_value(prime_module, name, text, value):
    assert prime_module.clinicalFieldValue(name, text) == (value, "")


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [("alb", "abc", "is not a number"), ("alb", "700", "70"), ("ecog", "7", "ecog"), ("sex", "x", "sex")],
)
def test_invalid_field_text_gives_the_reason(prime_module, name, text, reason):
    value, error = prime_module.clinicalFieldValue(name, text)
    assert value is None and reason in error


def test_record_from_texts_keeps_valid_values_and_lists_errors(prime_module):
    record, errors = prime_module.clinicalRecordFromTexts({"alb": "38.5", "tbil": "", "lym": "-3"})
    assert record == {"alb": 38.5}
    assert list(errors) == ["lym"]


def test_texts_round_trip_a_record(prime_module):
    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    texts = prime_module.clinicalTextsFromRecord(dict(DEMO_CLINICAL_RECORD))
    record, errors = prime_module.clinicalRecordFromTexts(texts)
    assert errors == {}
    assert record == pytest.approx(dict(DEMO_CLINICAL_RECORD))


def test_derived_indices_text_shows_albi_pni_and_changes_live(prime_module):
    from PRIMELib.clinical import albi_score, pni

    text = prime_module.derivedIndicesText(
        {"tbil": 16.8, "alb": 38.5, "lym": 1.3, "afp": 1000, "afp_1m": 500}
    )
    assert f"ALBI score: {albi_score(16.8, 38.5):.2f}" in text
    assert f"{pni(38.5, 1.3):.2f}" in text
    assert "-50%" in text
    assert "appear as" in prime_module.derivedIndicesText({})


def test_clinical_record_json_and_csv_row(prime_module, tmp_path):
    from PRIMELib.errors import PRIMEInputError

    path = tmp_path / "record.json"
    prime_module.saveClinicalRecord({"case_id": "P1", "alb": 38.5}, path)
    assert prime_module.loadClinicalRecord(path) == {"case_id": "P1", "alb": 38.5}
    table = tmp_path / "cohort.csv"
    table.write_text("case_id,alb,tbil\nP1,38.5,16.8\nP2,30,\n", encoding="utf-8")
    assert prime_module.loadClinicalRecord(table, "P2") == {"case_id": "P2", "alb": "30"}
    with pytest.raises(PRIMEInputError, match="2 rows"):
        prime_module.loadClinicalRecord(table)
    with pytest.raises(PRIMEInputError, match="0 rows for case 'P9'"):
        prime_module.loadClinicalRecord(table, "P9")


def test_model_card_text_of_the_default_model(prime_module):
    from PRIMELib.pipeline import resolve_model

    model = resolve_model(None)
    text = prime_module.modelCardText("")
    assert model.name in text
    for key in model.model_card:
        assert f"{key}:" in text


def test_score_command_and_progress_lines(prime_module, tmp_path):
    command = prime_module.scoreCommand("a.nrrd", "v.nrrd", "m.nrrd", "c.json", tmp_path, modelPath="x.prime")
    assert command[:4] == [sys.executable, "-m", "PRIMELib", "score"]
    assert command[command.index("--model") + 1] == "x.prime"
    assert "--venous-mask" not in command
    assert prime_module.parseProgressLine(" 45% Extracting arterial features") == (
        0.45,
        "Extracting arterial features",
    )
    assert prime_module.parseProgressLine("100% Done") == (1.0, "Done")
    assert prime_module.parseProgressLine("Traceback (most recent call last):") is None
    assert prime_module.scoreButtonText(True) != prime_module.scoreButtonText(False)


def test_dependencies_are_installed_only_after_asking(prime_module, monkeypatch):
    monkeypatch.setattr(prime_module, "SCORING_REQUIREMENTS", {"surely_not_a_module_xyz": "xyz-pkg"})
    installed = []
    assert prime_module.ensureScoringDependencies(lambda message: False, installed.extend) is False
    assert installed == []
    assert (
        prime_module.ensureScoringDependencies(lambda message: "xyz-pkg" in message, installed.extend)
        is False
    )
    assert installed == ["xyz-pkg"]
    monkeypatch.setattr(prime_module, "SCORING_REQUIREMENTS", {"json": "json"})
    assert prime_module.ensureScoringDependencies(lambda message: pytest.fail("asked"), installed.extend)


def test_result_text_names_top_features_and_warnings(prime_module):
    result = {
        "response_probability": 0.62,
        "response_class": "responder",
        "risk_score": 0.4,
        "risk_group": "high",
        "survival": {"12_months": 0.7},
        "quadrant": "responder / high risk",
        "quadrant_text": "paradox",
        "top_response_features": [{"feature": "pni", "contribution": 0.31}],
        "top_survival_features": [],
        "warnings": ["ECOG 2 is outside the PRIME cohort."],
    }
    text = prime_module.resultSummaryText(json.dumps(result))
    assert "62% (responder)" in text and "12 mo 70%" in text
    assert "pni (+0.31)" in text and "Risk driven by" not in text
    assert "ECOG 2" in text


def test_score_button_is_cancel_while_running(prime_module):
    state = prime_module.scoreButtonState(None, running=True)
    assert state.enabled and "Stop" in state.toolTip
    assert prime_module.scoreButtonText(True) == "Cancel"


def test_texts_from_a_csv_row_show_canonical_codes_and_keep_invalid_text(prime_module):
    texts = prime_module.clinicalTextsFromRecord({"sex": "male", "ecog": "1", "alb": "38.5", "lym": "lots"})
    assert (texts["sex"], texts["ecog"], texts["alb"]) == ("male", "1", "38.5")
    assert texts["lym"] == "lots" and texts["age"] == ""
    _, errors = prime_module.clinicalRecordFromTexts(texts)
    assert list(errors) == ["lym"]
