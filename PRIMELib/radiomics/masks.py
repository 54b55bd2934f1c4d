"""Tumour ROIs: from label maps or Slicer ``.seg.nrrd`` segments, lesion choice, and onto an image's grid.

Every ROI leaves here as a binary uint8 image (1 = tumour) on the grid of the image it describes.

- **Label maps**: a mask with one non-zero value is the ROI; with several, ``label`` chooses one (there
  is no silent merging of, say, liver and tumour labels).
- **Slicer segmentations** (``.seg.nrrd``): the segment is chosen by name (or ID) from the header keys
  ``SegmentN_Name``, ``SegmentN_ID``, ``SegmentN_LabelValue`` and ``SegmentN_Layer``; layers
  (overlapping segments) are the components of the image. Slicer may save a segmentation cropped to
  its extent: such a mask is placed back on the image grid exactly. A mask larger than its image, or
  shifted so that it overhangs it, is an error (``geometry.check_mask_grid``).
- **Several lesions**: all lesions as one ROI (default, as the paper) or only the largest connected
  lesion (26-connectivity, by voxel count).
- **One mask for both phases**: drawn on one phase, it is used as is on the other when both share the
  voxel grid; otherwise it is resampled (nearest neighbour) into the other phase's grid, assuming the
  two phases are aligned in physical space, and the diagnostics say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import load_image, same_physical_space
from PRIMELib.radiomics.geometry import Header, check_mask_grid

LESION_MODES = ("all", "largest")

_SEGMENT_KEY = re.compile(r"^Segment(\d+)_(\w+)$")


@dataclass(frozen=True)
class Segment:
    """One segment of a Slicer segmentation file."""

    index: int
    name: str
    segment_id: str
    label_value: int
    layer: int


def segments_of(image: sitk.Image) -> list[Segment]:
    """The segments a Slicer segmentation's header declares (empty for a plain label map)."""
    fields: dict[int, dict[str, str]] = {}
    for key in image.GetMetaDataKeys():
        match = _SEGMENT_KEY.match(key)
        if match:
            fields.setdefault(int(match.group(1)), {})[match.group(2)] = image.GetMetaData(key)
    layered = image.GetNumberOfComponentsPerPixel() > 1
    segments = []
    for index in sorted(fields):
        info = fields[index]
        # Files from Slicer before 4.11 have no LabelValue/Layer: one component per segment, value 1.
        layer = int(info.get("Layer", index if layered else 0))
        segments.append(
            Segment(
                index=index,
                name=info.get("Name", f"Segment_{index}"),
                segment_id=info.get("ID", f"Segment_{index}"),
                label_value=int(info.get("LabelValue", 1)),
                layer=layer,
            )
        )
    return segments


def load_roi(
    source: str | Path | sitk.Image,
    *,
    label: int | None = None,
    segment: str | None = None,
    field: str = "mask",
) -> sitk.Image:
    """A binary uint8 ROI (1 = tumour) from a label map, a DICOM folder or a Slicer ``.seg.nrrd``.

    ``segment`` names a segment of a segmentation (its name, or its ID); ``label`` picks one label of
    a multi-label map. Raises :class:`PRIMEInputError` when the choice is missing, absent or empty.
    """
    image = load_image(source, field=field)
    segments = segments_of(image)
    if segments:
        binary = _segment_voxels(image, segments, segment, field)
    else:
        if segment is not None:
            raise PRIMEInputError(
                f"The {field} is a plain label map, not a Slicer segmentation, so it has no segment "
                f"'{segment}'.",
                field=field,
                value=segment,
                expected="a .seg.nrrd file saved by 3D Slicer, or a label value instead of a segment name",
            )
        binary = _label_voxels(image, label, field)
    if not binary.any():
        raise PRIMEInputError(
            f"The {field} is empty: no tumour voxel.",
            field=field,
            expected="a mask with at least one tumour voxel",
            hint="Draw or load the tumour ROI before extracting radiomics.",
        )
    mask = sitk.GetImageFromArray(binary)  # a uint8 view of the comparison: no extra copy
    mask.SetOrigin(image.GetOrigin())
    mask.SetSpacing(image.GetSpacing())
    mask.SetDirection(image.GetDirection())
    return mask


