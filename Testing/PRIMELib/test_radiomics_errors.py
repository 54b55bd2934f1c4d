"""Unusable inputs get a clear error naming the input and what was expected; odd ones a warning."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics_phantoms import image_like, small_case

from PRIMELib.errors import PRIMECancelled, PRIMEInputError
from PRIMELib.radiomics import extract_case, extract_phase
from PRIMELib.radiomics.checks import MIN_ROI_VOXELS

QUICK = "prime_quick"


@pytest.fixture(scope="module")
def case():
    return small_case(seed=2)


def test_an_empty_mask(case):
    arterial, venous, mask = case
    with pytest.raises(PRIMEInputError, match="arterial mask is empty") as error:
        extract_case(arterial, venous, mask * 0, params=QUICK)
    assert error.value.field == "arterial mask"


def test_a_mask_outside_the_image(case):
    arterial, venous, mask = case
    moved = sitk.Image(mask)
    moved.SetOrigin(arterial.TransformIndexToPhysicalPoint([200, 0, 0]))
    with pytest.raises(PRIMEInputError, match="lies entirely outside the arterial image"):
        extract_case(arterial, venous, moved, params=QUICK)
    partly = sitk.Image(mask)
    partly.SetOrigin(arterial.TransformIndexToPhysicalPoint([30, 0, 0]))
    with pytest.raises(PRIMEInputError, match="lies partly outside the arterial image"):
        extract_case(arterial, venous, partly, params=QUICK)


def test_a_mask_on_another_grid_than_its_image(case):
    arterial, venous, mask = case
    reference = sitk.Image([60, 56, 22], sitk.sitkUInt8)
    reference.SetSpacing((0.7, 0.7, 2.5))
    reference.SetOrigin(mask.GetOrigin())
    reference.SetDirection(mask.GetDirection())
    other = sitk.Resample(mask, reference, sitk.Transform(), sitk.sitkNearestNeighbor)
    with pytest.raises(PRIMEInputError, match="not on the arterial image's voxel grid") as error:
        extract_case(arterial, venous, other, params=QUICK)
    assert "reference geometry" in str(error.value)


def test_a_2d_image_or_a_single_slice(case):
    arterial, venous, mask = case
    slice_2d = arterial[:, :, 10]
    with pytest.raises(PRIMEInputError, match=r"arterial image is 2D \(size \(56, 52\)\)"):
        extract_case(slice_2d, venous, mask, params=QUICK)
    one_slice = arterial[:, :, 10:11]
    with pytest.raises(PRIMEInputError, match="arterial image is a single slice"):
        extract_case(one_slice, venous, mask[:, :, 10:11], params=QUICK)


def test_an_roi_too_small_for_texture_says_the_minimum():
    array = np.full((20, 20, 20), 40, dtype=np.int16)
    array[0] = -1000
    roi = np.zeros(array.shape, dtype=np.uint8)
    roi[8:11, 8:11, 8:11] = 1  # 27 voxels at 1 mm
    identity = (1, 0, 0, 0, 1, 0, 0, 0, 1)
    image, mask = (
        image_like(array, (1, 1, 1), (0, 0, 0), identity),
        image_like(roi, (1, 1, 1), (0, 0, 0), identity),
    )
    with pytest.raises(PRIMEInputError) as error:
        extract_phase(image, mask, QUICK, phase="venous")
    message = str(error.value)
    assert "too small for texture features: 27 voxels" in message
    assert f"at least {MIN_ROI_VOXELS} voxels" in message and "4 × 4 × 4 mm" in message


def test_nan_voxels(case):
    arterial, _, mask = case
    array = sitk.GetArrayFromImage(arterial).astype(np.float32)
    array[0, 0, :3] = np.nan
    broken = image_like(array)
    with pytest.raises(PRIMEInputError, match="venous image has 3 NaN and 0 infinite voxel values"):
        extract_case(arterial, broken, mask, params=QUICK)


def test_a_constant_image_cannot_be_normalised(case):
    arterial, venous, mask = case
    with pytest.raises(PRIMEInputError, match=r"one intensity .* cannot be normalised"):
        extract_case(arterial * 0, venous, mask, params=QUICK)


def test_a_non_ct_intensity_range_is_a_warning_not_an_error(case):
    arterial, venous, mask = case
    mr_like = sitk.Cast(sitk.RescaleIntensity(arterial, 0, 800), sitk.sitkInt16)
    features = extract_case(mr_like, venous, mask, params=QUICK)
    assert len(features.warnings) == 1
    assert "arterial image's intensities run from 0 to 800" in features.warnings[0]
    assert features.diagnostics["warnings"] == features.warnings
    assert features.values  # computed anyway


def test_an_invalid_params_file(tmp_path, case):
    bad = tmp_path / "mine.yaml"
    bad.write_text("setting:\n  binWidht: 25\n")
    with pytest.raises(PRIMEInputError, match="not valid PyRadiomics parameters"):
        extract_case(*case, params=bad)


def test_cancel_stops_the_work(case):
    def cancel_at_venous(fraction, message):
        return "venous" not in message

    with pytest.raises(PRIMECancelled, match="venous"):
        extract_case(*case, params=QUICK, progress=cancel_at_venous)


def child_processes() -> list[int]:
    """This process's live children (Linux /proc)."""
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that ended since the listing
            continue
    return pids


def test_cancel_stops_the_worker_processes_too(case):
    seen, during = [], []

    def cancel_when_the_worker_filters(fraction, message):
        seen.append(message)
        during.append(len(child_processes()))
        return not message.startswith("arterial: wavelet-")  # the arterial phase runs in the worker

    before = child_processes()
    with pytest.raises(PRIMECancelled, match="arterial: wavelet-"):
        extract_case(*case, params="prime_paper", workers=2, progress=cancel_when_the_worker_filters)
    assert max(during) == len(before) + 1  # a worker process was running ...
    assert child_processes() == before  # ... and is gone
    assert not any("Radiomics done" in message for message in seen)


@pytest.mark.parametrize(("low", "warned"), [(-1000.0, False), (-60.0, False), (0.0, True)])
def test_the_hounsfield_warning_flags_exports_without_negative_values(low, warned):
    """A CT in HU always holds fat (about -100 HU) or air; a 0-255 or unsigned export holds no negative value.
    The demo phantom (liver in a -20 HU background, no air) must not be flagged, a 0-255 export must."""
    from PRIMELib.radiomics.checks import check_intensities
    from PRIMELib.radiomics.crop import ImageStatistics

    array = np.full((8, 8, 8), 60.0, dtype=np.float32)
    array[0] = low
    array[4, 4, 4] = 255.0
    image = image_like(array)
    warnings = check_intensities(image, ImageStatistics.of(image), field="arterial image", normalize=True)
    assert bool(warnings) is warned


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("setting:\n  binWidth: -5\n", "Path: '/setting/binWidth'"),  # pykwalify's own reason, not its repr
        ("setting:\n  binCount: 1000000000\n", "binCount 1000000000"),  # refused before any allocation
        ("setting:\n  binCount: 1\n", "binCount 1"),
    ],
)
def test_a_params_file_with_an_impossible_setting_is_named(tmp_path, text, message):
    from PRIMELib.radiomics.params import load_params

    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(PRIMEInputError, match=re.escape(message)) as error:
        load_params(path)
    assert "<SchemaError" not in str(error.value)
    with pytest.raises(PRIMEInputError, match="of type int"):
        load_params(5)
