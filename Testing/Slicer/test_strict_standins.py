"""The stand-ins reject what Slicer 5.10 rejects.

- parameterNodeWrapper GUI binding: Slicer's widget-class <-> parameter-type connector table, exact
  class matching, its RuntimeErrors, two-way sync through PythonQt's API, a real ``disconnectGui``.
  Widgets here are small fakes that offer exactly the PythonQt calls the connectors may use
  (attribute properties, ``connect``/``disconnect`` with signal signatures), installed as the
  ``qt``/``ctk`` modules and ``slicer.qMRML*`` names for the test.
- ``slicer.app.testingEnabled()`` is False unless the test asks, as for a user.
- Modal dialogs are never auto-accepted: an unscripted one fails the test with its text.
- ``slicer.util.tryWithErrorDisplay`` is slicer-core's own: it shows the error, then re-raises.
- ``slicer.ScriptedLoadableModule`` behaves as Slicer 5.10's.
"""

from __future__ import annotations

import inspect
import logging
import pathlib
import re
import sys
import types
import xml.etree.ElementTree as ElementTree
from enum import Enum
from typing import Annotated, Optional

import pytest
import slicer_dialogs
import slicer_harness as harness

harness.skip_or_fail_without_slicer_core()

import slicer  # noqa: E402 - only once slicer-core is known to import
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLTableNode  # noqa: E402
from slicer.parameterNodeWrapper import (  # noqa: E402
    Choice,
    Decimals,
    Maximum,
    Minimum,
    WithinRange,
    parameterNodeWrapper,
)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _uses_stand_in_wrapper() -> bool:
    return harness.standins_installed()["slicer.parameterNodeWrapper"] == "stand-in"


# --------------------------------------------------------------------------------------------------
# Fake PythonQt widgets: only attribute properties, methods Slicer's connectors call, and
# connect/disconnect by signal signature. Setting a property emits its signal, as Qt does.
# --------------------------------------------------------------------------------------------------


class _Signalling:
    """A Qt property whose setter emits ``signal`` with the new value when the value changes."""

    def __init__(self, signal: str | None, default, convert=lambda value: value) -> None:
        self.signal = signal
        self.default = default
        self.convert = convert

    def __set_name__(self, owner, name) -> None:
        self.name = "_" + name

    def __get__(self, widget, owner=None):
        if widget is None:
            return self
        return widget.__dict__.get(self.name, self.default)

    def __set__(self, widget, value) -> None:
        value = self.convert(value)
        changed = value != self.__get__(widget)
        widget.__dict__[self.name] = value
        if changed and self.signal:
            widget.emit(self.signal, value)


class QWidget:
    SIGNALS: tuple[str, ...] = ()

    def __init__(self, parameterName: str | None = None, children=()) -> None:
        self._properties = {}
        if parameterName is not None:
            self._properties["SlicerParameterName"] = parameterName
        self._slots: dict[str, list] = {}
        self._children = list(children)

    # PythonQt's QObject API
    def property(self, name):
        return self._properties.get(name)

    def setProperty(self, name, value) -> None:
        self._properties[name] = value

    def isWidgetType(self) -> bool:
        return True

    def findChildren(self, cls) -> list:
        found = []
        for child in self._children:
            if isinstance(child, cls):
                found.append(child)
            found.extend(child.findChildren(cls))
        return found

    def connect(self, signal: str, slot) -> bool:
        if signal not in self.SIGNALS:
            raise AssertionError(f"{type(self).__name__} has no signal {signal!r}")
        self._slots.setdefault(signal, []).append(slot)
        return True

    def disconnect(self, signal: str, slot) -> bool:
        slots = self._slots.get(signal, [])
        if slot not in slots:
            raise AssertionError(f"{slot!r} is not connected to {type(self).__name__}.{signal}")
        slots.remove(slot)
        return True

    # test helpers
    def emit(self, signal: str, *args) -> None:
        for slot in list(self._slots.get(signal, [])):
            slot(*args)

    def connections(self) -> int:
        return sum(len(slots) for slots in self._slots.values())


class QCheckBox(QWidget):
    SIGNALS = ("stateChanged(int)", "toggled(bool)")
    checked = _Signalling("stateChanged(int)", False, bool)


class QPushButton(QWidget):
    SIGNALS = ("toggled(bool)", "clicked(bool)")
    checkable = _Signalling(None, False, bool)
    checked = _Signalling("toggled(bool)", False, bool)


