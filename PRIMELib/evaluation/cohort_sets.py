"""The cohort an evaluation runs on, and how it is divided into sets.

An :class:`EvaluationCohort` is a :class:`PRIMELib.cohort_data.TrainingData` (model inputs and outcomes)
plus ``table``: every column of the input tables by case id, text columns included — the set or centre
column, covariates to adjust hazard ratios for (e.g. ``subsequent_therapy``) and subgroup variables
(e.g. ``interventional``), none of which are model inputs.

Sets, in order of preference when none are asked for (:func:`resolve_sets`):

1. the bundle's own split: the manifest records salted digests of the training, test and external case
   ids (:func:`PRIMELib.cohort_data.hash_case_ids`); cases of the cohort whose digests match form those
   sets, any others the set ``other``;
2. a ``set`` column; 3. a ``centre`` column (one set per centre); 4. ``all`` cases as one set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from PRIMELib.cohort_data import (
    _ID_COLUMNS,
    TrainingData,
    hash_case_ids,
    read_cohort_tables,
    read_feature_table,
)
from PRIMELib.errors import PRIMEInputError

__all__ = [
    "BUNDLE_SETS",
    "EvaluationCohort",
    "as_evaluation_cohort",
    "load_evaluation_cohort",
    "resolve_sets",
]

#: The bundle's own sets, in the order reports show them.
BUNDLE_SETS = ("train", "test", "external")
#: Columns read as set labels when present (``set`` first), besides any the caller names.
SET_COLUMNS = ("set", "centre")
_NOT_COVARIATES = ("Image", "Mask")


@dataclass
class EvaluationCohort:
    """Model inputs and outcomes (``data``) and every column of the tables by case id (``table``)."""

    data: TrainingData
    table: pd.DataFrame

    @property
    def case_ids(self) -> pd.Index:
        return self.data.features.index


def load_evaluation_cohort(
    features: str | Path,
    clinical: str | Path | None = None,
    *,
    mapping: str | Path | None = None,
    set_column: str | None = None,
    phase: str | None = None,
    venous_features: str | Path | None = None,
) -> EvaluationCohort:
    """Read a cohort for evaluation.

    With ``clinical``: the clinical table (through the clinical schema, carrying the outcomes
    ``response``, ``os_days``, ``os_event``) joined with the radiomics table ``features``, as
    ``prime train`` reads them; a ``set``, ``centre`` or ``set_column`` column of the clinical table is
    kept as text. Without: ``features`` is one table holding everything (a ``case_id`` column, model
    inputs, outcomes, any other columns), values already in the schema's units.

    One-phase tables (PyRadiomics' batch output), as ``prime train`` takes them: ``phase`` names the
    phase of ``features``; with ``venous_features``, ``features`` is the arterial table.
    """
    keep = tuple(
        dict.fromkeys(
            [set_column, *SET_COLUMNS] if set_column not in (None, "all", "bundle") else SET_COLUMNS
        )
    )
    if len(keep) > len(SET_COLUMNS):
        _check_set_column(set_column, [p for p in (features, clinical) if p is not None])
    if phase not in (None, "arterial", "venous"):
        raise PRIMEInputError(
            f"Unknown phase {phase!r}.", field="phase", value=phase, expected="arterial or venous"
        )
    if clinical is None and (phase is not None or venous_features is not None):
        raise PRIMEInputError(
            "One-phase feature tables need the clinical table beside them.",
            field="features",
            hint="Give --clinical with the outcomes, as for `prime train`.",
        )
    if clinical is not None:
        # One-phase tables (PyRadiomics' batch output) by phase, as `prime train` takes them.
        if venous_features is not None:
            tables = {"arterial_features": features, "venous_features": venous_features}
        elif phase is not None:
            tables = {f"{phase}_features": features}
        else:
            tables = {"features": [features]}
        frame = read_cohort_tables(clinical, mapping=mapping, keep_columns=keep, **tables)
    else:
        numeric = read_feature_table(features)  # checks the file, its id column and duplicates
        raw = pd.read_csv(features, dtype=str, keep_default_na=False)
        raw.index = numeric.index  # read_feature_table keeps every row, in file order
        id_column = next(c for c in _ID_COLUMNS if c in raw.columns)
        # Text columns (a set label, a treatment regimen) are no model input but may be covariates.
        text = [
            c
            for c in raw.columns
            if c not in numeric.columns
            and c not in (id_column, *_NOT_COVARIATES)
            and not str(c).startswith("diagnostics_")
        ]
        frame = numeric.join(raw[text].replace("", pd.NA))
    return as_evaluation_cohort(frame)


def _no_set_column(column: str, columns) -> PRIMEInputError:
    """The error for a set column the cohort lacks, listing its non-radiomics columns."""
    shown = [str(c) for c in columns if not str(c).startswith(("arterial_", "venous_", "diagnostics_"))]
    return PRIMEInputError(
        f"The cohort has no set column {column!r}.",
        field="set column",
        value=column,
        expected="one of its columns: " + ", ".join(shown[:30]),
        hint="Name the column that says each case's set (e.g. train/test/external or the centre).",
    )


def _check_set_column(column: str, tables: Sequence[str | Path]) -> None:
    """Refuse a set column no table has, before reading (a misspelt name would otherwise surface as the
    clinical schema refusing the real column as unknown)."""
    from PRIMELib.clinical.cohort import read_table

    headers: list[str] = []
    for table in tables:
        try:
            # The clinical reader's delimiter sniffing and Excel support; feature tables are plain CSV.
            headers += [str(c) for c in read_table(table, what="table", field="set column").columns]
        except PRIMEInputError:
            return  # the table's own reader reports an unreadable or Parquet file
    if column not in headers:
        raise _no_set_column(column, headers)


def as_evaluation_cohort(
    data: TrainingData | pd.DataFrame | EvaluationCohort, covariates: pd.DataFrame | None = None
) -> EvaluationCohort:
    """An :class:`EvaluationCohort` from a cohort table (index = case id, outcomes as columns), from
    :class:`TrainingData` (plus optional ``covariates`` by case id), or as is."""
    if isinstance(data, EvaluationCohort):
        cohort = data
    elif isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.index = frame.index.astype(str)
        centre = "centre" if "centre" in frame.columns else None
        cohort = EvaluationCohort(TrainingData.from_frame(frame, centre_column=centre), frame)
    elif isinstance(data, TrainingData):
        table = data.features.copy()
        table["response"], table["os_days"], table["os_event"] = data.response, data.os_days, data.os_event
        if data.centre is not None:
            table["centre"] = data.centre
        cohort = EvaluationCohort(data, table)
    else:
        raise PRIMEInputError(
            f"A cohort to evaluate cannot be made from a {type(data).__name__}.",
            field="data",
            expected="TrainingData, a pandas DataFrame indexed by case id, or the path of a table",
        )
    if covariates is not None:
        covariates = covariates.copy()
        covariates.index = covariates.index.astype(str)
        extra = covariates.drop(columns=[c for c in covariates.columns if c in cohort.table.columns])
        cohort = EvaluationCohort(cohort.data, cohort.table.join(extra, how="left"))
    if len(cohort.case_ids) == 0:
        raise PRIMEInputError("The cohort to evaluate has no case.", field="data")
    duplicated = cohort.case_ids[cohort.case_ids.duplicated()].unique()
    if len(duplicated):
        raise PRIMEInputError(
            f"Case(s) {', '.join(map(str, duplicated[:5]))} appear more than once in the cohort.",
            field="case_id",
            hint="Give each case one row.",
        )
    return cohort


def _bundle_split(manifest: Mapping, case_ids: pd.Index) -> dict[str, pd.Index]:
    """The cohort's cases found in the bundle's recorded split (empty when none are, or none recorded)."""
    cohort = manifest.get("training", {}).get("cohort", {})
    salt = cohort.get("case_id_salt")
    if not isinstance(salt, str):
        return {}
    digest = pd.Series([hash_case_ids([c], salt)[0] for c in case_ids], index=case_ids)
    found = {}
    for name in BUNDLE_SETS:
        hashes = set((cohort.get(name) or {}).get("case_id_hashes") or ())
        members = digest.index[digest.isin(hashes)]
        if len(members):
            found[name] = members
    return found


def resolve_sets(
    manifest: Mapping, cohort: EvaluationCohort, sets: str | Mapping[str, Sequence[str]] | None = None
) -> tuple[dict[str, pd.Index], str]:
    """The sets to evaluate (name → case ids, in report order) and a sentence saying how they were made.

    ``sets``: None (automatic, see the module docstring), ``"bundle"`` (the bundle's split, required),
    ``"all"``, the name of a column of the cohort, or a mapping of set name → case ids.
    """
    ids = cohort.case_ids
    if isinstance(sets, Mapping):
        chosen = {str(name): pd.Index([str(c) for c in members]) for name, members in sets.items()}
        unknown = sorted({c for members in chosen.values() for c in members} - set(ids))
        if unknown:
            raise PRIMEInputError(
                f"The sets name {len(unknown)} case(s) the cohort lacks: {', '.join(unknown[:10])}.",
                field="sets",
                hint="Give case ids of the evaluated table.",
            )
        return _ordered(chosen), "sets given by the caller"
    if sets is not None and not isinstance(sets, str):
        raise PRIMEInputError(
            f"Sets cannot be given as a {type(sets).__name__}.",
            field="sets",
            expected="'bundle', 'all', a column name, or a mapping of set name to case ids",
        )
    if sets in (None, "bundle"):
        found = _bundle_split(manifest, ids)
        if found:
            rest = ids.difference(pd.Index([c for members in found.values() for c in members]), sort=False)
            counts = ", ".join(
                f"{name} {len(found[name])} of {manifest['training']['cohort'][name]['n']}" for name in found
            )
            how = (
                "the model's own split, recognised by salted case-id digests stored in the bundle "
                f"({counts} cases found)"
            )
            if len(rest):
                found["other"] = rest
                how += f"; {len(rest)} case(s) outside the model's cohort form the set 'other'"
            return found, how
        if sets == "bundle":
            raise PRIMEInputError(
                "No case of the cohort belongs to the bundle's recorded training split.",
                field="sets",
                value="bundle",
                hint="Evaluate by a set column (--set-column) or as one set (all), or use the cohort "
                "the model was trained on.",
            )
        for column in SET_COLUMNS:
            if column in cohort.table.columns:
                return _by_column(cohort, column)
        return {"all": ids}, "all cases as one set"
    if sets == "all":
        return {"all": ids}, "all cases as one set"
    return _by_column(cohort, sets)


def _by_column(cohort: EvaluationCohort, column: str) -> tuple[dict[str, pd.Index], str]:
    table = cohort.table
    if column not in table.columns:
        raise _no_set_column(column, table.columns)
    labels = table[column].reindex(cohort.case_ids)
    absent = labels.index[labels.isna()]
    if len(absent):
        raise PRIMEInputError(
            f"{len(absent)} case(s) have no value in the set column {column!r}: "
            f"{', '.join(map(str, absent[:10]))}.",
            field="set column",
            value=column,
            hint="Fill in every case's set, or evaluate all cases as one set.",
        )
    labels = labels.map(_label)
    groups = {name: labels.index[labels == name] for name in labels.unique()}
    return _ordered(groups), f"the values of the column '{column}'"


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _ordered(sets: dict[str, pd.Index]) -> dict[str, pd.Index]:
    """Train, test, external first, then the others by name; empty sets dropped."""
    rank = {name: i for i, name in enumerate(BUNDLE_SETS)}
    names = sorted((n for n in sets if len(sets[n])), key=lambda n: (rank.get(n, len(rank)), n == "other", n))
    return {name: sets[name] for name in names}
