"""PRIMELogic.createInitialRoi on real MRML: an ROI markup (or seeds) becomes a tumour segment."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def phantom():
    from PRIMELib.segmentation.phantoms import make_tumour_phantom

    return make_tumour_phantom(45.0, seed=8)


@pytest.fixture
def arterial_node(prime_module, mrml_scene, phantom):
    return prime_module.PRIMETest._volumeNodeFromSitk(phantom.arterial, "arterial")


def _roi_node(mrml_scene, box):
    from PRIMELib.segmentation import ras_from_lps

    roi = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
    roi.SetCenter(*ras_from_lps(box.center_lps))
    roi.SetSize(*box.size_mm)
    return roi


def _dice(a, b) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return 2.0 * (a & b).sum() / (a.sum() + b.sum())


def test_roi_markup_becomes_a_segment_equal_to_primelib_s_mask(
    prime_module, mrml_scene, phantom, arterial_node
):
    import SimpleITK as sitk
    import slicer
    import vtk

    from PRIMELib.segmentation import segment_tumour

    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    roi = _roi_node(mrml_scene, phantom.box)
    segmentation, segment_id, result = logic.createInitialRoi(arterial_node, roi, parameterNode=parameters)

    array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, segment_id, arterial_node)
    direct = segment_tumour(phantom.arterial, box=phantom.box)
    np.testing.assert_array_equal(array != 0, sitk.GetArrayViewFromImage(direct.mask) != 0)
    assert _dice(array, sitk.GetArrayViewFromImage(phantom.truth)) >= 0.85
    assert parameters.segmentation == segmentation and parameters.segmentID == segment_id
    segment = segmentation.GetSegmentation().GetSegment(segment_id)
    assert segment.GetName() == "Tumour"
    tag = vtk.reference("")
    assert segment.GetTag("PRIME.initialRoi", tag)
    assert json.loads(str(tag))["engine"] == "classical"
    assert result.volume_ml > 0

    # The mask read back as PRIME scores it matches too (the segment lies where the tumour is).
    mask = logic.sitkMaskFromSegment(segmentation, segment_id, arterial_node)
    assert _dice(sitk.GetArrayViewFromImage(mask), sitk.GetArrayViewFromImage(phantom.truth)) >= 0.85


def test_a_second_roi_adds_a_segment_and_a_named_one_is_overwritten(
    prime_module, mrml_scene, phantom, arterial_node
):
    import slicer

    logic = prime_module.PRIMELogic()
    roi = _roi_node(mrml_scene, phantom.box)
    segmentation, first, _ = logic.createInitialRoi(arterial_node, roi)
    _, second, _ = logic.createInitialRoi(arterial_node, roi, segmentation)
    assert first != second and segmentation.GetSegmentation().GetNumberOfSegments() == 2
    slicer.util.updateSegmentBinaryLabelmapFromArray(
        np.zeros(slicer.util.arrayFromVolume(arterial_node).shape, np.uint8),
        segmentation,
        first,
        arterial_node,
    )
    _, again, _ = logic.createInitialRoi(arterial_node, roi, segmentation, segmentID=first)
    assert again == first and segmentation.GetSegmentation().GetNumberOfSegments() == 2
    assert slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, first, arterial_node).any()


def test_seed_markups_alone_grow_the_tumour(prime_module, mrml_scene, phantom, arterial_node):
    import SimpleITK as sitk
    import slicer

    from PRIMELib.segmentation import ras_from_lps

    seeds = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    for point in ras_from_lps(phantom.seeds_lps[:1]):
        seeds.AddControlPoint(*point)
    segmentation, segment_id, result = prime_module.PRIMELogic().createInitialRoi(arterial_node, seeds)
    array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, segment_id, arterial_node)
    assert _dice(array, sitk.GetArrayViewFromImage(phantom.truth)) >= 0.85
    assert "search_box" in result.details


def test_missing_or_misplaced_prompts_are_clear_errors(prime_module, mrml_scene, phantom, arterial_node):
    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.segmentation import BoxPrompt

    logic = prime_module.PRIMELogic()
    with pytest.raises(PRIMEInputError, match="No arterial volume"):
        logic.createInitialRoi(None, _roi_node(mrml_scene, phantom.box))
    with pytest.raises(PRIMEInputError, match="Neither a box nor seed points"):
        logic.createInitialRoi(arterial_node)
    far = _roi_node(mrml_scene, BoxPrompt((400.0, 400.0, 400.0), (20.0, 20.0, 20.0)))
    with pytest.raises(PRIMEInputError, match="outside the image"):
        logic.createInitialRoi(arterial_node, far)
    assert mrml_scene.GetFirstNodeByClass("vtkMRMLSegmentationNode") is None  # nothing half-made
