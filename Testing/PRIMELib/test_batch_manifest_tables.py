"""Batch manifests and linked clinical tables are read by the cohort importer's table reader.

So a manifest may be comma-, semicolon- or tab-separated, carry a UTF-8 byte-order mark or be an Excel
sheet, and its clinical cells, read as text, reach scoring as the same values a user would type.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from PRIMELib.batch import read_manifest
from PRIMELib.clinical import ClinicalDataError
from PRIMELib.errors import PRIMEInputError
from PRIMELib.pipeline import clinical_features

PATHS = {"arterial": "a/art.nrrd", "venous": "a/ven.nrrd", "mask": "a/mask.nrrd"}
# One patient's clinical values as a user types them into the API (canonical units).
TYPED = {
    "age": 58,
    "sex": "male",
    "ecog": 1,
    "hbv": "yes",
    "alb": 38.5,
    "tbil": 14.2,
    "afp": 1250.0,
    "plt": 180,
    "neu": 4.1,
    "lym": 1.3,
    "bclc": "B",
    "interventional": "TACE",
}
# The same values as a spreadsheet shows them (the text written into a CSV cell).
CELLS = {"age": "58", "ecog": "1", "plt": "180", "afp": "1250"}


def _write_csv(
    path: Path, header: list[str], rows: list[list[str]], sep: str = ",", bom: bool = False
) -> Path:
    text = "\n".join(sep.join(cells) for cells in [header, *rows]) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def _manifest_cells() -> tuple[list[str], list[list[str]]]:
    header = ["case_id", *PATHS, *TYPED]
    row = ["P-1", *PATHS.values(), *(CELLS.get(k, str(v)) for k, v in TYPED.items())]
    return header, [row]


@pytest.mark.parametrize(
    ("name", "sep", "bom"),
    [
        ("comma.csv", ",", False),
        ("semicolon.csv", ";", True),
        ("tabs.tsv", "\t", False),
        ("pipes.txt", "|", True),
    ],
)
def test_delimited_manifests_give_the_values_a_user_types(tmp_path: Path, name: str, sep: str, bom: bool):
    header, rows = _manifest_cells()
    (case,) = read_manifest(_write_csv(tmp_path / name, header, rows, sep=sep, bom=bom))
    assert case.case_id == "P-1"  # not "\ufeffcase_id" lost to the byte-order mark
    assert case.arterial == tmp_path / "a" / "art.nrrd" and case.arterial_mask == tmp_path / "a" / "mask.nrrd"
    assert case.clinical["age"] == 58.0 and case.clinical["interventional"] == "TACE"
    # What scoring uses is exactly what the typed record gives.
    assert clinical_features(case.clinical) == clinical_features(TYPED)


def test_excel_manifest_reads_like_the_csv(tmp_path: Path):
    row = {"case_id": "P-1", **PATHS, **TYPED, "label": 2, "centre": 3}
    pd.DataFrame([row]).to_excel(tmp_path / "manifest.xlsx", index=False)
    (case,) = read_manifest(tmp_path / "manifest.xlsx")
    assert (case.case_id, case.label, case.centre) == ("P-1", 2, "3")
    assert clinical_features(case.clinical) == clinical_features(TYPED)


def test_linked_semicolon_clinical_table_with_bom_and_leading_zero_ids(tmp_path: Path):
    clinical_header = ["case_id", *TYPED]
    clinical_rows = [
        ["007", *(CELLS.get(k, str(v)) for k, v in TYPED.items())],
        ["008", "70", *[""] * (len(TYPED) - 1)],
    ]
    _write_csv(tmp_path / "clinical.csv", clinical_header, clinical_rows, sep=";", bom=True)
    header = ["case_id", *PATHS, "clinical", "alb"]
    rows = [["007", *PATHS.values(), "clinical.csv", "40"], ["008", *PATHS.values(), "clinical.csv", ""]]
    first, second = read_manifest(_write_csv(tmp_path / "manifest.csv", header, rows))
    assert (first.case_id, second.case_id) == ("007", "008")  # not 7 and 8
    assert set(first.clinical) == set(TYPED) and first.clinical["alb"] == 40.0  # the manifest wins
    assert clinical_features(first.clinical) == clinical_features({**TYPED, "alb": 40})
    assert second.clinical == {"age": 70.0}  # empty cells are absent, not ""


def test_a_bad_clinical_cell_is_that_cases_failure_not_the_batchs(tmp_path: Path):
    header = ["case_id", *PATHS, "age", "interventional"]
    rows = [["good", *PATHS.values(), "61", "HAIC"], ["bad", *PATHS.values(), "58,5", "TACE"]]
    good, bad = read_manifest(_write_csv(tmp_path / "manifest.csv", header, rows, sep=";"))  # decimal comma
    assert good.clinical == {"age": 61.0, "interventional": "HAIC"}
    assert bad.clinical["age"] == "58,5"  # kept as written, for validation to report
    with pytest.raises(ClinicalDataError) as caught:
        clinical_features(bad.clinical)
    assert [p.field for p in caught.value.problems] == ["age"]


def test_blank_lines_labels_and_missing_case_ids(tmp_path: Path):
    header = ["case_id", *PATHS, "label"]
    rows = [["x", *PATHS.values(), "2.0"], [""], ["y", *PATHS.values(), ""]]
    x, y = read_manifest(_write_csv(tmp_path / "blank.csv", header, rows))
    assert (x.label, y.label) == (2, None)
    rows[0][-1] = "two"
    with pytest.raises(PRIMEInputError, match="label of case 'x'") as caught:
        read_manifest(_write_csv(tmp_path / "label.csv", header, rows))
    assert caught.value.field == "label" and caught.value.value == "two"
    nameless = [["x", *PATHS.values(), ""], ["", *PATHS.values(), ""]]
    with pytest.raises(PRIMEInputError, match=r"no case_id in row\(s\) 3") as caught:
        read_manifest(_write_csv(tmp_path / "nameless.csv", header, nameless))
    assert caught.value.field == "case_id"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("latin1.csv", "case_id,arterial,venous,mask\nJosé,a,v,m\n".encode("latin-1"), "is not UTF-8 text"),
        ("manifest.xls", b"not a workbook", "has an unsupported type"),
        ("absent.csv", None, "does not exist"),
    ],
)
def test_unreadable_manifests_name_the_manifest(tmp_path: Path, name: str, content: bytes | None, match: str):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PRIMEInputError, match=f"The manifest '.*{name}' {match}") as caught:
        read_manifest(path)
    assert caught.value.field == "manifest"


def test_a_tilde_path_of_no_such_user_is_kept_as_written(tmp_path: Path):
    """'~0' (hypothesis found it): expanduser raised RuntimeError for a user that does not exist."""
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("case_id,arterial,venous,mask\nP1,a.nrrd,v.nrrd,~no_such_user_prime/m.nrrd\n")
    (case,) = read_manifest(manifest)
    assert case.arterial_mask == tmp_path / "~no_such_user_prime" / "m.nrrd"
