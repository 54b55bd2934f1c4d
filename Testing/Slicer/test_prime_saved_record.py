"""A scene whose saved clinical record is not a JSON object (a hand-edited .mrml, an older version):
the panel shows an empty form and says why, under real Qt, never a traceback in a slot; scoring
refuses the unreadable record by name instead of scoring the case as if it had no clinical values."""

from __future__ import annotations

import pytest

from PRIMELib.demo import DEMO_CLINICAL_RECORD
from PRIMELib.errors import PRIMEInputError

BAD_RECORDS = ['{"age": 58,', "[1, 2, 3]", "null", "58", '"text"', "{" * 5000, "NaN-ish {"]


@pytest.fixture
def widget(prime_module, mrml_scene):
    """PRIMEWidget set up and entered as Slicer's module manager does it (as the session test does)."""
    import qt
    import slicer
    import slicer_dialogs
    import slicer_widgets

    slicer.app.layoutManager()
    host = slicer_widgets.qSlicerScriptedLoadableModuleWidget()
    host.setMRMLScene(slicer.mrmlScene)
    panel = prime_module.PRIMEWidget(host)
    host.setPythonSource(panel)
    with slicer_dialogs.useScript(slicer_dialogs.DialogScript()):
        panel.setup()
        host.enter()
    yield panel
    host.exit()
    panel.cleanup()
    for child in host.findChildren(qt.QWidget):
        if isinstance(child, (slicer_widgets.qMRMLWidget, slicer_widgets.qMRMLNodeComboBox)):
            child.setMRMLScene(None)
    host.setMRMLScene(None)
    host.deleteLater()
    qt.QApplication.sendPostedEvents(None, qt.QEvent.DeferredDelete)


@pytest.fixture(autouse=True)
def no_slot_errors():
    """An exception in a slot (PythonQt prints it and goes on) fails the test that caused it."""
    import pythonqt_adapter

    first = len(pythonqt_adapter.SLOT_ERRORS)
    yield
    errors = pythonqt_adapter.SLOT_ERRORS[first:]
    assert not errors, "\n".join(f"{signature}:\n{text}" for signature, _e, text in errors)


@pytest.mark.parametrize("saved", BAD_RECORDS)
def test_an_unreadable_saved_record_shows_an_empty_form_and_a_named_warning(widget, saved):
    import json

    parameters = widget._parameterNode
    parameters.clinicalRecordJson = json.dumps(dict(DEMO_CLINICAL_RECORD))  # a good record first
    widget._updateGuiState()
    assert widget._clinicalForm.texts()["age"] == str(DEMO_CLINICAL_RECORD["age"])

    parameters.clinicalRecordJson = saved  # the scene's parameter as a hand-edited file restores it
    widget._updateGuiState()
    assert all(text in ("", None) for text in widget._clinicalForm.texts().values())
    label = widget.ui.clinicalErrorsLabel.text
    assert label.startswith("The clinical record saved in this scene cannot be read: ")
    assert len(label) < 600  # a 5000-deep nesting is not quoted whole

    # A good record again: the form shows it and the warning goes.
    parameters.clinicalRecordJson = json.dumps(dict(DEMO_CLINICAL_RECORD))
    widget._updateGuiState()
    assert widget._clinicalForm.texts()["age"] == str(DEMO_CLINICAL_RECORD["age"])
    assert widget.ui.clinicalErrorsLabel.text == ""


def test_scoring_refuses_an_unreadable_saved_record_by_name(prime_module, demo_nodes, tmp_path):
    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    parameters.arterialVolume = demo_nodes.arterial
    parameters.venousVolume = demo_nodes.venous
    parameters.segmentation = demo_nodes.segmentation
    parameters.segmentID = demo_nodes.segment_id
    parameters.clinicalRecordJson = '{"age": 58,'
    with pytest.raises(PRIMEInputError, match="clinical record saved in this scene cannot be read") as error:
        logic.writeCaseFiles(parameters, tmp_path / "case")
    assert error.value.field == "clinical record"
    assert not (tmp_path / "case").exists()  # refused before any file is written
