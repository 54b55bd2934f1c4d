"""Checking clinical values against the schema: types, ranges, codings, likely unit mistakes.

Every problem is a :class:`PRIMEInputError` that names the field, the value, the expected unit and
range, and what to do. A whole record is checked in one pass: :func:`validate_record` collects every
problem and raises one :class:`ClinicalDataError` carrying the list. Nothing else is ever raised on
bad input, whatever its type.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from PRIMELib.clinical.schema import CLINICAL_SCHEMA, Choice, ClinicalVariable, Kind
from PRIMELib.errors import PRIMEInputError, bounded

#: Longest field or column name written before a problem's message.
MAX_SHOWN_NAME_CHARS = 60


@dataclass(frozen=True)
class InputProblem:
    """One bad value: which field (and, from a file, which row and column), what is wrong, what to do.

    ``row`` is the row number a spreadsheet shows (the header is row 1).
    """

    field: str
    message: str
    value: object = None
    expected: str | None = None
    hint: str | None = None
    row: int | None = None
    column: str | None = None

    @classmethod
    def from_error(
        cls, error: PRIMEInputError, *, row: int | None = None, column: str | None = None
    ) -> InputProblem:
        """The problem an error describes (its message without the 'Expected …' and hint it appends)."""
        if isinstance(error, ClinicalDataError) and len(error.problems) == 1:
            message = error.problems[0].message
        else:
            message = error.message
        return cls(error.field or "", message, error.value, error.expected, error.hint, row, column)

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else []
        field = bounded(self.field, MAX_SHOWN_NAME_CHARS)  # the message quotes a long one in full
        if self.column is not None and self.column != self.field:
            where.append(f"column {show(self.column)}" + (f" ({field})" if self.field else ""))
        elif self.field:
            where.append(field)
        text = ", ".join(where) + ": " + self.message if where else self.message
        if self.expected:
            text += f" Expected {self.expected}."
        if self.hint:
            text += f" {self.hint}"
        return text


class ClinicalDataError(PRIMEInputError):
    """Several (or one) bad clinical values found in one pass; ``problems`` lists every one."""

    #: At most this many problems are spelt out in the message; ``problems`` always has them all.
    max_listed = 50
    #: Each listed problem is cut to this length, and listing stops before the lines pass ``max_chars``.
    max_line_chars = 400
    max_chars = 3000

    def __init__(self, problems: Sequence[InputProblem], *, source: str = "the clinical record") -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines: list[str] = []
        for problem in self.problems[: self.max_listed]:
            line = f"  - {bounded(problem, self.max_line_chars)}"
            if lines and sum(map(len, lines)) + len(line) > self.max_chars:
                break
            lines.append(line)
        if count > len(lines):
            lines.append(f"  … and {count - len(lines)} more.")
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in {source}:\n" + "\n".join(lines))
        if count == 1:
            only = self.problems[0]
            self.field, self.value, self.expected, self.hint = (
                only.field,
                only.value,
                only.expected,
                only.hint,
            )


@dataclass(frozen=True)
class ValidatedRecord:
    """A checked record in canonical units, the warnings it raised, and which values were computed."""

    values: dict[str, object]
    warnings: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()


# Not "none": it is a coding ("ascites: none"), not a blank.
_MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null", "missing", "-", "--", "?"})


def is_missing(value: object) -> bool:
    """True for ``None``, NaN (float, numpy, Decimal, pandas NA/NaT) and blank or 'NA'-like text."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().casefold() in _MISSING_TEXT
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, Decimal):
        return value.is_nan()
    return type(value).__name__ in ("NAType", "NaTType")


def show(value: object, limit: int = 60) -> str:
    """A short, always-printable repr of any value (for messages)."""
    try:
        text = repr(value)
    except Exception:  # a user's value must never break the error message about it
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


_WHAT = {
    Kind.NUMBER: "a number",
    Kind.INTEGER: "a whole number",
    Kind.ORDINAL: "one of its codes",
    Kind.CATEGORY: "one of its categories",
    Kind.TEXT: "text",
}


