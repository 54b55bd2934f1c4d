"""Segmentation assistance: an initial tumour ROI from a box or seeds, refined, carried to the other phase.

- :func:`segment_tumour`: a 3D tumour mask from a box (:class:`BoxPrompt`, physical **LPS** mm; use
  :meth:`BoxPrompt.from_ras` for a Slicer ROI markup) and/or seed points on the arterial phase, with the
  classical engine (default: CPU, no weights) or MedSAM (optional: torch and downloaded weights).
- :mod:`~PRIMELib.segmentation.postprocess`: fill holes, keep the tumour's component, remove islands,
  smooth — shared by both engines and usable on a hand-drawn mask.
- :func:`carry_roi_to_venous`: the ROI on the venous grid, after an optional rigid registration
  (:func:`register_rigid`), with an overlay to check.
- :mod:`~PRIMELib.segmentation.phantoms`: dual-phase phantoms with known truth, for tests and benches.

Nothing here imports torch at import time; the MedSAM engine imports it when it runs.
"""

from __future__ import annotations

from PRIMELib.segmentation.classical import ClassicalSettings, segment_classical
from PRIMELib.segmentation.initial_roi import (
    ENGINES,
    PRIMEEngineUnavailable,
    SegmentationResult,
    segment_tumour,
)
from PRIMELib.segmentation.postprocess import PostProcessing, postprocess_mask
from PRIMELib.segmentation.prompts import BoxPrompt, lps_from_ras, ras_from_lps
from PRIMELib.segmentation.registration import (
    CarriedRoi,
    RegistrationSettings,
    RigidRegistrationResult,
    carry_mask,
    carry_roi_to_venous,
    register_rigid,
)

__all__ = [
    "ENGINES",
    "BoxPrompt",
    "CarriedRoi",
    "ClassicalSettings",
    "PRIMEEngineUnavailable",
    "PostProcessing",
    "RegistrationSettings",
    "RigidRegistrationResult",
    "SegmentationResult",
    "carry_mask",
    "carry_roi_to_venous",
    "lps_from_ras",
    "postprocess_mask",
    "ras_from_lps",
    "register_rigid",
    "segment_classical",
    "segment_tumour",
]
