"""PRIME: the 3D Slicer module. It only moves data between MRML nodes, the panel and PRIMELib."""

import json
import logging
import os
import sys

import qt
import slicer
import vtk
from slicer import (
    vtkMRMLPlotChartNode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLTableNode,
)
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
    modelPath - the model bundle (.prime); empty: the shipped default model.
    featureTable - where the extracted radiomics are written.
    resultJson - the last scoring result, as JSON (empty before scoring).
    responseProbability, riskScore, riskGroup, quadrant - the last result's headline values.
    survivalTable, survivalChart - the last result's survival curve (Month, Survival) and its plot chart.
    """

    arterialVolume: vtkMRMLScalarVolumeNode
    venousVolume: vtkMRMLScalarVolumeNode
    segmentation: vtkMRMLSegmentationNode
    segmentID: str = ""
    venousSegmentID: str = ""
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
    """The panel. Uses ScriptedLoadableModuleWidget base class."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._clinicalInputs = {}  # schema name -> QLineEdit or QComboBox
        self._clinicalRecordShown = None  # the clinicalRecordJson the form shows
        self._process = None  # the running scoring QProcess
        self._processFolder = None
        self._outputDir = None
        self._stderrBuffer = ""
        self._modelCardFor = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)

        uiWidget = slicer.util.loadUI(self.resourcePath("UI/PRIME.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = PRIMELogic()
        self._buildClinicalForm()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.scoreButton.connect("clicked(bool)", self.onScoreButton)
        self.ui.loadClinicalButton.connect("clicked(bool)", self.onLoadClinicalButton)
        self.ui.saveClinicalButton.connect("clicked(bool)", self.onSaveClinicalButton)
        self.ui.showSurvivalCurveButton.connect("clicked(bool)", self.onShowSurvivalCurveButton)
        self.ui.showFeatureTableButton.connect("clicked(bool)", self.onShowFeatureTableButton)
        self.ui.segmentSelector.connect("currentSegmentChanged(QString)", self._onSegmentChanged)

        self.initializeParameterNode()

    def _buildClinicalForm(self) -> None:
        """A collapsible box per schema group: numbers and text as line edits, choices as combo boxes."""
        import ctk

        formLayout = qt.QVBoxLayout(self.ui.clinicalFormWidget)
        formLayout.setContentsMargins(0, 0, 0, 0)
        groups = {}
        for field in clinicalFormFields():
            if field.group not in groups:
                box = ctk.ctkCollapsibleButton()
                box.text = field.group.replace("_", " ").capitalize()
                box.collapsed = field.group not in ("case", "demographics", "labs")
                formLayout.addWidget(box)
                groups[field.group] = qt.QFormLayout(box)
            if field.choices:
                editor = qt.QComboBox()
                for code, text in field.choices:
                    editor.addItem(text, str(code))
                editor.connect("currentIndexChanged(int)", self._onClinicalEdited)
            else:
                editor = qt.QLineEdit()
                editor.setPlaceholderText(field.placeholder)
                editor.connect("editingFinished()", self._onClinicalEdited)
            editor.setToolTip(field.toolTip)
            editor.setProperty("defaultToolTip", field.toolTip)
            label = field.label + (f" ({field.unit})" if field.unit else "")
            groups[field.group].addRow(label + ":", editor)
            self._clinicalInputs[field.name] = editor

    def _clinicalTexts(self) -> dict:
        texts = {}
        for name, editor in self._clinicalInputs.items():
            texts[name] = editor.currentData if isinstance(editor, qt.QComboBox) else editor.text
        return texts

    def _showClinicalTexts(self, texts: dict) -> None:
        for name, editor in self._clinicalInputs.items():
            text = texts.get(name, "")
            wasBlocked = editor.blockSignals(True)
            if isinstance(editor, qt.QComboBox):
                if text and editor.findData(str(text)) < 0:
                    editor.addItem(str(text), str(text))  # an invalid code: shown, then marked invalid
                editor.currentIndex = max(editor.findData(str(text)), 0)
            else:
                editor.text = text
            editor.blockSignals(wasBlocked)

    def _onClinicalEdited(self, *args) -> None:
        """Validate the form, mark invalid fields with the reason, show derived indices, store the record."""
        record, errors = clinicalRecordFromTexts(self._clinicalTexts())
        for name, editor in self._clinicalInputs.items():
            error = errors.get(name)
            editor.setStyleSheet("border: 1px solid #c0392b;" if error else "")
            editor.setToolTip(error or editor.property("defaultToolTip"))
        self.ui.clinicalErrorsLabel.text = "\n".join(errors.values())
        self.ui.derivedIndicesLabel.text = derivedIndicesText(record)
        if self._parameterNode:
            self._clinicalRecordShown = json.dumps(record)
            self._parameterNode.clinicalRecordJson = self._clinicalRecordShown

    def cleanup(self) -> None:
        self._cancelScoring()
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGuiState)

    def onSceneStartClose(self, caller, event) -> None:
        self._cancelScoring()
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
        self._clinicalRecordShown = None
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGuiState)
            self._updateGuiState()

    def _onSegmentChanged(self, segmentID) -> None:
        if self._parameterNode:
            self._parameterNode.segmentation = self.ui.segmentSelector.currentNode()
            self._parameterNode.segmentID = segmentID or ""

    def _updateGuiState(self, caller=None, event=None) -> None:
        parameters = self._parameterNode
        running = self._process is not None
        state = scoreButtonState(parameters, running=running)
        self.ui.scoreButton.enabled = state.enabled
        self.ui.scoreButton.toolTip = state.toolTip
        self.ui.scoreButton.text = scoreButtonText(running)
        self.ui.resultsLabel.text = resultSummaryText(parameters.resultJson if parameters else "")
        self.ui.showSurvivalCurveButton.enabled = bool(parameters and parameters.survivalChart)
        self.ui.showFeatureTableButton.enabled = bool(parameters and parameters.featureTable)
        if parameters and parameters.clinicalRecordJson != self._clinicalRecordShown:
            # A record loaded, or a scene restored: show it in the form.
            self._clinicalRecordShown = parameters.clinicalRecordJson
            stored = json.loads(parameters.clinicalRecordJson or "{}")
            self._showClinicalTexts(clinicalTextsFromRecord(stored))
            record, _errors = clinicalRecordFromTexts(self._clinicalTexts())
            self.ui.derivedIndicesLabel.text = derivedIndicesText(record)
        modelPath = parameters.modelPath if parameters else ""
        if modelPath != self._modelCardFor:
            self._modelCardFor = modelPath
            try:
                self.ui.modelCardTextEdit.plainText = modelCardText(modelPath)
            except Exception as error:  # a bad bundle path: say why in the card box, not a dialog per edit
                self.ui.modelCardTextEdit.plainText = _("Cannot read this model bundle: ") + str(error)

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
            record = loadClinicalRecord(path, caseId or None)
            self._showClinicalTexts(clinicalTextsFromRecord(record))
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
            record, _errors = clinicalRecordFromTexts(self._clinicalTexts())
            saveClinicalRecord(record, path)

    def onShowSurvivalCurveButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to show the survival curve."), waitCursor=True):
            slicer.modules.plots.logic().ShowChartInLayout(self._parameterNode.survivalChart)

    def onShowFeatureTableButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to show the feature table."), waitCursor=True):
            slicer.app.layoutManager().setLayout(slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpTableView)
            applicationLogic = slicer.app.applicationLogic()
            applicationLogic.GetSelectionNode().SetActiveTableID(self._parameterNode.featureTable.GetID())
            applicationLogic.PropagateTableSelection()

    def onScoreButton(self) -> None:
        """Score in a subprocess (the GUI stays responsive); pressed while running, it cancels."""
        if self._process is not None:
            self._cancelScoring()
            return
        import shutil
        import tempfile

        import PRIMELib

        self._processFolder = None
        try:
            with slicer.util.tryWithErrorDisplay(_("Scoring failed."), waitCursor=True):
                if not ensureScoringDependencies(slicer.util.confirmOkCancelDisplay):
                    return
                self._processFolder = tempfile.mkdtemp(prefix="PRIME-", dir=slicer.app.temporaryPath)
                arguments = self.logic.writeCaseFiles(self._parameterNode, self._processFolder)
                command = scoreCommand(**arguments)
                process = qt.QProcess()
                # `-m PRIMELib` finds the library from the working directory, installed or in a checkout.
                libraryFolder = os.path.dirname(os.path.dirname(os.path.abspath(PRIMELib.__file__)))
                process.setWorkingDirectory(libraryFolder)
                process.connect("readyReadStandardError()", self._onProcessOutput)
                process.connect("finished(int,QProcess::ExitStatus)", self._onProcessFinished)
                self._stderrBuffer = ""
                self._outputDir = arguments["outputDir"]
                self._process = process
                self.ui.progressBar.value = 0
                process.start(command[0], command[1:])
                self._updateGuiState()
        finally:
            if self._process is None and self._processFolder:
                shutil.rmtree(self._processFolder, ignore_errors=True)

    def _onProcessOutput(self) -> None:
        self._stderrBuffer += self._process.readAllStandardError().data().decode("utf-8", "replace")
        for line in self._stderrBuffer.splitlines():
            parsed = parseProgressLine(line)
            if parsed:
                self.ui.progressBar.value = round(100 * parsed[0])
                self.ui.progressBar.format = f"{parsed[1]} %p%"

    def _onProcessFinished(self, exitCode, exitStatus) -> None:
        import shutil

        process, self._process = self._process, None
        if process is None:  # cancelled
            return
        self._onProcessStopped()
        with slicer.util.tryWithErrorDisplay(_("Scoring failed."), waitCursor=True):
            if exitCode != 0:
                lines = [line for line in self._stderrBuffer.splitlines() if not parseProgressLine(line)]
                raise RuntimeError("\n".join(lines[-15:]) or _("The scoring process stopped."))
            self.logic.readScoreOutputs(self._outputDir, self._parameterNode)
        shutil.rmtree(self._processFolder, ignore_errors=True)
        self._updateGuiState()

    def _cancelScoring(self) -> None:
        """Kill the scoring process (it runs PRIMELib alone, so killing it stops all the work)."""
        import shutil

        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.waitForFinished(3000)
        self.ui.progressBar.format = _("Cancelled")
        if self._processFolder:
            shutil.rmtree(self._processFolder, ignore_errors=True)
        self._onProcessStopped()

    def _onProcessStopped(self) -> None:
        if self._parameterNode:
            self._updateGuiState()


