"""The one-month landmark of PRIME-S: survival models that use one-month changes start their clock there.

The paper's survival models use the relative changes of monocytes and prothrombin time one month after
treatment start (ΔMON, ΔPT) while counting survival from treatment start. A patient has a one-month
value only by living to the one-month visit, so the model is fitted on a time axis where the first
month is "immortal" for everyone who has the feature, and patients who died earlier got the median
change (they had none): immortal-time bias. PRIME fits such a model as a **landmark model** instead:

* the clock starts at the landmark (30 days): survival time = OS − 30 days;
* patients who died or were censored at or before the landmark are left out (they have no one-month
  value, and no time at risk after it);
* the model then predicts survival from the landmark for a patient alive at the landmark, which is
  the only patient it can be applied to (their one-month values exist).

:func:`landmark_features` names the columns that need the one-month visit; :func:`landmark_cohort`
turns survival labels into landmark labels. ``Testing/bench/bench_landmark.py`` measures, on the
synthetic cohort, how far the paper's way moves the C-index.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from PRIMELib.clinical.schema import LAB_NAMES
from PRIMELib.errors import PRIMEInputError

__all__ = [
    "LANDMARK_DAYS",
    "Landmark",
    "bundle_landmark",
    "curve_grid",
    "landmark_cohort",
    "landmark_features",
    "one_month_features",
]

#: The one-month visit, in days after treatment start.
LANDMARK_DAYS = 30.0


def one_month_features() -> tuple[str, ...]:
    """Every canonical column measured at the one-month visit: the relative changes ``delta_<lab>``
    (ΔMON = ``delta_mon`` and ΔPT = ``delta_pt`` are the paper's) and the one-month labs ``<lab>_1m``."""
    return tuple(f"delta_{lab}" for lab in LAB_NAMES) + tuple(f"{lab}_1m" for lab in LAB_NAMES)


def landmark_features(columns: Iterable[object]) -> list[str]:
    """The columns among ``columns`` (in their order) that need the one-month visit: when a survival
    model uses any of them, it must be a landmark model."""
    wanted = set(one_month_features())
    return [str(c) for c in columns if str(c) in wanted]


@dataclass(frozen=True)
class Landmark:
    """Survival labels from the landmark on.

    ``os_days`` / ``os_event``: the kept patients only, ``os_days`` counted from the landmark (OS − the
    landmark); ``kept``: patients alive and followed past the landmark; ``excluded``: patients who died
    or were censored at or before it; ``landmark_days``: the landmark, days after treatment start.
    """

    os_days: pd.Series
    os_event: pd.Series
    kept: pd.Index
    excluded: pd.Index
    landmark_days: float

    def describe(self) -> str:
        """One sentence for the training report."""
        return (
            f"Landmark at {self.landmark_days:g} days: {len(self.kept)} patient(s) alive and followed past "
            f"it enter the survival model, timed from the landmark; {len(self.excluded)} who died or were "
            "censored at or before it are left out."
        )


def landmark_cohort(
    os_days: pd.Series, os_event: pd.Series, landmark_days: float = LANDMARK_DAYS
) -> Landmark:
    """Keep the patients still followed after ``landmark_days`` and time them from the landmark.

    A patient whose OS time is ≤ the landmark (died or censored by then) is excluded. Raises
    :class:`PRIMEInputError` for a landmark that is not a positive number, times that are missing or
    negative, events that are not 0/1, labels whose patients differ, and when no patient is left.
    """
    if (
        isinstance(landmark_days, bool)
        or not isinstance(landmark_days, int | float | np.integer | np.floating)
        or not math.isfinite(float(landmark_days))
        or landmark_days <= 0
    ):
        raise PRIMEInputError(
            f"The landmark must be a positive number of days; got {landmark_days!r}.",
            field="landmark_days",
            value=landmark_days,
            expected="days after treatment start, > 0 (the one-month visit is 30)",
        )
    landmark_days = float(landmark_days)
    for name, series in (("os_days", os_days), ("os_event", os_event)):
        if not isinstance(series, pd.Series):
            raise PRIMEInputError(
                f"'{name}' must be a pandas Series indexed by patient; got {type(series).__name__}.",
                field=name,
                expected="a pandas Series",
            )
    if not os_days.index.equals(os_event.index):
        raise PRIMEInputError(
            "'os_days' and 'os_event' must list the same patients in the same order.",
            field="os_event",
            value=len(os_event),
            expected=f"the {len(os_days)} patient(s) of 'os_days'",
        )
    days = pd.to_numeric(os_days, errors="coerce").astype(float)
    bad = days.index[~np.isfinite(days.to_numpy()) | (days.to_numpy() < 0)]
    if len(bad):
        raise PRIMEInputError(
            f"OS time is missing, not a number or negative for {len(bad)} patient(s): "
            f"{', '.join(map(str, bad[:10]))}.",
            field="os_days",
            value=os_days.loc[bad[0]],
            expected="days from treatment start, ≥ 0",
        )
    events = pd.to_numeric(os_event, errors="coerce")
    bad = events.index[~events.isin([0, 1])]
    if len(bad):
        raise PRIMEInputError(
            f"OS event is not 0/1 for {len(bad)} patient(s): {', '.join(map(str, bad[:10]))}.",
            field="os_event",
            value=os_event.loc[bad[0]],
            expected="1 (died) or 0 (censored)",
        )
    after = days > landmark_days
    if not after.any():
        raise PRIMEInputError(
            f"No patient is followed past the landmark of {landmark_days:g} days: all "
            f"{len(days)} died or were censored at or before it.",
            field="os_days",
            value=float(days.max()) if len(days) else None,
            expected=f"some OS times > {landmark_days:g} days",
            hint="Check the OS unit (days), or train PRIME-S without the one-month features.",
        )
    return Landmark(
        os_days=days[after] - landmark_days,
        os_event=os_event[after],
        kept=days.index[after],
        excluded=days.index[~after],
        landmark_days=landmark_days,
    )


def bundle_landmark(manifest: dict) -> float | None:
    """The landmark (days) a bundle's PRIME-S was trained with, from its manifest; None: survival
    counted from treatment start (no one-month feature, the paper's way, or a bundle from before)."""
    days = manifest.get("training", {}).get("cohort", {}).get("landmark", {}).get("days")
    return float(days) if days else None


def curve_grid(
    follow_up_days: float, landmark_days: float | None, last_month: int, days_per_month: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where a patient's survival curve is read: ``(months, model_days, shown)``.

    ``months``: months from treatment start, every whole month up to the training follow-up (at least
    ``last_month``); with a landmark the curve starts at it (S = 1 there: the patient is alive at the
    landmark) and the whole months before it are dropped. ``model_days``: the same times on the model's
    clock (days from the landmark). ``shown``: the months within the training follow-up (which, for a
    landmark model, was counted from the landmark).
    """
    landmark = float(landmark_days or 0.0)
    end_days = float(follow_up_days) + landmark  # the training follow-up on the treatment-start clock
    months = np.arange(0, max(int(end_days // days_per_month), last_month) + 1, dtype=float)
    if landmark:
        start = landmark / days_per_month
        months = np.concatenate([[start], months[months > start]])
    model_days = np.maximum(months * days_per_month - landmark, 0.0)
    shown = months <= max(end_days / days_per_month, 1.0)
    return months, model_days, shown
