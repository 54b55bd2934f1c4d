"""Post-processing shared by every engine: fill holes, keep the tumour's component, remove islands, smooth.

Every function takes and returns a binary ``uint8`` SimpleITK image (1 = tumour) on the same grid.
Radii are in mm and are turned into per-axis voxel radii with the image's spacing, so a thick-slice
CT is not over-eroded along z.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


def as_binary(mask: sitk.Image) -> sitk.Image:
    """``mask != 0`` as uint8, with the same geometry."""
    return sitk.Cast(sitk.NotEqual(mask, 0), sitk.sitkUInt8)


def voxel_radius(spacing: Sequence[float], radius_mm: float) -> list[int]:
    """Per-axis voxel radius of a ball of ``radius_mm`` (0 along axes coarser than the radius)."""
    return [max(0, round(radius_mm / s)) for s in spacing]


def fill_holes(mask: sitk.Image, *, per_slice: bool = True) -> sitk.Image:
    """Fill cavities enclosed in 3D and, with ``per_slice``, holes enclosed within each axial slice.

    A necrotic core that does not enhance is tumour; on thick slices it often opens through the top or
    bottom slice, where only the 2D fill closes it.
    """
    array = sitk.GetArrayFromImage(as_binary(mask)).astype(bool)
    filled = ndimage.binary_fill_holes(array)
    if per_slice:
        # Face connectivity within each axial slice only: holes are filled slice by slice in one call.
        in_slice = np.zeros((3, 3, 3), dtype=bool)
        in_slice[1] = ndimage.generate_binary_structure(2, 1)
        filled = ndimage.binary_fill_holes(filled, structure=in_slice)
    result = sitk.GetImageFromArray(filled.astype(np.uint8))
    result.CopyInformation(mask)
    return result


def label_components(mask: sitk.Image) -> tuple[sitk.Image, int]:
    """Face-connected components of ``mask``, relabelled largest first; returns (labels, count)."""
    labels = sitk.RelabelComponent(sitk.ConnectedComponent(as_binary(mask), False), sortByObjectSize=True)
    return labels, int(sitk.GetArrayViewFromImage(labels).max())


def keep_largest_component(mask: sitk.Image) -> sitk.Image:
    """The largest face-connected component (an empty mask stays empty)."""
    labels, count = label_components(mask)
    if count == 0:
        return as_binary(mask)
    return sitk.Cast(sitk.Equal(labels, 1), sitk.sitkUInt8)


def keep_components_at(mask: sitk.Image, indices_ijk: np.ndarray) -> sitk.Image:
    """The components that contain at least one of the voxels ``indices_ijk`` (n, 3) in (i, j, k) order."""
    labels, count = label_components(mask)
    if count == 0 or len(indices_ijk) == 0:
        return sitk.Cast(labels * 0, sitk.sitkUInt8)
    array = sitk.GetArrayViewFromImage(labels)
    wanted = {int(array[k, j, i]) for i, j, k in np.asarray(indices_ijk, dtype=int)} - {0}
    kept = np.isin(array, sorted(wanted)).astype(np.uint8)
    result = sitk.GetImageFromArray(kept)
    result.CopyInformation(mask)
    return result


def remove_islands(mask: sitk.Image, min_volume_mm3: float) -> sitk.Image:
    """Drop components smaller than ``min_volume_mm3``."""
    voxel_mm3 = float(np.prod(mask.GetSpacing()))
    min_voxels = max(1, int(np.ceil(min_volume_mm3 / voxel_mm3)))
    labels = sitk.RelabelComponent(
        sitk.ConnectedComponent(as_binary(mask), False), minimumObjectSize=min_voxels, sortByObjectSize=True
    )
    return sitk.Cast(sitk.NotEqual(labels, 0), sitk.sitkUInt8)


def open_mask(mask: sitk.Image, radius_mm: float) -> sitk.Image:
    """Morphological opening with a ball of ``radius_mm``: cuts thin bridges (vessels) and spurs."""
    radius = voxel_radius(mask.GetSpacing(), radius_mm)
    if not any(radius):
        return as_binary(mask)
    return sitk.BinaryMorphologicalOpening(as_binary(mask), radius, sitk.sitkBall, 0, 1)


def close_mask(mask: sitk.Image, radius_mm: float) -> sitk.Image:
    """Morphological closing with a ball of ``radius_mm``: fills notches and thin clefts."""
    radius = voxel_radius(mask.GetSpacing(), radius_mm)
    if not any(radius):
        return as_binary(mask)
    return sitk.BinaryMorphologicalClosing(as_binary(mask), radius, sitk.sitkBall, 1, True)


def smooth_mask(mask: sitk.Image, sigma_mm: float) -> sitk.Image:
    """Smooth the surface: Gaussian blur of the mask (sigma in mm), thresholded to keep the volume.

    Removes staircase edges and one-voxel spikes. A plain threshold at one half would shrink convex
    shapes (by 7 % for a 9 mm ball at sigma 1.5 mm); the level is chosen so that the voxel count stays.
    """
    binary = as_binary(mask)
    count = int(np.count_nonzero(sitk.GetArrayViewFromImage(binary)))
    if sigma_mm <= 0 or count == 0:
        return binary
    blurred = sitk.GetArrayFromImage(
        sitk.SmoothingRecursiveGaussian(sitk.Cast(binary, sitk.sitkFloat32), sigma_mm)
    ).ravel()
    level = np.partition(blurred, blurred.size - count)[blurred.size - count]
    result = sitk.GetImageFromArray((blurred >= level).reshape(binary.GetSize()[::-1]).astype(np.uint8))
    result.CopyInformation(mask)
    return result


@dataclass(frozen=True)
class PostProcessing:
    """Post-processing settings (every length in mm, volume in mm³).

    keep: ``"seeded"`` keeps the components holding the seed voxels (falls back to the largest),
    ``"largest"`` the largest component, ``"all"`` every component larger than ``min_island_mm3``.
    """

    fill_holes: bool = True
    keep: str = "seeded"
    min_island_mm3: float = 50.0
    opening_mm: float = 0.0
    closing_mm: float = 0.0
    smoothing_mm: float = 0.0


def postprocess_mask(
    mask: sitk.Image, settings: PostProcessing | None = None, *, seed_indices_ijk: np.ndarray | None = None
) -> sitk.Image:
    """Apply ``settings`` in the order open → keep → close → fill holes → smooth → drop islands."""
    settings = settings or PostProcessing()
    if settings.keep not in {"seeded", "largest", "all"}:
        raise ValueError(f"keep must be 'seeded', 'largest' or 'all', not {settings.keep!r}")
    result = as_binary(mask)
    if settings.opening_mm > 0:
        result = open_mask(result, settings.opening_mm)
    result = _keep(result, settings.keep, seed_indices_ijk)
    if settings.closing_mm > 0:
        result = close_mask(result, settings.closing_mm)
    if settings.fill_holes:
        result = fill_holes(result)
    if settings.smoothing_mm > 0:
        result = smooth_mask(result, settings.smoothing_mm)
        result = _keep(result, settings.keep, seed_indices_ijk)
    if settings.min_island_mm3 > 0:
        result = remove_islands(result, settings.min_island_mm3)
    return result


def _keep(mask: sitk.Image, keep: str, seed_indices_ijk) -> sitk.Image:
    if keep == "largest":
        return keep_largest_component(mask)
    if keep == "seeded":
        if seed_indices_ijk is not None and len(seed_indices_ijk):
            kept = keep_components_at(mask, seed_indices_ijk)
            if sitk.GetArrayViewFromImage(kept).any():
                return kept
        return keep_largest_component(mask)
    return as_binary(mask)
