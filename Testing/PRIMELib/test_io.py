"""Reading images and masks, geometry conversion, and atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import (
    check_mask_matches_image,
    image_from_ras_array,
    load_image,
    ras_geometry_from_image,
    write_atomically,
)


def _image(array, spacing=(0.7, 0.7, 5.0), origin=(1.0, 2.0, 3.0)):
    image = sitk.GetImageFromArray(np.asarray(array))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.csv"

    def failing_writer(tmp):
        tmp.write_text("half a file")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(target, failing_writer)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_an_existing_file_whole(tmp_path):
    target = tmp_path / "image.nrrd"
    target.write_text("old")
    write_atomically(target, lambda tmp: sitk.WriteImage(_image(np.ones((2, 3, 4), np.int16)), str(tmp)))
    assert sitk.GetArrayFromImage(sitk.ReadImage(str(target))).shape == (2, 3, 4)
    assert [p.name for p in tmp_path.iterdir()] == ["image.nrrd"]


def test_image_round_trip_keeps_values_and_geometry(tmp_path):
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    path = tmp_path / "ct.nii.gz"
    sitk.WriteImage(_image(array), str(path))
    loaded = load_image(path, field="arterial image")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(loaded), array)
    assert loaded.GetSpacing() == pytest.approx((0.7, 0.7, 5.0))


def test_missing_file_error_names_the_field_and_path(tmp_path):
    with pytest.raises(PRIMEInputError) as error:
        load_image(tmp_path / "nope.nrrd", field="venous image")
    assert "venous image" in str(error.value) and "nope.nrrd" in str(error.value)
    assert error.value.field == "venous image"


def test_unsupported_suffix_and_corrupt_file_are_clear_errors(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(PRIMEInputError, match="not an image type"):
        load_image(text)
    corrupt = tmp_path / "broken.nrrd"
    corrupt.write_bytes(b"NRRD0004\ngarbage")
    with pytest.raises(PRIMEInputError, match="could not be read"):
        load_image(corrupt, field="arterial image")


def test_dicom_folder_without_a_series_is_refused(tmp_path):
    with pytest.raises(PRIMEInputError, match="0 DICOM series"):
        load_image(tmp_path, field="arterial image")


def test_grid_mismatch_names_both_geometries():
    image = _image(np.zeros((2, 3, 4), np.int16))
    mask = _image(np.ones((2, 3, 4), np.uint8), spacing=(1.0, 1.0, 1.0))
    with pytest.raises(PRIMEInputError) as error:
        check_mask_matches_image(image, mask, phase="venous")
    message = str(error.value)
    assert "venous mask" in message and "spacing (0.7, 0.7, 5)" in message and "spacing (1, 1, 1)" in message


def test_ras_and_lps_differ_by_the_sign_of_the_first_two_axes():
    # A Slicer volume at RAS origin (10, 20, 30) with identity directions is, in ITK's LPS,
    # at (-10, -20, 30) with directions diag(-1, -1, 1).
    image = image_from_ras_array(
        np.zeros((2, 3, 4), np.int16),
        spacing=(0.5, 0.6, 2.0),
        origin_ras=(10, 20, 30),
        directions_ras=np.eye(3),
    )
    assert image.GetOrigin() == pytest.approx((-10.0, -20.0, 30.0))
    assert image.GetDirection() == pytest.approx((-1, 0, 0, 0, -1, 0, 0, 0, 1))
    assert image.GetSize() == (4, 3, 2)
    geometry = ras_geometry_from_image(image)
    assert geometry.origin_ras == pytest.approx((10.0, 20.0, 30.0))
    np.testing.assert_allclose(geometry.directions_ras, np.eye(3))
    assert geometry.spacing == pytest.approx((0.5, 0.6, 2.0))
