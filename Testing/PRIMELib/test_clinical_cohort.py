"""Cohort import from hand-made CSV and Excel files: mapping, unit conversion, every bad cell in one pass."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from PRIMELib.clinical import ClinicalDataError, ColumnMapping, read_cohort
from PRIMELib.errors import PRIMEInputError

openpyxl = pytest.importorskip("openpyxl")
pytest.importorskip("yaml")

MAPPING_YAML = """\
columns:
  Patient ID: case_id
  Age (y): age
  Albumin (g/dL): {name: alb, unit: g/dL}
  TBIL (mg/dL): {name: tbil, unit: mg/dL}
  Sex: {name: sex, values: {F: female, M: male}}
  HBsAg: {name: hbv, values: {pos: 1, neg: 0}}
  AFP (IU/mL): {name: afp, scale: 1.21}
ignore: [Name]
"""

GOOD_CSV = """\
Patient ID,Name,Age (y),Sex,ECOG,HBsAg,Albumin (g/dL),TBIL (mg/dL),lym,AFP (IU/mL)
P01,Zhang,58,M,0,pos,3.5,1.2,1.3,100
P02,Li,63,F,1,neg,4.1,0.8,,
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "mapping.yaml", MAPPING_YAML)


def test_a_good_csv_is_mapped_converted_and_derived(tmp_path: Path, mapping_file: Path) -> None:
    result = read_cohort(_write(tmp_path / "cohort.csv", GOOD_CSV), mapping_file)
    table = result.table
    assert list(table.index) == [2, 3]  # spreadsheet row numbers, header = row 1
    first = table.loc[2]
    assert first["case_id"] == "P01" and first["sex"] == "male" and first["hbv"] == 1
    assert first["alb"] == pytest.approx(35.0)  # 3.5 g/dL × 10
    assert first["tbil"] == pytest.approx(20.52)  # 1.2 mg/dL × 17.1
    assert first["afp"] == pytest.approx(121.0)  # 100 IU/mL × 1.21
    # ALBI of 20.52 µmol/L and 35 g/L: 0.66 × 1.312177 − 2.975 = −2.108963 (grade 2)
    assert first["albi_score"] == pytest.approx(-2.108963, abs=1e-6)
    assert first["albi_grade"] == 2
    assert first["pni"] == pytest.approx(35.0 + 6.5)
    second = table.loc[3]
    assert second["sex"] == "female" and second["ecog"] == 1
    assert "lym" in table.columns and table["lym"].isna().sum() == 1
    assert "Name" not in table.columns and "Name" not in result.columns
    assert result.columns["Albumin (g/dL)"] == "alb"


def test_a_json_mapping_works_the_same(tmp_path: Path) -> None:
    import yaml

    mapping = _write(tmp_path / "mapping.json", json.dumps(yaml.safe_load(MAPPING_YAML)))
    result = read_cohort(_write(tmp_path / "cohort.csv", GOOD_CSV), mapping)
    assert result.table.loc[2, "alb"] == pytest.approx(35.0)


BAD_CSV = """\
Patient ID,Name,Age (y),Sex,ECOG,HBsAg,Albumin (g/dL),TBIL (mg/dL),lym,AFP (IU/mL),Albumn
P01,Zhang,58,M,0,pos,"3,5",1.2,1.3,100,
P02,Li,abc,F,5,neg,4.1,0.8,,,

P03,Wang,61,X,1,neg,35,0.9,1.1,<20,
P03,Zhao,70,M,2,maybe,3.9,1.0,1.2,1250,
"""


def test_every_bad_cell_of_a_csv_is_reported_in_one_pass(tmp_path: Path, mapping_file: Path) -> None:
    with pytest.raises(ClinicalDataError) as caught:
        read_cohort(_write(tmp_path / "cohort.csv", BAD_CSV), mapping_file)
    found = {(p.row, p.column): p for p in caught.value.problems}
    assert set(found) == {
        (None, "Albumn"),  # unknown column
        (2, "Albumin (g/dL)"),  # decimal comma
        (3, "Age (y)"),  # text in a number column
        (3, "ECOG"),  # ECOG 5
        (5, "Sex"),  # neither F nor M (row 4 is blank and keeps the numbering)
        (5, "Albumin (g/dL)"),  # 35 g/dL → 350 g/L: already in g/L?
        (5, "AFP (IU/mL)"),  # a detection limit, not a value
        (6, "Patient ID"),  # P03 twice
        (6, "HBsAg"),  # 'maybe'
    }
    assert "Did you mean 'alb'" in found[(None, "Albumn")].hint
    assert "decimal point: 3.5" in found[(2, "Albumin (g/dL)")].hint
    assert "'abc' is not a number" in found[(3, "Age (y)")].message
    assert "converted from g/dL" in found[(5, "Albumin (g/dL)")].message
    assert "already a valid g/L value" in found[(5, "Albumin (g/dL)")].hint
    assert "detection limit" in found[(5, "AFP (IU/mL)")].hint
    assert "row 5" in found[(6, "Patient ID")].message
    message = str(caught.value)
    assert message.startswith("9 problems in 'cohort.csv'")
    assert "row 3, column 'ECOG' (ecog)" in message


