"""Wrong geometry is refused from the headers, before voxels are read or grids allocated; odd
intensities reach the user (result, console, report, batch record), not only diagnostics.json."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics_phantoms import image_like, small_case

from PRIMELib.batch import BatchSettings
from PRIMELib.batch.manifest import CaseInputs
from PRIMELib.batch.runner import process_case
from PRIMELib.cli import main
from PRIMELib.demo import write_demo_case
from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics import extract_case
from PRIMELib.radiomics.crop import bounding_box
from PRIMELib.radiomics.geometry import MAX_FEATURE_GRID_VOXELS, Header, feature_grid_size

QUICK = "prime_quick"
IDENTITY = (1, 0, 0, 0, 1, 0, 0, 0, 1)


@pytest.fixture(scope="module")
def case():
    return small_case(seed=5)


@pytest.fixture
def voxel_reads(monkeypatch):
    """The files whose voxels were read (``ImageFileReader.Execute``), in order."""
    read: list[str] = []
    original = sitk.ImageFileReader.Execute

    def execute(self, *args):
        read.append(self.GetFileName())
        return original(self, *args)

    monkeypatch.setattr(sitk.ImageFileReader, "Execute", execute)
    return read


def _write(image: sitk.Image, path) -> str:
    sitk.WriteImage(image, str(path))
    return str(path)


def _with(image: sitk.Image, **geometry) -> sitk.Image:
    copy = sitk.Image(image)
    for key, value in geometry.items():
        getattr(copy, f"Set{key.title()}")(value)
    return copy


# --------------------------------------------------------------------------------------------------
# Headers: direction, spacing


def test_a_sheared_direction_is_refused_naming_the_file_before_its_voxels_are_read(
    case, tmp_path, voxel_reads
):
    arterial, venous, mask = case
    sheared = (1.0, 0.3, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)  # the y axis leans 0.3 towards x
    image_file = _write(_with(arterial, direction=sheared), tmp_path / "sheared_ct.nrrd")
    with pytest.raises(PRIMEInputError) as raised:
        extract_case(image_file, venous, _write(mask, tmp_path / "mask.nrrd"), params=QUICK)
    message = str(raised.value)
    assert raised.value.field == "arterial image" and "file 'sheared_ct.nrrd'" in message
    assert "sheared/non-orthogonal direction" in message and "Resample Scalar Volume" in message
    # The x and y axes meet at atan(1 / 0.3) = 73.30°, not 90°.
    assert f"x–y {math.degrees(math.atan2(1.0, 0.3)):.2f}°" in message
    assert voxel_reads == []
    # A sheared mask with a good image: the mask file is named, and its voxels are never read either.
    mask_file = _write(_with(mask, direction=sheared), tmp_path / "sheared_mask.nrrd")
    with pytest.raises(PRIMEInputError, match=r"arterial mask file 'sheared_mask\.nrrd' has a sheared"):
        extract_case(_write(arterial, tmp_path / "ct.nrrd"), venous, mask_file, params=QUICK)
    assert voxel_reads == []
    # An image in memory is checked the same way.
    with pytest.raises(PRIMEInputError, match=r"The venous image has a sheared"):
        extract_case(arterial, _with(venous, direction=sheared), mask, params=QUICK)


@pytest.mark.parametrize(
    ("spacing", "axis", "bound"),
    [
        ((1000.0, 1000.0, 1000.0), "x", "above the upper bound of 20 mm"),
        ((0.74, 0.01, 2.5), "y", "below the lower bound of 0.05 mm"),
    ],
)
def test_a_spacing_no_ct_has_is_refused_with_the_bound_it_breaks(
    case, tmp_path, voxel_reads, spacing, axis, bound
):
    """1000 mm spacing used to crash in SimpleITK's resampler (a grid of billions of voxels)."""
    arterial, venous, mask = case
    image_file = _write(_with(arterial, spacing=spacing), tmp_path / "ct.nrrd")
    mask_file = _write(_with(mask, spacing=spacing), tmp_path / "mask.nrrd")
    with pytest.raises(PRIMEInputError) as raised:
        extract_case(image_file, venous, mask_file, params=QUICK)
    message = str(raised.value)
    assert raised.value.field == "arterial image" and "file 'ct.nrrd'" in message
    assert f"along {axis}, {spacing['xyz'.index(axis)]:g} mm is {bound} for a CT" in message
    assert "from 0.05 mm (lower bound) to 20 mm (upper bound)" in message
    assert voxel_reads == []  # refused from the header alone
    with pytest.raises(PRIMEInputError, match=bound):
        extract_case(_with(arterial, spacing=spacing), venous, mask, params=QUICK)


