"""The module's .ui file, loaded as Slicer loads it: ``slicer.util.loadUI`` (slicer-core's real code)
with the test harness's ``qt`` (PySide6 behind PythonQt's rules, offscreen) and its CTK/qMRML widgets
(``Testing/Slicer/slicer_widgets.py``, the same ones the Slicer tests use).

The tests check that every widget the module code touches exists with the right type, that parameter
bindings name real parameter-node fields, that the properties the .ui sets exist on the classes, and
that the panel renders.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6.QtWidgets", reason="PySide6 is part of the slicer-test extra")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Testing" / "Slicer"))
import slicer_harness as harness  # noqa: E402

harness.skip_or_fail_without_slicer_core()

UI_FILE = REPO / "PRIME" / "Resources" / "UI" / "PRIME.ui"
MODULE_FILE = REPO / "PRIME" / "PRIME.py"
RULES_FILE = REPO / "PRIME" / "PRIMEPanel" / "rules.py"


def _rules_constant(name: str):
    """A constant of PRIMEPanel/rules.py, read from its source."""
    for node in ast.parse(RULES_FILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {RULES_FILE}")


#: The type each widget the module code uses must have (the real class name in the .ui file).
EXPECTED_TYPES = {
    "arterialVolumeSelector": "qMRMLNodeComboBox",
    "venousVolumeSelector": "qMRMLNodeComboBox",
    "segmentSelector": "qMRMLSegmentSelectorWidget",
    "featureTableSelector": "qMRMLNodeComboBox",
    "loadClinicalButton": "QPushButton",
    "saveClinicalButton": "QPushButton",
    "clinicalCollapsibleButton": "ctkCollapsibleButton",
    "clinicalFormWidget": "QWidget",
    "clinicalErrorsLabel": "QLabel",
    "derivedIndicesLabel": "QLabel",
    "modelPathLineEdit": "ctkPathLineEdit",
    "modelCardTextEdit": "QPlainTextEdit",
    "showSurvivalCurveButton": "QPushButton",
    "showFeatureTableButton": "QPushButton",
    "scoreButton": "QPushButton",
    "progressBar": "QProgressBar",
    "resultsLabel": "QLabel",
    "roiPromptSelector": "qMRMLNodeComboBox",
    "roiEngineComboBox": "QComboBox",
    "createRoiButton": "QPushButton",
    "undoRoiButton": "QPushButton",
    "segmentEditorWidget": "qMRMLSegmentEditorWidget",
    "sameRoiCheckBox": "QCheckBox",
    "registerVenousCheckBox": "QCheckBox",
    "carryRoiButton": "QPushButton",
    "roiStatusLabel": "QLabel",
    "saveReportButton": "QPushButton",
}


@pytest.fixture(scope="module")
def slicer():
    return harness.install()


@pytest.fixture(scope="module")
def qt(slicer):
    import qt

    return qt


@pytest.fixture(scope="module")
def panel(slicer, qt, tmp_path_factory):
    """PRIME.ui loaded by Slicer's own ``slicer.util.loadUI``, on a scene, as ``PRIMEWidget.setup`` does."""
    session = harness.open_session(tmp_path_factory.mktemp("ui"))
    widget = slicer.util.loadUI(str(UI_FILE))
    widget.setMRMLScene(slicer.mrmlScene)
    yield widget
    session.close()


def _ui_classes() -> dict[str, str]:
    """objectName → class of every widget declared in the .ui file."""
    root = ET.parse(UI_FILE).getroot()
    return {w.get("name"): w.get("class") for w in root.iter("widget")}


def _names_used_by_module() -> set[str]:
    return set(re.findall(r"self\.ui\.(\w+)", MODULE_FILE.read_text(encoding="utf-8")))


