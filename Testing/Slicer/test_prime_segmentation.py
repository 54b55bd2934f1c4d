"""The Tumour ROI on real MRML: an ROI markup (or seeds) becomes a tumour segment (createInitialRoi),
which is carried to a venous phase moved by a known rigid motion (carryRoiToVenous) and then used by
scoring; undo restores each previous state; the Segment Editor's node points at the right nodes."""

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
    ruler = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", "ruler")
    with pytest.raises(PRIMEInputError, match="'ruler' is a vtkMRMLMarkupsLineNode, not an ROI box"):
        logic.createInitialRoi(arterial_node, ruler)
    assert mrml_scene.GetFirstNodeByClass("vtkMRMLSegmentationNode") is None  # nothing half-made


# --------------------------------------------------------------------------------------------------
# Carry to venous, scoring with the venous ROI, undo, the Segment Editor's node

#: The venous phase of the moved phantom is the arterial one moved by this rigid transform.
VENOUS_ROTATION_DEG = (1.0, -1.5, 3.0)
VENOUS_TRANSLATION_MM = (4.0, -3.0, 2.5)


@pytest.fixture(scope="module")
def moved_phantom():
    from PRIMELib.segmentation.phantoms import make_tumour_phantom

    return make_tumour_phantom(
        40.0,
        seed=3,
        field_of_view_mm=150.0,
        in_plane_spacing_mm=1.5,
        slice_spacing_mm=2.5,
        body_outline=True,
        venous_rotation_deg=VENOUS_ROTATION_DEG,
        venous_translation_mm=VENOUS_TRANSLATION_MM,
    )


@pytest.fixture
def two_phases(prime_module, mrml_scene, moved_phantom):
    """The moved phantom in the scene, its true arterial tumour as segment "Tumour", in the parameter
    node with the venous ROI separate (as after unticking "Same ROI for both phases")."""
    import SimpleITK as sitk
    import slicer

    to_node = prime_module.PRIMETest._volumeNodeFromSitk
    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    parameters.arterialVolume = to_node(moved_phantom.arterial, "arterial")
    parameters.venousVolume = to_node(moved_phantom.venous, "venous")
    segmentation = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "tumour")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(parameters.arterialVolume)
    segment_id = segmentation.GetSegmentation().AddEmptySegment("", "Tumour")
    slicer.util.updateSegmentBinaryLabelmapFromArray(
        sitk.GetArrayFromImage(moved_phantom.truth), segmentation, segment_id, parameters.arterialVolume
    )
    parameters.segmentation = segmentation
    parameters.segmentID = segment_id
    parameters.sameRoiForBothPhases = False
    return logic, parameters


def _roi_points(mask) -> list:
    import SimpleITK as sitk

    indices = np.argwhere(sitk.GetArrayViewFromImage(mask))[:, ::-1]
    return [mask.TransformIndexToPhysicalPoint([int(v) for v in ijk]) for ijk in indices]


def test_carry_to_venous_recovers_a_known_shift_and_writes_the_venous_segment(
    two_phases, moved_phantom, panel, capsys
):
    import SimpleITK as sitk
    import slicer

    logic, parameters = two_phases
    assert panel.rules.carryRoiButtonState(parameters).enabled
    assert not panel.rules.scoreButtonState(parameters).enabled  # the venous ROI is still missing
    carried = logic.carryRoiToVenous(parameters, register=True)

    # The registration recovers the known motion: residual over the tumour's voxels below 1 mm.
    truth = moved_phantom.venous_from_arterial
    errors = [
        np.linalg.norm(np.subtract(carried.registration.transform.TransformPoint(p), truth.TransformPoint(p)))
        for p in _roi_points(moved_phantom.truth)
    ]
    with capsys.disabled():
        print(
            f"\nCarry ROI to venous (Slicer logic): motion {VENOUS_TRANSLATION_MM} mm, "
            f"{VENOUS_ROTATION_DEG} deg; residual over the ROI mean {np.mean(errors):.2f} mm, "
            f"max {np.max(errors):.2f} mm"
        )
    assert np.max(errors) < 1.0

    # The venous segment lies on the venous tumour, on the venous grid.
    segmentation = parameters.segmentation
    venous_id = parameters.venousSegmentID
    assert venous_id and venous_id != parameters.segmentID
    assert segmentation.GetSegmentation().GetSegment(venous_id).GetName() == "Tumour (venous)"
    venous = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, venous_id, parameters.venousVolume)
    np.testing.assert_array_equal(venous != 0, sitk.GetArrayViewFromImage(carried.venous_mask) != 0)
    venous_truth = sitk.GetArrayViewFromImage(moved_phantom.venous_truth)
    assert _dice(venous, venous_truth) >= 0.95
    # ... far better than taking the arterial segment as it lies (what "Same ROI" would score).
    same = slicer.util.arrayFromSegmentBinaryLabelmap(
        segmentation, parameters.segmentID, parameters.venousVolume
    )
    assert _dice(same, venous_truth) < _dice(venous, venous_truth) - 0.1

    summary = panel.rules.carriedRoiSummary(parameters)
    assert summary["registration"]["translation_mm"] == pytest.approx(VENOUS_TRANSLATION_MM, abs=1.0)
    spacing = np.prod(parameters.venousVolume.GetSpacing())
    assert summary["volume_ml"] == pytest.approx((venous != 0).sum() * spacing / 1000.0)
    text = panel.rules.carryStatusText(summary)
    assert "Tumour (venous)" in text and f"{summary['registration']['metric_after']:.3f}" in text
    assert (parameters.sameRoiForBothPhases, panel.rules.scoreButtonState(parameters).enabled) == (
        False,
        True,
    )


