"""One clinical record, ready for the models: validated, in canonical units, derived indices added.

This is what the Slicer panel (live), the CLI and the scoring pipeline call.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from PRIMELib.clinical.derived import add_derived_indices
from PRIMELib.clinical.schema import CLINICAL_SCHEMA
from PRIMELib.clinical.validation import (
    ClinicalDataError,
    InputProblem,
    ValidatedRecord,
    show,
    validate_record,
)
from PRIMELib.errors import PRIMEInputError


def _same(entered: object, computed: object) -> bool:
    """Equal, allowing an entered number to be rounded to two decimals."""
    if isinstance(entered, numbers.Real) and isinstance(computed, numbers.Real):
        return math.isclose(float(entered), float(computed), rel_tol=0.01, abs_tol=0.01)
    return entered == computed


def prepare_record(record: object, *, source: str = "the clinical record") -> ValidatedRecord:
    """Validate ``record`` and add every derived index whose inputs exist.

    A derived index that was also entered by hand is replaced by the computed one, with a warning
    when the two disagree. ``derived`` in the result names the computed values. Raises
    :class:`ClinicalDataError` listing every problem.
    """
    checked = validate_record(record, source=source)
    values = checked.values
    inputs_only = {k: v for k, v in values.items() if not CLINICAL_SCHEMA.get_variable(k).is_derived}
    try:
        from_inputs = add_derived_indices(inputs_only)
        complete = add_derived_indices(values)
    except PRIMEInputError as error:  # inconsistent inputs, e.g. an mRECIST nadir above baseline
        raise ClinicalDataError([InputProblem.from_error(error)], source=source) from error
    warnings = list(checked.warnings)
    for name, entered in values.items():
        if name not in inputs_only and not _same(entered, complete[name]):
            inputs = ", ".join(CLINICAL_SCHEMA.get_variable(name).derived_from)
            warnings.append(
                f"{name} was entered as {show(entered)} but is {show(complete[name])} from {inputs}; "
                "the computed value is used."
            )
    derived = tuple(
        k
        for k in complete
        if k not in values or (k not in inputs_only and (k in from_inputs or values[k] != complete[k]))
    )
    return ValidatedRecord(complete, tuple(warnings), derived)


def derive_indices(record: Mapping[str, object]) -> dict[str, object]:
    """The validated record with every derivable index added (see :func:`prepare_record`)."""
    return prepare_record(record).values
