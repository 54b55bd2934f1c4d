"""Reading images and masks, and writing files so that no partial file is ever left behind."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEError, PRIMEInputError, PRIMEOutputError
from PRIMELib.radiomics.geometry import Header, check_header

#: Image file types SimpleITK reads that we accept for CT volumes and masks.
IMAGE_SUFFIXES = (".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd")


def write_atomically(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``writer(temporary_path)``, then move it into place in one step.

    The temporary file lives in the same folder and keeps the full file name (so writers that choose
    a format by extension, like SimpleITK, still do), and is removed if the writer fails: a reader
    never sees a half-written output file.
    """
    path = Path(path)
    temporary = path.with_name(f".partial-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(temporary)
        os.replace(temporary, path)
    except PRIMEError:
        raise
    except OSError as error:  # a file where a folder should be, no permission, a full disk, …
        raise output_error(path, error) from error
    finally:
        with contextlib.suppress(OSError):
            if temporary.exists():
                temporary.unlink()
    return path


def output_error(path: str | Path, error: OSError) -> PRIMEOutputError:
    """The named error for an output ``path`` that could not be written because of ``error``."""
    reason = error.strerror or str(error) or type(error).__name__
    return PRIMEOutputError(
        f"Cannot write '{path}': {reason}"
        + (f" ('{error.filename}')" if error.filename and str(error.filename) != str(path) else "")
        + ". Nothing was left half-written. Choose an output folder that you can write to, that has free "
        "space, and where no file has the name of a folder PRIME needs (or the reverse)."
    )


def write_json(path: str | Path, data: object) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n"
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def to_jsonable(value: object) -> object:
    """``value`` as plain JSON data: numpy scalars and arrays as Python numbers and lists, tuples as
    lists, dict keys as strings, NaN and infinities as None, a pandas Series as a dict and a DataFrame
    as a list of row records (a named or non-default index becomes a column)."""
    # pandas only if something already imported it: this module also serves Slicer's Python, which has
    # no pandas until the user installs PRIME's packages, and no value can be a DataFrame before then.
    pd = sys.modules.get("pandas")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if pd is not None and isinstance(value, pd.DataFrame):
        if not isinstance(value.index, pd.RangeIndex):
            value = value.reset_index()
        return to_jsonable(value.to_dict(orient="records"))
    if pd is not None and isinstance(value, pd.Series):
        return to_jsonable(value.to_dict())
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot write {type(value).__name__} to JSON")


def _has_image_suffix(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in IMAGE_SUFFIXES)


def load_image(source: str | Path | sitk.Image, *, field: str = "image") -> sitk.Image:
    """Load a CT volume from a SimpleITK image, an image file, or a folder holding one DICOM series.

    ``field`` names the input in error messages (e.g. ``"arterial image"``). The geometry is checked
    first (:func:`PRIMELib.radiomics.geometry.check_header`: orthonormal axes, CT-like spacing, bounded
    size): from a file's header before any voxel is read; for a DICOM series, once it is assembled.
    """
    if isinstance(source, sitk.Image):
        check_header(Header.of(source), field=field)
        return source
    if not isinstance(source, str | os.PathLike):
        raise PRIMEInputError(
            f"The {field} is a {type(source).__name__}.",
            field=field,
            expected="a SimpleITK image, or the path of an image file or DICOM folder",
            hint="Wrap a numpy array with SimpleITK.GetImageFromArray and set its spacing, origin and "
            "direction.",
        )
    path = Path(source)
    check_native_path(path, field=field)
    if not path.exists():
        raise PRIMEInputError(
            f"The {field} file '{path}' does not exist.",
            field=field,
            value=str(path),
            expected="an existing NRRD, NIfTI or MetaImage file, or a folder with one DICOM series",
            hint="Check the path (and, in a manifest, that it is relative to the manifest's folder).",
        )
    if not path.is_dir() and not path.is_file():  # a FIFO, device or socket: reading it can block forever
        raise PRIMEInputError(
            f"The {field} path '{path}' is not a regular file or a folder.",
            field=field,
            value=str(path),
            expected="an NRRD, NIfTI or MetaImage file, or a folder with one DICOM series",
            hint="Give the image file itself, not a pipe, device or socket.",
        )
    if path.is_dir():
        # Slice spacing and orientation come from the whole series: checked once it is assembled (its
        # voxels are no more than the folder's files hold).
        image = _load_dicom_series(path, field)
        check_header(Header.of(image), field=field, name=path.name)
        return image
    if not _has_image_suffix(path):
        raise PRIMEInputError(
            f"The {field} file '{path.name}' is not an image type PRIME reads.",
            field=field,
            value=str(path),
            expected="one of " + ", ".join(IMAGE_SUFFIXES) + " or a DICOM folder",
        )
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()  # the header only: no voxel is read before it is checked
        check_header(Header.of(reader), field=field, name=path.name)
        return reader.Execute()
    except RuntimeError as error:
        raise PRIMEInputError(
            f"The {field} file '{path}' could not be read: {str(error).strip().splitlines()[-1]}",
            field=field,
            value=str(path),
            hint="The file may be truncated or not an image; re-export it from the viewer.",
        ) from error


def native_path_ok(path: str | Path) -> bool:
    """Whether SimpleITK can be given ``path``: its name is valid UTF-8 text. A name with other bytes
    (a Latin-1 folder name on Linux, kept by Python as surrogate escapes) aborts SimpleITK's C++
    with no Python exception, so it must never reach it."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_native_path(path: str | Path, *, field: str) -> None:
    """Refuse, by name, a path that SimpleITK cannot be given (see :func:`native_path_ok`)."""
    if not native_path_ok(path):
        shown = os.fspath(path).encode("utf-8", "backslashreplace").decode("utf-8")
        raise PRIMEInputError(
            f"The {field} path '{shown}' is not valid UTF-8 text: the image reader cannot open it.",
            field=field,
            value=shown,
            expected="a file or folder name in UTF-8 (any language's letters are fine)",
            hint="Rename the file or folder (the escaped bytes above) or copy it to a folder whose name "
            "is plain text.",
        )


def _load_dicom_series(folder: Path, field: str) -> sitk.Image:
    series_ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder)) or ()
    if len(series_ids) != 1:
        raise PRIMEInputError(
            f"The {field} folder '{folder}' holds {len(series_ids)} DICOM series.",
            field=field,
            value=str(folder),
            expected="exactly one DICOM series per folder",
            hint="Put each phase's series in its own folder.",
        )
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series_ids[0]))
    return reader.Execute()


def same_physical_space(a: sitk.Image, b: sitk.Image, tolerance_mm: float = 1e-3) -> bool:
    """True when two images share size, spacing, origin and direction (within ``tolerance_mm``)."""
    return (
        a.GetSize() == b.GetSize()
        and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tolerance_mm)
        and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tolerance_mm)
        and np.allclose(a.GetDirection(), b.GetDirection(), atol=1e-6)
    )


def check_mask_matches_image(image: sitk.Image, mask: sitk.Image, *, phase: str) -> None:
    """Raise a clear error when ``mask`` is not on ``image``'s voxel grid."""
    if not same_physical_space(image, mask):
        raise PRIMEInputError(
            f"The {phase} mask is not on the {phase} image's voxel grid "
            f"(image size {image.GetSize()}, spacing {_fmt(image.GetSpacing())}, origin "
            f"{_fmt(image.GetOrigin())}; mask size {mask.GetSize()}, spacing {_fmt(mask.GetSpacing())}, "
            f"origin {_fmt(mask.GetOrigin())}).",
            field=f"{phase} mask",
            expected="a mask with the same size, spacing, origin and direction as its image",
            hint="Export the segmentation with the image as reference geometry.",
        )


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in values) + ")"