def _segment_voxels(image: sitk.Image, segments: list[Segment], wanted: str | None, field: str):
    names = [s.name for s in segments]
    if wanted is None:
        if len(segments) != 1:
            raise PRIMEInputError(
                f"The {field} holds {len(segments)} segments: {names}. Choose the tumour segment by name.",
                field=field,
                expected="a segment name",
                hint="Pass segment='<name>' (CLI: --segment).",
            )
        chosen = segments[0]
    else:
        matches = [s for s in segments if s.name == wanted] or [s for s in segments if s.segment_id == wanted]
        if not matches:
            raise PRIMEInputError(
                f"The {field} has no segment named '{wanted}'.",
                field=field,
                value=wanted,
                expected=f"one of the segments it holds: {names}",
            )
        chosen = matches[0]
    components = image.GetNumberOfComponentsPerPixel()
    if chosen.layer >= components:
        raise PRIMEInputError(
            f"The {field}'s segment '{chosen.name}' is on layer {chosen.layer}, but the file has "
            f"{components} layer(s).",
            field=field,
            hint="The file's header does not match its voxels; re-save the segmentation from Slicer.",
        )
    layer = image if components == 1 else sitk.VectorIndexSelectionCast(image, chosen.layer)
    return (sitk.GetArrayViewFromImage(layer) == chosen.label_value).view(np.uint8)


def _label_voxels(image: sitk.Image, label: int | None, field: str):
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise PRIMEInputError(
            f"The {field} has {image.GetNumberOfComponentsPerPixel()} components per voxel and no segment "
            "names in its header.",
            field=field,
            expected="a scalar label map, or a Slicer .seg.nrrd segmentation",
            hint="Export the segment as a labelmap (one label per voxel).",
        )
    array = sitk.GetArrayViewFromImage(image)
    present = _labels_present(array)
    if label is None:
        if len(present) > 1:
            listed = ", ".join(map(str, present[:10])) + (
                f" … ({len(present) - 10} more)" if len(present) > 10 else ""
            )
            raise PRIMEInputError(
                f"The {field} has {len(present)} labels: {listed}. Choose the tumour label.",
                field=field,
                value=present[:10],
                expected="a mask with one label, or the tumour label chosen: `prime extract --label N`, a "
                "`label` column in a batch manifest, `label=N` in Python",
                hint="A probability map or a multi-label segmentation must be made a one-label mask first."
                if len(present) > 10
                else None,
            )
        return (array != 0).view(np.uint8)
    if label not in present:
        raise PRIMEInputError(
            f"The {field} has no voxel with label {label}.",
            field=field,
            value=label,
            expected=f"one of the labels present: {present}",
        )
    return (array == label).view(np.uint8)


def _labels_present(array: np.ndarray) -> list:
    if array.dtype in (np.uint8, np.uint16):
        # Counting beats sorting 26 M voxels; slab by slab, as bincount widens to int64 (8 bytes a voxel).
        counts = np.zeros(np.iinfo(array.dtype).max + 1, dtype=np.int64)
        for slab in array:
            counts += np.bincount(slab.ravel(), minlength=counts.size)
        return [int(v) for v in np.flatnonzero(counts) if v != 0]
    return [v.item() for v in np.unique(array) if v != 0]


def select_lesions(mask: sitk.Image, mode: str = "all") -> tuple[sitk.Image, int]:
    """Keep all lesions (``"all"``) or the largest connected one (``"largest"``); also return the count.

    Lesions are 26-connected components: voxels touching at a corner belong to the same lesion.
    """
    if mode not in LESION_MODES:
        raise PRIMEInputError(
            f"Unknown lesion choice '{mode}'.", field="lesions", value=mode, expected="'all' or 'largest'"
        )
    # Label components inside the ROI's bounding box only: a whole-CT label image is 100 MB of uint32.
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(mask)
    box = stats.GetBoundingBox(1)
    index, size = list(box[:3]), list(box[3:])
    region = sitk.RegionOfInterest(mask, size, index)
    components = sitk.RelabelComponent(sitk.ConnectedComponent(region, True), sortByObjectSize=True)
    stats.Execute(components)
    count = stats.GetNumberOfLabels()
    if mode == "all" or count <= 1:
        return mask, count
    # RelabelComponent numbers components by decreasing size: label 1 is the largest lesion.
    largest = sitk.Cast(components == 1, sitk.sitkUInt8)
    return sitk.Paste(mask * 0, largest, size, [0, 0, 0], index), count


