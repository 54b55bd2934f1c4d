"""The patient report's figures: the predicted survival curve and the signed contributions.

Drawn on :class:`matplotlib.figure.Figure` (never pyplot: no global state, no GUI backend, safe in
Slicer and in worker processes) and saved as PNG (embedded in the report) and SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from PRIMELib.io import write_atomically
from PRIMELib.scoring import REPORT_MONTHS

FAVOURABLE, UNFAVOURABLE = "#1b7f79", "#c0392b"
PNG_DPI = 150


def save_figure(
    figure: Figure, folder: Path, name: str, formats: tuple[str, ...] = ("png", "svg")
) -> dict[str, Path]:
    """Save ``figure`` as ``<name>.png`` and ``<name>.svg`` (or ``formats``) in ``folder``, atomically."""
    paths = {}
    # No timestamps and fixed SVG ids (matplotlib salts them at random): the same result gives
    # byte-identical figures.
    with matplotlib.rc_context({"svg.hashsalt": "PRIME"}):
        for fmt in formats:
            metadata = {"Software": None} if fmt == "png" else {"Date": None}
            paths[f"{name}.{fmt}"] = write_atomically(
                folder / f"{name}.{fmt}",
                lambda tmp, fmt=fmt, metadata=metadata: figure.savefig(
                    tmp, format=fmt, dpi=PNG_DPI, metadata=metadata
                ),
            )
    return paths


def survival_figure(
    curve: Sequence[tuple[float, float]],
    kind: str,
    survival: Mapping[str, float],
    risk_group: str,
    condition: str = "",
) -> Figure:
    """S(t) over months; ``kind`` "steps" (a bundle's step function), "smooth" or "points";
    ``condition``: a landmark model's, e.g. "for patients alive at 1 month" (reports/patient.py)."""
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    axes = figure.subplots()
    months = [m for m, _ in curve]
    values = [s for _, s in curve]
    colour = UNFAVOURABLE if risk_group == "high" else FAVOURABLE
    axes.plot(
        months,
        values,
        color=colour,
        linewidth=2,
        drawstyle="steps-post" if kind == "steps" else "default",
        linestyle="--" if kind == "points" else "-",
        label=f"this case ({risk_group} risk)",
    )
    for m in REPORT_MONTHS:
        value = float(survival[f"{m}_months"])
        axes.plot([m], [value], "o", color=colour)
        axes.annotate(f"{value:.2f}", (m, value), textcoords="offset points", xytext=(4, 6), fontsize=8)
    axes.set_xlim(0, max(max(months), max(REPORT_MONTHS)) + 1)
    axes.set_ylim(0, 1.05)
    axes.set_xticks(range(0, int(axes.get_xlim()[1]) + 1, 6))
    axes.set_xlabel("months from the start of treatment")
    axes.set_ylabel("predicted overall survival")
    if condition:
        axes.set_title(f"survival {condition}", fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", frameon=False)
    return figure


def contribution_figure(
    response: Sequence[Mapping], survival: Sequence[Mapping], response_units: str, survival_units: str
) -> Figure:
    """Two signed horizontal bar charts side by side: PRIME-R and PRIME-S top contributions.

    Green is favourable (raises response, lowers risk), red unfavourable.
    """
    rows = max(len(response), len(survival), 1)
    figure = Figure(figsize=(10, 1.0 + 0.42 * rows), layout="constrained")
    left, right = figure.subplots(1, 2)
    for axes, items, title, units, good_sign in (
        (left, response, "PRIME-R (response)", response_units, 1.0),
        (right, survival, "PRIME-S (survival risk)", survival_units, -1.0),
    ):
        names = [_short(str(item["feature"])) for item in items][::-1]
        values = [float(item["contribution"]) for item in items][::-1]
        colours = [FAVOURABLE if v * good_sign > 0 else UNFAVOURABLE for v in values]
        axes.barh(range(len(values)), values, color=colours)
        axes.set_yticks(range(len(values)), names, fontsize=8)
        axes.axvline(0, color="black", linewidth=0.8)
        axes.set_title(title, fontsize=10)
        axes.set_xlabel(f"contribution ({units})", fontsize=8)
        axes.tick_params(axis="x", labelsize=8)
        axes.grid(axis="x", alpha=0.3)
        if not items:
            axes.text(0.5, 0.5, "no contributions", ha="center", va="center", transform=axes.transAxes)
    return figure


def _short(feature: str, limit: int = 38) -> str:
    """Long radiomics names shortened in the middle (the table beside the chart has them whole)."""
    return feature if len(feature) <= limit else feature[: limit // 2 - 1] + "…" + feature[-(limit // 2) :]
