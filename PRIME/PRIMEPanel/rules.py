"""The panel's rules, without Qt: what is enabled when, and what each text says.

Each function takes the parameter node (or plain values) and returns plain values, so pytest covers
the panel's behaviour; the Widget in PRIME.py only copies the answers onto its widgets.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass

from PRIMEPanel.nodes import segmentExists, segmentTag

try:
    from slicer.i18n import tr as _
except ImportError:  # plain Python, outside Slicer: the source text

    def _(text: str) -> str:
        return text


#: The Segment Editor effects the panel shows, in this order: what refining an initial ROI needs.
EDITOR_EFFECTS = ("Paint", "Erase", "Smoothing", "Islands")

#: Segment tags PRIME writes (JSON): how an initial ROI was made, and how a ROI was carried to venous.
INITIAL_ROI_TAG = "PRIME.initialRoi"
CARRIED_ROI_TAG = "PRIME.carriedRoi"

#: The name of the segment the initial ROI becomes; the venous copy is "<name> (venous)".
TUMOUR_SEGMENT_NAME = "Tumour"


@dataclass(frozen=True)
class ButtonState:
    enabled: bool
    toolTip: str


@dataclass(frozen=True)
class EngineChoice:
    """One entry of the initial-ROI engine menu."""

    name: str  # as PRIMELib.segmentation.segment_tumour takes it
    text: str
    enabled: bool
    toolTip: str


# --------------------------------------------------------------------------------------------------
# Score


def venousSegmentIdForScoring(parameterNode) -> str:
    """The venous ROI scoring uses: "" (the tumour segment, on the venous grid) when the same ROI serves
    both phases, else the separate venous segment (made by *Carry ROI to venous*)."""
    return "" if parameterNode.sameRoiForBothPhases else parameterNode.venousSegmentID


def missingInputs(parameterNode) -> list[str]:
    """What scoring and carrying the ROI both need and the parameter node lacks: the two phases and
    the tumour segment."""
    missing = []
    if not parameterNode.arterialVolume:
        missing.append(_("arterial volume"))
    if not parameterNode.venousVolume:
        missing.append(_("venous volume"))
    if not segmentExists(parameterNode.segmentation, parameterNode.segmentID):
        missing.append(_("tumour segment"))
    return missing


def scoreButtonState(parameterNode, running: bool = False) -> ButtonState:
    """Score is enabled once both phases and the tumour ROI (and the venous ROI, when it is separate)
    are chosen; the tooltip says what is missing. While scoring runs the button is Cancel, enabled."""
    if running:
        return ButtonState(True, _("Stop scoring (kills the scoring process)."))
    if parameterNode is None:
        return ButtonState(False, _("No parameter node."))
    missing = missingInputs(parameterNode)
    if (
        segmentExists(parameterNode.segmentation, parameterNode.segmentID)
        and not parameterNode.sameRoiForBothPhases
        and not segmentExists(parameterNode.segmentation, parameterNode.venousSegmentID)
    ):
        missing.append(_("venous ROI (press Carry ROI to venous, or tick Same ROI for both phases)"))
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


def saveReportButtonState(parameterNode) -> ButtonState:
    if parameterNode is None or not parameterNode.resultJson:
        return ButtonState(False, _("Score the case first: the report is made from the last result."))
    return ButtonState(True, _("Save the patient report of the last result (HTML and PDF)."))


def defaultReportName(resultJson: str) -> str:
    """The report's suggested file name: PRIME_report_<case id>.html (unsafe characters replaced)."""
    caseId = str(json.loads(resultJson or "{}").get("case_id") or "case")
    return "PRIME_report_" + (re.sub(r"[^A-Za-z0-9._-]+", "_", caseId).strip("._") or "case") + ".html"


# --------------------------------------------------------------------------------------------------
# Tumour ROI


def torchAvailable() -> bool:
    """Whether PyTorch can be imported (the MedSAM engine needs it); checked without importing it."""
    return importlib.util.find_spec("torch") is not None


def roiEngineChoices(torchIsAvailable: bool) -> list[EngineChoice]:
    """The initial-ROI engines: classical always; MedSAM only with PyTorch (disabled, saying why)."""
    medsamTip = _(
        "MedSAM (SAM ViT-B with MedSAM weights), box prompts slice by slice. The weights are downloaded "
        "on first use; if that fails the classical engine is used and the status says so."
    )
    if not torchIsAvailable:
        medsamTip = _(
            "MedSAM needs PyTorch, which is not installed: install the PyTorch extension from the "
            "Extensions Manager, restart Slicer, and choose MedSAM again."
        )
    return [
        EngineChoice(
            "classical",
            _("Classical (CPU)"),
            True,
            _("Region growing inside the box from the tumour's arterial enhancement; no download, CPU."),
        ),
        EngineChoice("medsam", _("MedSAM (AI)"), torchIsAvailable, medsamTip),
    ]


def roiPromptKind(markupsNode) -> str:
    """What a markups node gives the initial ROI: "box" (an ROI), "seeds" (a point list), or ""."""
    if markupsNode is None:
        return ""
    if markupsNode.IsA("vtkMRMLMarkupsROINode"):
        return "box"
    if markupsNode.IsA("vtkMRMLMarkupsFiducialNode"):
        return "seeds"
    return ""


