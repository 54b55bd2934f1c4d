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

A structural problem (missing file, missing required column, duplicate case ids) stops the batch
before any work; a problem with one case's inputs is that case's failure, reported with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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
    """A CSV/TSV or Excel table as strings-and-numbers DataFrame, with a clear error if unreadable."""
    if not path.is_file():
        raise PRIMEInputError(f"The {what} '{path}' does not exist.", field=what, value=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path)
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(path, sep=None if suffix != ".csv" else ",", engine="python")
    except (ValueError, OSError) as error:
        raise PRIMEInputError(f"The {what} '{path}' could not be read: {error}", field=what) from error
    raise PRIMEInputError(
        f"The {what} '{path.name}' is not a table PRIME reads.",
        field=what,
        value=str(path),
        expected="a .csv, .tsv or .xlsx file",
    )


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


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
    frame["case_id"] = frame["case_id"].astype(str).str.strip()
    duplicated = sorted(set(frame.loc[frame["case_id"].duplicated(), "case_id"]))
    if duplicated:
        raise PRIMEInputError(
            f"The manifest '{path.name}' repeats case ids: {', '.join(duplicated)}.",
            field="case_id",
            expected="one row per case",
        )
    tables: dict[Path, pd.DataFrame] = {}
    cases = []
    for row in frame.to_dict("records"):
        row = {k: _cell(v) for k, v in row.items()}
        paths = {k: _resolve(path.parent, row.get(k)) for k in PATH_COLUMNS}
        clinical = {k: v for k, v in row.items() if k not in NON_CLINICAL and v is not None}
        if row.get("clinical"):
            clinical = {
                **_clinical_row(_resolve(path.parent, row["clinical"]), row["case_id"], tables),
                **clinical,
            }
        label = row.get("label")
        cases.append(
            CaseInputs(
                case_id=row["case_id"],
                arterial=paths["arterial"],
                venous=paths["venous"],
                arterial_mask=paths["arterial_mask"] or paths["mask"],
                venous_mask=paths["venous_mask"],
                label=None if label is None else int(label),
                segment=None if row.get("segment") is None else str(row["segment"]),
                centre=None if row.get("centre") is None else str(row["centre"]),
                clinical=clinical,
            )
        )
    return cases


def _resolve(folder: Path, value: object) -> Path | None:
    if value is None or str(value).strip() == "":
        return None
    candidate = Path(str(value).strip()).expanduser()
    return candidate if candidate.is_absolute() else folder / candidate


def _clinical_row(table_path: Path, case_id: str, cache: dict[Path, pd.DataFrame]) -> dict[str, object]:
    """The row of ``case_id`` in a linked clinical table (empty if the case is not in it)."""
    if table_path not in cache:
        table = read_table(table_path, "clinical table")
        table.columns = [str(c).strip() for c in table.columns]
        if "case_id" not in table.columns:
            raise PRIMEInputError(
                f"The clinical table '{table_path.name}' has no case_id column.", field="clinical table"
            )
        cache[table_path] = table.set_index(table["case_id"].astype(str).str.strip())
    table = cache[table_path]
    if case_id not in table.index:
        return {}
    row = table.loc[case_id].to_dict()
    return {k: _cell(v) for k, v in row.items() if k not in NON_CLINICAL and _cell(v) is not None}
