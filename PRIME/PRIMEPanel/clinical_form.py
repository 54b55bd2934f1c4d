"""The clinical form's rules, without Qt: its fields from the clinical schema, what a field's text
means (the canonical value, or the reason it is invalid), the live derived indices, record files."""

from __future__ import annotations

import csv

try:
    from slicer.i18n import tr as _
except ImportError:  # plain Python, outside Slicer: the source text

    def _(text: str) -> str:
        return text


#: Schema groups that are follow-up measurements or outcomes, not inputs at treatment start.
NOT_FORM_GROUPS = ("response", "outcome")

#: Derived indices shown live under the clinical form, in this order.
DERIVED_SHOWN = ("albi_score", "albi_grade", "pni", "child_pugh", "child_pugh_class", "bclc", "nlr")

#: Schema groups whose boxes start expanded (the others start collapsed).
EXPANDED_GROUPS = ("case", "demographics", "labs")


class FormField:
    """One input of the clinical form, from the clinical schema (what the widget needs to show)."""

    def __init__(self, variable) -> None:
        self.name = variable.name
        self.label = variable.label
        self.kind = str(getattr(variable.kind, "value", variable.kind))
        self.group = variable.group
        self.unit = variable.unit
        self.minimum = variable.minimum
        self.maximum = variable.maximum
        #: [(code, text shown)]; empty for numbers and text. The first entry is "not given".
        self.choices = (
            [("", "—")] + [(choice.code, f"{choice.code}: {choice.label}") for choice in variable.choices]
            if variable.choices
            else []
        )
        self.toolTip = f"{variable.help}\n{_('Expected')}: {variable.expected()}".strip()

    @property
    def placeholder(self) -> str:
        """Text shown in an empty number field: the valid range and unit."""
        if self.minimum is None or self.maximum is None:
            return self.unit
        return f"{self.minimum:g}–{self.maximum:g} {self.unit}".strip()

    @property
    def rowLabel(self) -> str:
        """The form row's label: the variable's label and unit."""
        return self.label + (f" ({self.unit})" if self.unit else "") + ":"

    @property
    def groupTitle(self) -> str:
        return self.group.replace("_", " ").capitalize()


def clinicalFormFields() -> list[FormField]:
    """The clinical form's inputs, in schema order: entered values only (no derived index, no outcome)."""
    from PRIMELib.clinical import CLINICAL_SCHEMA

    return [
        FormField(variable)
        for variable in CLINICAL_SCHEMA
        if not variable.is_derived and variable.group not in NOT_FORM_GROUPS
    ]


def clinicalFieldValue(name: str, text) -> tuple[object, str]:
    """What a form field's text means: (canonical value or None when blank, error message or "")."""
    from PRIMELib.clinical import CLINICAL_SCHEMA
    from PRIMELib.clinical.validation import validate_value
    from PRIMELib.errors import PRIMEInputError

    text = "" if text is None else str(text).strip()
    if text == "":
        return None, ""
    variable = CLINICAL_SCHEMA.get_variable(name)
    kind = str(getattr(variable.kind, "value", variable.kind))
    value: object = text
    if kind in ("number", "integer") or (kind == "ordinal" and text.lstrip("-").isdigit()):
        try:
            number = float(text)
        except ValueError:
            expected = variable.expected()
            return None, f"{variable.label}: '{text}' {_('is not a number')}. {_('Expected')} {expected}."
        value = int(number) if number.is_integer() and kind != "number" else number
    try:
        value, _warnings = validate_value(name, value)
    except PRIMEInputError as error:
        return None, str(error)
    return value, ""


def clinicalRecordFromTexts(texts: dict) -> tuple[dict, dict]:
    """The form's texts as a clinical record: (valid values by name, error message by name)."""
    record, errors = {}, {}
    for name, text in texts.items():
        value, error = clinicalFieldValue(name, text)
        if error:
            errors[name] = error
        elif value is not None:
            record[name] = value
    return record, errors


def recordFromSavedJson(text) -> tuple[dict, str]:
    """The clinical record a scene holds (its parameter ``clinicalRecordJson``) and a warning ("" when
    none). Text that is not a JSON object (a hand-edited .mrml, an older version) gives an empty record
    and a warning saying so: the form shows it empty, never a traceback."""
    import json

    if not text:
        return {}, ""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        problem = _("it is not valid JSON") + f" ({str(error)[:200]})"
    else:
        if isinstance(record, dict):
            return record, ""
        problem = _("it holds a {kind}, not an object of values").format(kind=type(record).__name__)
    return {}, _(
        "The clinical record saved in this scene cannot be read: {problem}. The form is empty: enter the "
        "values again, or load the record from its file."
    ).format(problem=problem)


def clinicalTextsFromRecord(record: dict) -> dict:
    """Text for each form field from a record (blank for values it lacks). Valid values are shown in
    canonical form (an alias such as "M" as the code "male"); invalid ones as given, to be marked."""
    texts = {}
    for field in clinicalFormFields():
        value = record.get(field.name)
        canonical, error = clinicalFieldValue(field.name, value)
        if not error:
            value = canonical
        if value is None:
            texts[field.name] = ""
        else:
            texts[field.name] = f"{value:g}" if isinstance(value, float) else str(value)
    return texts


def derivedIndicesText(record: dict) -> str:
    """Live text under the form: ALBI, PNI, Child–Pugh, … and the Δ changes, from the valid values."""
    from PRIMELib.clinical import CLINICAL_SCHEMA, prepare_record
    from PRIMELib.errors import PRIMEInputError

    try:
        values = prepare_record(record).values
    except PRIMEInputError as error:
        return _("Derived indices unavailable: ") + str(error)
    lines = []
    shown = list(DERIVED_SHOWN) + [name for name in values if name.startswith("delta_")]
    for name in shown:
        if values.get(name) is None:
            continue
        variable = CLINICAL_SCHEMA.get_variable(name)
        value = values[name]
        if name.startswith("delta_"):
            text = f"{value:+.0%}"
        elif isinstance(value, float):
            text = f"{value:.2f}"
        else:
            text = str(value)
        lines.append(f"{variable.label}: {text}")
    return "\n".join(lines) if lines else _("Derived indices appear as the values they need are entered.")


def loadClinicalRecord(path, caseId: str | None = None) -> dict:
    """A clinical record from a JSON object file, or from the row of a CSV file whose case_id is ``caseId``
    (the only row when the file has one). Values are returned as given (the form validates them)."""
    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.pipeline import load_clinical_record

    if not str(path).lower().endswith((".csv", ".tsv")):
        return load_clinical_record(path)
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file, delimiter="\t" if str(path).lower().endswith(".tsv") else ","))
    if caseId:
        rows = [row for row in rows if (row.get("case_id") or "").strip() == caseId]
    if len(rows) != 1:
        ids = ", ".join((row.get("case_id") or "?") for row in rows[:10])
        raise PRIMEInputError(
            f"The clinical table '{path}' has {len(rows)} rows for case '{caseId or ''}'"
            + (f" ({ids})" if ids else "")
            + ".",
            field="case_id",
            value=caseId,
            expected="exactly one row with that case_id",
            hint="Type the case_id of the row to load.",
        )
    return {name: text.strip() for name, text in rows[0].items() if name and text and text.strip()}


def saveClinicalRecord(record: dict, path) -> None:
    """Write the clinical record as a JSON object (canonical names and units), atomically."""
    from PRIMELib.io import write_json

    write_json(path, record)
