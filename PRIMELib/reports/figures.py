"""The cohort report's figures, drawn from an evaluation (:class:`PRIMELib.evaluation.evaluate.Evaluation`
or its ``to_dict()``, e.g. read back from ``evaluation.json``).

ROC curves (clinical vs radiomics vs PRIME-R), calibration curves, decision curves, Kaplan–Meier curves by
risk group with numbers at risk, time-dependent AUC and Brier score, the divergence view (PRIME-R and
PRIME-S feature importance side by side, by feature family), the correlation heatmap of the selected
features and the model-comparison bar chart. One panel per cohort set where a figure compares sets.

Drawn on :class:`matplotlib.figure.Figure`, never pyplot (no global backend or state: safe in Slicer and
worker processes); each saved as PNG and SVG, atomically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from PRIMELib.evaluation.results import FAMILIES, PRIME_R, feature_family
from PRIMELib.reports.patient_figures import save_figure
from PRIMELib.scoring import DAYS_PER_MONTH, REPORT_MONTHS

__all__ = ["CAPTIONS", "figure_builders", "write_figures"]

#: Colours: one per model and risk group, the same in every figure.
MODEL_COLOURS = {PRIME_R: "#c0392b", "clinical": "#2471a3", "radiomics": "#d68910", "PRIME-S": "#6c3483"}
GROUP_COLOURS = {"high risk": "#c0392b", "low risk": "#1b7f79"}
FAMILY_COLOURS = dict(zip(FAMILIES, ("#8e44ad", "#16a085", "#e67e22", "#34495e"), strict=True))
_OTHER_COLOURS = ("#7f8c8d", "#27ae60", "#2c3e50")
_TOP_FEATURES = 20

CAPTIONS = {
    "roc": "ROC curves of the clinical-only and radiomics-only members of PRIME-R and of PRIME-R itself, "
    "per set (AUC with 95 % bootstrap CI in the legend).",
    "calibration": "Calibration of the predicted response probabilities (quantile bins; the diagonal is "
    "perfect calibration), per set.",
    "decision": "Decision curves: net benefit of treating by each model's predicted response probability "
    "against treating all and treating none, over threshold probabilities.",
    "kaplan_meier": "Kaplan–Meier overall survival by PRIME-S risk group (the training median of the risk "
    "score as cut-off), with 95 % CIs, numbers at risk and the log-rank p.",
    "time_dependent": "Time-dependent (cumulative/dynamic) AUC and Brier score of PRIME-S over time; "
    "markers at 6, 12, 24 and 36 months.",
    "divergence": "Global feature importance of PRIME-R and PRIME-S side by side: the mean |contribution| "
    "of each selected feature over the set's cases (baseline Shapley values of the bundle's final models "
    "against a median reference case — a bundle holds no cross-validation fold models, so this is not an "
    "average over folds). Bars coloured by feature family.",
    "correlation": "Spearman correlation between the model's selected features.",
    "comparison": "Discrimination per set: AUC of the clinical, radiomics and PRIME-R models and Harrell's "
    "C-index of PRIME-S, with 95 % bootstrap CIs (dashed line: chance).",
}


def _as_dict(evaluation) -> Mapping:
    return evaluation.to_dict() if hasattr(evaluation, "to_dict") else evaluation


def _panels(n: int, *, width: float = 4.2, height: float = 3.8, extra_height: float = 0.0):
    """A figure with one axes per set (at most three per row)."""
    columns = min(max(n, 1), 3)
    rows = math.ceil(max(n, 1) / columns)
    figure = Figure(figsize=(width * columns, height * rows + extra_height), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
    for spare in axes[n:]:
        spare.set_visible(False)
    return figure, axes[:n]


def _colour(model: str, index: int) -> str:
    return MODEL_COLOURS.get(model, _OTHER_COLOURS[index % len(_OTHER_COLOURS)])


def _ci_text(value, ci, digits: int = 2) -> str:
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    if isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci:
        text += f" ({ci[0]:.{digits}f}–{ci[1]:.{digits}f})"
    return text


def _models(set_data: Mapping) -> list[str]:
    """The response models of a set, members first and PRIME-R last (drawn on top)."""
    names = [n for n in set_data["response"] if n != PRIME_R]
    return [*names, PRIME_R] if PRIME_R in set_data["response"] else names


def _no_data(axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=9, color="#555")
    axes.set_xticks([])
    axes.set_yticks([])


# ---------------------------------------------------------------------------------------------
# Response


def roc_figure(evaluation) -> Figure:
    sets = _as_dict(evaluation)["sets"]
    figure, axes = _panels(len(sets))
    for ax, (name, s) in zip(axes, sets.items(), strict=True):
        curves = s["curves"]["roc"]
        if not curves:
            _no_data(ax, f"{name}: one outcome class only")
            continue
        for i, model in enumerate(_models(s)):
            metrics = s["response"][model]
            ax.plot(
                curves[model]["fpr"],
                curves[model]["tpr"],
                drawstyle="steps-post",
                color=_colour(model, i),
                linewidth=2.2 if model == PRIME_R else 1.4,
                label=f"{model}: AUC {_ci_text(metrics.get('auc'), metrics.get('auc_ci95'))}",
            )
        ax.plot([0, 1], [0, 1], linestyle=":", color="#888", linewidth=1)
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 − specificity", ylabel="sensitivity", title=name)
        ax.set_aspect("equal")
        ax.legend(loc="lower right", fontsize=7.5, frameon=False)
        ax.grid(alpha=0.3)
    return figure


def calibration_figure(evaluation) -> Figure:
    sets = _as_dict(evaluation)["sets"]
    figure, axes = _panels(len(sets))
    for ax, (name, s) in zip(axes, sets.items(), strict=True):
        curves = s["curves"]["calibration"]
        if not curves:
            _no_data(ax, f"{name}: one outcome class only")
            continue
        for i, model in enumerate(_models(s)):
            metrics = s["response"][model]
            slope, intercept = metrics.get("calibration_slope"), metrics.get("calibration_intercept")
            label = model
            if slope is not None and intercept is not None:
                label += f": slope {slope:.2f}, intercept {intercept:.2f}"
            ax.plot(
                curves[model]["predicted"],
                curves[model]["observed"],
                marker="o",
                markersize=3.5,
                color=_colour(model, i),
                linewidth=2.0 if model == PRIME_R else 1.2,
                label=label,
            )
        ax.plot([0, 1], [0, 1], linestyle=":", color="#888", linewidth=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted probability", ylabel="observed response rate")
        ax.set_title(name)
        ax.set_aspect("equal")
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
    return figure


def decision_figure(evaluation) -> Figure:
    sets = _as_dict(evaluation)["sets"]
    figure, axes = _panels(len(sets))
    for ax, (name, s) in zip(axes, sets.items(), strict=True):
        curves = s["curves"]["decision"]
        if not curves:
            _no_data(ax, f"{name}: one outcome class only")
            continue
        first = next(iter(curves.values()))
        thresholds = np.asarray(first["threshold"], float)
        treat_all = np.asarray(first["treat_all"], float)
        ax.plot(thresholds, treat_all, color="#555", linewidth=1.2, label="treat all")
        ax.axhline(0, color="#222", linewidth=1.0, linestyle="--", label="treat none")
        top = max(float(np.nanmax(treat_all)), 0.05)
        for i, model in enumerate(_models(s)):
            benefit = np.asarray(curves[model]["net_benefit"], float)
            top = max(top, float(np.nanmax(benefit)))
            ax.plot(
                curves[model]["threshold"],
                benefit,
                color=_colour(model, i),
                linewidth=2.0 if model == PRIME_R else 1.3,
                label=model,
            )
        ax.set(xlim=(float(thresholds.min()), float(thresholds.max())), ylim=(-0.05, top * 1.1 + 0.01))
        ax.set(xlabel="threshold probability", ylabel="net benefit", title=name)
        ax.legend(loc="upper right", fontsize=7.5, frameon=False)
        ax.grid(alpha=0.3)
    return figure


# ---------------------------------------------------------------------------------------------
# Survival


def kaplan_meier_figure(evaluation) -> Figure:
    sets = _as_dict(evaluation)["sets"]
    n = len(sets)
    columns = min(n, 3)
    rows = math.ceil(n / columns)
    figure = Figure(figsize=(4.6 * columns, 4.6 * rows), layout="constrained")
    outer = figure.add_gridspec(rows, columns)
    for k, (name, s) in enumerate(sets.items()):
        inner = outer[k // columns, k % columns].subgridspec(2, 1, height_ratios=(4, 1.1), hspace=0.02)
        ax = figure.add_subplot(inner[0])
        table = figure.add_subplot(inner[1], sharex=ax)
        km = s["kaplan_meier"]
        groups = [g for g in ("high risk", "low risk") if g in km] + [
            g for g in km if g not in ("high risk", "low risk", "logrank_p") and isinstance(km[g], dict)
        ]
        last = 0.0
        for i, group in enumerate(groups):
            curve = km[group]
            months = np.asarray(curve["time"], float) / DAYS_PER_MONTH
            colour = GROUP_COLOURS.get(group, _OTHER_COLOURS[i % len(_OTHER_COLOURS)])
            median = curve.get("median_days")
            label = f"{group} (n={curve['n']}, {curve['events']} deaths"
            label += f", median {median / DAYS_PER_MONTH:.1f} mo)" if median is not None else ")"
            ax.step(months, curve["survival"], where="post", color=colour, linewidth=1.8, label=label)
            if curve.get("ci_lower") is not None:
                ax.fill_between(
                    months, curve["ci_lower"], curve["ci_upper"], step="post", color=colour, alpha=0.15
                )
            last = max(last, float(months.max()) if len(months) else 0.0)
        p = km.get("logrank_p")
        if p is not None:
            ax.text(
                0.97, 0.97, "log-rank p < 0.001" if p < 0.001 else f"log-rank p = {p:.3f}",
                transform=ax.transAxes, ha="right", va="top", fontsize=8.5,
            )  # fmt: skip
        ax.set(ylim=(0, 1.02), ylabel="overall survival", title=name)
        ax.legend(loc="lower left", fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
        ax.tick_params(labelbottom=False)
        # Numbers at risk, one row per group, under the curve's time axis.
        ticks = sorted({float(t) for g in groups for t in km[g].get("at_risk", {})})
        for row, group in enumerate(groups):
            at_risk = {float(t): n for t, n in km[group].get("at_risk", {}).items()}
            colour = GROUP_COLOURS.get(group, _OTHER_COLOURS[row % len(_OTHER_COLOURS)])
            for t in ticks:
                table.text(
                    t / DAYS_PER_MONTH, len(groups) - 1 - row, str(at_risk.get(t, "")),
                    ha="center", va="center", fontsize=7.5, color=colour,
                )  # fmt: skip
        table.set_ylim(-0.6, len(groups) - 0.4)
        table.set_yticks(range(len(groups)), list(reversed(groups)), fontsize=7.5)
        table.set_xticks([t / DAYS_PER_MONTH for t in ticks])
        right = max(last, max(ticks, default=0) / DAYS_PER_MONTH) * 1.03 + 0.5
        table.set_xlim(-0.05 * right, right)  # room for the numbers at time 0 left of the first tick
        table.set_xlabel("months (numbers at risk)")
        for side in ("top", "right", "left"):
            table.spines[side].set_visible(False)
        table.tick_params(axis="y", length=0, pad=8)
    return figure


def time_dependent_figure(evaluation) -> Figure:
    sets = _as_dict(evaluation)["sets"]
    figure, axes = _panels(len(sets))
    for ax, (name, s) in zip(axes, sets.items(), strict=True):
        curve = s["curves"].get("time_dependent")
        if not curve or not curve.get("times"):
            _no_data(ax, f"{name}: no deaths or follow-up too short")
            continue
        months = np.asarray(curve["times"], float) / DAYS_PER_MONTH
        auc = np.asarray([np.nan if v is None else v for v in curve["auc"]], float)
        brier = np.asarray([np.nan if v is None else v for v in curve["brier"]], float)
        ax.plot(months, auc, color=MODEL_COLOURS["PRIME-S"], linewidth=1.8, label="AUC(t)")
        ax.plot(months, brier, color="#2c3e50", linewidth=1.6, linestyle="--", label="Brier(t)")
        marks = [mo for mo in REPORT_MONTHS if months.min() <= mo <= months.max()]
        ax.plot(marks, np.interp(marks, months, auc), "o", color=MODEL_COLOURS["PRIME-S"], markersize=4)
        ax.plot(marks, np.interp(marks, months, brier), "s", color="#2c3e50", markersize=4)
        ax.axhline(0.5, color="#888", linestyle=":", linewidth=1)
        ax.axhline(0.25, color="#bbb", linestyle=":", linewidth=1)
        ibs = s["survival"].get("integrated_brier")
        title = name + (f" (IBS {ibs:.3f})" if ibs is not None else "")
        ax.set(ylim=(0, 1), xlabel="months", ylabel="AUC(t) / Brier(t)", title=title)
        ax.legend(loc="center right", fontsize=7.5, frameon=False)
        ax.grid(alpha=0.3)
    return figure


# ---------------------------------------------------------------------------------------------
# Interpretation and comparison


def divergence_figure(evaluation, set_name: str) -> Figure:
    s = _as_dict(evaluation)["sets"][set_name]
    response, survival = s["importance"]["response"], s["importance"]["survival"]
    top_r, top_s = max(response.values(), default=0) or 1.0, max(survival.values(), default=0) or 1.0
    # One shared, ordered feature list: by the larger of the two normalised importances.
    rank = {
        f: max(response.get(f, 0.0) / top_r, survival.get(f, 0.0) / top_s) for f in {*response, *survival}
    }
    features = sorted(rank, key=lambda f: (-rank[f], f))[:_TOP_FEATURES][::-1]
    figure = Figure(figsize=(11, 1.4 + 0.3 * max(len(features), 1)), layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    colours = [FAMILY_COLOURS[feature_family(f)] for f in features]
    y = np.arange(len(features))
    left.barh(y, [response.get(f, 0.0) for f in features], color=colours)
    right.barh(y, [survival.get(f, 0.0) for f in features], color=colours)
    left.set_yticks(y, features, fontsize=7.5)
    left.set(title="PRIME-R (response)", xlabel="mean |contribution| (log-odds)")
    right.set(title="PRIME-S (survival)", xlabel="mean |contribution| (risk score)")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    right.tick_params(axis="y", labelleft=False)
    families = [f for f in FAMILIES if any(feature_family(x) == f for x in features)]
    figure.legend(
        handles=[Patch(color=FAMILY_COLOURS[f], label=f) for f in families],
        loc="outside lower center",
        ncols=len(families) or 1,
        fontsize=8,
        frameon=False,
    )
    figure.suptitle(f"Feature importance, {set_name} set", fontsize=11)
    return figure


def correlation_figure(evaluation, set_name: str) -> Figure:
    correlation = _as_dict(evaluation)["sets"][set_name]["correlation"]
    names = correlation["features"]
    values = np.asarray(
        [[np.nan if v is None else v for v in row] for row in correlation["spearman"]], float
    ).reshape(len(names), len(names))
    size = min(max(4.5, 0.32 * len(names) + 2.5), 14)
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1)
    ticks = np.arange(len(names))
    small = 7 if len(names) <= 25 else 5
    ax.set_xticks(ticks, names, rotation=90, fontsize=small)
    ax.set_yticks(ticks, names, fontsize=small)
    if len(names) <= 15:
        for i in range(len(names)):
            for j in range(len(names)):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(values[i, j]) > 0.6 else "black")  # fmt: skip
    figure.colorbar(image, ax=ax, shrink=0.7, label="Spearman ρ")
    ax.set_title(f"Selected features, {set_name} set", fontsize=10)
    return figure


def comparison_figure(evaluation) -> Figure:
    sets = _as_dict(evaluation)["sets"]
    models = []
    for s in sets.values():
        models += [m for m in _models(s) if m not in models]
    series = [(f"{m} AUC", m) for m in models] + [("PRIME-S C-index", "PRIME-S")]
    figure = Figure(figsize=(max(6.0, 1.6 + 1.5 * len(sets) * len(series) / 2.5), 4.2), layout="constrained")
    ax = figure.subplots()
    width = 0.8 / len(series)
    x = np.arange(len(sets))
    for k, (label, model) in enumerate(series):
        values, low, high = [], [], []
        for s in sets.values():
            metrics = s["survival"] if model == "PRIME-S" else s["response"].get(model, {})
            key = "c_index" if model == "PRIME-S" else "auc"
            value, ci = metrics.get(key), metrics.get(f"{key}_ci95")
            values.append(np.nan if value is None else value)
            has_ci = value is not None and isinstance(ci, list | tuple) and None not in ci
            low.append(value - ci[0] if has_ci else 0.0)
            high.append(ci[1] - value if has_ci else 0.0)
        positions = x - 0.4 + width * (k + 0.5)
        ax.bar(positions, values, width, color=_colour(model, k), label=label,
               yerr=[low, high], capsize=3, error_kw={"linewidth": 1})  # fmt: skip
        for position, value in zip(positions, values, strict=True):
            if np.isfinite(value):
                ax.text(position, 0.02, f"{value:.2f}", ha="center", va="bottom", fontsize=6.5,
                        rotation=90, color="white")  # fmt: skip
    ax.axhline(0.5, color="#555", linestyle="--", linewidth=1)
    ax.set_xticks(x, list(sets))
    ax.set(ylim=(0, 1.05), ylabel="AUC / C-index")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=len(series), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return figure


# ---------------------------------------------------------------------------------------------
# Writing


def figure_builders(evaluation) -> dict[str, tuple[object, str]]:
    """Name → (function drawing the figure, caption), for every figure of an evaluation."""
    data = _as_dict(evaluation)
    builders: dict[str, tuple[object, str]] = {
        "roc": (lambda: roc_figure(data), CAPTIONS["roc"]),
        "calibration": (lambda: calibration_figure(data), CAPTIONS["calibration"]),
        "decision_curve": (lambda: decision_figure(data), CAPTIONS["decision"]),
        "kaplan_meier": (lambda: kaplan_meier_figure(data), CAPTIONS["kaplan_meier"]),
        "time_dependent": (lambda: time_dependent_figure(data), CAPTIONS["time_dependent"]),
        "model_comparison": (lambda: comparison_figure(data), CAPTIONS["comparison"]),
    }
    for name in data["sets"]:
        builders[f"divergence_{name}"] = (
            lambda name=name: divergence_figure(data, name),
            f"{CAPTIONS['divergence']} Set: {name}.",
        )
        builders[f"correlation_{name}"] = (
            lambda name=name: correlation_figure(data, name),
            f"{CAPTIONS['correlation']} Set: {name}.",
        )
    return builders


def write_figures(evaluation, folder: str | Path) -> dict[str, dict[str, Path | str]]:
    """Draw every figure and save it as PNG and SVG in ``folder`` (atomically).

    Returns name → {"png": path, "svg": path, "caption": text}.
    """
    folder = Path(folder)
    written: dict[str, dict[str, Path | str]] = {}
    for name, (draw, caption) in figure_builders(evaluation).items():
        figure = draw()
        stem = _file_name(name)
        png = save_figure(figure, folder, stem, ("png",))
        # The layout is settled by the first save; keeping it halves the cost of the second.
        figure.set_layout_engine("none")
        svg = save_figure(figure, folder, stem, ("svg",))
        written[name] = {"png": png[f"{stem}.png"], "svg": svg[f"{stem}.svg"], "caption": caption}
    return written


def _file_name(name: str) -> str:
    """A safe file name for a figure (set names come from the user's table)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return safe or "figure"
