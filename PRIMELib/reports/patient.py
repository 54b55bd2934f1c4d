"""The one-patient report (HTML and PDF) from a scoring result.

:func:`write_patient_report` takes what scoring returns — a :class:`PRIMELib.scoring.ScoreResult`,
its ``to_dict()``, or the ``result.json`` that ``prime score`` writes — so a report can also be made later.

The report shows the case id as given (it may be a pseudonym; nothing else that could identify the
patient is shown, and of a clinical record only schema variables are), the date, the inputs with
units and imputed values marked, PRIME-R and PRIME-S with their thresholds, survival at 6/12/24/36
months and the predicted survival curve, the quadrant with its plain-language line, the top
contributing features of each endpoint, the warnings, a model-card summary, and a "research use only"
banner. Figures are embedded in both files (the HTML is self-contained); with ``figures=True`` they
are also kept as PNG and SVG in a ``<stem>_figures/`` folder beside the report.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from PRIMELib.errors import PRIMEInputError
from PRIMELib.reports.document import Document, format_cell
from PRIMELib.reports.patient_figures import contribution_figure, save_figure, survival_figure
from PRIMELib.scoring import REPORT_MONTHS

__all__ = ["BANNER", "REQUIRED_FIELDS", "load_result", "patient_report_document", "write_patient_report"]

BANNER = "Research use only — not for clinical decisions."
FORMATS = ("html", "pdf")
#: What a result must hold to make a report; the rest (explanations, curve, card, warnings) is optional.
REQUIRED_FIELDS = (
    "case_id",
    "response_probability",
    "response_class",
    "risk_score",
    "risk_group",
    "survival",
    "quadrant",
    "quadrant_text",
    "imputed_fields",
    "inputs",
    "model_name",
)
PHASES = ("arterial", "venous")


# ---------------------------------------------------------------------------------------------
# Reading a result


def load_result(result: object) -> dict[str, object]:
    """A scoring result as a checked plain dict: from a result object, its ``to_dict()``, or a JSON file.

    Raises :class:`PRIMEInputError` naming the first missing or malformed field.
    """
    if isinstance(result, str | Path):
        path = Path(result)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise PRIMEInputError(
                f"The scoring result '{path}' could not be read ({type(error).__name__}: {error}).",
                field="result",
                value=str(path),
                expected="the result.json that `prime score` writes",
            ) from error
    elif hasattr(result, "to_dict"):
        data = result.to_dict()
    elif isinstance(result, Mapping):
        data = dict(result)
    else:
        raise PRIMEInputError(
            f"A patient report cannot be made from a {type(result).__name__}.",
            field="result",
            expected="a ScoreResult, its to_dict(), or a result.json path",
        )
    if not isinstance(data, dict):
        raise PRIMEInputError(
            f"The scoring result holds a {type(data).__name__}, not an object.", field="result"
        )
    for name in REQUIRED_FIELDS:
        if name not in data or data[name] is None:
            raise PRIMEInputError(
                f"The scoring result lacks the field '{name}'.",
                field=name,
                expected=f"a PRIME scoring result with the fields {', '.join(REQUIRED_FIELDS)}",
                hint="Make the report from the result.json that `prime score` writes, or rescore the case.",
            )
    probability = _number(data, "response_probability")
    if not 0.0 <= probability <= 1.0:
        raise PRIMEInputError(
            f"response_probability = {probability} is not a probability.",
            field="response_probability",
            value=probability,
            expected="a number from 0 to 1",
        )
    _number(data, "risk_score")
    if data.get("survival_landmark_days") is not None and _number(data, "survival_landmark_days") <= 0:
        raise PRIMEInputError(
            f"survival_landmark_days = {data['survival_landmark_days']} is not a landmark.",
            field="survival_landmark_days",
            value=data["survival_landmark_days"],
            expected="days after treatment start, > 0, or null",
        )
    for name in ("survival", "inputs"):
        if not isinstance(data[name], Mapping):
            raise PRIMEInputError(
                f"The field '{name}' of the scoring result is a {type(data[name]).__name__}.",
                field=name,
                expected="an object of named numbers",
            )
    for months in REPORT_MONTHS:
        if f"{months}_months" not in data["survival"]:
            raise PRIMEInputError(
                f"The scoring result's survival lacks '{months}_months'.",
                field="survival",
                value=sorted(data["survival"]),
                expected=", ".join(f"{m}_months" for m in REPORT_MONTHS),
            )
    return data


def _number(data: Mapping, name: str) -> float:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PRIMEInputError(
            f"The field '{name}' of the scoring result is {value!r}.",
            field=name,
            value=value,
            expected="a finite number",
        )
    return float(value)


def landmark_phrase(data: Mapping) -> str:
    """ "" for survival from treatment start; for a landmark model (models/landmark.py) whose curve is
    survival of a patient alive at the landmark, e.g. "for patients alive at 1 month"."""
    days = data.get("survival_landmark_days")
    if not days:
        return ""
    when = "1 month" if float(days) == 30.0 else f"day {float(days):g}"
    return f"for patients alive at {when}"


def _curve(data: dict) -> tuple[list[tuple[float, float]], str]:
    """The predicted survival curve [(month, S)] and what it is."""
    curve = data.get("survival_curve")
    if curve:
        return [(float(p["month"]), float(p["survival"])) for p in curve], "steps"
    # A result from an unknown model without its curve: only the report months are known.
    points = [(0.0, 1.0)] + [(float(m), float(data["survival"][f"{m}_months"])) for m in REPORT_MONTHS]
    return points, "points"


# ---------------------------------------------------------------------------------------------
# Tables


def _unit_and_label(feature: str) -> tuple[str, str, str]:
    """(display name, unit, group) of a model input: clinical from the schema, radiomics by name."""
    from PRIMELib.clinical import CLINICAL_SCHEMA

    if feature in CLINICAL_SCHEMA:
        variable = CLINICAL_SCHEMA.get_variable(feature)
        return f"{variable.label} ({feature})", variable.unit, "clinical"
    if feature.startswith(tuple(f"{p}_" for p in PHASES)):
        return feature, _radiomics_unit(feature), "radiomics"
    return feature, "", "clinical"


def _radiomics_unit(feature: str) -> str:
    """The physical unit of a PyRadiomics feature where it has one (most texture features have none).

    PyRadiomics documents its units per feature but exposes none; this covers the shape features and
    the first-order intensity features of the unfiltered image (in HU, as CT is).
    """
    parts = feature.split("_")
    if len(parts) < 4:
        return ""
    image_type, feature_class, name = parts[1], parts[2], "_".join(parts[3:])
    if feature_class == "shape":
        if name in ("MeshVolume", "VoxelVolume"):
            return "mm³"
        if name == "SurfaceArea":
            return "mm²"
        if "Diameter" in name or "AxisLength" in name:
            return "mm"
        return ""
    if feature_class == "firstorder" and image_type == "original":
        if name in ("Variance",):
            return "HU²"
        if name in (
            "Mean",
            "Median",
            "Minimum",
            "Maximum",
            "10Percentile",
            "90Percentile",
            "Range",
            "InterquartileRange",
            "MeanAbsoluteDeviation",
            "RobustMeanAbsoluteDeviation",
            "RootMeanSquared",
        ):
            return "HU"
    return ""


def _coded(feature: str, value: object) -> str:
    """A value as text, with its coding's label for ordinal and categorical variables (ECOG 1 → ...).

    A result's inputs hold a text-coded variable by its code's position (immunotherapy 0): shown as
    the code itself (camrelizumab), never as the bare position."""
    from PRIMELib.clinical import CLINICAL_SCHEMA
    from PRIMELib.clinical.coding import schema_code
    from PRIMELib.errors import PRIMEInputError

    text = format_cell(value)
    if feature in CLINICAL_SCHEMA:
        try:
            code = schema_code(feature, value)
        except PRIMEInputError:
            return text
        if code is not None:
            text = format_cell(code) if isinstance(code, str) else text
            for choice in CLINICAL_SCHEMA.get_variable(feature).choices:
                if str(choice.code) == str(code) and choice.label != str(choice.code):
                    return f"{text} ({choice.label})"
    return text


def _input_tables(data: dict, imputed_rule: str) -> tuple[list[dict], list[dict]]:
    """Rows of the clinical-inputs table and the radiomics-inputs table."""
    from PRIMELib.clinical import CLINICAL_SCHEMA

    imputed = set(data["imputed_fields"])
    order = {name: i for i, name in enumerate(CLINICAL_SCHEMA.names)}
    clinical, radiomics = [], []
    for feature in sorted(data["inputs"], key=lambda f: (order.get(f, len(order)), f)):
        value = data["inputs"][feature]
        label, unit, group = _unit_and_label(feature)
        mark = f"IMPUTED ({imputed_rule})" if feature in imputed else "entered"
        if group == "radiomics":
            phase, name = feature.split("_", 1)
            radiomics.append(
                {"phase": phase, "feature": name, "value": format_cell(value), "unit": unit, "source": mark}
            )
        else:
            clinical.append({"input": label, "value": _coded(feature, value), "unit": unit, "source": mark})
    return clinical, radiomics


def _record_rows(record: Mapping[str, object]) -> list[dict]:
    """The clinical record as entered: schema variables only (never free text or unknown columns, which
    could hold identifiers), in schema order."""
    from PRIMELib.clinical import CLINICAL_SCHEMA, Kind

    rows = []
    for variable in CLINICAL_SCHEMA:
        if variable.kind is Kind.TEXT or variable.group == "outcome" or variable.name not in record:
            continue
        value = record[variable.name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        rows.append(
            {
                "variable": f"{variable.label} ({variable.name})",
                "value": _coded(variable.name, value),
                "unit": variable.unit,
            }
        )
    return rows


def _contribution_rows(items: Sequence[Mapping], endpoint: str) -> list[dict]:
    up, down = (
        ("raises the response probability", "lowers the response probability")
        if endpoint == "response"
        else ("raises the survival risk", "lowers the survival risk")
    )
    rows = []
    for item in items:
        contribution = float(item["contribution"])
        row = {"feature": str(item["feature"])}
        if "value" in item:
            row["value"] = format_cell(item["value"])
        row["contribution"] = f"{contribution:+.3f}" if round(contribution, 3) else "0.000"
        row["effect"] = up if contribution > 0 else down if contribution < 0 else "none"
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# The report


def _today() -> dt.date:
    return dt.date.today()


def patient_report_document(
    result: object,
    *,
    record: Mapping[str, object] | None = None,
    figure_folder: Path,
    figure_formats: tuple[str, ...] = ("png", "svg"),
) -> tuple[Document, dict[str, Path]]:
    """The report as a :class:`Document`, and its figures (written into ``figure_folder``; PNG is
    needed, it is what the document embeds)."""
    data = load_result(result)
    card = dict(data.get("model_card") or {})
    thresholds = dict(data.get("thresholds") or {})
    bundle = bool(data.get("survival_curve") or data.get("explanation"))
    imputed_rule = "missing; training median used" if bundle else "missing; the model's reference value used"
    case_id = str(data["case_id"])
    today = _today().isoformat()

    doc = Document("PRIME patient report", subtitle=f"Case {case_id} · report date {today}")
    model_warning = str(card.get("warning") or "").strip()
    if "research use only" in model_warning.lower():
        model_warning = ""  # the banner says it already
    doc.paragraph(f"{BANNER.upper()} {model_warning}".strip(), style="warning")
    doc.table(
        [
            {"item": "Case id", "value": case_id},
            {"item": "Report date", "value": today},
            {"item": "Model", "value": str(data["model_name"])},
        ]
    )
    doc.paragraph(
        "The case id is shown as given (it may be a pseudonym); the report holds no other identifier.",
        style="note",
    )

    # Predictions
    probability, risk = float(data["response_probability"]), float(data["risk_score"])
    threshold, cutoff = thresholds.get("response_threshold"), thresholds.get("risk_cutoff")
    doc.heading("Predictions")
    rows = [
        {
            "endpoint": "PRIME-R: probability of objective response at 3 months (mRECIST)",
            "value": f"{probability:.3f} ({100 * probability:.1f} %)",
            "class": str(data["response_class"]),
            "threshold": "not recorded" if threshold is None else f"{threshold:.3f} (at or above: responder)",
        },
        {
            "endpoint": "PRIME-S: overall-survival risk score",
            "value": f"{risk:+.3f}",
            "class": f"{data['risk_group']} risk",
            "threshold": "not recorded" if cutoff is None else f"{cutoff:+.3f} (above: high risk)",
        },
    ]
    rows += [
        {
            "endpoint": f"PRIME-S: predicted survival at {m} months"
            + (f" ({landmark_phrase(data)})" if landmark_phrase(data) else ""),
            "value": f"{float(data['survival'][f'{m}_months']):.3f} "
            f"({100 * float(data['survival'][f'{m}_months']):.1f} %)",
            "class": "",
            "threshold": "",
        }
        for m in REPORT_MONTHS
    ]
    doc.table(rows, caption="PRIME-R and PRIME-S")
    doc.heading("Quadrant", level=3)
    doc.paragraph(f"{data['quadrant']}: {data['quadrant_text']}")

    figures: dict[str, Path] = {}
    curve, kind = _curve(data)
    survival_png = save_figure(
        survival_figure(curve, kind, data["survival"], str(data["risk_group"]), landmark_phrase(data)),
        figure_folder,
        "survival_curve",
        figure_formats,
    )
    figures.update(survival_png)
    doc.figure(
        survival_png["survival_curve.png"],
        caption="Predicted overall survival of this case; dots mark 6, 12, 24 and 36 months."
        + (
            f" PRIME-S is a landmark model: this is survival {landmark_phrase(data)}, in months from "
            "the start of treatment, and the curve starts at the landmark."
            if landmark_phrase(data)
            else ""
        )
        + (" Only those months are known for this result: the lines join them." if kind == "points" else ""),
    )

    # Contributions
    explanation = dict(data.get("explanation") or {})
    doc.heading("What moved the predictions")
    top_response = list(data.get("top_response_features") or [])
    top_survival = list(data.get("top_survival_features") or [])
    if top_response or top_survival:
        response_units = str(explanation.get("response_units", "log-odds of response"))
        survival_units = str(explanation.get("survival_units", "PRIME-S risk score"))
        chart = save_figure(
            contribution_figure(top_response, top_survival, response_units, survival_units),
            figure_folder,
            "contributions",
            figure_formats,
        )
        figures.update(chart)
        doc.figure(
            chart["contributions.png"],
            caption="Top contributing features: signed contributions to PRIME-R (left, "
            f"{response_units}) and PRIME-S (right, {survival_units}).",
        )
        if top_response:
            doc.table(_contribution_rows(top_response, "response"), caption="PRIME-R: top features")
        if top_survival:
            doc.table(_contribution_rows(top_survival, "survival"), caption="PRIME-S: top features")
        method = explanation.get("method", "each term of the linear model against its reference value")
        doc.paragraph(
            f"Contributions: {method}. They show what moved this prediction, not causes.", style="note"
        )
    else:
        doc.paragraph("This result holds no feature contributions.", style="note")

    # Inputs
    clinical_rows, radiomics_rows = _input_tables(data, imputed_rule)
    doc.heading("Inputs")
    imputed = list(data["imputed_fields"])
    doc.paragraph(
        f"Imputed (missing) inputs: {', '.join(imputed)}."
        if imputed
        else "No input was imputed: all were given."
    )
    if clinical_rows:
        doc.table(clinical_rows, caption="Clinical inputs and derived indices, as the model used them")
    if radiomics_rows:
        doc.table(
            radiomics_rows, caption="Radiomics inputs (PyRadiomics names; texture features have no unit)"
        )
    if record:
        entered = _record_rows(record)
        if entered:
            doc.table(entered, caption="Clinical record as entered (schema variables only)")

    # Warnings
    doc.heading("Warnings")
    warnings = [str(w) for w in data.get("warnings") or []]
    for warning in warnings:
        doc.paragraph(warning, style="warning")
    if not warnings:
        doc.paragraph("None.")

    # Model card
    doc.heading("Model card (summary)")
    card_rows = [{"item": "Name", "value": str(card.get("name") or data["model_name"])}]
    for key, label in (
        ("trained_on", "Trained on"),
        ("intended_use", "Intended use"),
        ("warning", "Warning"),
        ("primelib_version", "PRIMELib version"),
        ("sha256", "Bundle SHA-256"),
    ):
        if card.get(key):
            card_rows.append({"item": label, "value": str(card[key])})
    card_rows.append(
        {"item": "Not for clinical use", "value": "yes" if card.get("not_for_clinical_use", True) else "no"}
    )
    doc.table(card_rows)
    doc.paragraph(BANNER, style="warning")
    return doc, figures


def _report_paths(output: str | Path, formats: Sequence[str]) -> dict[str, Path]:
    output = Path(output)
    if output.suffix.lower() in (".html", ".pdf"):
        output = output.with_suffix("")
    # Appended, not with_suffix: a case id may contain dots.
    return {kind: output.with_name(f"{output.name}.{kind}") for kind in formats}


def write_patient_report(
    result: object,
    output: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
    record: Mapping[str, object] | None = None,
    figures: bool = True,
) -> dict[str, Path]:
    """Write the patient report of ``result`` as ``<output>.html`` and/or ``<output>.pdf``.

    ``output``: the report's path without (or with) a suffix, e.g. ``results/report``. ``record``: the
    clinical record as entered, shown beside the model's inputs. ``figures``: also keep the figures
    as PNG and SVG in ``<output>_figures/``. Returns {"html": path, "pdf": path, "figures": folder}.
    Every file is written atomically.
    """
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise PRIMEInputError(
            f"Unknown report format(s): {', '.join(map(str, unknown)) or 'none given'}.",
            field="formats",
            value=list(formats),
            expected="'html', 'pdf' or both",
        )
    paths = _report_paths(output, formats)
    stem = next(iter(paths.values())).with_suffix("")
    folder = stem.with_name(f"{stem.name}_figures")
    with tempfile.TemporaryDirectory(prefix="prime-report-") as scratch:
        # Without kept figures, only the PNGs the document embeds are drawn, in a scratch folder.
        doc, _ = patient_report_document(
            result,
            record=record,
            figure_folder=folder if figures else Path(scratch),
            figure_formats=("png", "svg") if figures else ("png",),
        )
        written: dict[str, Path] = {}
        for kind, path in paths.items():
            written[kind] = doc.write_html(path) if kind == "html" else doc.write_pdf(path)
    if figures:
        written["figures"] = folder
    return written
