"""What the user gives to start a segmentation: a 3D box or seed points, in physical coordinates.

Coordinates here are **LPS** millimetres, as ITK and SimpleITK use. A Slicer ROI markup gives its
centre (``GetCenter``) in **RAS** and its size (``GetSize``) in mm along its own axes; build the prompt
with :meth:`BoxPrompt.from_ras` (or :func:`lps_from_ras` for seed points) and the sign flip of the first
two axes is done for you. Boxes are axis-aligned in physical space; a box that is rotated relative to
the image grid is replaced by the index-space box that contains its eight corners.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError

# ITK uses LPS, Slicer RAS: they differ by the sign of the first two axes (the map is its own inverse).
_FLIP = np.array([-1.0, -1.0, 1.0])


def lps_from_ras(points_ras: Sequence[float] | Iterable[Sequence[float]]) -> np.ndarray:
    """Points (one ``(3,)`` or many ``(n, 3)``) from Slicer's RAS to ITK's LPS, in mm."""
    return np.asarray(points_ras, dtype=float) * _FLIP


ras_from_lps = lps_from_ras


@dataclass(frozen=True)
class BoxPrompt:
    """An axis-aligned 3D box in physical **LPS** coordinates: centre (mm) and full edge lengths (mm)."""

    center_lps: tuple[float, float, float]
    size_mm: tuple[float, float, float]

    def __post_init__(self) -> None:
        center = np.asarray(self.center_lps, dtype=float)
        size = np.asarray(self.size_mm, dtype=float)
        if center.shape != (3,) or size.shape != (3,) or not np.all(np.isfinite(np.r_[center, size])):
            raise PRIMEInputError(
                f"The box has centre {self.center_lps} and size {self.size_mm}.",
                field="box",
                value={"center": self.center_lps, "size": self.size_mm},
                expected="a finite 3D centre and three finite edge lengths in mm",
            )
        if np.any(size <= 0):
            raise PRIMEInputError(
                f"The box has size {tuple(float(s) for s in size)} mm: an edge is zero or negative.",
                field="box",
                value=tuple(float(s) for s in size),
                expected="three positive edge lengths in mm",
                hint="Resize the ROI box so that it has some extent in every direction.",
            )
        object.__setattr__(self, "center_lps", tuple(float(c) for c in center))
        object.__setattr__(self, "size_mm", tuple(float(s) for s in size))

    @classmethod
    def from_ras(cls, center_ras: Sequence[float], size_mm: Sequence[float]) -> BoxPrompt:
        """The box of a Slicer ROI markup: ``roiNode.GetCenter()`` (RAS) and ``roiNode.GetSize()`` (mm)."""
        return cls(tuple(lps_from_ras(center_ras)), tuple(float(s) for s in size_mm))

    @classmethod
    def from_corners_lps(cls, corner_a: Sequence[float], corner_b: Sequence[float]) -> BoxPrompt:
        """The box spanned by two opposite corners (LPS, mm)."""
        a, b = np.asarray(corner_a, dtype=float), np.asarray(corner_b, dtype=float)
        return cls(tuple((a + b) / 2), tuple(np.abs(b - a)))

    @classmethod
    def around_points_lps(cls, points_lps, margin_mm: float) -> BoxPrompt:
        """The smallest box holding ``points_lps`` (n, 3), grown by ``margin_mm`` on every side."""
        points = np.atleast_2d(np.asarray(points_lps, dtype=float))
        low, high = points.min(axis=0) - margin_mm, points.max(axis=0) + margin_mm
        return cls.from_corners_lps(low, high)

    def grown(self, margin_mm: float) -> BoxPrompt:
        """The same box with ``margin_mm`` added on every side."""
        return BoxPrompt(self.center_lps, tuple(s + 2 * margin_mm for s in self.size_mm))

    def corners_lps(self) -> np.ndarray:
        """The eight corners, shape (8, 3)."""
        half = np.asarray(self.size_mm) / 2
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
        return np.asarray(self.center_lps) + signs * half

    def contains_lps(self, points_lps) -> np.ndarray:
        """Whether each point (n, 3) lies inside the box."""
        points = np.atleast_2d(np.asarray(points_lps, dtype=float))
        return np.all(np.abs(points - np.asarray(self.center_lps)) <= np.asarray(self.size_mm) / 2, axis=1)


@dataclass(frozen=True)
class IndexRegion:
    """A block of voxels: ``start`` and ``size`` in (i, j, k) = (x, y, z) index order, as SimpleITK uses."""

    start: tuple[int, int, int]
    size: tuple[int, int, int]

    @property
    def stop(self) -> tuple[int, int, int]:
        return tuple(s + n for s, n in zip(self.start, self.size, strict=True))

    def numpy_slices(self) -> tuple[slice, slice, slice]:
        """Slices for a ``sitk.GetArrayFromImage`` array, which is indexed (k, j, i)."""
        return tuple(slice(s, e) for s, e in zip(reversed(self.start), reversed(self.stop), strict=True))


def continuous_index(image: sitk.Image, points_lps) -> np.ndarray:
    """Continuous (i, j, k) voxel indices of physical LPS points (n, 3)."""
    points = np.atleast_2d(np.asarray(points_lps, dtype=float))
    return np.array([image.TransformPhysicalPointToContinuousIndex(tuple(p)) for p in points])


def box_index_region(image: sitk.Image, box: BoxPrompt, *, min_voxels: int = 2) -> IndexRegion:
    """The voxels of ``image`` inside ``box`` (clipped to the image).

    Raises :class:`PRIMEInputError` when the box lies outside the image or holds fewer than
    ``min_voxels`` voxels along some axis.
    """
    corners = continuous_index(image, box.corners_lps())
    # Voxel centres at integer indices: the box covers centres from ceil(low) to floor(high).
    low = np.ceil(corners.min(axis=0) - 1e-6).astype(int)
    high = np.floor(corners.max(axis=0) + 1e-6).astype(int)
    size = np.asarray(image.GetSize())
    clipped_low, clipped_high = np.maximum(low, 0), np.minimum(high, size - 1)
    extent = clipped_high - clipped_low + 1
    if np.any(extent < min_voxels):
        image_low = np.asarray(image.TransformIndexToPhysicalPoint((0, 0, 0)))
        image_high = np.asarray(image.TransformIndexToPhysicalPoint(tuple(int(n - 1) for n in size)))
        outside = np.any(high < 0) or np.any(low > size - 1)
        raise PRIMEInputError(
            (
                "The box lies outside the image"
                if outside
                else f"The box covers only {tuple(int(e) for e in np.maximum(extent, 0))} voxels of the image"
            )
            + f" (box centre LPS {_fmt(box.center_lps)} mm, size {_fmt(box.size_mm)} mm; image spans LPS "
            f"{_fmt(np.minimum(image_low, image_high))} to {_fmt(np.maximum(image_low, image_high))} mm).",
            field="box",
            value={"center_lps": box.center_lps, "size_mm": box.size_mm},
            expected=f"a box over the tumour, inside the image, at least {min_voxels} voxels along each axis",
            hint="Place the ROI box on the arterial volume, centred on the tumour.",
        )
    return IndexRegion(tuple(int(v) for v in clipped_low), tuple(int(v) for v in extent))


def seed_indices(image: sitk.Image, seeds_lps, *, field: str = "seeds") -> np.ndarray:
    """Integer (i, j, k) indices of seed points (n, 3) in ``image``; an error names seeds outside it."""
    points = np.atleast_2d(np.asarray(seeds_lps, dtype=float))
    if points.size == 0:
        return np.zeros((0, 3), dtype=int)
    if points.shape[1] != 3:
        raise PRIMEInputError(
            f"The {field} have shape {points.shape}.", field=field, expected="points of three coordinates"
        )
    indices = np.rint(continuous_index(image, points)).astype(int)
    size = np.asarray(image.GetSize())
    outside = np.any((indices < 0) | (indices >= size), axis=1)
    if outside.any():
        raise PRIMEInputError(
            f"{int(outside.sum())} of {len(points)} {field} lie outside the image "
            f"(first: LPS {_fmt(points[outside][0])} mm).",
            field=field,
            value=[tuple(p) for p in points[outside]],
            expected="seed points on the tumour, inside the arterial image",
            hint="Place the seed points on the arterial volume, inside the tumour.",
        )
    return indices


def _fmt(values) -> str:
    return "(" + ", ".join(f"{float(v):.1f}" for v in values) + ")"
