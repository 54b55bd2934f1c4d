"""PRIME: the 3D Slicer module. It only moves data between MRML nodes, the panel and PRIMELib.

Supported: 3D Slicer 5.10 and newer (Python 3.12). On an older Slicer the module stops loading at once
with one message saying so, before anything else runs: this file and PRIMELib use Python 3.11+.
"""

import sys

MINIMUM_SLICER_VERSION = (5, 10)
MINIMUM_PYTHON_VERSION = (3, 11)


def _unsupportedReason():
    """Why this Slicer cannot run PRIME, or None. Written for any Python 3 (no newer syntax here)."""
    import slicer

    app = getattr(slicer, "app", None)
    if app is not None and hasattr(app, "majorVersion"):
        version = (int(app.majorVersion), int(app.minorVersion))
        if version < MINIMUM_SLICER_VERSION:
            return f"this is Slicer {version[0]}.{version[1]}"
    if tuple(sys.version_info[:2]) < MINIMUM_PYTHON_VERSION:
        return f"this Slicer's Python is {sys.version_info[0]}.{sys.version_info[1]}"
    return None


_UNSUPPORTED = _unsupportedReason()
if _UNSUPPORTED:
    raise ImportError(
        f"PRIME needs 3D Slicer {MINIMUM_SLICER_VERSION[0]}.{MINIMUM_SLICER_VERSION[1]} or newer "
        f"(Python 3.12); {_UNSUPPORTED}. Install a current Slicer to use PRIME."
    )

import contextlib  # noqa: E402 (after the version check)
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
from typing import Annotated  # noqa: E402