class RasGeometry:
    """Voxel geometry in Slicer's RAS convention: spacing (mm), origin and direction columns in RAS."""

    def __init__(self, spacing, origin_ras, directions_ras) -> None:
        self.spacing = tuple(float(s) for s in spacing)
        self.origin_ras = tuple(float(o) for o in origin_ras)
        self.directions_ras = [[float(v) for v in row] for row in directions_ras]


# ITK and PyRadiomics use LPS; Slicer uses RAS. The two differ by the sign of the first two axes.
_LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])


def image_from_ras_array(array: np.ndarray, *, spacing, origin_ras, directions_ras) -> sitk.Image:
    """A SimpleITK image from a (k, j, i) voxel array and its RAS geometry (as a Slicer volume has)."""
    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(_LPS_FROM_RAS @ np.asarray(origin_ras, dtype=float)))
    image.SetDirection(tuple((_LPS_FROM_RAS @ np.asarray(directions_ras, dtype=float)).ravel()))
    return image


def ras_geometry_from_image(image: sitk.Image) -> RasGeometry:
    """The RAS geometry of a SimpleITK image, to build a Slicer volume node that lies where it does."""
    directions_lps = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    return RasGeometry(
        spacing=image.GetSpacing(),
        origin_ras=_LPS_FROM_RAS @ np.asarray(image.GetOrigin(), dtype=float),
        directions_ras=_LPS_FROM_RAS @ directions_lps,
    )
