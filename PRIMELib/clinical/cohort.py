"""Importing a cohort table (CSV or Excel) into the clinical schema.

A mapping file (YAML or JSON) says which of the user's columns is which schema variable, in which unit,
and how its cells are coded::

    columns:
      Patient ID: case_id
      Albumin (g/dL): {name: alb, unit: g/dL}        # converted to g/L
      TBIL (mg/dL): {name: tbil, unit: mg/dL}        # converted to µmol/L
      AFP (IU/mL): {name: afp, scale: 1.21}          # any other factor: canonical = cell × scale
      Sex: {name: sex, values: {F: female, M: male}}
      OS (weeks): os_days
      Status: os_event
    units: {os_days: weeks}                           # the same, by schema name
    values: {os_event: {dead: 1, alive: 0}}           # the same, by schema name
    response: {from: Best response}                   # mRECIST codes → mrecist → response
    centre: Hospital                                  # kept as the 'centre' column
    ignore: [Name, Comments]                          # columns to leave out
    sheet: Clinical                                   # Excel only (default: the first sheet)

Columns already named like the schema (case-insensitive) need no entry. Every other column must be
mapped or ignored, so a misspelt column is reported instead of silently dropped. A column with
``values`` must hold only those codes (or the schema's own codes): an unmapped code is an error. The
response label comes from mRECIST codes (CR/PR responder, SD/PD not), or, with
``response: {from: column, rule: percent_change}``, from the % change of the viable tumour sum
(−100 % CR, ≤ −30 % PR, ≥ +20 % PD, else SD). The whole file is checked in one pass: every bad cell
is reported with its row (as the spreadsheet shows it, header = row 1), its column and the problem,
in one :class:`ClinicalDataError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from PRIMELib.clinical.record import prepare_record
from PRIMELib.clinical.schema import CLINICAL_SCHEMA, ClinicalVariable, Kind
from PRIMELib.clinical.validation import (
    ClinicalDataError,
    InputProblem,
    is_missing,
    show,
    validate_record,
    validate_value,
)
from PRIMELib.errors import PRIMEInputError

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_MAPPING_KEYS = ("columns", "units", "values", "response", "centre", "ignore", "sheet")
_RULE_KEYS = ("name", "unit", "scale", "values")
_RESPONSE_KEYS = ("from", "rule")
#: How a response column becomes the mRECIST category (and, through it, the response label).
RESPONSE_RULES = ("mrecist", "percent_change")


@dataclass(frozen=True)
class ColumnRule:
    """How one of the user's columns becomes a schema variable: canonical = cell × ``factor``."""

    column: str
    name: str
    unit: str | None = None
    factor: float = 1.0
    values: tuple[tuple[str, object], ...] = ()
    #: "percent_change": the cell is a % change of the viable tumour sum, read as an mRECIST category.
    derive: str | None = None

    def recode(self, text: str) -> tuple[bool, object]:
        """``(True, schema value)`` when ``text`` is a declared cell text, else ``(False, None)``."""
        for key, value in self.values:
            if text == key or text.casefold() == key.casefold():
                return True, value
        return False, None


