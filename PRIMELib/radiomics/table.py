"""Feature tables: one row per case, ``case_id`` then ``arterial_*`` and ``venous_*`` columns.

Diagnostics (library versions, settings hash, voxel counts, spacing, warnings) go to a table of their
own beside it, so a features table holds features only. CSV or Parquet by the file's suffix; both are
written atomically (a reader never sees half a file) and read back to the same float values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import write_atomically

TABLE_SUFFIXES = (".csv", ".parquet")


def _rows(cases) -> list[tuple[str, object]]:
    items = cases.items() if isinstance(cases, Mapping) else cases
    rows = [(str(case_id), features) for case_id, features in items]
    seen: set[str] = set()
    for case_id, _ in rows:
        if case_id in seen:
            raise PRIMEInputError(
                f"The case '{case_id}' appears twice.",
                field="case_id",
                value=case_id,
                expected="unique case ids",
            )
        seen.add(case_id)
    return rows


def features_table(cases: Mapping[str, object] | Iterable[tuple[str, object]]) -> pd.DataFrame:
    """One row per case from ``{case_id: CaseFeatures}`` (or pairs): ``case_id`` then feature columns."""
    rows = _rows(cases)
    return pd.DataFrame([{"case_id": case_id, **features.values} for case_id, features in rows])


def diagnostics_table(cases: Mapping[str, object] | Iterable[tuple[str, object]]) -> pd.DataFrame:
    """One row per case of diagnostics; lists and dicts become JSON text, warnings one string."""
    records = []
    for case_id, features in _rows(cases):
        record: dict[str, object] = {"case_id": case_id}
        for key, value in features.diagnostics.items():
            if key == "warnings":
                value = " | ".join(value)
            elif isinstance(value, list | tuple | dict):
                value = json.dumps(value)
            record[key] = value
        records.append(record)
    return pd.DataFrame(records)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise PRIMEInputError(
            f"Cannot write a table to '{path.name}': unknown file type.",
            field="output",
            value=str(path),
            expected="a .csv or .parquet file name",
        )
    return suffix


def _require_parquet(path: Path) -> None:
    """Parquet needs pyarrow, an optional extra (it is 170 MB, and CSV serves most users)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise PRIMEInputError(
            f"Cannot read or write '{path.name}': Parquet tables need the optional package pyarrow.",
            field="table",
            value=str(path),
            expected="pyarrow installed, or a .csv file name",
            hint="Install it with: pip install 'PRIMELib[parquet]' (or name the table .csv).",
        ) from None


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` as CSV or Parquet (by suffix), atomically."""
    path = Path(path)
    if _suffix(path) == ".csv":
        # repr-exact floats: a value read back is the value written.
        return write_atomically(path, lambda tmp: table.to_csv(tmp, index=False, float_format=None))
    _require_parquet(path)
    return write_atomically(path, lambda tmp: table.to_parquet(tmp, index=False))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_table`."""
    path = Path(path)
    if _suffix(path) == ".csv":
        # Round-trip float parsing: pandas ≥ 3 does it by default (and deprecates asking for it).
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        return pd.read_csv(path, **exact)
    _require_parquet(path)
    return pd.read_parquet(path)


def diagnostics_path(path: str | Path) -> Path:
    """Where the diagnostics of the features table ``path`` go: ``<stem>_diagnostics<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_diagnostics{path.suffix}")


def write_case_tables(cases: Mapping[str, object] | Iterable[tuple[str, object]], path: str | Path) -> dict:
    """Write the features table to ``path`` and the diagnostics table beside it; return both paths."""
    rows = _rows(cases)
    path = Path(path)
    _suffix(path)
    return {
        "features": write_table(features_table(rows), path),
        "diagnostics": write_table(diagnostics_table(rows), diagnostics_path(path)),
    }
