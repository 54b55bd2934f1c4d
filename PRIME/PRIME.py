"""PRIME: the 3D Slicer module. It only moves data between MRML nodes, the panel and PRIMELib."""

import json
import logging
import os
import sys

import qt
import slicer
import vtk
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode, vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin


def _makePRIMELibImportable() -> None:
    """Installed, PRIMELib sits beside this file; in a source checkout it is one folder up."""
    moduleDir = os.path.dirname(os.path.abspath(__file__))
    for folder in (moduleDir, os.path.dirname(moduleDir)):
        if os.path.isfile(os.path.join(folder, "PRIMELib", "__init__.py")):
            if folder not in sys.path:
                sys.path.insert(0, folder)
            return


_makePRIMELibImportable()


#
# PRIME
#


class PRIME(ScriptedLoadableModule):
    """Module metadata. Uses ScriptedLoadableModule base class."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("PRIME")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Radiomics")]
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
    venousSegmentID - a separate venous ROI in the same segmentation; empty: the same ROI for both.
    clinicalRecordJson - the clinical values, as a JSON object in canonical units.
    featureTable - where the extracted radiomics are written.
    resultJson - the last scoring result, as JSON (empty before scoring).
    """

    arterialVolume: vtkMRMLScalarVolumeNode
    venousVolume: vtkMRMLScalarVolumeNode
    segmentation: vtkMRMLSegmentationNode
    segmentID: str = ""
    venousSegmentID: str = ""
    clinicalRecordJson: str = "{}"
    featureTable: vtkMRMLTableNode
    resultJson: str = ""


#
# PRIMEWidget
#


class PRIMEWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """The panel. Uses ScriptedLoadableModuleWidget base class."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)

        uiWidget = slicer.util.loadUI(self.resourcePath("UI/PRIME.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = PRIMELogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.scoreButton.connect("clicked(bool)", self.onScoreButton)
        self.ui.loadClinicalButton.connect("clicked(bool)", self.onLoadClinicalButton)
        self.ui.segmentSelector.connect("currentSegmentChanged(QString)", self._onSegmentChanged)

        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGuiState)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.arterialVolume:
            firstVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolume:
                self._parameterNode.arterialVolume = firstVolume

    def setParameterNode(self, inputParameterNode: PRIMEParameterNode | None) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGuiState)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGuiState)
            self._updateGuiState()

    def _onSegmentChanged(self, segmentID) -> None:
        if self._parameterNode:
            self._parameterNode.segmentation = self.ui.segmentSelector.currentNode()
            self._parameterNode.segmentID = segmentID or ""

    def _updateGuiState(self, caller=None, event=None) -> None:
        state = scoreButtonState(self._parameterNode)
        self.ui.scoreButton.enabled = state.enabled
        self.ui.scoreButton.toolTip = state.toolTip
        self.ui.resultsLabel.text = resultSummaryText(
            self._parameterNode.resultJson if self._parameterNode else ""
        )

    def onLoadClinicalButton(self) -> None:
        path = qt.QFileDialog.getOpenFileName(
            slicer.util.mainWindow(), _("Load clinical record"), "", _("Clinical record (*.json)")
        )
        if not path:
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to load the clinical record."), waitCursor=True):
            from PRIMELib.pipeline import load_clinical_record

            self._parameterNode.clinicalRecordJson = json.dumps(load_clinical_record(path))

    def onScoreButton(self) -> None:
        self.ui.progressBar.value = 0

        def progress(fraction, message):
            self.ui.progressBar.value = round(100 * fraction)
            self.ui.progressBar.format = f"{message} %p%"
            slicer.app.processEvents()

        with slicer.util.tryWithErrorDisplay(_("Scoring failed."), waitCursor=True):
            parameters = self._parameterNode
            self.logic.scoreCase(
                parameters.arterialVolume,
                parameters.venousVolume,
                parameters.segmentation,
                parameters.segmentID,
                json.loads(parameters.clinicalRecordJson or "{}"),
                venousSegmentID=parameters.venousSegmentID or None,
                parameterNode=parameters,
                progress=progress,
            )


#
# Qt-free rules of the panel (tested without Qt)
#


class ButtonState:
    def __init__(self, enabled: bool, toolTip: str) -> None:
        self.enabled = enabled
        self.toolTip = toolTip


def scoreButtonState(parameterNode) -> ButtonState:
    """Score is enabled once both phases and a tumour segment are chosen; the tooltip says what is missing."""
    if parameterNode is None:
        return ButtonState(False, _("No parameter node."))
    missing = []
    if not parameterNode.arterialVolume:
        missing.append(_("arterial volume"))
    if not parameterNode.venousVolume:
        missing.append(_("venous volume"))
    if not parameterNode.segmentation or not parameterNode.segmentID:
        missing.append(_("tumour segment"))
    if missing:
        return ButtonState(False, _("Choose: ") + ", ".join(missing))
    return ButtonState(True, _("Score response (PRIME-R) and survival (PRIME-S)."))


def resultSummaryText(resultJson: str) -> str:
    """The results section's text for a stored result (empty result: a hint)."""
    if not resultJson:
        return _("No result yet: choose the inputs and press Score.")
    result = json.loads(resultJson)
    survival = ", ".join(
        f"{label.split('_')[0]} mo {value:.0%}" for label, value in result.get("survival", {}).items()
    )
    return (
        f"PRIME-R: {result['response_probability']:.0%} ({result['response_class']})\n"
        f"PRIME-S: risk {result['risk_score']:+.2f} ({result['risk_group']} risk); survival {survival}\n"
        f"{result['quadrant']}: {result['quadrant_text']}"
    )


