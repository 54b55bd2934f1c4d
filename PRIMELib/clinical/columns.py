"""Which clinical columns of a cohort become model inputs, how they are encoded, and why others do not.

:func:`describe_clinical_columns` judges every clinical column offered (radiomics columns, named
``arterial_…``/``venous_…``, are left to the radiomics side) and returns a :class:`ClinicalColumns`:
``used`` (model inputs), ``encoded`` (the coded ones among them and how the pipeline's
:class:`~PRIMELib.models.encoding.ClinicalEncoder` turns them into numbers) and ``unused`` (every other
column, with the reason). The training report prints it, so no column is lost without a word.

:func:`model_inputs` is what the cohort readers call: it returns the model-input table (every value a
number: text codes stored as their schema position, see :func:`~PRIMELib.clinical.coding.model_value`)
and that description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from PRIMELib.clinical.coding import encoding_of, model_value
from PRIMELib.clinical.schema import CLINICAL_SCHEMA, Kind
from PRIMELib.clinical.validation import ClinicalDataError, InputProblem, is_missing
from PRIMELib.errors import PRIMEInputError

__all__ = ["ClinicalColumns", "describe_clinical_columns", "model_inputs"]

_RADIOMICS_PREFIXES = ("arterial_", "venous_")  # as PRIMELib.models.pipelines.RADIOMICS_PREFIXES

#: Why a schema variable is never a model input, by its group (or name).
_NEVER_INPUT = {
    "outcome": "an outcome (a label, not an input)",
    "response": "the response assessment (it is the label)",
    "subsequent_therapy": "known only after the outcome (therapy after progression)",
    "case_id": "the case identifier",
}


@dataclass(frozen=True)
class ClinicalColumns:
    """The clinical columns of a cohort: ``used`` as model inputs, ``encoded`` (column → how the coded
    ones are encoded), ``unused`` (column → why not)."""

    used: list[str] = field(default_factory=list)
    encoded: dict[str, str] = field(default_factory=dict)
    unused: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The description in words, one line per column encoded or left out (for reports)."""
        out = [f"{name}: encoded as {how}" for name, how in self.encoded.items()]
        return out + [f"{name}: not used: {why}" for name, why in self.unused.items()]

    def to_dict(self) -> dict[str, object]:
        return {"used": list(self.used), "encoded": dict(self.encoded), "unused": dict(self.unused)}


def _encoding_words(name: str) -> str:
    variable = CLINICAL_SCHEMA.get_variable(name)
    kind = encoding_of(name)
    codes = [str(code) for code in variable.codes]
    if kind == "binary":
        return f"0/1 ({codes[0]} 0, {codes[1]} 1)"
    if kind == "ordinal":
        return "ordered ranks (" + " < ".join(codes) + ")"
    return "one-hot columns, one per category seen in training (" + ", ".join(codes) + ")"


def describe_clinical_columns(
    frame: pd.DataFrame,
    *,
    excluded: Mapping[str, str] | None = None,
    max_missing_fraction: float = 0.30,
) -> ClinicalColumns:
    """Judge every clinical (non-radiomics) column of ``frame`` (one row per case).

    ``excluded``: columns the caller keeps out, with the reason (the outcome columns, the centre).
    Reasons for leaving a column out: named by ``excluded``; an outcome, the response assessment or a
    post-outcome variable; free text; not in the schema and not numeric; all missing; more missing
    than ``max_missing_fraction`` (the imputer drops it); constant. A column outside the schema that
    holds numbers is used as a number.
    """
    return _judge(frame, excluded, max_missing_fraction)[0]


def _judge(
    frame: pd.DataFrame, excluded: Mapping[str, str] | None, max_missing_fraction: float
) -> tuple[ClinicalColumns, set[str]]:
    """The description, and the columns that can never be model inputs (whatever the cases)."""
    excluded = dict(excluded or {})
    used: list[str] = []
    encoded: dict[str, str] = {}
    unused: dict[str, str] = {}
    for column in (str(c) for c in frame.columns):
        if column.startswith(_RADIOMICS_PREFIXES):
            continue
        values = frame[column]
        present = values[~values.map(is_missing).astype(bool)]
        variable = CLINICAL_SCHEMA.get_variable(column) if column in CLINICAL_SCHEMA else None
        kind = encoding_of(column)
        if column in excluded:
            unused[column] = excluded[column]
        elif variable is not None and (variable.name in _NEVER_INPUT or variable.group in _NEVER_INPUT):
            unused[column] = _NEVER_INPUT.get(variable.name) or _NEVER_INPUT[variable.group]
        elif kind == "text":
            unused[column] = "free text"
        elif variable is None and pd.to_numeric(present, errors="coerce").isna().any():
            unused[column] = "not in the schema, and not numeric"
        elif present.empty:  # from here on, reasons that depend on the cases at hand
            unused[column] = "all missing"
        elif len(present) < len(values) * (1 - max_missing_fraction) - 1e-9:
            share = 1 - len(present) / len(values)
            unused[column] = f"{share:.0%} missing: over the {max_missing_fraction:.0%} the imputer allows"
        elif present.astype(str).nunique() == 1:
            unused[column] = f"constant (every case: {present.iloc[0]})"
        else:
            used.append(column)
            # 0/1 flags go in as they are; text codes and ordinal scales are described.
            if kind in ("ordinal", "nominal") or (kind == "binary" and variable.kind is Kind.CATEGORY):
                encoded[column] = _encoding_words(column)
    never = {c for c in unused if c in excluded or not _depends_on_cases(unused[c])}
    return ClinicalColumns(used, encoded, unused), never


def _depends_on_cases(reason: str) -> bool:
    return reason == "all missing" or reason.startswith("constant") or "the imputer allows" in reason


def model_inputs(
    inputs: pd.DataFrame, *, excluded: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, ClinicalColumns]:
    """The model-input table of a cohort and the description of its clinical columns.

    Every column becomes numbers (:func:`~PRIMELib.clinical.coding.model_value`: text codes as their
    schema position), except those that can never be inputs (``excluded``, outcomes, free text, text
    outside the schema), which are left out. Columns that are all missing, mostly missing or constant
    *here* stay in the table (another set of the same model may hold them; the pipeline's imputer and
    variance filter judge them on the training folds) and are named in the description. A coded cell
    the schema does not allow is reported, every one at once, in one :class:`ClinicalDataError`.
    """
    description, dropped = _judge(inputs, excluded, 0.30)
    problems: list[InputProblem] = []
    columns: dict[str, np.ndarray] = {}
    for column in (str(c) for c in inputs.columns):
        if column in dropped:
            continue
        values = inputs[column]
        if encoding_of(column) == "number":
            columns[column] = pd.to_numeric(
                values.where(~values.map(is_missing).astype(bool)), errors="coerce"
            )
            columns[column] = columns[column].astype(float).to_numpy()
            continue
        cells = []
        for case, value in values.items():
            try:
                cells.append(model_value(column, value))
            except PRIMEInputError as error:
                problems.append(InputProblem(column, f"Case {case}: {error.message}", value, error.expected))
                cells.append(np.nan)
        columns[column] = np.asarray(cells, dtype=float)
    if problems:
        raise ClinicalDataError(problems, source="the cohort's clinical columns")
    return pd.DataFrame(columns, index=inputs.index, dtype=float), description