#
# Qt-free rules of the panel (tested without Qt)
#


class ButtonState:
    def __init__(self, enabled: bool, toolTip: str) -> None:
        self.enabled = enabled
        self.toolTip = toolTip


def scoreButtonState(parameterNode, running: bool = False) -> ButtonState:
    """Score is enabled once both phases and a tumour segment are chosen; the tooltip says what is missing.
    While scoring runs the button is Cancel, always enabled."""
    if running:
        return ButtonState(True, _("Stop scoring (kills the scoring process)."))
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
    lines = [
        f"PRIME-R: {result['response_probability']:.0%} ({result['response_class']})",
        f"PRIME-S: risk {result['risk_score']:+.2f} ({result['risk_group']} risk); survival {survival}",
        f"{result['quadrant']}: {result['quadrant_text']}",
    ]
    for title, key in (
        (_("Response driven by"), "top_response_features"),
        (_("Risk driven by"), "top_survival_features"),
    ):
        top = result.get(key) or []
        if top:
            terms = ", ".join(f"{item['feature']} ({float(item['contribution']):+.2f})" for item in top[:3])
            lines.append(f"{title}: {terms}")
    for warning in result.get("warnings") or []:
        lines.append(_("Warning: ") + str(warning))
    return "\n".join(lines)


#: Schema groups that are follow-up measurements or outcomes, not inputs at treatment start.
NOT_FORM_GROUPS = ("response", "outcome")