class _RangeWidget(QWidget):
    minimum = _Signalling(None, 0)
    maximum = _Signalling(None, 99)
    singleStep = _Signalling(None, 1)

    def setRange(self, minimum, maximum) -> None:
        self.minimum, self.maximum = minimum, maximum

    def setMinimum(self, minimum) -> None:
        self.minimum = minimum

    def setMaximum(self, maximum) -> None:
        self.maximum = maximum


class QSpinBox(_RangeWidget):
    SIGNALS = ("valueChanged(int)",)
    value = _Signalling("valueChanged(int)", 0, int)


class QSlider(QSpinBox):
    pass


class QDoubleSpinBox(_RangeWidget):
    SIGNALS = ("valueChanged(double)",)
    value = _Signalling("valueChanged(double)", 0.0, float)
    decimals = _Signalling(None, 2)


class ctkSliderWidget(QDoubleSpinBox):  # noqa: N801 - the Qt class name
    pass


class QComboBox(QWidget):
    SIGNALS = ("currentIndexChanged(int)",)
    currentIndex = _Signalling("currentIndexChanged(int)", -1)

    def __init__(self, parameterName=None, children=()) -> None:
        super().__init__(parameterName, children)
        self.items: list[str] = []

    def clear(self) -> None:
        self.items = []
        self.currentIndex = -1

    def addItem(self, text) -> None:
        self.items.append(text)
        if self.currentIndex == -1:
            self.currentIndex = 0


class QLineEdit(QWidget):
    SIGNALS = ("textChanged(QString)", "editingFinished()")
    text = _Signalling("textChanged(QString)", "")


class QLabel(QWidget):
    text = _Signalling(None, "")


class QTextEdit(QWidget):
    SIGNALS = ("textChanged()",)

    def __init__(self, parameterName=None, children=()) -> None:
        super().__init__(parameterName, children)
        self._text = ""

    def toPlainText(self) -> str:
        return self._text

    def setPlainText(self, text) -> None:
        if text != self._text:
            self._text = text
            self.emit("textChanged()")


class QDial(QSpinBox):
    """A Qt widget that Slicer's connector table does not list."""


class ctkPathLineEdit(QWidget):  # noqa: N801 - the Qt class name
    SIGNALS = ("currentPathChanged(QString)",)
    currentPath = _Signalling("currentPathChanged(QString)", "")


class ctkDirectoryButton(QWidget):  # noqa: N801 - the Qt class name
    SIGNALS = ("directoryChanged(QString)",)
    directory = _Signalling("directoryChanged(QString)", "")


class qMRMLNodeComboBox(QWidget):  # noqa: N801 - the Qt class name
    SIGNALS = ("currentNodeChanged(vtkMRMLNode*)", "currentNodeChanged(bool)")

    def __init__(self, parameterName=None, children=()) -> None:
        super().__init__(parameterName, children)
        self.nodeTypes = ("vtkMRMLNode",)
        self._node = None

    def currentNode(self):
        return self._node

    def setCurrentNode(self, node) -> None:
        if node is not self._node:
            self._node = node
            self.emit("currentNodeChanged(vtkMRMLNode*)", node)


FAKE_QT = {
    name: globals()[name]
    for name in (
        "QWidget",
        "QCheckBox",
        "QPushButton",
        "QSpinBox",
        "QSlider",
        "QDoubleSpinBox",
        "QComboBox",
        "QLineEdit",
        "QLabel",
        "QTextEdit",
        "QDial",
    )
}
FAKE_CTK = {name: globals()[name] for name in ("ctkPathLineEdit", "ctkDirectoryButton", "ctkSliderWidget")}


@pytest.fixture
def fake_widgets(monkeypatch):
    """The fake widget classes as ``qt.*``, ``ctk.*`` and ``slicer.qMRMLNodeComboBox`` for this test."""
    if not _uses_stand_in_wrapper():
        pytest.skip("checks the parameterNodeWrapper stand-in")
    for module_name, classes in (("qt", FAKE_QT), ("ctk", FAKE_CTK)):
        module = types.ModuleType(module_name)
        for name, cls in classes.items():
            setattr(module, name, cls)
        monkeypatch.setitem(sys.modules, module_name, module)
    monkeypatch.setattr(slicer, "qMRMLNodeComboBox", qMRMLNodeComboBox, raising=False)
    return types.SimpleNamespace(**FAKE_QT, **FAKE_CTK, qMRMLNodeComboBox=qMRMLNodeComboBox)


class Engine(Enum):
    CLASSICAL = "classical"
    MEDSAM = "medsam"


