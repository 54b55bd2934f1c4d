"""Hazard ratios of the PRIME-S risk groups within clinical subgroups (the paper's Figure 6 and
supplementary figures 6–9: treatment regimen, age, tumour burden, extrahepatic metastasis)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation._checks import survival_arrays
from PRIMELib.evaluation.survival_analysis import _indicator, hazard_ratio, logrank_p

__all__ = ["default_subgroups", "subgroup_hazard_ratios"]

_COLUMNS = ["subgroup", "n", "events", "n_high_risk", "hr", "ci_lower", "ci_upper", "p", "logrank_p", "note"]
_MONOTHERAPY = ("TACE", "HAIC")
_COMBINED = "TACE+HAIC"


def subgroup_hazard_ratios(
    event, time, high, subgroups: dict[str, np.ndarray], *, min_cases: int = 10, ties: str = "breslow"
) -> pd.DataFrame:
    """Per subgroup (name → boolean mask over the cases) the hazard ratio of high vs low risk.

    One row per subgroup, in the given order: ``subgroup``, ``n``, ``events``, ``n_high_risk``, ``hr``,
    ``ci_lower``, ``ci_upper``, ``p`` (Wald), ``logrank_p`` and ``note``. A subgroup with fewer than
    ``min_cases`` cases, no deaths, or one risk group only (or no deaths in one) gets NaN and a note.
    """
    event, time = survival_arrays(event, time)
    high = _indicator(high, len(time), field="high")
    rows = []
    for name, mask in subgroups.items():
        mask = _indicator(mask, len(time), field=f"subgroup '{name}'")
        row = {
            "subgroup": str(name),
            "n": int(mask.sum()),
            "events": int(event[mask].sum()),
            "n_high_risk": int(high[mask].sum()),
            "hr": np.nan,
            "ci_lower": np.nan,
            "ci_upper": np.nan,
            "p": np.nan,
            "logrank_p": np.nan,
            "note": None,
        }
        if mask.sum() < min_cases:
            row["note"] = f"only {int(mask.sum())} cases (fewer than {min_cases})"
        else:
            hr = hazard_ratio(event[mask], time[mask], high[mask], ties=ties)
            row["note"] = hr["note"]
            if hr["hazard_ratio_ci95"] is not None:
                row["hr"], row["p"] = hr["hazard_ratio"], hr["hazard_ratio_p"]
                row["ci_lower"], row["ci_upper"] = hr["hazard_ratio_ci95"]
            if 0 < high[mask].sum() < mask.sum():
                row["logrank_p"] = logrank_p(event[mask], time[mask], high[mask])
        rows.append(row)
    return pd.DataFrame(rows, columns=_COLUMNS)


def default_subgroups(
    frame: pd.DataFrame, *, age_cutoff_years: float = 55, diameter_cutoff_cm: float = 10
) -> dict[str, np.ndarray]:
    """The paper's subgroups from the clinical columns present in ``frame`` (one row per case).

    Age below / at least ``age_cutoff_years`` (the paper's Table 1 splits at 55), largest tumour
    diameter below / at least ``diameter_cutoff_cm`` (``tumor_diameter``, cm; Table 1 splits at 10),
    extrahepatic metastasis no / yes (``ehm``), and the interventional regimen, TACE+HAIC vs TACE or
    HAIC alone (``interventional``, or the derived 0/1 ``tace_haic``). A subgroup whose column is absent
    is skipped; a case with the value missing is in neither subgroup of the pair.
    """
    out: dict[str, np.ndarray] = {}
    if "age" in frame.columns:
        age = _numeric(frame, "age")
        out[f"Age < {age_cutoff_years:g} years"] = (age < age_cutoff_years).to_numpy()
        out[f"Age ≥ {age_cutoff_years:g} years"] = (age >= age_cutoff_years).to_numpy()
    if "tumor_diameter" in frame.columns:
        diameter = _numeric(frame, "tumor_diameter")
        out[f"Tumour diameter < {diameter_cutoff_cm:g} cm"] = (diameter < diameter_cutoff_cm).to_numpy()
        out[f"Tumour diameter ≥ {diameter_cutoff_cm:g} cm"] = (diameter >= diameter_cutoff_cm).to_numpy()
    if "ehm" in frame.columns:
        ehm = _flag(frame, "ehm")
        out["Extrahepatic metastasis: no"] = (ehm == 0).to_numpy()
        out["Extrahepatic metastasis: yes"] = (ehm == 1).to_numpy()
    combined = _combined_regimen(frame)
    if combined is not None:
        out["TACE or HAIC alone"] = (combined == 0).to_numpy()
        out["TACE+HAIC"] = (combined == 1).to_numpy()
    return out


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if bad.any():
        raise PRIMEInputError(
            f"Column '{column}' has a value that is not a number: {values[bad].iloc[0]!r}.",
            field=column,
            value=values[bad].iloc[0],
            expected="numbers",
            hint="Read the clinical table through the clinical schema (prime validate) first.",
        )
    return numeric.astype(float)


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    values = _numeric(frame, column)
    bad = values.notna() & ~values.isin([0, 1])
    if bad.any():
        raise PRIMEInputError(
            f"Column '{column}' must be 0/1; found {values[bad].iloc[0]:g}.",
            field=column,
            value=float(values[bad].iloc[0]),
            expected="0 (no) or 1 (yes)",
        )
    return values


def _combined_regimen(frame: pd.DataFrame) -> pd.Series | None:
    """1 for TACE+HAIC, 0 for TACE or HAIC alone, NaN when unknown; None without a regimen column."""
    if "interventional" in frame.columns:
        values = frame["interventional"]
        text = values.astype("string").str.strip().str.upper().str.replace(" ", "", regex=False)
        known = text.isin([*_MONOTHERAPY, _COMBINED]) | values.isna()
        if not known.all():
            raise PRIMEInputError(
                f"Column 'interventional' has an unknown regimen: {values[~known].iloc[0]!r}.",
                field="interventional",
                value=values[~known].iloc[0],
                expected="TACE, HAIC or TACE+HAIC",
            )
        return (text == _COMBINED).astype(float).where(values.notna())
    if "tace_haic" in frame.columns:
        return _flag(frame, "tace_haic")
    return None
