"""PRIME's extraction equals PyRadiomics run directly, with the same settings, on the same whole images.

PRIME never hands PyRadiomics the whole CT: it normalises with whole-image statistics, crops the native
image around the ROI and resamples the crop onto PyRadiomics' own grid (``crop.py``). These tests are
the proof that this changes no value: every feature of every image type, against
``RadiomicsFeatureExtractor.execute`` on the uncropped images.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics_phantoms import small_case

from PRIMELib.demo import make_demo_images
from PRIMELib.radiomics import extract_case, load_params, params_file
from PRIMELib.radiomics.crop import INTERPOLATION_MARGIN_VOXELS, crop, plan_crop

# A phantom much larger than the crop PRIME keeps (bounding box + 20 mm padDistance + 20 native voxels),
# so the crop really cuts on every side.
LARGE = {"size": (170, 160, 90)}


def pyradiomics(params, image, mask) -> dict[str, float]:
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor(params)
    return {k: float(v) for k, v in extractor.execute(image, mask).items() if not k.startswith("diagnostics")}


def assert_same(got: dict[str, float], expected: dict[str, float], phase: str, rel: float) -> None:
    mine = {k.removeprefix(f"{phase}_"): v for k, v in got.items() if k.startswith(f"{phase}_")}
    assert list(mine) == list(expected)  # same names, same order
    for name, value in expected.items():
        # Features that are 0 up to rounding (e.g. ClusterShade of a symmetric image) get an absolute bound.
        assert mine[name] == pytest.approx(value, rel=rel, abs=1e-9), name


@pytest.fixture(scope="module")
def large_case():
    return small_case(**LARGE)


def test_quick_settings_on_the_demo_case_equal_pyradiomics():
    arterial, venous, mask = make_demo_images()
    features = extract_case(arterial, venous, mask, params="prime_quick")
    for phase, image in (("arterial", arterial), ("venous", venous)):
        assert_same(features.values, pyradiomics(str(params_file("prime_quick")), image, mask), phase, 1e-9)


def test_paper_settings_on_a_cropped_tilted_anisotropic_case_equal_pyradiomics_on_the_whole_image(large_case):
    arterial, venous, mask = large_case
    features = extract_case(arterial, venous, mask, params="prime_paper")
    # The crop really is smaller than the image along every axis.
    for phase in ("arterial", "venous"):
        crop_size, image_size = features.diagnostics[f"{phase}_crop_size"], arterial.GetSize()
        assert all(c < s for c, s in zip(crop_size, image_size, strict=True))
    assert len(features.values) == 2 * 944
    for phase, image in (("arterial", arterial), ("venous", venous)):
        # 1e-9: B-spline coefficients of the crop differ from the whole image's by ~0.268^20 ≈ 4e-12.
        assert_same(features.values, pyradiomics(str(params_file("prime_paper")), image, mask), phase, 1e-9)


def test_without_resampling_the_filter_margin_keeps_log_and_wavelet_values(large_case):
    # PyRadiomics then filters the whole native image; PRIME keeps 10σ for LoG and the wavelet support.
    params = {
        "imageType": {"Original": {}, "LoG": {"sigma": [2.0, 4.0]}, "Wavelet": {}},
        "featureClass": {"firstorder": None, "glcm": None, "glszm": None},
        "setting": {"normalize": True, "normalizeScale": 100, "binWidth": 25},
    }
    arterial, _, mask = large_case
    features = extract_case(arterial, arterial, mask, params=params, features=None)
    assert all(
        c < s for c, s in zip(features.diagnostics["arterial_crop_size"], arterial.GetSize(), strict=True)
    )
    assert_same(features.values, pyradiomics(params, arterial, mask), "arterial", 1e-6)


def test_the_crop_is_what_keeps_values_an_interpolation_margin_too_small_would_not(large_case):
    # Resample the crop and the whole image onto the same grid: equal only with the full margin.
    arterial, _, mask = large_case
    settings = load_params("prime_paper").settings
    whole = sitk.Cast(arterial, sitk.sitkFloat64)

    def resampled_crop(margin: int) -> np.ndarray:
        plan = plan_crop(arterial, mask, settings, interpolation_margin=margin)
        return sitk.GetArrayFromImage(plan.grid.resample(crop(whole, plan), sitk.sitkBSpline))

    plan = plan_crop(arterial, mask, settings)
    assert plan.interpolate and all(c < s for c, s in zip(plan.size, arterial.GetSize(), strict=True))
    reference = sitk.GetArrayFromImage(plan.grid.resample(whole, sitk.sitkBSpline))
    scale = np.max(np.abs(reference))
    assert np.max(np.abs(resampled_crop(INTERPOLATION_MARGIN_VOXELS) - reference)) < 1e-10 * scale
    assert np.max(np.abs(resampled_crop(2) - reference)) > 1e-4 * scale


def test_the_resampled_grid_comes_from_the_whole_image_not_from_the_crop(large_case):
    # The trap: PyRadiomics' resampling of a crop aligns its 1 mm grid to the crop's origin.
    from radiomics import imageoperations

    arterial, _, mask = large_case
    settings = load_params("prime_paper").settings
    plan = plan_crop(arterial, mask, settings)
    whole, _ = imageoperations.resampleImage(arterial, mask, **settings)
    assert plan.grid.origin == pytest.approx(whole.GetOrigin(), abs=1e-9)
    assert plan.grid.size == whole.GetSize()
    naive, _ = imageoperations.resampleImage(crop(arterial, plan), crop(mask, plan), **settings)
    shift = np.array(naive.GetOrigin()) - np.array(whole.GetOrigin())
    assert np.max(np.abs(shift - np.round(shift))) > 0.05  # off the whole image's grid by > 0.05 mm


@pytest.mark.parametrize(
    ("spacing", "origin"),
    [
        ((0.7, 0.7, 5.0), (-178.65, -201.15, -312.5)),
        ((0.625, 0.8, 1.25), (3.3, -7.77, 0.1)),
        ((1, 1, 1), (0, 0, 0)),
    ],
)
def test_the_grid_is_pyradiomics_own_for_any_spacing_and_origin(spacing, origin):
    from radiomics import imageoperations

    image = sitk.Image([90, 80, 30], sitk.sitkInt16)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    mask = sitk.Image([90, 80, 30], sitk.sitkUInt8)
    mask.CopyInformation(image)
    mask[30:50, 20:45, 8:14] = 1
    settings = load_params("prime_paper").settings
    plan = plan_crop(image, mask, settings)
    resampled, _ = imageoperations.resampleImage(image, mask, **settings)
    assert plan.grid.size == resampled.GetSize()
    assert plan.grid.origin == pytest.approx(resampled.GetOrigin(), abs=1e-9)
    assert plan.grid.spacing == pytest.approx(resampled.GetSpacing())
