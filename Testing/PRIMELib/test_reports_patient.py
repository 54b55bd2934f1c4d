"""The patient report: every value of the result shown, from the object or its JSON alike."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from pypdf import PdfReader
from test_reports_document import Page, pdf_text

from PRIMELib.bundle import load_default_model
from PRIMELib.clinical import CLINICAL_SCHEMA
from PRIMELib.clinical.coding import schema_code
from PRIMELib.demo import DEMO_CLINICAL_RECORD
from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import write_json
from PRIMELib.pipeline import clinical_features
from PRIMELib.reports import write_patient_report
from PRIMELib.reports.patient import BANNER, REQUIRED_FIELDS, _curve, load_result
from PRIMELib.scoring import DAYS_PER_MONTH, ScoreResult


@pytest.fixture(scope="module")
def demo_scored():
    """The demonstration bundle's result for the demo patient's clinical values (INR left out: it is
    imputed) and the training cohort's median radiomics values."""
    model = load_default_model()
    values, _ = clinical_features(DEMO_CLINICAL_RECORD)
    del values["inr"]
    reference = model.manifest["preprocessing"]["reference_values"]
    values |= {f: v for f, v in reference.items() if f.startswith(("arterial_", "venous_"))}
    return model.score(values, case_id="PSEUDO-0042")


@pytest.fixture(scope="module")
def bundled() -> ScoreResult:
    """A trained bundle's result, laid out as ScoreResult holds it (values chosen by hand)."""
    contributions_r = [
        {"feature": "pni", "value": 52.8, "contribution": 0.81},
        {"feature": "arterial_original_shape_Maximum3DDiameter", "value": 47.1, "contribution": -0.42},
        {"feature": "venous_wavelet-LLH_glcm_Contrast", "value": 2.85, "contribution": 0.11},
    ]
    contributions_s = [
        {"feature": "delta_mon", "value": 0.31, "contribution": 0.52},
        {"feature": "albi_score", "value": -2.25, "contribution": 0.2},
        {"feature": "age", "value": 61.0, "contribution": -0.05},
    ]
    # A step curve: S falls by 2 % of what is left each month up to the training follow-up (30 months).
    curve = [{"month": m, "survival": 0.98**m} for m in range(31)]
    survival = {f"{m}_months": 0.98 ** min(m, 30) for m in (6, 12, 24, 36)}
    return ScoreResult(
        case_id="P.017",
        response_probability=0.6234,
        response_class="responder",
        risk_score=0.4567,
        risk_group="high",
        survival=survival,
        quadrant="responder / high risk",
        quadrant_text="Likely to respond at 3 months, but survival risk is high.",
        top_response_features=contributions_r,
        top_survival_features=contributions_s,
        imputed_fields=["age"],
        inputs={
            "age": 61.0,
            "pni": 52.8,
            "ecog": 1.0,
            "delta_mon": 0.31,
            "albi_score": -2.25,
            "arterial_original_shape_Maximum3DDiameter": 47.1,
            "venous_wavelet-LLH_glcm_Contrast": 2.85,
        },
        model_name="PRIME demonstration model",
        model_card={
            "name": "PRIME demonstration model",
            "trained_on": "synthetic cohort, 246 cases",
            "intended_use": "Research use only.",
            "not_for_clinical_use": True,
            "warning": "Research use only; not for clinical decisions.",
            "primelib_version": "0.1.0",
        },
        warnings=["Survival at 36 months lies beyond the training follow-up (30.0 months) <flat>."],
        survival_curve=curve,
        response_contributions=contributions_r,
        survival_contributions=contributions_s,
        explanation={
            "method": "baseline Shapley values against a reference case of training medians",
            "response_units": "log-odds of response",
            "survival_units": "PRIME-S risk score",
        },
        thresholds={"response_threshold": 0.45, "risk_cutoff": 0.1234},
    )