def _type_error(variable: ClinicalVariable, value: object, hint: str | None = None) -> PRIMEInputError:
    return PRIMEInputError(
        f"{variable.name} must be {_WHAT[variable.kind]}, got {type(value).__name__} {show(value)}.",
        field=variable.name,
        value=value,
        expected=variable.expected(),
        hint=hint,
    )


def _to_float(variable: ClinicalVariable, value: object) -> float:
    if isinstance(value, bool | np.bool_):
        raise _type_error(variable, value)
    if isinstance(value, str):
        hint = None
        try:
            float(value)
            hint = "Enter it as a number, without quotes."
        except ValueError:
            pass
        raise _type_error(variable, value, hint)
    if not isinstance(value, numbers.Real | Decimal):
        raise _type_error(variable, value)
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError, ArithmeticError) as error:
        raise _type_error(variable, value) from error
    if not math.isfinite(number):
        raise PRIMEInputError(
            f"{variable.name} must be a finite number, got {show(value)}.",
            field=variable.name,
            value=value,
            expected=variable.expected(),
        )
    return number


def unit_hint(variable: ClinicalVariable, value: float) -> str | None:
    """A hint when ``value`` looks like it was given in a common wrong unit, else ``None``."""
    for alternative in variable.alternative_units:
        band = alternative.looks_like
        if band is not None and band[0] <= value <= band[1]:
            return alternative.hint(value, variable.unit)
    return None


def _check_number(variable: ClinicalVariable, value: object) -> tuple[float | int, list[str]]:
    number = _to_float(variable, value)
    if variable.kind is Kind.INTEGER and not number.is_integer():
        raise PRIMEInputError(
            f"{variable.name} must be a whole number, got {number:g}.",
            field=variable.name,
            value=value,
            expected=variable.expected(),
        )
    unit = f" {variable.unit}" if variable.unit else ""
    low, high = variable.minimum, variable.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise PRIMEInputError(
            f"{variable.label} ({variable.name}) = {number:g}{unit} is outside the allowed range.",
            field=variable.name,
            value=value,
            expected=variable.expected(),
            hint=unit_hint(variable, number),
        )
    warnings = []
    if variable.typical is not None and not variable.typical[0] <= number <= variable.typical[1]:
        typical = f"{variable.typical[0]:g}–{variable.typical[1]:g}{unit}"
        hint = unit_hint(variable, number)
        warnings.append(
            f"{variable.label} ({variable.name}) = {number:g}{unit} is unusual (typical {typical}); check it."
            + (f" {hint}" if hint else "")
        )
    return (int(number) if variable.kind is Kind.INTEGER else number), warnings


def _squash(text: str) -> str:
    """Case and white space ignored: "HAIC + tace" matches "haic+tace"."""
    return "".join(text.split()).casefold()


def _match_choice(variable: ClinicalVariable, value: object) -> Choice | None:
    if isinstance(value, str):
        key = _squash(value)
        for choice in variable.choices:
            if key in {_squash(s) for s in (str(choice.code), choice.label, *choice.aliases)}:
                return choice
        return None
    if isinstance(value, bool | np.bool_):
        # True/False only mean something for 0/1 flags.
        return (
            next((c for c in variable.choices if c.code == int(value)), None)
            if variable.codes == (0, 1)
            else None
        )
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except (OverflowError, ValueError):
            return None
        if not number.is_integer():
            return None
        for choice in variable.choices:
            if str(choice.code) == str(int(number)):
                return choice
    return None


def _check_choice(variable: ClinicalVariable, value: object) -> tuple[int | str, list[str]]:
    choice = _match_choice(variable, value)
    if choice is not None:
        return choice.code, [choice.warning] if choice.warning else []
    if not isinstance(value, str | numbers.Real):
        raise _type_error(variable, value)
    hint = None
    if isinstance(value, str) and len(value.strip()) <= MAX_SUGGESTED_CHARS:
        spellings = {
            str(s).casefold(): c.code for c in variable.choices for s in (c.code, c.label, *c.aliases)
        }
        close = difflib.get_close_matches(value.strip().casefold(), spellings, n=1, cutoff=0.6)
        hint = f"Did you mean {spellings[close[0]]!r}?" if close else None
    raise PRIMEInputError(
        f"{variable.label} ({variable.name}) = {show(value)} is not an allowed value.",
        field=variable.name,
        value=value,
        expected=variable.expected(),
        hint=hint,
    )


