"""The ``qt`` adapter rejects what PythonQt rejects, and the CTK/qMRML stand-ins behave as Slicer's.

PythonQt's rules (commontk/PythonQt, ``src/PythonQtInstanceWrapper.cpp``, ``PythonQtStdDecorators.cpp``)
and the widgets' (Slicer 5.10 ``qMRMLNodeComboBox``, ``qMRMLSegmentSelectorWidget``,
``qMRMLSegmentEditorWidget``; CTK ``ctkCollapsibleButton``, ``ctkPathLineEdit``), each checked on the
real PySide6 objects the harness's ``qt`` gives.
"""

from __future__ import annotations

import pytest
import pythonqt_adapter
import slicer_dialogs


@pytest.fixture
def qt(slicer_core):
    import qt

    return qt


# --------------------------------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------------------------------


def test_qt_names_are_pyside6_classes_so_widget_types_compare_as_in_slicer(qt):
    from PySide6 import QtCore, QtUiTools, QtWidgets

    assert qt.QLineEdit is QtWidgets.QLineEdit and qt.QTimer is QtCore.QTimer
    assert qt.QUiLoader is not QtUiTools.QUiLoader and issubclass(qt.QUiLoader, QtUiTools.QUiLoader)
    assert qt.QApplication.instance() is pythonqt_adapter.application()
    with pytest.raises(AttributeError):
        qt.QNoSuchWidget  # noqa: B018


def test_qt_properties_are_attributes_and_getters_are_not_callable(qt):
    button = qt.QPushButton("Score")
    assert button.text == "Score" and button.enabled is True
    button.enabled = False
    button.toolTip = "why"
    assert (button.isEnabled(), button.toolTip) == (False, "why")
    with pytest.raises(TypeError):
        button.text()  # PythonQt: the property shadows the getter
    label = qt.QLabel()
    label.name = "resultsLabel"  # PythonQt maps name to objectName
    assert label.objectName == "resultsLabel"
    combo = qt.QComboBox()
    combo.addItems(["a", "b", "c"])
    combo.currentIndex = 2
    assert (combo.currentIndex, combo.currentText, combo.count) == (2, "c", 3)
    edit = qt.QPlainTextEdit()
    edit.plainText = "card"
    assert edit.plainText == "card"
    timer = qt.QTimer()
    assert callable(timer.singleShot)  # not the property: PythonQt hides it


def test_attribute_assignment_is_as_strict_as_pythonqt(qt):
    button = qt.QPushButton()
    with pytest.raises(AttributeError, match="creating new attributes on C\\+\\+ objects is not allowed"):
        button.enabeld = False  # a misspelt property never passes silently
    with pytest.raises(AttributeError, match="not writable"):
        button.width = 3
    with pytest.raises(AttributeError, match="does not accept"):
        qt.QProgressBar().value = "half"
    with pytest.raises(AttributeError, match="can not be overwritten"):
        button.setText = None
    with pytest.raises(AttributeError, match="can not be overwritten"):
        button.clicked = None
    button.setProperty("defaultToolTip", "x")
    button.defaultToolTip = "y"  # a dynamic property is written
    assert button.property("defaultToolTip") == "y"

    class Panel(qt.QWidget):  # a Python subclass may add attributes, as in PythonQt
        pass

    panel = Panel()
    panel.logic = 1
    assert panel.logic == 1


def test_a_child_is_found_by_its_object_name_as_in_pythonqt(qt):
    parent = qt.QWidget()
    child = qt.QLabel(parent)
    child.objectName = "statusLabel"
    assert parent.statusLabel is child
    with pytest.raises(AttributeError):
        parent.missingLabel  # noqa: B018


def test_enums_as_slicer_code_writes_them(qt):
    assert qt.QMessageBox.Ok | qt.QMessageBox.Cancel
    assert int(qt.Qt.ToolTipRole) == 3
    assert qt.QProcess().state() == qt.QProcess.NotRunning
    data = qt.QByteArray(b"progress")
    assert data.data() == b"progress"


# --------------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------------