#
# PRIMELogic
#


class PRIMELogic(ScriptedLoadableModuleLogic):
    """Moves data between MRML nodes and PRIMELib. Raises exceptions; never opens dialogs.

    Slicer Python console::

        logic = slicer.util.getModuleLogic("PRIME")
        result = logic.scoreCase(arterialNode, venousNode, segmentationNode, "Segment_1", {"age": 58, ...})
        print(result.score.response_probability, result.score.risk_group)
    """

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return PRIMEParameterNode(super().getParameterNode())

    @staticmethod
    def sitkImageFromVolumeNode(volumeNode):
        """The volume as a SimpleITK image in LPS, as PyRadiomics and ITK expect."""
        from PRIMELib.io import image_from_ras_array

        ijkToRas = vtk.vtkMatrix4x4()
        volumeNode.GetIJKToRASDirectionMatrix(ijkToRas)
        directions = [[ijkToRas.GetElement(row, col) for col in range(3)] for row in range(3)]
        return image_from_ras_array(
            slicer.util.arrayFromVolume(volumeNode),
            spacing=volumeNode.GetSpacing(),
            origin_ras=volumeNode.GetOrigin(),
            directions_ras=directions,
        )

    def sitkMaskFromSegment(self, segmentationNode, segmentID, referenceVolumeNode):
        """The segment as a binary SimpleITK mask on the reference volume's voxel grid."""
        from PRIMELib.errors import PRIMEInputError
        from PRIMELib.io import image_from_ras_array

        if segmentationNode.GetSegmentation().GetSegment(segmentID) is None:
            raise PRIMEInputError(
                f"The segmentation '{segmentationNode.GetName()}' has no segment '{segmentID}'.",
                field="segment",
                value=segmentID,
                expected="a segment of the chosen segmentation",
            )
        array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentationNode, segmentID, referenceVolumeNode)
        ijkToRas = vtk.vtkMatrix4x4()
        referenceVolumeNode.GetIJKToRASDirectionMatrix(ijkToRas)
        return image_from_ras_array(
            (array != 0).astype("uint8"),
            spacing=referenceVolumeNode.GetSpacing(),
            origin_ras=referenceVolumeNode.GetOrigin(),
            directions_ras=[[ijkToRas.GetElement(row, col) for col in range(3)] for row in range(3)],
        )

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
    ):
        """Score one case from MRML nodes; returns PRIMELib's CaseResult.

        The tumour segment is drawn on the arterial phase; without ``venousSegmentID`` the same segment,
        sampled on the venous grid, is the venous ROI. Results go to ``parameterNode`` (resultJson and
        the feature table) when one is given.
        """
        from PRIMELib.errors import PRIMEInputError
        from PRIMELib.pipeline import score_case

        for node, name in ((arterialVolumeNode, "arterial volume"), (venousVolumeNode, "venous volume")):
            if node is None:
                raise PRIMEInputError(f"No {name} is selected.", field=name, hint=f"Choose the {name}.")
        if segmentationNode is None:
            raise PRIMEInputError("No tumour segmentation is selected.", field="segmentation")
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
            case_id=clinicalRecord.get("case_id") or arterialVolumeNode.GetName(),
            progress=progress,
        )
        if parameterNode is not None:
            if not parameterNode.featureTable:
                parameterNode.featureTable = slicer.mrmlScene.AddNewNodeByClass(
                    "vtkMRMLTableNode", slicer.mrmlScene.GenerateUniqueName("PRIME features")
                )
            self.writeFeatureTable(result.radiomics.values, parameterNode.featureTable)
            parameterNode.resultJson = json.dumps(result.score.to_dict())
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

    @staticmethod
    def writeFeatureTable(values: dict, tableNode) -> None:
        """Rows = features, columns Feature and Value (as SlicerRadiomics does)."""
        table = tableNode.GetTable()
        tableNode.RemoveAllColumns()
        names = vtk.vtkStringArray()
        names.SetName("Feature")
        numbers = vtk.vtkDoubleArray()
        numbers.SetName("Value")
        for name, value in values.items():
            names.InsertNextValue(name)
            numbers.InsertNextValue(float(value))
        table.AddColumn(names)
        table.AddColumn(numbers)
        tableNode.Modified()


#
# PRIMETest
#


class PRIMETest(ScriptedLoadableModuleTest):
    """The module's self-test: scores the generated demo case from MRML nodes."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_PRIME_scoreDemoCaseFromNodes()

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
        self.assertEqual(
            sitk.GetArrayViewFromImage(mask).sum(), slicer.util.arrayFromVolume(labelmapNode).sum()
        )
        self.delayDisplay("Test passed")

    @staticmethod
    def _volumeNodeFromSitk(image, name, className="vtkMRMLScalarVolumeNode"):
        """Put a SimpleITK (LPS) image into the scene (RAS), keeping its geometry."""
        import SimpleITK as sitk

        from PRIMELib.io import ras_geometry_from_image

        geometry = ras_geometry_from_image(image)
        node = slicer.mrmlScene.AddNewNodeByClass(className, name)
        node.SetSpacing(*geometry.spacing)
        node.SetOrigin(*geometry.origin_ras)
        matrix = vtk.vtkMatrix4x4()
        for row in range(3):
            for col in range(3):
                matrix.SetElement(row, col, geometry.directions_ras[row][col])
        node.SetIJKToRASDirectionMatrix(matrix)
        slicer.util.updateVolumeFromArray(node, sitk.GetArrayFromImage(image))
        return node