@parameterNodeWrapper
class PanelParameters:
    enabled: bool = True
    register: bool = False
    cycles: Annotated[int, WithinRange(0, 12)] = 2
    dose: Annotated[int, Minimum(0), Maximum(10)] = 1
    albumin: Annotated[float, WithinRange(10.0, 60.0), Decimals(1)] = 40.0
    threshold: float = 0.5
    sex: Annotated[str, Choice(["F", "M"])] = "F"
    engine: Engine
    caseId: str = "case-1"
    summary: str = ""
    notes: str = ""
    modelPath: str = ""
    bundlePath: pathlib.Path
    outputFolder: pathlib.Path
    arterialVolume: vtkMRMLScalarVolumeNode
    featureTable: Optional[vtkMRMLTableNode]  # noqa: UP045 - Slicer's wrapper needs typing.Optional


def _parameters() -> PanelParameters:
    return PanelParameters(slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode"))


# --------------------------------------------------------------------------------------------------
# Connector table and errors
# --------------------------------------------------------------------------------------------------


def test_ctk_path_line_edit_bound_to_a_str_field_raises_as_in_slicer(fake_widgets):
    parameters = _parameters()
    panel = QWidget(children=[ctkPathLineEdit("modelPath")])
    with pytest.raises(RuntimeError, match=r"Unable to create GUI connector from datatype '<class 'str'>'"):
        parameters.connectGui(panel)
    assert not panel.findChildren(ctkPathLineEdit)[0].connections()


@pytest.mark.parametrize(
    ("widget_class", "parameter", "message"),
    [
        (QLineEdit, "cycles", "Unable to create GUI connector"),  # QLineEdit is str only
        (QCheckBox, "caseId", "Unable to create GUI connector"),  # QCheckBox is bool only
        (QDial, "cycles", "Unable to create GUI connector"),  # not in Slicer's table
        (ctkDirectoryButton, "caseId", "Unable to create GUI connector"),  # pathlib only
        (qMRMLNodeComboBox, "caseId", "Unable to create GUI connector"),  # node types only
        (QComboBox, "caseId", "requires the Choice annotation"),
        (QSlider, "threshold", "Unable to create GUI connector"),  # QSlider is int only
        (ctkSliderWidget, "threshold", "where the float types is unbounded"),
    ],
)
def test_widget_and_type_pairs_slicer_has_no_connector_for_raise(
    fake_widgets, widget_class, parameter, message
):
    with pytest.raises(RuntimeError, match=message):
        _parameters().connectGui(QWidget(children=[widget_class(parameter)]))


def test_unbounded_int_on_a_qslider_raises(fake_widgets):
    @parameterNodeWrapper
    class Unbounded:
        count: int = 0

    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    with pytest.raises(RuntimeError, match="QSlider where the int type is unbounded"):
        Unbounded(node).connectGui(QWidget(children=[QSlider("count")]))


def test_the_widget_class_must_match_exactly_as_in_slicer(fake_widgets):
    class MyLineEdit(QLineEdit):
        pass

    with pytest.raises(RuntimeError, match="Unable to create GUI connector"):
        _parameters().connectGui(QWidget(children=[MyLineEdit("caseId")]))


def test_a_widget_naming_an_unknown_parameter_raises(fake_widgets):
    with pytest.raises(ValueError, match="Cannot find a param with the given name: noSuchField"):
        _parameters().connectGui(QWidget(children=[QLineEdit("noSuchField")]))


# --------------------------------------------------------------------------------------------------
# Two-way sync
# --------------------------------------------------------------------------------------------------


def _read(widget, attribute):
    value = getattr(widget, attribute)
    return value() if callable(value) else value


def _write(widget, attribute, value):
    setter = {"currentNode": "setCurrentNode", "toPlainText": "setPlainText"}.get(attribute)
    if setter:
        getattr(widget, setter)(value)
    else:
        setattr(widget, attribute, value)


SYNC_CASES = [
    # widget class, parameter, widget attribute, (node value, widget shows), (user edit, node gets)
    (QCheckBox, "enabled", "checked", (False, False), (True, True)),
    (QPushButton, "register", "checked", (True, True), (False, False)),
    (QSpinBox, "cycles", "value", (5, 5), (7, 7)),
    (QSlider, "cycles", "value", (3, 3), (11, 11)),
    (QDoubleSpinBox, "albumin", "value", (35.5, 35.5), (41.0, 41.0)),
    (QDoubleSpinBox, "cycles", "value", (4, 4.0), (6.0, 6)),
    (ctkSliderWidget, "dose", "value", (3, 3.0), (8.0, 8)),
    (QComboBox, "sex", "currentIndex", ("M", 1), (0, "F")),
    (QComboBox, "engine", "currentIndex", (Engine.MEDSAM, 1), (0, Engine.CLASSICAL)),
    (QLineEdit, "caseId", "text", ("case-9", "case-9"), ("case-10", "case-10")),
    (QTextEdit, "notes", "toPlainText", ("first", "first"), ("second", "second")),
    (
        ctkPathLineEdit,
        "bundlePath",
        "currentPath",
        (pathlib.Path("/m/a.prime"), "/m/a.prime"),
        ("/m/b.prime", pathlib.Path("/m/b.prime")),
    ),
    (
        ctkDirectoryButton,
        "outputFolder",
        "directory",
        (pathlib.Path("/out/a"), "/out/a"),
        ("/out/b", pathlib.Path("/out/b")),
    ),
]


@pytest.mark.parametrize(
    ("widget_class", "parameter", "attribute", "to_widget", "to_node"),
    SYNC_CASES,
    ids=[f"{case[0].__name__}-{case[1]}" for case in SYNC_CASES],
)
def test_connectors_sync_both_ways_and_disconnect(
    fake_widgets, widget_class, parameter, attribute, to_widget, to_node
):
    parameters = _parameters()
    widget = widget_class(parameter)
    tag = parameters.connectGui(QWidget(children=[widget]))

    node_value, widget_shows = to_widget
    setattr(parameters, parameter, node_value)
    assert _read(widget, attribute) == widget_shows

    user_value, node_gets = to_node
    _write(widget, attribute, user_value)
    assert getattr(parameters, parameter) == node_gets
    assert type(getattr(parameters, parameter)) is type(node_gets)

    assert widget.connections() == 1
    parameters.disconnectGui(tag)
    assert widget.connections() == 0
    _write(widget, attribute, _read_expected_other(widget, attribute, user_value))
    assert getattr(parameters, parameter) == node_gets  # a later edit no longer writes the node
    shown = _read(widget, attribute)
    setattr(parameters, parameter, node_value)
    assert _read(widget, attribute) == shown  # nor does the node write the widget


def _read_expected_other(widget, attribute, user_value):
    current = _read(widget, attribute)
    if isinstance(current, bool):
        return not current
    if isinstance(current, (int, float)) and attribute == "currentIndex":
        return 1 - current
    if isinstance(current, (int, float)):
        return current + 1
    return f"{current}-edited"


def test_connect_writes_the_node_values_to_the_widgets_first(fake_widgets):
    parameters = _parameters()
    parameters.caseId = "case-42"
    parameters.cycles = 9
    edit, spin = QLineEdit("caseId"), QSpinBox("cycles")
    parameters.connectGui(QWidget(children=[QWidget(children=[edit]), spin]))  # nested children found
    assert (edit.text, spin.value) == ("case-42", 9)
    assert (spin.minimum, spin.maximum) == (0, 12)  # WithinRange sets the range, as in Slicer


def test_a_label_only_shows_the_value(fake_widgets):
    parameters = _parameters()
    label = QLabel("summary")
    parameters.connectGui(QWidget(children=[label]))
    parameters.summary = "Responder"
    assert label.text == "Responder"
    label.text = "edited"
    assert parameters.summary == "Responder"


def test_combo_box_items_come_from_the_choices_and_the_enum(fake_widgets):
    parameters = _parameters()
    sex, engine = QComboBox("sex"), QComboBox("engine")
    parameters.connectGui(QWidget(children=[sex, engine]))
    assert sex.items == ["F", "M"] and engine.items == ["CLASSICAL", "MEDSAM"]


def test_node_selector_syncs_the_node_and_gets_its_node_types(fake_widgets):
    parameters = _parameters()
    arterial, table = qMRMLNodeComboBox("arterialVolume"), qMRMLNodeComboBox("featureTable")
    tag = parameters.connectGui(QWidget(children=[arterial, table]))
    assert arterial.nodeTypes == ("vtkMRMLScalarVolumeNode",)
    assert table.nodeTypes == ("vtkMRMLTableNode",)

    volume = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
    parameters.arterialVolume = volume
    assert arterial.currentNode() is volume
    other = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
    arterial.setCurrentNode(other)
    assert parameters.arterialVolume is other
    features = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode")
    table.setCurrentNode(features)
    assert parameters.featureTable is features

    parameters.disconnectGui(tag)
    arterial.setCurrentNode(volume)
    assert parameters.arterialVolume is other


def test_an_invalid_edit_in_the_widget_is_rejected_by_the_validators(fake_widgets):
    parameters = _parameters()
    spin = QDoubleSpinBox("albumin")
    parameters.connectGui(QWidget(children=[spin]))
    assert (spin.minimum, spin.maximum, spin.decimals) == (10.0, 60.0, 1)
    with pytest.raises(ValueError, match="range"):
        spin.value = 75.0  # a real spin box clamps; the wrapper would refuse the value anyway
    assert parameters.albumin == 40.0


def test_connect_gui_on_a_namespace_uses_its_attributes_like_slicer(fake_widgets):
    parameters = _parameters()
    ui = types.SimpleNamespace(
        caseEdit=QLineEdit("caseId"), unbound=QLineEdit(), enabledBox=QCheckBox("enabled")
    )
    parameters.connectGui(ui)
    parameters.caseId = "from-node"
    assert ui.caseEdit.text == "from-node" and ui.unbound.text == ""
    ui.enabledBox.checked = False
    assert parameters.enabled is False


def test_connect_parameters_to_gui_with_an_explicit_mapping(fake_widgets):
    parameters = _parameters()
    edit = QLineEdit()
    tag = parameters.connectParametersToGui({"caseId": edit})
    assert edit.text == "case-1"
    edit.text = "typed"
    assert parameters.caseId == "typed"
    parameters.disconnectGui(tag)
    assert edit.connections() == 0


def test_a_second_wrapper_and_gui_on_the_same_node_stay_in_step(fake_widgets):
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    first, second = PanelParameters(node), PanelParameters(node)
    edit_1, edit_2 = QLineEdit("caseId"), QLineEdit("caseId")
    first.connectGui(QWidget(children=[edit_1]))
    second.connectGui(QWidget(children=[edit_2]))
    edit_1.text = "shared"
    assert edit_2.text == "shared"


# --------------------------------------------------------------------------------------------------
# PRIME's own bindings, checked against the same table
# --------------------------------------------------------------------------------------------------


def _ui_bindings(ui_path: pathlib.Path) -> dict[str, str]:
    """``{SlicerParameterName: widget class}`` from a Qt Designer file."""
    bindings = {}
    for widget in ElementTree.parse(ui_path).iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bindings[prop.findtext("string")] = widget.get("class")
    return bindings


def test_every_binding_in_prime_ui_has_a_slicer_connector(fake_widgets, prime_module):
    bindings = _ui_bindings(REPO_ROOT / "PRIME" / "Resources" / "UI" / "PRIME.ui")
    assert bindings, "PRIME.ui binds no widget to the parameter node"
    classes = {**FAKE_QT, **FAKE_CTK, "qMRMLNodeComboBox": qMRMLNodeComboBox}
    missing = sorted(set(bindings.values()) - set(classes))
    assert not missing, f"no fake widget for {missing}: add one to this test"
    parameters = prime_module.PRIMEParameterNode(
        slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    )
    failures = []
    for name, class_name in sorted(bindings.items()):
        try:
            tag = parameters.connectGui(QWidget(children=[classes[class_name](name)]))
            parameters.disconnectGui(tag)
        except (RuntimeError, ValueError, TypeError) as error:
            failures.append(f"{class_name} {name!r} -> {parameters.dataType(name)}: {error}")
    assert not failures, "Slicer's parameterNodeWrapper rejects these bindings:\n" + "\n".join(failures)


# --------------------------------------------------------------------------------------------------
# slicer.app.testingEnabled()
# --------------------------------------------------------------------------------------------------


def test_testing_is_disabled_as_for_a_user():
    assert slicer.app.testingEnabled() is False
    assert slicer.app.commandOptions().testingEnabled is False
    assert slicer.util.mainWindow() is not None  # a user's Slicer has a main window


def test_a_test_asks_for_testing_mode_with_the_fixture(slicer_testing_enabled):
    assert slicer.app.testingEnabled() is True


@pytest.mark.slicer_testing
def test_or_with_the_marker():
    assert slicer.app.testingEnabled() is True


def test_a_self_test_runs_in_testing_mode_as_under_ctest(run_self_test):
    seen = []

    class ProbeTest(slicer.ScriptedLoadableModule.ScriptedLoadableModuleTest):
        def runTest(self):
            seen.append(slicer.app.testingEnabled())

    run_self_test(ProbeTest)
    assert seen == [True] and slicer.app.testingEnabled() is False


# --------------------------------------------------------------------------------------------------
# Dialogs
# --------------------------------------------------------------------------------------------------


def test_an_unanswered_dialog_fails_with_its_text(dialogs):
    with pytest.raises(slicer_dialogs.UnexpectedDialog, match="Albumin is missing"):
        slicer.util.errorDisplay("Albumin is missing")
    with pytest.raises(slicer_dialogs.UnexpectedDialog, match="Install pandas"):
        slicer.util.confirmOkCancelDisplay("Install pandas?")
    assert [dialog.text for dialog in dialogs.unexpected] == ["Albumin is missing", "Install pandas?"]
    dialogs.unexpected.clear()  # reported here on purpose; the fixture would fail the test otherwise


def test_a_swallowed_unexpected_dialog_still_fails_the_test():
    script = slicer_dialogs.DialogScript()
    with slicer_dialogs.useScript(script):
        try:
            slicer.util.warningDisplay("Registration did not converge")
        except Exception:  # code under test that catches everything
            pass
    with pytest.raises(slicer_dialogs.UnexpectedDialog, match="Registration did not converge"):
        script.verify()


def test_a_scripted_dialog_that_never_comes_fails_the_test():
    script = slicer_dialogs.DialogScript().expect("Install", "Ok")
    with pytest.raises(slicer_dialogs.UnexpectedDialog, match="never shown"):
        script.verify()


def test_scripted_answers_are_what_the_user_clicks(dialogs):
    dialogs.expect("Install pandas", "Cancel", kind="message")
    dialogs.expect("Install pandas", "Ok")
    dialogs.expect(re.compile(r"Replace .*\?"), "No")
    dialogs.expect("Score saved", "Ok")
    assert slicer.util.confirmOkCancelDisplay("Install pandas?") is False
    assert slicer.util.confirmOkCancelDisplay("Install pandas?") is True
    assert slicer.util.confirmYesNoDisplay("Replace the ROI?") is False
    slicer.util.infoDisplay("Score saved", windowTitle="PRIME")
    assert [dialog.title for dialog in dialogs.shown][-1] == "PRIME"
    assert dialogs.shown[0].buttons == ("Ok", "Cancel")


def test_an_answer_must_be_a_button_of_the_box(dialogs):
    dialogs.expect("Install", "Yes")
    with pytest.raises(slicer_dialogs.UnexpectedDialog, match="not a button"):
        slicer.util.confirmOkCancelDisplay("Install?")


def test_file_and_input_dialogs_need_answers_too(dialogs):
    import qt

    with pytest.raises(slicer_dialogs.UnexpectedDialog, match="Save patient report"):
        qt.QFileDialog.getSaveFileName(None, "Save patient report", "report.html", "*.html")
    dialogs.unexpected.clear()
    dialogs.expect("Save patient report", "/tmp/report.html", kind="file")
    dialogs.expect("Load clinical record", "", kind="file")  # Cancel
    dialogs.expect("case_id", "P-007", kind="input")
    assert (
        qt.QFileDialog.getSaveFileName(None, "Save patient report", "report.html", "*.html")
        == "/tmp/report.html"
    )
    assert qt.QFileDialog.getOpenFileName(None, "Load clinical record", "", "*.json") == ""
    assert qt.QInputDialog.getText(None, "Clinical table", "case_id of the row to load:") == "P-007"


def test_in_testing_mode_the_display_functions_only_log_as_in_slicer(slicer_testing_enabled, dialogs, caplog):
    with caplog.at_level(logging.INFO):
        slicer.util.errorDisplay("Albumin is missing")
        # Slicer 5.10's confirmOkCancelDisplay returns ``True == qt.QMessageBox.Ok`` in testing mode:
        # False (Ok is 0x400), although its docstring says True. Code that asks before installing
        # packages is declined under ctest.
        assert slicer.util.confirmOkCancelDisplay("Install?") is False
        assert slicer.util.confirmYesNoDisplay("Replace?") is False
    assert "Albumin is missing" in caplog.text and not dialogs.shown


# --------------------------------------------------------------------------------------------------
# tryWithErrorDisplay: slicer-core's own, shows then re-raises
# --------------------------------------------------------------------------------------------------


def test_try_with_error_display_is_slicer_cores_own():
    function = inspect.unwrap(slicer.util.tryWithErrorDisplay)
    source_file = pathlib.Path(inspect.getsourcefile(function)).resolve()
    assert source_file == pathlib.Path(slicer.util.__file__).resolve()
    assert source_file.parent == pathlib.Path(slicer.__file__).resolve().parent
    assert "Testing" not in source_file.parts
    assert slicer.util.errorDisplay.__module__ == "slicer.util"
    assert slicer.util.messageBox.__module__ == "slicer.util"


def test_try_with_error_display_shows_the_error_then_re_raises(dialogs):
    dialogs.expect("Scoring failed.\n\nno model bundle", "Ok")
    after = []
    with pytest.raises(ValueError, match="no model bundle"):
        with slicer.util.tryWithErrorDisplay("Scoring failed.", waitCursor=True):
            raise ValueError("no model bundle")
        after.append("not reached")  # code after the block does not run: use finally
    assert after == [] and dialogs.shown[0].detailedText.startswith("Traceback")


def test_try_with_error_display_re_raises_in_testing_mode_without_a_dialog(slicer_testing_enabled, dialogs):
    with pytest.raises(ValueError, match="no model bundle"):
        with slicer.util.tryWithErrorDisplay("Scoring failed."):
            raise ValueError("no model bundle")
    assert not dialogs.shown


# --------------------------------------------------------------------------------------------------
# ScriptedLoadableModule
# --------------------------------------------------------------------------------------------------


class _Parent:
    """A module widget's parent panel, as the application gives it."""

    def layout(self):
        return None


def _module_file(tmp_path: pathlib.Path, name: str, icon: bool = False) -> pathlib.Path:
    path = tmp_path / name / f"{name}.py"
    (path.parent / "Resources" / "Icons").mkdir(parents=True)
    path.write_text("")
    if icon:
        (path.parent / "Resources" / "Icons" / f"{name}.png").write_bytes(b"\x89PNG")
    return path


def test_module_defaults_icon_resources_and_self_test_registration(tmp_path):
    from slicer.ScriptedLoadableModule import ScriptedLoadableModule

    class Lesion(ScriptedLoadableModule):
        pass

    import slicer_standins

    parent = slicer_standins.ModuleParentStandIn(str(_module_file(tmp_path, "Lesion", icon=True)))
    module = Lesion(parent)
    assert parent.contributors == ["Andras Lasso (PerkLab, Queen's University), Steve Pieper (Isomics)"]
    assert "created from a template" in parent.helpText
    assert parent.icon is not None  # Resources/Icons/Lesion.png, as qt.QIcon
    assert module.resourcePath("UI/Lesion.ui") == str(tmp_path / "Lesion" / "Resources" / "UI/Lesion.ui")
    assert slicer.selfTests["Lesion"] == module.runTest
    with pytest.raises(AttributeError):
        Lesion(object())  # Slicer reads parent.path for the icon


def test_widget_cleanup_runs_when_the_module_is_unloaded(load_module, tmp_path):
    from slicer.ScriptedLoadableModule import ScriptedLoadableModuleWidget

    calls = []

    class LesionWidget(ScriptedLoadableModuleWidget):
        def cleanup(self):
            calls.append("cleanup")

    widget = LesionWidget(_Parent())
    assert widget.moduleName == "Lesion" and widget.developerMode is False
    manager = slicer.app.moduleManager()
    manager.emit("moduleAboutToBeUnloaded(QString)", "Other")
    assert calls == []
    manager.emit("moduleAboutToBeUnloaded(QString)", "Lesion")
    manager.emit("moduleAboutToBeUnloaded(QString)", "Lesion")  # disconnected after the first
    assert calls == ["cleanup"]


def test_widget_reload_uses_slicers_reload_and_test_reports_failures(monkeypatch, dialogs, tmp_path):
    from slicer.ScriptedLoadableModule import ScriptedLoadableModuleWidget

    reloaded, delays = [], []
    monkeypatch.setattr(slicer.util, "reloadScriptedModule", reloaded.append)

    class LesionWidget(ScriptedLoadableModuleWidget):
        pass

    widget = LesionWidget(_Parent())
    widget.onReload()
    assert reloaded == ["Lesion"]

    def failing_self_test(msec):
        delays.append(msec)
        raise AssertionError("volume mismatch")

    monkeypatch.setattr(slicer, "selfTests", {"Lesion": failing_self_test}, raising=False)
    dialogs.expect("Test failed.\n\nvolume mismatch", "Ok")
    with pytest.raises(AssertionError, match="volume mismatch"):
        widget.onTest()
    assert delays == [0]  # Developer/SelfTestDisplayMessageDelay, as the settings panel registers it


def test_self_test_delay_display_is_slicer_util_delay_display(monkeypatch):
    from slicer.ScriptedLoadableModule import ScriptedLoadableModuleTest

    shown = []
    monkeypatch.setattr(slicer.util, "delayDisplay", lambda message, msec: shown.append((message, msec)))

    class ProbeTest(ScriptedLoadableModuleTest):
        def test_one(self):
            self.delayDisplay("Loading")

    test = ProbeTest()
    test.messageDelay = 50
    test.runTest()
    assert shown == [("Loading", 50)]


# --------------------------------------------------------------------------------------------------
# The same connectors on the real Qt widgets of the qt adapter (PySide6) and its CTK/qMRML widgets
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def real_qt():
    import qt

    if not getattr(qt, "__pythonqt_adapter__", False) or not _uses_stand_in_wrapper():
        pytest.skip("needs the PythonQt-compatible qt adapter and the parameterNodeWrapper stand-in")
    return qt


def _bound(qt, widget, name):
    widget.setProperty("SlicerParameterName", name)
    return widget


def test_real_qt_widgets_sync_both_ways_and_disconnect(real_qt):
    import ctk

    qt = real_qt
    panel = qt.QWidget()
    layout = qt.QVBoxLayout(panel)
    check = _bound(qt, qt.QCheckBox(), "enabled")
    edit = _bound(qt, qt.QLineEdit(), "caseId")
    spin = _bound(qt, qt.QSpinBox(), "cycles")
    combo = _bound(qt, qt.QComboBox(), "sex")
    path = _bound(qt, ctk.ctkPathLineEdit(), "bundlePath")
    for widget in (check, edit, spin, combo, path):
        layout.addWidget(widget)

    parameters = _parameters()
    tag = parameters.connectGui(panel)
    assert (check.checked, edit.text, spin.value, combo.currentIndex) == (True, "case-1", 2, 0)
    assert (spin.minimum, spin.maximum) == (0, 12)
    assert [combo.itemText(index) for index in range(combo.count)] == ["F", "M"]

    # node -> widgets
    parameters.enabled, parameters.caseId, parameters.cycles, parameters.sex = False, "P-7", 5, "M"
    parameters.bundlePath = pathlib.Path("/models/a.prime")
    assert (check.checked, edit.text, spin.value, combo.currentIndex) == (False, "P-7", 5, 1)
    assert pathlib.Path(path.currentPath) == pathlib.Path("/models/a.prime")

    # widgets -> node, through the widgets' own signals
    check.checked = True
    edit.text = "P-8"
    spin.value = 9
    combo.currentIndex = 0
    path.currentPath = "/models/b.prime"
    assert (parameters.enabled, parameters.caseId, parameters.cycles, parameters.sex) == (True, "P-8", 9, "F")
    assert parameters.bundlePath == pathlib.Path("/models/b.prime")

    # disconnected: later edits no longer write the node, nor the node the widgets
    parameters.disconnectGui(tag)
    check.checked = False
    edit.text = "P-9"
    spin.value = 1
    path.currentPath = "/models/c.prime"
    assert (parameters.enabled, parameters.caseId, parameters.cycles) == (True, "P-8", 9)
    assert parameters.bundlePath == pathlib.Path("/models/b.prime")
    parameters.caseId = "P-10"
    assert edit.text == "P-9"


def test_real_node_selector_syncs_the_node_and_gets_its_node_types(real_qt, mrml_scene):
    panel = real_qt.QWidget()
    selector = _bound(real_qt, slicer.qMRMLNodeComboBox(), "arterialVolume")
    real_qt.QVBoxLayout(panel).addWidget(selector)
    selector.setMRMLScene(mrml_scene)
    try:
        parameters = _parameters()
        # Slicer's connector assigns a tuple to the QStringList property, which PythonQt accepts.
        tag = parameters.connectGui(panel)
        assert list(selector.nodeTypes) == ["vtkMRMLScalarVolumeNode"]
        volume = mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "arterial")
        parameters.arterialVolume = volume
        assert selector.currentNode() is volume
        selector.setCurrentNode(None)
        assert parameters.arterialVolume is None
        parameters.disconnectGui(tag)
        selector.setCurrentNode(volume)
        assert parameters.arterialVolume is None
    finally:
        selector.setMRMLScene(None)


def test_real_ctk_path_line_edit_bound_to_a_str_field_raises(real_qt):
    import ctk

    panel = real_qt.QWidget()
    real_qt.QVBoxLayout(panel).addWidget(_bound(real_qt, ctk.ctkPathLineEdit(), "modelPath"))
    with pytest.raises(RuntimeError, match="Unable to create GUI connector from datatype '<class 'str'>'"):
        _parameters().connectGui(panel)


def test_real_qt_unanswered_message_box_fails_and_a_scripted_one_returns_the_button(real_qt, dialogs):
    with pytest.raises(slicer_dialogs.UnexpectedDialog, match="Scoring failed"):
        slicer.util.errorDisplay("Scoring failed.\n\nno model bundle")
    dialogs.unexpected.clear()
    dialogs.expect("Install the packages", "Ok")
    assert slicer.util.confirmOkCancelDisplay("Install the packages PRIME needs?") is True
    assert dialogs.shown[0].buttons == ("Ok", "Cancel")