def createRoiButtonState(parameterNode, torchIsAvailable: bool) -> ButtonState:
    """*Create initial ROI* needs the arterial volume and a placed box or seed points; MedSAM also
    needs PyTorch and a box. The tooltip says what is missing, or what pressing it does."""
    if parameterNode is None:
        return ButtonState(False, _("No parameter node."))
    prompt = parameterNode.roiNode
    kind = roiPromptKind(prompt)
    if not parameterNode.arterialVolume:
        return ButtonState(False, _("Choose the arterial volume first: the ROI is drawn on it."))
    if prompt is None:
        return ButtonState(False, _("Choose or place an ROI box (or seed points) on the tumour."))
    if not kind:
        return ButtonState(
            False, _("'{name}' is not an ROI box or a point list.").format(name=prompt.GetName())
        )
    if kind == "box":
        bounds = [0.0] * 6
        prompt.GetRASBounds(bounds)
        if min(bounds[1] - bounds[0], bounds[3] - bounds[2], bounds[5] - bounds[4]) <= 0:
            return ButtonState(False, _("Place the ROI box around the tumour in a slice view first."))
    elif prompt.GetNumberOfControlPoints() == 0:
        return ButtonState(False, _("Place at least one seed point inside the tumour first."))
    if parameterNode.roiEngine == "medsam":
        if not torchIsAvailable:
            return ButtonState(False, roiEngineChoices(False)[1].toolTip)
        if kind != "box":
            return ButtonState(False, _("MedSAM needs a box: choose an ROI markup around the tumour."))
    target = initialRoiTargetSegmentID(parameterNode.segmentation, parameterNode.segmentID)
    replaces = _(" It replaces the segment made before (Undo brings it back).") if target else ""
    return ButtonState(
        True,
        _("Segment the tumour from the {kind} on the arterial phase as segment '{name}'.").format(
            kind=_("box") if kind == "box" else _("seed points"), name=TUMOUR_SEGMENT_NAME
        )
        + replaces,
    )


def initialRoiTargetSegmentID(segmentationNode, segmentID) -> str | None:
    """The segment a new initial ROI overwrites: the chosen tumour segment when PRIME made it (it has
    the initial-ROI tag); None — add a new segment — when it was drawn by hand or none is chosen."""
    if segmentTag(segmentationNode, segmentID, INITIAL_ROI_TAG) is None:
        return None
    return segmentID


def initialRoiStatusText(result: dict, segmentName: str) -> str:
    """The status line after *Create initial ROI*, from ``SegmentationResult.to_dict()``."""
    text = _("{name}: {volume:.1f} ml by the {engine} engine in {seconds:.1f} s.").format(
        name=segmentName, volume=result["volume_ml"], engine=result["engine"], seconds=result["seconds"]
    )
    text += " " + _("Refine it below; Undo restores the previous state.")
    return "\n".join([text] + [_("Check: ") + str(warning) for warning in result.get("warnings") or []])


def carryRoiButtonState(parameterNode) -> ButtonState:
    """*Carry ROI to venous* is for a separate venous ROI: enabled once the same-ROI box is unticked
    and both phases and the tumour segment are chosen."""
    if parameterNode is None:
        return ButtonState(False, _("No parameter node."))
    if parameterNode.sameRoiForBothPhases:
        return ButtonState(
            False, _("The tumour segment serves both phases. Untick 'Same ROI for both phases' to carry it.")
        )
    missing = missingInputs(parameterNode)
    if missing:
        return ButtonState(False, _("Choose: ") + ", ".join(missing))
    how = (
        _("after a rigid registration of the venous phase to the arterial phase")
        if parameterNode.registerVenous
        else _("as the phases lie in the scanner's space (no registration)")
    )
    return ButtonState(
        True,
        _("Resample the tumour segment into the venous volume's grid, {how}, as a second segment.").format(
            how=how
        ),
    )


def carryStatusText(summary: dict) -> str:
    """The status line after *Carry ROI to venous*, from the carried segment's tag.

    ``summary``: {"segment": name, "volume_ml": ..., "registration": RigidRegistrationResult.to_dict()
    or None}. With a registration it reports what it moved and its residual: the Mattes mutual
    information after registration (more negative = better aligned) against before."""
    text = _("'{segment}': {volume:.1f} ml on the venous grid.").format(
        segment=summary["segment"], volume=summary["volume_ml"]
    )
    registration = summary.get("registration")
    if registration is None:
        return text + " " + _("Not registered: check the segment on the venous phase.")
    moved = registration["roi_displacement_mm"]
    shift = ", ".join(f"{value:+.1f}" for value in registration["translation_mm"])
    lines = [
        text,
        _(
            "Registration moved the ROI by {mean:.1f} mm (max {max:.1f}): shift {shift} mm, rotation "
            "{rotation:.1f}°."
        ).format(mean=moved["mean"], max=moved["max"], shift=shift, rotation=registration["rotation_deg"]),
        _("Residual (Mattes MI, lower is better): {after:.3f}, from {before:.3f} unregistered.").format(
            after=registration["metric_after"], before=registration["metric_before"]
        ),
        _("Check the segment on the venous phase."),
    ]
    return "\n".join(lines + [_("Check: ") + str(warning) for warning in registration.get("warnings") or []])


def carriedRoiSummary(parameterNode) -> dict | None:
    """What the last *Carry ROI to venous* wrote on the venous segment (None before any)."""
    if parameterNode is None:
        return None
    return segmentTag(parameterNode.segmentation, parameterNode.venousSegmentID, CARRIED_ROI_TAG)
