"""A realistic-sized synthetic dual-phase liver CT with a large tumour, for benchmarks.

512 × 512 × 100 voxels at 0.7 × 0.7 × 5 mm (a routine abdominal CT), air around an elliptic body,
a liver, and a lobulated, heterogeneous tumour (by default about 9 cm across, the PRIME paper's mean
size; :func:`radius_for_diameter` gives other sizes) that enhances in the arterial phase and washes out
in the portal-venous phase. Values are int16 HU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

SIZE_XYZ = (512, 512, 100)
SPACING_MM = (0.7, 0.7, 5.0)
#: A typical scanner origin (LPS), not on any round grid: the resampled 1 mm grid must not depend on it.
ORIGIN_MM = (-178.65, -201.15, -312.5)

#: Widest extent (mm) of the lobulated tumour per mm of ``tumour_radius_mm`` (86.75 mm at 45 mm).
_EXTENT_PER_RADIUS = 86.75 / 45.0

_PHASE_HU = {
    #            body, liver, tumour rim, tumour core
    "arterial": (35.0, 70.0, 140.0, 55.0),
    "venous": (45.0, 115.0, 90.0, 60.0),
}


@dataclass
class SyntheticCase:
    arterial: sitk.Image
    venous: sitk.Image
    mask: sitk.Image


def radius_for_diameter(diameter_mm: float) -> float:
    """The ``tumour_radius_mm`` whose tumour is ``diameter_mm`` across at its widest (left–right)."""
    return diameter_mm / _EXTENT_PER_RADIUS


def tumour_extent_mm(mask: sitk.Image) -> float:
    """The tumour's widest extent along an image axis, in mm."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(mask)
    box = stats.GetBoundingBox(1)
    return max(n * s for n, s in zip(box[3:], mask.GetSpacing(), strict=True))


def make_case(seed: int = 7, tumour_radius_mm: float = 45.0) -> SyntheticCase:
    """Build both phases and the tumour mask (uint8, label 1) on the same grid.

    The lobes' radii and offsets scale with ``tumour_radius_mm`` (the shape is the same at any size).
    """
    rng = np.random.default_rng(seed)
    nx, ny, nz = SIZE_XYZ
    sx, sy, sz = SPACING_MM
    z = (np.arange(nz, dtype=np.float32) - nz / 2) * sz
    y = (np.arange(ny, dtype=np.float32) - ny / 2) * sy
    x = (np.arange(nx, dtype=np.float32) - nx / 2) * sx
    zz, yy, xx = z[:, None, None], y[None, :, None], x[None, None, :]

    body = np.broadcast_to((xx / 165.0) ** 2 + (yy / 125.0) ** 2 <= 1.0, (nz, ny, nx))
    liver = ((xx + 45.0) / 105.0) ** 2 + ((yy + 10.0) / 80.0) ** 2 + (zz / 130.0) ** 2 <= 1.0
    centre = np.array([-50.0, -5.0, 0.0])  # x, y, z in mm
    tumour = np.zeros((nz, ny, nx), dtype=bool)
    lobes = [((0, 0, 0), tumour_radius_mm * 0.82), ((14, 8, 10), tumour_radius_mm * 0.7)]
    lobes += [((-12, -14, -8), tumour_radius_mm * 0.65), ((6, -16, 14), tumour_radius_mm * 0.55)]
    scale = tumour_radius_mm / 45.0
    for (dx, dy, dz), radius in lobes:
        cx, cy, cz = centre + scale * np.array([dx, dy, dz])
        tumour |= (xx - cx) ** 2 + (yy - cy) ** 2 + (zz - cz) ** 2 <= radius**2
    core = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (zz - centre[2]) ** 2 <= (
        0.4 * tumour_radius_mm
    ) ** 2

    # A smooth heterogeneity field (about 6 mm correlation) shared by both phases, as real tissue is.
    field = _smooth_noise(rng, (nz, ny, nx), sigma_mm=6.0)
    images = {}
    for phase, (body_hu, liver_hu, rim_hu, core_hu) in _PHASE_HU.items():
        hu = np.full((nz, ny, nx), -1000.0, dtype=np.float32)
        hu[body] = body_hu
        hu[liver & body] = liver_hu
        hu[tumour] = rim_hu
        hu[tumour & core] = core_hu
        hu[tumour] += 25.0 * field[tumour]
        hu += rng.normal(0.0, 12.0, size=hu.shape).astype(np.float32)
        images[phase] = _image(np.clip(np.rint(hu), -1024, 3071).astype(np.int16))
    mask = _image(tumour.astype(np.uint8))
    return SyntheticCase(images["arterial"], images["venous"], mask)


def _smooth_noise(rng, shape, sigma_mm: float) -> np.ndarray:
    noise = _image(rng.normal(size=shape).astype(np.float32))
    smooth = sitk.GetArrayFromImage(sitk.SmoothingRecursiveGaussian(noise, sigma_mm))
    return smooth / smooth.std()


def _image(array: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING_MM)
    image.SetOrigin(ORIGIN_MM)
    return image
