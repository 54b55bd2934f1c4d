"""`prime import-clinical`: a sheet in another centre's conventions becomes the canonical table, and trains.

The synthetic cohort is rendered here the way another hospital keeps it — its own column names, weeks,
mg/dL and g/dL, millimetres, coded categories (1/2, Y/N, dead/alive), mRECIST codes instead of the
label — and a mapping file with no code brings it back: values within unit-conversion rounding.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from PRIMELib.cli import main
from PRIMELib.clinical.coding import encoding_of, schema_code
from PRIMELib.clinical.cohort import read_cohort
from PRIMELib.clinical.importing import import_clinical, report_paths
from PRIMELib.clinical.validation import ClinicalDataError
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.encoding import ClinicalEncoder
from PRIMELib.synth.cohort import TRUTH_COLUMNS, draw_cohort

REPOSITORY = Path(__file__).resolve().parents[2]

MAPPING = """\
# Another centre's sheet → PRIME's canonical table. No code: names, units and codes only.
columns:
  Patient No.: case_id
  Age (years): age
  Gender: sex
  Weight (kg): weight
  PS: ecog
  HBsAg: hbv
  TBIL (mg/dL): {name: tbil, unit: mg/dL}
  TBIL 1m (mg/dL): tbil_1m
  ALB (g/dL): alb
  ALB 1m (g/dL): alb_1m
  Max tumour size (mm): tumor_diameter
  Treatment: interventional
  OS (weeks): os_days
  Status: os_event
units:
  tbil_1m: mg/dL
  alb: g/dL
  alb_1m: g/dL
  tumor_diameter: mm
  os_days: weeks
values:
  sex: {1: male, 2: female}
  hbv: {Y: 1, N: 0}
  cirrhosis: {Y: 1, N: 0}
  interventional: {1: TACE, 2: HAIC, 3: TACE+HAIC}
  os_event: {dead: 1, alive: 0}