# --------------------------------------------------------------------------------------------------
# The feature grid


def test_the_feature_grid_size_is_the_one_pyradiomics_resamples_to(case):
    from radiomics import imageoperations

    arterial, _, mask = case
    for spacing, pad in (([1, 1, 1], 5), ([0.5, 0.8, 2.0], 20)):
        settings = {"resampledPixelSpacing": spacing, "interpolator": "sitkBSpline", "padDistance": pad}
        _, resampled = imageoperations.resampleImage(arterial, mask, **settings)
        expected = tuple(resampled.GetSize())
        assert feature_grid_size(Header.of(mask), bounding_box(mask), settings) == expected


@pytest.mark.parametrize(
    ("spacing", "params"),
    [
        # A coarse header (16 mm voxels, within the bounds) under the paper's 1 mm resampling.
        ((16.0, 16.0, 16.0), QUICK),
        # A sane image under a far too fine resampledPixelSpacing.
        (
            (0.74, 0.74, 2.5),
            {
                "imageType": {"Original": {}},
                "featureClass": {"firstorder": None},
                "setting": {"resampledPixelSpacing": [0.02, 0.02, 0.02], "interpolator": "sitkBSpline"},
            },
        ),
    ],
)
def test_a_feature_grid_too_large_for_memory_is_refused_before_the_image_is_read(
    tmp_path, voxel_reads, monkeypatch, spacing, params
):
    size = (40, 40, 24)
    roi = np.zeros(size[::-1], dtype=np.uint8)
    roi[2:22, 5:35, 5:35] = 1  # 30 × 30 × 20 voxels
    image_array = np.where(roi == 1, 60, -1000).astype(np.int16)
    image_file = _write(image_like(image_array, spacing, (0, 0, 0), IDENTITY), tmp_path / "ct.nrrd")
    mask_file = _write(image_like(roi, spacing, (0, 0, 0), IDENTITY), tmp_path / "mask.nrrd")

    def no_resampling(*args, **kwargs):
        raise AssertionError("a feature grid was allocated")

    monkeypatch.setattr(sitk.ResampleImageFilter, "Execute", no_resampling)
    monkeypatch.setattr(sitk, "Resample", no_resampling)
    with pytest.raises(PRIMEInputError, match="resampledPixelSpacing") as raised:
        extract_case(image_file, image_file, mask_file, params=params)
    assert raised.value.field == "arterial mask"
    assert voxel_reads == [mask_file]  # the ROI was read, the CT never
    # The grid is the ROI's box plus padDistance (PyRadiomics' default, 5) new voxels a side at the new
    # spacing: by hand, at least the box and at most the box, the padding and one voxel per side.
    new_spacing = 1.0 if params == QUICK else 0.02
    box = np.array([30, 30, 20]) * np.array(spacing) / new_spacing
    assert raised.value.value > MAX_FEATURE_GRID_VOXELS
    assert np.prod(box) <= raised.value.value <= np.prod(box + 2 * 5 + 2)


# --------------------------------------------------------------------------------------------------
# Mask against image


def test_a_same_size_mask_shifted_so_that_it_overhangs_is_an_error_not_a_crop(case, tmp_path):
    """The issue's case: shifted by 3 voxels, the ROI moved 2.2 mm and the features changed silently."""
    arterial, venous, mask = case
    spacing_x = arterial.GetSpacing()[0]
    shifted = _with(mask, origin=arterial.TransformIndexToPhysicalPoint([3, 0, 0]))
    mask_file = _write(shifted, tmp_path / "shifted_mask.nrrd")
    with pytest.raises(PRIMEInputError) as raised:
        extract_case(arterial, venous, mask_file, params=QUICK)
    message = str(raised.value)
    assert raised.value.field == "arterial mask"
    assert "grid lies partly outside the arterial image" in message
    assert f"overhangs by 3 voxels ({3 * spacing_x:.4g} mm) along x" in message
    assert raised.value.value == {"offset_voxels": [3, 0, 0], "overhang_voxels": [3, 0, 0]}
    assert "reference geometry" in message
    # Shifted the other way, or in memory: the same error.
    with pytest.raises(PRIMEInputError, match=r"overhangs by 2 voxels .* along y"):
        back = _with(mask, origin=arterial.TransformIndexToPhysicalPoint([0, -2, 0]))
        extract_case(arterial, venous, back, params=QUICK)


