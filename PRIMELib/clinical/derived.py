"""Derived clinical indices: ALBI, PNI, Child–Pugh, NLR/PLR/SII, one-month changes, mRECIST, BCLC.

Argument names carry their units (``bilirubin_umol_l``, ``albumin_g_l``, ``lymphocytes_10e9_l``).
Formulas and cut-offs follow ``docs/CLINICAL.md``.

Cut-offs are compared with a relative tolerance of 1e-9, so that a value that is on a cut-off on
paper (3 mg/dL bilirubin × 17.1 = 51.3 µmol/L, an ALBI score of exactly −2.60) is treated as on it
despite floating-point noise. Which side "on it" belongs to is the published rule's: ALBI grades
and Child–Pugh middle bands include their limits, mRECIST's −30 % and +20 % are inclusive.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from PRIMELib.clinical.schema import LAB_NAMES
from PRIMELib.errors import PRIMEInputError

_REL_TOL = 1e-9

#: ALBI grade cut-offs (Johnson et al., J Clin Oncol 2015): grade 1 ≤ −2.60 < grade 2 ≤ −1.39 < grade 3.
ALBI_CUTOFFS = (-2.60, -1.39)
#: mRECIST: partial response at a ≥ 30 % decrease from baseline, progression at a ≥ 20 % increase from nadir.
MRECIST_PR_CHANGE = -0.30
MRECIST_PD_CHANGE = 0.20
#: mRECIST measurable target lesions have a viable diameter of at least 10 mm.
MRECIST_MIN_BASELINE_MM = 10.0


def _compare(value: float, cutoff: float) -> int:
    """-1, 0 or 1 as ``value`` is below, on (within tolerance) or above ``cutoff``."""
    if math.isclose(value, cutoff, rel_tol=_REL_TOL, abs_tol=_REL_TOL):
        return 0
    return -1 if value < cutoff else 1


def _real(name: str, value: object, *, minimum: float | None = None, positive: bool = False) -> float:
    """``value`` as a finite float, or a :class:`PRIMEInputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PRIMEInputError(f"{name} must be a number, got {value!r}.", field=name, value=value)
    try:
        number = float(value)
    except (OverflowError, ValueError) as error:
        raise PRIMEInputError(
            f"{name} = {value!r} is not a usable number.", field=name, value=value
        ) from error
    if not math.isfinite(number):
        raise PRIMEInputError(f"{name} must be finite, got {value!r}.", field=name, value=value)
    if positive and number <= 0:
        raise PRIMEInputError(f"{name} must be above 0, got {value!r}.", field=name, value=value)
    if minimum is not None and number < minimum:
        raise PRIMEInputError(f"{name} must be at least {minimum:g}, got {value!r}.", field=name, value=value)
    return number


def albi_score(bilirubin_umol_l: float, albumin_g_l: float) -> float:
    """ALBI score = 0.66 × log10(bilirubin µmol/L) − 0.085 × albumin g/L (Johnson et al., JCO 2015)."""
    bilirubin = _real("bilirubin_umol_l", bilirubin_umol_l, positive=True)
    albumin = _real("albumin_g_l", albumin_g_l, minimum=0)
    return 0.66 * math.log10(bilirubin) - 0.085 * albumin


def albi_grade(score: float) -> int:
    """ALBI grade 1 (score ≤ −2.60), 2 (−2.60 < score ≤ −1.39) or 3 (score > −1.39)."""
    score = _real("albi_score", score)
    if _compare(score, ALBI_CUTOFFS[0]) <= 0:
        return 1
    return 2 if _compare(score, ALBI_CUTOFFS[1]) <= 0 else 3


def pni(albumin_g_l: float, lymphocytes_10e9_l: float) -> float:
    """Onodera's prognostic nutritional index = albumin g/L + 5 × lymphocytes 10⁹/L.

    Same as the original 10 × albumin g/dL + 0.005 × lymphocytes per mm³.
    """
    return _real("albumin_g_l", albumin_g_l, minimum=0) + 5.0 * _real(
        "lymphocytes_10e9_l", lymphocytes_10e9_l, minimum=0
    )


@dataclass(frozen=True)
class ChildPugh:
    """Child–Pugh points (5–15) and grade (class A 5–6, B 7–9, C 10–15)."""

    points: int
    grade: str


def child_pugh_class(points: int) -> str:
    """Child–Pugh class from points: A 5–6, B 7–9, C 10–15."""
    if isinstance(points, bool) or not isinstance(points, numbers.Integral) or not 5 <= points <= 15:
        raise PRIMEInputError(
            f"Child–Pugh points must be a whole number from 5 to 15, got {points!r}.",
            field="child_pugh",
            value=points,
        )
    return "A" if points <= 6 else "B" if points <= 9 else "C"


def _grade_code(name: str, value: object) -> int:
    if isinstance(value, bool) or value not in (0, 1, 2):
        raise PRIMEInputError(
            f"{name} must be coded 0, 1 or 2, got {value!r}.",
            field=name,
            value=value,
            expected="0 none, 1 mild (grade 1–2), 2 moderate–severe (grade 3–4)",
        )
    return int(value)  # type: ignore[arg-type]


def child_pugh(
    bilirubin_umol_l: float, albumin_g_l: float, inr: float, ascites: int, encephalopathy: int
) -> ChildPugh:
    """Child–Pugh points and grade.

    Bilirubin µmol/L: < 34.2 → 1, 34.2–51.3 → 2, > 51.3 → 3. Albumin g/L: > 35 → 1, 28–35 → 2, < 28 → 3.
    INR: < 1.7 → 1, 1.7–2.3 → 2, > 2.3 → 3. ``ascites`` 0 none / 1 mild / 2 moderate–severe and
    ``encephalopathy`` 0 none / 1 grade 1–2 / 2 grade 3–4 score 1/2/3.
    """
    bilirubin = _real("bilirubin_umol_l", bilirubin_umol_l, minimum=0)
    albumin = _real("albumin_g_l", albumin_g_l, minimum=0)
    ratio = _real("inr", inr, minimum=0)
    points = (
        (1 if _compare(bilirubin, 34.2) < 0 else 3 if _compare(bilirubin, 51.3) > 0 else 2)
        + (1 if _compare(albumin, 35.0) > 0 else 3 if _compare(albumin, 28.0) < 0 else 2)
        + (1 if _compare(ratio, 1.7) < 0 else 3 if _compare(ratio, 2.3) > 0 else 2)
        + 1
        + _grade_code("ascites", ascites)
        + 1
        + _grade_code("encephalopathy", encephalopathy)
    )
    return ChildPugh(points, child_pugh_class(points))


def nlr(neutrophils_10e9_l: float, lymphocytes_10e9_l: float) -> float:
    """Neutrophil-to-lymphocyte ratio."""
    return _real("neutrophils_10e9_l", neutrophils_10e9_l, minimum=0) / _real(
        "lymphocytes_10e9_l", lymphocytes_10e9_l, positive=True
    )


def plr(platelets_10e9_l: float, lymphocytes_10e9_l: float) -> float:
    """Platelet-to-lymphocyte ratio."""
    return _real("platelets_10e9_l", platelets_10e9_l, minimum=0) / _real(
        "lymphocytes_10e9_l", lymphocytes_10e9_l, positive=True
    )


def sii(platelets_10e9_l: float, neutrophils_10e9_l: float, lymphocytes_10e9_l: float) -> float:
    """Systemic immune-inflammation index = platelets × neutrophils / lymphocytes, in 10⁹/L."""
    platelets = _real("platelets_10e9_l", platelets_10e9_l, minimum=0)
    return platelets * nlr(neutrophils_10e9_l, lymphocytes_10e9_l)


def relative_change(baseline_value: float, one_month_value: float) -> float:
    """Δx = (x_1m − x_baseline) / x_baseline, both in the same unit; −0.25 is a 25 % fall."""
    baseline = _real("baseline_value", baseline_value)
    if baseline == 0:
        raise PRIMEInputError(
            "A relative change needs a non-zero baseline value.", field="baseline_value", value=baseline_value
        )
    return (_real("one_month_value", one_month_value) - baseline) / baseline


def log10_afp(afp_ng_ml: float) -> float:
    """log10 of AFP in ng/mL; values below 1 ng/mL (under assay detection) count as 1, giving 0."""
    return math.log10(max(_real("afp_ng_ml", afp_ng_ml, minimum=0), 1.0))


@dataclass(frozen=True)
class MRECIST:
    """An mRECIST assessment of the target lesions.

    ``change_from_baseline`` and ``change_from_nadir`` are fractions (−0.3 = −30 %);
    ``change_from_nadir`` is ``None`` when the nadir is 0 (after a complete response).
    """

    category: str
    objective_response: bool
    change_from_baseline: float
    change_from_nadir: float | None


def objective_response(category: str) -> int:
    """1 for mRECIST CR or PR, 0 for SD or PD."""
    if category not in ("CR", "PR", "SD", "PD"):
        raise PRIMEInputError(
            f"Unknown mRECIST category {category!r}.",
            field="mrecist",
            value=category,
            expected="CR, PR, SD or PD",
        )
    return int(category in ("CR", "PR"))


def mrecist(
    baseline_sum_mm: float,
    followup_sum_mm: float,
    *,
    nadir_sum_mm: float | None = None,
    new_lesion: bool = False,
) -> MRECIST:
    """mRECIST category from sums of viable (arterially enhancing) target-lesion diameters in mm.

    CR: no viable tumour left in any target lesion. PR: ≥ 30 % decrease of the sum from baseline.
    PD: ≥ 20 % increase from the nadir (the smallest sum so far, baseline included; default the
    baseline), or any new lesion. SD otherwise. PD is checked first (Lencioni & Llovet 2010).
    """
    baseline = _real("viable_sum_baseline_mm", baseline_sum_mm, minimum=MRECIST_MIN_BASELINE_MM)
    followup = _real("viable_sum_followup_mm", followup_sum_mm, minimum=0)
    nadir = baseline if nadir_sum_mm is None else _real("viable_sum_nadir_mm", nadir_sum_mm, minimum=0)
    if _compare(nadir, baseline) > 0:
        raise PRIMEInputError(
            f"The nadir sum ({nadir:g} mm) is larger than the baseline sum ({baseline:g} mm).",
            field="viable_sum_nadir_mm",
            value=nadir_sum_mm,
            expected="the smallest sum recorded so far, baseline included, so at most the baseline sum",
        )
    from_baseline = (followup - baseline) / baseline
    from_nadir = (followup - nadir) / nadir if nadir > 0 else None
    if new_lesion or (from_nadir is None and followup > 0):
        category = "PD"
    elif from_nadir is not None and _compare(from_nadir, MRECIST_PD_CHANGE) >= 0:
        category = "PD"
    elif followup == 0:
        category = "CR"
    elif _compare(from_baseline, MRECIST_PR_CHANGE) <= 0:
        category = "PR"
    else:
        category = "SD"
    return MRECIST(category, bool(objective_response(category)), from_baseline, from_nadir)


def bclc_stage(
    *,
    tumor_number: int,
    largest_diameter_cm: float,
    vascular_invasion: bool,
    extrahepatic_spread: bool,
    ecog: int,
    child_pugh_grade: str,
) -> str:
    """BCLC stage (Reig et al., J Hepatol 2022): "0", "A", "B", "C" or "D".

    D: end-stage liver function (here: Child–Pugh C) or ECOG > 2. C: macrovascular invasion,
    extrahepatic spread or ECOG 1–2. 0: single nodule ≤ 2 cm. A: single nodule, or 2–3 nodules all
    ≤ 3 cm. B: multinodular beyond A. Liver function is "preserved" for Child–Pugh A and B.
    """
    number = int(_real("tumor_number", tumor_number, minimum=1))
    diameter = _real("tumor_diameter", largest_diameter_cm, positive=True)
    status = int(_real("ecog", ecog, minimum=0))
    if child_pugh_grade not in ("A", "B", "C"):
        raise PRIMEInputError(
            f"Unknown Child–Pugh grade {child_pugh_grade!r}.", field="child_pugh_class", expected="A, B or C"
        )
    if child_pugh_grade == "C" or status > 2:
        return "D"
    if vascular_invasion or extrahepatic_spread or status > 0:
        return "C"
    if number == 1:
        return "0" if _compare(diameter, 2.0) <= 0 else "A"
    return "A" if number <= 3 and _compare(diameter, 3.0) <= 0 else "B"


# ----------------------------------------------------------------------------------------------
# A whole record


def _number(values: Mapping[str, object], name: str) -> float | None:
    value = values.get(name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def add_derived_indices(values: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``values`` with every index whose inputs are present computed and added.

    ``values`` must already be in canonical units (e.g. ``validate_record(record).values``); this
    function checks no ranges. A computed index replaces an entered one; an index whose inputs are
    missing keeps the entered value. Laboratory changes are added as ``delta_<lab>``.
    """
    out = dict(values)

    def num(name: str) -> float:
        return _number(out, name)  # type: ignore[return-value]  # only called after has()

    def has(*names: str) -> bool:
        return all(_number(out, name) is not None for name in names)

    def text(name: str) -> str | None:
        value = out.get(name)
        return value if isinstance(value, str) else None

    if has("tbil", "alb") and num("tbil") > 0:
        out["albi_score"] = albi_score(num("tbil"), num("alb"))
    if has("albi_score"):
        out["albi_grade"] = albi_grade(num("albi_score"))
    if has("alb", "lym"):
        out["pni"] = pni(num("alb"), num("lym"))
    if has("tbil", "alb", "inr", "ascites", "encephalopathy"):
        out["child_pugh"] = child_pugh(
            num("tbil"), num("alb"), num("inr"), int(num("ascites")), int(num("encephalopathy"))
        ).points
    if has("child_pugh") and num("child_pugh") in range(5, 16):
        out["child_pugh_class"] = child_pugh_class(int(num("child_pugh")))
    if has("lym") and num("lym") > 0:
        if has("neu"):
            out["nlr"] = nlr(num("neu"), num("lym"))
        if has("plt"):
            out["plr"] = plr(num("plt"), num("lym"))
        if has("plt", "neu"):
            out["sii"] = sii(num("plt"), num("neu"), num("lym"))
    if has("afp"):
        out["log10_afp"] = log10_afp(num("afp"))
    for lab in LAB_NAMES:
        if has(lab, f"{lab}_1m") and num(lab) != 0:
            out[f"delta_{lab}"] = relative_change(num(lab), num(f"{lab}_1m"))
    if text("sex") in ("female", "male"):
        out["sex_male"] = int(text("sex") == "male")
    if text("interventional") in ("TACE", "HAIC", "TACE+HAIC"):
        out["tace_haic"] = int(text("interventional") == "TACE+HAIC")
    if has("tumor_number"):
        out["multiple_tumors"] = int(num("tumor_number") >= 2)
    if has("viable_sum_baseline_mm", "viable_sum_followup_mm", "new_lesion"):
        out["mrecist"] = mrecist(
            num("viable_sum_baseline_mm"),
            num("viable_sum_followup_mm"),
            nadir_sum_mm=_number(out, "viable_sum_nadir_mm"),
            new_lesion=bool(num("new_lesion")),
        ).category
    if text("mrecist") in ("CR", "PR", "SD", "PD"):
        out["response"] = objective_response(str(text("mrecist")))
    if has("tumor_number", "tumor_diameter", "pvtt", "hvtt", "ehm", "ecog") and text("child_pugh_class"):
        out["bclc"] = bclc_stage(
            tumor_number=int(num("tumor_number")),
            largest_diameter_cm=num("tumor_diameter"),
            vascular_invasion=bool(num("pvtt") or num("hvtt")),
            extrahepatic_spread=bool(num("ehm")),
            ecog=int(num("ecog")),
            child_pugh_grade=str(text("child_pugh_class")),
        )
    return out
