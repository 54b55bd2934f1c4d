"""Reproducibility filter for training: ICC per feature from repeat segmentations, keep ICC > 0.75.

Intraclass correlation as in Shrout & Fleiss (1979), "Intraclass correlations: uses in assessing rater
reliability", Psychol Bull 86(2):420-428, from the two-way ANOVA of n targets (cases) × k judges
(repeat segmentations):

- ICC(2,1), two-way random effects, absolute agreement of single measures (the paper's filter):
  (BMS − EMS) / (BMS + (k−1)·EMS + k·(JMS − EMS)/n);
- ICC(3,1), two-way mixed effects, consistency of single measures: (BMS − EMS) / (BMS + (k−1)·EMS).

BMS, JMS and EMS are the between-targets, between-judges and residual mean squares. A feature that
does not vary (0/0) gets NaN and is never kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from PRIMELib.errors import PRIMEInputError

ICC_KINDS = ("ICC(2,1)", "ICC(3,1)")
#: The paper's threshold: features with ICC(2,1) above it are reproducible.
DEFAULT_THRESHOLD = 0.75


def intraclass_correlation(ratings) -> dict[str, np.ndarray | float]:
    """ICC(2,1) and ICC(3,1) of ``ratings``: shape (n_targets, k_judges), or (n, k, n_features).

    Returns ``{"ICC(2,1)": …, "ICC(3,1)": …}``: floats for a matrix, arrays (one per feature) for a stack.
    """
    x = np.asarray(ratings, dtype=float)
    single = x.ndim == 2
    if single:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[0] < 2 or x.shape[1] < 2:
        raise PRIMEInputError(
            f"ICC needs at least 2 targets rated by at least 2 judges; got an array of shape {x.shape}.",
            field="ratings",
            expected="shape (n_targets ≥ 2, k_judges ≥ 2[, n_features])",
        )
    n, k = x.shape[0], x.shape[1]
    grand = x.mean(axis=(0, 1))
    ss_targets = k * ((x.mean(axis=1) - grand) ** 2).sum(axis=0)
    ss_judges = n * ((x.mean(axis=0) - grand) ** 2).sum(axis=0)
    ss_total = ((x - grand) ** 2).sum(axis=(0, 1))
    bms = ss_targets / (n - 1)
    jms = ss_judges / (k - 1)
    ems = (ss_total - ss_targets - ss_judges) / ((n - 1) * (k - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        icc21 = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
        icc31 = (bms - ems) / (bms + (k - 1) * ems)
    if single:
        return {"ICC(2,1)": float(icc21[0]), "ICC(3,1)": float(icc31[0])}
    return {"ICC(2,1)": icc21, "ICC(3,1)": icc31}


def feature_icc(
    repeats: Sequence[pd.DataFrame] | Mapping[str, pd.DataFrame], *, case_column: str = "case_id"
) -> pd.DataFrame:
    """ICC(2,1) and ICC(3,1) of every feature column, from one features table per repeat segmentation.

    Each table has one row per case (``case_column``, or the index when that column is absent) and the
    same feature columns. Cases in every table and numeric columns in every table are used. Returns a
    table indexed by feature with columns ``ICC(2,1)``, ``ICC(3,1)`` and ``n_cases``.
    """
    tables = list(repeats.values()) if isinstance(repeats, Mapping) else list(repeats)
    if len(tables) < 2:
        raise PRIMEInputError(
            f"ICC needs at least two repeat segmentations; got {len(tables)} features table(s).",
            field="repeats",
            expected="one features table per repeat segmentation (or per reader)",
        )
    indexed = [t.set_index(case_column) if case_column in t.columns else t for t in tables]
    cases = indexed[0].index
    for table in indexed[1:]:
        cases = cases.intersection(table.index, sort=False)
    columns = [
        c
        for c in indexed[0].columns
        if all(c in t.columns and pd.api.types.is_numeric_dtype(t[c]) for t in indexed)
    ]
    if len(cases) < 2 or not columns:
        raise PRIMEInputError(
            f"The repeat tables share {len(cases)} cases and {len(columns)} numeric feature columns.",
            field="repeats",
            expected="at least 2 cases and 1 feature column present in every repeat table",
            hint="Check the case identifiers match between the repeat segmentations.",
        )
    stack = np.stack([t.loc[cases, columns].to_numpy(dtype=float) for t in indexed], axis=1)
    result = intraclass_correlation(stack)
    return pd.DataFrame(
        {"ICC(2,1)": result["ICC(2,1)"], "ICC(3,1)": result["ICC(3,1)"], "n_cases": len(cases)},
        index=pd.Index(columns, name="feature"),
    )


def reproducible_features(
    repeats: Sequence[pd.DataFrame] | Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    kind: str = "ICC(2,1)",
    case_column: str = "case_id",
) -> list[str]:
    """Feature columns whose ICC (``kind``) is above ``threshold``, in their order.

    ``repeats`` is the repeat tables (see :func:`feature_icc`) or its result.
    """
    if kind not in ICC_KINDS:
        raise PRIMEInputError(
            f"Unknown ICC kind '{kind}'.", field="kind", value=kind, expected=str(ICC_KINDS)
        )
    table = repeats if isinstance(repeats, pd.DataFrame) else feature_icc(repeats, case_column=case_column)
    keep = table[kind].to_numpy() > threshold  # NaN compares False: constant features are dropped
    return [str(name) for name in table.index[keep]]