def _check(variable: ClinicalVariable, value: object) -> tuple[object, list[str]]:
    if is_missing(value):
        return None, []
    if variable.kind in (Kind.NUMBER, Kind.INTEGER):
        return _check_number(variable, value)
    if variable.kind in (Kind.ORDINAL, Kind.CATEGORY):
        return _check_choice(variable, value)
    if isinstance(value, str):
        return value.strip(), []
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        return show(int(value), limit=100), []
    raise _type_error(variable, value)


#: Names and values longer than this get no "did you mean": no schema spelling is near so long a text,
#: and comparing it with every spelling (difflib) would cost time that grows with its length.
MAX_SUGGESTED_CHARS = 64
#: Unknown names in one record that get a "did you mean" (each costs milliseconds: a record with
#: 20 000 unknown fields would take minutes); the rest are listed without one.
MAX_SUGGESTED_UNKNOWN = 20


def _variable(name: str) -> ClinicalVariable:
    """The schema variable ``name``; an unknown long name is refused without looking for suggestions."""
    if name not in CLINICAL_SCHEMA and len(name) > MAX_SUGGESTED_CHARS:
        raise PRIMEInputError(
            f"Unknown clinical variable {show(name)} ({len(name)} characters long).",
            field=name,
            value=name,
            expected="one of the names in PRIMELib.clinical.CLINICAL_SCHEMA",
            hint="A variable name is a word or two: check that the field names and values are not mixed up.",
        )
    return CLINICAL_SCHEMA.get_variable(name)


def validate_value(name: str, value: object) -> tuple[object, tuple[str, ...]]:
    """Check one value of the variable ``name``.

    Returns the value in its canonical form (a float, an int code, a category string; ``None`` when
    missing) and any warnings; raises :class:`PRIMEInputError` when it cannot be used.
    """
    variable = _variable(str(name))
    checked, warnings = _check(variable, value)
    return checked, tuple(warnings)


def validate_record(record: object, *, source: str = "the clinical record") -> ValidatedRecord:
    """Check every entry of a clinical record (a mapping of schema names to values) in one pass.

    Missing values (``None``, NaN, blank) are dropped. Raises :class:`ClinicalDataError` listing every
    unknown name, wrong type and out-of-range value; no derived index is computed here.
    """
    if not isinstance(record, Mapping):
        raise PRIMEInputError(
            f"A clinical record must be a mapping of variable names to values, got {type(record).__name__}.",
            field="clinical",
            value=record,
            expected='an object such as {"age": 58, "alb": 38.5}',
        )
    problems: list[InputProblem] = []
    values: dict[str, object] = {}
    warnings: list[str] = []
    unknown = 0
    for key, value in record.items():
        if not isinstance(key, str):
            problems.append(InputProblem(show(key), "A variable name must be text.", key))
            continue
        if key not in CLINICAL_SCHEMA:
            unknown += 1
            if unknown > MAX_SUGGESTED_UNKNOWN:  # no "did you mean" for the rest: its cost grows with each
                problems.append(
                    InputProblem(
                        key,
                        f"Unknown clinical variable {show(key)}.",
                        key,
                        "one of the names in PRIMELib.clinical.CLINICAL_SCHEMA",
                    )
                )
                continue
        try:
            variable = _variable(key)
            checked, found = _check(variable, value)
        except PRIMEInputError as error:
            problems.append(InputProblem.from_error(error))
            continue
        if checked is not None:
            values[key] = checked
            warnings.extend(found)
    if problems:
        raise ClinicalDataError(problems, source=source)
    return ValidatedRecord(values, tuple(warnings))