def test_semicolon_separated_csv(tmp_path: Path) -> None:
    path = _write(tmp_path / "cohort.csv", "case_id;alb;tbil\nA;38.5;16.8\nB;40;12\n")
    table = read_cohort(path).table
    assert list(table["alb"]) == [38.5, 40.0]


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Clinical"
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_every_bad_cell_of_an_xlsx_is_reported_in_one_pass(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "cohort.xlsx",
        [
            ["case_id", "age", "alb", "tbil", "ecog", "pvtt", "cirrhosis"],
            ["A1", 58, 38.5, 16.8, 0, 0, True],
            ["A2", dt.datetime(2024, 3, 1), 3.4, 16.8, 1, 2, False],  # Excel turned "3-1" into a date
            ["A3", 61, "38 g/L", 900, 2, 7, "yes"],
            ["A4", 47, 41.0, 1.1, 0, 1, 0],
        ],
    )
    with pytest.raises(ClinicalDataError) as caught:
        read_cohort(path)
    found = {(p.row, p.column): p for p in caught.value.problems}
    assert set(found) == {(3, "age"), (3, "alb"), (4, "alb"), (4, "tbil"), (4, "pvtt"), (5, "tbil")}
    assert "date" in found[(3, "age")].message
    assert "g/dL" in found[(3, "alb")].hint
    assert "Remove the unit" in found[(4, "alb")].hint
    assert "mg/dL" in found[(5, "tbil")].hint


def test_a_good_xlsx_with_a_named_sheet(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "cohort.xlsx",
        [["ID", "ALB", "TBIL", "ECOG"], ["A1", 38.5, 16.8, 2], ["A2", 40, 10, 0], [None, None, None, None]],
    )
    result = read_cohort(path, {"columns": {"ID": "case_id"}, "sheet": "Clinical"})
    assert list(result.table["case_id"]) == ["A1", "A2"]
    assert list(result.table["albi_grade"]) == [2, 1]
    assert result.warnings == ("row 2: ECOG 2 is outside the PRIME cohort (ECOG 0–1).",)


def test_every_mapping_problem_is_reported_at_once() -> None:
    with pytest.raises(ClinicalDataError) as caught:
        ColumnMapping.from_dict(
            {
                "columns": {
                    "Albumin": {"name": "albumin"},
                    "TBIL": {"name": "tbil", "unit": "mmol/L"},
                    "AFP": {"name": "afp", "unit": "IU/mL", "scale": 1.21},
                    "Sex": {"name": "sex", "unit": "kg"},
                    "ALB2": "alb",
                    "ALB3": "alb",
                },
                "colums": {},
            }
        )
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 6
    assert any("Did you mean 'alb'" in m for m in messages)
    assert any("Unknown unit 'mmol/L'" in m and "mg/dL" in m for m in messages)
    assert any("not both" in m for m in messages)
    assert any("no unit to convert" in m for m in messages)
    assert any("Several columns are mapped to 'alb'" in m for m in messages)
    assert any("Unknown key 'colums'" in m for m in messages)


def test_unquoted_yes_no_keys_of_yaml_still_match(tmp_path: Path) -> None:
    # YAML 1.1 reads the keys yes/no as True/False; the cells say "Yes"/"No".
    mapping = _write(tmp_path / "m.yaml", "columns:\n  Ascites: {name: ascites, values: {yes: 1, no: 0}}\n")
    table = read_cohort(_write(tmp_path / "c.csv", "Ascites\nYes\nNo\n"), mapping).table
    assert list(table["ascites"]) == [1, 0]


def test_units_are_matched_loosely() -> None:
    mapping = ColumnMapping.from_dict(
        {"columns": {"A": {"name": "plt", "unit": "10^9/L"}, "B": {"name": "tbil", "unit": "umol/l"}}}
    )
    assert [rule.factor for rule in mapping.rules] == [1.0, 1.0]


def test_a_mapped_column_missing_from_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "cohort.csv", "case_id,albumin (g/dl)\nA,3.8\n")
    with pytest.raises(ClinicalDataError) as caught:
        read_cohort(path, {"columns": {"Albumin (g/dL)": {"name": "alb", "unit": "g/dL"}}})
    problem = caught.value.problems[-1]
    assert "not in the file" in problem.message and "albumin (g/dl)" in problem.hint


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("missing.csv", None, "does not exist"),
        ("cohort.xls", "x", "unsupported"),
        ("empty.csv", "case_id,alb\n", "no data rows"),
        ("broken.yaml", None, None),
    ],
)
def test_unreadable_inputs(tmp_path: Path, name: str, text: str | None, match: str | None) -> None:
    if name == "broken.yaml":
        mapping = _write(tmp_path / name, "columns: [unclosed")
        with pytest.raises(PRIMEInputError, match="not valid YAML"):
            read_cohort(_write(tmp_path / "c.csv", "alb\n38\n"), mapping)
        return
    path = tmp_path / name
    if text is not None:
        _write(path, text)
    with pytest.raises(PRIMEInputError, match=match):
        read_cohort(path)
