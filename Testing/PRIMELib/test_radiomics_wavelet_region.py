"""The wavelet runs on the ROI's box plus the filter's support, and its ROI values do not change.

The reference is PyRadiomics' own ``getWaveletImage`` on the whole image; the ROI's band values on
the smaller region (``crop.wavelet_region``) must be the very same numbers, and a margin smaller than
the filter's support must change them (so these tests can fail).
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics_phantoms import small_case
from test_radiomics_identical import _paper_job

from PRIMELib.radiomics import compute
from PRIMELib.radiomics.crop import wavelet_margin_voxels, wavelet_region


def _bands(array: np.ndarray, **settings) -> dict[str, np.ndarray]:
    from radiomics import imageoperations

    image = sitk.GetImageFromArray(array)
    mask = sitk.GetImageFromArray(np.ones(array.shape, np.uint8))
    return {
        name: sitk.GetArrayFromImage(band)
        for band, name, _ in imageoperations.getWaveletImage(image, mask, **settings)
    }


def _roi_values_on_region(array, bounding_box, margin, **settings) -> dict[str, np.ndarray]:
    """Band values in the ROI's box when the wavelet runs on ``wavelet_region(…, margin)``."""
    size_xyz = array.shape[::-1]
    region = wavelet_region(size_xyz, bounding_box, margin)
    index, size = region if region is not None else ([0, 0, 0], list(size_xyz))
    (x0, y0, z0), (nx, ny, nz) = index, size
    part = array[z0 : z0 + nz, y0 : y0 + ny, x0 : x0 + nx]
    return {
        name: _roi(band, np.asarray(bounding_box) - np.repeat(index, 2))
        for name, band in _bands(part, **settings).items()
    }


def _roi(array: np.ndarray, bounding_box) -> np.ndarray:
    x0, x1, y0, y1, z0, z1 = (int(v) for v in bounding_box)
    return array[z0 : z1 + 1, y0 : y1 + 1, x0 : x1 + 1]


# (x, y, z) voxels 41 × 37 × 44 (odd and even sizes); ROI boxes as checkMask gives them.
SHAPE_ZYX = (44, 37, 41)
INTERIOR = (14, 24, 12, 21, 15, 27)
NEAR_EDGES = (1, 12, 20, 34, 15, 27)  # within the margin of x's lower and y's upper edge


@pytest.mark.parametrize(
    "settings, bounding_box",
    [
        ({}, INTERIOR),  # the paper's coif1, level 1
        ({}, NEAR_EDGES),  # the whole axis where the margin leaves the image
        ({"wavelet": "haar"}, INTERIOR),
        ({"wavelet": "db3", "level": 2}, INTERIOR),  # two levels: each band from the last approximation
        ({"wavelet": "sym2", "start_level": 1}, INTERIOR),
    ],
)
def test_roi_band_values_on_the_region_are_the_whole_images(settings, bounding_box):
    array = np.random.default_rng(1).normal(size=SHAPE_ZYX)
    whole = {name: _roi(band, bounding_box) for name, band in _bands(array, **settings).items()}
    margin = wavelet_margin_voxels(settings)
    region = wavelet_region(SHAPE_ZYX[::-1], bounding_box, margin)
    assert region is not None and np.prod(region[1]) < np.prod(SHAPE_ZYX)  # a smaller image …
    got = _roi_values_on_region(array, bounding_box, margin, **settings)
    assert list(got) == list(whole)
    for name in whole:
        np.testing.assert_array_equal(got[name], whole[name], err_msg=name)  # … the very same numbers


def test_a_margin_smaller_than_the_filter_support_changes_the_values():
    array = np.random.default_rng(2).normal(size=SHAPE_ZYX)
    whole = {name: _roi(band, INTERIOR) for name, band in _bands(array).items()}

    def same(margin: int) -> bool:
        got = _roi_values_on_region(array, INTERIOR, margin)
        return all(np.array_equal(got[name], whole[name]) for name in whole)

    assert wavelet_margin_voxels({}) == 5  # coif1: 6 taps
    # pywt reads 2 neighbours on one side and 3 on the other: a margin of 3 is the least that works.
    assert [same(m) for m in range(6)] == [False, False, False, True, True, True]


def test_region_is_the_box_plus_margin_or_the_whole_axis():
    assert wavelet_region((41, 37, 44), INTERIOR, 5) == ([9, 7, 10], [21, 20, 23])
    # x reaches below 0 and y past 36: those axes whole, z still cut.
    assert wavelet_region((41, 37, 44), NEAR_EDGES, 5) == ([0, 0, 10], [41, 37, 23])
    assert wavelet_region((41, 37, 44), (0, 40, 0, 36, 0, 43), 5) is None


def test_a_phase_runs_the_wavelet_on_the_smaller_region(monkeypatch):
    from radiomics import imageoperations

    sizes = []
    plain = imageoperations.getWaveletImage

    def recorded(image, mask, **kwargs):
        sizes.append((image.GetSize(), mask.GetSize()))
        yield from plain(image, mask, **kwargs)

    monkeypatch.setattr(imageoperations, "getWaveletImage", recorded)
    job = _paper_job(small_case(seed=5))
    image_size = compute.feature_image(job).GetSize()
    compute.compute_phase(job)
    ((size, mask_size),) = sizes
    assert size == mask_size
    assert (
        all(s <= n for s, n in zip(size, image_size, strict=True)) and np.prod(size) < np.prod(image_size) / 2
    )


def test_a_large_tumours_wavelet_in_slabs_gives_the_same_numbers(monkeypatch):
    from radiomics import imageoperations

    job = _paper_job(small_case(seed=5))
    whole = compute.compute_phase(job)
    calls = []
    plain = imageoperations.getWaveletImage

    def counted(image, mask, **kwargs):
        calls.append(image.GetSize())
        yield from plain(image, mask, **kwargs)

    monkeypatch.setattr(imageoperations, "getWaveletImage", counted)
    monkeypatch.setattr(compute, "WAVELET_SLAB_VOXELS", 3000)  # this small tumour's region in slabs
    sliced = compute.compute_phase(job)
    assert len(calls) > 3 and all(size[2] < 15 for size in calls)  # thin slabs (the ROI is 17 deep)
    assert list(sliced) == list(whole) and sliced == whole


def test_slabs_without_the_filter_support_would_change_the_values(monkeypatch):
    job = _paper_job(small_case(seed=5))
    whole = compute.compute_phase(job)
    monkeypatch.setattr(compute, "WAVELET_SLAB_VOXELS", 3000)
    monkeypatch.setattr(compute, "wavelet_margin_voxels", lambda args: 1)  # too small: coif1 reads 2 and 3
    sliced = compute.compute_phase(job)
    changed = [name for name in whole if name.startswith("wavelet") and sliced[name] != whole[name]]
    assert len(changed) > 100
    assert all(sliced[name] == whole[name] for name in whole if not name.startswith("wavelet"))
