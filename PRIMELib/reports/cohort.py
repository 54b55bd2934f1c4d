"""The cohort report (HTML and PDF): a bundle evaluated on a cohort, as ``prime evaluate`` writes it.

Sections: the headline table; the cohort and methods as TRIPOD+AI asks (sets and how they were made,
sizes, responders, deaths, excluded cases, missing data per variable, outcomes, radiomics parameters,
thresholds); PRIME-R (metrics per set and model, ROC, calibration and decision curves); PRIME-S
(metrics per set, Kaplan–Meier curves with numbers at risk, time-dependent AUC and Brier, hazard
ratios unadjusted and adjusted, subgroup hazard ratios); model comparison; interpretation (the
divergence view and the correlation of the selected features); and the model card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation.results import format_ci, format_p
from PRIMELib.reports.document import Document
from PRIMELib.scoring import REPORT_MONTHS

__all__ = [
    "FORMATS",
    "check_formats",
    "cohort_report_document",
    "write_cohort_report",
    "write_evaluation_outputs",
]

FORMATS = ("html", "pdf")
BANNER = "Research use only — not for clinical decisions."
_TOP_IMPORTANCE = 10


def _figure(document: Document, figures: Mapping, name: str) -> None:
    entry = figures.get(name)
    if entry:
        document.figure(entry["png"], caption=entry.get("caption"))


# ---------------------------------------------------------------------------------------------
# Sections


def _cohort_section(document: Document, data: Mapping, warnings: Sequence[str]) -> None:
    facts = data["facts"]
    document.heading("Cohort and methods")
    document.paragraph(
        f"Sets: {facts['sets_made_by']}. The model's own training split: {facts['model_training_split']}."
    )
    rows = []
    for entry in facts["sets"]:
        row = {k: v for k, v in entry.items() if k != "median_observed_days"}
        row["median observed time (months)"] = entry["median_observed_days"] / (365.25 / 12)
        rows.append(row)
    document.table(rows, caption="Cases per set (scored: cases the model could score)")
    document.paragraph(f"Outcomes: {facts['outcomes']}.")
    document.paragraph(
        f"Model inputs: {facts['n_model_features']} features; radiomics extracted with the PyRadiomics "
        f"parameter set '{facts['radiomics_params']}'. Missing data: {facts['missing_rule']}; "
        f"{facts['imputed_cases']} scored case(s) had at least one value imputed. Response threshold "
        f"{facts['response_threshold']:.3f}; risk cut-off (training median of the PRIME-S risk score) "
        f"{facts['risk_cutoff']:.3f}. The model was trained on: {facts['trained_on'] or 'not stated'}."
    )
    if facts["excluded_reasons"]:
        document.table(
            [{"reason": k, "cases": v} for k, v in facts["excluded_reasons"].items()],
            caption="Cases left out (the model could not score them)",
        )
    document.table(facts["missing_data"], caption="Missing values per model input (count; share per set)")
    settings = data["settings"]
    document.paragraph(
        f"Confidence intervals: percentile bootstrap, {settings['n_bootstrap']} resamples of the cases "
        f"(seed {settings['random_state']}). Uno's C and the time-dependent metrics estimate the censoring "
        "distribution from each evaluated set's own follow-up.",
        style="note",
    )
    for warning in warnings:
        document.paragraph(warning, style="note")


def _by_metric(columns: Mapping[str, Mapping], metrics: Sequence[tuple[str, object]]) -> list[dict]:
    """A narrow table: one row per metric, one column per set or model (wide tables do not fit A4).

    ``metrics``: (row label, function of one column's metrics dict → cell text).
    """
    return [
        {"metric": label, **{name: cell(values) for name, values in columns.items()}}
        for label, cell in metrics
    ]


def _ci_of(key: str, digits: int = 2):
    return lambda m: format_ci(m.get(key), m.get(f"{key}_ci95"), digits)


_RESPONSE_ROWS = (
    ("cases", lambda m: m.get("n")),
    ("responders", lambda m: m.get("n_responders")),
    ("AUC", _ci_of("auc")),
    ("accuracy", _ci_of("accuracy")),
    ("sensitivity", _ci_of("sensitivity")),
    ("specificity", _ci_of("specificity")),
    ("Brier score", _ci_of("brier", 3)),
    ("calibration slope", _ci_of("calibration_slope")),
    ("calibration intercept", _ci_of("calibration_intercept")),
)


def _td(kind: str, month: int, digits: int):
    def cell(m: Mapping) -> str:
        key = f"{month}_months"
        return format_ci((m.get(kind) or {}).get(key), (m.get(f"{kind}_ci95") or {}).get(key), digits)

    return cell


_SURVIVAL_ROWS = (
    ("cases", lambda m: m.get("n")),
    ("deaths", lambda m: m.get("n_events")),
    ("Harrell's C", _ci_of("c_index")),
    ("Uno's C", _ci_of("uno_c_index")),
    *((f"AUC at {month} months", _td("td_auc", month, 2)) for month in REPORT_MONTHS),
    ("mean time-dependent AUC", _ci_of("mean_td_auc")),
    *((f"Brier at {month} months", _td("td_brier", month, 3)) for month in REPORT_MONTHS),
    ("integrated Brier score", _ci_of("integrated_brier", 3)),
)


def _response_section(document: Document, data: Mapping, figures: Mapping) -> None:
    document.heading("PRIME-R: response at 3 months")
    threshold = data["model"]["thresholds"]["response_threshold"]
    for name, s in data["sets"].items():
        document.table(
            _by_metric(s["response"], _RESPONSE_ROWS),
            caption=f"Response metrics (95 % CI), {name} set; threshold {threshold:.3f}",
        )
    document.paragraph(
        "'clinical' and 'radiomics' are PRIME-R's single-modality members (the late fusion's base models).",
        style="note",
    )
    for name in ("roc", "calibration", "decision_curve"):
        _figure(document, figures, name)


def _survival_section(document: Document, data: Mapping, figures: Mapping) -> None:
    document.heading("PRIME-S: overall survival")
    document.table(
        _by_metric({name: s["survival"] for name, s in data["sets"].items()}, _SURVIVAL_ROWS),
        caption="Survival metrics (95 % CI); time-dependent values only where the follow-up allows",
    )
    notes = [
        f"{name}: {note}" for name, s in data["sets"].items() for note in s["survival"].get("notes") or []
    ]
    if notes:
        document.paragraph("\n".join(notes), style="note")
    _figure(document, figures, "kaplan_meier")
    _figure(document, figures, "time_dependent")

    rows = []
    adjusted_for = ", ".join(data["settings"].get("adjust_for") or [])
    for name, s in data["sets"].items():
        for kind in ("unadjusted", "adjusted"):
            hr = s["hazard_ratios"].get(kind)
            if not hr:
                continue
            rows.append(
                {
                    "set": name,
                    "hazard ratio": "high vs low risk"
                    + (f", adjusted for {adjusted_for}" if kind == "adjusted" else ""),
                    "cases": hr.get("n"),
                    "deaths": hr.get("n_events"),
                    "HR (95 % CI)": format_ci(hr.get("hazard_ratio"), hr.get("hazard_ratio_ci95")),
                    "p": format_p(hr.get("hazard_ratio_p")),
                    "log-rank p": format_p(s["kaplan_meier"].get("logrank_p"))
                    if kind == "unadjusted"
                    else "",
                    "note": hr.get("note") or "",
                }
            )
    if not any(row["note"] for row in rows):
        for row in rows:
            del row["note"]
    document.table(rows, caption="Cox hazard ratios of the PRIME-S high-risk group")
    for name, s in data["sets"].items():
        model = s["hazard_ratios"].get("cox_model")
        if model and model["rows"]:
            document.table(
                [
                    {
                        "covariate": r["covariate"],
                        "HR (95 % CI)": format_ci(r["hr"], [r["ci_lower"], r["ci_upper"]]),
                        "p": format_p(r["p"]),
                    }
                    for r in model["rows"]
                ],
                caption=f"Multivariable Cox model, {name} set ({model['n']} cases with every covariate)",
            )
        elif model:
            document.paragraph(f"Multivariable Cox model, {name} set: {model['note']}", style="note")
    for name, s in data["sets"].items():
        if s["subgroups"]:
            document.table(
                [
                    {
                        "subgroup": r["subgroup"],
                        "cases": r["n"],
                        "deaths": r["events"],
                        "high risk": r["n_high_risk"],
                        "HR (95 % CI)": format_ci(r["hr"], [r["ci_lower"], r["ci_upper"]]),
                        "p": format_p(r["p"]),
                        "log-rank p": format_p(r["logrank_p"]),
                        "note": r["note"] or "",
                    }
                    for r in s["subgroups"]
                ],
                caption=f"Hazard ratio high vs low risk within subgroups, {name} set",
            )


def _interpretation_section(document: Document, data: Mapping, figures: Mapping) -> None:
    document.heading("Model comparison and interpretation")
    _figure(document, figures, "model_comparison")
    for name, s in data["sets"].items():
        document.heading(f"{name} set", level=3)
        _figure(document, figures, f"divergence_{name}")
        response, survival = s["importance"]["response"], s["importance"]["survival"]
        top = sorted({*response, *survival}, key=lambda f: -max(response.get(f, 0), survival.get(f, 0)))
        document.table(
            [
                {
                    "feature": f,
                    "PRIME-R mean |φ| (log-odds)": response.get(f),
                    "PRIME-S mean |φ| (risk)": survival.get(f),
                }
                for f in top[:_TOP_IMPORTANCE]
            ],
            caption=f"Most important features, {name} set (mean absolute contribution over its cases)",
        )
        _figure(document, figures, f"correlation_{name}")


def _model_card(document: Document, markdown: str) -> None:
    """The bundle's Markdown model card as report blocks (headings, tables, bullets, paragraphs)."""
    document.heading("Model card")
    table: list[list[str]] = []

    def flush() -> None:
        if len(table) >= 2:
            header, body = table[0], [r for r in table[1:] if not all(set(c) <= set("-: ") for c in r)]
            document.table([dict(zip(header, row, strict=False)) for row in body])
        table.clear()

    for line in markdown.splitlines():
        text = line.strip()
        if text.startswith("|"):
            table.append([_plain(c.strip()) for c in text.strip("|").split("|")])
            continue
        flush()
        if not text or text.startswith("# "):
            continue  # the card's own title: the section heading says it
        if text.startswith("#"):
            document.heading(_plain(text.lstrip("#").strip()), level=3)
        elif text.startswith(">"):
            document.paragraph(_plain(text.lstrip("> ")), style="warning")
        else:
            document.paragraph(_plain(text))
    flush()


def _plain(text: str) -> str:
    """Markdown emphasis and code marks removed; bullets as •."""
    text = re.sub(r"^[-*] ", "• ", text)
    return text.replace("**", "").replace("`", "")


# ---------------------------------------------------------------------------------------------
# The document


def cohort_report_document(
    evaluation, figures: Mapping[str, Mapping] | None = None, *, model_card: str | None = None
) -> Document:
    """The cohort report as a :class:`Document`; ``figures`` as :func:`write_figures` returns them."""
    data = evaluation.to_dict() if hasattr(evaluation, "to_dict") else evaluation
    figures = figures or {}
    model = data["model"]
    document = Document("PRIME cohort evaluation", subtitle=f"Model: {model['name']}")
    document.paragraph(BANNER, style="warning")
    document.heading("Summary")
    if hasattr(evaluation, "summary"):
        summary = evaluation.summary().T
        summary.index.name = "metric"
        document.table(summary, caption="Headline metrics per set (95 % bootstrap CIs)")
    _cohort_section(document, data, data.get("warnings", []))
    _response_section(document, data, figures)
    _survival_section(document, data, figures)
    _interpretation_section(document, data, figures)
    card = model_card or model.get("card_markdown")
    if card:
        _model_card(document, card)
    return document


def write_cohort_report(
    evaluation,
    output: str | Path,
    *,
    figures: Mapping[str, Mapping] | None = None,
    model_card: str | None = None,
    formats: Sequence[str] = FORMATS,
) -> dict[str, Path]:
    """Write the cohort report as ``<output>.html`` and/or ``<output>.pdf`` (``output`` without suffix,
    or with one, which is replaced). Figures not given are drawn into ``<output>_figures/``.
    Returns {"html": path, "pdf": path, "figures": folder}."""
    check_formats(formats)
    output = Path(output)
    stem = output.with_suffix("") if output.suffix.lower() in (".html", ".pdf") else output
    written: dict[str, Path] = {}
    if figures is None:
        from PRIMELib.reports.figures import write_figures

        folder = stem.parent / f"{stem.name}_figures"
        figures = write_figures(evaluation, folder)
        written["figures"] = folder
    document = cohort_report_document(evaluation, figures, model_card=model_card)
    if "html" in formats:
        written["html"] = document.write_html(stem.with_suffix(".html"))
    if "pdf" in formats:
        written["pdf"] = document.write_pdf(stem.with_suffix(".pdf"))
    return written


def write_evaluation_outputs(
    evaluation, folder: str | Path, *, formats: Sequence[str] = FORMATS, model_card: str | None = None
) -> dict[str, Path]:
    """Everything ``prime evaluate`` writes into ``folder``: ``evaluation.json`` (all metrics, curves and
    facts), ``predictions.csv`` (one row per scored case), ``excluded.csv`` (cases the model could not
    score, with the reason; only when there are some), ``figures/`` (PNG and SVG) and the report
    (``report.html`` / ``report.pdf`` as ``formats`` asks; none for an empty ``formats``)."""
    import pandas as pd

    from PRIMELib.io import write_atomically, write_json
    from PRIMELib.reports.figures import write_figures

    check_formats(formats, allow_none=True)
    folder = Path(folder)
    written = {"evaluation": write_json(folder / "evaluation.json", evaluation.to_dict())}
    written["predictions"] = write_atomically(
        folder / "predictions.csv", lambda tmp: evaluation.predictions.to_csv(tmp, index_label="case_id")
    )
    if evaluation.excluded:
        excluded = pd.DataFrame(
            {"case_id": list(evaluation.excluded), "reason": list(evaluation.excluded.values())}
        )
        written["excluded"] = write_atomically(
            folder / "excluded.csv", lambda tmp: excluded.to_csv(tmp, index=False)
        )
    figures = write_figures(evaluation, folder / "figures")
    written["figures"] = folder / "figures"
    if formats:
        report = write_cohort_report(
            evaluation, folder / "report", figures=figures, model_card=model_card, formats=formats
        )
        written.update({f"report {kind}": path for kind, path in report.items()})
    return written


def check_formats(formats: Sequence[str], *, allow_none: bool = False) -> None:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or (not formats and not allow_none):
        raise PRIMEInputError(
            f"Unknown report format(s): {', '.join(map(repr, unknown)) or 'none given'}.",
            field="format",
            value=",".join(formats),
            expected="html and/or pdf, e.g. html,pdf",
        )
