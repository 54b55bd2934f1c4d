"""Small CT phantoms for the radiomics tests: a few ms to build, a few seconds to extract.

Geometry is deliberately awkward (anisotropic spacing, an origin off every round grid, a tilted
direction) so that a crop or a resampling grid that is off by a fraction of a voxel shows.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

#: A small dual-phase case: (x, y, z) voxels, spacing (mm), scanner-like origin, slightly tilted axes.
SIZE_XYZ = (56, 52, 22)
SPACING_MM = (0.74, 0.74, 2.5)
ORIGIN_MM = (-21.37, 13.91, -40.3)
_ANGLE = np.deg2rad(4.0)
DIRECTION = (np.cos(_ANGLE), -np.sin(_ANGLE), 0.0, np.sin(_ANGLE), np.cos(_ANGLE), 0.0, 0.0, 0.0, 1.0)


def image_like(array: np.ndarray, spacing=SPACING_MM, origin=ORIGIN_MM, direction=DIRECTION) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(o) for o in origin))
    image.SetDirection(tuple(float(d) for d in direction))
    return image


def small_case(seed: int = 3, size=SIZE_XYZ, spacing=SPACING_MM, origin=ORIGIN_MM, direction=DIRECTION):
    """(arterial, venous, mask): air, body, a lobulated heterogeneous tumour ~16 mm across (int16 HU)."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = size
    zz, yy, xx = np.meshgrid(
        (np.arange(nz) - nz / 2) * spacing[2],
        (np.arange(ny) - ny / 2) * spacing[1],
        (np.arange(nx) - nx / 2) * spacing[0],
        indexing="ij",
    )
    body = (xx / 19.0) ** 2 + (yy / 17.0) ** 2 <= 1.0
    tumour = (xx - 1.0) ** 2 + (yy + 0.5) ** 2 + (zz / 1.1) ** 2 <= 7.5**2
    tumour |= (xx - 5.0) ** 2 + (yy - 3.0) ** 2 + (zz - 3.0) ** 2 <= 4.5**2
    texture = sitk.GetArrayFromImage(
        sitk.SmoothingRecursiveGaussian(sitk.GetImageFromArray(rng.normal(size=xx.shape)), 1.5)
    )
    texture /= texture.std()
    phases = []
    for body_hu, tumour_hu in ((60.0, 140.0), (110.0, 85.0)):
        hu = np.where(body, body_hu, -1000.0) + rng.normal(0.0, 10.0, size=xx.shape)
        hu = np.where(tumour, tumour_hu + 30.0 * texture + rng.normal(0.0, 10.0, size=xx.shape), hu)
        phases.append(image_like(np.rint(hu).astype(np.int16), spacing, origin, direction))
    mask = image_like(tumour.astype(np.uint8), spacing, origin, direction)
    return phases[0], phases[1], mask


def sphere(radius_mm: float, size: int = 40, spacing=(1.0, 1.0, 1.0)):
    """(image, mask): a digital sphere centred in a noisy CT-like cube."""
    zz, yy, xx = np.indices((size, size, size), dtype=float)
    centre = (size - 1) / 2
    inside = ((xx - centre) * spacing[0]) ** 2 + ((yy - centre) * spacing[1]) ** 2 + (
        (zz - centre) * spacing[2]
    ) ** 2 <= radius_mm**2
    rng = np.random.default_rng(0)
    values = np.where(inside, 80.0, -900.0) + 10.0 * rng.normal(size=inside.shape)
    image = image_like(values.astype(np.int16), spacing, (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    mask = image_like(inside.astype(np.uint8), spacing, (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    return image, mask


def two_level(spacing=(1.0, 1.0, 2.0)):
    """(image, mask): a 10 × 10 × 10 voxel ROI, half at 100 HU and half at 200 HU, in air."""
    array = np.full((16, 16, 16), -1000, dtype=np.int16)
    roi = np.zeros(array.shape, dtype=np.uint8)
    roi[3:13, 3:13, 3:13] = 1
    array[3:13, 3:13, 3:8] = 100
    array[3:13, 3:13, 8:13] = 200
    identity = (1, 0, 0, 0, 1, 0, 0, 0, 1)
    return image_like(array, spacing, (0, 0, 0), identity), image_like(roi, spacing, (0, 0, 0), identity)
