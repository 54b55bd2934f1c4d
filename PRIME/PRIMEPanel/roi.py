"""The Tumour ROI part of the PRIME module's Logic, without Qt: an initial tumour segment from a box
or seeds, the ROI carried to the venous phase, undo of both, and the embedded Segment Editor's
parameter node. ``PRIMELogic`` inherits it, so these are ``PRIMELogic`` methods (console API)."""

from __future__ import annotations

import logging

import slicer

from PRIMEPanel import nodes
from PRIMEPanel.rules import CARRIED_ROI_TAG, INITIAL_ROI_TAG, TUMOUR_SEGMENT_NAME


class TumourRoiLogic:
    """Moves the tumour ROI between MRML (markups, segmentation, volume nodes) and
    PRIMELib.segmentation. Raises exceptions; never opens dialogs.

    Slicer Python console::

        logic = slicer.util.getModuleLogic("PRIME")
        parameters = logic.getParameterNode()  # arterialVolume, venousVolume, roiNode chosen
        logic.createInitialRoi(parameters.arterialVolume, parameters.roiNode, parameterNode=parameters)
        carried = logic.carryRoiToVenous(parameters, register=True)
        print(carried.registration.translation_mm)
        logic.undoLastRoi(parameters)  # back to before the carry
    """

    #: Singleton tag of the panel's own Segment Editor parameter node.
    SEGMENT_EDITOR_TAG = "PRIMESegmentEditor"

    @property
    def roiUndo(self) -> nodes.RoiUndo:
        """The states of segmentations before each PRIME change (initial ROI, carry), for undo."""
        if getattr(self, "_roiUndo", None) is None:
            self._roiUndo = nodes.RoiUndo()
        return self._roiUndo

    def createInitialRoi(
        self,
        arterialVolumeNode,
        roiNode=None,
        segmentationNode=None,
        seedsNode=None,
        segmentName: str = TUMOUR_SEGMENT_NAME,
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
        are kept), unless ``segmentID`` names one to overwrite. The segmentation's state before the
        change is saved: :meth:`undoLastRoi` restores it. Returns (segmentationNode, segmentID,
        PRIMELib's SegmentationResult); with ``parameterNode``, its segmentation and segmentID are set.
        """
        from PRIMELib.errors import PRIMEInputError
        from PRIMELib.segmentation import BoxPrompt, lps_from_ras, segment_tumour

        if arterialVolumeNode is None:
            raise PRIMEInputError("No arterial volume is selected.", field="arterial volume")
        if roiNode is not None and roiNode.IsA("vtkMRMLMarkupsFiducialNode") and seedsNode is None:
            roiNode, seedsNode = None, roiNode
        if roiNode is not None and not roiNode.IsA("vtkMRMLMarkupsROINode"):
            raise PRIMEInputError(
                f"'{roiNode.GetName()}' is a {roiNode.GetClassName()}, not an ROI box or a point list.",
                field="ROI",
                value=roiNode.GetName(),
                expected="a markups ROI (box) or a markups point list (seeds)",
            )
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
            nodes.imageFromVolumeNode(arterialVolumeNode),
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
        elif segmentationNode.GetSegmentation().GetNumberOfSegments() == 0:
            segmentationNode.SetReferenceImageGeometryParameterFromVolumeNode(arterialVolumeNode)
        self.roiUndo.save(segmentationNode)
        segmentation = segmentationNode.GetSegmentation()
        if not segmentID or segmentation.GetSegment(segmentID) is None:
            segmentID = segmentation.AddEmptySegment("", segmentName, [0.9, 0.45, 0.2])
        nodes.writeMaskToSegment(result.mask, segmentationNode, segmentID, arterialVolumeNode)
        nodes.setSegmentTag(segmentationNode, segmentID, INITIAL_ROI_TAG, result.to_dict())
        if parameterNode is not None:
            parameterNode.segmentation = segmentationNode
            parameterNode.segmentID = segmentID
        for warning in result.warnings:
            logging.warning("PRIME initial ROI: %s", warning)
        return segmentationNode, segmentID, result

    def carryRoiToVenous(self, parameterNode, register: bool = True, progress=None):
        """The tumour segment resampled into the venous volume's grid, as segment "<name> (venous)".

        With ``register``, the venous phase is first rigidly registered to the arterial phase
        (PRIMELib.segmentation.register_rigid) so the ROI follows any motion between the acquisitions.
        The segment is written again on each call; the state before is saved for :meth:`undoLastRoi`.
        Sets the parameter node's venousSegmentID and unticks sameRoiForBothPhases, so scoring uses the
        carried ROI for the venous phase. Returns PRIMELib's CarriedRoi (masks, overlay, registration).
        """
        import SimpleITK as sitk

        from PRIMELib.errors import PRIMEInputError
        from PRIMELib.segmentation import carry_roi_to_venous

        parameters = parameterNode
        nodes.requireBothPhases(parameters)
        segmentationNode = parameters.segmentation
        if not nodes.segmentExists(segmentationNode, parameters.segmentID):
            raise PRIMEInputError(
                "No tumour segment is selected: there is nothing to carry to the venous phase.",
                field="segment",
                value=parameters.segmentID,
                hint="Create the initial ROI (or choose the tumour segment) first.",
            )
        carried = carry_roi_to_venous(
            nodes.imageFromVolumeNode(parameters.arterialVolume),
            nodes.imageFromVolumeNode(parameters.venousVolume),
            nodes.maskFromSegment(segmentationNode, parameters.segmentID, parameters.arterialVolume),
            register=register,
            progress=progress,
        )
        self.roiUndo.save(segmentationNode)
        segmentation = segmentationNode.GetSegmentation()
        venousSegmentID = parameters.venousSegmentID
        if (
            not nodes.segmentExists(segmentationNode, venousSegmentID)
            or venousSegmentID == parameters.segmentID
        ):
            name = segmentation.GetSegment(parameters.segmentID).GetName() + " (venous)"
            venousSegmentID = segmentation.AddEmptySegment("", name, [0.2, 0.55, 0.9])
        nodes.writeMaskToSegment(
            carried.venous_mask, segmentationNode, venousSegmentID, parameters.venousVolume
        )
        spacing = carried.venous_mask.GetSpacing()
        voxels = int(sitk.GetArrayViewFromImage(carried.venous_mask).astype(bool).sum())
        summary = {
            "segment": segmentation.GetSegment(venousSegmentID).GetName(),
            "volume_ml": voxels * spacing[0] * spacing[1] * spacing[2] / 1000.0,
            "registration": carried.registration.to_dict() if carried.registration else None,
        }
        nodes.setSegmentTag(segmentationNode, venousSegmentID, CARRIED_ROI_TAG, summary)
        parameters.venousSegmentID = venousSegmentID
        parameters.sameRoiForBothPhases = False
        if carried.registration is not None:
            for warning in carried.registration.warnings:
                logging.warning("PRIME carry to venous: %s", warning)
        return carried

    def canUndoRoi(self, segmentationNode) -> bool:
        return self.roiUndo.canUndo(segmentationNode)

    def undoLastRoi(self, parameterNode=None, segmentationNode=None) -> bool:
        """Put the segmentation back as it was before the last PRIME change (initial ROI or carry).

        ``segmentationNode`` defaults to the parameter node's; the parameter node's segment IDs are
        cleared when the segments they name are gone. False when there is nothing to undo."""
        if segmentationNode is None and parameterNode is not None:
            segmentationNode = parameterNode.segmentation
        if not self.roiUndo.undo(segmentationNode):
            return False
        if parameterNode is not None and parameterNode.segmentation == segmentationNode:
            if not nodes.segmentExists(segmentationNode, parameterNode.segmentID):
                parameterNode.segmentID = ""
            if not nodes.segmentExists(segmentationNode, parameterNode.venousSegmentID):
                parameterNode.venousSegmentID = ""
        return True

    def getSegmentEditorNode(self):
        """The panel's own Segment Editor parameter node (a scene singleton), editing without overwriting
        other segments: the arterial and venous ROIs overlap, and painting one must not erase the other.

        The modes are set on every call, not only when the node is made: closing the scene keeps a
        singleton node but resets it (vtkMRMLScene::Clear), back to overwriting all segments."""
        scene = slicer.mrmlScene
        node = scene.GetSingletonNode(self.SEGMENT_EDITOR_TAG, "vtkMRMLSegmentEditorNode")
        if node is None:
            node = slicer.vtkMRMLSegmentEditorNode()
            node.SetSingletonTag(self.SEGMENT_EDITOR_TAG)
            node.SetName("PRIME segment editor")
            node = scene.AddNode(node)
        if node.GetOverwriteMode() != slicer.vtkMRMLSegmentEditorNode.OverwriteNone:
            node.SetOverwriteMode(slicer.vtkMRMLSegmentEditorNode.OverwriteNone)
        if node.GetMaskMode() != slicer.vtkMRMLSegmentationNode.EditAllowedEverywhere:
            node.SetMaskMode(slicer.vtkMRMLSegmentationNode.EditAllowedEverywhere)
        return node

    def updateSegmentEditorNode(self, parameterNode, selectSegment: bool = False):
        """Point the Segment Editor at the chosen segmentation, with the arterial phase as source volume;
        ``selectSegment``: also select the tumour segment (after a new initial ROI)."""
        editorNode = self.getSegmentEditorNode()
        if editorNode.GetSegmentationNode() != parameterNode.segmentation:
            editorNode.SetAndObserveSegmentationNode(parameterNode.segmentation)
        if editorNode.GetSourceVolumeNode() != parameterNode.arterialVolume:
            editorNode.SetAndObserveSourceVolumeNode(parameterNode.arterialVolume)
        if selectSegment and nodes.segmentExists(parameterNode.segmentation, parameterNode.segmentID):
            editorNode.SetSelectedSegmentID(parameterNode.segmentID)
        return editorNode
