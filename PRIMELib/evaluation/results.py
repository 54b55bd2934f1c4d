"""What an evaluation returns: :class:`Evaluation` (per set: :class:`SetEvaluation`), JSON-ready.

``Evaluation.to_dict()`` is plain JSON (NaN → null) and holds everything the figures and the cohort
report need, so they can be redrawn later from ``evaluation.json``; ``Evaluation.predictions`` holds
the per-case predictions (written as ``predictions.csv``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from PRIMELib.io import to_jsonable

__all__ = [
    "FAMILIES",
    "PRIME_R",
    "PRIME_S",
    "Evaluation",
    "SetEvaluation",
    "feature_family",
    "format_ci",
    "format_p",
]

PRIME_R = "PRIME-R"
PRIME_S = "PRIME-S"
#: Feature families of the divergence view.
FAMILIES = ("geometric/shape", "texture", "first-order", "clinical-systemic")
_TEXTURE = ("_glcm_", "_glrlm_", "_glszm_", "_gldm_", "_ngtdm_")


def feature_family(name: str) -> str:
    """The family of a model input by its PyRadiomics feature class: geometric/shape, texture or
    first-order radiomics; clinical-systemic for every clinical variable and derived index."""
    if not name.startswith(("arterial_", "venous_")):
        return "clinical-systemic"
    if "_shape_" in name:
        return "geometric/shape"
    if any(part in name for part in _TEXTURE):
        return "texture"
    return "first-order"


@dataclass
class SetEvaluation:
    """Everything computed on one set.

    ``response``: model name (PRIME-R and its members) → response metrics; ``survival``: PRIME-S's
    survival metrics; ``curves``: ``roc``, ``calibration``, ``decision`` (model → curve data) and
    ``time_dependent``; ``kaplan_meier``: by risk group, with ``logrank_p``; ``hazard_ratios``:
    ``unadjusted``, and ``adjusted`` and ``cox_model`` when covariates were named; ``subgroups``: one
    row per subgroup; ``importance``: ``response`` / ``survival`` → feature → mean |contribution|;
    ``correlation``: Spearman correlation of the selected features.
    """

    name: str
    counts: dict[str, float]
    response: dict[str, dict]
    survival: dict
    curves: dict
    kaplan_meier: dict
    hazard_ratios: dict
    subgroups: list[dict]
    importance: dict[str, dict[str, float]]
    correlation: pd.DataFrame
    censoring_reference: str

    def to_dict(self) -> dict:
        return to_jsonable(
            {
                "name": self.name,
                "counts": self.counts,
                "response": self.response,
                "survival": self.survival,
                "curves": self.curves,
                "kaplan_meier": self.kaplan_meier,
                "hazard_ratios": self.hazard_ratios,
                "subgroups": self.subgroups,
                "importance": self.importance,
                "correlation": {
                    "features": [str(c) for c in self.correlation.columns],
                    "spearman": self.correlation.to_numpy().tolist(),
                },
                "censoring_reference": self.censoring_reference,
            }
        )


@dataclass
class Evaluation:
    """A bundle evaluated on a cohort. ``predictions``: one row per scored case (index = case id);
    ``excluded``: case id → why the model could not score it."""

    model: dict
    sets: dict[str, SetEvaluation]
    predictions: pd.DataFrame
    facts: dict
    excluded: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Everything but the per-case rows (predictions, excluded case ids), as plain JSON."""
        return to_jsonable(
            {
                "model": self.model,
                "settings": self.settings,
                "facts": self.facts,
                "excluded_cases": len(self.excluded),
                "warnings": self.warnings,
                "sets": {name: s.to_dict() for name, s in self.sets.items()},
            }
        )

    def summary(self) -> pd.DataFrame:
        """One row per set: sizes and the headline metrics (text, with their 95 % CIs)."""
        rows = []
        for name, s in self.sets.items():
            r, sv = s.response.get(PRIME_R, {}), s.survival
            hr = s.hazard_ratios.get("unadjusted") or {}
            row = {
                "set": name,
                "cases": s.counts["n"],
                "responders": s.counts["responders"],
                "deaths": s.counts["deaths"],
                "PRIME-R AUC": format_ci(r.get("auc"), r.get("auc_ci95")),
            }
            if s.counts.get("landmark_days"):  # PRIME-S's metrics leave these out (models/landmark.py)
                row["died/censored by landmark"] = s.counts["before_landmark"]
            for member, metrics in s.response.items():
                if member != PRIME_R:
                    row[f"{member} AUC"] = format_ci(metrics.get("auc"), metrics.get("auc_ci95"))
            row["Brier"] = format_ci(r.get("brier"), None, 3)
            row["PRIME-S C-index"] = format_ci(sv.get("c_index"), sv.get("c_index_ci95"))
            row["IBS"] = format_ci(sv.get("integrated_brier"), None, 3)
            row["HR high vs low"] = format_ci(hr.get("hazard_ratio"), hr.get("hazard_ratio_ci95"))
            row["log-rank p"] = format_p(s.kaplan_meier.get("logrank_p"))
            rows.append(row)
        return pd.DataFrame(rows).set_index("set")


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def format_ci(value, ci=None, digits: int = 2) -> str:
    """``0.81 (0.72–0.89)``; "–" for a missing value."""
    if not _finite(value):
        return "–"
    text = f"{value:.{digits}f}"
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(_finite(v) for v in ci):
        text += f" ({ci[0]:.{digits}f}–{ci[1]:.{digits}f})"
    return text


def format_p(value) -> str:
    if not _finite(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
