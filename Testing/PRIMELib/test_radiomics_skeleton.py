"""Dual-phase extraction: equals PyRadiomics' own output, and shape features match geometric truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from PRIMELib.demo import make_demo_images
from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics import extract_case, params_file


def _sphere(radius_mm: float, spacing=(1.0, 1.0, 1.0), size=64):
    zz, yy, xx = np.indices((size, size, size), dtype=float)
    c = (size - 1) / 2
    mask = ((xx - c) * spacing[0]) ** 2 + ((yy - c) * spacing[1]) ** 2 + (
        (zz - c) * spacing[2]
    ) ** 2 <= radius_mm**2
    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray((100 + 10 * rng.normal(size=mask.shape)).astype(np.int16))
    image.SetSpacing(spacing)
    mask_image = sitk.GetImageFromArray(mask.astype(np.uint8))
    mask_image.CopyInformation(image)
    return image, mask_image


def test_columns_are_phase_prefixed_pyradiomics_names_equal_to_pyradiomics_itself():
    from radiomics import featureextractor

    arterial, venous, mask = make_demo_images()
    features = extract_case(arterial, venous, mask, params="prime_quick")
    reference = featureextractor.RadiomicsFeatureExtractor(str(params_file("prime_quick")))
    for phase, image in (("arterial", arterial), ("venous", venous)):
        expected = {
            k: float(v) for k, v in reference.execute(image, mask).items() if not k.startswith("diag")
        }
        got = {k.removeprefix(f"{phase}_"): v for k, v in features.values.items() if k.startswith(phase)}
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
    assert "arterial_original_shape_Maximum3DDiameter" in features.values
    assert "venous_diagnostics_Versions_PyRadiomics" in features.diagnostics
    assert len(features.diagnostics["params_sha256"]) == 64


def test_shape_of_a_sphere_matches_geometry():
    image, mask = _sphere(radius_mm=12.0)
    values = extract_case(image, image, mask, params="prime_quick").values
    volume = 4 / 3 * math.pi * 12.0**3
    assert values["arterial_original_shape_MeshVolume"] == pytest.approx(volume, rel=0.03)
    assert values["arterial_original_shape_Maximum3DDiameter"] == pytest.approx(24.0, abs=1.5)
    assert values["arterial_original_shape_Sphericity"] > 0.9
    # The same mask on both phases gives the same shape.
    assert values["venous_original_shape_MeshVolume"] == values["arterial_original_shape_MeshVolume"]


def test_repeat_runs_give_identical_values():
    arterial, venous, mask = make_demo_images()
    first = extract_case(arterial, venous, mask, params="prime_quick").values
    again = extract_case(arterial, venous, mask, params="prime_quick").values
    assert first == again


def test_unknown_parameter_set_and_missing_yaml_are_clear_errors(tmp_path):
    with pytest.raises(PRIMEInputError, match="Unknown radiomics parameter set 'fast'"):
        params_file("fast")
    with pytest.raises(PRIMEInputError, match="does not exist"):
        params_file(tmp_path / "mine.yaml")


def test_paper_parameter_set_has_the_paper_settings():
    import yaml

    params = yaml.safe_load(params_file("prime_paper").read_text())
    assert params["setting"]["resampledPixelSpacing"] == [1, 1, 1]
    assert params["setting"]["binWidth"] == 25 and params["setting"]["normalize"] is True
    assert params["imageType"]["LoG"]["sigma"] == [4.0]
    assert set(params["imageType"]) == {"Original", "LoG", "Wavelet"}
    assert set(params["featureClass"]) == {"firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm"}
