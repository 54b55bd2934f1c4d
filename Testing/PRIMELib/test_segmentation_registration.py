"""Carrying the ROI to the venous phase: rigid registration against a known motion, resampling, overlay."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.segmentation import carry_mask, carry_roi_to_venous, register_rigid
from PRIMELib.segmentation.phantoms import make_tumour_phantom

#: The venous phase is moved by this rigid transform (rotation about the tumour, then translation).
ROTATION_DEG = (1.0, -1.5, 3.0)
TRANSLATION_MM = (4.0, -3.0, 2.5)


def dice(a: sitk.Image, b: sitk.Image) -> float:
    x = sitk.GetArrayViewFromImage(a).astype(bool)
    y = sitk.GetArrayViewFromImage(b).astype(bool)
    return 2.0 * float((x & y).sum()) / float(x.sum() + y.sum())


@pytest.fixture(scope="module")
def moved():
    return make_tumour_phantom(
        40.0,
        seed=3,
        field_of_view_mm=150.0,
        in_plane_spacing_mm=1.5,
        slice_spacing_mm=2.5,
        body_outline=True,
        venous_rotation_deg=ROTATION_DEG,
        venous_translation_mm=TRANSLATION_MM,
    )


@pytest.fixture(scope="module")
def carried(moved):
    return carry_roi_to_venous(moved.arterial, moved.venous, moved.truth)


def _roi_points(mask: sitk.Image) -> list:
    indices = np.argwhere(sitk.GetArrayViewFromImage(mask))[:, ::-1]
    return [mask.TransformIndexToPhysicalPoint([int(v) for v in ijk]) for ijk in indices]


def test_registration_recovers_a_known_rigid_motion_within_1_mm(moved, carried, capsys):
    registration = carried.registration
    truth = moved.venous_from_arterial
    errors = [
        np.linalg.norm(np.subtract(registration.transform.TransformPoint(p), truth.TransformPoint(p)))
        for p in _roi_points(moved.truth)
    ]
    with capsys.disabled():
        print(
            f"\nRigid registration: motion {TRANSLATION_MM} mm, {ROTATION_DEG} deg; residual over the ROI "
            f"mean {np.mean(errors):.2f} mm, max {np.max(errors):.2f} mm; {registration.seconds:.1f} s; "
            f"MI {registration.metric_before:.3f} -> {registration.metric_after:.3f}"
        )
    assert np.max(errors) < 1.0
    assert registration.metric_after < registration.metric_before
    assert registration.translation_mm == pytest.approx(TRANSLATION_MM, abs=1.0)
    assert registration.roi_displacement_mm[1] == pytest.approx(
        max(np.linalg.norm(np.subtract(truth.TransformPoint(p), p)) for p in _roi_points(moved.truth)),
        abs=1.0,
    )
    summary = registration.to_dict()
    assert set(summary) >= {"metric_before", "metric_after", "translation_mm", "roi_displacement_mm"}
    assert summary["warnings"] == []


def test_carried_roi_matches_the_venous_truth_and_the_overlay_lines_up(moved, carried):
    assert dice(carried.venous_mask, moved.venous_truth) >= 0.95
    unregistered = carry_roi_to_venous(moved.arterial, moved.venous, moved.truth, register=False)
    assert unregistered.registration is None
    assert dice(unregistered.venous_mask, moved.venous_truth) < dice(carried.venous_mask, moved.venous_truth)
    # The overlay: venous resampled onto the arterial grid, and a checkerboard of the two.
    for image in (carried.registered_venous, carried.checkerboard):
        assert image.GetSize() == moved.arterial.GetSize()
        assert image.GetOrigin() == moved.arterial.GetOrigin()
    assert carried.checkerboard.GetPixelID() == sitk.sitkUInt8
    # After registration the venous image's tumour lies where the arterial truth is: it is darker there
    # than in the liver around it (wash-out).
    venous_on_arterial = sitk.GetArrayViewFromImage(carried.registered_venous)
    tumour = sitk.GetArrayViewFromImage(moved.truth).astype(bool)
    ring = sitk.GetArrayViewFromImage(sitk.BinaryDilate(moved.truth, [3, 3, 1])).astype(bool) & ~tumour
    assert np.median(venous_on_arterial[tumour]) < np.median(venous_on_arterial[ring])


def test_carry_mask_onto_a_coarser_grid_keeps_the_volume(moved):
    coarse = sitk.Resample(
        moved.arterial,
        [s // 2 for s in moved.arterial.GetSize()],
        sitk.Transform(),
        sitk.sitkLinear,
        moved.arterial.GetOrigin(),
        [2 * s for s in moved.arterial.GetSpacing()],
        moved.arterial.GetDirection(),
    )
    carried = carry_mask(moved.truth, coarse)
    assert carried.GetSize() == coarse.GetSize()

    def volume(mask):
        return sitk.GetArrayViewFromImage(mask).sum() * np.prod(mask.GetSpacing())

    assert volume(carried) == pytest.approx(volume(moved.truth), rel=0.1)
    same_grid = carry_mask(moved.truth, moved.arterial)
    assert np.array_equal(sitk.GetArrayViewFromImage(same_grid), sitk.GetArrayViewFromImage(moved.truth))


def test_empty_roi_and_a_venous_volume_elsewhere_are_clear_errors(moved):
    empty = moved.truth * 0
    with pytest.raises(PRIMEInputError, match="ROI is empty"):
        carry_roi_to_venous(moved.arterial, moved.venous, empty)
    elsewhere = sitk.Image(moved.venous)
    elsewhere.SetOrigin(tuple(o + 1000.0 for o in moved.venous.GetOrigin()))
    with pytest.raises(PRIMEInputError, match="outside the venous volume"):
        carry_roi_to_venous(moved.arterial, elsewhere, moved.truth, register=False)


def test_registration_progress_and_cancel(moved):
    from PRIMELib.errors import PRIMECancelled

    with pytest.raises(PRIMECancelled):
        register_rigid(moved.arterial, moved.venous, roi_mask=moved.truth, progress=lambda f, m: f < 0.3)