def test_a_mask_larger_than_its_image_is_an_error(case):
    arterial, venous, mask = case
    # The same ROI on a grid one voxel larger on every side: every tumour voxel stays where it was.
    larger = sitk.ConstantPad(mask, [1, 1, 1], [1, 1, 1], 0)
    assert larger.GetOrigin() == pytest.approx(arterial.TransformIndexToPhysicalPoint([-1, -1, -1]))
    with pytest.raises(PRIMEInputError, match="grid is larger than, and lies partly outside,") as raised:
        extract_case(arterial, venous, larger, params=QUICK)
    assert raised.value.value["overhang_voxels"] == [2, 2, 2]


def test_a_mask_off_the_image_grid_by_a_fraction_of_a_voxel_says_by_how_much(case):
    arterial, venous, mask = case
    off = _with(mask, origin=arterial.TransformContinuousIndexToPhysicalPoint([0.3, 0.0, 0.0]))
    with pytest.raises(
        PRIMEInputError, match=r"not on the arterial image's voxel grid: its origin is off"
    ) as raised:
        extract_case(arterial, venous, off, params=QUICK)
    assert f"by (0.3, 0, 0) voxels, i.e. ({0.3 * arterial.GetSpacing()[0]:.4g}, 0, 0) mm" in str(raised.value)


def test_a_true_crop_of_the_image_grid_gives_the_full_masks_features(case, tmp_path):
    arterial, venous, mask = case
    lower = bounding_box(mask)[:3] - 2
    upper = bounding_box(mask)[:3] + bounding_box(mask)[3:] + 2
    cropped = sitk.RegionOfInterest(mask, [int(s) for s in upper - lower], [int(i) for i in lower])
    assert cropped.GetSize() != mask.GetSize()
    crop_file = _write(cropped, tmp_path / "crop.nrrd")
    image_file = _write(arterial, tmp_path / "arterial.nrrd")
    venous = _write(venous, tmp_path / "venous.nrrd")
    from_crop = extract_case(image_file, venous, crop_file, params=QUICK)
    # Images and masks from files: the same header text, so the very same grid (an origin read back
    # from text may differ from the one in memory in its last bit).
    full = extract_case(image_file, venous, _write(mask, tmp_path / "full.nrrd"), params=QUICK)
    assert from_crop.values == full.values
    assert "sub-extent" in from_crop.diagnostics["arterial_mask"]


# --------------------------------------------------------------------------------------------------
# Radiomics warnings reach the user


@pytest.fixture(scope="module")
def export_0_255(tmp_path_factory):
    """The demo case with its arterial phase exported as 0–255 grey levels (a screenshot-like export)."""
    demo = write_demo_case(tmp_path_factory.mktemp("demo"))
    arterial = sitk.ReadImage(str(demo.arterial_image))
    values = sitk.GetArrayFromImage(arterial).astype(float)
    grey = np.rint(255 * (values - values.min()) / (values.max() - values.min())).astype(np.uint8)
    exported = sitk.GetImageFromArray(grey)
    exported.CopyInformation(arterial)
    path = demo.directory / "arterial_0_255.nrrd"
    sitk.WriteImage(exported, str(path))
    return demo, path


HU_WARNING = "The arterial image's intensities run from 0 to 255: not the range of a CT in Hounsfield units"


def test_a_0_255_image_warns_in_the_result_console_and_report(export_0_255, tmp_path, capsys):
    demo, arterial = export_0_255
    code = main(
        [
            "score",
            "--arterial", str(arterial),
            "--venous", str(demo.venous_image),
            "--mask", str(demo.tumour_mask),
            "--clinical", str(demo.clinical_record),
            "--output", str(tmp_path),
            "--report",
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert any(w.startswith(HU_WARNING) for w in result["warnings"])
    # The console table wraps long cells: compare its words, borders left out.
    console = " ".join(re.sub(r"[│┃|]", " ", capsys.readouterr().out).split())
    assert "Warning" in console and " ".join(HU_WARNING.split()) in console
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "0 to 255: not the range of a CT in Hounsfield units" in report
    # diagnostics.json keeps it too.
    diagnostics = json.loads((tmp_path / "diagnostics.json").read_text(encoding="utf-8"))
    assert any(w.startswith(HU_WARNING) for w in diagnostics["warnings"])


def test_a_batch_case_record_keeps_its_warnings(export_0_255, tmp_path):
    demo, arterial = export_0_255
    case = CaseInputs("GREY", arterial, demo.venous_image, demo.tumour_mask)
    outcome = process_case(case, BatchSettings(mode="extract", params=QUICK), str(tmp_path))
    assert outcome["status"] == "done"
    (record_file,) = (tmp_path / "cases").glob("*.json")
    record = json.loads(record_file.read_text(encoding="utf-8"))
    assert any(w.startswith(HU_WARNING) for w in record["warnings"])
