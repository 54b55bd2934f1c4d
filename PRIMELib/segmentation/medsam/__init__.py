"""The optional MedSAM engine (torch + the MedSAM weights, fetched on first use).

Importing this package does not import torch; running the engine does, and says clearly what is
missing when it cannot run (:class:`~PRIMELib.segmentation.initial_roi.PRIMEEngineUnavailable`).
"""

from __future__ import annotations

from PRIMELib.segmentation.medsam.engine import (
    MedSAMSettings,
    SamSlicePredictor,
    load_medsam,
    segment_medsam,
)
from PRIMELib.segmentation.medsam.model import SamConfig, build_sam
from PRIMELib.segmentation.medsam.weights import (
    MEDSAM_VIT_B,
    PRIMEWeightsChecksumError,
    WeightSpec,
    default_cache_dir,
    ensure_weights,
    verify_weights,
)

__all__ = [
    "MEDSAM_VIT_B",
    "MedSAMSettings",
    "PRIMEWeightsChecksumError",
    "SamConfig",
    "SamSlicePredictor",
    "WeightSpec",
    "build_sam",
    "default_cache_dir",
    "ensure_weights",
    "load_medsam",
    "segment_medsam",
    "verify_weights",
]
