"""Reports: a small HTML/PDF document builder, the one-patient report and the cohort report.

:class:`Document` builds a report once and writes it as a self-contained HTML file and as a PDF;
:func:`write_patient_report` makes the one-patient report from a scoring result.
"""

from __future__ import annotations

from PRIMELib.reports.document import Document, format_cell

__all__ = ["Document", "format_cell", "write_patient_report"]


def __getattr__(name: str):
    # The patient report pulls in matplotlib; import it only when it is asked for.
    if name == "write_patient_report":
        from PRIMELib.reports.patient import write_patient_report

        return write_patient_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