#: Derived indices shown live under the clinical form, in this order.
DERIVED_SHOWN = ("albi_score", "albi_grade", "pni", "child_pugh", "child_pugh_class", "bclc", "nlr")


class FormField:
    """One input of the clinical form, from the clinical schema (what the widget needs to show)."""

    def __init__(self, variable) -> None:
        self.name = variable.name
        self.label = variable.label
        self.kind = str(getattr(variable.kind, "value", variable.kind))
        self.group = variable.group
        self.unit = variable.unit
        self.minimum = variable.minimum
        self.maximum = variable.maximum
        #: [(code, text shown)]; empty for numbers and text. The first entry is "not given".
        self.choices = (
            [("", "—")] + [(choice.code, f"{choice.code}: {choice.label}") for choice in variable.choices]
            if variable.choices
            else []
        )
        self.toolTip = f"{variable.help}\n{_('Expected')}: {variable.expected()}".strip()

    @property
    def placeholder(self) -> str:
        """Text shown in an empty number field: the valid range and unit."""
        if self.minimum is None or self.maximum is None:
            return self.unit
        return f"{self.minimum:g}–{self.maximum:g} {self.unit}".strip()


def clinicalFormFields() -> list[FormField]:
    """The clinical form's inputs, in schema order: entered values only (no derived index, no outcome)."""
    from PRIMELib.clinical import CLINICAL_SCHEMA

    return [
        FormField(variable)
        for variable in CLINICAL_SCHEMA
        if not variable.is_derived and variable.group not in NOT_FORM_GROUPS
    ]


