"""How each clinical column is coded for the models: pure schema logic, no scikit-learn or pandas.

Used by the cohort readers and single-record scoring (which must work before the model packages load)
and by :class:`PRIMELib.models.encoding.ClinicalEncoder`, which turns the codes into model inputs.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from PRIMELib.clinical.schema import CLINICAL_SCHEMA, Kind
from PRIMELib.clinical.validation import is_missing, show, validate_value
from PRIMELib.errors import PRIMEInputError

__all__ = ["ENCODINGS", "ONE_HOT_SEPARATOR", "encoding_of", "model_value", "schema_code", "source_columns"]

#: How a column becomes model inputs (see :mod:`PRIMELib.models.encoding`).
ENCODINGS = ("number", "binary", "ordinal", "nominal", "text")
#: Separates a nominal column from its category in the name of a one-hot column.
ONE_HOT_SEPARATOR = "="


def encoding_of(name: str) -> str:
    """``number``, ``binary``, ``ordinal``, ``nominal`` or ``text`` (free text: never a model input).

    A column outside the schema (a radiomics feature, a user's own number) is a ``number``.
    """
    if name not in CLINICAL_SCHEMA:
        return "number"
    variable = CLINICAL_SCHEMA.get_variable(name)
    if variable.kind in (Kind.NUMBER, Kind.INTEGER):
        return "number"
    if variable.kind is Kind.TEXT:
        return "text"
    if len(variable.choices) == 2:
        return "binary"
    return "ordinal" if variable.is_ordered else "nominal"


def source_columns(names) -> list[str]:
    """The input columns behind encoded feature names (``interventional=TACE`` → ``interventional``),
    in order, without repeats."""
    return list(dict.fromkeys(str(n).split(ONE_HOT_SEPARATOR, 1)[0] for n in names))


def schema_code(name: str, value: object) -> int | str | None:
    """The schema code of one cell of the coded variable ``name`` (``None`` when missing).

    A number in a text-coded column is the position of its code (sex 1 = male, BCLC 2 = B; see
    :func:`model_value`); anything else is matched as validation matches it (codes, labels, aliases).
    Raises :class:`PRIMEInputError` naming the variable for a value the schema does not allow.
    """
    variable = CLINICAL_SCHEMA.get_variable(name)
    if is_missing(value):
        return None
    numeric = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    if variable.kind is Kind.CATEGORY and numeric:
        codes = variable.codes
        if float(value).is_integer() and 0 <= value < len(codes):
            return codes[int(value)]
        raise PRIMEInputError(
            f"{variable.label} ({name}) = {show(value)} is neither one of its codes nor a code's position.",
            field=name,
            value=value,
            expected=variable.expected() + f", or its position 0–{len(codes) - 1}",
        )
    return validate_value(name, value)[0]


def model_value(name: str, value: object) -> float:
    """One cell as the number a cohort table stores for the models (NaN when missing).

    Numbers stay numbers; integer codes (flags, ECOG, ALBI grade) stay their code; a text code becomes
    its position in the schema (sex: female 0, male 1; Child–Pugh class A 0, B 1, C 2; BCLC 0…4;
    interventional: TACE 0, HAIC 1, TACE+HAIC 2), which :class:`ClinicalEncoder` reads back.
    """
    kind = encoding_of(name)
    if kind == "number":
        if is_missing(value):
            return math.nan
        try:
            return float(value)
        except (TypeError, ValueError) as error:
            raise PRIMEInputError(
                f"{name} = {show(value)} is not a number.", field=name, value=value
            ) from error
    if kind == "text":
        raise PRIMEInputError(f"{name} is free text, not a model input.", field=name, value=value)
    code = schema_code(name, value)
    if code is None:
        return math.nan
    variable = CLINICAL_SCHEMA.get_variable(name)
    return float(code) if variable.kind is Kind.ORDINAL else float(variable.codes.index(code))