def _rows(page: Page) -> dict[str, list[str]]:
    """Every table row of the page, by its first cell."""
    return {row[0]: row[1:] for table in page.tables for row in table if row}


def _table(page: Page, header: list[str]) -> list[list[str]]:
    """The body rows of the one table with this header."""
    (table,) = [t for t in page.tables if t and t[0] == header]
    return table[1:]


def _check_images(page: Page) -> None:
    assert len(page.images) == 2  # survival curve, contributions
    for source in page.images:
        data = base64.b64decode(source.removeprefix("data:image/png;base64,"))
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            assert image.format == "PNG"


def test_the_report_shows_every_value_of_the_result(demo_scored, tmp_path):
    paths = write_patient_report(demo_scored, tmp_path / "report", record=DEMO_CLINICAL_RECORD)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf", "report_figures"]
    page = Page(paths["html"].read_text(encoding="utf-8"))
    text = page.all_text
    assert BANNER in text and BANNER.upper() in text
    assert "PSEUDO-0042" in text
    assert f"{demo_scored.response_probability:.3f}" in text and demo_scored.response_class in text
    assert f"{demo_scored.risk_score:+.3f}" in text and f"{demo_scored.risk_group} risk" in text
    # The demonstration bundle's thresholds, from its manifest.
    thresholds = load_default_model().manifest["thresholds"]
    assert f"{thresholds['response_threshold']:.3f} (at or above: responder)" in text
    assert f"{thresholds['risk_cutoff']:+.3f} (above: high risk)" in text
    for months, value in demo_scored.survival.items():
        assert f"{value:.3f}" in text, months
    assert demo_scored.quadrant_text in text
    assert demo_scored.imputed_fields == ["inr"]
    clinical = {row[0]: row[1:] for row in _table(page, ["input", "value", "unit", "source"])}
    radiomics = {
        tuple(row[:2]): row[2:] for row in _table(page, ["phase", "feature", "value", "unit", "source"])
    }
    assert len(clinical) + len(radiomics) == len(demo_scored.inputs)
    for feature, value in demo_scored.inputs.items():
        if feature.startswith(("arterial_", "venous_")):
            shown, _, source = radiomics[tuple(feature.split("_", 1))]
        else:
            shown, _, source = next(v for k, v in clinical.items() if k.endswith(f"({feature})"))
        code = schema_code(feature, value) if feature in CLINICAL_SCHEMA else None
        if isinstance(code, str):  # a text-coded input is held by its code's position: the code is shown
            assert shown.split(" ")[0] == code, feature
        else:
            assert float(shown.split(" ")[0]) == pytest.approx(value, rel=5e-4, abs=1e-12), feature
        expected = "IMPUTED" if feature in demo_scored.imputed_fields else "entered"
        assert source.startswith(expected), (feature, source)
    # Units from PyRadiomics and the clinical schema; codings with their labels; the record as entered.
    assert radiomics[("arterial", "original_firstorder_Minimum")][1] == "HU"
    assert clinical["log10 AFP (log10_afp)"][1] == "log10 ng/mL"
    assert clinical["ECOG performance status (ecog)"][0] == "0 (fully active)"
    # The demonstration model one-hot encodes the agents: the result holds camrelizumab's position (0).
    assert demo_scored.inputs["immunotherapy"] == 0.0
    assert clinical["Immunotherapy agent (immunotherapy)"][0] == "camrelizumab"
    assert clinical["Targeted agent (targeted)"][0] == "lenvatinib"
    entered = {row[0]: row[1:] for row in _table(page, ["variable", "value", "unit"])}
    assert entered["Serum albumin (alb)"] == ["38.5", "g/L"]
    assert entered["Monocyte count (mon)"] == ["0.42", "10⁹/L"]
    assert entered["Interventional therapy (interventional)"] == ["TACE (TACE alone)", ""]
    _check_images(page)
    figures = paths["figures"]
    for name in ("survival_curve", "contributions"):
        with Image.open(figures / f"{name}.png") as image:
            image.verify()
        assert ET.parse(figures / f"{name}.svg").getroot().tag.endswith("svg")


