"""Shape without the diameters (``mesh.py``): PyRadiomics' area and volume from its C function's table.

References: PyRadiomics' ``cShape.calculate_coefficients`` on the same arrays, PyRadiomics' shape
features from ``RadiomicsFeatureExtractor.computeShape``, and a hand-computed mesh (one voxel's
marching-cubes surface is a regular octahedron).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import cShape, featureextractor, imageoperations

from PRIMELib.radiomics import mesh
from PRIMELib.radiomics.compute import compute_shape

#: Every 3D shape feature of PyRadiomics 3.1 that reads area, volume or the voxels only.
NO_DIAMETER = (
    "MeshVolume",
    "VoxelVolume",
    "SurfaceArea",
    "SurfaceVolumeRatio",
    "Sphericity",
    "MajorAxisLength",
    "MinorAxisLength",
    "LeastAxisLength",
    "Elongation",
    "Flatness",
)


def _random_mask(rng, shape, density):
    mask = np.zeros(shape, np.uint8)
    inner = tuple(s - 2 for s in shape)
    mask[1:-1, 1:-1, 1:-1] = rng.random(inner) < density  # PyRadiomics pads: the border stays empty
    return mask


@pytest.mark.parametrize("seed", range(6))
def test_area_and_volume_equal_pyradiomics_c_function_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    spacing = (1.0, 1.0, 1.0) if seed == 0 else tuple(rng.uniform(0.3, 5.0, 3))
    mask = _random_mask(rng, tuple(rng.integers(6, 24, 3)), density=0.2 + 0.12 * seed)
    area, volume, _ = cShape.calculate_coefficients(mask, np.array(spacing))
    got_area, got_volume = mesh.surface_and_volume(mask, spacing)
    assert got_area == pytest.approx(area, rel=1e-12)
    assert got_volume == pytest.approx(volume, rel=1e-12)


def test_every_cube_configuration_at_every_position_equals_the_c_function():
    # One cube of each of the 256 configurations, scattered through an array with gaps between them,
    # so that each one's position (the volume's origin dependence) is tested.
    rng = np.random.default_rng(5)
    mask = np.zeros((3 * 16 + 2, 3 * 16 + 2, 4), np.uint8)
    for configuration in range(256):
        z, y = divmod(configuration, 16)
        cube = mesh._cube(configuration)
        mask[1 + 3 * z : 3 + 3 * z, 1 + 3 * y : 3 + 3 * y, 1:3] = cube
    spacing = tuple(rng.uniform(0.5, 3.0, 3))
    area, volume, _ = cShape.calculate_coefficients(mask, np.array(spacing))
    got = mesh.surface_and_volume(mask, spacing)
    assert got == pytest.approx((area, volume), rel=1e-12)


def test_one_voxel_is_a_regular_octahedron_by_hand():
    # The isosurface passes midway between the voxel and its neighbours: vertices at ±s/2 on each axis,
    # an octahedron of volume (4/3)·(sz/2)(sy/2)(sx/2); unit spacing gives area 8·(√3/2)·(1/2)² = √3.
    mask = np.zeros((3, 3, 3), np.uint8)
    mask[1, 1, 1] = 1
    area, volume = mesh.surface_and_volume(mask, (1.0, 1.0, 1.0))
    assert volume == pytest.approx(1 / 6, rel=1e-14)
    assert area == pytest.approx(math.sqrt(3), rel=1e-14)
    _, stretched = mesh.surface_and_volume(mask, (2.0, 3.0, 0.5))
    assert stretched == pytest.approx(4 / 3 * 1.0 * 1.5 * 0.25, rel=1e-14)


def _sphere(radius_voxels: float, spacing) -> sitk.Image:
    n = int(2 * radius_voxels + 5)
    z, y, x = np.ogrid[:n, :n, :n]
    centre = n / 2 - 0.3
    array = ((z - centre) ** 2 + (y - centre) ** 2 + (x - centre) ** 2 <= radius_voxels**2).astype(np.uint8)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def _pyradiomics_shape(mask: sitk.Image, names) -> dict[str, float]:
    extractor = featureextractor.RadiomicsFeatureExtractor()
    extractor.enabledFeatures = {"shape": list(names)}
    box, _ = imageoperations.checkMask(mask, mask, label=1)
    shape = extractor.computeShape(mask, mask, box, label=1)
    return {name: float(value) for name, value in shape.items()}


def test_shape_features_without_diameters_equal_pyradiomics_and_skip_the_diameters():
    mask = _sphere(9.3, (0.8, 0.75, 2.5))
    calls = []
    original = cShape.calculate_coefficients

    def counting(array, spacing):
        calls.append(array.shape)
        return original(array, spacing)

    cShape.calculate_coefficients = counting
    try:
        reference = _pyradiomics_shape(mask, NO_DIAMETER)
        assert len(calls) == 1  # PyRadiomics: once, on the whole mask
        calls.clear()
        got = compute_shape(mask, {"shape": NO_DIAMETER}, {"label": 1})
    finally:
        cShape.calculate_coefficients = original
    assert list(got) == list(reference)
    for name, value in reference.items():
        assert got[name] == pytest.approx(value, rel=1e-9), name
    # Only the table's 2×2×2 and 3×2×2 probes reached the C function, never the whole mask.
    assert all(max(shape) <= 3 for shape in calls)


def test_a_diameter_feature_keeps_pyradiomics_own_computation():
    mask = _sphere(6.2, (1.0, 1.0, 1.0))
    requested = {"shape": ("Sphericity", "Maximum3DDiameter")}
    assert mesh.needs_diameters(requested)
    assert mesh.needs_diameters({"shape": None})  # every feature: the diameters too
    assert not mesh.needs_diameters({"shape": ("Sphericity",)})
    assert not mesh.needs_diameters({"shape2D": None})
    got = compute_shape(mask, requested, {"label": 1})
    reference = _pyradiomics_shape(mask, requested["shape"])
    assert got == reference  # the same C call: the same numbers
    assert not math.isnan(got["original_shape_Maximum3DDiameter"])


def test_the_c_function_is_restored_on_leaving_even_after_an_error():
    original = cShape.calculate_coefficients
    with pytest.raises(RuntimeError, match="inside"):
        with mesh.without_diameters({"shape": ("Sphericity",)}) as used:
            assert used
            assert cShape.calculate_coefficients is not original
            with mesh.without_diameters({"shape": ("MeshVolume",)}):  # re-entrant
                pass
            assert cShape.calculate_coefficients is not original
            raise RuntimeError("inside")
    assert cShape.calculate_coefficients is original
    with mesh.without_diameters({"shape": ("Maximum3DDiameter",)}) as used:
        assert not used
        assert cShape.calculate_coefficients is original
