"""Post-processing shared by the engines, and the box/seed prompts (geometry and errors)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.segmentation import BoxPrompt, PostProcessing, lps_from_ras, postprocess_mask
from PRIMELib.segmentation.postprocess import (
    close_mask,
    fill_holes,
    keep_components_at,
    keep_largest_component,
    open_mask,
    remove_islands,
    smooth_mask,
    voxel_radius,
)
from PRIMELib.segmentation.prompts import box_index_region, seed_indices


def _mask(array, spacing=(1.0, 1.0, 1.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(np.asarray(array, dtype=np.uint8))
    image.SetSpacing(spacing)
    return image


def _array(image) -> np.ndarray:
    return sitk.GetArrayFromImage(image).astype(bool)


def _ball(shape, centre, radius) -> np.ndarray:
    zz, yy, xx = np.indices(shape)
    return (zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2 <= radius**2


def test_fill_holes_fills_an_enclosed_cavity_and_a_core_open_at_the_top():
    solid = _ball((20, 20, 20), (10, 10, 10), 7)
    cavity = solid & ~_ball((20, 20, 20), (10, 10, 10), 3)
    assert _array(fill_holes(_mask(cavity))).sum() == solid.sum()
    # A tube: each slice is a ring, open through top and bottom: only the per-slice fill closes it.
    ring = np.zeros((6, 20, 20), dtype=bool)
    yy, xx = np.indices((20, 20))
    disc = (yy - 10) ** 2 + (xx - 10) ** 2 <= 36
    ring[:] = disc & ~((yy - 10) ** 2 + (xx - 10) ** 2 <= 9)
    assert _array(fill_holes(_mask(ring), per_slice=False)).sum() == ring.sum()
    assert _array(fill_holes(_mask(ring))).sum() == 6 * disc.sum()


def test_keep_largest_and_seeded_components():
    array = np.zeros((10, 30, 30), dtype=bool)
    array[2:8, 2:12, 2:12] = True  # large
    array[3:6, 20:24, 20:24] = True  # small
    mask = _mask(array)
    assert _array(keep_largest_component(mask)).sum() == 6 * 10 * 10
    small = keep_components_at(mask, np.array([[21, 21, 4]]))  # (i, j, k)
    assert _array(small).sum() == 3 * 4 * 4
    nothing = keep_components_at(mask, np.array([[0, 0, 0]]))
    assert not _array(nothing).any()
    # "seeded" falls back to the largest component when the seeds miss every component.
    settings = PostProcessing(keep="seeded", fill_holes=False, min_island_mm3=0)
    kept = postprocess_mask(mask, settings, seed_indices_ijk=np.array([[0, 0, 0]]))
    assert _array(kept).sum() == 600
    with pytest.raises(ValueError, match="keep must be"):
        postprocess_mask(mask, PostProcessing(keep="biggest"))


def test_remove_islands_uses_physical_volume():
    array = np.zeros((10, 30, 30), dtype=bool)
    array[2:8, 2:12, 2:12] = True  # 600 voxels
    array[3:5, 20:22, 20:22] = True  # 8 voxels
    kept = remove_islands(_mask(array, spacing=(1.0, 1.0, 2.0)), min_volume_mm3=20.0)  # 8 voxels = 16 mm³
    assert _array(kept).sum() == 600
    kept = remove_islands(_mask(array, spacing=(1.0, 1.0, 3.0)), min_volume_mm3=20.0)  # 8 voxels = 24 mm³
    assert _array(kept).sum() == 608


def test_opening_cuts_a_thin_bridge_and_closing_fills_a_notch():
    array = _ball((20, 40, 40), (10, 20, 10), 6) | _ball((20, 40, 40), (10, 20, 30), 6)
    array[9:11, 19:21, 10:30] = True  # a 2-voxel vessel-like bridge joining two balls
    labels = sitk.ConnectedComponent(_mask(array))
    assert sitk.GetArrayViewFromImage(labels).max() == 1
    opened = open_mask(_mask(array), radius_mm=2.0)
    assert sitk.GetArrayViewFromImage(sitk.ConnectedComponent(opened)).max() == 2
    notched = _ball((20, 30, 30), (10, 15, 15), 8)
    notched[:, 14:16, 15:] = False  # a 2-voxel cleft
    closed = _array(close_mask(_mask(notched), radius_mm=2.0))
    assert closed[10, 15, 20]
    assert voxel_radius((0.7, 0.7, 5.0), 2.0) == [3, 3, 0]
    # A radius below every voxel size leaves the mask as it is.
    assert np.array_equal(_array(open_mask(_mask(array, (5.0, 5.0, 5.0)), 2.0)), array)


def test_smoothing_keeps_volume_and_removes_a_single_voxel_spike():
    ball = _ball((30, 30, 30), (15, 15, 15), 9)
    spiky = ball.copy()
    spiky[15, 15, 25] = True
    smoothed = _array(smooth_mask(_mask(spiky), sigma_mm=1.5))
    assert not smoothed[15, 15, 25]
    assert abs(int(smoothed.sum()) - int(ball.sum())) < 0.05 * ball.sum()
    assert np.array_equal(_array(smooth_mask(_mask(spiky), 0.0)), spiky)


def test_postprocess_pipeline_on_a_noisy_mask():
    ball = _ball((30, 30, 30), (15, 15, 15), 9)
    noisy = ball & ~_ball((30, 30, 30), (15, 15, 15), 3)  # necrotic core
    noisy[2:4, 2:4, 2:4] = True  # island
    result = _array(postprocess_mask(_mask(noisy), seed_indices_ijk=np.array([[15, 15, 8]])))
    assert np.array_equal(result, ball)


def test_box_prompt_checks_its_values_and_converts_from_ras():
    with pytest.raises(PRIMEInputError, match="edge is zero or negative"):
        BoxPrompt((0, 0, 0), (10, 0, 10))
    with pytest.raises(PRIMEInputError, match="finite"):
        BoxPrompt((0, float("nan"), 0), (10, 10, 10))
    box = BoxPrompt.from_ras((10.0, 20.0, 30.0), (4.0, 6.0, 8.0))
    assert box.center_lps == (-10.0, -20.0, 30.0)
    assert box.size_mm == (4.0, 6.0, 8.0)
    assert np.allclose(lps_from_ras([[1, 2, 3], [4, 5, 6]]), [[-1, -2, 3], [-4, -5, 6]])
    corners = box.corners_lps()
    assert corners.shape == (8, 3) and box.contains_lps(corners).all()
    assert not box.contains_lps([(-10.0, -20.0, 35.0)]).any()
    assert BoxPrompt.from_corners_lps((0, 0, 0), (2, 4, 6)) == BoxPrompt((1, 2, 3), (2, 4, 6))
    assert BoxPrompt.around_points_lps([(0, 0, 0), (10, 0, 0)], 5).size_mm == (20.0, 10.0, 10.0)


def test_box_index_region_clips_to_the_image_and_handles_flipped_axes():
    image = sitk.Image(50, 40, 30, sitk.sitkInt16)
    image.SetSpacing((1.0, 2.0, 3.0))
    image.SetOrigin((10.0, 20.0, 30.0))
    region = box_index_region(image, BoxPrompt.from_corners_lps((14.0, 24.0, 36.0), (20.0, 30.0, 45.0)))
    assert region.start == (4, 2, 2) and region.size == (7, 4, 4)
    clipped = box_index_region(image, BoxPrompt.from_corners_lps((0.0, 0.0, 0.0), (15.0, 25.0, 40.0)))
    assert clipped.start == (0, 0, 0) and clipped.size == (6, 3, 4)
    assert clipped.numpy_slices() == (slice(0, 4), slice(0, 3), slice(0, 6))
    flipped = sitk.Image(50, 40, 30, sitk.sitkInt16)
    flipped.SetDirection((-1, 0, 0, 0, -1, 0, 0, 0, 1))
    flipped.SetOrigin((49.0, 39.0, 0.0))
    region = box_index_region(flipped, BoxPrompt.from_corners_lps((40.0, 30.0, 5.0), (45.0, 35.0, 9.0)))
    assert region.start == (4, 4, 5) and region.size == (6, 6, 5)


def test_box_outside_or_too_thin_and_seeds_outside_are_clear_errors():
    image = sitk.Image(20, 20, 10, sitk.sitkInt16)
    with pytest.raises(PRIMEInputError, match="outside the image") as caught:
        box_index_region(image, BoxPrompt((100.0, 100.0, 100.0), (5.0, 5.0, 5.0)))
    assert "image spans LPS" in str(caught.value)
    with pytest.raises(PRIMEInputError, match="covers only"):
        box_index_region(image, BoxPrompt((5.0, 5.0, 5.0), (10.0, 10.0, 0.4)))
    assert seed_indices(image, [(3.2, 4.6, 2.0)]).tolist() == [[3, 5, 2]]
    with pytest.raises(PRIMEInputError, match="1 of 2 seeds lie outside"):
        seed_indices(image, [(3.0, 4.0, 2.0), (-30.0, 4.0, 2.0)])