def clinicalFieldValue(name: str, text) -> tuple[object, str]:
    """What a form field's text means: (canonical value or None when blank, error message or "")."""
    from PRIMELib.clinical import CLINICAL_SCHEMA
    from PRIMELib.clinical.validation import validate_value
    from PRIMELib.errors import PRIMEInputError

    text = "" if text is None else str(text).strip()
    if text == "":
        return None, ""
    variable = CLINICAL_SCHEMA.get_variable(name)
    kind = str(getattr(variable.kind, "value", variable.kind))
    value: object = text
    if kind in ("number", "integer") or (kind == "ordinal" and text.lstrip("-").isdigit()):
        try:
            number = float(text)
        except ValueError:
            expected = variable.expected()
            return None, f"{variable.label}: '{text}' {_('is not a number')}. {_('Expected')} {expected}."
        value = int(number) if number.is_integer() and kind != "number" else number
    try:
        value, _warnings = validate_value(name, value)
    except PRIMEInputError as error:
        return None, str(error)
    return value, ""


def clinicalRecordFromTexts(texts: dict) -> tuple[dict, dict]:
    """The form's texts as a clinical record: (valid values by name, error message by name)."""
    record, errors = {}, {}
    for name, text in texts.items():
        value, error = clinicalFieldValue(name, text)
        if error:
            errors[name] = error
        elif value is not None:
            record[name] = value
    return record, errors


def clinicalTextsFromRecord(record: dict) -> dict:
    """Text for each form field from a record (blank for values it lacks). Valid values are shown in
    canonical form (an alias such as "M" as the code "male"); invalid ones as given, to be marked."""
    texts = {}
    for field in clinicalFormFields():
        value = record.get(field.name)
        canonical, error = clinicalFieldValue(field.name, value)
        if not error:
            value = canonical
        if value is None:
            texts[field.name] = ""
        else:
            texts[field.name] = f"{value:g}" if isinstance(value, float) else str(value)
    return texts


def derivedIndicesText(record: dict) -> str:
    """Live text under the form: ALBI, PNI, Child–Pugh, … and the Δ changes, from the valid values."""
    from PRIMELib.clinical import CLINICAL_SCHEMA, prepare_record
    from PRIMELib.errors import PRIMEInputError

    try:
        values = prepare_record(record).values
    except PRIMEInputError as error:
        return _("Derived indices unavailable: ") + str(error)
    lines = []
    shown = list(DERIVED_SHOWN) + [name for name in values if name.startswith("delta_")]
    for name in shown:
        if values.get(name) is None:
            continue
        variable = CLINICAL_SCHEMA.get_variable(name)
        value = values[name]
        if name.startswith("delta_"):
            text = f"{value:+.0%}"
        elif isinstance(value, float):
            text = f"{value:.2f}"
        else:
            text = str(value)
        lines.append(f"{variable.label}: {text}")
    return "\n".join(lines) if lines else _("Derived indices appear as the values they need are entered.")


def loadClinicalRecord(path, caseId: str | None = None) -> dict:
    """A clinical record from a JSON object file, or from the row of a CSV file whose case_id is ``caseId``
    (the only row when the file has one). Values are returned as given (the form validates them)."""
    import csv

    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.pipeline import load_clinical_record

    if not str(path).lower().endswith((".csv", ".tsv")):
        return load_clinical_record(path)
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file, delimiter="\t" if str(path).lower().endswith(".tsv") else ","))
    if caseId:
        rows = [row for row in rows if (row.get("case_id") or "").strip() == caseId]
    if len(rows) != 1:
        ids = ", ".join((row.get("case_id") or "?") for row in rows[:10])
        raise PRIMEInputError(
            f"The clinical table '{path}' has {len(rows)} rows for case '{caseId or ''}'"
            + (f" ({ids})" if ids else "")
            + ".",
            field="case_id",
            value=caseId,
            expected="exactly one row with that case_id",
            hint="Type the case_id of the row to load.",
        )
    return {name: text.strip() for name, text in rows[0].items() if name and text and text.strip()}