def test_carrying_again_rewrites_the_venous_segment_and_without_registration_keeps_scanner_space(
    two_phases, moved_phantom, panel
):
    import SimpleITK as sitk
    import slicer

    from PRIMELib.segmentation import carry_mask

    logic, parameters = two_phases
    logic.carryRoiToVenous(parameters, register=True)
    first = parameters.venousSegmentID
    carried = logic.carryRoiToVenous(parameters, register=False)
    assert parameters.venousSegmentID == first
    assert parameters.segmentation.GetSegmentation().GetNumberOfSegments() == 2
    assert carried.registration is None
    venous = slicer.util.arrayFromSegmentBinaryLabelmap(
        parameters.segmentation, first, parameters.venousVolume
    )
    direct = carry_mask(moved_phantom.truth, moved_phantom.venous)  # resampled, no transform
    np.testing.assert_array_equal(venous != 0, sitk.GetArrayViewFromImage(direct) != 0)
    assert "Not registered" in panel.rules.carryStatusText(panel.rules.carriedRoiSummary(parameters))


def test_scoring_uses_the_carried_venous_segment(two_phases, moved_phantom, panel, tmp_path):
    import SimpleITK as sitk

    from PRIMELib.demo import DEMO_CLINICAL_RECORD
    from PRIMELib.pipeline import score_case

    logic, parameters = two_phases
    carried = logic.carryRoiToVenous(parameters, register=True)
    venous_id = panel.rules.venousSegmentIdForScoring(parameters)
    assert venous_id == parameters.venousSegmentID

    # The panel's path: the files for `prime score` carry the venous segment as --venous-mask.
    paths = logic.writeCaseFiles(parameters, tmp_path / "case")
    assert paths["venousMaskPath"]
    written = sitk.ReadImage(paths["venousMaskPath"])
    np.testing.assert_array_equal(
        sitk.GetArrayViewFromImage(written) != 0, sitk.GetArrayViewFromImage(carried.venous_mask) != 0
    )
    assert written.GetOrigin() == pytest.approx(moved_phantom.venous.GetOrigin())

    # In process: the same as PRIMELib with the carried mask; not the same as with the arterial one.
    record = dict(DEMO_CLINICAL_RECORD)
    result = logic.scoreCase(
        parameters.arterialVolume,
        parameters.venousVolume,
        parameters.segmentation,
        parameters.segmentID,
        record,
        venousSegmentID=venous_id,
    )
    direct = score_case(
        moved_phantom.arterial,
        moved_phantom.venous,
        moved_phantom.truth,
        carried.venous_mask,
        clinical=record,
    )
    venous_features = [name for name in direct.radiomics.values if name.startswith("venous_")]
    assert venous_features
    for name in venous_features:
        assert result.radiomics.values[name] == pytest.approx(
            direct.radiomics.values[name], rel=1e-6, abs=1e-9
        )
    assert result.score.response_probability == pytest.approx(direct.score.response_probability, rel=1e-9)

    # Ticking "Same ROI for both phases" again: the tumour segment serves both, no venous mask file.
    parameters.sameRoiForBothPhases = True
    assert panel.rules.venousSegmentIdForScoring(parameters) == ""
    assert logic.writeCaseFiles(parameters, tmp_path / "same")["venousMaskPath"] is None


