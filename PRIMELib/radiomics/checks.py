"""Input checks before any expensive work: clear errors for unusable inputs, warnings for odd ones."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics.crop import ImageStatistics

#: Fewest ROI voxels, on the grid features are computed on (1 mm after resampling), for texture
#: features: a 4 × 4 × 4 mm cube. Below that, GLCM/GLSZM/NGTDM describe a handful of voxels and LoG
#: (σ = 4 mm) sees mostly the surroundings. A params file's ``minimumROISize`` can raise it.
MIN_ROI_VOXELS = 64
#: Fewest voxels the ROI must span along every axis: 3D shape and 3D texture need a 3D ROI.
MIN_ROI_EXTENT = 2


def check_volume(image: sitk.Image, *, field: str) -> None:
    """Raise unless ``image`` is a scalar 3D volume with more than one voxel along every axis."""
    size = image.GetSize()
    if image.GetDimension() != 3 or min(size) < 2:
        raise PRIMEInputError(
            f"The {field} is {'a single slice' if image.GetDimension() == 3 else f'{image.GetDimension()}D'} "
            f"(size {tuple(size)}), not a 3D volume.",
            field=field,
            value=tuple(size),
            expected="a 3D CT volume (several slices) and its 3D mask",
            hint="Load the whole series (all slices) of the phase, not one slice or a screenshot.",
        )
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise PRIMEInputError(
            f"The {field} has {image.GetNumberOfComponentsPerPixel()} components per voxel.",
            field=field,
            expected="a scalar (grey-level) CT volume",
        )
    # (``image`` may be a file's header, checked before its voxels are read: no pixel type there.)
    if isinstance(image, sitk.Image) and image.GetPixelID() in (
        sitk.sitkComplexFloat32,
        sitk.sitkComplexFloat64,
    ):
        raise PRIMEInputError(
            f"The {field} has complex-valued voxels ({image.GetPixelIDTypeAsString()}).",
            field=field,
            expected="a scalar (grey-level) CT volume of real numbers",
            hint="Export the magnitude (or the real part) of the volume.",
        )


def check_intensities(image: sitk.Image, stats: ImageStatistics, *, field: str, normalize: bool) -> list[str]:
    """Raise on NaN/infinite voxels (or a constant image that cannot be normalised); return warnings."""
    if not stats.finite:
        array = sitk.GetArrayViewFromImage(image)
        nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        if nan == 0 and inf == 0:  # every voxel finite, but so large that their mean or spread overflows
            raise PRIMEInputError(
                f"The {field}'s intensities run from {stats.minimum:g} to {stats.maximum:g}: too large to "
                "compute with (their mean or standard deviation overflows).",
                field=field,
                value={"minimum": stats.minimum, "maximum": stats.maximum},
                expected="CT intensities in Hounsfield units (about −1000 to a few thousand)",
                hint="Re-export the volume from the scanner's DICOM; a processing step scaled its values.",
            )
        raise PRIMEInputError(
            f"The {field} has {nan} NaN and {inf} infinite voxel values.",
            field=field,
            value={"nan_voxels": nan, "infinite_voxels": inf},
            expected="finite intensities (Hounsfield units) in every voxel",
            hint="Re-export the volume from the scanner's DICOM; a processing step wrote invalid values.",
        )
    if normalize and stats.sigma == 0:
        raise PRIMEInputError(
            f"The {field} has one intensity ({stats.minimum:g}) in every voxel: it cannot be normalised.",
            field=field,
            expected="a CT volume",
        )
    warnings = []
    # No negative value at all: a 0-255 screenshot-style export or raw unsigned scanner values (the rescale
    # intercept not applied). Any abdominal CT holds fat (about -100) or air, so real ones never trip this.
    if stats.minimum >= 0 or stats.maximum < 0 or stats.maximum > 10000:
        warnings.append(
            f"The {field}'s intensities run from {stats.minimum:g} to {stats.maximum:g}: not the range of a "
            "CT in Hounsfield units (air about −1000, soft tissue 0 to 100, bone up to about 2000). Check it "
            "is the whole CT with its rescale slope and intercept applied; features were computed anyway."
        )
    elif stats.minimum < -3100:
        warnings.append(
            f"The {field}'s minimum is {stats.minimum:g}: a padding value outside the scanner's field of "
            "view. It shifts the whole-image normalisation; features were computed anyway."
        )
    return warnings


def check_roi_size(mask: sitk.Image, *, field: str, settings: dict) -> int:
    """Raise when the ROI (on the grid features are computed on) is too small for texture; return its size."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(mask)
    count = int(stats.GetNumberOfPixels(1)) if stats.HasLabel(1) else 0
    extent = tuple(int(s) for s in stats.GetBoundingBox(1)[3:]) if count else (0, 0, 0)
    minimum = max(MIN_ROI_VOXELS, int(settings.get("minimumROISize") or 0))
    if count < minimum or min(extent) < MIN_ROI_EXTENT:
        spacing = " × ".join(f"{s:g}" for s in mask.GetSpacing())
        side = round(minimum ** (1 / 3))
        raise PRIMEInputError(
            f"The {field}'s ROI is too small for texture features: {count} voxels spanning {extent} voxels "
            f"(x, y, z) on the {spacing} mm grid features are computed on.",
            field=field,
            value=count,
            expected=f"at least {minimum} voxels spanning at least {MIN_ROI_EXTENT} voxels along each axis "
            f"(e.g. a {side} × {side} × {side} mm cube at 1 mm)",
            hint="Check the mask is the tumour (not a seed or one slice) and the right label or segment.",
        )
    return count
