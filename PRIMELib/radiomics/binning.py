"""Grey-level binning done once per filtered image, with PyRadiomics' own functions and values.

Each PyRadiomics feature class bins the image it is given (``RadiomicsFeaturesBase._applyBinning`` →
``imageoperations.binImage`` → ``getBinEdges``), so one filtered image is binned six times, once per
class (first order, GLCM, GLRLM, GLSZM, GLDM, NGTDM). And ``getBinEdges`` finds the ROI's minimum and
maximum with Python's built-in ``min``/``max``, one voxel at a time: on a large tumour most of the
binning's cost. Inside :func:`binning_once`:

- ``getBinEdges`` (fixed bin width) is handed the two-element array ``[min, max]``, found by numpy, of the
  same dtype: PyRadiomics' function then runs unchanged on it, and since its result depends on the
  minimum and maximum only, the edges are the same numbers. (A NaN, a bin count or anything but a
  1-D numeric array goes to PyRadiomics as it is.)
- ``_applyBinning`` remembers its last result: a feature class asking to bin the same grey levels,
  with the same ROI and the same binning settings (compared value by value, not by identity), gets the
  binned matrix and grey-level coefficients PyRadiomics computed the first time. The matrix is shared,
  read-only: no feature class writes to it (a write would raise, not change a value silently).

No formula of PyRadiomics is copied or changed: both are wrappers that call PyRadiomics' functions.
The patches are undone on leaving (re-entrant; one thread extracts per process in PRIME).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

_lock = threading.Lock()
_depth = 0
_originals: dict[str, object] = {}


@dataclass
class _Binned:
    source: np.ndarray  # the grey levels binned (a copy)
    mask: np.ndarray  # the ROI (boolean)
    settings: tuple  # (binWidth, binCount)
    binned: np.ndarray
    gray_levels: np.ndarray
    ng: int


class _Cache:
    """The last binning done (one filtered image at a time: its classes follow one another)."""

    def __init__(self) -> None:
        self.last: _Binned | None = None
        self.hits = 0
        self.misses = 0


_cache = _Cache()


def _binning_settings(settings: dict) -> tuple:
    return (settings.get("binWidth", 25), settings.get("binCount"))


def _bin_edges(parameterValues, **kwargs):  # noqa: N803  (PyRadiomics' signature)
    original = _originals["getBinEdges"]
    values = parameterValues
    if (
        kwargs.get("binCount") is not None
        or not isinstance(values, np.ndarray)
        or values.ndim != 1
        or values.size == 0
        or values.dtype.kind not in "fiu"
    ):
        return original(parameterValues, **kwargs)
    extremes = np.array([values.min(), values.max()], dtype=values.dtype)
    if values.dtype.kind == "f" and np.isnan(extremes).any():
        return original(parameterValues, **kwargs)  # Python's min/max order NaNs their own way
    _check_bin_number(float(extremes[1]) - float(extremes[0]), kwargs.get("binWidth", 25))
    return original(extremes, **kwargs)


def _check_bin_number(span: float, width: float) -> None:
    """Refuse a bin width that would give more than ``params.MAX_BINS`` grey levels over the ROI: the
    texture matrices grow with the square of that number, and PyRadiomics would exhaust memory first."""
    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.radiomics.params import MAX_BINS

    if width > 0 and span / width > MAX_BINS:
        raise PRIMEInputError(
            f"binWidth {width:g} cuts the tumour's intensity range ({span:g}) into {span / width:,.0f} bins.",
            field="params binWidth",
            value=width,
            expected=f"at most {MAX_BINS:,} bins over the tumour's range (binWidth ≥ {span / MAX_BINS:.3g})",
            hint="PRIME's parameter sets use binWidth 25 on intensities normalised to a scale of 100.",
        )


def _apply_binning(self, matrix):
    original = _originals["_applyBinning"]
    settings = _binning_settings(self.settings)
    last = _cache.last
    if (
        last is not None
        and last.settings == settings
        and last.source.shape == matrix.shape
        and last.source.dtype == matrix.dtype
        and np.array_equal(last.mask, self.maskArray)
        and np.array_equal(last.source, matrix)
    ):
        _cache.hits += 1
        self.coefficients["grayLevels"] = last.gray_levels.copy()
        self.coefficients["Ng"] = last.ng
        return last.binned
    _cache.misses += 1
    source = np.array(matrix, copy=True)
    binned = original(self, matrix)
    binned.flags.writeable = False
    _cache.last = _Binned(
        source=source,
        mask=np.array(self.maskArray, copy=True),
        settings=settings,
        binned=binned,
        gray_levels=self.coefficients["grayLevels"].copy(),
        ng=self.coefficients["Ng"],
    )
    return binned


@contextmanager
def binning_once() -> Iterator[_Cache]:
    """Within: PyRadiomics bins each distinct (grey levels, ROI, bin settings) once (see the module)."""
    global _depth
    from radiomics import base, imageoperations

    with _lock:
        if _depth == 0:
            _originals["getBinEdges"] = imageoperations.getBinEdges
            _originals["_applyBinning"] = base.RadiomicsFeaturesBase._applyBinning
            imageoperations.getBinEdges = _bin_edges
            base.RadiomicsFeaturesBase._applyBinning = _apply_binning
        _depth += 1
    try:
        yield _cache
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                imageoperations.getBinEdges = _originals.pop("getBinEdges")
                base.RadiomicsFeaturesBase._applyBinning = _originals.pop("_applyBinning")
                _cache.last = None


def forget() -> None:
    """Drop the remembered binning (call when a filtered image is done with, to free its memory)."""
    _cache.last = None