def test_undo_restores_the_previous_labelmap_after_an_initial_roi_and_a_carry(
    prime_module, mrml_scene, phantom, arterial_node, panel
):
    import slicer

    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    parameters.arterialVolume = arterial_node
    parameters.venousVolume = arterial_node  # the same grid: carrying is a copy
    # A hand-drawn segment (a block) that the initial ROI then overwrites.
    segmentation = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "drawn")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(arterial_node)
    drawn_id = segmentation.GetSegmentation().AddEmptySegment("", "drawn")
    drawn = np.zeros(slicer.util.arrayFromVolume(arterial_node).shape, np.uint8)
    drawn[2:6, 10:30, 12:25] = 1
    slicer.util.updateSegmentBinaryLabelmapFromArray(drawn, segmentation, drawn_id, arterial_node)
    assert not logic.canUndoRoi(segmentation) and not logic.undoLastRoi(segmentationNode=segmentation)

    logic.createInitialRoi(
        arterial_node,
        _roi_node(mrml_scene, phantom.box),
        segmentation,
        segmentID=drawn_id,
        parameterNode=parameters,
    )
    made = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, drawn_id, arterial_node)
    assert not np.array_equal(made != 0, drawn != 0)
    parameters.sameRoiForBothPhases = False
    logic.carryRoiToVenous(parameters, register=False)
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 2

    assert logic.undoLastRoi(parameters)  # the carry
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 1 and parameters.venousSegmentID == ""
    np.testing.assert_array_equal(
        slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, drawn_id, arterial_node) != 0, made != 0
    )
    assert logic.undoLastRoi(parameters)  # the initial ROI: the drawn block is back, voxel for voxel
    np.testing.assert_array_equal(
        slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, drawn_id, arterial_node) != 0, drawn != 0
    )
    assert panel.nodes.segmentTag(segmentation, drawn_id, panel.rules.INITIAL_ROI_TAG) is None
    assert parameters.segmentID == drawn_id
    assert not logic.canUndoRoi(segmentation)


def test_a_new_segmentation_is_undone_to_empty_and_a_prime_segment_is_replaced_not_duplicated(
    prime_module, mrml_scene, phantom, arterial_node, panel
):
    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    roi = _roi_node(mrml_scene, phantom.box)
    segmentation, first, _ = logic.createInitialRoi(arterial_node, roi, parameterNode=parameters)
    # The panel overwrites the segment PRIME made (it has the initial-ROI tag) instead of adding one.
    target = panel.rules.initialRoiTargetSegmentID(parameters.segmentation, parameters.segmentID)
    assert target == first
    logic.createInitialRoi(arterial_node, roi, segmentation, segmentID=target, parameterNode=parameters)
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 1
    assert logic.undoLastRoi(parameters) and logic.undoLastRoi(parameters)
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 0 and parameters.segmentID == ""


def test_segment_editor_node_edits_the_chosen_segmentation_on_the_arterial_phase_without_overwriting(
    prime_module, mrml_scene, phantom, arterial_node
):
    import slicer

    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    editor = logic.getSegmentEditorNode()
    assert logic.getSegmentEditorNode() is editor  # a scene singleton
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLSegmentEditorNode") == 1
    # Painting the arterial ROI must not erase the overlapping venous one.
    assert editor.GetOverwriteMode() == slicer.vtkMRMLSegmentEditorNode.OverwriteNone
    assert editor.GetMaskMode() == slicer.vtkMRMLSegmentationNode.EditAllowedEverywhere
    parameters.arterialVolume = arterial_node
    segmentation, segment_id, _ = logic.createInitialRoi(
        arterial_node, _roi_node(mrml_scene, phantom.box), parameterNode=parameters
    )
    logic.updateSegmentEditorNode(parameters)
    assert editor.GetSegmentationNode() == segmentation
    assert editor.GetSourceVolumeNode() == arterial_node
    assert editor.GetSelectedSegmentID() in ("", None)
    logic.updateSegmentEditorNode(parameters, selectSegment=True)
    assert editor.GetSelectedSegmentID() == segment_id


def test_segment_editor_keeps_not_overwriting_after_the_scene_is_closed(prime_module, mrml_scene):
    """File → Close keeps the singleton editor node but resets it to overwrite all segments; the panel
    sets its modes again, so painting one ROI still cannot erase the other."""
    import slicer

    logic = prime_module.PRIMELogic()
    editor = logic.getSegmentEditorNode()
    mrml_scene.Clear(0)  # what File → Close does
    assert mrml_scene.GetSingletonNode(logic.SEGMENT_EDITOR_TAG, "vtkMRMLSegmentEditorNode") is editor
    assert editor.GetOverwriteMode() == slicer.vtkMRMLSegmentEditorNode.OverwriteAllSegments  # Slicer's reset
    assert logic.getSegmentEditorNode() is editor
    assert editor.GetOverwriteMode() == slicer.vtkMRMLSegmentEditorNode.OverwriteNone
    assert editor.GetMaskMode() == slicer.vtkMRMLSegmentationNode.EditAllowedEverywhere
