"""Cohort data shared by training, evaluation and scoring: the cohort tables read and joined by case id.

The lowest layer of the modelling side: :mod:`PRIMELib.training` and :mod:`PRIMELib.evaluation` both build
on it, and it imports neither.

- :class:`TrainingData`: model inputs, outcomes and centre of a cohort, one row per case.
- :func:`read_feature_table`, :func:`read_cohort_tables`, :func:`load_training_data`: the clinical table
  (through the clinical schema) joined with radiomics tables.
- :func:`hash_case_ids`, :func:`case_id_salt`: salted digests by which a bundle records its split.

**Missing radiomics, one rule** (:func:`cases_without_radiomics`): a case whose radiomics row is all
blank has no radiomics. ``prime train`` leaves it out of training, names it on the console and counts
it in the bundle's cohort summary (``excluded_cases``); ``prime evaluate`` leaves it out and counts it
in ``excluded``; ``score-features`` leaves it out, names it and lists it with the reason in
``<output>.excluded.csv`` (a bundle refuses any case that lacks a radiomics feature its models use), scores
the rest and exits with 1. It is never imputed. A single blank radiomics value of an otherwise
extracted case is imputed in training with the training median.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from PRIMELib.clinical.columns import ClinicalColumns, model_inputs
from PRIMELib.clinical.schema import CLINICAL_SCHEMA
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.survival_data import make_survival_labels

__all__ = [
    "EXCLUDED_CLINICAL",
    "ID_COLUMNS",
    "TrainingData",
    "case_id_salt",
    "cases_without_radiomics",
    "hash_case_ids",
    "load_training_data",
    "read_cohort_tables",
    "read_feature_table",
]

#: Clinical columns that are never model inputs: outcomes, response assessment (it *is* the label),
#: and therapy after progression (known only after the outcome; the paper uses it to adjust HRs).
EXCLUDED_CLINICAL = frozenset(
    {"case_id", "subsequent_therapy"}
    | {v.name for v in CLINICAL_SCHEMA if v.group in ("outcome", "response")}
)
ID_COLUMNS = ("case_id", "ID", "id", "PatientID", "patient_id", "Case", "case")
_ID_COLUMNS = ID_COLUMNS  # the name training and evaluation imported


@dataclass
class TrainingData:
    """A training cohort: model inputs, outcomes and (optionally) each case's centre.

    ``features``: one row per case (index = case id), numeric columns: clinical variables and derived
    indices by their schema names, radiomics by phase-prefixed PyRadiomics names. ``response``: 0/1;
    ``os_days``: days from treatment start; ``os_event``: 1 died, 0 censored.
    """

    features: pd.DataFrame
    response: pd.Series
    os_days: pd.Series
    os_event: pd.Series
    centre: pd.Series | None = None
    ignored_columns: tuple[str, ...] = ()
    #: Every clinical column offered: used, how coded ones are encoded, and why others are not used.
    clinical_columns: ClinicalColumns | None = None

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        response_column: str = "response",
        time_column: str = "os_days",
        event_column: str = "os_event",
        centre_column: str | None = "centre",
        partial_outcomes: bool = False,
    ) -> TrainingData:
        """Split one table (index = case id) into inputs and outcomes; non-numeric and excluded
        columns are left out (named in ``ignored_columns``); rows missing an outcome are refused.

        ``partial_outcomes`` (training's per-endpoint cohorts): a case with only one endpoint (a
        response reading, or survival time and status) is kept, its other outcome blank (NaN): it
        trains the models of the endpoint it has. A case with neither is still refused."""
        missing = [c for c in (response_column, time_column, event_column) if c not in frame.columns]
        if missing:
            raise PRIMEInputError(
                f"The cohort has no column {', '.join(map(repr, missing))}.",
                field="cohort",
                expected="outcome columns response (0/1), os_days (days) and os_event (0/1)",
            )
        outcomes = frame[[response_column, time_column, event_column]].apply(pd.to_numeric, errors="coerce")
        no_response = outcomes[response_column].isna()
        no_survival = outcomes[[time_column, event_column]].isna().any(axis=1)
        lacking = (no_response & no_survival) if partial_outcomes else (no_response | no_survival)
        incomplete = outcomes.index[lacking.to_numpy()]
        if len(incomplete):
            shown = ", ".join(map(str, incomplete[:10])) + (" …" if len(incomplete) > 10 else "")
            what = (
                "both outcomes (a response, and os_days with os_event)"
                if partial_outcomes
                else "an outcome (response, os_days or os_event)"
            )
            raise PRIMEInputError(
                f"{len(incomplete)} case(s) lack {what}: {shown}.",
                field="cohort",
                hint="Complete the outcomes or leave these cases out of the training table.",
            )
        # A case without a reading of one endpoint keeps a blank there (only with partial_outcomes).
        outcomes.loc[no_survival.to_numpy(), [time_column, event_column]] = np.nan
        centre = None
        if centre_column and centre_column in frame.columns:
            centre = frame[centre_column].astype(str)
        drop = {response_column, time_column, event_column, centre_column} | EXCLUDED_CLINICAL
        inputs = frame[[c for c in frame.columns if c not in drop]]
        # Categories and ordinals (sex, Child–Pugh class, BCLC, …) survive as numbers: text codes as
        # their schema position, which the pipelines' ClinicalEncoder one-hot encodes or ranks.
        outcome_columns = (response_column, time_column, event_column)
        outside = {c: "an outcome (a label, not an input)" for c in outcome_columns}
        if centre_column:
            outside[centre_column] = "the centre (it decides the external set)"
        features, clinical_columns = model_inputs(frame, excluded=outside)
        textual = [c for c in inputs.columns if c not in features.columns]
        ignored = tuple(sorted(set(textual) | (set(frame.columns) & (drop - {None}))))
        return cls(
            features=features,
            response=_labels(outcomes[response_column]),
            os_days=outcomes[time_column].astype(float),
            os_event=_labels(outcomes[event_column]),
            centre=centre,
            ignored_columns=ignored,
            clinical_columns=clinical_columns,
        )

    @property
    def has_response(self) -> pd.Series:
        """Cases with a response reading (all, unless built with ``partial_outcomes``)."""
        return self.response.notna()

    @property
    def has_survival(self) -> pd.Series:
        """Cases with survival time and status."""
        return self.os_days.notna() & self.os_event.notna()

    def endpoint(self, endpoint: str) -> TrainingData:
        """The cases with a reading of ``endpoint`` (``response`` or ``survival``)."""
        rows = self.has_response if endpoint == "response" else self.has_survival
        return self.subset(self.features.index[rows.to_numpy()])

    @property
    def survival(self) -> np.ndarray:
        return make_survival_labels(self.os_event.to_numpy(), self.os_days.to_numpy())

    def subset(self, ids: Sequence[object]) -> TrainingData:
        """The same cohort restricted to the cases ``ids`` (in that order)."""
        ids = pd.Index(ids)
        return TrainingData(
            features=self.features.loc[ids],
            response=self.response.loc[ids],
            os_days=self.os_days.loc[ids],
            os_event=self.os_event.loc[ids],
            centre=None if self.centre is None else self.centre.loc[ids],
            ignored_columns=self.ignored_columns,
            clinical_columns=self.clinical_columns,
        )


def _labels(values: pd.Series) -> pd.Series:
    """0/1 labels as integers; as floats with NaN where a case lacks that outcome."""
    return values.astype(int) if values.notna().all() else values.astype(float)


def cases_without_radiomics(features: pd.DataFrame) -> pd.Index:
    """Cases (index values) whose radiomics columns (``arterial_…``, ``venous_…``) are all blank; none
    when the table has no radiomics column. See the module docstring for what is done with them."""
    from PRIMELib.models.pipelines import split_modalities

    radiomics = split_modalities(features.columns)["radiomics"]
    if not radiomics:
        return features.index[:0]
    return features.index[features[radiomics].isna().all(axis=1).to_numpy()]


def read_feature_table(
    path: str | Path,
    *,
    prefix: str | None = None,
    id_column: str | None = None,
    phase: str | None = None,
    id_from: str | None = None,
) -> pd.DataFrame:
    """A radiomics feature table (CSV) indexed by case id, numeric feature columns only.

    Works with PRIME's own ``features.csv`` and with PyRadiomics' batch output, through
    :func:`PRIMELib.radiomics.table.normalise_feature_table` (the one rule for every reader): its
    ``diagnostics_…`` columns and the ``Image``/``Mask`` paths are dropped, the case id may come from
    the Image path (``id_from``: a pattern), and a one-phase table's features get the ``phase`` prefix
    (``prefix``, e.g. ``"arterial_"``, says the same). What was decided is in ``table.attrs["notes"]``.
    """
    from PRIMELib.radiomics.table import normalise_feature_table

    path = Path(path)
    try:
        raw = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise PRIMEInputError(
            f"The feature table '{path}' cannot be read: {error}", field="features"
        ) from error
    normalised = normalise_feature_table(
        raw,
        source=path.name,
        phase=phase or (prefix.rstrip("_") if prefix else None),
        id_column=id_column,
        id_from=id_from,
    )
    table = normalised.table
    table.attrs["notes"] = normalised.notes
    return table


def load_training_data(
    clinical: str | Path,
    *,
    features: Sequence[str | Path] = (),
    arterial_features: str | Path | None = None,
    venous_features: str | Path | None = None,
    mapping: str | Path | None = None,
    centre_column: str = "centre",
) -> TrainingData:
    """Read a clinical table (through the clinical schema, units converted, indices derived) and the
    radiomics tables, and join them by case id. The clinical table carries the outcomes
    (``response``, ``os_days``, ``os_event``) and optionally a ``centre`` column."""
    frame = read_cohort_tables(
        clinical,
        features=features,
        arterial_features=arterial_features,
        venous_features=venous_features,
        mapping=mapping,
        keep_columns=(centre_column,),
    )
    return TrainingData.from_frame(
        frame,
        centre_column=centre_column if centre_column in frame.columns else None,
        partial_outcomes=True,
    )


def read_cohort_tables(
    clinical: str | Path,
    *,
    features: Sequence[str | Path] = (),
    arterial_features: str | Path | None = None,
    venous_features: str | Path | None = None,
    mapping: str | Path | None = None,
    keep_columns: Sequence[str] = ("centre",),
) -> pd.DataFrame:
    """The clinical table (through the schema) joined with the radiomics tables: one row per case,
    index = case id. ``keep_columns``: columns of a CSV clinical table outside the schema (a centre or
    a set column) that are kept as text instead of being refused as unknown."""
    from dataclasses import replace

    from PRIMELib.clinical.cohort import ColumnMapping, read_cohort, read_table

    clinical = Path(clinical)
    column_mapping = ColumnMapping.load(mapping) if mapping else ColumnMapping()
    # The same reader read_cohort uses (delimiter, BOM, Excel), so row positions line up below.
    raw = read_table(clinical, column_mapping.sheet, what="clinical table", field="clinical")
    kept = [c for c in dict.fromkeys(keep_columns) if c in raw.columns]
    if kept:
        column_mapping = replace(column_mapping, ignore=(*column_mapping.ignore, *kept))
    cohort = read_cohort(clinical, column_mapping).table
    if "case_id" not in cohort.columns:
        raise PRIMEInputError("The clinical table has no case_id column.", field="clinical")
    for column in kept:
        # read_cohort's index is the spreadsheet row (header = row 1).
        cohort[column] = raw[column].to_numpy()[cohort.index.to_numpy() - 2]
    cohort = cohort.set_index(cohort["case_id"].astype(str)).drop(columns=["case_id"])
    tables = [read_feature_table(p) for p in features]
    if arterial_features:
        tables.append(read_feature_table(arterial_features, prefix="arterial_"))
    if venous_features:
        tables.append(read_feature_table(venous_features, prefix="venous_"))
    frame = cohort
    for table in tables:
        absent = sorted(set(frame.index) - set(table.index))
        if absent:
            raise PRIMEInputError(
                f"{len(absent)} case(s) of the clinical table have no radiomics row: "
                f"{', '.join(absent[:10])}.",
                field="features",
                hint="Extract their features, or leave them out of the clinical table.",
            )
        frame = frame.join(table, how="left")
    # What the feature tables' reader decided (case ids from Image paths, a default phase), to print.
    frame.attrs["notes"] = [note for table in tables for note in table.attrs.get("notes", [])]
    return frame


def hash_case_ids(case_ids: Sequence[object], salt: str) -> list[str]:
    """Salted SHA-256 digests (first 16 hex digits, sorted) of case ids.

    A bundle records its split this way: ``prime evaluate`` recognises the training, test and external
    cases in a cohort that holds them, and the bundle itself holds no identifier.
    """
    import hashlib

    return sorted(hashlib.sha256(f"{salt}:{case}".encode()).hexdigest()[:16] for case in case_ids)


def case_id_salt(case_ids: Sequence[object], random_state: int) -> str:
    """The salt of :func:`hash_case_ids` for a training: 16 hex digits of SHA-256 over the seed and the
    sorted case ids, so the same data and seed give the same cohort summary (and digests) in the
    manifest.

    It is stored beside the digests, so a random salt would protect no better against guessed ids; the
    ids enter only through a one-way digest of the whole set.
    """
    import hashlib

    text = json.dumps([str(random_state), sorted(str(case) for case in case_ids)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]
