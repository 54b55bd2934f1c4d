"""PRIME's clinical record: one schema, validation, derived indices, cohort import, imputation.

Typical use::

    from PRIMELib.clinical import prepare_record, albi_score, read_cohort

    record = prepare_record({"tbil": 16.8, "alb": 38.5, "lym": 1.3})   # validated, indices added
    record.values["albi_grade"], record.values["pni"], record.warnings

Canonical units and codings: ``docs/CLINICAL.md`` and :data:`CLINICAL_SCHEMA`.
"""

from __future__ import annotations

from PRIMELib.clinical.derived import (
    MRECIST,
    ChildPugh,
    add_derived_indices,
    albi_grade,
    albi_score,
    bclc_stage,
    child_pugh,
    child_pugh_class,
    log10_afp,
    mrecist,
    nlr,
    objective_response,
    plr,
    pni,
    relative_change,
    sii,
)
from PRIMELib.clinical.record import derive_indices, prepare_record
from PRIMELib.clinical.schema import (
    CLINICAL_SCHEMA,
    LAB_NAMES,
    SCHEMA_VERSION,
    AlternativeUnit,
    Choice,
    ClinicalSchema,
    ClinicalVariable,
    Kind,
    get_variable,
)
from PRIMELib.clinical.validation import (
    ClinicalDataError,
    InputProblem,
    ValidatedRecord,
    validate_record,
    validate_value,
)
from PRIMELib.lazy import lazy_exports

# Cohort import and imputation need pandas; the rest (schema, validation, derived indices) only numpy,
# which Slicer ships. Those two are loaded on first use, so that the Slicer panel's clinical form works
# before the user has agreed to install PRIME's packages.
_NEEDS_PANDAS = {
    "ClinicalColumns": "columns",
    "CohortImport": "cohort",
    "ColumnMapping": "cohort",
    "ColumnRule": "cohort",
    "describe_clinical_columns": "columns",
    "import_clinical": "importing",
    "read_cohort": "cohort",
    "ImputedCase": "imputation",
    "MedianImputer": "imputation",
}


__getattr__ = lazy_exports("PRIMELib.clinical", _NEEDS_PANDAS)


__all__ = [
    "CLINICAL_SCHEMA",
    "LAB_NAMES",
    "MRECIST",
    "SCHEMA_VERSION",
    "AlternativeUnit",
    "ChildPugh",
    "Choice",
    "ClinicalColumns",
    "ClinicalDataError",
    "ClinicalSchema",
    "ClinicalVariable",
    "CohortImport",
    "ColumnMapping",
    "ColumnRule",
    "ImputedCase",
    "InputProblem",
    "Kind",
    "MedianImputer",
    "ValidatedRecord",
    "add_derived_indices",
    "albi_grade",
    "albi_score",
    "bclc_stage",
    "child_pugh",
    "child_pugh_class",
    "derive_indices",
    "describe_clinical_columns",
    "get_variable",
    "import_clinical",
    "log10_afp",
    "mrecist",
    "nlr",
    "objective_response",
    "plr",
    "pni",
    "prepare_record",
    "read_cohort",
    "relative_change",
    "sii",
    "validate_record",
    "validate_value",
]
