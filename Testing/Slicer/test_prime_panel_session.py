"""A radiologist's session with the assembled PRIME panel, headless, under real Qt.

The panel is built as Slicer's module manager builds it: ``PRIMEWidget`` gets a module-widget host
(a ``qMRMLWidget`` with a layout and the scene), then ``setup()`` and ``enter()`` run the module's own
code: ``slicer.util.loadUI`` (slicer-core's real one), the CTK/qMRML widgets on the real scene, the
parameter node bound to the GUI, PythonQt-style properties and signal connections (``pythonqt_adapter``).
Every step acts on the widgets as a user does (selectors, buttons, form fields) and asserts on what
the panel shows. Scoring is a real ``QProcess`` running ``PythonSlicer -m PRIMELib score``, where
``PythonSlicer`` is a launcher that runs the real Python as its child and waits, as Slicer's does.

The steps share one scene and one panel and run in order; a step whose prerequisite failed fails
saying so. With ``PRIME_WRITE_SCREENSHOTS=1`` the run writes ``Resources/Screenshots/panel_result.png``
(the panel with a result) and ``tumour_roi.png`` (the Tumour ROI section).
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
import types
from pathlib import Path

import pytest
import slicer_harness as harness

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "Resources" / "Screenshots"
WRITE_SCREENSHOTS = os.environ.get("PRIME_WRITE_SCREENSHOTS") == "1"
SCORING_TIMEOUT_S = 300.0

#: Steps that completed, so a later step says which prerequisite is missing instead of failing oddly.
DONE: set[str] = set()


def requires(*steps: str) -> None:
    missing = [step for step in steps if step not in DONE]
    if missing:
        pytest.fail(f"an earlier step did not complete: {', '.join(missing)}", pytrace=False)


# --------------------------------------------------------------------------------------------------
# The session: one scene for the whole module (replaces conftest's per-test mrml_session)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mrml_session(slicer_core, tmp_path_factory):
    """One MRML session for every step (the conftest fixture of the same name is per test)."""
    session = harness.open_session(tmp_path_factory.mktemp("radiologist"))
    yield session
    errors = session.vtk_errors()
    session.close()
    if errors:
        pytest.fail("VTK/MRML logged errors during the session:\n\n" + "\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="module")
def python_slicer_launcher(tmp_path_factory):
    """A ``PythonSlicer`` first on PATH: like Slicer's launcher, it runs the real Python as a child
    process and waits for it (so killing the launcher alone leaves the child running)."""
    folder = tmp_path_factory.mktemp("launcher")
    launcher = folder / "PythonSlicer"
    launcher.write_text(
        f"#!{sys.executable}\n"
        "import subprocess, sys\n"
        f"sys.exit(subprocess.call([{sys.executable!r}, *sys.argv[1:]]))\n",
        encoding="utf-8",
    )
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    previous = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{folder}{os.pathsep}{previous}"
    yield launcher
    os.environ["PATH"] = previous


@pytest.fixture(scope="module")
def prime(prime_module, mrml_session, python_slicer_launcher):
    """PRIMEWidget set up and entered as Slicer's module manager does it."""
    import qt
    import slicer
    import slicer_dialogs
    import slicer_widgets

    slicer.app.layoutManager()  # the application's layout (layout node, view nodes) exists at startup
    host = slicer_widgets.qSlicerScriptedLoadableModuleWidget()
    host.setMRMLScene(slicer.mrmlScene)
    widget = prime_module.PRIMEWidget(host)
    host.setPythonSource(widget)
    # Set-up opens no dialog (nothing is installed before the user asks).
    with slicer_dialogs.useScript(slicer_dialogs.DialogScript()):
        widget.setup()
        host.enter()
    host.resize(430, 1400)
    state = types.SimpleNamespace(host=host, widget=widget, ui=widget.ui, qt=qt, nodes={}, paths={})
    yield state
    host.exit()
    widget.cleanup()
    # The application is closing: the panel's widgets let go of the scene before it is cleared.
    for child in host.findChildren(qt.QWidget):
        if isinstance(child, (slicer_widgets.qMRMLWidget, slicer_widgets.qMRMLNodeComboBox)):
            child.setMRMLScene(None)
    host.setMRMLScene(None)
    host.deleteLater()
    qt.QApplication.sendPostedEvents(None, qt.QEvent.DeferredDelete)