@dataclass(frozen=True)
class ColumnMapping:
    """A user's column names → schema variables, units and codings (see the module docstring)."""

    rules: tuple[ColumnRule, ...] = ()
    ignore: tuple[str, ...] = ()
    sheet: str | int | None = None
    #: Schema name → (unit, factor), for whichever column fills it.
    units: tuple[tuple[str, str, float], ...] = ()
    #: Schema name → its recoding of cell texts, for whichever column fills it.
    values: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    #: The user's column kept as the ``centre`` column (outside the schema).
    centre: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> ColumnMapping:
        """Read a mapping file: ``.yaml``/``.yml`` or ``.json``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PRIMEInputError(
                f"The mapping file '{path}' cannot be read ({error.strerror or error}).", field="mapping"
            ) from error
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except ImportError as error:
            raise PRIMEInputError(
                "Reading YAML mapping files needs the package PyYAML.",
                field="mapping",
                hint="pip install pyyaml",
            ) from error
        except Exception as error:  # json and yaml syntax errors alike
            kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
            raise PRIMEInputError(
                f"The mapping file '{path}' is not valid {kind}: {error}",
                field="mapping",
                value=str(path),
            ) from error
        return cls.from_dict(data, source=f"the mapping file '{path.name}'")

    @classmethod
    def from_dict(cls, data: object, *, source: str = "the column mapping") -> ColumnMapping:
        """Build a mapping from plain data; every problem in it is reported at once."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise PRIMEInputError(
                f"{source} must be a mapping with 'columns' (and optionally 'ignore', 'sheet').",
                field="mapping",
                value=data,
            )
        problems = [
            InputProblem(
                "mapping", f"Unknown key {show(key)} in {source}.", key, expected=", ".join(_MAPPING_KEYS)
            )
            for key in data
            if key not in _MAPPING_KEYS
        ]
        columns = data.get("columns") or {}
        if not isinstance(columns, Mapping):
            problems.append(
                InputProblem("columns", "'columns' must map column names to schema names.", columns)
            )
            columns = {}
        rules = []
        for column, spec in columns.items():
            try:
                rules.append(_rule(str(column), spec))
            except PRIMEInputError as error:
                problems.append(InputProblem.from_error(error, column=str(column)))
        ignore = data.get("ignore") or []
        if isinstance(ignore, str) or not isinstance(ignore, list):
            problems.append(InputProblem("ignore", "'ignore' must be a list of column names.", ignore))
            ignore = []
        sheet = data.get("sheet")
        if sheet is not None and not isinstance(sheet, str | int):
            problems.append(InputProblem("sheet", "'sheet' must be a sheet name or a 0-based index.", sheet))
            sheet = None
        units = _by_name(data.get("units"), "units", _named_unit, problems)
        values = _by_name(data.get("values"), "values", _named_values, problems)
        response = data.get("response")
        if response is not None:
            try:
                rule = _response_rule(response)
            except PRIMEInputError as error:
                problems.append(InputProblem.from_error(error, column=None))
            else:
                if rule.column in {r.column for r in rules}:
                    problems.append(
                        InputProblem(
                            "response",
                            f"Column {rule.column!r} is under both 'columns' and 'response'.",
                            rule.column,
                        )
                    )
                rules.append(rule)
        centre = data.get("centre")
        if centre is not None and not isinstance(centre, str):
            problems.append(InputProblem("centre", "'centre' must be the name of one column.", centre))
            centre = None
        targets = [rule.name for rule in rules]
        problems += [
            InputProblem(name, f"Several columns are mapped to {name!r}.", name)
            for name in sorted({n for n in targets if targets.count(n) > 1})
        ]
        if problems:
            raise ClinicalDataError(problems, source=source)
        return cls(
            tuple(rules),
            tuple(str(c) for c in ignore),
            sheet,
            tuple((name, *unit) for name, unit in units.items()),
            tuple(values.items()),
            centre,
        )


