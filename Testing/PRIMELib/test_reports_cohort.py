"""`prime evaluate` end to end: the output files, every figure (valid PNG and SVG), the HTML report that
embeds them all, the PDF, and clear errors for bad input. One evaluation per module (the CLI run)."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from model_cohort import CLINICAL, bundle_path, cohort_frame
from PIL import Image

from PRIMELib.cli import main
from PRIMELib.errors import PRIMEInputError
from PRIMELib.reports.cohort import cohort_report_document, write_cohort_report
from PRIMELib.reports.figures import CAPTIONS, figure_builders

FIGURES = ["roc", "calibration", "decision_curve", "kaplan_meier", "time_dependent", "model_comparison"]


def _write_tables(folder: Path, frame: pd.DataFrame) -> tuple[Path, Path]:
    """A clinical table (schema names, outcomes, a set column, covariates) and a radiomics table."""
    rng = np.random.default_rng(3)
    clinical = frame[[*CLINICAL, "response", "os_days", "os_event", "centre"]].copy()
    # Keep the synthetic values inside the clinical schema's plausible ranges.
    clinical["delta_mon"] = clinical["delta_mon"].clip(-0.9, None)
    clinical["log10_afp"] = clinical["log10_afp"].clip(0, None)
    clinical["subsequent_therapy"] = rng.integers(0, 2, len(frame))
    clinical["arm"] = np.where(np.arange(len(frame)) % 2 == 0, "first arm", "second arm")
    clinical.insert(0, "case_id", frame.index)
    clinical.to_csv(folder / "clinical.csv", index=False)
    radiomics = frame[[c for c in frame.columns if c.startswith(("arterial_", "venous_"))]].copy()
    radiomics.insert(0, "case_id", frame.index)
    radiomics.to_csv(folder / "features.csv", index=False)
    return folder / "clinical.csv", folder / "features.csv"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    clinical, features = _write_tables(folder, cohort_frame())
    output = folder / "out"
    code = main(
        [
            "evaluate", str(bundle_path()), str(features), "--clinical", str(clinical),
            "--output", str(output), "--set-column", "arm", "--adjust-for", "subsequent_therapy",
            "--bootstrap", "20",
        ]
    )  # fmt: skip
    assert code == 0
    return output


def test_the_cli_writes_every_output(run):
    assert {p.name for p in run.iterdir()} == {
        "evaluation.json", "predictions.csv", "figures", "report.html", "report.pdf",
    }  # fmt: skip
    assert not [p for p in run.rglob(".partial-*")]  # atomic writes leave nothing behind
    data = json.loads((run / "evaluation.json").read_text())
    assert list(data["sets"]) == ["first arm", "second arm"]
    assert data["settings"]["adjust_for"] == ["subsequent_therapy"] and data["settings"]["n_bootstrap"] == 20
    assert data["sets"]["first arm"]["hazard_ratios"]["adjusted"]["adjusted_for"] == ["subsequent_therapy"]
    predictions = pd.read_csv(run / "predictions.csv", index_col="case_id")
    assert len(predictions) == 120 and predictions["set"].value_counts().to_dict() == {
        "first arm": 60,
        "second arm": 60,
    }
    for name, s in data["sets"].items():
        rows = predictions[predictions["set"] == name]
        assert s["counts"]["n"] == len(rows) and s["counts"]["deaths"] == rows["os_event"].sum()
        assert s["response"]["PRIME-R"]["n_responders"] == rows["response"].sum()


def test_every_figure_is_a_valid_png_and_svg(run):
    folder = run / "figures"
    data = json.loads((run / "evaluation.json").read_text())
    expected = FIGURES + [
        f"{kind}_{s}".replace(" ", "_") for s in data["sets"] for kind in ("divergence", "correlation")
    ]
    assert sorted(p.stem for p in folder.glob("*.png")) == sorted(expected)
    assert sorted(p.stem for p in folder.glob("*.svg")) == sorted(expected)
    for name in expected:
        with Image.open(folder / f"{name}.png") as image:
            image.verify()
        with Image.open(folder / f"{name}.png") as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200
        root = ET.parse(folder / f"{name}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(list(root.iter())) > 50, name  # drawn, not an empty canvas


def test_the_html_embeds_every_figure_and_the_pdf_has_pages(run):
    html = (run / "report.html").read_text(encoding="utf-8")
    figures = sorted((run / "figures").glob("*.png"))
    for png in figures:
        assert base64.b64encode(png.read_bytes()).decode("ascii") in html, png.name
    assert html.count('<img src="data:image/png;base64,') == len(figures)
    for text in (
        "Research use only",
        "Cohort and methods",
        "Missing values per model input",
        "PRIME-R: response at 3 months",
        "Harrell&#x27;s C",
        "adjusted for subsequent_therapy",
        "within subgroups",
        "Model card",
        "Intended use",
        CAPTIONS["kaplan_meier"][:40],
    ):
        assert text in html, text
    text_only = re.sub(r'src="data:image/png;base64,[^"]*"', "", html)
    assert not re.search(r"P0\d\d", text_only)  # no case ids in the report
    pdf = (run / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    reader = PdfReader(run / "report.pdf")
    assert len(reader.pages) >= 5
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Cohort and methods" in text and "Model card" in text


def test_figures_and_report_redraw_from_evaluation_json(run, tmp_path):
    data = json.loads((run / "evaluation.json").read_text())
    builders = figure_builders(data)
    assert set(builders) >= set(FIGURES)
    figure = builders["kaplan_meier"][0]()
    assert len(figure.axes) == 2 * len(data["sets"])  # a curve and a numbers-at-risk table per set
    document = cohort_report_document(data)
    assert any(getattr(block, "text", "") == "Model card" for block in document.blocks)
    with pytest.raises(PRIMEInputError, match="Unknown report format"):
        write_cohort_report(data, tmp_path / "r", figures={}, formats=("docx",))


def test_bad_input_gives_one_clear_line_and_no_output(tmp_path, capsys):
    clinical, features = _write_tables(tmp_path, cohort_frame(n=40, n_external=10))
    common = [str(bundle_path()), str(features), "--clinical", str(clinical), "--bootstrap", "0"]
    assert main(["evaluate", *common, "--output", str(tmp_path / "a"), "--set-column", "arms"]) == 2
    assert "no set column 'arms'" in capsys.readouterr().err
    assert main(["evaluate", *common, "--output", str(tmp_path / "b"), "--format", "docx"]) == 2
    assert "Unknown report format" in capsys.readouterr().err
    pd.read_csv(features).drop(columns=["venous_original_glcm_Contrast"]).to_csv(
        tmp_path / "short.csv", index=False
    )
    common[1] = str(tmp_path / "short.csv")
    assert main(["evaluate", *common, "--output", str(tmp_path / "c"), "--set-column", "arm"]) == 2
    err = capsys.readouterr().err
    assert "lacks 1 column(s)" in err and "venous_original_glcm_Contrast" in err
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c"))
