"""The scoring-results part of the PRIME module's Logic, without Qt: the case files for the scoring
subprocess, its outputs read back, a result into MRML nodes (parameter node fields, feature table,
survival curve table, plot series and chart), and the patient report. ``PRIMELogic`` inherits it."""

from __future__ import annotations

import json
import os

import slicer

from PRIMEPanel import nodes
from PRIMEPanel.clinical_form import recordFromSavedJson, saveClinicalRecord
from PRIMEPanel.rules import venousSegmentIdForScoring
from PRIMEPanel.scoring import survivalCurvePoints, survivalCurveTitle

try:
    from slicer.i18n import tr as _
except ImportError:  # plain Python, outside Slicer: the source text

    def _(text: str) -> str:
        return text


class ScoringResultsLogic:
    """Moves scoring inputs and results between MRML nodes and files / PRIMELib results."""

    writeSurvivalTable = staticmethod(nodes.writeSurvivalTable)
    writeFeatureTable = staticmethod(nodes.writeFeatureTable)

    def writeCaseFiles(self, parameterNode, folder) -> dict:
        """The parameter node's inputs as files for ``prime score`` in a subprocess.

        Writes arterial.nrrd, venous.nrrd, mask.nrrd (the segment on the arterial grid), venous_mask.nrrd
        (when a separate venous ROI is used: sameRoiForBothPhases unticked) and clinical.json into
        ``folder``; returns the keyword arguments of ``scoreCommand`` (output folder and model included)."""
        import SimpleITK as sitk

        from PRIMELib.errors import PRIMEInputError

        parameters = parameterNode
        nodes.requireBothPhases(parameters)
        if parameters.segmentation is None:
            raise PRIMEInputError("No tumour segmentation is selected.", field="segmentation")
        record, warning = recordFromSavedJson(parameters.clinicalRecordJson)
        if warning:  # never score a case as if its saved record were empty
            raise PRIMEInputError(warning, field="clinical record", value=parameters.clinicalRecordJson)
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        paths = {
            "arterialPath": os.path.join(folder, "arterial.nrrd"),
            "venousPath": os.path.join(folder, "venous.nrrd"),
            "maskPath": os.path.join(folder, "mask.nrrd"),
            "clinicalPath": os.path.join(folder, "clinical.json"),
            "outputDir": os.path.join(folder, "output"),
            "venousMaskPath": None,
            "modelPath": parameters.modelPath or None,
        }
        sitk.WriteImage(nodes.imageFromVolumeNode(parameters.arterialVolume), paths["arterialPath"])
        sitk.WriteImage(nodes.imageFromVolumeNode(parameters.venousVolume), paths["venousPath"])
        mask = nodes.maskFromSegment(parameters.segmentation, parameters.segmentID, parameters.arterialVolume)
        sitk.WriteImage(mask, paths["maskPath"], True)
        venousSegmentID = venousSegmentIdForScoring(parameters)
        if venousSegmentID:
            paths["venousMaskPath"] = os.path.join(folder, "venous_mask.nrrd")
            venousMask = nodes.maskFromSegment(
                parameters.segmentation, venousSegmentID, parameters.venousVolume
            )
            sitk.WriteImage(venousMask, paths["venousMaskPath"], True)
        record.setdefault("case_id", parameters.arterialVolume.GetName())
        saveClinicalRecord(record, paths["clinicalPath"])
        return paths

    def readScoreOutputs(self, outputDir, parameterNode) -> dict:
        """Read ``prime score``'s result.json and features.csv into the parameter node; returns the result."""
        import csv

        with open(os.path.join(outputDir, "result.json"), encoding="utf-8") as file:
            result = json.load(file)
        with open(os.path.join(outputDir, "features.csv"), newline="", encoding="utf-8") as file:
            row = next(csv.DictReader(file))
        features = {name: float(value) for name, value in row.items() if name != "case_id"}
        if not parameterNode.featureTable:
            parameterNode.featureTable = slicer.mrmlScene.AddNewNodeByClass(
                "vtkMRMLTableNode", slicer.mrmlScene.GenerateUniqueName("PRIME features")
            )
        nodes.writeFeatureTable(features, parameterNode.featureTable)
        self.writeResults(result, parameterNode)
        return result

    def writeResults(self, scoreResult, parameterNode) -> None:
        """A PRIMELib result (ScoreResult, or its dict as in result.json) into the parameter node:
        headline fields, resultJson, and the survival curve as a table node, plot series and chart."""
        result = scoreResult if isinstance(scoreResult, dict) else scoreResult.to_dict()
        scene = slicer.mrmlScene
        if not parameterNode.survivalTable:
            parameterNode.survivalTable = scene.AddNewNodeByClass(
                "vtkMRMLTableNode", scene.GenerateUniqueName("PRIME survival curve")
            )
        tableNode = parameterNode.survivalTable
        nodes.writeSurvivalTable(survivalCurvePoints(result), tableNode)
        chartNode = parameterNode.survivalChart
        if not chartNode:
            chartNode = scene.AddNewNodeByClass(
                "vtkMRMLPlotChartNode", scene.GenerateUniqueName("PRIME survival")
            )
            chartNode.SetXAxisTitle(_("Months from treatment start"))
            chartNode.SetYAxisTitle(_("Survival probability"))
        seriesNode = chartNode.GetNthPlotSeriesNode(0) if chartNode.GetNumberOfPlotSeriesNodes() else None
        if seriesNode is None:
            seriesNode = scene.AddNewNodeByClass(
                "vtkMRMLPlotSeriesNode", scene.GenerateUniqueName("PRIME S(t)")
            )
            chartNode.AddAndObservePlotSeriesNodeID(seriesNode.GetID())
        seriesNode.SetAndObserveTableNodeID(tableNode.GetID())
        seriesNode.SetXColumnName("Month")
        seriesNode.SetYColumnName("Survival")
        seriesNode.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeScatter)
        seriesNode.SetMarkerStyle(slicer.vtkMRMLPlotSeriesNode.MarkerStyleNone)
        seriesNode.SetName(f"{result.get('case_id', 'case')} S(t)")
        chartNode.SetTitle(survivalCurveTitle(result))  # a landmark model's curve says so
        parameterNode.survivalChart = chartNode
        parameterNode.responseProbability = float(result["response_probability"])
        parameterNode.riskScore = float(result["risk_score"])
        parameterNode.riskGroup = str(result["risk_group"])
        parameterNode.quadrant = str(result["quadrant"])
        parameterNode.resultJson = json.dumps(result)

    def saveReport(self, parameterNode, path) -> dict:
        """The patient report of the last result as ``<path>.html`` and ``<path>.pdf`` (a suffix in
        ``path`` is replaced); the clinical record as entered is shown beside the model's inputs.
        Returns {"html": Path, "pdf": Path, ...} as PRIMELib.reports.patient.write_patient_report does."""
        from PRIMELib.errors import PRIMEInputError
        from PRIMELib.reports.patient import write_patient_report

        if not parameterNode.resultJson:
            raise PRIMEInputError(
                "There is no result to report yet.",
                field="result",
                hint="Press Score first; the report is made from the last result.",
            )
        # A saved record that cannot be read (the form says so) leaves the report without it.
        record = recordFromSavedJson(parameterNode.clinicalRecordJson)[0] or None
        return write_patient_report(
            json.loads(parameterNode.resultJson), path, formats=("html", "pdf"), record=record
        )