def test_connect_with_a_signature_strips_arguments_the_slot_does_not_take(qt):
    button = qt.QPushButton()
    calls = []
    assert button.connect("clicked(bool)", lambda: calls.append("no argument"))
    assert button.connect("clicked(bool)", lambda checked: calls.append(checked))
    button.clicked.connect(lambda: calls.append("pyside"))
    button.click()
    assert calls == ["no argument", False, "pyside"]


def test_connect_to_a_signal_the_object_lacks_raises(qt):
    with pytest.raises(
        pythonqt_adapter.UnknownSignalError, match="clicked\\(int\\)' does not exist on QPushButton"
    ):
        qt.QPushButton().connect("clicked(int)", print)
    with pytest.raises(pythonqt_adapter.UnknownSignalError):
        qt.QComboBox().connect("currentIndexChanged(QString)", print)  # gone in Qt 6


def test_disconnect_removes_the_slot(qt):
    button = qt.QPushButton()
    calls = []

    def slot():
        calls.append(1)

    button.connect("clicked()", slot)
    assert button.disconnect("clicked()", slot)
    button.click()
    assert calls == []


def test_an_exception_in_a_slot_is_printed_and_recorded_not_raised(qt, capsys):
    button = qt.QPushButton()
    button.connect("clicked()", lambda: 1 / 0)
    before = len(pythonqt_adapter.SLOT_ERRORS)
    button.click()  # the application goes on, as in PythonQt
    errors = pythonqt_adapter.SLOT_ERRORS[before:]
    del pythonqt_adapter.SLOT_ERRORS[before:]
    assert [type(error) for _signature, error, _text in errors] == [ZeroDivisionError]
    assert "ZeroDivisionError" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# Dialogs: answered by the test's script or failing
# --------------------------------------------------------------------------------------------------


def test_static_dialogs_return_what_pythonqt_returns_and_never_answer_themselves(qt, dialogs):
    dialogs.expect("Save patient report", "/tmp/report.html", kind="file")
    path = qt.QFileDialog.getSaveFileName(None, "Save patient report", "r.html", "HTML (*.html)")
    assert path == "/tmp/report.html"  # a string, not PySide6's (path, filter) tuple
    with pytest.raises(slicer_dialogs.UnexpectedDialog):
        qt.QFileDialog.getOpenFileName(None, "Load clinical record", "", "*.json")
    dialogs.unexpected.clear()
    box = qt.QMessageBox()
    box.text = "Install PRIME's packages?"
    box.setStandardButtons(qt.QMessageBox.Ok | qt.QMessageBox.Cancel)
    dialogs.expect("Install", "Cancel", kind="message")
    assert box.exec_() == qt.QMessageBox.Cancel


# --------------------------------------------------------------------------------------------------
# CTK and qMRML widgets
# --------------------------------------------------------------------------------------------------


def test_node_combobox_follows_the_scene(slicer_core, mrml_scene):
    import slicer

    combo = slicer.qMRMLNodeComboBox()
    combo.nodeTypes = ("vtkMRMLScalarVolumeNode",)  # PythonQt converts a tuple to a QStringList
    combo.noneEnabled = False
    combo.setMRMLScene(mrml_scene)
    seen = []
    combo.connect("currentNodeChanged(vtkMRMLNode*)", seen.append)
    first = mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "a")
    assert combo.currentNode() is first and seen == [first]  # without None, the first node is taken
    mrml_scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")  # a subclass: listed
    mrml_scene.AddNewNodeByClass("vtkMRMLTableNode", "table")  # another type: not listed
    assert combo.nodeCount() == 2
    combo.showChildNodeTypes = False
    assert combo.nodeCount() == 1
    table = mrml_scene.GetFirstNodeByClass("vtkMRMLTableNode")
    combo.setCurrentNode(table)  # not listed: nothing is selected (index -1), as in Slicer
    assert combo.currentNode() is None and seen[-1] is None
    combo.setCurrentNode(first)
    mrml_scene.RemoveNode(first)
    labels = mrml_scene.GetFirstNodeByClass("vtkMRMLLabelMapVolumeNode")
    assert combo.nodeCount() == 0 and labels is not None
    assert combo.currentNode() is None and seen[-1] is None
    with pytest.raises(pythonqt_adapter.UnknownSignalError):
        combo.connect("currentNodeChanged(vtkMRMLScene*)", print)