def saveClinicalRecord(record: dict, path) -> None:
    """Write the clinical record as a JSON object (canonical names and units)."""
    with open(path, "w", encoding="utf-8") as file:
        json.dump(record, file, indent=2, ensure_ascii=False)
        file.write("\n")


def modelCardText(modelPath: str = "") -> str:
    """The model card of the bundle at ``modelPath`` (empty: the default model), as plain text."""
    from PRIMELib.pipeline import resolve_model

    model = resolve_model(modelPath or None)
    card = dict(getattr(model, "model_card", None) or {})
    name = getattr(model, "name", "") or card.get("name", "")
    lines = [f"{_('Model')}: {name}"] if name else []
    for key, value in card.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


#
# Scoring in a subprocess (the GUI stays responsive): command and progress lines, Qt-free
#


def scoreCommand(
    arterialPath, venousPath, maskPath, clinicalPath, outputDir, venousMaskPath=None, modelPath=None
) -> list[str]:
    """The command line that scores one case from files with PRIMELib, in Slicer's own Python."""
    command = [sys.executable, "-m", "PRIMELib", "score"]
    command += ["--arterial", str(arterialPath), "--venous", str(venousPath), "--mask", str(maskPath)]
    command += ["--clinical", str(clinicalPath), "--output", str(outputDir)]
    if venousMaskPath:
        command += ["--venous-mask", str(venousMaskPath)]
    if modelPath:
        command += ["--model", str(modelPath)]
    return command


def parseProgressLine(line: str) -> tuple[float, str] | None:
    """A progress line printed by ``prime score`` (`` 45% Extracting…``) as (fraction, message)."""
    import re

    match = re.match(r"^\s*(\d{1,3})%\s+(.*?)\s*$", line or "")
    if not match:
        return None
    return min(int(match.group(1)), 100) / 100.0, match.group(2)


def scoreButtonText(running: bool) -> str:
    """Score turns into Cancel while a scoring process runs."""
    return _("Cancel") if running else _("Score")


def missingPackages(modules: dict) -> list[str]:
    """Pip requirements whose module cannot be imported, from {import name: requirement}."""
    import importlib.util

    return [need for module, need in modules.items() if importlib.util.find_spec(module) is None]


#: Import name → pip requirement of what scoring needs (installed on first use, after asking).
SCORING_REQUIREMENTS = {
    "radiomics": "pyradiomics-bhklab>=3.1.4",
    "sksurv": "scikit-survival>=0.28",
    "skops": "skops>=0.16",
    "pandas": "pandas>=2.1",
    "yaml": "PyYAML>=6.0",
    "typer": "typer>=0.12",
    "rich": "rich>=13.7",
}


def ensureScoringDependencies(ask, install=None) -> bool:
    """Install the missing scoring packages after ``ask(message) -> bool`` agrees; True when all present.

    ``install(requirements)``: default ``slicer.packaging.pip_ensure`` (Slicer ≥ 5.12), else
    ``slicer.util.pip_install``. Never called at import."""
    missing = missingPackages(SCORING_REQUIREMENTS)
    if not missing:
        return True
    if not ask(_("PRIME needs these Python packages: ") + ", ".join(missing) + _(". Install them now?")):
        return False
    if install is None:
        packaging = getattr(slicer, "packaging", None)
        if packaging is not None and hasattr(packaging, "pip_ensure"):
            install = packaging.pip_ensure
        else:

            def install(requirements):
                slicer.util.pip_install(" ".join(f'"{requirement}"' for requirement in requirements))

    install(missing)
    return not missingPackages(SCORING_REQUIREMENTS)


