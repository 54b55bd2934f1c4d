"""The panel's Qt-free rules (PRIME/PRIMEPanel): the clinical form from the schema, field text → value
or reason, live derived indices, clinical record files, the scoring subprocess command and progress
lines, packages installed on first use after asking, and the Tumour ROI section's buttons and texts."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest


def _field(panel, name):
    return next(field for field in panel.clinical_form.clinicalFormFields() if field.name == name)


def test_form_has_the_schema_inputs_only_with_units_ranges_and_help(panel):
    from PRIMELib.clinical import CLINICAL_SCHEMA

    fields = panel.clinical_form.clinicalFormFields()
    names = [field.name for field in fields]
    assert {"age", "alb", "tbil", "lym", "sex", "ecog", "alb_1m"} <= set(names)
    assert not {"albi_score", "pni", "child_pugh", "delta_alb", "os_days", "mrecist"} & set(names)
    alb = _field(panel, "alb")
    variable = CLINICAL_SCHEMA.get_variable("alb")
    assert (alb.unit, alb.minimum, alb.maximum) == (variable.unit, variable.minimum, variable.maximum)
    assert alb.placeholder == f"{variable.minimum:g}–{variable.maximum:g} {variable.unit}"
    assert variable.help in alb.toolTip and variable.expected() in alb.toolTip
    sex = _field(panel, "sex")
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
def test_field_text_gives_the_canonical_value(panel, name, text, value):
    assert panel.clinical_form.clinicalFieldValue(name, text) == (value, "")


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [("alb", "abc", "is not a number"), ("alb", "700", "70"), ("ecog", "7", "ecog"), ("sex", "x", "sex")],
)
def test_invalid_field_text_gives_the_reason(panel, name, text, reason):
    value, error = panel.clinical_form.clinicalFieldValue(name, text)
    assert value is None and reason in error


def test_record_from_texts_keeps_valid_values_and_lists_errors(panel):
    record, errors = panel.clinical_form.clinicalRecordFromTexts({"alb": "38.5", "tbil": "", "lym": "-3"})
    assert record == {"alb": 38.5}
    assert list(errors) == ["lym"]


def test_texts_round_trip_a_record(panel):
    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    texts = panel.clinical_form.clinicalTextsFromRecord(dict(DEMO_CLINICAL_RECORD))
    record, errors = panel.clinical_form.clinicalRecordFromTexts(texts)
    assert errors == {}
    assert record == pytest.approx(dict(DEMO_CLINICAL_RECORD))


def test_derived_indices_text_shows_albi_pni_and_changes_live(panel):
    from PRIMELib.clinical import albi_score, pni

    text = panel.clinical_form.derivedIndicesText(
        {"tbil": 16.8, "alb": 38.5, "lym": 1.3, "afp": 1000, "afp_1m": 500}
    )
    assert f"ALBI score: {albi_score(16.8, 38.5):.2f}" in text
    assert f"{pni(38.5, 1.3):.2f}" in text
    assert "-50%" in text
    assert "appear as" in panel.clinical_form.derivedIndicesText({})


def test_clinical_record_json_and_csv_row(panel, tmp_path):
    from PRIMELib.errors import PRIMEInputError

    path = tmp_path / "record.json"
    panel.clinical_form.saveClinicalRecord({"case_id": "P1", "alb": 38.5}, path)
    assert panel.clinical_form.loadClinicalRecord(path) == {"case_id": "P1", "alb": 38.5}
    table = tmp_path / "cohort.csv"
    table.write_text("case_id,alb,tbil\nP1,38.5,16.8\nP2,30,\n", encoding="utf-8")
    assert panel.clinical_form.loadClinicalRecord(table, "P2") == {"case_id": "P2", "alb": "30"}
    with pytest.raises(PRIMEInputError, match="2 rows"):
        panel.clinical_form.loadClinicalRecord(table)
    with pytest.raises(PRIMEInputError, match="0 rows for case 'P9'"):
        panel.clinical_form.loadClinicalRecord(table, "P9")


def test_model_card_text_of_the_default_model(panel):
    from PRIMELib.pipeline import resolve_model

    model = resolve_model(None)
    text = panel.scoring.modelCardText("")
    assert model.name in text
    for key in model.model_card:
        assert f"{key}:" in text


def test_score_command_and_progress_lines(panel, tmp_path):
    command = panel.scoring.scoreCommand(
        "a.nrrd", "v.nrrd", "m.nrrd", "c.json", tmp_path, modelPath="x.prime"
    )
    assert command[:4] == [sys.executable, "-m", "PRIMELib", "score"]
    assert command[command.index("--model") + 1] == "x.prime"
    assert "--venous-mask" not in command
    assert panel.scoring.parseProgressLine(" 45% Extracting arterial features") == (
        0.45,
        "Extracting arterial features",
    )
    assert panel.scoring.parseProgressLine("100% Done") == (1.0, "Done")
    assert panel.scoring.parseProgressLine("Traceback (most recent call last):") is None
    assert panel.scoring.scoreButtonText(True) != panel.scoring.scoreButtonText(False)


def test_result_text_names_top_features_and_warnings(panel):
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
    text = panel.rules.resultSummaryText(json.dumps(result))
    assert "62% (responder)" in text and "12 mo 70%" in text
    assert "pni (+0.31)" in text and "Risk driven by" not in text
    assert "ECOG 2" in text


def test_score_button_is_cancel_while_running(panel):
    state = panel.rules.scoreButtonState(None, running=True)
    assert state.enabled and "Stop" in state.toolTip
    assert panel.scoring.scoreButtonText(True) == "Cancel"


def test_texts_from_a_csv_row_show_canonical_codes_and_keep_invalid_text(panel):
    texts = panel.clinical_form.clinicalTextsFromRecord(
        {"sex": "male", "ecog": "1", "alb": "38.5", "lym": "lots"}
    )
    assert (texts["sex"], texts["ecog"], texts["alb"]) == ("male", "1", "38.5")
    assert texts["lym"] == "lots" and texts["age"] == ""
    _, errors = panel.clinical_form.clinicalRecordFromTexts(texts)
    assert list(errors) == ["lym"]


# --------------------------------------------------------------------------------------------------
# Dependencies: installed on first use, after asking, with Slicer's own installer

MISSING = "surely-not-a-distribution-xyz>=1.2"


def test_requirements_file_is_pyprojects_dependencies(panel):
    """The panel installs exactly what PRIMELib declares (a drift would break scoring in Slicer)."""
    import tomllib

    pyproject = tomllib.loads((Path(panel.scoring.__file__).parents[2] / "pyproject.toml").read_text())
    assert panel.scoring.loadRequirements() == pyproject["project"]["dependencies"]


def test_missing_means_absent_or_outside_the_range(panel):
    from importlib import metadata

    numpy = metadata.version("numpy")
    assert panel.scoring.missingRequirements([f"numpy=={numpy}", "numpy>=1", MISSING]) == [MISSING]
    assert panel.scoring.missingRequirements(["numpy<1"]) == ["numpy<1"]  # installed, outside the range
    assert panel.scoring.missingRequirements(['numpy<1; python_version < "3"']) == []  # marker false


def test_dependencies_are_installed_only_after_asking_and_slicers_own_are_held(panel):
    from importlib import metadata

    installs = []

    def install(arguments):  # as slicer.util.pip_install: a list, each item one pip argument
        constraints = Path(arguments[arguments.index("--constraint") + 1]).read_text().split()
        installs.append((arguments, constraints))

    asked = []
    assert (
        panel.scoring.ensureDependencies(lambda m: asked.append(m) or False, install, requirements=[MISSING])
        is False
    )
    assert installs == [] and MISSING in asked[0]
    assert (
        panel.scoring.ensureDependencies(lambda m: True, install, requirements=["numpy>=1", MISSING]) is False
    )
    ((arguments, constraints),) = installs
    assert arguments[0] == "--constraint" and arguments[2:] == [MISSING]  # only what is missing
    assert f"numpy=={metadata.version('numpy')}" in constraints  # Slicer's numpy is never replaced
    assert panel.scoring.ensureDependencies(
        lambda m: pytest.fail("asked"), install, requirements=["numpy>=1"]
    )


def test_slicer_packaging_is_imported_as_the_submodule_it_is(panel, monkeypatch):
    """`import slicer` does not load slicer.packaging (Slicer ≥ 5.12): it must be imported by name."""
    import slicer

    fake = types.ModuleType("slicer.packaging")
    fake.pip_ensure = lambda *a, **k: None
    monkeypatch.delattr(slicer, "packaging", raising=False)
    monkeypatch.setitem(sys.modules, "slicer.packaging", fake)
    assert getattr(slicer, "packaging", None) is None  # what the old lookup saw
    assert panel.scoring.slicerPackaging() is fake
    monkeypatch.delitem(sys.modules, "slicer.packaging")
    assert panel.scoring.slicerPackaging() is None  # Slicer 5.10: no such module


def test_on_slicer_5_12_pip_ensure_asks_and_installs_the_missing_requirements(panel):
    """With ``slicer.packaging`` its pip_ensure asks, in Slicer's dialog, and installs, holding Slicer's
    own packages with a constraints file."""
    calls = []

    class Packaging:  # slicer.packaging's pip_ensure: raises RuntimeError when the user declines
        def __init__(self, agree):
            self.agree = agree

        def pip_ensure(self, requirements, constraints=None, requester=None):
            calls.append(([str(r) for r in requirements], Path(constraints).is_file(), requester))
            if not self.agree:
                raise RuntimeError("User declined package installation")

    def ask(message):
        raise AssertionError("pip_ensure asks; PRIME must not ask a second time")

    requirements = ["numpy>=1", MISSING]
    assert (
        panel.scoring.ensureDependencies(ask, packaging=Packaging(False), requirements=requirements) is False
    )
    # Agreed: installed (here nothing really is, so the check after installing still finds it missing).
    assert (
        panel.scoring.ensureDependencies(ask, packaging=Packaging(True), requirements=requirements) is False
    )
    assert calls == [([MISSING], True, "PRIME")] * 2

    class Broken:
        def pip_ensure(self, requirements, constraints=None, requester=None):
            raise RuntimeError("pip failed: no network")

    with pytest.raises(RuntimeError, match="no network"):  # a failure is not a refusal: it is reported
        panel.scoring.ensureDependencies(ask, packaging=Broken(), requirements=requirements)


def test_before_slicer_5_12_prime_asks_then_slicer_util_pip_install_installs(panel, monkeypatch):
    import slicer

    monkeypatch.setattr(panel.scoring, "slicerPackaging", lambda: None)
    installed = []
    monkeypatch.setattr(slicer.util, "pip_install", installed.append)
    assert panel.scoring.ensureDependencies(lambda m: False, requirements=[MISSING]) is False
    assert installed == []
    assert panel.scoring.ensureDependencies(lambda m: True, requirements=[MISSING]) is False
    assert installed[0][0] == "--constraint" and installed[0][2:] == [MISSING]


def test_nothing_is_installed_or_asked_at_import(panel, load_module, monkeypatch):
    """Importing the module (as Slicer does at startup) neither asks nor installs, even when packages
    are missing."""
    import importlib

    import slicer

    calls = []
    monkeypatch.setattr(slicer.util, "pip_install", lambda *a, **k: calls.append(a))
    fake = types.ModuleType("slicer.packaging")
    fake.pip_ensure = lambda *a, **k: calls.append(a)
    monkeypatch.setitem(sys.modules, "slicer.packaging", fake)
    monkeypatch.setattr(slicer.util, "confirmOkCancelDisplay", lambda *a, **k: calls.append(a) or True)
    monkeypatch.setattr(panel.scoring, "loadRequirements", lambda path=None: [MISSING])
    importlib.reload(panel.scoring)  # the module's own code runs again
    load_module(panel.scoring.__file__.replace("PRIMEPanel/scoring.py", "PRIME.py"), "PRIME_reimported")
    assert calls == []


# --------------------------------------------------------------------------------------------------
# Tumour ROI: what is enabled when, and what the status says


def test_create_roi_button_names_what_is_missing_and_medsam_needs_torch_and_a_box(
    prime_module, panel, mrml_scene
):
    state = panel.rules.createRoiButtonState
    parameters = prime_module.PRIMELogic().getParameterNode()
    assert "arterial volume" in state(parameters, True).toolTip and not state(parameters, True).enabled
    parameters.arterialVolume = mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "arterial")
    assert "ROI box" in state(parameters, True).toolTip
    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
    parameters.roiNode = roi
    assert "Place the ROI box" in state(parameters, True).toolTip  # created, not placed yet
    roi.SetCenter(10.0, 20.0, 30.0)
    roi.SetSize(40.0, 30.0, 20.0)
    assert state(parameters, True).enabled and "box" in state(parameters, True).toolTip
    seeds = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    parameters.roiNode = seeds
    assert "seed point" in state(parameters, True).toolTip and not state(parameters, True).enabled
    seeds.AddControlPoint(10.0, 20.0, 30.0)
    assert state(parameters, True).enabled
    parameters.roiEngine = "medsam"
    assert "needs a box" in state(parameters, True).toolTip and not state(parameters, True).enabled
    parameters.roiNode = roi
    assert state(parameters, True).enabled
    without_torch = state(parameters, False)
    assert not without_torch.enabled and "PyTorch" in without_torch.toolTip
    line = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", "ruler")
    parameters.roiNode = line
    assert "'ruler' is not an ROI box" in state(parameters, True).toolTip
    assert (
        panel.rules.roiPromptKind(roi),
        panel.rules.roiPromptKind(seeds),
        panel.rules.roiPromptKind(line),
    ) == (
        "box",
        "seeds",
        "",
    )


def test_engine_menu_disables_medsam_without_torch_and_says_why(panel):
    with_torch = panel.rules.roiEngineChoices(True)
    without = panel.rules.roiEngineChoices(False)
    assert [c.name for c in with_torch] == [c.name for c in without] == ["classical", "medsam"]
    from PRIMELib.segmentation import ENGINES

    assert {c.name for c in with_torch} == set(ENGINES)  # the names PRIMELib takes
    assert [c.enabled for c in with_torch] == [True, True]
    assert [c.enabled for c in without] == [True, False]
    assert "PyTorch extension" in without[1].toolTip
    import importlib.util

    assert panel.rules.torchAvailable() == (importlib.util.find_spec("torch") is not None)


def test_carry_button_and_score_button_follow_the_same_roi_choice(prime_module, panel, demo_nodes):
    rules = panel.rules
    parameters = prime_module.PRIMELogic().getParameterNode()
    parameters.arterialVolume = demo_nodes.arterial
    parameters.venousVolume = demo_nodes.venous
    parameters.segmentation = demo_nodes.segmentation
    parameters.segmentID = demo_nodes.segment_id
    assert parameters.sameRoiForBothPhases  # the default: one ROI, score enabled, carry disabled
    assert rules.scoreButtonState(parameters).enabled
    assert "Untick" in rules.carryRoiButtonState(parameters).toolTip
    assert rules.venousSegmentIdForScoring(parameters) == ""
    parameters.sameRoiForBothPhases = False
    assert rules.carryRoiButtonState(parameters).enabled
    assert "rigid registration" in rules.carryRoiButtonState(parameters).toolTip
    parameters.registerVenous = False
    assert "no registration" in rules.carryRoiButtonState(parameters).toolTip
    score = rules.scoreButtonState(parameters)
    assert not score.enabled and "Carry ROI to venous" in score.toolTip
    parameters.venousSegmentID = "not_there"  # a segment deleted by hand counts as missing
    assert not rules.scoreButtonState(parameters).enabled
    parameters.venousSegmentID = demo_nodes.segment_id
    assert rules.scoreButtonState(parameters).enabled
    parameters.venousVolume = None
    assert "venous volume" in rules.carryRoiButtonState(parameters).toolTip


def test_status_texts_and_report_rules(panel):
    rules = panel.rules
    text = rules.initialRoiStatusText(
        {"engine": "classical", "volume_ml": 52.345, "seconds": 1.26, "warnings": ["Touches the box edge."]},
        "Tumour",
    )
    assert text.startswith("Tumour: 52.3 ml by the classical engine in 1.3 s.")
    assert text.endswith("Check: Touches the box edge.")
    registration = {
        "translation_mm": [4.0, -3.04, 2.5],
        "rotation_deg": 3.6,
        "roi_displacement_mm": {"mean": 5.6, "max": 6.1},
        "metric_before": -0.8389,
        "metric_after": -1.1441,
        "warnings": [],
    }
    carried = rules.carryStatusText(
        {"segment": "Tumour (venous)", "volume_ml": 33.0, "registration": registration}
    )
    assert "33.0 ml" in carried and "by 5.6 mm (max 6.1)" in carried and "+4.0, -3.0, +2.5 mm" in carried
    assert "-1.144, from -0.839" in carried
    assert rules.defaultReportName(json.dumps({"case_id": "HCC 001/a"})) == "PRIME_report_HCC_001_a.html"
    assert rules.defaultReportName("") == "PRIME_report_case.html"
    assert not rules.saveReportButtonState(None).enabled
