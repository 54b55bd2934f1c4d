"""A synthetic dual-phase HCC cohort with known truth (we have no patient data).

``draw_cohort`` draws clinical values like the paper's Table 1 and outcomes from a documented
generative model (:mod:`PRIMELib.synth.patients`); ``generate_cohort`` also renders each patient's
arterial and portal-venous CT phantom with its tumour mask (:mod:`PRIMELib.synth.phantom`).
"""

from __future__ import annotations

from PRIMELib.lazy import lazy_exports
from PRIMELib.synth.phantom import make_phantom

# The cohort and its outcomes need pandas; the phantom (the demo case's images) only numpy and SimpleITK,
# which Slicer ships, so it works in Slicer before PRIME's packages are installed. Loaded on first use.
_LAZY = {
    "SyntheticCohort": "cohort",
    "draw_cohort": "cohort",
    "generate_cohort": "cohort",
    "true_survival": "patients",
}


__getattr__ = lazy_exports("PRIMELib.synth", _LAZY)


__all__ = ["SyntheticCohort", "draw_cohort", "generate_cohort", "make_phantom", "true_survival"]