@pytest.fixture(autouse=True)
def no_slot_errors():
    """An exception in a slot (PythonQt prints it and goes on) fails the step that caused it."""
    import pythonqt_adapter

    first = len(pythonqt_adapter.SLOT_ERRORS)
    yield
    errors = pythonqt_adapter.SLOT_ERRORS[first:]
    if errors:
        pytest.fail(
            "Exceptions in slots:\n" + "\n".join(f"{signature}:\n{text}" for signature, _e, text in errors),
            pytrace=False,
        )


def process_events_until(predicate, timeout_s: float, what: str) -> None:
    """Run the event loop (QProcess output, timers) until ``predicate()``; fail after ``timeout_s``."""
    import qt

    deadline = time.monotonic() + timeout_s
    loop = qt.QEventLoop()
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}", pytrace=False)
        qt.QTimer.singleShot(50, loop.quit)
        loop.exec()


def grab(widget, name: str) -> None:
    if WRITE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(SCREENSHOTS / name)), name


# --------------------------------------------------------------------------------------------------
# Process tree (read from /proc, as the module's cancel must see it)
# --------------------------------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, str]]:
    """{pid: (parent pid, state)} of the processes alive now (zombies count as gone)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> list[int]:
    table = _process_table()
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        for child, (ppid, _state) in table.items():
            if ppid == parent and child not in found:
                found.append(child)
                queue.append(child)
    return found


def alive(pids) -> list[int]:
    table = _process_table()
    return [pid for pid in pids if pid in table and table[pid][1] != "Z"]


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------------
# The session, step by step
# --------------------------------------------------------------------------------------------------

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="the process-tree checks read /proc")


def test_0_the_panel_starts_empty(prime):
    ui = prime.ui
    assert ui.scoreButton.enabled is False
    assert ui.scoreButton.text == "Score"
    assert ui.scoreButton.toolTip.startswith("Choose: ")
    assert ui.resultsLabel.text == "No result yet: choose the inputs and press Score."
    for name in (
        "createRoiButton",
        "undoRoiButton",
        "carryRoiButton",
        "saveReportButton",
        "showSurvivalCurveButton",
        "showFeatureTableButton",
    ):
        assert getattr(ui, name).enabled is False, name
    assert [ui.roiEngineComboBox.itemText(i) for i in range(ui.roiEngineComboBox.count)][:1] == [
        "Classical (CPU)"
    ]
    editor = ui.segmentEditorWidget
    assert [b.text for b in editor.findChildren(prime.qt.QToolButton)] == [
        "Paint",
        "Erase",
        "Smoothing",
        "Islands",
    ]
    assert editor.mrmlSegmentEditorNode() is not None
    # The clinical form is built from the schema: a collapsible box per group, editors inside.
    boxes = ui.clinicalFormWidget.findChildren(prime.qt.QAbstractButton)
    assert any(box.text == "Demographics" or "emograph" in box.text for box in boxes)
    DONE.add("panel")


def test_1_load_the_demo_case(prime, prime_module):
    """Load the demo case as volume and segmentation nodes; pick them in Inputs."""
    requires("panel")
    import slicer

    from PRIMELib.demo import make_demo_images

    ui = prime.ui
    arterial, venous, mask = make_demo_images()
    to_node = prime_module.PRIMETest._volumeNodeFromSitk
    arterialNode = to_node(arterial, "arterial")
    venousNode = to_node(venous, "venous")
    labelmap = to_node(mask, "tumour", "vtkMRMLLabelMapVolumeNode")
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "tumour")
    slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap, segmentation)
    slicer.mrmlScene.RemoveNode(labelmap)
    prime.nodes.update(arterial=arterialNode, venous=venousNode, segmentation=segmentation)

    # The selectors list the scene's volumes (and only them).
    assert ui.arterialVolumeSelector.nodeCount() == 2
    assert ui.featureTableSelector.nodeCount() == 0
    ui.arterialVolumeSelector.setCurrentNode(arterialNode)
    ui.venousVolumeSelector.setCurrentNode(venousNode)
    ui.segmentSelector.setCurrentNode(segmentation)
    # The segment list offers "None" first (noneEnabled, as in the .ui) and the tumour segment.
    segmentID = segmentation.GetSegmentation().GetNthSegmentID(0)
    assert ui.segmentSelector.segmentIDs() == [segmentID]
    assert ui.scoreButton.enabled is False  # no segment picked yet
    ui.segmentSelector.setCurrentSegmentID(segmentID)  # the radiologist picks the segment

    parameters = prime.widget._parameterNode
    assert parameters.arterialVolume is arterialNode and parameters.venousVolume is venousNode
    assert parameters.segmentation is segmentation
    assert parameters.segmentID == segmentation.GetSegmentation().GetNthSegmentID(0)
    assert ui.segmentSelector.currentSegmentID() == parameters.segmentID
    # The Segment Editor follows: the segmentation on the arterial phase.
    assert ui.segmentEditorWidget.segmentationNode() is segmentation
    assert ui.segmentEditorWidget.sourceVolumeNode() is arterialNode
    # Everything Score needs is chosen.
    assert ui.scoreButton.enabled is True
    assert ui.scoreButton.toolTip == "Score response (PRIME-R) and survival (PRIME-S)."
    DONE.add("loaded")


def test_2_place_a_box_and_create_the_initial_roi(prime):
    requires("loaded")
    import slicer

    ui = prime.ui
    segmentation = prime.nodes["segmentation"]
    bounds = [0.0] * 6
    segmentation.GetRASBounds(bounds)
    roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "tumour box")
    roi.SetCenter([(bounds[2 * i] + bounds[2 * i + 1]) / 2 for i in range(3)])
    roi.SetSize([(bounds[2 * i + 1] - bounds[2 * i]) * 1.3 + 4.0 for i in range(3)])
    assert ui.roiPromptSelector.nodeCount() == 1
    ui.roiPromptSelector.setCurrentNode(roi)
    assert prime.widget._parameterNode.roiNode is roi
    assert ui.createRoiButton.enabled is True, ui.createRoiButton.toolTip

    ui.createRoiButton.click()

    parameters = prime.widget._parameterNode
    content = parameters.segmentation.GetSegmentation()
    segment = content.GetSegment(parameters.segmentID)
    assert segment is not None and segment.GetName() == "Tumour"
    assert (
        slicer.util.arrayFromSegmentBinaryLabelmap(
            parameters.segmentation, parameters.segmentID, parameters.arterialVolume
        ).sum()
        > 0
    )
    assert "Tumour" in ui.roiStatusLabel.text, ui.roiStatusLabel.text
    assert ui.undoRoiButton.enabled is True
    assert ui.segmentSelector.currentSegmentID() == parameters.segmentID
    # The editor lists the new segment and selects it for refining.
    assert ui.segmentEditorWidget.currentSegmentID() == parameters.segmentID
    assert ui.scoreButton.enabled is True
    prime.qt.QApplication.processEvents()
    grab(ui.tumourRoiCollapsibleButton, "tumour_roi.png")
    DONE.add("roi")


def test_3_fill_the_clinical_form_with_one_invalid_value(prime):
    requires("panel")
    import qt
    from PRIMEPanel import clinical_form

    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    ui = prime.ui
    form = prime.widget._clinicalForm
    texts = clinical_form.clinicalTextsFromRecord(dict(DEMO_CLINICAL_RECORD))
    for name, editor in form.editors.items():
        text = str(texts.get(name, ""))
        if isinstance(editor, qt.QComboBox):
            index = editor.findData(text)
            if index >= 0 and index != editor.currentIndex:
                editor.currentIndex = index  # emits currentIndexChanged(int), as a user's choice does
        elif text:
            editor.setFocus()
            editor.text = text
            editor.editingFinished.emit()  # what leaving the field emits

    # An impossible age: marked in red, with the reason as its tooltip, and listed under the form.
    age = form.editors["age"]
    age.text = "250"
    age.editingFinished.emit()
    assert "border" in age.styleSheet and "#c0392b" in age.styleSheet
    assert age.toolTip and age.toolTip != age.property("defaultToolTip")
    assert age.toolTip in ui.clinicalErrorsLabel.text
    assert json.loads(prime.widget._parameterNode.clinicalRecordJson).get("age") is None

    # Corrected: the mark and the message go, the record holds the value.
    age.text = str(DEMO_CLINICAL_RECORD["age"])
    age.editingFinished.emit()
    assert age.styleSheet == ""
    assert age.toolTip == age.property("defaultToolTip")
    assert ui.clinicalErrorsLabel.text == ""
    record = json.loads(prime.widget._parameterNode.clinicalRecordJson)
    assert record["age"] == DEMO_CLINICAL_RECORD["age"]
    assert record["afp"] == pytest.approx(DEMO_CLINICAL_RECORD["afp"])
    assert "ALBI" in ui.derivedIndicesLabel.text, ui.derivedIndicesLabel.text
    DONE.add("clinical")


def test_4_score_in_a_real_qprocess_and_see_the_results(prime, python_slicer_launcher):
    requires("loaded", "roi", "clinical")
    ui = prime.ui
    assert ui.scoreButton.enabled is True
    ui.scoreButton.click()
    scoring = prime.widget._scoring
    assert scoring is not None, "no scoring process started"
    assert ui.scoreButton.text == "Cancel"
    process = scoring._process
    assert process is not None
    assert Path(process.program()).resolve() == python_slicer_launcher.resolve()
    process_events_until(lambda: prime.widget._scoring is None, SCORING_TIMEOUT_S, "scoring to finish")

    parameters = prime.widget._parameterNode
    assert parameters.resultJson, "no result was stored"
    result = json.loads(parameters.resultJson)
    text = ui.resultsLabel.text
    assert text.startswith("PRIME-R: ") and "PRIME-S: risk" in text and result["quadrant"] in text
    assert ui.scoreButton.text == "Score" and ui.scoreButton.enabled is True
    assert ui.progressBar.value == 100
    assert ui.showSurvivalCurveButton.enabled is True
    assert ui.showFeatureTableButton.enabled is True
    assert ui.saveReportButton.enabled is True
    assert ui.featureTableSelector.currentNode() is parameters.featureTable
    assert parameters.featureTable.GetTable().GetNumberOfRows() > 0
    # The model card is the demonstration model's.
    assert "PRIME demonstration model" in ui.modelCardTextEdit.plainText
    prime.paths["result"] = result
    # The scoring worker stays running for the next click, the model loaded in it.
    worker = prime.widget._scoringWorker
    assert worker.processId() > 0 and worker.lastReply["model_loads"] == 1
    prime.paths["worker pid"] = worker.processId()
    DONE.add("scored")


def test_5_show_the_survival_curve_and_the_feature_table(prime):
    requires("scored")
    import slicer

    ui = prime.ui
    parameters = prime.widget._parameterNode
    ui.showSurvivalCurveButton.click()
    chart = parameters.survivalChart
    assert chart is not None and chart.GetNumberOfPlotSeriesNodes() == 1
    series = chart.GetNthPlotSeriesNode(0)
    assert series.GetTableNode() is parameters.survivalTable
    selection = slicer.app.applicationLogic().GetSelectionNode()
    assert selection.GetActivePlotChartID() == chart.GetID()
    layout = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLLayoutNode")
    assert (
        slicer.vtkSlicerPlotsLogic.GetLayoutWithPlot(layout.GetViewArrangement())
        == layout.GetViewArrangement()
    )
    plotView = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLPlotViewNode")
    assert plotView is not None and plotView.GetPlotChartNodeID() == chart.GetID()

    ui.showFeatureTableButton.click()
    assert selection.GetActiveTableID() == parameters.featureTable.GetID()
    assert layout.GetViewArrangement() == slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpTableView
    prime.qt.QApplication.processEvents()
    if WRITE_SCREENSHOTS:  # the whole panel at its natural height (Slicer's module panel scrolls)
        prime.host.resize(430, max(prime.host.sizeHint.height(), prime.host.minimumSizeHint.height()))
        prime.qt.QApplication.processEvents()
    grab(prime.host, "panel_result.png")
    DONE.add("shown")


def test_6_save_the_report(prime, dialogs, tmp_path_factory):
    requires("scored")
    import slicer

    ui = prime.ui
    folder = tmp_path_factory.mktemp("report")
    target = folder / "PRIME_report_demo.html"
    dialogs.expect("Save patient report", str(target), kind="file")
    ui.saveReportButton.click()
    assert not dialogs.pending
    assert target.is_file() and target.stat().st_size > 0
    assert "PRIME" in target.read_text(encoding="utf-8")
    assert target.with_suffix(".pdf").is_file()
    status = slicer.util.mainWindow().statusBar()
    assert "Patient report saved" in status.messages[-1][0]
    prime.paths["report"] = target
    DONE.add("report")


def test_7_score_again_and_cancel_midway(prime, python_slicer_launcher):
    requires("scored")
    ui = prime.ui
    ui.scoreButton.click()
    scoring = prime.widget._scoring
    assert scoring is not None and ui.scoreButton.text == "Cancel"
    process = scoring._process
    launcher_pid = int(process.processId())
    assert launcher_pid == prime.paths["worker pid"]  # the warm worker of the first click
    # Wait until the launcher's child (the real Python) runs PRIMELib: mid-way.
    process_events_until(
        lambda: any("PRIMELib" in command_line(pid) for pid in descendants(launcher_pid)),
        60.0,
        "the scoring child process",
    )
    tree = [launcher_pid, *descendants(launcher_pid)]
    assert len(tree) >= 2
    folder = scoring.folder

    ui.scoreButton.click()  # Cancel

    deadline = time.monotonic() + 10.0
    while alive(tree) and time.monotonic() < deadline:
        prime.qt.QApplication.processEvents()
        time.sleep(0.05)
    survivors = alive(tree)
    assert not survivors, "still running after Cancel: " + "; ".join(
        f"{pid} {command_line(pid)}" for pid in survivors
    )
    assert prime.widget._scoring is None
    assert ui.scoreButton.text == "Score" and ui.scoreButton.enabled is True
    assert ui.progressBar.format == "Cancelled"
    assert not os.path.exists(folder)
    # The last result is still shown.
    assert json.loads(prime.widget._parameterNode.resultJson)["quadrant"] == prime.paths["result"]["quadrant"]
    DONE.add("cancelled")


def test_7b_a_failed_score_shows_why_and_puts_the_button_back(prime, dialogs, tmp_path_factory):
    """Scoring with a broken model bundle fails in the scoring process: the error box says why, and
    the button reads Score again (``tryWithErrorDisplay`` re-raises after showing the error, so the
    panel's state is brought up to date in a ``finally``)."""
    requires("cancelled")
    import pythonqt_adapter

    ui = prime.ui
    parameters = prime.widget._parameterNode
    broken = tmp_path_factory.mktemp("broken") / "broken.prime"
    broken.write_text("not a zip file", encoding="utf-8")
    parameters.modelPath = str(broken)
    assert ui.modelPathLineEdit.currentPath == str(broken)  # synchronised by hand
    assert "Cannot read this model bundle" in ui.modelCardTextEdit.plainText
    first_error = len(pythonqt_adapter.SLOT_ERRORS)
    dialogs.expect("Scoring failed", "Ok", kind="message")
    try:
        ui.scoreButton.click()
        assert ui.scoreButton.text == "Cancel"
        process_events_until(lambda: prime.widget._scoring is None, SCORING_TIMEOUT_S, "the failed scoring")
        assert not dialogs.pending
        assert "broken.prime" in dialogs.shown[-1].describe()
        assert ui.scoreButton.text == "Score" and ui.scoreButton.enabled is True
    finally:
        # The re-raised error reached the slot, where Slicer's Python console prints it: expected here.
        slot_errors = pythonqt_adapter.SLOT_ERRORS[first_error:]
        del pythonqt_adapter.SLOT_ERRORS[first_error:]
        parameters.modelPath = ""
    assert [type(error).__name__ for _signature, error, _text in slot_errors] == ["RuntimeError"]
    assert ui.modelPathLineEdit.currentPath == ""
    DONE.add("failed score")


def test_8_close_the_scene_and_reopen_it(prime, tmp_path_factory):
    """File > Save (an .mrb), File > Close Scene, File > Load Scene: the parameter node brings back the
    inputs, the clinical record and the last result, and the results section shows it again."""
    requires("scored")
    import slicer

    ui = prime.ui
    before = prime.widget._parameterNode
    expected = {
        "arterial": before.arterialVolume.GetName(),
        "venous": before.venousVolume.GetName(),
        "segmentation": before.segmentation.GetName(),
        "segmentID": before.segmentID,
        "resultJson": before.resultJson,
        "clinical": json.loads(before.clinicalRecordJson),
        "results": ui.resultsLabel.text,
        "afp": prime.widget._clinicalForm.editors["afp"].text,
    }
    scene_file = tmp_path_factory.mktemp("saved") / "session.mrb"
    assert slicer.util.saveScene(str(scene_file))

    slicer.mrmlScene.Clear(0)  # File > Close Scene
    assert ui.resultsLabel.text == "No result yet: choose the inputs and press Score."
    assert ui.arterialVolumeSelector.currentNode() is None
    assert ui.scoreButton.enabled is False
    assert ui.saveReportButton.enabled is False

    slicer.util.loadScene(str(scene_file))
    after = prime.widget._parameterNode
    assert after is not None
    assert after.arterialVolume is not None and after.arterialVolume.GetName() == expected["arterial"]
    assert after.venousVolume is not None and after.venousVolume.GetName() == expected["venous"]
    assert after.segmentation is not None and after.segmentation.GetName() == expected["segmentation"]
    assert after.segmentID == expected["segmentID"]
    assert after.resultJson == expected["resultJson"]
    assert json.loads(after.clinicalRecordJson) == expected["clinical"]
    # What the panel shows from the parameter node itself.
    assert ui.resultsLabel.text == expected["results"]
    assert ui.saveReportButton.enabled is True
    assert prime.widget._clinicalForm.editors["afp"].text == expected["afp"]
    prime.nodes["reopened"] = after
    DONE.add("reopened")


def test_9_the_reopened_inputs_are_selected_in_the_panel(prime):
    requires("reopened")
    ui = prime.ui
    after = prime.nodes["reopened"]
    assert ui.arterialVolumeSelector.currentNode() is after.arterialVolume
    assert ui.venousVolumeSelector.currentNode() is after.venousVolume
    assert ui.segmentSelector.currentNode() is after.segmentation
    assert ui.segmentSelector.currentSegmentID() == after.segmentID
    assert ui.featureTableSelector.currentNode() is after.featureTable
    assert ui.scoreButton.enabled is True
    assert ui.showSurvivalCurveButton.enabled is True and ui.showFeatureTableButton.enabled is True


def test_10_leaving_the_panel_unbinds_it_and_cleanup_removes_every_observer(prime):
    """exit(): the GUI no longer follows the parameter node and the ROI markup is no longer observed;
    cleanup() (module unloaded): no observer at all remains, and scoring is not running."""
    requires("reopened")
    import slicer

    ui, widget = prime.ui, prime.widget
    parameters = widget._parameterNode
    roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box after reopen")
    parameters.roiNode = roi
    placed = slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent
    assert widget.hasObserver(roi, placed, widget._updateGuiState)
    checked = ui.sameRoiCheckBox.checked
    prime.host.exit()
    parameters.sameRoiForBothPhases = not checked  # no longer bound: the box keeps its state
    assert ui.sameRoiCheckBox.checked == checked
    assert not [o for o in widget.Observations if o[0] in (roi, parameters.parameterNode)]
    parameters.sameRoiForBothPhases = checked
    prime.host.enter()
    assert widget.hasObserver(roi, placed, widget._updateGuiState)
    widget.cleanup()
    assert widget.Observations == [] and widget._scoring is None
    parameters.sameRoiForBothPhases = not checked
    assert ui.sameRoiCheckBox.checked == checked
