"""Dual-phase CT phantoms of one synthetic patient, with the ground-truth tumour mask.

The tumour is a union of spheres: a main body and 2-6 lobes whose count and offset grow with the
patient's lobulation level (lower sphericity), scaled so its largest 3D diameter is the patient's
tumour diameter. The exact signed distance of that union gives partial-volume edges. Intensities:
liver about 75 HU arterial / 115 HU venous; tumour about 130 HU arterial (hyper-enhancement) and
85 HU venous (wash-out); intratumoral texture whose amplitude grows with the patient's heterogeneity;
a less enhancing core in large tumours; Gaussian noise per phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

#: Routine dual-phase liver CT: 0.7 mm in plane, 5 mm slices.
DEFAULT_SPACING_MM = (0.7, 0.7, 5.0)
_MARGIN_MM = 30.0
_HU = {
    "arterial": {"background": -20.0, "liver": 75.0, "tumour": 130.0, "core": 70.0},
    "venous": {"background": -10.0, "liver": 115.0, "tumour": 85.0, "core": 65.0},
}


@dataclass(frozen=True)
class Spheres:
    """Centres (mm, relative to the tumour centre, x/y/z) and radii (mm) of the tumour's spheres."""

    centres: np.ndarray
    radii: np.ndarray

    @property
    def max_diameter_mm(self) -> float:
        """Largest distance between two points of the union: max over pairs of |ci - cj| + ri + rj."""
        gaps = np.linalg.norm(self.centres[:, None, :] - self.centres[None, :, :], axis=-1)
        return float((gaps + self.radii[:, None] + self.radii[None, :]).max())


def tumour_spheres(diameter_cm: float, lobulation: float, rng: np.random.Generator) -> Spheres:
    """The spheres of a tumour with the given largest diameter and lobulation level in [0, 1]."""
    lobes = 2 + round(4 * lobulation)
    directions = rng.normal(size=(lobes, 3))
    directions[:, 2] *= 0.7  # a little flatter cranio-caudally
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    offsets = directions * (0.3 + 0.8 * lobulation) * rng.uniform(0.85, 1.15, (lobes, 1))
    radii = np.concatenate([[1.0], rng.uniform(0.35, 0.6, lobes) * (1.0 - 0.2 * lobulation)])
    unit = Spheres(np.vstack([np.zeros(3), offsets]), radii)
    scale = diameter_cm * 10.0 / unit.max_diameter_mm
    return Spheres(unit.centres * scale, unit.radii * scale)


def _signed_distance(spheres: Spheres, coords: list[np.ndarray]) -> np.ndarray:
    """Signed distance (mm, positive inside) to the union of spheres, on the grid ``coords`` (x, y, z)."""
    inside = np.full(coords[0].shape, -np.inf, dtype=np.float32)
    for centre, radius in zip(spheres.centres, spheres.radii, strict=True):
        distance = np.sqrt(sum((c - centre[i]) ** 2 for i, c in enumerate(coords)))
        np.maximum(inside, radius - distance, out=inside)
    return inside


def make_phantom(
    *,
    diameter_cm: float,
    lobulation: float,
    heterogeneity: float,
    seed: int | np.random.SeedSequence,
    spacing_mm: tuple[float, float, float] = DEFAULT_SPACING_MM,
    satellites: int = 0,
) -> tuple[sitk.Image, sitk.Image, sitk.Image]:
    """(arterial, venous, mask) SimpleITK images of one patient, in one physical space.

    ``satellites`` adds that many small lesions (6-12 mm radius) near the main tumour, in the mask too.
    """
    rng = np.random.default_rng(seed)
    spheres = tumour_spheres(diameter_cm, lobulation, rng)
    extent_mm = spheres.max_diameter_mm + 2 * _MARGIN_MM + (50.0 if satellites else 0.0)
    size = [int(np.ceil(extent_mm / s)) for s in spacing_mm]
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(size, spacing_mm, strict=True)]
    zz, yy, xx = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    coords = [xx.astype(np.float32), yy.astype(np.float32), zz.astype(np.float32)]
    # Centre the union's bounding box in the field of view.
    low = (spheres.centres - spheres.radii[:, None]).min(axis=0)
    high = (spheres.centres + spheres.radii[:, None]).max(axis=0)
    spheres = Spheres(spheres.centres - (low + high) / 2, spheres.radii)
    if satellites:
        directions = rng.normal(size=(satellites, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        radii = rng.uniform(6.0, 12.0, satellites)
        reach = spheres.max_diameter_mm / 2 + 15.0 + radii
        spheres = Spheres(
            np.vstack([spheres.centres, directions * reach[:, None]]), np.concatenate([spheres.radii, radii])
        )
    distance = _signed_distance(spheres, coords)
    mask = distance >= 0
    # Partial volume: the tumour fraction of a voxel ramps linearly across the edge.
    edge_mm = 0.5 * float(np.mean(spacing_mm))
    fraction = np.clip(0.5 + distance / (2 * edge_mm), 0.0, 1.0)
    core = np.clip((distance - 0.35 * spheres.radii[0]) / (0.15 * spheres.radii[0]), 0.0, 1.0)
    core *= diameter_cm >= 6.0  # necrotic/less enhancing centre in large tumours
    liver = (xx / (0.49 * size[0] * spacing_mm[0])) ** 2 + (yy / (0.47 * size[1] * spacing_mm[1])) ** 2 + (
        zz / (0.49 * size[2] * spacing_mm[2])
    ) ** 2 <= 1.0
    texture = sitk.GetArrayFromImage(
        sitk.SmoothingRecursiveGaussian(
            _image(rng.normal(0.0, 1.0, distance.shape).astype(np.float32), spacing_mm), 2.0
        )
    )
    texture /= texture.std() or 1.0
    amplitude = 18.0 * float(np.exp(0.45 * heterogeneity))
    images = []
    for phase in ("arterial", "venous"):
        hu = _HU[phase]
        tumour_hu = hu["tumour"] * (1 - core) + hu["core"] * core + amplitude * texture
        volume = np.where(liver, hu["liver"], hu["background"]).astype(np.float32)
        volume = volume * (1 - fraction) + tumour_hu * fraction
        volume += rng.normal(0.0, 12.0, volume.shape).astype(np.float32)
        images.append(_image(np.round(volume).astype(np.int16), spacing_mm))
    mask_image = _image(mask.astype(np.uint8), spacing_mm)
    return images[0], images[1], mask_image


def _image(array: np.ndarray, spacing_mm) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(tuple(float(s) for s in spacing_mm))
    size = image.GetSize()
    image.SetOrigin(tuple(-(n - 1) / 2 * s for n, s in zip(size, spacing_mm, strict=True)))
    return image
