"""Feature values against truth computed by hand on phantoms (no reference implementation involved)."""

from __future__ import annotations

import math

import pytest
from radiomics_phantoms import sphere, two_level

from PRIMELib.radiomics import extract_case, extract_phase

# Resampling to 1 mm is a no-op on these 1 mm phantoms; the point here is the arithmetic.
SHAPE_ONLY = {"imageType": {"Original": {}}, "featureClass": {"shape": None}, "setting": {"binWidth": 25}}
FIRST_ORDER = {
    "imageType": {"Original": {}},
    "featureClass": {"firstorder": None},
    "setting": {"binWidth": 25},
}


@pytest.mark.parametrize("radius", [6.0, 10.0, 14.0])
def test_a_sphere_has_the_volume_diameter_area_and_sphericity_of_a_sphere(radius):
    image, mask = sphere(radius)
    values = extract_phase(image, mask, SHAPE_ONLY, phase="arterial").values
    shape = {k.removeprefix("arterial_original_shape_"): v for k, v in values.items()}
    volume, area = 4 / 3 * math.pi * radius**3, 4 * math.pi * radius**2
    # Voxel and mesh volume of a voxelised sphere: within 1.5 % of 4/3 π r³.
    assert shape["VoxelVolume"] == pytest.approx(volume, rel=0.015)
    assert shape["MeshVolume"] == pytest.approx(volume, rel=0.015)
    # Marching cubes over a voxel staircase overestimates a sphere's area by about 8 % (Lindblad 2005).
    assert 1.04 < shape["SurfaceArea"] / area < 1.12
    # The widest chord joins mesh vertices on voxel edges' mid-points: the diameter, up to one voxel more.
    assert 2 * radius <= shape["Maximum3DDiameter"] <= 2 * radius + 1.0
    # Sphericity = π^(1/3) (6V)^(2/3) / A: 1 for a sphere; the area bias above makes it about 0.92.
    assert 0.90 < shape["Sphericity"] < 0.95
    expected = math.pi ** (1 / 3) * (6 * shape["MeshVolume"]) ** (2 / 3) / shape["SurfaceArea"]
    assert shape["Sphericity"] == pytest.approx(expected, rel=1e-9)
    assert shape["Elongation"] == pytest.approx(1.0, abs=0.02)
    assert shape["Flatness"] == pytest.approx(1.0, abs=0.02)


def test_shape_does_not_depend_on_the_phase_and_is_computed_once_for_one_roi():
    image, mask = sphere(8.0)
    features = extract_case(image, image, mask, params=SHAPE_ONLY)
    arterial = {
        k.removeprefix("arterial_"): v for k, v in features.values.items() if k.startswith("arterial")
    }
    venous = {k.removeprefix("venous_"): v for k, v in features.values.items() if k.startswith("venous")}
    assert arterial == venous
    assert "computed once" in features.diagnostics["venous_shape"]


def test_first_order_statistics_of_a_two_level_roi_are_the_hand_computed_ones():
    # 1,000 voxels of 2 mm³: 500 at 100 HU and 500 at 200 HU. No normalisation, bin width 25.
    image, mask = two_level(spacing=(1.0, 1.0, 2.0))
    values = extract_phase(image, mask, FIRST_ORDER, phase="venous").values
    f = {k.removeprefix("venous_original_firstorder_"): v for k, v in values.items()}
    assert f["Mean"] == 150 and f["Median"] == 150
    assert f["Minimum"] == 100 and f["Maximum"] == 200 and f["Range"] == 100
    assert f["10Percentile"] == 100 and f["90Percentile"] == 200 and f["InterquartileRange"] == 100
    assert f["Variance"] == pytest.approx(50.0**2)  # (100 − 150)² = (200 − 150)² = 2500
    assert f["MeanAbsoluteDeviation"] == pytest.approx(50.0)
    assert f["RobustMeanAbsoluteDeviation"] == pytest.approx(50.0)
    assert f["Skewness"] == pytest.approx(0.0, abs=1e-12)  # symmetric
    assert f["Kurtosis"] == pytest.approx(1.0)  # μ4/σ⁴ = 50⁴/50⁴ for a two-point distribution
    energy = 500 * 100**2 + 500 * 200**2
    assert f["Energy"] == pytest.approx(energy)
    assert f["TotalEnergy"] == pytest.approx(energy * 2.0)  # × voxel volume (2 mm³)
    assert f["RootMeanSquared"] == pytest.approx(math.sqrt(energy / 1000))
    # Two bins of probability 1/2: entropy 1 bit, uniformity 1/2.
    assert f["Entropy"] == pytest.approx(1.0)
    assert f["Uniformity"] == pytest.approx(0.5)
