"""Voxel geometry checked from headers, before any voxel is read or any grid is allocated.

Three kinds of wrong geometry are refused with a named error instead of a crash or a silent shift:

- **An unusable header** (:func:`check_header`): direction cosines that are not orthonormal (a sheared
  grid: PyRadiomics and PRIME treat voxels as boxes and would silently ignore the shear), a spacing
  outside what a CT can have (:data:`MIN_SPACING_MM` to :data:`MAX_SPACING_MM` per axis: a file saved
  in metres or with a broken header), or more voxels than a CT volume can hold. File headers are read
  with SimpleITK's ``ReadImageInformation`` (no voxel is read) by :func:`PRIMELib.io.load_image`.
- **A mask that is not on its image's grid** (:func:`check_mask_grid`): it must have the image's exact
  geometry, or be a crop of it (same spacing and direction, origin a whole number of voxels from the
  image's, its whole extent inside the image: how Slicer saves a segmentation cropped to its extent).
  A mask larger than the image, shifted so that it overhangs it, or on another grid is an error saying
  by how many voxels and millimetres.
- **A feature grid too large for memory** (:func:`check_feature_grid`): PyRadiomics resamples the ROI's
  bounding box plus ``padDistance`` to ``resampledPixelSpacing``; a coarse image resampled to a fine
  grid (a 20 mm header spacing to 1 mm, or a 0.05 mm ``resampledPixelSpacing``) would ask for billions
  of voxels. Its size is computed with PyRadiomics' own formula (:func:`resampled_bounds`, shared with
  ``crop.py``) from the ROI's bounding box and the headers, before the image is loaded.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError

#: Largest deviation of DᵀD from the identity accepted as orthonormal direction cosines (DICOM writes
#: ImageOrientationPatient with about six decimals, so real scanners stay below 1e-5).
ORTHONORMAL_TOLERANCE = 1e-4
#: Smallest voxel spacing accepted (mm): micro-CT territory, 10 × finer than any clinical CT.
MIN_SPACING_MM = 0.05
#: Largest voxel spacing accepted (mm): clinical CT slices are at most about 10 mm thick.
MAX_SPACING_MM = 20.0
#: Most voxels along one axis (a 0.1 mm grid over 80 cm).
MAX_AXIS_VOXELS = 8192
#: Most voxels in one image or mask: 2 GiB as int16 (512 × 512 × 4096; a liver CT has 512 × 512 × 100 to 800).
MAX_IMAGE_VOXELS = 2**30
#: Most voxels of the grid features are computed on: 32 Mi voxels, a 322 mm cube at 1 mm, well above a
#: whole liver plus padding. Filters hold several float64 copies of it (the wavelet bands: 8 at once),
#: so this is already a few GB.
MAX_FEATURE_GRID_VOXELS = 2**25
#: Fraction of a voxel within which a mask's origin counts as on the image's grid.
LATTICE_TOLERANCE_VOXELS = 1e-3
_SAME_TOLERANCE_MM = 1e-3

_AXES = "xyz"


@dataclass(frozen=True)
class Header:
    """What an image header says about its grid: size (x, y, z), spacing (mm), origin (LPS), direction."""

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]
    components: int = 1

    @classmethod
    def of(cls, source: sitk.Image | sitk.ImageFileReader) -> Header:
        """The header of an image, or of a file reader after ``ReadImageInformation``."""
        components = (
            source.GetNumberOfComponentsPerPixel()
            if isinstance(source, sitk.Image)
            else source.GetNumberOfComponents()
        )
        return cls(
            tuple(int(s) for s in source.GetSize()),
            tuple(float(s) for s in source.GetSpacing()),
            tuple(float(o) for o in source.GetOrigin()),
            tuple(float(d) for d in source.GetDirection()),
            int(components),
        )

    @property
    def dimension(self) -> int:
        return len(self.size)

    # SimpleITK's names, so the checks written for images (``check_volume``) take a header too.
    def GetDimension(self) -> int:  # noqa: N802
        return self.dimension

    def GetSize(self) -> tuple[int, ...]:  # noqa: N802
        return self.size

    def GetNumberOfComponentsPerPixel(self) -> int:  # noqa: N802
        return self.components

    def matrix(self) -> np.ndarray:
        """Direction cosines as a matrix (columns: the voxel axes in LPS)."""
        return np.asarray(self.direction, dtype=float).reshape(self.dimension, self.dimension)

    def continuous_index(self, point) -> np.ndarray:
        """The continuous voxel index of a physical point (as ``TransformPhysicalPointToContinuousIndex``)."""
        scaled = self.matrix() * np.asarray(self.spacing)
        return np.linalg.solve(scaled, np.asarray(point, dtype=float) - np.asarray(self.origin))


def header_of(source: sitk.Image | str | Path) -> Header | None:
    """The header of an image in memory or of an image file (its voxels unread); ``None`` for a DICOM
    folder or a path that is not an image file (:func:`PRIMELib.io.load_image` says why)."""
    if isinstance(source, sitk.Image):
        return Header.of(source)
    if not isinstance(source, str | os.PathLike):
        return None  # load_image says what it is and what was expected
    path = Path(source)
    try:
        str(path).encode("utf-8")  # a non-UTF-8 name aborts SimpleITK: load_image refuses it by name
    except UnicodeEncodeError:
        return None
    if not path.is_file():
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return None  # load_image raises the error that names the file
    return Header.of(reader)


def check_header(header: Header, *, field: str, name: str | None = None) -> None:
    """Raise unless ``header`` has orthonormal axes, a CT-like spacing and a bounded size.

    ``name``: the file's name, to say which file is wrong (``None`` for an image in memory).
    """
    what = f"The {field} file '{name}'" if name else f"The {field}"
    _check_direction(header, what, field)
    _check_spacing(header, what, field)
    _check_size(header, what, field)


def _check_direction(header: Header, what: str, field: str) -> None:
    matrix = header.matrix()
    if not np.all(np.isfinite(matrix)):
        deviation = math.inf
    else:
        deviation = float(np.max(np.abs(matrix.T @ matrix - np.eye(header.dimension))))
    if deviation <= ORTHONORMAL_TOLERANCE:
        return
    angles = _axis_angles(matrix)
    raise PRIMEInputError(
        f"{what} has a sheared/non-orthogonal direction: its voxel axes meet at {angles} instead of 90° "
        f"(direction {_fmt(header.direction)}). Radiomics on it would ignore the shear and measure a "
        "distorted tumour.",
        field=field,
        value=header.direction,
        expected=f"orthonormal direction cosines (axes at right angles, within {ORTHONORMAL_TOLERANCE:g})",
        hint="Resample in Slicer (Resample Scalar Volume, or harden the transform and resample) first.",
    )


def _axis_angles(matrix: np.ndarray) -> str:
    angles = []
    for a in range(matrix.shape[1]):
        for b in range(a + 1, matrix.shape[1]):
            u, v = matrix[:, a], matrix[:, b]
            norms = np.linalg.norm(u) * np.linalg.norm(v)
            if not np.isfinite(norms) or norms == 0:
                angles.append(f"{_AXES[a]}–{_AXES[b]} undefined")
                continue
            angle = math.degrees(math.acos(float(np.clip(u @ v / norms, -1.0, 1.0))))
            angles.append(f"{_AXES[a]}–{_AXES[b]} {angle:.2f}°")
    return ", ".join(angles)


def _check_spacing(header: Header, what: str, field: str) -> None:
    for axis, spacing in zip(_AXES, header.spacing, strict=False):
        if math.isfinite(spacing) and MIN_SPACING_MM <= spacing <= MAX_SPACING_MM:
            continue
        if math.isnan(spacing):
            bound = "not a number"
        elif spacing < MIN_SPACING_MM:
            bound = f"below the lower bound of {MIN_SPACING_MM:g} mm"
        else:
            bound = f"above the upper bound of {MAX_SPACING_MM:g} mm"
        raise PRIMEInputError(
            f"{what} has a voxel spacing of {_fmt(header.spacing)} mm: along {axis}, {spacing:g} mm is "
            f"{bound} for a CT.",
            field=field,
            value=header.spacing,
            expected=f"a spacing from {MIN_SPACING_MM:g} mm (lower bound) to {MAX_SPACING_MM:g} mm "
            "(upper bound) along each axis",
            hint="Check the file's header: spacing is in millimetres (a file written in centimetres or "
            "metres is 10 or 1000 times off). Re-export the volume from its DICOM series.",
        )


def _check_size(header: Header, what: str, field: str) -> None:
    voxels = math.prod(header.size)
    if max(header.size, default=0) <= MAX_AXIS_VOXELS and voxels <= MAX_IMAGE_VOXELS:
        return
    raise PRIMEInputError(
        f"{what} has {voxels:,} voxels (size {tuple(header.size)}): more than a CT volume holds.",
        field=field,
        value=header.size,
        expected=f"at most {MAX_AXIS_VOXELS} voxels along an axis and {MAX_IMAGE_VOXELS:,} in all",
        hint="Check the file's header; crop or downsample the volume in Slicer first.",
    )


def check_mask_grid(mask: Header, image: Header, *, mask_field: str, image_field: str) -> str:
    """``"same"`` when ``mask`` has ``image``'s exact grid, ``"crop"`` when it is a crop of it; else raise.

    A crop has the image's spacing and direction, an origin a whole number of voxels (within
    :data:`LATTICE_TOLERANCE_VOXELS`) from the image's, and its whole extent inside the image.
    """
    if mask.dimension != image.dimension:
        raise PRIMEInputError(
            f"The {mask_field} is {mask.dimension}D and the {image_field} {image.dimension}D.",
            field=mask_field,
            expected=f"a mask with the {image_field}'s geometry",
            hint=_EXPORT_HINT,
        )
    if (  # as PRIMELib.io.same_physical_space
        mask.size == image.size
        and np.allclose(mask.spacing, image.spacing, atol=_SAME_TOLERANCE_MM)
        and np.allclose(mask.origin, image.origin, atol=_SAME_TOLERANCE_MM)
        and np.allclose(mask.direction, image.direction, atol=1e-6)
    ):
        return "same"
    same_axes = np.allclose(mask.spacing, image.spacing, atol=1e-6) and np.allclose(
        mask.direction, image.direction, atol=1e-6
    )
    if not same_axes:
        differences = []
        if not np.allclose(mask.spacing, image.spacing, atol=1e-6):
            differences.append(
                f"spacing {_fmt(mask.spacing)} mm where the image has {_fmt(image.spacing)} mm"
            )
        if not np.allclose(mask.direction, image.direction, atol=1e-6):
            differences.append(f"axes turned by {_turn_degrees(mask, image):.3g}° from the image's")
        raise _off_grid(mask, image, mask_field, image_field, "; ".join(differences))
    offset = image.continuous_index(mask.origin)
    whole = np.round(offset)
    fraction = offset - whole
    if np.any(np.abs(fraction) > LATTICE_TOLERANCE_VOXELS):
        fraction = np.round(fraction, 3) + 0.0  # + 0.0: no "-0"
        shift_mm = np.abs(fraction) * np.asarray(image.spacing)
        raise _off_grid(
            mask,
            image,
            mask_field,
            image_field,
            f"its origin is off the image's voxel grid by {_fmt(fraction)} voxels, i.e. {_fmt(shift_mm)} mm",
        )
    low = whole.astype(int)
    high = low + np.asarray(mask.size) - 1
    last = np.asarray(image.size) - 1
    if np.all(low >= 0) and np.all(high <= last):
        return "crop"
    overhang = np.maximum(0 - low, 0) + np.maximum(high - last, 0)
    overhang_mm = overhang * np.asarray(image.spacing)
    along = ", ".join(
        f"{overhang[a]} voxels ({overhang_mm[a]:.4g} mm) along {_AXES[a]}"
        for a in range(image.dimension)
        if overhang[a]
    )
    entirely = bool(np.any((high < 0) | (low > last)))
    if entirely:
        found = "lies entirely outside"
    elif np.any(np.asarray(mask.size) > np.asarray(image.size)):
        found = "is larger than, and lies partly outside,"
    else:
        found = "lies partly outside"
    shift_mm = whole * np.asarray(image.spacing)
    raise PRIMEInputError(
        f"The {mask_field}'s grid {found} the {image_field}: it runs from voxel {tuple(low.tolist())} to "
        f"{tuple(high.tolist())} of the image, which spans {(0,) * image.dimension} to "
        f"{tuple(last.tolist())}; it overhangs by {along}. Its origin is {tuple(low.tolist())} voxels "
        f"({_fmt(shift_mm)} mm) from the image's, so it is neither the image's grid nor a crop of it.",
        field=mask_field,
        value={"offset_voxels": low.tolist(), "overhang_voxels": overhang.tolist()},
        expected=f"a mask with the {image_field}'s size, spacing, origin and direction, or a crop of "
        "its grid lying inside it",
        hint="Check the mask belongs to this case and phase, and was not moved (a transform hardened on "
        f"the mask alone shifts it). {_EXPORT_HINT}",
    )


_EXPORT_HINT = "Export the segmentation with the image as reference geometry."


def _off_grid(mask: Header, image: Header, mask_field: str, image_field: str, what: str) -> PRIMEInputError:
    phase = image_field.removesuffix(" image")
    return PRIMEInputError(
        f"The {mask_field} is not on the {phase} image's voxel grid: {what} (image size {image.size}, "
        f"spacing {_fmt(image.spacing)}, origin {_fmt(image.origin)}; mask size {mask.size}, spacing "
        f"{_fmt(mask.spacing)}, origin {_fmt(mask.origin)}).",
        field=mask_field,
        expected="a mask with the same size, spacing, origin and direction as its image, or a crop of "
        "its grid",
        hint=_EXPORT_HINT,
    )


def _turn_degrees(mask: Header, image: Header) -> float:
    relative = image.matrix().T @ mask.matrix()
    cosine = (np.trace(relative) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cosine, -1.0, 1.0))))


def target_spacing(settings: dict, spacing, bb_size) -> np.ndarray | None:
    """The spacing PyRadiomics resamples to (``None``: it does not resample).

    As ``imageoperations.resampleImage``: a 0 in ``resampledPixelSpacing`` keeps the native spacing,
    and so does an axis along which the ROI is one voxel thick.
    """
    requested = settings.get("resampledPixelSpacing")
    if settings.get("interpolator") is None or requested is None:
        return None
    spacing = np.asarray(spacing, dtype=float)
    new_spacing = np.asarray(requested, dtype=float)
    new_spacing = np.where(new_spacing == 0, spacing, new_spacing)
    return np.where(np.asarray(bb_size) != 1, new_spacing, spacing)


def resampled_bounds(spacing, size, bb, new_spacing, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """PyRadiomics' resampled grid, in its own voxels: (lower, upper) index, inclusive.

    ``imageoperations.resampleImage`` line for line: the ROI's bounding box ``bb`` (Lx, Ly, Lz, Sx, Sy,
    Sz in mask voxels) plus ``pad`` new voxels, clipped to the mask's extent.
    """
    bb = np.asarray(bb)
    ratio = np.asarray(spacing, dtype=float) / np.asarray(new_spacing, dtype=float)
    lower = np.floor((bb[:3] - 0.5) * ratio - pad)
    upper = np.ceil((bb[:3] + bb[3:] - 0.5) * ratio + pad)
    max_upper = np.ceil(np.asarray(size) * ratio) - 1
    lower = np.where(lower < 0, 0, lower)
    upper = np.where(upper > max_upper, max_upper, upper)
    return lower, upper


def check_feature_grid(size, spacing, *, field: str, settings: dict) -> None:
    """Raise when the grid features would be computed on has more than :data:`MAX_FEATURE_GRID_VOXELS`."""
    voxels = math.prod(int(s) for s in size)
    if voxels <= MAX_FEATURE_GRID_VOXELS:
        return
    raise PRIMEInputError(
        f"The {field}'s ROI would be resampled to a grid of {voxels:,} voxels (size "
        f"{tuple(int(s) for s in size)} at {_fmt(spacing)} mm; resampledPixelSpacing "
        f"{settings.get('resampledPixelSpacing')}, padDistance {settings.get('padDistance', 5)}): more than "
        f"the {MAX_FEATURE_GRID_VOXELS:,} voxels features can be computed on in memory.",
        field=field,
        value=voxels,
        expected=f"a feature grid of at most {MAX_FEATURE_GRID_VOXELS:,} voxels",
        hint="Check the image's voxel spacing in its header and the ROI (a whole-body mask is not a "
        "tumour), or use a coarser resampledPixelSpacing in the radiomics parameters.",
    )


def feature_grid_size(mask: Header, bb, settings: dict) -> tuple[int, ...] | None:
    """Size of the grid PyRadiomics would resample ``bb`` (on ``mask``'s grid) to; ``None``: no resampling."""
    bb = np.asarray(bb)
    new_spacing = target_spacing(settings, mask.spacing, bb[3:])
    if new_spacing is None or np.allclose(mask.spacing, new_spacing):
        return None
    lower, upper = resampled_bounds(
        mask.spacing, mask.size, bb, new_spacing, int(settings.get("padDistance", 5))
    )
    return tuple(int(s) for s in (upper - lower + 1))


def image_header(source: sitk.Image | str | Path, *, field: str) -> Header | None:
    """The checked header of an image in memory or an image file, its voxels unread.

    Raises when :func:`check_header` or :func:`PRIMELib.radiomics.checks.check_volume` (a 3D scalar
    volume) would. ``None`` for a DICOM folder (checked once loaded) or a path that is not an image
    file (:func:`PRIMELib.io.load_image` says why).
    """
    from PRIMELib.radiomics.checks import check_volume  # checks → crop → geometry: imported when used

    header = header_of(source)
    if header is not None:
        check_header(header, field=field, name=None if isinstance(source, sitk.Image) else Path(source).name)
        check_volume(header, field=field)
    return header


def check_roi_geometry(
    image: Header | None,
    roi: sitk.Image,
    settings: dict,
    *,
    mask_field: str,
    image_field: str,
    resample: bool,
) -> None:
    """Before the image's voxels are read: the ROI's grid against the image's, and the feature grid's size.

    ``image``: the image's header (:func:`image_header`; ``None``: a DICOM folder, checked once loaded).
    ``roi``: the loaded binary ROI. ``resample``: the ROI comes from the other phase's mask and will be
    resampled into this image's grid (one mask for both phases), so it need not lie on it.
    """
    if image is None or roi.GetDimension() != image.dimension:
        return  # check_volume says which one is not a 3D volume
    mask = Header.of(roi)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(roi)
    if not stats.HasLabel(1):
        return  # an empty ROI has its own error
    bb = np.array(stats.GetBoundingBox(1))
    if not resample:
        relation = check_mask_grid(mask, image, mask_field=mask_field, image_field=image_field)
        if relation == "crop":
            # A crop is placed on the image grid before resampling: the grid then follows the image's extent.
            bb[:3] += np.round(image.continuous_index(mask.origin)).astype(int)
            mask = image
    size = feature_grid_size(mask, bb, settings)
    if size is not None:
        spacing = target_spacing(settings, mask.spacing, bb[3:])
        check_feature_grid(size, spacing, field=mask_field, settings=settings)


def _fmt(values) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in values) + ")"