import qt  # noqa: E402
import slicer  # noqa: E402
import vtk  # noqa: E402
from slicer import (  # noqa: E402
    vtkMRMLMarkupsNode,
    vtkMRMLPlotChartNode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLTableNode,
)
from slicer.i18n import tr as _  # noqa: E402
from slicer.i18n import translate  # noqa: E402
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper  # noqa: E402
from slicer.ScriptedLoadableModule import (  # noqa: E402
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin  # noqa: E402


def _makeLibrariesImportable() -> None:
    """PRIMEPanel sits beside this file. Installed, PRIMELib does too; in a source checkout it is one
    folder up."""
    moduleDir = os.path.dirname(os.path.abspath(__file__))
    if moduleDir not in sys.path:
        sys.path.insert(0, moduleDir)
    parentDir = os.path.dirname(moduleDir)
    if not os.path.isfile(os.path.join(moduleDir, "PRIMELib", "__init__.py")) and os.path.isfile(
        os.path.join(parentDir, "PRIMELib", "__init__.py")
    ):
        if parentDir not in sys.path:
            sys.path.insert(0, parentDir)


_makeLibrariesImportable()

# The module's parts beside this file (PRIMEPanel/): the panel's rules without Qt, the clinical form,
# scoring, MRML conversions, and the Tumour ROI and results parts of the Logic.
from PRIMEPanel import clinical_form, nodes, rules, scoring  # noqa: E402
from PRIMEPanel.results import ScoringResultsLogic  # noqa: E402
from PRIMEPanel.roi import TumourRoiLogic  # noqa: E402

#
# PRIME
#


class PRIME(ScriptedLoadableModule):
    """Module metadata. Uses ScriptedLoadableModule base class."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("PRIME")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = ["Segmentations"]
        self.parent.contributors = ["The PRIME developers"]
        self.parent.helpText = _(
            "PRIME predicts, for unresectable hepatocellular carcinoma starting interventional therapy "
            "(TACE/HAIC) plus targeted immunotherapy, the probability of objective response (mRECIST) at "
            "3 months (PRIME-R) and overall-survival risk with a survival curve (PRIME-S), from arterial and "
            "portal-venous CT radiomics and routine clinical data, and shows why the two disagree.<br><br>"
            "<b>Research use only, not for clinical decisions.</b> The bundled models were not trained on "
            "patients; read each model's card.<br><br>"
            "Method: Lu D, Sun P, et al. Multimodal Modeling Distinguishes Treatment Response from Overall "
            "Survival in Hepatocellular Carcinoma Receiving Combined Interventional and Targeted "
            "Immunotherapy (the PRIME paper)."
        )
        self.parent.acknowledgementText = _(
            "PRIME implements the method of the PRIME paper by Lu, Sun, Li et al. (Qilu Hospital of Shandong "
            "University). Radiomics are computed with PyRadiomics (van Griethuysen et al., Cancer Research "
            "2017); survival models use scikit-survival."
        )


#
# PRIMEParameterNode
#


@parameterNodeWrapper
class PRIMEParameterNode:
    """Every setting of the panel and the last result; saved with the scene.

    arterialVolume, venousVolume - the two CT phases.
    segmentation, segmentID - the tumour ROI (drawn on the arterial phase).
    roiNode, roiEngine - the box (ROI markup) or seed points (point list) and the engine for the
        initial ROI: "classical" or "medsam".
    sameRoiForBothPhases - the tumour segment, sampled on the venous grid, is also the venous ROI.
    venousSegmentID - otherwise, the separate venous ROI in the same segmentation (Carry ROI to venous).
    registerVenous - carry the ROI after a rigid registration of venous to arterial.
    clinicalRecordJson - the clinical values, as a JSON object in canonical units.
    modelPath - the model bundle (.prime); empty: the shipped default model. Kept as text and synchronised
        with the path box by hand: Slicer's parameterNodeWrapper binds a ctkPathLineEdit only to pathlib
        types, whose empty value reads back as ".".
    featureTable - where the extracted radiomics are written.
    resultJson - the last scoring result, as JSON (empty before scoring).
    responseProbability, riskScore, riskGroup, quadrant - the last result's headline values.
    survivalTable, survivalChart - the last result's survival curve (Month, Survival) and its plot chart.
    """

    arterialVolume: vtkMRMLScalarVolumeNode
    venousVolume: vtkMRMLScalarVolumeNode
    segmentation: vtkMRMLSegmentationNode
    segmentID: str = ""
    roiNode: vtkMRMLMarkupsNode
    roiEngine: Annotated[str, Choice(["classical", "medsam"])] = "classical"
    sameRoiForBothPhases: bool = True
    venousSegmentID: str = ""
    registerVenous: bool = True
    clinicalRecordJson: str = "{}"
    modelPath: str = ""
    featureTable: vtkMRMLTableNode
    resultJson: str = ""
    responseProbability: float = 0.0
    riskScore: float = 0.0
    riskGroup: str = ""
    quadrant: str = ""
    survivalTable: vtkMRMLTableNode
    survivalChart: vtkMRMLPlotChartNode


#
# PRIMEWidget
#


class PRIMEWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """The panel. Uses ScriptedLoadableModuleWidget base class. What is enabled when, and what each
    text says, is decided by the Qt-free functions of PRIMEPanel; this class copies it onto widgets."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._clinicalForm = None
        self._clinicalRecordShown = None  # the clinicalRecordJson the form shows
        self._scoring = None  # the PRIMEPanel.widgets.ScoringWorker while it scores a case
        self._scoringWorker = None  # kept across Score clicks: the model stays loaded in it
        self._modelCardFor = None
        self._observedRoiNode = None
        self._torchAvailable = False

    def setup(self) -> None:
        from PRIMEPanel.widgets import ClinicalForm

        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/PRIME.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        self.logic = PRIMELogic()
        # The Segment Editor gets its parameter node before the scene, so its first selections are kept.
        self.ui.segmentEditorWidget.setMRMLSegmentEditorNode(self.logic.getSegmentEditorNode())
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self._setupTumourRoiSection()
        self._clinicalForm = ClinicalForm(self.ui.clinicalFormWidget, self._onClinicalEdited)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndImportEvent, self.onSceneEndImport)

        self.ui.segmentSelector.connect("currentNodeChanged(vtkMRMLNode*)", self._onSegmentChanged)
        self.ui.segmentSelector.connect("currentSegmentChanged(QString)", self._onSegmentChanged)
        self.ui.createRoiButton.connect("clicked(bool)", self.onCreateRoiButton)
        self.ui.undoRoiButton.connect("clicked(bool)", self.onUndoRoiButton)
        self.ui.carryRoiButton.connect("clicked(bool)", self.onCarryRoiButton)
        self.ui.scoreButton.connect("clicked(bool)", self.onScoreButton)
        self.ui.loadClinicalButton.connect("clicked(bool)", self.onLoadClinicalButton)
        self.ui.saveClinicalButton.connect("clicked(bool)", self.onSaveClinicalButton)
        self.ui.showSurvivalCurveButton.connect("clicked(bool)", self.onShowSurvivalCurveButton)
        self.ui.showFeatureTableButton.connect("clicked(bool)", self.onShowFeatureTableButton)
        self.ui.saveReportButton.connect("clicked(bool)", self.onSaveReportButton)

        self.initializeParameterNode()

    def _setupTumourRoiSection(self) -> None:
        """The embedded Segment Editor shows only the refining effects; the engine menu disables MedSAM
        (saying why) without PyTorch. The markups selector is synchronised by hand, as binding it would
        widen its node types to every markups node."""
        editor = self.ui.segmentEditorWidget
        editor.setEffectNameOrder(list(rules.EDITOR_EFFECTS))
        editor.unorderedEffectsVisible = False
        editor.setSegmentationNodeSelectorVisible(False)  # chosen in Inputs
        editor.setSourceVolumeNodeSelectorVisible(False)  # always the arterial phase
        editor.setMaximumNumberOfUndoStates(10)
        self._torchAvailable = rules.torchAvailable()
        combo = self.ui.roiEngineComboBox
        combo.clear()
        for index, choice in enumerate(rules.roiEngineChoices(self._torchAvailable)):
            combo.addItem(choice.text, choice.name)
            combo.setItemData(index, choice.toolTip, qt.Qt.ToolTipRole)
            combo.model().item(index).setEnabled(choice.enabled)
        combo.connect("currentIndexChanged(int)", self._onRoiEngineChanged)
        self.ui.roiPromptSelector.connect("currentNodeChanged(vtkMRMLNode*)", self._onRoiPromptChanged)
        self.ui.modelPathLineEdit.connect("currentPathChanged(QString)", self._onModelPathChanged)

    def cleanup(self) -> None:
        """The module is unloaded (Slicer exits, or Reload): stop scoring, unbind the GUI from the
        parameter node and remove every observer."""
        self._cancelScoring()
        if self._scoringWorker is not None:
            self._scoringWorker.shutdown()
            self._scoringWorker = None
        self._disconnectParameterNode()
        self._parameterNode = None
        self._observeRoiNode(None)
        self.removeObservers()

    def onReload(self) -> None:
        """Slicer's Reload re-reads this file only: re-read PRIMEPanel/ first, so edits there count too."""
        from PRIMEPanel.reloading import reloadPackage

        logging.info("Reloaded %s", ", ".join(reloadPackage()))
        ScriptedLoadableModuleWidget.onReload(self)

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        """The panel is left: no painting, no GUI binding, no observers (enter() restores them)."""
        self.ui.segmentEditorWidget.setActiveEffect(None)
        self._disconnectParameterNode()
        self._observeRoiNode(None)

    def _disconnectParameterNode(self) -> None:
        if self._parameterNode and self._parameterNodeGuiTag is not None:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGuiState)
        self._parameterNodeGuiTag = None

    def onSceneStartClose(self, caller, event) -> None:
        self._cancelScoring()
        self.setParameterNode(None)
        self.logic.roiUndo.clear()

    def onSceneEndImport(self, caller, event) -> None:
        """A scene was loaded: bind the panel again now that the import is over. During the import the
        parameter node changed, but Slicer's node selectors list no node until the import ends."""
        if self.parent.isEntered:
            self.setParameterNode(None)
            self.initializeParameterNode()

    def onSceneEndClose(self, caller, event) -> None:
        self.ui.segmentEditorWidget.setMRMLSegmentEditorNode(self.logic.getSegmentEditorNode())
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.arterialVolume:
            firstVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolume:
                self._parameterNode.arterialVolume = firstVolume

    def setParameterNode(self, inputParameterNode: PRIMEParameterNode | None) -> None:
        self._disconnectParameterNode()
        self._parameterNode = inputParameterNode
        self._clinicalRecordShown = None
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGuiState)
            self._updateGuiState()

    def _onSegmentChanged(self, *args) -> None:
        if self._parameterNode:
            self._parameterNode.segmentation = self.ui.segmentSelector.currentNode()
            self._parameterNode.segmentID = self.ui.segmentSelector.currentSegmentID() or ""

    def _onRoiPromptChanged(self, node) -> None:
        if self._parameterNode:
            self._parameterNode.roiNode = node

    def _onModelPathChanged(self, path) -> None:
        if self._parameterNode and self._parameterNode.modelPath != path:
            self._parameterNode.modelPath = path

    def _onRoiEngineChanged(self, index) -> None:
        if self._parameterNode and index >= 0:
            self._parameterNode.roiEngine = self.ui.roiEngineComboBox.itemData(index)

    def _observeRoiNode(self, node) -> None:
        """Placing or moving the box or seeds changes what Create initial ROI can do."""
        events = (vtk.vtkCommand.ModifiedEvent, slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent)
        if self._observedRoiNode is not None:
            for event in events:
                self.removeObserver(self._observedRoiNode, event, self._updateGuiState)
        self._observedRoiNode = node
        if node is not None:
            for event in events:
                self.addObserver(node, event, self._updateGuiState)

    def _updateGuiState(self, caller=None, event=None) -> None:
        parameters = self._parameterNode
        if parameters is None:
            return
        self._updateTumourRoiSection(parameters)
        running = self._scoring is not None
        state = rules.scoreButtonState(parameters, running=running)
        self.ui.scoreButton.enabled = state.enabled
        self.ui.scoreButton.toolTip = state.toolTip
        self.ui.scoreButton.text = scoring.scoreButtonText(running)
        self.ui.resultsLabel.text = rules.resultSummaryText(parameters.resultJson)
        self.ui.showSurvivalCurveButton.enabled = bool(parameters.survivalChart)
        self.ui.showFeatureTableButton.enabled = bool(parameters.featureTable)
        report = rules.saveReportButtonState(parameters)
        self.ui.saveReportButton.enabled = report.enabled
        self.ui.saveReportButton.toolTip = report.toolTip
        if parameters.clinicalRecordJson != self._clinicalRecordShown:
            # A record loaded, or a scene restored: show it in the form.
            self._clinicalRecordShown = parameters.clinicalRecordJson
            saved, warning = clinical_form.recordFromSavedJson(parameters.clinicalRecordJson)
            self._clinicalForm.show(clinical_form.clinicalTextsFromRecord(saved))
            record, errors = clinical_form.clinicalRecordFromTexts(self._clinicalForm.texts())
            self._clinicalForm.markErrors(errors)
            self.ui.clinicalErrorsLabel.text = "\n".join(
                ([warning] if warning else []) + list(errors.values())
            )
            if warning:
                logging.warning(warning)
            self.ui.derivedIndicesLabel.text = clinical_form.derivedIndicesText(record)
        if self.ui.modelPathLineEdit.currentPath != parameters.modelPath:
            wasBlocked = self.ui.modelPathLineEdit.blockSignals(True)
            self.ui.modelPathLineEdit.currentPath = parameters.modelPath
            self.ui.modelPathLineEdit.blockSignals(wasBlocked)
        if parameters.modelPath != self._modelCardFor:
            self._modelCardFor = parameters.modelPath
            try:
                self.ui.modelCardTextEdit.plainText = scoring.modelCardText(parameters.modelPath)
            except Exception as error:  # a bad bundle path: say why in the card box, not a dialog per edit
                self.ui.modelCardTextEdit.plainText = _("Cannot read this model bundle: ") + str(error)

    def _updateTumourRoiSection(self, parameters) -> None:
        """Selectors follow the parameter node (a new ROI, an undo, a reloaded scene), buttons their rules,
        and the Segment Editor the chosen segmentation with the arterial phase as source volume."""
        for selector, node in (
            (self.ui.roiPromptSelector, parameters.roiNode),
            (self.ui.segmentSelector, parameters.segmentation),
        ):
            if selector.currentNode() != node:
                wasBlocked = selector.blockSignals(True)
                selector.setCurrentNode(node)
                selector.blockSignals(wasBlocked)
        if (self.ui.segmentSelector.currentSegmentID() or "") != parameters.segmentID:
            wasBlocked = self.ui.segmentSelector.blockSignals(True)
            self.ui.segmentSelector.setCurrentSegmentID(parameters.segmentID)
            self.ui.segmentSelector.blockSignals(wasBlocked)
        if parameters.roiNode != self._observedRoiNode:
            self._observeRoiNode(parameters.roiNode)
        engineIndex = self.ui.roiEngineComboBox.findData(parameters.roiEngine)
        if engineIndex >= 0 and engineIndex != self.ui.roiEngineComboBox.currentIndex:
            wasBlocked = self.ui.roiEngineComboBox.blockSignals(True)
            self.ui.roiEngineComboBox.currentIndex = engineIndex
            self.ui.roiEngineComboBox.blockSignals(wasBlocked)
        for button, state in (
            (self.ui.createRoiButton, rules.createRoiButtonState(parameters, self._torchAvailable)),
            (self.ui.carryRoiButton, rules.carryRoiButtonState(parameters)),
        ):
            button.enabled = state.enabled
            button.toolTip = state.toolTip
        self.ui.undoRoiButton.enabled = self.logic.canUndoRoi(parameters.segmentation)
        self.ui.registerVenousCheckBox.enabled = not parameters.sameRoiForBothPhases
        editor = self.ui.segmentEditorWidget
        self.logic.updateSegmentEditorNode(parameters)
        if editor.segmentationNode() != parameters.segmentation:
            editor.setSegmentationNode(parameters.segmentation)
        if editor.sourceVolumeNode() != parameters.arterialVolume:
            editor.setSourceVolumeNode(parameters.arterialVolume)

    @contextlib.contextmanager
    def _action(self, errorMessage: str):
        """A button's action: an error is shown to the user (``tryWithErrorDisplay``, which then
        re-raises it), and the panel's state is brought up to date whatever happened, so a failed
        action never leaves a button stuck (e.g. Score reading Cancel)."""
        try:
            with slicer.util.tryWithErrorDisplay(errorMessage, waitCursor=True):
                yield
        finally:
            self._updateGuiState()

    def _showRoiProgress(self, fraction: float, message: str) -> None:
        self.ui.roiStatusLabel.text = f"{message} ({fraction:.0%})"
        slicer.app.processEvents()

    def onCreateRoiButton(self) -> None:
        parameters = self._parameterNode
        with self._action(_("Failed to create the initial ROI.")):
            self.ui.segmentEditorWidget.setActiveEffect(None)
            segmentationNode, segmentID, result = self.logic.createInitialRoi(
                parameters.arterialVolume,
                parameters.roiNode,
                parameters.segmentation,
                segmentName=rules.TUMOUR_SEGMENT_NAME,
                segmentID=rules.initialRoiTargetSegmentID(parameters.segmentation, parameters.segmentID),
                engine=parameters.roiEngine,
                parameterNode=parameters,
                progress=self._showRoiProgress,
            )
            self.logic.updateSegmentEditorNode(parameters, selectSegment=True)
            name = segmentationNode.GetSegmentation().GetSegment(segmentID).GetName()
            self.ui.roiStatusLabel.text = rules.initialRoiStatusText(result.to_dict(), name)

    def onUndoRoiButton(self) -> None:
        with self._action(_("Failed to undo.")):
            self.ui.segmentEditorWidget.setActiveEffect(None)
            if self.logic.undoLastRoi(self._parameterNode):
                self.ui.roiStatusLabel.text = _(
                    "Undone: the segmentation is as it was before the last change."
                )

    def onCarryRoiButton(self) -> None:
        parameters = self._parameterNode
        with self._action(_("Failed to carry the ROI to the venous phase.")):
            self.ui.segmentEditorWidget.setActiveEffect(None)
            self.logic.carryRoiToVenous(
                parameters, register=parameters.registerVenous, progress=self._showRoiProgress
            )
            self.ui.roiStatusLabel.text = rules.carryStatusText(rules.carriedRoiSummary(parameters))
            # The overlay to check: the venous phase under both segments' outlines.
            slicer.util.setSliceViewerLayers(background=parameters.venousVolume, foreground=None)

    def _onClinicalEdited(self, *args) -> None:
        """Validate the form, mark invalid fields with the reason, show derived indices, store the record."""
        record, errors = clinical_form.clinicalRecordFromTexts(self._clinicalForm.texts())
        self._clinicalForm.markErrors(errors)
        self.ui.clinicalErrorsLabel.text = "\n".join(errors.values())
        self.ui.derivedIndicesLabel.text = clinical_form.derivedIndicesText(record)
        if self._parameterNode:
            self._clinicalRecordShown = json.dumps(record)
            self._parameterNode.clinicalRecordJson = self._clinicalRecordShown

    def onLoadClinicalButton(self) -> None:
        path = qt.QFileDialog.getOpenFileName(
            slicer.util.mainWindow(),
            _("Load clinical record"),
            "",
            _("Clinical record (*.json);;Clinical table, one row per case (*.csv *.tsv)"),
        )
        if not path:
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to load the clinical record."), waitCursor=True):
            caseId = None
            if path.lower().endswith((".csv", ".tsv")):
                caseId = qt.QInputDialog.getText(
                    slicer.util.mainWindow(), _("Clinical table"), _("case_id of the row to load:")
                )
            self._clinicalForm.show(
                clinical_form.clinicalTextsFromRecord(clinical_form.loadClinicalRecord(path, caseId or None))
            )
            self._onClinicalEdited()

    def onSaveClinicalButton(self) -> None:
        path = qt.QFileDialog.getSaveFileName(
            slicer.util.mainWindow(),
            _("Save clinical record"),
            "clinical.json",
            _("Clinical record (*.json)"),
        )
        if not path:
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to save the clinical record."), waitCursor=True):
            record, _errors = clinical_form.clinicalRecordFromTexts(self._clinicalForm.texts())
            clinical_form.saveClinicalRecord(record, path)

    def onShowSurvivalCurveButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to show the survival curve."), waitCursor=True):
            slicer.modules.plots.logic().ShowChartInLayout(self._parameterNode.survivalChart)

    def onShowFeatureTableButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to show the feature table."), waitCursor=True):
            slicer.app.layoutManager().setLayout(slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpTableView)
            applicationLogic = slicer.app.applicationLogic()
            applicationLogic.GetSelectionNode().SetActiveTableID(self._parameterNode.featureTable.GetID())
            applicationLogic.PropagateTableSelection()

    def onSaveReportButton(self) -> None:
        path = qt.QFileDialog.getSaveFileName(
            slicer.util.mainWindow(),
            _("Save patient report"),
            rules.defaultReportName(self._parameterNode.resultJson),
            _("Patient report, HTML and PDF (*.html)"),
        )
        if not path:
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to save the patient report."), waitCursor=True):
            if not scoring.ensureDependencies(slicer.util.confirmOkCancelDisplay):
                return
            written = self.logic.saveReport(self._parameterNode, path)
            files = ", ".join(str(written[kind]) for kind in ("html", "pdf") if kind in written)
            slicer.util.showStatusMessage(_("Patient report saved: ") + files, 10000)

    def onScoreButton(self) -> None:
        """Score in PRIMELib's scoring worker, a subprocess kept across clicks (the GUI stays responsive,
        and the model is loaded once); pressed while running, it cancels."""
        import shutil
        import tempfile

        from PRIMEPanel.widgets import ScoringWorker

        if self._scoring is not None:
            self._cancelScoring()
            return
        with self._action(_("Scoring failed.")):
            if not scoring.ensureDependencies(slicer.util.confirmOkCancelDisplay):
                return
            if self._scoringWorker is None:
                self._scoringWorker = ScoringWorker(self._onScoringProgress, self._onScoringFinished)
            folder = tempfile.mkdtemp(prefix="PRIME-", dir=slicer.app.temporaryPath)
            try:
                arguments = self.logic.writeCaseFiles(self._parameterNode, folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self.ui.progressBar.value = 0
            self._scoring = self._scoringWorker
            self._scoringWorker.score(arguments, folder)
            if not self._scoringWorker.running:  # it ended at once (the worker could not start)
                self._scoring = None

    def _onScoringProgress(self, fraction: float, message: str) -> None:
        self.ui.progressBar.value = round(100 * fraction)
        self.ui.progressBar.format = f"{message} %p%"

    def _onScoringFinished(self, outputDir, error: str) -> None:
        self._scoring = None
        with self._action(_("Scoring failed.")):
            if error:
                raise RuntimeError(error)
            self.logic.readScoreOutputs(outputDir, self._parameterNode)

    def _cancelScoring(self) -> None:
        scoring, self._scoring = self._scoring, None
        if scoring is None:
            return
        scoring.cancel()
        self.ui.progressBar.format = _("Cancelled")
        self._updateGuiState()


#
# PRIMELogic
#


class PRIMELogic(ScriptedLoadableModuleLogic, TumourRoiLogic, ScoringResultsLogic):
    """Moves data between MRML nodes and PRIMELib. Raises exceptions; never opens dialogs.

    Scoring is here; the Tumour ROI methods (createInitialRoi, carryRoiToVenous, undoLastRoi, the
    Segment Editor's node) come from PRIMEPanel.roi.TumourRoiLogic, and results into MRML
    (writeResults, readScoreOutputs, writeCaseFiles, saveReport) from PRIMEPanel.results.

    Slicer Python console::

        logic = slicer.util.getModuleLogic("PRIME")
        result = logic.scoreCase(arterialNode, venousNode, segmentationNode, "Segment_1", {"age": 58, ...})
        print(result.score.response_probability, result.score.risk_group)
    """

    #: MRML volume / segment ⇄ SimpleITK image, kept geometry (see PRIMEPanel.nodes).
    sitkImageFromVolumeNode = staticmethod(nodes.imageFromVolumeNode)
    volumeNodeFromSitk = staticmethod(nodes.volumeNodeFromImage)

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return PRIMEParameterNode(super().getParameterNode())

    def sitkMaskFromSegment(self, segmentationNode, segmentID, referenceVolumeNode):
        """The segment as a binary SimpleITK mask on the reference volume's voxel grid."""
        return nodes.maskFromSegment(segmentationNode, segmentID, referenceVolumeNode)

    def scoreCase(
        self,
        arterialVolumeNode,
        venousVolumeNode,
        segmentationNode,
        segmentID: str,
        clinicalRecord: dict,
        venousSegmentID: str | None = None,
        parameterNode=None,
        progress=None,
        model=None,
        modelSha256=None,
    ):
        """Score one case from MRML nodes; returns PRIMELib's CaseResult.

        The tumour segment is drawn on the arterial phase; without ``venousSegmentID`` the same segment,
        sampled on the venous grid, is the venous ROI. ``model``: a loaded model or a bundle path;
        None: the parameter node's modelPath, else the shipped default model. Results go to
        ``parameterNode`` (result fields, survival curve table and chart, feature table) when one is given.
        ``modelSha256``: refuse any model bundle but the one with this SHA-256 (``prime model-card``).
        """
        from PRIMELib.clinical import prepare_record
        from PRIMELib.errors import PRIMEInputError
        from PRIMELib.pipeline import score_case

        for node, name in ((arterialVolumeNode, "arterial volume"), (venousVolumeNode, "venous volume")):
            if node is None:
                raise PRIMEInputError(f"No {name} is selected.", field=name, hint=f"Choose the {name}.")
        if segmentationNode is None:
            raise PRIMEInputError("No tumour segmentation is selected.", field="segmentation")
        # Cheap checks first: a bad clinical value should not cost a segment export and a model load.
        prepare_record(clinicalRecord)
        arterialMask = self.sitkMaskFromSegment(segmentationNode, segmentID, arterialVolumeNode)
        venousMask = self.sitkMaskFromSegment(
            segmentationNode, venousSegmentID or segmentID, venousVolumeNode
        )
        result = score_case(
            self.sitkImageFromVolumeNode(arterialVolumeNode),
            self.sitkImageFromVolumeNode(venousVolumeNode),
            arterialMask,
            venousMask,
            clinical=clinicalRecord,
            model=model or (parameterNode.modelPath if parameterNode is not None else None) or None,
            case_id=clinicalRecord.get("case_id") or arterialVolumeNode.GetName(),
            progress=progress,
            model_sha256=modelSha256,
        )
        if parameterNode is not None:
            if not parameterNode.featureTable:
                parameterNode.featureTable = slicer.mrmlScene.AddNewNodeByClass(
                    "vtkMRMLTableNode", slicer.mrmlScene.GenerateUniqueName("PRIME features")
                )
            self.writeFeatureTable(result.radiomics.values, parameterNode.featureTable)
            self.writeResults(result.score, parameterNode)
        logging.info("PRIME scored a case: %s", result.score.quadrant)
        return result

    def scoreFiles(self, arterialPath, venousPath, maskPath, clinical, venousMaskPath=None, progress=None):
        """Score one case from files (NRRD/NIfTI/DICOM folder) without touching the scene."""
        from PRIMELib.pipeline import score_case

        return score_case(
            arterialPath, venousPath, maskPath, venousMaskPath, clinical=clinical, progress=progress
        )

    def runBatch(
        self,
        manifestPath,
        outputDir,
        mode="extract",
        params="prime_paper",
        model=None,
        workers=1,
        progress=None,
    ):
        """Process a cohort from a manifest, as ``prime batch`` does; returns PRIMELib's BatchSummary.

        Slicer Python console::

            summary = slicer.util.getModuleLogic("PRIME").runBatch("cohort/manifest.csv", "cohort/out")
            print(summary.succeeded, summary.failed, summary.outputs["features"])
        """
        from PRIMELib.batch import BatchSettings, run_batch

        settings = BatchSettings(mode=mode, params=params, model=str(model) if model else None)
        return run_batch(manifestPath, outputDir, settings=settings, workers=workers, progress=progress)


#
# PRIMETest
#


class PRIMETest(ScriptedLoadableModuleTest):
    """The module's self-test: scores the generated demo case from MRML nodes; makes an initial ROI
    from a box, carries it to a venous phase moved by a known shift, and undoes both."""

    _volumeNodeFromSitk = staticmethod(nodes.volumeNodeFromImage)

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.ensurePackagesForTest()
        self.test_PRIME_scoreDemoCaseFromNodes()
        self.setUp()
        self.test_PRIME_initialRoiCarriedToVenousAndUndone()

    def ensurePackagesForTest(self):
        """The self-test runs in a stock Slicer (the extension build machines' ctest), which has none of
        PRIME's packages, and in testing mode nobody can answer the install prompt (and
        ``slicer.packaging.pip_ensure`` installs nothing): install them here, saying so."""
        missing = scoring.missingRequirements(scoring.loadRequirements())
        if not missing:
            return
        self.delayDisplay("Installing PRIME's Python packages for the self-test: " + ", ".join(missing))
        installed = scoring.ensureDependencies(ask=lambda message: True, install=slicer.util.pip_install)
        self.assertTrue(installed, "PRIME's packages could not be installed: " + ", ".join(missing))

    def test_PRIME_scoreDemoCaseFromNodes(self):
        """Scoring from volume and segmentation nodes equals scoring the same images directly."""
        import SimpleITK as sitk

        from PRIMELib.demo import DEMO_CLINICAL_RECORD, make_demo_images
        from PRIMELib.pipeline import score_case

        self.delayDisplay("Loading the demo case into the scene")
        arterial, venous, mask = make_demo_images()
        arterialNode = self._volumeNodeFromSitk(arterial, "arterial")
        venousNode = self._volumeNodeFromSitk(venous, "venous")
        labelmapNode = self._volumeNodeFromSitk(mask, "tumour", "vtkMRMLLabelMapVolumeNode")
        segmentationNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "tumour")
        slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(
            labelmapNode, segmentationNode
        )
        segmentID = segmentationNode.GetSegmentation().GetNthSegmentID(0)

        self.delayDisplay("Scoring")
        logic = PRIMELogic()
        parameterNode = logic.getParameterNode()
        fractions = []
        result = logic.scoreCase(
            arterialNode,
            venousNode,
            segmentationNode,
            segmentID,
            dict(DEMO_CLINICAL_RECORD),
            parameterNode=parameterNode,
            progress=lambda fraction, message: fractions.append(fraction),
        )
        direct = score_case(arterial, venous, mask, clinical=dict(DEMO_CLINICAL_RECORD))

        self.assertEqual(fractions[-1], 1.0)
        self.assertEqual(sorted(result.radiomics.values), sorted(direct.radiomics.values))
        for name, value in direct.radiomics.values.items():
            self.assertAlmostEqual(result.radiomics.values[name], value, delta=1e-6 * max(1.0, abs(value)))
        self.assertAlmostEqual(result.score.response_probability, direct.score.response_probability, places=9)
        self.assertEqual(json.loads(parameterNode.resultJson)["quadrant"], direct.score.quadrant)
        table = parameterNode.featureTable.GetTable()
        self.assertEqual(table.GetNumberOfRows(), len(direct.radiomics.values))
        curve = scoring.survivalCurvePoints(direct.score.to_dict())
        survivalTable = parameterNode.survivalTable.GetTable()
        self.assertEqual(survivalTable.GetNumberOfRows(), len(curve))
        self.assertAlmostEqual(survivalTable.GetValue(len(curve) - 1, 1).ToDouble(), curve[-1][1], places=9)
        self.assertEqual(parameterNode.survivalChart.GetNumberOfPlotSeriesNodes(), 1)
        self.assertEqual(parameterNode.quadrant, direct.score.quadrant)
        self.assertEqual(
            sitk.GetArrayViewFromImage(mask).sum(), slicer.util.arrayFromVolume(labelmapNode).sum()
        )
        self.delayDisplay("Test passed")

    def test_PRIME_initialRoiCarriedToVenousAndUndone(self):
        """Box → "Tumour" segment; carried (registered) to a venous phase shifted by a known 4 mm it
        lands on the venous tumour; Undo twice returns to an empty segmentation."""
        import numpy as np

        from PRIMELib.segmentation import ras_from_lps
        from PRIMELib.segmentation.phantoms import make_tumour_phantom

        self.delayDisplay("Making a dual-phase phantom with a known venous shift")
        phantom = make_tumour_phantom(
            30.0, seed=3, field_of_view_mm=100.0, in_plane_spacing_mm=2.0, slice_spacing_mm=2.5,
            body_outline=True, venous_translation_mm=(4.0, 0.0, 0.0),
        )  # fmt: skip
        logic = PRIMELogic()
        parameters = logic.getParameterNode()
        parameters.arterialVolume = self._volumeNodeFromSitk(phantom.arterial, "arterial")
        parameters.venousVolume = self._volumeNodeFromSitk(phantom.venous, "venous")
        roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
        roi.SetCenter(*ras_from_lps(phantom.box.center_lps))
        roi.SetSize(*phantom.box.size_mm)
        parameters.roiNode = roi

        self.delayDisplay("Initial ROI from the box")
        segmentationNode, segmentID, _result = logic.createInitialRoi(
            parameters.arterialVolume, parameters.roiNode, parameterNode=parameters
        )
        segmentation = segmentationNode.GetSegmentation()
        self.assertEqual(segmentation.GetSegment(segmentID).GetName(), rules.TUMOUR_SEGMENT_NAME)

        self.delayDisplay("Carrying the ROI to the venous phase")
        parameters.sameRoiForBothPhases = False
        carried = logic.carryRoiToVenous(parameters, register=True)
        self.assertAlmostEqual(carried.registration.translation_mm[0], 4.0, delta=1.0)
        venous = slicer.util.arrayFromSegmentBinaryLabelmap(
            segmentationNode, parameters.venousSegmentID, parameters.venousVolume
        ).astype(bool)
        truth = slicer.util.arrayFromVolume(self._volumeNodeFromSitk(phantom.venous_truth, "truth")).astype(
            bool
        )
        self.assertGreater(2.0 * (venous & truth).sum() / (venous.sum() + truth.sum()), 0.85)
        self.assertEqual(rules.venousSegmentIdForScoring(parameters), parameters.venousSegmentID)

        self.delayDisplay("Undo, twice")
        self.assertTrue(logic.undoLastRoi(parameters))
        self.assertEqual((segmentation.GetNumberOfSegments(), parameters.venousSegmentID), (1, ""))
        self.assertTrue(logic.undoLastRoi(parameters))
        self.assertEqual((segmentation.GetNumberOfSegments(), parameters.segmentID), (0, ""))
        self.assertFalse(logic.undoLastRoi(parameters))
        self.assertTrue(np.isfinite(carried.registration.metric_after))
        self.delayDisplay("Test passed")