def _by_name(data: object, key: str, read, problems: list[InputProblem]) -> dict[str, object]:
    """A top-level section keyed by schema name (``units``, ``values``), each entry read by ``read``."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        problems.append(InputProblem(key, f"'{key}' must map schema names to entries.", data))
        return {}
    out = {}
    for name, entry in data.items():
        try:
            variable = CLINICAL_SCHEMA.get_variable(str(name))
            out[variable.name] = read(variable, entry)
        except PRIMEInputError as error:
            problem = InputProblem.from_error(error)
            field = str(name) if problem.field in ("", "mapping") else problem.field
            problems.append(replace(problem, field=field, message=f"In '{key}': {problem.message}"))
    return out


def _named_unit(variable: ClinicalVariable, unit: object) -> tuple[str, float]:
    if variable.kind not in (Kind.NUMBER, Kind.INTEGER):
        raise PRIMEInputError(f"{variable.name} has no unit to convert.", field=variable.name, value=unit)
    return str(unit), _unit_factor(variable, str(unit))


def _named_values(variable: ClinicalVariable, values: object) -> tuple[tuple[str, object], ...]:
    return _checked_targets(variable, _recoding(variable.name, values))


def _checked_targets(
    variable: ClinicalVariable, recoding: tuple[tuple[str, object], ...]
) -> tuple[tuple[str, object], ...]:
    """``recoding``, once every value it gives is allowed for ``variable`` (else a named error)."""
    for key, value in recoding:
        try:
            validate_value(variable.name, value)
        except PRIMEInputError as error:
            raise PRIMEInputError(
                f"'values' of {variable.name} turn {key!r} into {show(value)}, which is not allowed.",
                field=variable.name,
                value=value,
                expected=error.expected,
                hint=error.hint,
            ) from error
    return recoding


def _recoding(column: str, values: object) -> tuple[tuple[str, object], ...]:
    if not isinstance(values, Mapping):
        raise PRIMEInputError(
            f"'values' of {column!r} must map cell texts to schema values.", field="mapping", value=values
        )
    # YAML 1.1 reads unquoted yes/no/on/off keys as booleans: accept every spelling they stand for.
    spellings = {True: ("yes", "true", "on"), False: ("no", "false", "off")}
    return tuple(
        (text, value)
        for key, value in values.items()
        for text in (spellings[key] if isinstance(key, bool) else (_cell_text(key),))
    )


def _response_rule(spec: object) -> ColumnRule:
    if isinstance(spec, str):
        spec = {"from": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("from"), str):
        raise PRIMEInputError(
            "'response' needs the column it comes from.",
            field="response",
            value=spec,
            expected="{from: <column>} or {from: <column>, rule: percent_change}",
        )
    unknown = [key for key in spec if key not in _RESPONSE_KEYS]
    if unknown:
        raise PRIMEInputError(
            f"Unknown key(s) {', '.join(map(show, unknown))} under 'response'.",
            field="response",
            expected=", ".join(_RESPONSE_KEYS),
        )
    rule = spec.get("rule", "mrecist")
    if rule not in RESPONSE_RULES:
        raise PRIMEInputError(
            f"Unknown response rule {show(rule)}.",
            field="response",
            value=rule,
            expected=" or ".join(RESPONSE_RULES),
        )
    return ColumnRule(spec["from"], "mrecist", derive=None if rule == "mrecist" else rule)


def _normalise_unit(unit: str) -> str:
    table = str.maketrans({"µ": "u", "μ": "u", "⁹": "9", "²": "2", "³": "3", "^": None, " ": None, "*": None})
    return unit.translate(table).casefold().removeprefix("x")


def _rule(column: str, spec: object) -> ColumnRule:
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise PRIMEInputError(
            f"The mapping of column {column!r} needs a schema name.",
            field="mapping",
            value=spec,
            expected="a schema name, or {name: ..., unit: ..., scale: ..., values: {...}}",
        )
    unknown = [key for key in spec if key not in _RULE_KEYS]
    if unknown:
        raise PRIMEInputError(
            f"Unknown key(s) {', '.join(map(show, unknown))} in the mapping of column {column!r}.",
            field="mapping",
            expected=", ".join(_RULE_KEYS),
        )
    variable = CLINICAL_SCHEMA.get_variable(spec["name"])
    unit, scale, values = spec.get("unit"), spec.get("scale"), spec.get("values") or {}
    if unit is not None and scale is not None:
        raise PRIMEInputError(
            f"Give either 'unit' or 'scale' for column {column!r}, not both.", field="mapping"
        )
    if (unit is not None or scale is not None) and variable.kind not in (Kind.NUMBER, Kind.INTEGER):
        raise PRIMEInputError(
            f"{variable.name} has no unit to convert.", field="mapping", value=unit or scale
        )
    factor = 1.0
    if unit is not None:
        factor = _unit_factor(variable, str(unit))
    elif scale is not None:
        finite = isinstance(scale, int | float) and not isinstance(scale, bool) and math.isfinite(scale)
        if not finite or scale <= 0:
            raise PRIMEInputError(
                f"The scale of column {column!r} must be a positive number.", field="mapping", value=scale
            )
        factor = float(scale)
    recoding = _checked_targets(variable, _recoding(column, values))
    return ColumnRule(column, variable.name, None if unit is None else str(unit), factor, recoding)


def _unit_factor(variable: ClinicalVariable, unit: str) -> float:
    wanted = _normalise_unit(unit)
    if variable.unit and wanted == _normalise_unit(variable.unit):
        return 1.0
    for alternative in variable.alternative_units:
        if alternative.factor is not None and _normalise_unit(alternative.unit) == wanted:
            return alternative.factor
    known = [variable.unit] + [a.unit for a in variable.alternative_units if a.factor is not None]
    raise PRIMEInputError(
        f"Unknown unit {unit!r} for {variable.name}.",
        field="mapping",
        value=unit,
        expected="one of " + ", ".join(repr(u) for u in known if u),
        hint="Or give a 'scale' that converts the column to "
        + (variable.unit or "the schema's coding")
        + ".",
    )


# ----------------------------------------------------------------------------------------------
# Reading the file


def read_table(
    path: str | Path, sheet: str | int | None = None, *, what: str = "cohort file", field: str = "cohort"
) -> pd.DataFrame:
    """The cells of a CSV/TSV or Excel table, as written: CSV cells as text (blank cells ``""``, blank
    lines kept, so a row's position is its spreadsheet row), Excel cells as the sheet holds them.

    The delimiter (``,`` ``;`` tab ``|``) is sniffed and a UTF-8 byte-order mark dropped. ``what`` and
    ``field`` name the file in errors ("The cohort file 'x.csv' does not exist."). Used by
    :func:`read_cohort` and by batch manifests.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise PRIMEInputError(f"The {what} '{path}' does not exist.", field=field, value=str(path))
    try:
        if suffix in _CSV_SUFFIXES:
            text = path.read_text(encoding="utf-8-sig")
            try:
                delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
            return pd.read_csv(
                path,
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding="utf-8-sig",
            )
        if suffix in _EXCEL_SUFFIXES:
            try:
                return pd.read_excel(
                    path, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl"
                )
            except (ImportError, ValueError, KeyError):
                raise  # named below: openpyxl missing, a sheet that is not there
            except Exception as error:  # zipfile.BadZipFile, openpyxl's InvalidFileException: not a workbook
                raise PRIMEInputError(
                    f"The {what} '{path.name}' is not an Excel workbook ({type(error).__name__}: {error}).",
                    field=field,
                    value=str(path),
                    expected="an .xlsx or .xlsm workbook saved by Excel or LibreOffice",
                    hint="Open it in Excel and save it again as .xlsx, or save the sheet as CSV UTF-8.",
                ) from error
    except UnicodeDecodeError as error:
        raise PRIMEInputError(
            f"The {what} '{path.name}' is not UTF-8 text.",
            field=field,
            value=str(path),
            hint="Save it as 'CSV UTF-8' (Excel) or as .xlsx.",
        ) from error
    except ImportError as error:
        raise PRIMEInputError(
            "Reading Excel files needs the package openpyxl.", field=field, hint="pip install openpyxl"
        ) from error
    except (ValueError, KeyError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise PRIMEInputError(
            f"The {what} '{path.name}' cannot be read: {error}", field=field, value=str(path)
        ) from error
    raise PRIMEInputError(
        f"The {what} '{path.name}' has an unsupported type.",
        field=field,
        value=str(path),
        expected="a .csv, .tsv, .txt, .xlsx or .xlsm file",
        hint="Save .xls files as .xlsx.",
    )


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")
_WITH_UNIT = re.compile(r"^[+-]?\d+(\.\d+)?\s*[^\d\s.,].*$")


def _parse_number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    if _THOUSANDS.match(text):
        hint = "Remove the thousands separator (or, for a decimal comma, use a decimal point)."
    elif _DECIMAL_COMMA.match(text):
        hint = f"Use a decimal point: {text.replace(',', '.')}."
    elif text[:1] in "<>≤≥":
        hint = "A detection limit is not a value: enter the limit itself, or leave the cell empty."
    elif _WITH_UNIT.match(text):
        hint = "Remove the unit from the cell; declare the column's unit in the mapping file."
    else:
        hint = "Enter a number, or leave the cell empty when the value is unknown."
    raise PRIMEInputError(f"{text!r} is not a number.", field=name, value=text, hint=hint)


def _parse_cell(variable: ClinicalVariable, rule: ColumnRule, raw: object) -> object:
    """The typed value of one cell (``None`` when empty), before validation."""
    if is_missing(raw):
        return None
    if isinstance(raw, dt.date | dt.time | pd.Timestamp) and variable.kind is not Kind.TEXT:
        raise PRIMEInputError(
            f"{raw} is a date or time, not a value.",
            field=variable.name,
            value=str(raw),
            hint="Excel may have turned the entry into a date: format the column as Number or Text.",
        )
    if rule.values:
        found, value = rule.recode(_cell_text(raw))
        if found:
            return value
        if variable.kind in (Kind.ORDINAL, Kind.CATEGORY) and not any(
            _cell_text(raw).casefold() == str(code).casefold() for code in variable.codes
        ):
            raise PRIMEInputError(
                f"The code {_cell_text(raw)!r} is not under 'values' for {variable.name} in the mapping.",
                field=variable.name,
                value=_cell_text(raw),
                expected="one of " + ", ".join(repr(key) for key, _ in rule.values),
                hint=f"Add it under 'values' ({variable.expected()}), or correct the cell.",
            )
    if rule.derive == "percent_change":
        return _mrecist_from_change(_parse_number(_cell_text(raw), "mrecist"))
    if variable.kind is Kind.TEXT:
        return _cell_text(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if variable.kind in (Kind.NUMBER, Kind.INTEGER):
            raw = _parse_number(text, variable.name)
        else:
            try:
                number = float(text)
                raw = int(number) if number.is_integer() else number
            except ValueError:
                raw = text  # a category or a code's label; validation matches it
    if rule.factor != 1.0 and isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = raw * rule.factor
    return raw


def _mrecist_from_change(percent: float) -> str:
    """The mRECIST category of a % change of the viable tumour sum from baseline (the nadir, at the
    first follow-up): −100 % CR, ≤ −30 % PR, ≥ +20 % PD, else SD (Lencioni & Llovet 2010)."""
    if percent < -100:
        raise PRIMEInputError(
            f"A change of {percent:g} % is below −100 %.",
            field="mrecist",
            value=percent,
            expected="−100 or more",
        )
    if percent <= -100 + 1e-9:
        return "CR"
    if percent <= -30:
        return "PR"
    return "PD" if percent >= 20 else "SD"


def parse_value(name: str, cell: object) -> object:
    """A cell of the schema variable ``name``, typed as :func:`read_cohort` types an unmapped column
    ("58" → 58.0, "1" → 1 for a code, "TACE" stays text); ``None`` when empty. Not validated.

    Raises :class:`PRIMEInputError` for an unknown name or a cell that is not a number where one is due.
    """
    return _parse_cell(CLINICAL_SCHEMA.get_variable(name), ColumnRule(name, name), cell)


@dataclass(frozen=True)
class CohortImport:
    """An imported cohort: one row per case, columns = schema names, index = the file's row number."""

    table: pd.DataFrame
    warnings: tuple[str, ...]
    columns: dict[str, str]  # the user's column → the schema name it filled
    rules: tuple[ColumnRule, ...] = ()  # how each of those columns was read (units, codes)


def _plan_columns(
    frame: pd.DataFrame, mapping: ColumnMapping, problems: list[InputProblem]
) -> dict[str, ColumnRule]:
    """Which rule reads which column of ``frame``; unknown and missing columns become problems."""
    present = {str(c): c for c in frame.columns}
    by_column = {rule.column: rule for rule in mapping.rules}
    ignored = {c.casefold() for c in mapping.ignore}
    if mapping.centre is not None:
        ignored.add(mapping.centre.casefold())  # copied beside the table by the importer
        if mapping.centre not in present:
            problems.append(
                InputProblem(
                    "centre", f"The centre column {mapping.centre!r} is not in the file.", mapping.centre
                )
            )
    plan: dict[str, ColumnRule] = {}
    for column in present:
        if column in by_column:
            plan[column] = by_column[column]
        elif column.strip().casefold() in ignored:
            continue
        elif column.strip().casefold() in {n.casefold() for n in CLINICAL_SCHEMA.names}:
            name = next(n for n in CLINICAL_SCHEMA.names if n.casefold() == column.strip().casefold())
            plan[column] = ColumnRule(column, name)
        elif column.startswith("Unnamed:") and frame[present[column]].map(is_missing).all():
            continue  # an empty column without a header (spreadsheet residue)
        else:
            suggestions = CLINICAL_SCHEMA.suggest(column)
            problems.append(
                InputProblem(
                    "",
                    "Unknown column.",
                    column,
                    hint=(f"Did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else "")
                    + "Map it under 'columns' in the mapping file, or list it under 'ignore'.",
                    column=column,
                )
            )
    for column, rule in by_column.items():
        if column not in present:
            close = [c for c in present if c.casefold() == column.casefold()]
            problems.append(
                InputProblem(
                    rule.name,
                    f"The mapping names column {column!r}, which is not in the file.",
                    column,
                    hint=f"Did you mean {close[0]!r}?" if close else None,
                    column=column,
                )
            )
    targets = [rule.name for rule in plan.values()]
    for name in sorted({n for n in targets if targets.count(n) > 1}):
        columns = [c for c, r in plan.items() if r.name == name]
        problems.append(InputProblem(name, f"Columns {columns} all fill {name!r}.", name))
    return _by_name_sections(plan, mapping, problems)


def _by_name_sections(
    plan: dict[str, ColumnRule], mapping: ColumnMapping, problems: list[InputProblem]
) -> dict[str, ColumnRule]:
    """The plan with the mapping's ``units`` and ``values`` (keyed by schema name) applied to the rule
    of the column that fills each name."""
    column_of = {rule.name: column for column, rule in plan.items()}
    for name, unit, factor in mapping.units:
        column = column_of.get(name)
        if column is None:
            problems.append(InputProblem(name, f"'units' names {name!r}, but no column fills it.", name))
        elif plan[column].unit is not None or plan[column].factor != 1.0:
            problems.append(
                InputProblem(
                    name, f"The unit of {name!r} is given twice (under 'columns' and 'units').", unit
                )
            )
        else:
            plan[column] = replace(plan[column], unit=unit, factor=factor)
    for name, recoding in mapping.values:
        column = column_of.get(name)
        if column is None:
            problems.append(InputProblem(name, f"'values' names {name!r}, but no column fills it.", name))
        else:
            plan[column] = replace(plan[column], values=(*plan[column].values, *recoding))
    return plan


def read_cohort(
    path: str | Path,
    mapping: ColumnMapping | Mapping[str, object] | str | Path | None = None,
    *,
    sheet: str | int | None = None,
    derive: bool = True,
) -> CohortImport:
    """Import a cohort from CSV or Excel into canonical schema names and units.

    ``mapping`` is a :class:`ColumnMapping`, its plain-data form, or the path of a mapping file.
    With ``derive`` the derived indices (ALBI, PNI, Δ changes, …) are added per case. Raises one
    :class:`ClinicalDataError` listing every bad cell (row, column, problem) of the file.
    """
    path = Path(path)
    if isinstance(mapping, str | Path):
        mapping = ColumnMapping.load(mapping)
    elif not isinstance(mapping, ColumnMapping):
        mapping = ColumnMapping.from_dict(mapping)
    frame = read_table(path, sheet if sheet is not None else mapping.sheet)
    problems: list[InputProblem] = []
    plan = _plan_columns(frame, mapping, problems)
    rows: dict[int, dict[str, object]] = {}
    warnings: list[str] = []
    seen_ids: dict[str, int] = {}
    source_of = {rule.name: column for column, rule in plan.items()}
    for position, cells in enumerate(frame.itertuples(index=False, name=None)):
        row = position + 2  # the header is row 1
        if all(is_missing(cell) for cell in cells):
            continue
        record: dict[str, object] = {}
        for column, cell in zip(frame.columns, cells, strict=True):
            rule = plan.get(str(column))
            if rule is None:
                continue
            try:
                record[rule.name] = _parse_cell(CLINICAL_SCHEMA.get_variable(rule.name), rule, cell)
            except PRIMEInputError as error:
                problems.append(InputProblem.from_error(error, row=row, column=str(column)))
        case_id = record.get("case_id")
        if isinstance(case_id, str) and case_id:
            if case_id in seen_ids:
                problems.append(
                    InputProblem(
                        "case_id",
                        f"Case {case_id!r} also appears in row {seen_ids[case_id]}.",
                        case_id,
                        row=row,
                        column=source_of.get("case_id"),
                    )
                )
            seen_ids.setdefault(case_id, row)
        try:
            checked = prepare_record(record) if derive else validate_record(record)
        except ClinicalDataError as error:
            problems += [_locate(problem, row, source_of, plan) for problem in error.problems]
            continue
        rows[row] = checked.values
        warnings += [f"row {row}: {warning}" for warning in checked.warnings]
    if problems:
        raise ClinicalDataError(problems, source=f"'{path.name}'")
    if not rows:
        raise PRIMEInputError(
            f"The cohort file '{path.name}' has no data rows.", field="cohort", value=str(path)
        )
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table[[n for n in CLINICAL_SCHEMA.names if n in table.columns]]
    table.index.name = "row"
    return CohortImport(
        table, tuple(warnings), {column: rule.name for column, rule in plan.items()}, tuple(plan.values())
    )


def _locate(
    problem: InputProblem, row: int, source_of: dict[str, str], plan: dict[str, ColumnRule]
) -> InputProblem:
    """Attach the row and the user's column to a problem found by validation."""
    column = source_of.get(problem.field, problem.field)
    rule = plan.get(column)
    message, hint = problem.message, problem.hint
    if rule is not None and rule.factor != 1.0:
        unit = rule.unit or f"a scale of {rule.factor:g}"
        message = f"{message.rstrip('.')} (converted from {unit} in column {column!r})."
        variable = CLINICAL_SCHEMA.get_variable(rule.name)
        if isinstance(problem.value, float) and variable.minimum is not None and variable.maximum is not None:
            cell = problem.value / rule.factor
            if variable.minimum <= cell <= variable.maximum:
                hint = (
                    f"The cell, {cell:g}, is already a valid {variable.unit} value: is the column in {unit}?"
                )
    return InputProblem(problem.field, message, problem.value, problem.expected, hint, row, column)
