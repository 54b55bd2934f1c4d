"""One entry point for an initial tumour ROI: a box or seeds in, a 3D mask out, with either engine."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEError, PRIMEInputError
from PRIMELib.progress import ProgressCallback, report, scaled
from PRIMELib.segmentation.classical import ClassicalSettings, segment_classical
from PRIMELib.segmentation.prompts import BoxPrompt

#: The engines :func:`segment_tumour` knows. ``classical`` needs nothing more; ``medsam`` needs torch
#: (the ``medsam`` extra) and the MedSAM weights (downloaded on first use).
ENGINES = ("classical", "medsam")


class PRIMEEngineUnavailable(PRIMEError):  # noqa: N818 (reads as a state, like PRIMECancelled)
    """An optional segmentation engine cannot run here (no torch, no weights); the message says why."""


@dataclass
class SegmentationResult:
    """An initial tumour ROI.

    mask: uint8 (1 = tumour) on the input image's grid. engine: the engine that made it (``fallback``
    says when the classical engine stood in for MedSAM). details: what the engine estimated
    (intensities, thresholds, per-slice prompts). warnings: things the user should check.
    """

    mask: sitk.Image
    engine: str
    seconds: float
    details: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fallback: bool = False

    @property
    def volume_ml(self) -> float:
        voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(self.mask)))
        return voxels * float(np.prod(self.mask.GetSpacing())) / 1000.0

    def to_dict(self) -> dict:
        """A JSON-ready summary (without the mask)."""
        return {
            "engine": self.engine,
            "fallback": self.fallback,
            "volume_ml": round(self.volume_ml, 3),
            "seconds": round(self.seconds, 3),
            "details": self.details,
            "warnings": list(self.warnings),
        }


def segment_tumour(
    arterial_image: sitk.Image,
    *,
    box: BoxPrompt | None = None,
    seeds_lps=None,
    engine: str = "classical",
    classical: ClassicalSettings | None = None,
    medsam=None,
    fallback_to_classical: bool = False,
    progress: ProgressCallback | None = None,
) -> SegmentationResult:
    """An initial 3D tumour mask from a box and/or seed points on the arterial phase.

    ``box`` is in physical LPS mm (:meth:`BoxPrompt.from_ras` converts a Slicer ROI markup);
    ``seeds_lps`` is (n, 3) LPS mm (:func:`~PRIMELib.segmentation.prompts.lps_from_ras` converts
    Slicer fiducials). ``engine``: ``"classical"`` (default, CPU, no weights) or ``"medsam"`` (needs a
    box; ``medsam`` takes a :class:`~PRIMELib.segmentation.medsam.MedSAMSettings`). When MedSAM cannot
    run (no torch, offline, a bad download) it raises :class:`PRIMEEngineUnavailable`, or with
    ``fallback_to_classical`` runs the classical engine and says so in ``warnings``.

    Raises :class:`PRIMEInputError` for a box outside the image, seeds outside it, or no tumour found.
    """
    if engine not in ENGINES:
        raise PRIMEInputError(
            f"Unknown segmentation engine {engine!r}.",
            field="engine",
            value=engine,
            expected="one of " + ", ".join(repr(e) for e in ENGINES),
        )
    started = time.perf_counter()
    report(progress, 0.0, f"Initial ROI ({engine})")
    if engine == "medsam":
        try:
            from PRIMELib.segmentation.medsam import segment_medsam

            mask, details = segment_medsam(
                arterial_image, box=box, seeds_lps=seeds_lps, settings=medsam, progress=scaled(progress, 0, 1)
            )
            result = SegmentationResult(mask, "medsam", time.perf_counter() - started, details)
        except PRIMEEngineUnavailable as error:
            if not fallback_to_classical:
                raise
            result = _classical(arterial_image, box, seeds_lps, classical, progress, started)
            result.fallback = True
            result.warnings.insert(0, f"MedSAM could not run, the classical engine was used: {error}")
    else:
        result = _classical(arterial_image, box, seeds_lps, classical, progress, started)
    report(progress, 1.0, "Initial ROI done")
    return result


def _classical(image, box, seeds_lps, settings, progress, started) -> SegmentationResult:
    mask, details = segment_classical(
        image, box=box, seeds_lps=seeds_lps, settings=settings, progress=scaled(progress, 0.0, 0.98)
    )
    warnings = details.pop("warnings", [])
    return SegmentationResult(mask, "classical", time.perf_counter() - started, details, warnings)
