"""The module's .ui file, loaded by PySide6's QUiLoader offscreen (no Slicer needed).

CTK and qMRML widgets are registered as small Qt stand-ins; the tests check that every widget the
module code touches exists with the right type, that parameter bindings name real parameter-node
fields, and that the panel renders.
"""

from __future__ import annotations

import ast
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
QtWidgets = pytest.importorskip("PySide6.QtWidgets", reason="PySide6 is part of the slicer-test extra")
from PySide6 import QtCore  # noqa: E402
from PySide6.QtCore import QFile  # noqa: E402
from PySide6.QtUiTools import QUiLoader  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
UI_FILE = REPO / "PRIME" / "Resources" / "UI" / "PRIME.ui"
MODULE_FILE = REPO / "PRIME" / "PRIME.py"
RULES_FILE = REPO / "PRIME" / "PRIMEPanel" / "rules.py"


def _rules_constant(name: str):
    """A constant of PRIMEPanel/rules.py, read from its source (importing it needs Slicer's modules)."""
    for node in ast.parse(RULES_FILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {RULES_FILE}")


class ctkCollapsibleButton(QtWidgets.QGroupBox):  # noqa: N801  (named as the CTK class it stands for)
    """Stand-in: a titled container (the real one collapses)."""


class qMRMLWidget(QtWidgets.QWidget):  # noqa: N801
    """Stand-in for the scene-aware base widget."""


class qMRMLNodeComboBox(QtWidgets.QComboBox):  # noqa: N801
    """Stand-in for the MRML node selector."""


class qMRMLSegmentSelectorWidget(QtWidgets.QComboBox):  # noqa: N801
    """Stand-in for the segmentation + segment selector."""


class qMRMLSegmentEditorWidget(QtWidgets.QFrame):  # noqa: N801
    """Stand-in for the embedded Segment Editor: a segment list and the effect buttons the panel shows
    (PRIMEPanel.rules.EDITOR_EFFECTS), so the screenshot looks like the panel in Slicer."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        segments = QtWidgets.QTableWidget(2, 1)
        segments.setHorizontalHeaderLabels(["Segments"])
        segments.horizontalHeader().setStretchLastSection(True)
        segments.verticalHeader().hide()
        for row, name in enumerate(("Tumour", "Tumour (venous)")):
            segments.setItem(row, 0, QtWidgets.QTableWidgetItem(name))
        segments.verticalHeader().setDefaultSectionSize(22)
        segments.setFixedHeight(24 + 2 * 22)
        segments.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        layout.addWidget(segments)
        effects = QtWidgets.QHBoxLayout()
        for name in _rules_constant("EDITOR_EFFECTS"):
            button = QtWidgets.QToolButton()
            button.setText(name)
            effects.addWidget(button)
        effects.addStretch()
        layout.addLayout(effects)


class ctkPathLineEdit(QtWidgets.QLineEdit):  # noqa: N801
    """Stand-in for the file path field with a browse button."""


STAND_INS = (
    ctkCollapsibleButton,
    ctkPathLineEdit,
    qMRMLWidget,
    qMRMLNodeComboBox,
    qMRMLSegmentSelectorWidget,
    qMRMLSegmentEditorWidget,
)

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
def app():
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


@pytest.fixture(scope="module")
def panel(app):
    loader = QUiLoader()
    for stand_in in STAND_INS:
        loader.registerCustomWidget(stand_in)
    ui_file = QFile(str(UI_FILE))
    assert ui_file.open(QFile.ReadOnly), f"cannot open {UI_FILE}"
    widget = loader.load(ui_file)
    ui_file.close()
    assert widget is not None, loader.errorString()
    for box in widget.findChildren(ctkCollapsibleButton):
        box.setTitle(box.property("text") or "")
    return widget


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


def test_every_widget_the_code_uses_exists_with_the_right_type(panel):
    declared = _ui_classes()
    used = _names_used_by_module()
    assert used, "the module code uses no self.ui widgets: the regex or the module changed"
    missing = used - declared.keys()
    assert not missing, f"PRIME.py uses widgets the .ui lacks: {sorted(missing)}"
    untyped = used - EXPECTED_TYPES.keys()
    assert not untyped, f"add the expected type of {sorted(untyped)} to EXPECTED_TYPES"
    for name in used:
        assert declared[name] == EXPECTED_TYPES[name], name
        loaded = panel.findChild(QtWidgets.QWidget, name)
        assert loaded is not None, name
        assert loaded.metaObject().className() == EXPECTED_TYPES[name]


def test_parameter_bindings_name_real_parameter_node_fields(panel):
    fields = _parameter_node_fields()
    bound = {
        w.objectName(): w.property("SlicerParameterName")
        for w in panel.findChildren(QtWidgets.QWidget)
        if w.property("SlicerParameterName")
    }
    assert bound == {
        "arterialVolumeSelector": "arterialVolume",
        "venousVolumeSelector": "venousVolume",
        "featureTableSelector": "featureTable",
        "modelPathLineEdit": "modelPath",
        "sameRoiCheckBox": "sameRoiForBothPhases",
        "registerVenousCheckBox": "registerVenous",
    }
    assert set(bound.values()) <= fields
    # Synchronised by hand in PRIME.py (binding would reset their node types or item data):
    assert {"roiNode", "roiEngine", "segmentation", "segmentID"} <= fields


def test_node_selectors_accept_the_right_node_types(panel):
    types = {
        name: panel.findChild(QtWidgets.QWidget, name).property("nodeTypes")
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


def test_tumour_roi_section_starts_in_its_default_state(panel):
    """Before any input: nothing to create, undo or carry; one ROI serves both phases (the parameter
    node's defaults), registration ticked but inactive until the ROIs are separate."""

    def widget(kind, name):
        found = panel.findChild(kind, name)
        assert found is not None, name
        return found

    for name in ("createRoiButton", "undoRoiButton", "carryRoiButton", "saveReportButton"):
        assert widget(QtWidgets.QPushButton, name).isEnabled() is False, name
    same = widget(QtWidgets.QCheckBox, "sameRoiCheckBox")
    register = widget(QtWidgets.QCheckBox, "registerVenousCheckBox")
    assert (same.isChecked(), register.isChecked(), register.isEnabled()) == (True, True, False)
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
    editor = widget(QtWidgets.QWidget, "segmentEditorWidget")
    assert editor.metaObject().className() == "qMRMLSegmentEditorWidget"
    assert [b.text() for b in editor.findChildren(QtWidgets.QToolButton)] == list(
        _rules_constant("EDITOR_EFFECTS")
    )
    assert _rules_constant("EDITOR_EFFECTS") == ("Paint", "Erase", "Smoothing", "Islands")
    # The section sits between Inputs and Clinical, as a radiologist works: ROI before the form.
    order = [
        w.get("name")
        for w in ET.parse(UI_FILE).getroot().iter("widget")
        if w.get("class") == "ctkCollapsibleButton"
    ]
    assert order[:3] == ["inputsCollapsibleButton", "tumourRoiCollapsibleButton", "clinicalCollapsibleButton"]


def test_score_button_starts_disabled_and_panel_says_research_use(panel):
    assert panel.findChild(QtWidgets.QPushButton, "scoreButton").isEnabled() is False
    label = panel.findChild(QtWidgets.QLabel, "researchUseLabel")
    assert "not for clinical" in label.text()


def _fill_clinical_form(panel) -> None:
    """Fill ``clinicalFormWidget`` as ``PRIMEWidget._buildClinicalForm`` does (a box per schema group,
    line edits with the range as placeholder, combo boxes for choices), so the render shows the form.
    PRIME.py itself needs Slicer's ``qt``; the field list comes from the same schema."""
    from PRIMELib.clinical import CLINICAL_SCHEMA

    container = panel.findChild(QtWidgets.QWidget, "clinicalFormWidget")
    if container.layout() is not None:
        return
    layout = QtWidgets.QVBoxLayout(container)
    layout.setContentsMargins(0, 0, 0, 0)
    groups = {}
    for variable in CLINICAL_SCHEMA:
        if variable.is_derived or variable.group in ("response", "outcome"):
            continue
        if variable.group not in groups:
            box = ctkCollapsibleButton(variable.group.replace("_", " ").capitalize())
            layout.addWidget(box)
            groups[variable.group] = QtWidgets.QFormLayout(box)
            groups[variable.group].setVerticalSpacing(2)
        if variable.group not in ("case", "demographics", "labs"):  # as in the panel: starts collapsed
            box.setMaximumHeight(22)
            continue
        if variable.choices:
            editor = QtWidgets.QComboBox()
            editor.addItems(["—"] + [f"{c.code}: {c.label}" for c in variable.choices])
        else:
            editor = QtWidgets.QLineEdit()
            if variable.minimum is not None and variable.maximum is not None:
                editor.setPlaceholderText(
                    f"{variable.minimum:g}–{variable.maximum:g} {variable.unit}".strip()
                )
        unit = f" ({variable.unit})" if variable.unit else ""
        groups[variable.group].addRow(variable.label + unit + ":", editor)
    from PRIMELib.pipeline import resolve_model

    # The engine menu, as PRIMEWidget fills it from PRIMEPanel.rules.roiEngineChoices.
    panel.findChild(QtWidgets.QComboBox, "roiEngineComboBox").addItems(["Classical (CPU)", "MedSAM (AI)"])
    card = resolve_model(None).model_card
    text = "\n".join(f"{key}: {value}" for key, value in card.items())
    panel.findChild(QtWidgets.QPlainTextEdit, "modelCardTextEdit").setPlainText(text)


def test_panel_renders_offscreen(panel, tmp_path):
    """Renders the panel; with PRIME_UPDATE_SCREENSHOT=1 it also writes Resources/Screenshots/panel.png."""
    _fill_clinical_form(panel)
    width = max(380, panel.minimumSizeHint().width())
    height = max(520, panel.sizeHint().height())
    panel.resize(width, height)
    image = panel.grab().toImage()
    path = tmp_path / "panel.png"
    assert image.save(str(path))
    assert image.width() == width and image.height() == height
    # Not a blank grab: the rendered labels and frames give many distinct colours.
    colours = {image.pixel(x, y) for x in range(0, width, 7) for y in range(0, height, 7)}
    assert len(colours) > 3
    if os.environ.get("PRIME_UPDATE_SCREENSHOT") == "1":
        assert image.save(str(REPO / "Resources" / "Screenshots" / "panel.png"))
