"""MRML nodes ⇄ what PRIMELib takes and returns, without Qt.

Volumes become SimpleITK images in LPS (as ITK and PyRadiomics expect) with their geometry kept;
segments become binary masks on a chosen volume's voxel grid; masks go back into segments; results go
into table nodes. :class:`RoiUndo` keeps the states of segmentations before PRIME changes them, with
the segment editor's own mechanism (``vtkSegmentationHistory``), so each change can be undone.
"""

from __future__ import annotations

import json

import slicer
import vtk


def _directionsRas(volumeNode) -> list[list[float]]:
    ijkToRas = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASDirectionMatrix(ijkToRas)
    return [[ijkToRas.GetElement(row, col) for col in range(3)] for row in range(3)]


def imageFromVolumeNode(volumeNode):
    """The volume as a SimpleITK image in LPS, as PyRadiomics and ITK expect."""
    from PRIMELib.io import image_from_ras_array

    return image_from_ras_array(
        slicer.util.arrayFromVolume(volumeNode),
        spacing=volumeNode.GetSpacing(),
        origin_ras=volumeNode.GetOrigin(),
        directions_ras=_directionsRas(volumeNode),
    )


def maskFromSegment(segmentationNode, segmentID, referenceVolumeNode):
    """The segment as a binary (uint8) SimpleITK mask on the reference volume's voxel grid."""
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
    return image_from_ras_array(
        (array != 0).astype("uint8"),
        spacing=referenceVolumeNode.GetSpacing(),
        origin_ras=referenceVolumeNode.GetOrigin(),
        directions_ras=_directionsRas(referenceVolumeNode),
    )


def writeMaskToSegment(mask, segmentationNode, segmentID, referenceVolumeNode) -> None:
    """Replace the segment's content with ``mask`` (a SimpleITK image on the reference volume's grid)."""
    import SimpleITK as sitk

    slicer.util.updateSegmentBinaryLabelmapFromArray(
        sitk.GetArrayFromImage(mask), segmentationNode, segmentID, referenceVolumeNode
    )


def volumeNodeFromImage(image, name, className="vtkMRMLScalarVolumeNode"):
    """Put a SimpleITK (LPS) image into the scene (RAS) as a new volume node, keeping its geometry."""
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


def requireBothPhases(parameterNode) -> None:
    """Raise PRIMEInputError naming the phase when the arterial or venous volume is not chosen."""
    from PRIMELib.errors import PRIMEInputError

    for node, name in (
        (parameterNode.arterialVolume, "arterial volume"),
        (parameterNode.venousVolume, "venous volume"),
    ):
        if node is None:
            raise PRIMEInputError(f"No {name} is selected.", field=name, hint=f"Choose the {name}.")


def segmentExists(segmentationNode, segmentID) -> bool:
    return bool(segmentationNode and segmentID) and (
        segmentationNode.GetSegmentation().GetSegment(segmentID) is not None
    )


def segmentTag(segmentationNode, segmentID, tag: str) -> dict | None:
    """The JSON a PRIME tag holds on a segment (None: no such segment or tag)."""
    if not segmentExists(segmentationNode, segmentID):
        return None
    value = vtk.reference("")
    if not segmentationNode.GetSegmentation().GetSegment(segmentID).GetTag(tag, value):
        return None
    return json.loads(str(value))


def setSegmentTag(segmentationNode, segmentID, tag: str, data: dict) -> None:
    segmentationNode.GetSegmentation().GetSegment(segmentID).SetTag(tag, json.dumps(data))


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


class RoiUndo:
    """Undo for the segmentation changes PRIME makes (initial ROI, carry to venous).

    One ``vtkSegmentationHistory`` per segmentation node — the class Slicer's Segment Editor keeps its
    undo states in. :meth:`save` records a segmentation's state before a change; :meth:`undo` puts
    the last recorded state back (the segments, their labelmaps, names and tags).
    """

    maximumStates = 10

    def __init__(self) -> None:
        self._histories: dict[str, object] = {}  # segmentation node ID -> vtkSegmentationHistory

    def _history(self, segmentationNode, create: bool):
        nodeID = segmentationNode.GetID()
        history = self._histories.get(nodeID)
        if history is not None and history.GetSegmentation() is not segmentationNode.GetSegmentation():
            history = None  # the node's segmentation object was replaced (scene reloaded): start over
        if history is None and create:
            history = slicer.vtkSegmentationHistory()
            history.SetMaximumNumberOfStates(self.maximumStates)
            history.SetSegmentation(segmentationNode.GetSegmentation())
            self._histories[nodeID] = history
        return history

    def save(self, segmentationNode) -> None:
        self._history(segmentationNode, create=True).SaveState()

    def canUndo(self, segmentationNode) -> bool:
        if segmentationNode is None or segmentationNode.GetScene() is None:
            return False
        history = self._history(segmentationNode, create=False)
        return bool(history is not None and history.IsRestorePreviousStateAvailable())

    def undo(self, segmentationNode) -> bool:
        """Restore the state before the last change; False when there is none."""
        if not self.canUndo(segmentationNode):
            return False
        return bool(self._history(segmentationNode, create=False).RestorePreviousState())

    def clear(self) -> None:
        self._histories.clear()