def fit_to_grid(
    mask: sitk.Image, image: sitk.Image, *, mask_field: str, image_field: str, resample: bool
) -> tuple[sitk.Image, str | None]:
    """``mask`` on ``image``'s voxel grid, and a note saying how it got there (``None``: it was already).

    A mask saved on a sub-extent of the image grid (same spacing and direction, whole-voxel offset,
    whole extent inside the image, as Slicer crops segmentations) is placed back exactly. Any other
    grid, including a mask larger than the image or shifted so that it overhangs it, is an error
    (:func:`PRIMELib.radiomics.geometry.check_mask_grid`), unless ``resample`` (one mask for both
    phases): then it is resampled, nearest neighbour, into the image's grid.
    """
    if same_physical_space(mask, image):
        return mask, None
    if resample:
        _check_roi_inside(mask, image, mask_field=mask_field, image_field=image_field)
    try:
        relation = check_mask_grid(
            Header.of(mask), Header.of(image), mask_field=mask_field, image_field=image_field
        )
    except PRIMEInputError:
        if not resample:
            raise
        relation = "other"  # the other phase's grid: resampled below
    if relation == "same":
        return mask, None
    on_sub_extent = relation == "crop"
    fitted = sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    if on_sub_extent:
        note = f"the {mask_field} covers a sub-extent of the {image_field} grid; placed on it voxel for voxel"
    else:
        note = (
            f"the {mask_field} was resampled (nearest neighbour) from its grid (spacing "
            f"{_fmt(mask.GetSpacing())} mm, origin {_fmt(mask.GetOrigin())}) into the {image_field} grid "
            f"(spacing {_fmt(image.GetSpacing())} mm, origin {_fmt(image.GetOrigin())}), assuming both "
            "phases are aligned in physical space"
        )
    if not sitk.GetArrayViewFromImage(fitted).any():
        raise PRIMEInputError(
            f"The {mask_field} has no voxel left on the {image_field} grid: the ROI is smaller than one "
            f"voxel of that grid (spacing {_fmt(image.GetSpacing())} mm).",
            field=mask_field,
            hint="Draw the ROI on this phase, or check the two phases are aligned.",
        )
    return fitted, note


def _check_roi_inside(mask: sitk.Image, image: sitk.Image, *, mask_field: str, image_field: str) -> None:
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(mask)
    bb = np.array(stats.GetBoundingBox(1))
    low, size = bb[:3], bb[3:]
    corners = [
        mask.TransformContinuousIndexToPhysicalPoint([float(v) for v in low - 0.5 + np.array(c) * size])
        for c in np.ndindex(2, 2, 2)
    ]
    index = np.array([image.TransformPhysicalPointToContinuousIndex(p) for p in corners])
    extent = np.array(image.GetSize()) - 0.5
    tolerance = 1e-3
    outside = (index < -0.5 - tolerance) | (index > extent + tolerance)
    if outside.any():
        fully = bool(np.any((index.max(axis=0) < -0.5) | (index.min(axis=0) > extent)))
        raise PRIMEInputError(
            f"The {mask_field}'s ROI lies {'entirely' if fully else 'partly'} outside the {image_field} "
            f"(ROI from {_fmt(index.min(axis=0))} to {_fmt(index.max(axis=0))} in {image_field} voxels; "
            f"the image spans 0 to {_fmt(np.array(image.GetSize()) - 1)}).",
            field=mask_field,
            expected=f"a tumour ROI inside the {image_field}",
            hint="Check the mask belongs to this case and phase (and that the phases are aligned).",
        )


def _fmt(values) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in values) + ")"