def survivalCurvePoints(result: dict) -> list[tuple[float, float]]:
    """The survival curve of a result dict: [(month, S)].

    A bundle's result carries its own ``survival_curve``; the illustrative model's result has none,
    and its curve is computed from the risk score by PRIMELib."""
    curve = result.get("survival_curve")
    if curve is not None:
        return [(float(point["month"]), float(point["survival"])) for point in curve]
    from types import SimpleNamespace

    from PRIMELib.scoring import survival_curve

    return [(float(m), float(s)) for m, s in survival_curve(SimpleNamespace(risk_score=result["risk_score"]))]


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
        model=None,
    ):
        """Score one case from MRML nodes; returns PRIMELib's CaseResult.

        The tumour segment is drawn on the arterial phase; without ``venousSegmentID`` the same segment,
        sampled on the venous grid, is the venous ROI. ``model``: a loaded model or a bundle path;
        None: the parameter node's modelPath, else the shipped default model. Results go to
        ``parameterNode`` (result fields, survival curve table and chart, feature table) when one is given.
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
            model=model or (parameterNode.modelPath if parameterNode is not None else None) or None,
            case_id=clinicalRecord.get("case_id") or arterialVolumeNode.GetName(),
            progress=progress,
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

    def createInitialRoi(
        self,
        arterialVolumeNode,
        roiNode=None,
        segmentationNode=None,
        seedsNode=None,
        segmentName: str = "Tumour",
        segmentID: str | None = None,
        engine: str = "classical",
        fallbackToClassical: bool = True,
        parameterNode=None,
        progress=None,
    ):
        """An initial tumour segment from an ROI box and/or seed points on the arterial volume.

        ``roiNode``: a vtkMRMLMarkupsROINode (its world RAS bounds are the box; a rotated ROI gives the
        box that contains it) or a markups fiducial node of seeds; ``seedsNode``: seeds with a box.
        Without ``segmentationNode`` one is created. A new segment is added each time (earlier ones
        are kept), unless ``segmentID`` names one to overwrite. Returns (segmentationNode, segmentID,
        PRIMELib's SegmentationResult); with ``parameterNode``, its segmentation and segmentID are set.
        """
        from PRIMELib.errors import PRIMEInputError
        from PRIMELib.segmentation import BoxPrompt, lps_from_ras, segment_tumour

        if arterialVolumeNode is None:
            raise PRIMEInputError("No arterial volume is selected.", field="arterial volume")
        if roiNode is not None and roiNode.IsA("vtkMRMLMarkupsFiducialNode") and seedsNode is None:
            roiNode, seedsNode = None, roiNode
        box = None
        if roiNode is not None:
            bounds = [0.0] * 6
            roiNode.GetRASBounds(bounds)
            box = BoxPrompt.from_corners_lps(lps_from_ras(bounds[0::2]), lps_from_ras(bounds[1::2]))
        seeds = None
        if seedsNode is not None and seedsNode.GetNumberOfControlPoints():
            points = []
            for index in range(seedsNode.GetNumberOfControlPoints()):
                point = [0.0, 0.0, 0.0]
                seedsNode.GetNthControlPointPositionWorld(index, point)
                points.append(point)
            seeds = lps_from_ras(points)
        result = segment_tumour(
            self.sitkImageFromVolumeNode(arterialVolumeNode),
            box=box,
            seeds_lps=seeds,
            engine=engine,
            fallback_to_classical=fallbackToClassical,
            progress=progress,
        )
        if segmentationNode is None:
            segmentationNode = slicer.mrmlScene.AddNewNodeByClass(
                "vtkMRMLSegmentationNode", slicer.mrmlScene.GenerateUniqueName("PRIME tumour")
            )
            segmentationNode.CreateDefaultDisplayNodes()
        segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(arterialVolumeNode)
        segmentation = segmentationNode.GetSegmentation()
        if not segmentID or segmentation.GetSegment(segmentID) is None:
            segmentID = segmentation.AddEmptySegment("", segmentName, [0.9, 0.45, 0.2])
        import SimpleITK as sitk

        slicer.util.updateSegmentBinaryLabelmapFromArray(
            sitk.GetArrayFromImage(result.mask), segmentationNode, segmentID, arterialVolumeNode
        )
        segmentation.GetSegment(segmentID).SetTag("PRIME.initialRoi", json.dumps(result.to_dict()))
        if parameterNode is not None:
            parameterNode.segmentation = segmentationNode
            parameterNode.segmentID = segmentID
        for warning in result.warnings:
            logging.warning("PRIME initial ROI: %s", warning)
        return segmentationNode, segmentID, result

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

    def writeCaseFiles(self, parameterNode, folder) -> dict:
        """The parameter node's inputs as files for ``prime score`` in a subprocess.

        Writes arterial.nrrd, venous.nrrd, mask.nrrd (the segment on the arterial grid), venous_mask.nrrd
        (when a separate venous segment is chosen) and clinical.json into ``folder``; returns the
        keyword arguments of :func:`scoreCommand` (output folder and model included)."""
        import SimpleITK as sitk

        from PRIMELib.errors import PRIMEInputError

        parameters = parameterNode
        for node, name in (
            (parameters.arterialVolume, "arterial volume"),
            (parameters.venousVolume, "venous volume"),
        ):
            if node is None:
                raise PRIMEInputError(f"No {name} is selected.", field=name, hint=f"Choose the {name}.")
        if parameters.segmentation is None:
            raise PRIMEInputError("No tumour segmentation is selected.", field="segmentation")
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
        sitk.WriteImage(self.sitkImageFromVolumeNode(parameters.arterialVolume), paths["arterialPath"])
        sitk.WriteImage(self.sitkImageFromVolumeNode(parameters.venousVolume), paths["venousPath"])
        mask = self.sitkMaskFromSegment(
            parameters.segmentation, parameters.segmentID, parameters.arterialVolume
        )
        sitk.WriteImage(mask, paths["maskPath"], True)
        if parameters.venousSegmentID:
            paths["venousMaskPath"] = os.path.join(folder, "venous_mask.nrrd")
            venousMask = self.sitkMaskFromSegment(
                parameters.segmentation, parameters.venousSegmentID, parameters.venousVolume
            )
            sitk.WriteImage(venousMask, paths["venousMaskPath"], True)
        record = json.loads(parameters.clinicalRecordJson or "{}")
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
        self.writeFeatureTable(features, parameterNode.featureTable)
        self.writeResults(result, parameterNode)
        return result

    def writeResults(self, scoreResult, parameterNode) -> None:
        """A PRIMELib result (ScoreResult, or its dict as in result.json) into the parameter node:
        headline fields, resultJson, and the survival curve as a table node, plot series and chart."""
        result = scoreResult if isinstance(scoreResult, dict) else scoreResult.to_dict()
        points = survivalCurvePoints(result)
        scene = slicer.mrmlScene
        if not parameterNode.survivalTable:
            parameterNode.survivalTable = scene.AddNewNodeByClass(
                "vtkMRMLTableNode", scene.GenerateUniqueName("PRIME survival curve")
            )
        tableNode = parameterNode.survivalTable
        self.writeSurvivalTable(points, tableNode)
        chartNode = parameterNode.survivalChart
        if not chartNode:
            chartNode = scene.AddNewNodeByClass(
                "vtkMRMLPlotChartNode", scene.GenerateUniqueName("PRIME survival")
            )
            chartNode.SetTitle(_("PRIME-S predicted overall survival"))
            chartNode.SetXAxisTitle(_("Months"))
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
        parameterNode.survivalChart = chartNode
        parameterNode.responseProbability = float(result["response_probability"])
        parameterNode.riskScore = float(result["risk_score"])
        parameterNode.riskGroup = str(result["risk_group"])
        parameterNode.quadrant = str(result["quadrant"])
        parameterNode.resultJson = json.dumps(result)

    @staticmethod
    def writeSurvivalTable(points, tableNode) -> None:
        """[(month, survival)] as a table with double columns Month and Survival."""
        table = tableNode.GetTable()
        tableNode.RemoveAllColumns()
        months = vtk.vtkDoubleArray()
        months.SetName("Month")
        survival = vtk.vtkDoubleArray()
        survival.SetName("Survival")
        for month, probability in points:
            months.InsertNextValue(float(month))
            survival.InsertNextValue(float(probability))
        table.AddColumn(months)
        table.AddColumn(survival)
        tableNode.Modified()

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
        curve = survivalCurvePoints(direct.score.to_dict())
        survivalTable = parameterNode.survivalTable.GetTable()
        self.assertEqual(survivalTable.GetNumberOfRows(), len(curve))
        self.assertAlmostEqual(survivalTable.GetValue(len(curve) - 1, 1).ToDouble(), curve[-1][1], places=9)
        self.assertEqual(parameterNode.survivalChart.GetNumberOfPlotSeriesNodes(), 1)
        self.assertEqual(parameterNode.quadrant, direct.score.quadrant)
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
