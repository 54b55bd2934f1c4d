"""Batch manifests: one row per case, read from CSV or Excel.

Columns (names are case-insensitive; paths are relative to the manifest's folder unless absolute):

=================  ===============================================================================
``case_id``        required, unique
``arterial``       arterial-phase image: NRRD/NIfTI/MetaImage file or a DICOM series folder
``venous``         portal-venous-phase image
``mask``           tumour mask for both phases (or ``arterial_mask`` and ``venous_mask``)
``label``          optional: the label of a multi-label mask
``segment``        optional: the segment name of a Slicer ``.seg.nrrd`` mask
``centre``         optional: the case's centre
``clinical``       optional: a clinical table (CSV/Excel) holding this case's row, by ``case_id``
other columns      clinical values in canonical units (schema names), used when scoring
=================  ===============================================================================

Manifests and linked clinical tables are read like cohort files (comma, semicolon, tab or ``|``
separated, UTF-8 with or without a byte-order mark, or the first sheet of an Excel workbook); clinical
cells are typed with the schema as a cohort import types them, so "58" is the age 58.

A structural problem (missing file, missing required column, duplicate case ids) stops the batch
before any work; a problem with one case's inputs is that case's failure, reported with the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from PRIMELib.clinical.cohort import parse_value
from PRIMELib.clinical.cohort import read_table as read_cells
from PRIMELib.clinical.schema import CLINICAL_SCHEMA
from PRIMELib.clinical.validation import is_missing
from PRIMELib.errors import PRIMEInputError

REQUIRED = ("case_id", "arterial", "venous")
PATH_COLUMNS = ("arterial", "venous", "mask", "arterial_mask", "venous_mask")
NON_CLINICAL = {*REQUIRED, *PATH_COLUMNS, "label", "segment", "centre", "clinical"}


@dataclass(frozen=True)
class CaseInputs:
    """What one case of a batch needs."""

    case_id: str
    arterial: Path
    venous: Path
    arterial_mask: Path
    venous_mask: Path | None = None
    label: int | None = None
    segment: str | None = None
    centre: str | None = None
    clinical: dict[str, object] = field(default_factory=dict)


def read_table(path: Path, what: str) -> pd.DataFrame:
    """The cells of a CSV/TSV or Excel table, blank rows left out, with a clear error if unreadable.

    One reader for manifests, linked clinical tables and cohort imports
    (:func:`PRIMELib.clinical.cohort.read_table`): delimiter sniffing, UTF-8 byte-order mark, Excel.
    CSV cells come as text; :func:`_clinical` types the clinical ones with the schema.
    """
    try:
        frame = read_cells(path, what=what, field=what)
    except PRIMEInputError:
        raise
    except Exception as error:  # whatever a parser (openpyxl, zipfile, csv) raises on a bad file
        raise PRIMEInputError(
            f"The {what} '{path.name}' cannot be read ({type(error).__name__}: {error}).",
            field=what,
            value=str(path),
            expected="a CSV/TSV text file or an Excel workbook (.xlsx)",
            hint="Open it in a spreadsheet program and save it again as CSV UTF-8 or .xlsx.",
        ) from error
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the first column as the row labels
        raise PRIMEInputError(
            f"The {what} '{path.name}' has more cells in its rows than names in its header.",
            field=what,
            value=str(path),
            expected="one header name for every column",
            hint="Name every column in the first row, or delete the cells beyond the last named column "
            "(a delimiter at the end of each row adds an empty one).",
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        return frame
    blank = frame.apply(lambda row: all(is_missing(cell) for cell in row), axis=1)
    return frame.loc[~blank.to_numpy(dtype=bool)]


def _cell(value: object) -> object:
    if is_missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _text(value: object) -> str | None:
    """A cell as text ("7" for an Excel 7.0), ``None`` when empty."""
    value = _cell(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _clinical(row: dict[str, object]) -> dict[str, object]:
    """The clinical cells of a row, typed as a cohort import types them ("58" → 58.0).

    A cell that does not parse, or a column that is no schema name, is kept as written: scoring then
    reports it as that case's failure, as it does any other bad clinical value.
    """
    values = {}
    for name, cell in row.items():
        if name in NON_CLINICAL or _cell(cell) is None:
            continue
        if name not in CLINICAL_SCHEMA:  # checked first: the error's spelling suggestions are slow
            values[name] = _cell(cell)
            continue
        try:
            values[name] = parse_value(name, _cell(cell))
        except PRIMEInputError:
            values[name] = _cell(cell)
    return values


def _label(value: object, case_id: str) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise PRIMEInputError(
            f"The label of case '{case_id}' in the manifest is {text!r}.",
            field="label",
            value=text,
            expected="a whole number: the label of the tumour in a multi-label mask",
            hint="Leave the cell empty for a mask with one label.",
        )
    return int(number)


def read_manifest(path: str | Path) -> list[CaseInputs]:
    """Read a manifest into one :class:`CaseInputs` per row (see the module docstring)."""
    path = Path(path)
    frame = read_table(path, "manifest")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if "mask" not in frame.columns and "arterial_mask" not in frame.columns:
        missing.append("mask (or arterial_mask)")
    if missing:
        raise PRIMEInputError(
            f"The manifest '{path.name}' lacks the column(s) {', '.join(missing)}.",
            field="manifest",
            value=list(frame.columns),
            expected="columns case_id, arterial, venous and mask (see `prime batch --help`)",
        )
    if frame.empty:
        raise PRIMEInputError(
            f"The manifest '{path.name}' has a header but no case.",
            field="manifest",
            value=str(path),
            expected="one row per case under the header",
        )
    frame["case_id"] = [_text(c) or "" for c in frame["case_id"]]
    unnamed = [str(position + 2) for position, case_id in frame["case_id"].items() if not case_id]
    if unnamed:  # rows as a spreadsheet numbers them: the header is row 1
        raise PRIMEInputError(
            f"The manifest '{path.name}' has no case_id in row(s) {', '.join(unnamed)}.",
            field="case_id",
            expected="a case id in every row",
            hint="Fill in the case ids, or delete the rows.",
        )
    duplicated = sorted(set(frame.loc[frame["case_id"].duplicated(), "case_id"]))
    if duplicated:
        raise PRIMEInputError(
            f"The manifest '{path.name}' repeats case ids: {', '.join(duplicated)}.",
            field="case_id",
            expected="one row per case",
        )
    folded = frame["case_id"].str.casefold()
    alike = sorted(set(frame.loc[folded.duplicated(keep=False), "case_id"]))
    if alike:
        raise PRIMEInputError(
            f"The manifest '{path.name}' has case ids that differ only in letter case: {', '.join(alike)}.",
            field="case_id",
            expected="case ids that differ in more than letter case",
            hint="Windows and macOS would store their files as one: rename one of each pair.",
        )
    tables: dict[Path, pd.DataFrame] = {}
    cases = []
    for cells in frame.to_dict("records"):
        row = {k: _cell(v) for k, v in cells.items()}
        paths = {k: _resolve(path.parent, row.get(k)) for k in PATH_COLUMNS}
        clinical = _clinical(row)
        if row.get("clinical"):
            clinical = {
                **_clinical_row(_resolve(path.parent, row["clinical"]), row["case_id"], tables),
                **clinical,
            }
        cases.append(
            CaseInputs(
                case_id=row["case_id"],
                arterial=paths["arterial"],
                venous=paths["venous"],
                arterial_mask=paths["arterial_mask"] or paths["mask"],
                venous_mask=paths["venous_mask"],
                label=_label(row.get("label"), row["case_id"]),
                segment=_text(row.get("segment")),
                centre=_text(row.get("centre")),
                clinical=clinical,
            )
        )
    return cases


def _resolve(folder: Path, value: object) -> Path | None:
    if value is None or str(value).strip() == "":
        return None
    candidate = Path(str(value).strip())
    try:
        candidate = candidate.expanduser()
    except RuntimeError:  # '~name' of no such user (or no home): the path as written, reported missing later
        pass
    return candidate if candidate.is_absolute() else folder / candidate


def _clinical_row(table_path: Path, case_id: str, cache: dict[Path, pd.DataFrame]) -> dict[str, object]:
    """The row of ``case_id`` in a linked clinical table (empty if the case is not in it)."""
    if table_path not in cache:
        table = read_table(table_path, "clinical table")
        if "case_id" not in table.columns:
            raise PRIMEInputError(
                f"The clinical table '{table_path.name}' has no case_id column.", field="clinical table"
            )
        cache[table_path] = table.set_index(pd.Index([_text(c) or "" for c in table["case_id"]]))
    table = cache[table_path]
    if case_id not in table.index:
        return {}
    return _clinical(table.loc[case_id].to_dict())
