"""Derived clinical indices against hand-computed references and the published cut-offs.

Reference values below are worked out by hand in the comments (log10 from tables), not recomputed
with the formula under test.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from PRIMELib.clinical import (
    ClinicalDataError,
    albi_grade,
    albi_score,
    bclc_stage,
    child_pugh,
    child_pugh_class,
    derive_indices,
    log10_afp,
    mrecist,
    nlr,
    objective_response,
    plr,
    pni,
    prepare_record,
    relative_change,
    sii,
)
from PRIMELib.errors import PRIMEInputError

# ---------------------------------------------------------------------------------------------
# ALBI (Johnson et al., J Clin Oncol 2015): 0.66 × log10(bilirubin µmol/L) − 0.085 × albumin g/L


def test_albi_worked_example_in_conventional_units() -> None:
    # Albumin 3.5 g/dL = 35 g/L; bilirubin 1.2 mg/dL × 17.1 = 20.52 µmol/L.
    # log10(20.52) = 1 + log10(2.052) = 1.312177; × 0.66 = 0.866037.
    # 0.085 × 35 = 2.975.  ALBI = 0.866037 − 2.975 = −2.108963 → grade 2 (−2.60 < −2.11 ≤ −1.39).
    score = albi_score(1.2 * 17.1, 3.5 * 10)
    assert score == pytest.approx(-2.108963, abs=2e-6)
    assert albi_grade(score) == 2


@pytest.mark.parametrize(
    ("bilirubin", "albumin", "expected_score", "expected_grade"),
    [
        # log10(10) = 1: 0.66 − 0.085 × 45 = 0.66 − 3.825 = −3.165 → grade 1
        (10.0, 45.0, -3.165, 1),
        # log10(100) = 2: 1.32 − 0.085 × 20 = 1.32 − 1.70 = −0.38 → grade 3
        (100.0, 20.0, -0.38, 3),
        # log10(1) = 0: −0.085 × 30 = −2.55 → grade 2
        (1.0, 30.0, -2.55, 2),
    ],
)
def test_albi_exact_logarithms(
    bilirubin: float, albumin: float, expected_score: float, expected_grade: int
) -> None:
    assert albi_score(bilirubin, albumin) == pytest.approx(expected_score, abs=1e-12)
    assert albi_grade(albi_score(bilirubin, albumin)) == expected_grade


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (-2.60 - 1e-6, 1),
        (-2.60, 1),  # "≤ −2.60" is grade 1
        (-2.60 + 1e-6, 2),
        (-1.39 - 1e-6, 2),
        (-1.39, 2),  # "≤ −1.39" is still grade 2
        (-1.39 + 1e-6, 3),
    ],
)
def test_albi_grade_boundaries(score: float, grade: int) -> None:
    assert albi_grade(score) == grade


def test_albi_computed_exactly_on_the_cutoffs_counts_as_on_them() -> None:
    # Albumin 40 g/L: −0.085 × 40 = −3.4; on paper −2.60 needs 0.66 log10(b) = 0.8, b = 10^(0.8/0.66).
    on_first = albi_score(10 ** (0.8 / 0.66), 40.0)
    assert on_first == pytest.approx(-2.60, abs=1e-12)
    assert albi_grade(on_first) == 1
    # Albumin 30 g/L: −2.55; on paper −1.39 needs 0.66 log10(b) = 1.16, b = 10^(1.16/0.66) ≈ 57.2 µmol/L.
    on_second = albi_score(10 ** (1.16 / 0.66), 30.0)
    assert on_second == pytest.approx(-1.39, abs=1e-12)
    assert albi_grade(on_second) == 2


@settings(max_examples=150, deadline=None)
@given(st.floats(-8, 3, allow_nan=False), st.floats(-8, 3, allow_nan=False))
def test_albi_grade_is_monotone(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert albi_grade(low) <= albi_grade(high)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "17", None, True])
def test_albi_refuses_unusable_bilirubin(bad: object) -> None:
    with pytest.raises(PRIMEInputError, match="bilirubin_umol_l"):
        albi_score(bad, 40.0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# PNI, NLR, PLR, SII, Δ, log10 AFP


def test_pni_matches_onoderas_original_units() -> None:
    # Onodera 1984: 10 × albumin g/dL + 0.005 × lymphocytes/mm³ = 10 × 3.8 + 0.005 × 1300 = 38 + 6.5 = 44.5.
    assert pni(38.0, 1.3) == pytest.approx(44.5)


def test_inflammation_ratios() -> None:
    # neutrophils 3.6, lymphocytes 1.2, platelets 150 (10⁹/L): NLR 3.0, PLR 125, SII 150 × 3.6 / 1.2 = 450.
    assert nlr(3.6, 1.2) == pytest.approx(3.0)
    assert plr(150.0, 1.2) == pytest.approx(125.0)
    assert sii(150.0, 3.6, 1.2) == pytest.approx(450.0)
    with pytest.raises(PRIMEInputError, match="lymphocytes"):
        nlr(3.6, 0.0)


def test_relative_change() -> None:
    assert relative_change(100.0, 75.0) == pytest.approx(-0.25)
    assert relative_change(0.42, 0.51) == pytest.approx(0.09 / 0.42)  # ΔMON of the demo record: +21.4 %
    with pytest.raises(PRIMEInputError, match="non-zero baseline"):
        relative_change(0.0, 1.0)


def test_log10_afp() -> None:
    assert log10_afp(1000.0) == pytest.approx(3.0)
    assert log10_afp(1250.0) == pytest.approx(3.096910, abs=1e-6)  # log10(1.25) = 0.096910
    assert log10_afp(0.4) == 0.0  # below 1 ng/mL counts as 1
    with pytest.raises(PRIMEInputError):
        log10_afp(-5.0)


# ---------------------------------------------------------------------------------------------
# Child–Pugh


def _points(
    bilirubin: float = 20.0, albumin: float = 40.0, inr: float = 1.0, asc: int = 0, enc: int = 0
) -> int:
    return child_pugh(bilirubin, albumin, inr, asc, enc).points


def test_child_pugh_best_case_is_5_a() -> None:
    result = child_pugh(20.0, 40.0, 1.0, 0, 0)
    assert (result.points, result.grade) == (5, "A")


@pytest.mark.parametrize(
    ("bilirubin", "points"),
    [
        (34.19, 5),
        (34.2, 6),
        (2 * 17.1, 6),  # 2 mg/dL
        (51.3, 6),
        (3 * 17.1, 6),  # 3 mg/dL = 51.300000000000004 in floating point: still the middle band
        (51.31, 7),
    ],
)
def test_child_pugh_bilirubin_bands(bilirubin: float, points: int) -> None:
    assert _points(bilirubin=bilirubin) == points


@pytest.mark.parametrize(("albumin", "points"), [(35.01, 5), (35.0, 6), (28.0, 6), (27.99, 7), (2.8 * 10, 6)])
def test_child_pugh_albumin_bands(albumin: float, points: int) -> None:
    assert _points(albumin=albumin) == points


@pytest.mark.parametrize(("inr", "points"), [(1.69, 5), (1.7, 6), (2.3, 6), (2.31, 7)])
def test_child_pugh_inr_bands(inr: float, points: int) -> None:
    assert _points(inr=inr) == points


@pytest.mark.parametrize(
    ("kwargs", "points", "grade"),
    [
        ({"bilirubin": 40.0}, 6, "A"),
        ({"bilirubin": 40.0, "asc": 1}, 7, "B"),
        ({"bilirubin": 60.0, "albumin": 30.0, "enc": 1}, 9, "B"),  # 3 + 2 + 1 + 1 + 2
        ({"bilirubin": 60.0, "albumin": 30.0, "enc": 1, "inr": 1.8}, 10, "C"),
        ({"bilirubin": 60.0, "albumin": 20.0, "inr": 3.0, "asc": 2, "enc": 2}, 15, "C"),
    ],
)
def test_child_pugh_class_boundaries(kwargs: dict, points: int, grade: str) -> None:
    result = child_pugh(
        kwargs.get("bilirubin", 20.0),
        kwargs.get("albumin", 40.0),
        kwargs.get("inr", 1.0),
        kwargs.get("asc", 0),
        kwargs.get("enc", 0),
    )
    assert (result.points, result.grade) == (points, grade)


def test_child_pugh_class_table() -> None:
    assert [child_pugh_class(p) for p in range(5, 16)] == ["A"] * 2 + ["B"] * 3 + ["C"] * 6
    for bad in (4, 16, 6.5, True, "6"):
        with pytest.raises(PRIMEInputError):
            child_pugh_class(bad)  # type: ignore[arg-type]
    with pytest.raises(PRIMEInputError, match="ascites"):
        child_pugh(20.0, 40.0, 1.0, 3, 0)


@settings(max_examples=150, deadline=None)
@given(
    st.floats(2, 800),
    st.floats(2, 800),
    st.floats(10, 60),
    st.floats(0.8, 5),
    st.integers(0, 2),
    st.integers(0, 2),
)
def test_child_pugh_points_rise_with_bilirubin(b1, b2, albumin, inr, asc, enc) -> None:
    low, high = sorted((b1, b2))
    points_low = child_pugh(low, albumin, inr, asc, enc).points
    assert 5 <= points_low <= child_pugh(high, albumin, inr, asc, enc).points <= 15


# ---------------------------------------------------------------------------------------------
# mRECIST (Lencioni & Llovet 2010)


@pytest.mark.parametrize(
    ("baseline", "followup", "nadir", "new", "category"),
    [
        (100.0, 0.0, None, False, "CR"),
        (100.0, 0.0, None, True, "PD"),  # a new lesion is progression whatever the targets do
        (100.0, 70.0, None, False, "PR"),  # exactly −30 %
        (100.0, 70.1, None, False, "SD"),
        (100.0, 119.9, None, False, "SD"),
        (100.0, 120.0, None, False, "PD"),  # exactly +20 % from the nadir (= baseline)
        (100.0, 59.9, 50.0, False, "PR"),  # +19.8 % from nadir, −40.1 % from baseline
        (100.0, 60.0, 50.0, False, "PD"),  # +20 % from the nadir wins over −40 % from baseline
        (100.0, 5.0, 0.0, False, "PD"),  # reappearance after a complete response
        (100.0, 90.0, 90.0, False, "SD"),
    ],
)
def test_mrecist_categories(baseline, followup, nadir, new, category) -> None:
    result = mrecist(baseline, followup, nadir_sum_mm=nadir, new_lesion=new)
    assert result.category == category
    assert result.objective_response is (category in ("CR", "PR"))


def test_mrecist_boundaries_survive_floating_point() -> None:
    # 7.07 mm is exactly 70 % of 10.1 mm, and 12.12 exactly 120 %, but in floating point
    # (7.07 − 10.1) / 10.1 = −0.29999999999999993 and (12.12 − 10.1) / 10.1 = 0.19999999999999996.
    assert (7.07 - 10.1) / 10.1 > -0.30
    assert (12.12 - 10.1) / 10.1 < 0.20
    assert mrecist(10.1, 7.07).category == "PR"
    assert mrecist(10.1, 12.12).category == "PD"
    assert mrecist(10.1, 7.08).category == "SD"


def test_mrecist_refuses_inconsistent_sums() -> None:
    with pytest.raises(PRIMEInputError, match="nadir"):
        mrecist(50.0, 40.0, nadir_sum_mm=60.0)
    with pytest.raises(PRIMEInputError, match="at least 10"):
        mrecist(5.0, 4.0)
    assert [objective_response(c) for c in ("CR", "PR", "SD", "PD")] == [1, 1, 0, 0]
    with pytest.raises(PRIMEInputError):
        objective_response("NE")


# ---------------------------------------------------------------------------------------------
# BCLC 2022 (Reig et al., J Hepatol 2022)


def _stage(number=1, diameter=1.8, vi=False, ehm=False, ecog=0, cp="A") -> str:
    return bclc_stage(
        tumor_number=number,
        largest_diameter_cm=diameter,
        vascular_invasion=vi,
        extrahepatic_spread=ehm,
        ecog=ecog,
        child_pugh_grade=cp,
    )


@pytest.mark.parametrize(
    ("kwargs", "stage"),
    [
        ({}, "0"),  # single ≤ 2 cm, ECOG 0, preserved liver function
        ({"diameter": 2.0}, "0"),
        ({"diameter": 2.1}, "A"),
        ({"diameter": 9.0}, "A"),  # single nodule of any size
        ({"number": 3, "diameter": 3.0}, "A"),  # 2–3 nodules all ≤ 3 cm
        ({"number": 3, "diameter": 3.1}, "B"),
        ({"number": 4, "diameter": 2.0}, "B"),
        ({"number": 4, "vi": True}, "C"),
        ({"ehm": True}, "C"),
        ({"ecog": 1}, "C"),
        ({"ecog": 2}, "C"),
        ({"cp": "B"}, "0"),  # Child–Pugh B counts as preserved here
        ({"cp": "C"}, "D"),
        ({"ecog": 3}, "D"),
    ],
)
def test_bclc_stages(kwargs: dict, stage: str) -> None:
    assert _stage(**kwargs) == stage


# ---------------------------------------------------------------------------------------------
# A whole record

DEMO = {
    "case_id": "demo",
    "sex": "male",
    "ecog": 0,
    "tbil": 16.8,
    "alb": 38.5,
    "inr": 1.08,
    "afp": 1250.0,
    "pt": 12.6,
    "mon": 0.42,
    "lym": 1.3,
    "neu": 3.6,
    "plt": 142.0,
    "mon_1m": 0.51,
    "pt_1m": 13.1,
    "afp_1m": 610.0,
    "tumor_number": 1,
    "tumor_diameter": 4.2,
    "interventional": "TACE",
}


def test_derive_indices_on_the_demo_record() -> None:
    values = derive_indices(DEMO)
    # log10(16.8) = 1.225309 → 0.808704; 0.085 × 38.5 = 3.2725; ALBI = −2.463796 → grade 2
    assert values["albi_score"] == pytest.approx(-2.463796, abs=1e-6)
    assert values["albi_grade"] == 2
    assert values["pni"] == pytest.approx(38.5 + 6.5)
    assert values["nlr"] == pytest.approx(2.769231, abs=1e-6)  # 3.6 / 1.3
    assert values["plr"] == pytest.approx(109.230769, abs=1e-6)  # 142 / 1.3
    assert values["delta_mon"] == pytest.approx(0.214286, abs=1e-6)  # 0.09 / 0.42
    assert values["delta_pt"] == pytest.approx(0.039683, abs=1e-6)  # 0.5 / 12.6
    assert values["delta_afp"] == pytest.approx(-0.512)  # −640 / 1250
    assert values["log10_afp"] == pytest.approx(3.096910, abs=1e-6)
    assert (values["sex_male"], values["tace_haic"], values["multiple_tumors"]) == (1, 0, 0)
    assert "child_pugh" not in values  # ascites and encephalopathy were not given
    assert "bclc" not in values


def test_child_pugh_and_bclc_computed_when_all_inputs_exist() -> None:
    record = {**DEMO, "ascites": 0, "encephalopathy": 0, "pvtt": 2, "hvtt": 0, "ehm": 0}
    values = derive_indices(record)
    assert (values["child_pugh"], values["child_pugh_class"]) == (5, "A")
    assert values["bclc"] == "C"  # portal vein invasion


def test_entered_indices_are_kept_without_inputs_and_replaced_with_them() -> None:
    assert derive_indices({"albi_grade": 3, "bclc": "B", "child_pugh": 7}) == {
        "albi_grade": 3,
        "bclc": "B",
        "child_pugh": 7,
        "child_pugh_class": "B",
    }
    result = prepare_record({**DEMO, "albi_grade": 1})
    assert result.values["albi_grade"] == 2
    assert any("albi_grade was entered as 1 but is 2" in w for w in result.warnings)
    assert "albi_grade" in result.derived
    # A rounded entry that agrees raises no warning.
    assert not prepare_record({**DEMO, "albi_score": -2.46}).warnings


def test_an_entered_label_that_contradicts_the_entered_category_is_corrected_with_a_warning() -> None:
    result = prepare_record({"mrecist": "SD", "response": 1})
    assert result.values["response"] == 0
    assert result.warnings == (
        "response was entered as 1 but is 0 from mrecist; the computed value is used.",
    )


def test_mrecist_in_a_record() -> None:
    values = derive_indices({"viable_sum_baseline_mm": 80.0, "viable_sum_followup_mm": 40.0, "new_lesion": 0})
    assert (values["mrecist"], values["response"]) == ("PR", 1)
    with pytest.raises(ClinicalDataError, match="nadir"):
        derive_indices(
            {
                "viable_sum_baseline_mm": 50.0,
                "viable_sum_followup_mm": 40.0,
                "viable_sum_nadir_mm": 60.0,
                "new_lesion": 0,
            }
        )
