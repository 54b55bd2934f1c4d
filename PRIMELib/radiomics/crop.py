"""Crop the native image around the ROI so that every feature keeps the value of a whole-image extraction.

PyRadiomics applied to a whole CT (``RadiomicsFeatureExtractor.execute``) does, per phase:

1. ``normalize``: z-score the **whole image** (its mean and standard deviation), times ``normalizeScale``;
2. resample to ``resampledPixelSpacing`` only the ROI's bounding box plus ``padDistance`` voxels of the
   new grid, on a grid aligned to the **whole image's** origin (B-spline: the interpolation coefficients
   come from the whole image);
3. filter (LoG, wavelet) that resampled box, then compute features inside the ROI.

Doing this on a 512 × 512 × 100 volume costs most of the time and memory (B-spline coefficients and
normalisation of the whole image). PRIME does the same computation on a small native crop:

- **Normalisation statistics come from the whole image**, as in step 1 (one streaming pass of
  SimpleITK's statistics filter, no copy), and are applied to the crop only. So values equal
  PyRadiomics run on the uncropped image. (Their dependence on the field of view, i.e. how much air and
  body the scan holds, is the paper's method and is kept; it is reported in the diagnostics.)
- **The resampled grid is computed from the whole mask** with PyRadiomics' own formula
  (:func:`target_grid`), never from the crop: a crop whose origin is not on the 1 mm grid would
  otherwise shift every resampled voxel and change texture features by up to about 10 %.
- **The native crop covers that grid plus** :data:`INTERPOLATION_MARGIN_VOXELS` native voxels on each
  side: cubic B-spline coefficients are an IIR filter whose pole is 2 − √3 ≈ −0.268, so the influence
  of the crop's edge on a voxel 20 voxels inside falls by 0.268²⁰ ≈ 4e-12.
- LoG (σ = 4 mm) then sees exactly PyRadiomics' own resampled box (bounding box plus
  ``padDistance``): identical input, identical output. The wavelet sees only the ROI's box plus the
  filter's support (:func:`wavelet_region`: 5 voxels for coif1, not ``padDistance``'s 20): its
  stationary transform makes each voxel's value from its neighbours within that support alone, so
  the ROI's values are the same numbers, at about half the cost and memory for a large tumour.
- Without resampling and without ``preCrop``, PyRadiomics filters the whole native image; PRIME then
  keeps :func:`filter_margin_voxels` around the ROI (10σ for LoG, the wavelet filter's support at its
  deepest level) so filtered values inside the ROI agree to better than 1e-6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from PRIMELib.radiomics.geometry import check_feature_grid, resampled_bounds, target_spacing

#: Native voxels kept beyond the resampling grid for the interpolator (see the module docstring).
INTERPOLATION_MARGIN_VOXELS = 20
#: LoG margin, in σ, when the whole native image would be filtered (exp(-50) Gaussian tail).
LOG_MARGIN_SIGMAS = 10.0


@dataclass(frozen=True)
class Grid:
    """A voxel grid: size (x, y, z), spacing (mm), origin (mm, LPS) and direction cosines."""

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image: sitk.Image) -> Grid:
        return cls(
            tuple(int(s) for s in image.GetSize()),
            tuple(float(s) for s in image.GetSpacing()),
            tuple(float(o) for o in image.GetOrigin()),
            tuple(float(d) for d in image.GetDirection()),
        )

    def resample(self, image: sitk.Image, interpolator: int) -> sitk.Image:
        """``image`` on this grid, keeping its pixel type (as PyRadiomics' ``resampleImage``)."""
        rif = sitk.ResampleImageFilter()
        rif.SetOutputSpacing(self.spacing)
        rif.SetOutputDirection(self.direction)
        rif.SetSize([int(s) for s in self.size])
        rif.SetOutputOrigin(self.origin)
        rif.SetOutputPixelType(image.GetPixelID())
        rif.SetInterpolator(interpolator)
        return rif.Execute(image)

    def corners(self) -> list[tuple[float, ...]]:
        """Physical points of the 8 corner voxel centres."""
        probe = sitk.Image([1, 1, 1], sitk.sitkUInt8)
        probe.SetSpacing(self.spacing)
        probe.SetOrigin(self.origin)
        probe.SetDirection(self.direction)
        last = np.array(self.size) - 1
        return [
            probe.TransformContinuousIndexToPhysicalPoint([float(v) for v in np.array(corner) * last])
            for corner in np.ndindex(2, 2, 2)
        ]


@dataclass(frozen=True)
class CropPlan:
    """Where to cut the native image, and onto which grid to bring it before filtering.

    ``index``/``size``: the native crop (voxels). ``grid``: the grid features are computed on.
    ``interpolate``: whether the crop is resampled onto ``grid`` (else ``grid`` is a sub-grid of it).
    """

    index: tuple[int, ...]
    size: tuple[int, ...]
    grid: Grid
    interpolate: bool


def bounding_box(mask: sitk.Image) -> np.ndarray:
    """The ROI's bounding box (label 1) as PyRadiomics gets it: (Lx, Ly, Lz, Sx, Sy, Sz) in voxels."""
    lssif = sitk.LabelShapeStatisticsImageFilter()
    lssif.Execute(mask)
    return np.array(lssif.GetBoundingBox(1))


def interpolator_of(settings: dict) -> int:
    """The SimpleITK interpolator a PyRadiomics ``interpolator`` setting names (B-spline if unknown)."""
    value = settings.get("interpolator", "sitkBSpline")
    if isinstance(value, str):
        return getattr(sitk, value, sitk.sitkBSpline)
    return int(value)


def plan_crop(
    image: sitk.Image,
    mask: sitk.Image,
    settings: dict,
    filter_margin=0,
    *,
    interpolation_margin: int = INTERPOLATION_MARGIN_VOXELS,
    field: str = "mask",
) -> CropPlan:
    """The native crop and target grid for ``mask`` (on ``image``'s grid) under PyRadiomics ``settings``.

    Mirrors ``RadiomicsFeatureExtractor.loadImage``: resampling (``resampledPixelSpacing`` and an
    interpolator), else ``preCrop``, else the whole image (then ``filter_margin`` voxels per axis are
    kept: see :func:`filter_margin_voxels`). ``interpolation_margin``: native voxels kept beyond the
    resampling grid (tests lower it to show that it matters). A resampled grid larger than
    :data:`~PRIMELib.radiomics.geometry.MAX_FEATURE_GRID_VOXELS` is refused before it is allocated
    (``field`` names the mask in the error).
    """
    bb = bounding_box(mask)
    size = np.array(mask.GetSize())
    pad = int(settings.get("padDistance", 5))
    new_spacing = target_spacing(settings, mask.GetSpacing(), bb[3:])
    if new_spacing is not None:
        image_spacing = np.array(image.GetSpacing())
        if not np.allclose(image_spacing, new_spacing):
            grid = _resampled_grid(mask, bb, new_spacing, pad)
            check_feature_grid(grid.size, grid.spacing, field=field, settings=settings)
            return _cover(image, grid, interpolation_margin, interpolate=True)
        # Already at the requested spacing: PyRadiomics only crops the bounding box plus padDistance.
        return _sub_grid(image, bb, np.full(3, pad), size)
    if settings.get("preCrop", False):
        return _sub_grid(image, bb, np.full(3, pad), size)
    return _sub_grid(image, bb, np.broadcast_to(np.asarray(filter_margin, dtype=int), (3,)), size)


def _resampled_grid(mask: sitk.Image, bb: np.ndarray, new_spacing: np.ndarray, pad: int) -> Grid:
    # PyRadiomics' imageoperations.resampleImage, line for line: the grid depends on the whole mask
    # (its origin, spacing and size), so it is the same whatever crop the image is resampled from.
    mask_spacing = np.array(mask.GetSpacing())
    lower, upper = resampled_bounds(mask_spacing, mask.GetSize(), bb, new_spacing, pad)
    ratio = mask_spacing / new_spacing
    new_size = np.array(upper - lower + 1, dtype="int").tolist()
    origin_index = np.array(0.5 * (new_spacing - mask_spacing) / mask_spacing) + lower / ratio
    origin = mask.TransformContinuousIndexToPhysicalPoint(origin_index)
    return Grid(
        tuple(int(s) for s in new_size),
        tuple(float(s) for s in new_spacing),
        tuple(float(o) for o in origin),
        tuple(float(d) for d in mask.GetDirection()),
    )


def _cover(image: sitk.Image, grid: Grid, margin: int, *, interpolate: bool) -> CropPlan:
    points = np.array([image.TransformPhysicalPointToContinuousIndex(p) for p in grid.corners()])
    lower = np.floor(points.min(axis=0)).astype(int) - margin
    upper = np.ceil(points.max(axis=0)).astype(int) + margin
    lower = np.maximum(lower, 0)
    upper = np.minimum(upper, np.array(image.GetSize()) - 1)
    return CropPlan(tuple(lower.tolist()), tuple((upper - lower + 1).tolist()), grid, interpolate)


def _sub_grid(image: sitk.Image, bb: np.ndarray, margin: np.ndarray, size: np.ndarray) -> CropPlan:
    # PyRadiomics' cropToTumorMask: bounding box plus margin, clipped to the image.
    lower = np.maximum(bb[:3] - margin, 0)
    upper = np.minimum(bb[:3] + bb[3:] - 1 + margin, size - 1)
    crop_size = upper - lower + 1
    grid = Grid(
        tuple(int(s) for s in crop_size),
        tuple(float(s) for s in image.GetSpacing()),
        tuple(float(o) for o in image.TransformIndexToPhysicalPoint([int(i) for i in lower])),
        tuple(float(d) for d in image.GetDirection()),
    )
    return CropPlan(tuple(int(i) for i in lower), tuple(int(s) for s in crop_size), grid, False)


def crop(image: sitk.Image, plan: CropPlan) -> sitk.Image:
    """The native crop of ``image`` (a copy of just that region, with its physical position)."""
    return sitk.RegionOfInterest(image, [int(s) for s in plan.size], [int(i) for i in plan.index])


def filter_margin_voxels(image_types: dict[str, dict], settings: dict, spacing) -> np.ndarray:
    """Voxels to keep around the ROI, per axis, when PyRadiomics would filter the whole native image.

    LoG: 10σ (the Gaussian's tail is then e^-50). Wavelet: twice the filter length at the deepest level
    (the stationary transform's support; it wraps around at the image's edges). Others: 3 voxels.
    """
    spacing = np.asarray(spacing, dtype=float)
    margin = np.full(spacing.shape, 3, dtype=int)
    for image_type, custom in image_types.items():
        args = {**settings, **custom}
        if image_type == "LoG" and args.get("sigma"):
            margin = np.maximum(margin, np.ceil(LOG_MARGIN_SIGMAS * max(args["sigma"]) / spacing).astype(int))
        elif image_type == "Wavelet":
            import pywt

            wavelet = pywt.Wavelet(args.get("wavelet", "coif1"))
            depth = int(args.get("start_level", 0)) + int(args.get("level", 1))
            margin = np.maximum(margin, 2 * wavelet.dec_len * 2 ** (depth - 1))
    return margin


def wavelet_margin_voxels(args: dict) -> int:
    """Voxels on each side of a voxel that its value in PyRadiomics' wavelet bands depends on.

    ``_swt3`` runs ``pywt.swtn`` (level 1, periodic) once per level on the last level's approximation:
    a filter of ``dec_len`` taps reads ``dec_len − 1`` neighbours per level, split between the two
    sides in a way pywt fixes. This margin counts them all on each side, and as if each level's filter
    were dilated (a true multi-level stationary transform): ``(dec_len − 1)(2^depth − 1)``, which is at
    least what either reading needs (5 voxels for the paper's coif1, level 1).
    """
    import pywt

    wavelet = args.get("wavelet", "coif1")
    if not isinstance(wavelet, pywt.Wavelet):
        wavelet = pywt.Wavelet(wavelet)
    depth = int(args.get("start_level", 0)) + int(args.get("level", 1))
    return (wavelet.dec_len - 1) * (2**depth - 1)


def wavelet_region(size, bounding_box, margin: int) -> tuple[list[int], list[int]] | None:
    """The part of an image (index, size) the wavelet must see so the ROI's band values stay the same.

    ``size``: the image's (x, y, z) voxels; ``bounding_box``: the ROI's as PyRadiomics' ``checkMask``
    gives it (x min, x max, y min, …). The ROI's box plus ``margin`` voxels, where that stays inside
    the image; on an axis where it does not, the whole axis: the transform is periodic, so a voxel
    near one edge reads voxels of the other. Because each band value is a sum of the same inputs in
    the same order, the ROI's values are then the very same numbers as on the whole image.
    ``None``: the whole image (nothing to gain).
    """
    size = np.asarray(size, dtype=int)
    bounding_box = np.asarray(bounding_box, dtype=int)
    lower = bounding_box[0::2] - margin
    upper = bounding_box[1::2] + margin
    whole = (lower < 0) | (upper > size - 1)
    lower = np.where(whole, 0, lower)
    upper = np.where(whole, size - 1, upper)
    if whole.all():
        return None
    return [int(i) for i in lower], [int(n) for n in upper - lower + 1]


@dataclass(frozen=True)
class Normalisation:
    """PyRadiomics' ``normalize``: ``(x − mean) / sigma`` (outliers clipped at ±``outliers``), × ``scale``.

    ``mean`` and ``sigma`` are the whole image's (see the module docstring).
    """

    mean: float
    sigma: float
    scale: float
    outliers: float | None

    def apply(self, image: sitk.Image) -> sitk.Image:
        """Normalise ``image`` (a crop) exactly as ``imageoperations.normalizeImage`` does the whole image."""
        # sitk.Normalize = ShiftScale(−mean, 1/sigma) in double precision: same arithmetic, same bits.
        normalised = sitk.ShiftScale(sitk.Cast(image, sitk.sitkFloat64), -self.mean, 1.0 / self.sigma)
        if self.outliers is not None:
            array = sitk.GetArrayFromImage(normalised)
            array[array > self.outliers] = self.outliers
            array[array < -self.outliers] = -self.outliers
            clipped = sitk.GetImageFromArray(array)
            clipped.CopyInformation(normalised)
            normalised = clipped
        normalised *= self.scale
        return normalised


@dataclass(frozen=True)
class ImageStatistics:
    """Whole-image intensity statistics (one streaming pass, no copy of the image)."""

    minimum: float
    maximum: float
    mean: float
    sigma: float

    @classmethod
    def of(cls, image: sitk.Image) -> ImageStatistics:
        stats = sitk.StatisticsImageFilter()
        stats.Execute(image)
        return cls(stats.GetMinimum(), stats.GetMaximum(), stats.GetMean(), stats.GetSigma())

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (self.minimum, self.maximum, self.mean, self.sigma))

    def normalisation(self, settings: dict) -> Normalisation | None:
        if not settings.get("normalize", False):
            return None
        return Normalisation(
            self.mean, self.sigma, float(settings.get("normalizeScale", 1)), settings.get("removeOutliers")
        )
