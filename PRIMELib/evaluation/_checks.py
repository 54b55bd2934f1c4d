"""Checks of the arrays the evaluation functions take: one clear error per kind of bad input.

Structural problems (lengths that differ, missing values, labels that are not 0/1, probabilities
outside [0, 1], negative times) raise :class:`PRIMEInputError`. Data that are well formed but carry no
information for a statistic (one outcome class, no deaths) are not errors here: the metrics return NaN
with a note, and the functions that cannot fit or draw anything raise where they are called.
"""

from __future__ import annotations

import numpy as np

from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.survival_data import event_and_time

__all__ = ["binary_outcome", "finite_scores", "survival_arrays", "survival_labels"]

_SAME_ORDER = "Pass one value per case, for exactly the cases of the outcome and in the same order."


def _one_dimensional(values, field: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise PRIMEInputError(
            f"'{field}' must be one value per case; it has shape {array.shape}.",
            field=field,
            value=array.shape,
            expected="a one-dimensional array",
        )
    if len(array) == 0:
        raise PRIMEInputError(f"'{field}' is empty: there are no cases to evaluate.", field=field, value=0)
    return array


def _same_length(n: int, values: np.ndarray, field: str, reference: str) -> None:
    if len(values) != n:
        raise PRIMEInputError(
            f"'{field}' has {len(values)} values but '{reference}' has {n}.",
            field=field,
            value=len(values),
            expected=f"{n} values, one per case",
            hint=_SAME_ORDER,
        )


def finite_scores(values, n: int, *, field: str, reference: str) -> np.ndarray:
    """``values`` as floats: one per case (``n``), none missing or infinite."""
    array = _one_dimensional(values, field)
    _same_length(n, array, field, reference)
    try:
        array = array.astype(float)
    except (TypeError, ValueError) as error:
        raise PRIMEInputError(
            f"'{field}' must be numbers; found {array.dtype} values.", field=field, value=str(array.dtype)
        ) from error
    bad = ~np.isfinite(array)
    if bad.any():
        raise PRIMEInputError(
            f"'{field}' has {int(bad.sum())} missing or infinite values (first at position "
            f"{int(np.argmax(bad))}).",
            field=field,
            value=int(bad.sum()),
            expected="a finite number for every case",
            hint="Score every case, or leave unscored cases out of the outcome as well.",
        )
    return array


def binary_outcome(y, probability) -> tuple[np.ndarray, np.ndarray]:
    """``(y, p)``: 0/1 outcomes as int and probabilities in [0, 1], of equal length."""
    y = _one_dimensional(y, "y")
    try:
        numeric = y.astype(float)
    except (TypeError, ValueError) as error:
        raise PRIMEInputError(
            "The outcome 'y' must be 0/1 (1 = responder).", field="y", value=str(y.dtype), expected="0 or 1"
        ) from error
    found = set(np.unique(numeric[np.isfinite(numeric)]).tolist())
    if np.isnan(numeric).any() or not found <= {0.0, 1.0}:
        shown = sorted(found - {0.0, 1.0})[:5] or ["missing"]
        raise PRIMEInputError(
            f"The outcome 'y' must be 0/1 (1 = responder); found {shown}.",
            field="y",
            value=shown,
            expected="0 or 1 for every case",
            hint="Leave out cases without a response assessment.",
        )
    p = finite_scores(probability, len(y), field="probability", reference="y")
    if p.min() < 0 or p.max() > 1:
        raise PRIMEInputError(
            f"Probabilities must lie in [0, 1]; found values from {p.min():.3g} to {p.max():.3g}.",
            field="probability",
            value=[float(p.min()), float(p.max())],
            expected="probabilities in [0, 1]",
            hint="Pass predicted probabilities, not logits or risk scores.",
        )
    return numeric.astype(int), p


def survival_arrays(event, time) -> tuple[np.ndarray, np.ndarray]:
    """``(event, time)`` as bool and float: equal length, events 0/1, times finite and ≥ 0 (days)."""
    event = _one_dimensional(event, "event")
    time = finite_scores(time, len(event), field="time", reference="event")
    if (time < 0).any():
        raise PRIMEInputError(
            f"Survival times must be ≥ 0 days; {int((time < 0).sum())} are negative.",
            field="time",
            value=float(time.min()),
            expected="days from treatment start to death or last follow-up",
        )
    try:
        numeric = event.astype(float)
    except (TypeError, ValueError) as error:
        raise PRIMEInputError(
            "The event indicator must be 0/1 (1 = died).", field="event", value=str(event.dtype)
        ) from error
    if np.isnan(numeric).any() or not set(np.unique(numeric).tolist()) <= {0.0, 1.0}:
        raise PRIMEInputError(
            "The event indicator must be 0/1 (1 = died) for every case.",
            field="event",
            value=sorted(set(np.unique(numeric).tolist()) - {0.0, 1.0})[:5] or "missing",
            expected="0 or 1",
        )
    return numeric.astype(bool), time


def survival_labels(y, *, field: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """``(event, time)`` from a scikit-survival structured array, checked like :func:`survival_arrays`."""
    try:
        event, time = event_and_time(y)
    except ValueError as error:
        raise PRIMEInputError(
            f"'{field}' is not a survival outcome: {error}",
            field=field,
            expected="a structured array of (event, time), e.g. from make_survival_labels(event, time)",
        ) from error
    try:
        return survival_arrays(event, time)
    except PRIMEInputError as error:
        raise PRIMEInputError(f"In '{field}': {error.message}", field=field, value=error.value) from error