def test_the_pdf_holds_the_key_values(demo_scored, tmp_path):
    paths = write_patient_report(demo_scored, tmp_path / "report", formats=("pdf",), figures=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
    assert paths["pdf"].read_bytes().startswith(b"%PDF-")
    text = pdf_text(paths["pdf"])
    for expected in (
        "PSEUDO-0042",
        f"{demo_scored.response_probability:.3f}",
        f"{demo_scored.risk_group} risk",
        f"{demo_scored.survival['12_months']:.3f}",
        BANNER,
        "INR (inr)",  # the imputed input
        "IMPUTED",
        demo_scored.quadrant_text[:40],
    ):
        assert expected in text, expected
    assert sum(len(page.images) for page in PdfReader(paths["pdf"]).pages) == 2


@pytest.mark.parametrize("which", ["demo_scored", "bundled"])
def test_a_report_from_the_json_equals_the_report_from_the_object(which, request, tmp_path):
    result = request.getfixturevalue(which)
    stored = write_json(tmp_path / "result.json", result.to_dict())
    from_object = write_patient_report(result, tmp_path / "a" / "report")
    from_file = write_patient_report(stored, tmp_path / "b" / "report")
    assert load_result(json.loads(stored.read_text())) == load_result(result)
    assert from_file["html"].read_bytes() == from_object["html"].read_bytes()
    assert pdf_text(from_file["pdf"]) == pdf_text(from_object["pdf"])
    for name in ("survival_curve.png", "survival_curve.svg", "contributions.png"):
        assert (from_file["figures"] / name).read_bytes() == (from_object["figures"] / name).read_bytes()


def test_the_bundle_report_shows_its_curve_thresholds_explanations_and_warnings(bundled, tmp_path):
    paths = write_patient_report(bundled, tmp_path / "P.017", formats=("html",))
    assert paths["html"].name == "P.017.html"  # a case id with a dot keeps it
    page = Page(paths["html"].read_text(encoding="utf-8"))
    text = page.all_text
    assert "0.623 (62.3 %)" in text and "+0.457" in text and "high risk" in text
    assert "0.450 (at or above: responder)" in text and "+0.123 (above: high risk)" in text
    assert "beyond the training follow-up (30.0 months) <flat>." in text  # escaped, shown
    assert "baseline Shapley values" in text
    rows = _rows(page)
    assert rows["pni"] == ["52.8", "+0.810", "raises the response probability"]
    assert rows["delta_mon"] == ["0.31", "+0.520", "raises the survival risk"]
    assert rows["age"] == ["61", "-0.050", "lowers the survival risk"]
    assert next(v for k, v in rows.items() if k == "Age (age)")[-1].startswith("IMPUTED (missing; training")
    assert rows["arterial"][1:3] == ["47.1", "mm"]
    _check_images(page)
    # The curve drawn is the bundle's own, month by month.
    curve, kind = _curve(load_result(bundled))
    assert kind == "steps" and curve == [(float(m), 0.98**m) for m in range(31)]


def test_the_scored_curve_passes_through_the_scored_survival(demo_scored):
    curve, kind = _curve(load_result(demo_scored))
    # The demonstration model's PRIME-S is a 30-day landmark model: its curve starts at 1 at the landmark.
    start = (demo_scored.survival_landmark_days or 0.0) / DAYS_PER_MONTH
    assert demo_scored.survival_landmark_days == 30.0
    assert kind == "steps" and curve[0] == (pytest.approx(start, abs=5e-4), pytest.approx(1.0, abs=1e-12))
    last = curve[-1][0]
    for months, value in demo_scored.survival.items():
        month = int(months.split("_")[0])
        # Beyond the training follow-up the curve is held flat at its last value.
        assert dict(curve)[min(month, last)] == pytest.approx(value, rel=1e-12), months


def test_a_result_of_an_unknown_model_without_its_curve_plots_the_known_months(demo_scored, tmp_path):
    unknown = {"model_name": "someone else's model", "survival_curve": [], "thresholds": {}}
    data = demo_scored.to_dict() | unknown
    curve, kind = _curve(load_result(data))
    assert kind == "points" and curve[0] == (0.0, 1.0) and len(curve) == 5
    text = Page(write_patient_report(data, tmp_path / "r", formats=("html",))["html"].read_text()).all_text
    assert "Only those months are known" in text and "not recorded" in text


def test_only_schema_variables_of_the_clinical_record_are_shown(demo_scored, tmp_path):
    record = {
        **DEMO_CLINICAL_RECORD,
        "case_id": "PSEUDO-0042",
        "patient_name": "Jane Q. Doe",
        "mrn": "884213",
    }
    paths = write_patient_report(demo_scored, tmp_path / "r", record=record, figures=False)
    for text in (Page(paths["html"].read_text()).all_text, pdf_text(paths["pdf"])):
        assert "Jane Q. Doe" not in text and "884213" not in text
        assert "Serum albumin (alb)" in text


@pytest.mark.parametrize("missing", REQUIRED_FIELDS)
def test_a_result_missing_a_required_field_is_refused_naming_it(demo_scored, missing, tmp_path):
    data = demo_scored.to_dict()
    del data[missing]
    with pytest.raises(PRIMEInputError, match=f"lacks the field '{missing}'") as error:
        write_patient_report(data, tmp_path / "report")
    assert error.value.field == missing
    assert list(tmp_path.iterdir()) == []


def test_malformed_results_and_formats_are_refused(demo_scored, tmp_path):
    with pytest.raises(PRIMEInputError, match="is not a probability") as error:
        write_patient_report(demo_scored.to_dict() | {"response_probability": 1.7}, tmp_path / "r")
    assert error.value.field == "response_probability"
    with pytest.raises(PRIMEInputError, match="'risk_score' of the scoring result is 'high'"):
        write_patient_report(demo_scored.to_dict() | {"risk_score": "high"}, tmp_path / "r")
    with pytest.raises(PRIMEInputError, match="survival lacks '24_months'"):
        survival = {k: v for k, v in demo_scored.survival.items() if k != "24_months"}
        write_patient_report(demo_scored.to_dict() | {"survival": survival}, tmp_path / "r")
    with pytest.raises(PRIMEInputError, match=r"Unknown report format.*docx") as error:
        write_patient_report(demo_scored, tmp_path / "r", formats=("html", "docx"))
    assert error.value.field == "formats"
    with pytest.raises(PRIMEInputError, match="could not be read"):
        write_patient_report(tmp_path / "missing.json", tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_prime_score_with_report_writes_it_beside_result_json(tmp_path, capsys):
    from PRIMELib.cli import main
    from PRIMELib.demo import write_demo_case

    case = write_demo_case(tmp_path / "case")
    out = tmp_path / "out"
    arguments = ["--arterial", case.arterial_image, "--venous", case.venous_image, "--mask", case.tumour_mask]
    code = main(
        [
            "score",
            *map(str, arguments),
            "--clinical",
            str(case.clinical_record),
            "--output",
            str(out),
            "--report",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert {"result.json", "report.html", "report.pdf", "report_figures"} <= {p.name for p in out.iterdir()}
    stored = json.loads((out / "result.json").read_text())
    text = Page((out / "report.html").read_text(encoding="utf-8")).all_text
    assert "PRIME-DEMO-001" in text and f"{stored['response_probability']:.3f}" in text
    assert "Serum albumin (alb)" in text  # the clinical record as entered
    printed = capsys.readouterr().out
    assert "report html:" in printed and "report pdf:" in printed