def _parameter_node_fields() -> set[str]:
    tree = ast.parse(MODULE_FILE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "PRIMEParameterNode":
            return {stmt.target.id for stmt in node.body if isinstance(stmt, ast.AnnAssign)}
    raise AssertionError("PRIMEParameterNode not found in PRIME.py")


def test_every_widget_the_code_uses_exists_with_the_right_type(panel, qt):
    declared = _ui_classes()
    used = _names_used_by_module()
    assert used, "the module code uses no self.ui widgets: the regex or the module changed"
    missing = used - declared.keys()
    assert not missing, f"PRIME.py uses widgets the .ui lacks: {sorted(missing)}"
    untyped = used - EXPECTED_TYPES.keys()
    assert not untyped, f"add the expected type of {sorted(untyped)} to EXPECTED_TYPES"
    for name in used:
        assert declared[name] == EXPECTED_TYPES[name], name
        loaded = panel.findChild(qt.QWidget, name)
        assert loaded is not None, name
        assert loaded.metaObject().className() == EXPECTED_TYPES[name]


def test_parameter_bindings_name_real_parameter_node_fields(panel, qt):
    fields = _parameter_node_fields()
    bound = {
        w.objectName: w.property("SlicerParameterName")
        for w in panel.findChildren(qt.QWidget)
        if w.property("SlicerParameterName")
    }
    assert bound == {
        "arterialVolumeSelector": "arterialVolume",
        "venousVolumeSelector": "venousVolume",
        "featureTableSelector": "featureTable",
        "sameRoiCheckBox": "sameRoiForBothPhases",
        "registerVenousCheckBox": "registerVenous",
    }
    assert set(bound.values()) <= fields
    # Synchronised by hand in PRIME.py (binding would reset their node types or item data; Slicer binds
    # a ctkPathLineEdit only to pathlib types, while an empty modelPath means the default model):
    assert {"roiNode", "roiEngine", "segmentation", "segmentID", "modelPath"} <= fields


def test_node_selectors_accept_the_right_node_types(panel, qt):
    types = {
        name: panel.findChild(qt.QWidget, name).nodeTypes
        for name in (
            "arterialVolumeSelector",
            "venousVolumeSelector",
            "featureTableSelector",
            "roiPromptSelector",
        )
    }
    assert types == {
        "arterialVolumeSelector": ["vtkMRMLScalarVolumeNode"],
        "venousVolumeSelector": ["vtkMRMLScalarVolumeNode"],
        "featureTableSelector": ["vtkMRMLTableNode"],
        "roiPromptSelector": ["vtkMRMLMarkupsROINode", "vtkMRMLMarkupsFiducialNode"],
    }


def test_every_scene_aware_widget_receives_the_scene():
    root = ET.parse(UI_FILE).getroot()
    receivers = {
        c.findtext("receiver")
        for c in root.iter("connection")
        if c.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
    }
    scene_aware = {
        name for name, cls in _ui_classes().items() if cls.startswith("qMRML") and cls != "qMRMLWidget"
    }
    assert scene_aware == receivers


def test_tumour_roi_section_starts_in_its_default_state(panel, qt):
    """Before any input: nothing to create, undo or carry; one ROI serves both phases (the parameter
    node's defaults), registration ticked but inactive until the ROIs are separate."""

    def widget(kind, name):
        found = panel.findChild(kind, name)
        assert found is not None, name
        return found

    for name in ("createRoiButton", "undoRoiButton", "carryRoiButton", "saveReportButton"):
        assert widget(qt.QPushButton, name).enabled is False, name
    same = widget(qt.QCheckBox, "sameRoiCheckBox")
    register = widget(qt.QCheckBox, "registerVenousCheckBox")
    assert (same.checked, register.checked, register.enabled) == (True, True, False)
    tree = ast.parse(MODULE_FILE.read_text(encoding="utf-8"))
    defaults = {
        stmt.target.id: ast.literal_eval(stmt.value)
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == "PRIMEParameterNode"
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None
    }
    assert (defaults["sameRoiForBothPhases"], defaults["registerVenous"]) == (True, True)
    assert defaults["roiEngine"] == "classical"
    # The engine menu is filled in code from PRIMEPanel.rules.roiEngineChoices.
    engines = next(
        w for w in ET.parse(UI_FILE).getroot().iter("widget") if w.get("name") == "roiEngineComboBox"
    )
    assert engines.findall("item") == []
    editor = widget(qt.QWidget, "segmentEditorWidget")
    assert editor.metaObject().className() == "qMRMLSegmentEditorWidget"
    # As PRIMEWidget sets it up: only the refining effects, in this order.
    editor.setEffectNameOrder(list(_rules_constant("EDITOR_EFFECTS")))
    editor.unorderedEffectsVisible = False
    assert [b.text for b in editor.findChildren(qt.QToolButton)] == list(_rules_constant("EDITOR_EFFECTS"))
    assert _rules_constant("EDITOR_EFFECTS") == ("Paint", "Erase", "Smoothing", "Islands")
    # The section sits between Inputs and Clinical, as a radiologist works: ROI before the form.
    order = [
        w.get("name")
        for w in ET.parse(UI_FILE).getroot().iter("widget")
        if w.get("class") == "ctkCollapsibleButton"
    ]
    assert order[:3] == ["inputsCollapsibleButton", "tumourRoiCollapsibleButton", "clinicalCollapsibleButton"]


def test_score_button_starts_disabled_and_panel_says_research_use(panel, qt):
    assert panel.findChild(qt.QPushButton, "scoreButton").enabled is False
    label = panel.findChild(qt.QLabel, "researchUseLabel")
    assert "not for clinical" in label.text


def _fill_clinical_form(panel, qt) -> None:
    """Fill ``clinicalFormWidget`` with the module's own ``PRIMEPanel.widgets.ClinicalForm``, the engine
    menu from ``PRIMEPanel.rules`` and the shipped model's card, as ``PRIMEWidget.setup`` does."""
    for path in (REPO / "PRIME", REPO):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from PRIMEPanel import rules, scoring
    from PRIMEPanel.widgets import ClinicalForm

    container = panel.findChild(qt.QWidget, "clinicalFormWidget")
    if container.layout() is not None:
        return
    ClinicalForm(container, lambda *args: None)
    combo = panel.findChild(qt.QComboBox, "roiEngineComboBox")
    for choice in rules.roiEngineChoices(False):
        combo.addItem(choice.text, choice.name)
    panel.findChild(qt.QPlainTextEdit, "modelCardTextEdit").plainText = scoring.modelCardText("")


def test_panel_renders_offscreen(panel, qt, tmp_path):
    """Renders the panel (the screenshots in Resources/Screenshots come from the session test)."""
    _fill_clinical_form(panel, qt)
    width = max(380, panel.minimumSizeHint.width())
    height = max(520, panel.sizeHint.height())
    panel.resize(width, height)
    image = panel.grab().toImage()
    path = tmp_path / "panel.png"
    assert image.save(str(path))
    assert image.width() == width and image.height() == height
    # Not a blank grab: the rendered labels and frames give many distinct colours.
    colours = {image.pixel(x, y) for x in range(0, width, 7) for y in range(0, height, 7)}
    assert len(colours) > 3