response: {from: Best response (mRECIST)}
centre: Hospital
ignore: [Comments]
"""


def _original(sizes=None) -> pd.DataFrame:
    cohort = draw_cohort(sizes or {"A": 40, "B": 20}, seed=7)
    return cohort.drop(columns=TRUTH_COLUMNS).set_index("case_id")


def _foreign(original: pd.DataFrame) -> pd.DataFrame:
    """The cohort as another centre keeps it."""
    o = original
    yes_no = {1: "Y", 0: "N"}
    return pd.DataFrame(
        {
            "Patient No.": o.index,
            "Hospital": o["centre"],
            "Age (years)": o["age"],
            "Gender": o["sex"].map({"male": 1, "female": 2}),
            "bmi": o["bmi"],
            "Weight (kg)": o["weight"],
            "PS": o["ecog"],
            "HBsAg": o["hbv"].map(yes_no),
            "Cirrhosis": o["cirrhosis"].map(yes_no),
            **{lab: o[lab] for lab in ("alt", "ast", "afp", "pt", "inr", "mon", "lym", "neu", "plt", "ldh")},
            "TBIL (mg/dL)": (o["tbil"] / 17.1).round(3),
            "ALB (g/dL)": (o["alb"] / 10).round(2),
            **{c: o[c] for c in ("ascites", "encephalopathy", "mon_1m", "pt_1m", "afp_1m")},
            "ALB 1m (g/dL)": (o["alb_1m"] / 10).round(2),
            "TBIL 1m (mg/dL)": (o["tbil_1m"] / 17.1).round(3),
            "Max tumour size (mm)": (o["tumor_diameter"] * 10).round(1),
            **{c: o[c] for c in ("tumor_number", "hvtt", "pvtt", "ehm")},
            "Treatment": o["interventional"].map({"TACE": 1, "HAIC": 2, "TACE+HAIC": 3}),
            **{c: o[c] for c in ("immunotherapy", "targeted", "subsequent_therapy")},
            "Best response (mRECIST)": o["mrecist"],
            "OS (weeks)": (o["os_days"] / 7).round(2),
            "Status": o["os_event"].map({1: "dead", 0: "alive"}),
            "Comments": "reviewed",
        }
    )


def _steps(estimator):
    """Every step of a pipeline, inside feature unions too."""
    for _, step in getattr(estimator, "steps", []):
        parts = [p for _, p in step.transformer_list] if hasattr(step, "transformer_list") else [step]
        for part in parts:
            yield from [part, *_steps(part)]


@pytest.fixture
def foreign_sheet(tmp_path: Path) -> tuple[pd.DataFrame, Path, Path]:
    original = _original()
    sheet = tmp_path / "their_sheet.csv"
    _foreign(original).to_csv(sheet, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return original, sheet, mapping


# Largest difference unit-conversion rounding allows, per column (the sheet's rounding × the factor).
_ROUNDING = {
    "tbil": 0.0005 * 17.1,
    "tbil_1m": 0.0005 * 17.1,
    "alb": 0.05,
    "alb_1m": 0.05,
    "os_days": 0.005 * 7,
}


def _assert_same(imported: pd.DataFrame, original: pd.DataFrame) -> None:
    assert sorted(imported.columns) == sorted(original.columns)
    for column in original.columns:
        theirs, ours = imported[column], original.loc[imported.index, column]
        if pd.api.types.is_numeric_dtype(ours):
            tolerance = _ROUNDING.get(column, 1e-9) + 1e-9
            assert np.allclose(theirs.astype(float), ours.astype(float), rtol=0, atol=tolerance), column
        else:
            assert theirs.astype(str).tolist() == ours.astype(str).tolist(), column


def test_a_foreign_sheet_and_a_mapping_give_back_the_original_table_and_it_trains(
    foreign_sheet, tmp_path: Path, capsys
) -> None:
    original, sheet, mapping = foreign_sheet
    output = tmp_path / "clinical.csv"
    assert main(["import-clinical", str(sheet), "--mapping", str(mapping), "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "Imported 60 cases" in printed and "Comments" in printed

    imported = pd.read_csv(output, dtype={"case_id": str}).set_index("case_id")
    assert list(imported.index) == list(original.index)
    _assert_same(imported, original)

    report = json.loads(report_paths(output)["json"].read_text(encoding="utf-8"))
    assert report["renamed"]["OS (weeks)"] == "os_days" and report["kept"] == {"Hospital": "centre"}
    conversions = {c["column"]: (c["from"], c["to"], c["factor"]) for c in report["unit_conversions"]}
    assert conversions["OS (weeks)"] == ("weeks", "days", 7.0)
    assert conversions["TBIL (mg/dL)"] == ("mg/dL", "µmol/L", 17.1)
    assert conversions["Max tumour size (mm)"] == ("mm", "cm", 0.1)
    gender = next(r for r in report["recoded_values"] if r["column"] == "Gender")
    males = int((original["sex"] == "male").sum())
    assert gender["codes"] == {"1": "male", "2": "female"} and gender["counts"] == {
        "1": males,
        "2": 60 - males,
    }
    (derived,) = report["derived_labels"]
    responders = int(original["mrecist"].isin(["CR", "PR"]).sum())
    assert derived["label"] == "response" and derived["counts"].startswith(f"{responders} responders of 60")
    assert report["ignored_columns"] == ["Comments"]
    markdown = report_paths(output)["md"].read_text(encoding="utf-8")
    assert "`Gender` → `sex`" in markdown and "× 17.1" in markdown

    # The canonical table trains (a quick grid; the other centre is the external set).
    from model_cohort import FAST

    from PRIMELib.bundle import load_bundle, save_bundle
    from PRIMELib.training import TrainingConfig, load_training_data, train_prime

    rng = np.random.default_rng(0)
    radiomics = pd.DataFrame(
        {
            "case_id": original.index,
            "Image": [f"/data/{c}/arterial.nii.gz" for c in original.index],
            "original_shape_Maximum3DDiameter": original["tumor_diameter"] * 10 + rng.normal(0, 3, 60),
            "original_firstorder_Mean": rng.normal(100, 10, 60),
        }
    )
    radiomics.to_csv(tmp_path / "arterial.csv", index=False)
    data = load_training_data(output, arterial_features=tmp_path / "arterial.csv")
    # The categories are model inputs now, not dropped: stored as their schema position.
    assert {"sex", "interventional", "bclc", "child_pugh_class"} <= set(data.features.columns)
    assert data.clinical_columns.encoded["bclc"] == "ordered ranks (0 < A < B < C < D)"
    # Training on every imported column takes minutes here; a few, the categories among them, show it
    # is accepted (the grid cost grows with the number of columns, not with their kind).
    keep = ["age", "sex", "ecog", "alb", "albi_score", "bclc", "child_pugh_class", "interventional"]
    data = replace(data, features=data.features[[*keep, *radiomics.columns[2:].map("arterial_{}".format)]])
    config = TrainingConfig(external_centre="B", **FAST)
    config.outer_folds = 0  # nested validation is tested on its own
    result = train_prime(data, config)
    encoders = [
        step
        for pipeline in result.prime_r.estimators_
        for step in _steps(pipeline)
        if isinstance(step, ClinicalEncoder)
    ]
    assert encoders, "PRIME-R has a clinical member"
    assert {"interventional=TACE", "interventional=TACE+HAIC", "bclc", "sex"} <= set(
        encoders[0].feature_names_out_
    )

    # A saved model scores one record given with the schema's text codes, as with their positions.
    bundle = load_bundle(
        save_bundle(result, tmp_path / "m.prime", name="import test", trained_on="synthetic")
    )
    case = data.features.loc[original.index[0]].to_dict()
    coded = [f for f in bundle.features if encoding_of(f) != "number"]
    assert coded, "the model uses a coded clinical variable"
    as_text = dict(case, **{f: str(schema_code(f, case[f])) for f in coded})  # "male", "B", "1", …
    scored = bundle.score(case, case_id="x")
    again = bundle.score(as_text, case_id="x")
    assert (again.response_probability, again.risk_score) == (scored.response_probability, scored.risk_score)
    with pytest.raises(PRIMEInputError) as caught:
        bundle.score(dict(case, **{coded[0]: 99}), case_id="x")
    assert caught.value.field == coded[0]
    # The model card says how the codes were encoded and which offered columns went unused, and why.
    card = bundle.model_card_markdown()
    assert "bclc as ordered ranks (0 < A < B < C < D)" in card
    assert "mrecist (the response assessment (it is the label))" in card


@pytest.mark.parametrize(
    ("change", "section", "message"),
    [
        ("  Gender: gendr\n", "columns", "Did you mean 'sex'"),
        ("units:\n  os_days: fortnights\n", "units", "Unknown unit 'fortnights' for os_days"),
        ("units:\n  os_dayz: weeks\n", "units", "Did you mean 'os_days'"),
        ("values:\n  sex: {1: male, 2: femal}\n", "values", "not allowed"),
    ],
)
def test_every_mistake_in_the_mapping_is_a_named_error_and_nothing_is_written(
    foreign_sheet, tmp_path: Path, change: str, section: str, message: str
) -> None:
    _, sheet, mapping = foreign_sheet
    text = mapping.read_text(encoding="utf-8")
    head, _, tail = text.partition(f"{section}:\n")
    if section == "columns":
        text = text.replace("  Gender: sex\n", change)
    else:
        # Replace the whole section by the broken one (the rest of the file unchanged).
        rest = tail.split("\n")
        kept = "\n".join(line for line in rest if not line.startswith("  "))
        text = head + change + kept
    mapping.write_text(text, encoding="utf-8")
    output = tmp_path / "out" / "clinical.csv"
    with pytest.raises(PRIMEInputError, match=message):
        import_clinical(sheet, mapping, output)
    assert not output.parent.exists() or not any(output.parent.iterdir())


def test_a_code_the_mapping_does_not_declare_is_an_error_with_its_row(foreign_sheet, tmp_path: Path) -> None:
    _, sheet, mapping = foreign_sheet
    frame = pd.read_csv(sheet, dtype=str)
    frame.loc[4, "Gender"] = "3"
    frame.to_csv(sheet, index=False)
    with pytest.raises(ClinicalDataError) as caught:
        import_clinical(sheet, mapping, tmp_path / "clinical.csv")
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.field) == (6, "Gender", "sex")
    assert "'3' is not under 'values'" in problem.message
    assert not (tmp_path / "clinical.csv").exists()


def test_response_from_a_percent_change_follows_mrecist_thresholds(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("id,change\nP1,-100\nP2,-30\nP3,-29.9\nP4,19.9\nP5,20\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {id: case_id}\nresponse: {from: change, rule: percent_change}\n")
    import_clinical(sheet, mapping, tmp_path / "clinical.csv")
    table = read_cohort(tmp_path / "clinical.csv").table.set_index("case_id")
    # −100 % CR, ≤ −30 % PR, ≥ +20 % PD, else SD; CR/PR are responders.
    assert table["mrecist"].tolist() == ["CR", "PR", "SD", "SD", "PD"]
    assert table["response"].tolist() == [1, 1, 0, 0, 0]


def test_the_readme_example_runs(tmp_path: Path) -> None:
    examples = REPOSITORY / "Resources" / "examples"
    output = tmp_path / "clinical.csv"
    report = import_clinical(
        examples / "clinical_sheet_example.csv", examples / "mapping_example.yaml", output
    )
    written = output.read_text(encoding="utf-8").splitlines()
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    example = textwrap.dedent(readme.split("<!-- import-example-output -->")[1].split("```")[1]).strip()
    assert example.removeprefix("csv\n").splitlines() == written[:4]  # the header and three cases
    assert report.cases == len(written) - 1 == 5
    # Checked against the sheet by hand: H-001 has 0.98 mg/dL bilirubin (× 17.1 = 16.758 µmol/L),
    # 3.9 g/dL albumin (39 g/L), a 120 mm tumour (12 cm), PR (a responder), 141.4 weeks (989.8 days).
    first = dict(zip(written[0].split(","), written[1].split(","), strict=True))
    assert (first["tbil"], first["alb"], first["tumor_diameter"]) == ("16.758", "39", "12")
    assert (first["mrecist"], first["response"], first["os_days"], first["centre"]) == (
        "PR",
        "1",
        "989.8",
        "North",
    )


def test_the_readme_lists_every_schema_column() -> None:
    from PRIMELib.clinical.schema import schema_markdown

    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- schema-table-start -->")[1].split("<!-- schema-table-end -->")[0]
    assert table.strip() == schema_markdown().strip()