def test_segment_selector_offers_none_first_as_in_slicer(slicer_core, mrml_scene):
    import slicer

    selector = slicer.qMRMLSegmentSelectorWidget()
    selector.noneEnabled = True
    selector.setMRMLScene(mrml_scene)
    segmentation = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "s")
    segmentID = segmentation.GetSegmentation().AddEmptySegment("Tumour")
    changes = []
    selector.connect("currentSegmentChanged(QString)", changes.append)
    selector.setCurrentNode(segmentation)
    assert selector.currentSegmentID() == "" and selector.segmentIDs() == [segmentID]
    selector.setCurrentSegmentID("no such segment")  # ignored
    assert selector.currentSegmentID() == ""
    selector.setCurrentSegmentID(segmentID)
    assert selector.currentSegmentID() == segmentID and changes == [segmentID]


def test_segment_editor_holds_its_state_in_the_real_logic(slicer_core, mrml_scene, qt):
    import slicer

    editor = slicer.qMRMLSegmentEditorWidget()
    editor.setMRMLScene(mrml_scene)
    with pytest.raises(RuntimeError):
        editor.setSegmentationNode(None)  # Slicer needs the segment editor node first
    editorNode = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentEditorNode")
    editor.setMRMLSegmentEditorNode(editorNode)
    segmentation = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    volume = mrml_scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
    editor.setSegmentationNode(segmentation)
    editor.setSourceVolumeNode(volume)
    assert editorNode.GetSegmentationNode() is segmentation and editor.sourceVolumeNode() is volume
    editor.setMaximumNumberOfUndoStates(10)
    assert editor.maximumNumberOfUndoStates == 10
    editor.setEffectNameOrder(["Paint", "Erase"])
    editor.unorderedEffectsVisible = False
    assert [button.text for button in editor.findChildren(qt.QToolButton)] == ["Paint", "Erase"]
    editor.setActiveEffect(None)
    with pytest.raises(NotImplementedError):
        editor.setActiveEffect(object())  # no effect objects: the stand-in does not paint


def test_ctk_widgets(slicer_core, qt):
    import ctk

    box = ctk.ctkCollapsibleButton()
    box.text = "Labs"
    inner = qt.QFormLayout(box)
    field = qt.QLineEdit()
    inner.addRow("ALT", field)
    box.collapsed = True
    assert box.checked is False and field.isHidden()
    late = qt.QLabel(box)  # added while collapsed: hidden too (CTK's childEvent)
    assert late.isHidden()
    box.collapsed = False
    assert not field.isHidden()
    path = ctk.ctkPathLineEdit()
    paths = []
    path.currentPathChanged.connect(paths.append)
    path.currentPath = "/tmp/model.prime"
    path.nameFilters = ["PRIME model bundle (*.prime)"]
    assert (path.currentPath, paths, path.nameFilters) == (
        "/tmp/model.prime",
        ["/tmp/model.prime"],
        ["PRIME model bundle (*.prime)"],
    )
    with pytest.raises(NotImplementedError):
        ctk.ctkSliderWidget()  # named by Slicer's connectors, not written: not silently usable
    with pytest.raises(AttributeError):
        ctk.ctkNoSuchWidget  # noqa: B018


def test_ui_loader_rejects_a_property_the_class_does_not_have(slicer_core, qt, tmp_path):
    import slicer

    ui = tmp_path / "bad.ui"
    ui.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><ui version="4.0"><class>W</class>'
        '<widget class="qMRMLWidget" name="W"><layout class="QVBoxLayout" name="l"><item>'
        '<widget class="qMRMLNodeComboBox" name="selector"><property name="nodeType">'
        "<stringlist><string>vtkMRMLScalarVolumeNode</string></stringlist></property></widget>"
        "</item></layout></widget><customwidgets><customwidget><class>qMRMLNodeComboBox</class>"
        "<extends>QWidget</extends><header>qMRMLNodeComboBox.h</header></customwidget>"
        "<customwidget><class>qMRMLWidget</class><extends>QWidget</extends><header>qMRMLWidget.h</header>"
        "<container>1</container></customwidget></customwidgets></ui>",
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError, match="has no property 'nodeType'"):
        slicer.util.loadUI(str(ui))
