"""A synthetic dual-phase HCC cohort with known truth (we have no patient data).

``draw_cohort`` draws clinical values like the paper's Table 1 and outcomes from a documented
generative model (:mod:`PRIMELib.synth.patients`); ``generate_cohort`` also renders each patient's
arterial and portal-venous CT phantom with its tumour mask (:mod:`PRIMELib.synth.phantom`).
"""

from __future__ import annotations

from PRIMELib.synth.cohort import SyntheticCohort, draw_cohort, generate_cohort
from PRIMELib.synth.patients import true_survival
from PRIMELib.synth.phantom import make_phantom

__all__ = ["SyntheticCohort", "draw_cohort", "generate_cohort", "make_phantom", "true_survival"]
