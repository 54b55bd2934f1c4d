"""``prime import-clinical``: a clinical sheet in its own conventions → PRIME's canonical table.

The sheet (CSV, TSV or Excel, read by :func:`~PRIMELib.clinical.cohort.read_table`) and a mapping file
(YAML, read with ``yaml.safe_load``; format in :mod:`PRIMELib.clinical.cohort` and the README) give:

* ``clinical.csv``: one row per case, the schema's names, units and codes (``case_id`` first, then the
  schema's order; ``centre`` last when the mapping names one). The response label is added when it
  comes from mRECIST codes or a % change.
* ``clinical.import.json`` and ``clinical.import.md`` beside it: every decision — renamed columns, unit
  conversions, recoded values (with counts), labels derived, columns ignored — and the warnings.

Nothing is written unless the whole sheet imports: every problem is reported at once, and each file
is written to a temporary name and moved into place.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PRIMELib.clinical.cohort import ColumnMapping, _cell_text, read_cohort, read_table
from PRIMELib.clinical.schema import CLINICAL_SCHEMA
from PRIMELib.clinical.validation import is_missing
from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import write_atomically

__all__ = ["ImportReport", "import_clinical", "report_paths"]


@dataclass
class ImportReport:
    """Every decision of one import (see the module docstring)."""

    sheet: str
    mapping: str
    output: str
    cases: int
    renamed: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    conversions: list[dict[str, object]] = field(default_factory=list)
    recoded: list[dict[str, object]] = field(default_factory=list)
    derived: list[dict[str, object]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "sheet": self.sheet,
            "mapping": self.mapping,
            "output": self.output,
            "cases": self.cases,
            "renamed": self.renamed,
            "kept": self.kept,
            "unit_conversions": self.conversions,
            "recoded_values": self.recoded,
            "derived_labels": self.derived,
            "ignored_columns": self.ignored,
            "warnings": self.warnings,
        }

    def markdown(self) -> str:
        lines = [
            f"# Import of {self.sheet}",
            "",
            f"Mapping: {self.mapping}. Output: {self.output}, {self.cases} cases.",
            "",
            "## Renamed columns",
            "",
        ]
        lines += [f"- `{their}` → `{name}`" for their, name in self.renamed.items()] or ["- none"]
        lines += [f"- `{their}` kept as `{name}`" for their, name in self.kept.items()]
        lines += ["", "## Unit conversions", ""]
        lines += [
            f"- `{c['column']}` ({c['from']}) → `{c['name']}` ({c['to']}): × {c['factor']:g}"
            for c in self.conversions
        ] or ["- none"]
        lines += ["", "## Recoded values", ""]
        lines += [
            f"- `{r['column']}` → `{r['name']}`: "
            + ", ".join(f"{k} → {v} ({_cases(r['counts'].get(k, 0))})" for k, v in r["codes"].items())
            for r in self.recoded
        ] or ["- none"]
        lines += ["", "## Derived labels", ""]
        lines += [
            f"- {d['label']} from `{d['column']}`: {d['rule']}; {d['counts']}" for d in self.derived
        ] or ["- none"]
        lines += ["", "## Ignored columns", ""]
        lines += [f"- `{c}`" for c in self.ignored] or ["- none"]
        if self.warnings:
            lines += ["", "## Warnings", ""] + [f"- {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def _cases(count: int) -> str:
    return f"{count} case" + ("" if count == 1 else "s")


def report_paths(output: str | Path) -> dict[str, Path]:
    """Where the import report of ``output`` goes: ``<stem>.import.json`` and ``<stem>.import.md``."""
    output = Path(output)
    return {kind: output.with_name(f"{output.stem}.import.{kind}") for kind in ("json", "md")}


_RESPONSE_RULE_WORDS = {
    "mrecist": "mRECIST CR/PR → responder (1), SD/PD → non-responder (0)",
    "percent_change": "% change of the viable tumour sum: −100 % CR, ≤ −30 % PR, ≥ +20 % PD, else SD; "
    "CR/PR → responder (1), SD/PD → non-responder (0)",
}


def import_clinical(
    sheet: str | Path, mapping: str | Path, output: str | Path, *, sheet_name: str | int | None = None
) -> ImportReport:
    """Import ``sheet`` through ``mapping`` and write the canonical table to ``output`` (CSV) with its
    report beside it (:func:`report_paths`). Raises one :class:`ClinicalDataError` listing every
    problem; then nothing is written."""
    sheet, output = Path(sheet), Path(output)
    if output.suffix.lower() != ".csv":
        raise PRIMEInputError(
            f"The output '{output.name}' must be a .csv file.", field="output", value=str(output)
        )
    if output.resolve() == sheet.resolve():
        raise PRIMEInputError("The output would overwrite the sheet.", field="output", value=str(output))
    column_mapping = ColumnMapping.load(mapping)
    imported = read_cohort(sheet, column_mapping, sheet=sheet_name)
    raw = read_table(sheet, sheet_name if sheet_name is not None else column_mapping.sheet)
    filled = set(imported.columns.values())
    if "case_id" not in filled:
        raise PRIMEInputError(
            f"The sheet '{sheet.name}' has no case identifier.",
            field="case_id",
            hint="Map the column of patient identifiers to case_id under 'columns'.",
        )
    wanted = filled | ({"response"} if "mrecist" in filled else set())
    table = imported.table.reindex(columns=[n for n in CLINICAL_SCHEMA.names if n in wanted])
    rows = imported.table.index.to_numpy() - 2  # read_cohort's index is the spreadsheet row
    if column_mapping.centre is not None:
        table["centre"] = raw[column_mapping.centre].to_numpy()[rows]
    report = ImportReport(str(sheet.name), str(Path(mapping).name), str(output.name), len(table))
    report.renamed = {c: n for c, n in imported.columns.items() if c != n}
    if column_mapping.centre is not None:
        report.kept[column_mapping.centre] = "centre"
    for rule in imported.rules:
        variable = CLINICAL_SCHEMA.get_variable(rule.name)
        if rule.factor != 1.0:
            report.conversions.append(
                {
                    "column": rule.column,
                    "name": rule.name,
                    "from": rule.unit or f"scale {rule.factor:g}",
                    "to": variable.unit,
                    "factor": rule.factor,
                }
            )
        if rule.values:
            cells = Counter(_cell_text(v) for v in raw[rule.column] if not is_missing(v))
            counts = {
                key: sum(n for c, n in cells.items() if c.casefold() == key.casefold())
                for key, _ in rule.values
            }
            codes = {key: value for key, value in rule.values if counts[key]}
            report.recoded.append(
                {"column": rule.column, "name": rule.name, "codes": codes, "counts": counts}
            )
        if rule.name == "mrecist" and "response" not in filled:
            counts = table["mrecist"].value_counts().to_dict()
            responders = int(table["response"].sum())
            report.derived.append(
                {
                    "label": "response",
                    "column": rule.column,
                    "rule": _RESPONSE_RULE_WORDS[rule.derive or "mrecist"],
                    "counts": f"{responders} responders of {int(table['response'].notna().sum())} "
                    f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})",
                }
            )
    report.ignored = [
        str(c) for c in raw.columns if str(c) not in imported.columns and str(c) != column_mapping.centre
    ]
    report.warnings = list(imported.warnings)
    paths = report_paths(output)
    # The report first, the table last: a table never stands without the report of its decisions.
    write_atomically(paths["json"], lambda tmp: Path(tmp).write_text(_json(report), encoding="utf-8"))
    write_atomically(paths["md"], lambda tmp: Path(tmp).write_text(report.markdown(), encoding="utf-8"))
    # Ten significant digits: 0.98 mg/dL × 17.1 is written 16.758, not 16.758000000000003.
    write_atomically(output, lambda tmp: table.to_csv(tmp, index=False, float_format="%.10g"))
    return report


def _json(report: ImportReport) -> str:
    import json

    from PRIMELib.io import to_jsonable

    return json.dumps(to_jsonable(report.to_dict()), indent=2, ensure_ascii=False) + "\n"
