"""The PRIME paper's Table 1 (246 patients, two centres), as numbers the generator draws from.

Centre A is the training/internal-validation centre (n = 113), centre B the external one (n = 133).
Proportions are of patients; means ± SD are of the variable. Only rows the generator reproduces
directly are here; the test that regenerates Table 1 compares against these same numbers.
"""

from __future__ import annotations

CENTRES = ("A", "B")
DEFAULT_SIZES = {"A": 113, "B": 133}

#: (mean, SD) per centre.
CONTINUOUS = {
    "age": {"A": (56.48, 9.36), "B": (55.83, 10.11)},
    "bmi": {"A": (23.28, 3.24), "B": (23.94, 2.86)},
    "weight": {"A": (67.62, 10.70), "B": (67.63, 11.34)},
    "tumor_diameter": {"A": (9.18, 4.09), "B": (9.04, 3.84)},
}

#: Proportion of patients with the stated condition, per centre.
PROPORTIONS = {
    "male": {"A": 99 / 113, "B": 104 / 133},
    "ecog_1": {"A": 28 / 113, "B": 32 / 133},
    "hbv": {"A": 81 / 113, "B": 99 / 133},
    "cirrhosis": {"A": 56 / 113, "B": 66 / 133},
    "alt_over_40": {"A": 51 / 113, "B": 55 / 133},
    "ast_over_40": {"A": 74 / 113, "B": 74 / 133},
    "tbil_over_17_1": {"A": 50 / 113, "B": 61 / 133},
    "afp_400_or_more": {"A": 62 / 113, "B": 56 / 133},
    "albi_grade_1": {"A": 56 / 113, "B": 73 / 133},
    "multiple_tumors": {"A": 86 / 113, "B": 94 / 133},
    "hvtt_2_or_more": {"A": 33 / 113, "B": 38 / 133},
    "pvtt_3_or_more": {"A": 54 / 113, "B": 67 / 133},
    "tace_plus_haic": {"A": 43 / 113, "B": 38 / 133},
    "objective_response": {"A": 0.47, "B": 0.49},
}

#: Median overall survival in days, per centre.
MEDIAN_OS_DAYS = {"A": 596, "B": 627}

#: Immunotherapy agents (Table 1 counts, centre A / B).
IMMUNOTHERAPY = {
    "camrelizumab": (49, 55),
    "tislelizumab": (33, 36),
    "sintilimab": (17, 29),
    "pembrolizumab": (3, 0),
    "toripalimab": (1, 2),
    "cadonilimab": (6, 0),  # AK104
    "penpulimab": (1, 1),
    "atezolizumab": (3, 7),
}

#: Targeted agents (Table 1 counts, centre A / B; durvalumab/nivolumab rows are immunotherapy).
TARGETED = {
    "lenvatinib": (85, 88),
    "sorafenib": (5, 12),
    "donafenib": (10, 2),
    "apatinib": (5, 2),
    "anlotinib": (1, 1),
    "bevacizumab": (7, 28),
}
