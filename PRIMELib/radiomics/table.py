"""Feature tables: one row per case, ``case_id`` then ``arterial_*`` and ``venous_*`` columns.

Diagnostics (library versions, settings hash, voxel counts, spacing, warnings) go to a table of their
own beside it, so a features table holds features only. CSV or Parquet by the file's suffix; both are
written atomically (a reader never sees half a file) and read back to the same float values.

:func:`normalise_feature_table` is the one gate every feature table passes on its way into training,
evaluation and scoring: PRIME's own tables, and the PyRadiomics batch CLI's output (``Image``, ``Mask``,
``diagnostics_…`` and unprefixed ``original_firstorder_…`` columns, one phase per file, the case known
only from the image path).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


# ---------------------------------------------------------------------------------------------
# Reading any feature table

PHASES = ("arterial", "venous")
#: Columns that hold the case id, in order of preference.
ID_COLUMNS = ("case_id", "ID", "id", "PatientID", "patient_id", "Case", "case")
#: A PyRadiomics feature name: image type, feature class, feature (``wavelet-LLH_glcm_Contrast``).
PYRADIOMICS_NAME = re.compile(
    r"^(original|wavelet-[HL]{1,3}|log-sigma-[\d-]+mm-[23]D|square|squareroot|logarithm|exponential|gradient"
    r"|lbp-[23]D(-[\w-]+)?)_(firstorder|shape|shape2D|glcm|glrlm|glszm|gldm|ngtdm)_\w+$"
)
_IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".seg.nrrd", ".mha", ".mhd", ".dcm", ".gz")
_BOOKKEEPING = ("Image", "Mask")


@dataclass
class NormalisedTable:
    """A feature table indexed by case id with phase-prefixed numeric features, and what was decided
    on the way (``notes``: where the case ids came from, which phase unprefixed features were given)."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _image_stem(path: str) -> str:
    name = Path(str(path).replace("\\", "/")).name
    for suffix in sorted(_IMAGE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _ids_from_images(images: pd.Series, source: str, id_from: str | None) -> tuple[pd.Series, str]:
    """Case ids from the ``Image`` paths: a pattern's ``id`` (or first) group, else the file name
    without its image suffix, else (when file names repeat, as in ``<case>/arterial.nrrd``) the folder."""
    paths = images.astype(str)
    if id_from is not None:
        try:
            pattern = re.compile(id_from)
        except re.error as error:
            raise PRIMEInputError(
                f"--id-from {id_from!r} is not a valid regular expression ({error}).", field="id_from"
            ) from error
        matches = [pattern.search(p) for p in paths]
        unmatched = [p for p, m in zip(paths, matches, strict=True) if m is None]
        if unmatched:
            raise PRIMEInputError(
                f"--id-from {id_from!r} finds no case id in {len(unmatched)} Image path(s) of '{source}', "
                f"e.g. {unmatched[0]!r}.",
                field="id_from",
                hint="Give a pattern with a group around the id, e.g. '(HCC\\d+)'.",
            )
        group = "id" if "id" in pattern.groupindex else (1 if pattern.groups else 0)
        return pd.Series([m.group(group) for m in matches], index=images.index), f"the pattern {id_from!r}"
    stems = paths.map(_image_stem)
    if stems.is_unique:
        return stems, "the Image file names"
    folders = paths.map(lambda p: Path(p.replace("\\", "/")).parent.name)
    if folders.is_unique and (folders != "").all():
        return folders, "the folders of the Image files (their file names repeat)"
    raise PRIMEInputError(
        f"The feature table '{source}' has no case id column, and its Image paths do not tell the cases "
        "apart.",
        field="features",
        value=paths.iloc[0],
        expected="a case_id column, or Image paths whose file or folder names are the case ids",
        hint="Give --id-from with a pattern that finds the id in the path, e.g. '(HCC\\d+)'.",
    )


def normalise_feature_table(
    raw: pd.DataFrame,
    *,
    source: str = "the feature table",
    phase: str | None = None,
    id_column: str | None = None,
    id_from: str | None = None,
) -> NormalisedTable:
    """Any feature table → index ``case_id`` (text), numeric feature columns with phase prefixes.

    The case id: ``id_column``; else the first of :data:`ID_COLUMNS`; else derived from the ``Image``
    path (``id_from``, a regular expression, finds it there). PyRadiomics' bookkeeping (``Image``,
    ``Mask``, ``diagnostics_…``) and columns with no number at all are dropped. ``phase``
    (``arterial``/``venous``): every feature without a phase prefix gets it. Without ``phase``,
    unprefixed PyRadiomics feature names are taken as arterial, and a note says so; other columns (a
    combined table's clinical values and outcomes) keep their names.
    """
    if phase is not None and phase not in PHASES:
        raise PRIMEInputError(
            f"Unknown phase {phase!r}.", field="phase", value=phase, expected=" or ".join(PHASES)
        )
    notes: list[str] = []
    table = raw.copy()
    table.columns = [str(c) for c in table.columns]
    if id_column is not None and id_column not in table.columns:
        raise PRIMEInputError(
            f"The feature table '{source}' has no column {id_column!r}.",
            field="features",
            expected="one of its columns: " + ", ".join(map(repr, table.columns[:10])),
        )
    id_column = id_column or (None if id_from else next((c for c in ID_COLUMNS if c in table.columns), None))
    if id_column is not None:
        ids = table[id_column].astype(str)
        table = table.drop(columns=[id_column])
    elif "Image" in table.columns:
        ids, origin = _ids_from_images(table["Image"], source, id_from)
        notes.append(f"{source}: the case ids come from {origin} (e.g. {ids.iloc[0]!r}).")
    else:
        raise PRIMEInputError(
            f"The feature table '{source}' has no case identifier column.",
            field="features",
            expected="a column named " + " or ".join(ID_COLUMNS[:3]) + ", or PyRadiomics' Image column",
            hint="Add the case identifiers the clinical table uses.",
        )
    table.index = pd.Index(ids.to_numpy(), name="case_id")
    keep = [c for c in table.columns if not c.startswith("diagnostics_") and c not in _BOOKKEEPING]
    table = table[keep].apply(pd.to_numeric, errors="coerce")
    table = table.loc[:, table.notna().any()]
    prefixes = tuple(f"{p}_" for p in PHASES)
    if phase is not None:
        table.columns = [c if c.startswith(prefixes) else f"{phase}_{c}" for c in table.columns]
    else:
        bare = [c for c in table.columns if PYRADIOMICS_NAME.match(c)]
        if bare:
            table.columns = [f"arterial_{c}" if c in bare else c for c in table.columns]
            notes.append(
                f"{source}: {len(bare)} PyRadiomics feature(s) without a phase prefix are taken as the "
                "arterial phase; say --phase venous if they are not."
            )
    duplicated = table.index[table.index.duplicated()].unique()
    if len(duplicated):
        raise PRIMEInputError(
            f"Case(s) {', '.join(map(str, duplicated[:5]))} appear more than once in '{source}'.",
            field="features",
        )
    return NormalisedTable(table, notes)
