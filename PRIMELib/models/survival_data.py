"""Survival labels: scikit-survival structured arrays (event, time), and reading step functions."""

from __future__ import annotations

import numpy as np

__all__ = ["event_and_time", "make_survival_labels", "step_values"]


def make_survival_labels(event, time) -> np.ndarray:
    """A structured array with fields ``event`` (bool) and ``time`` (float, days), as
    ``sksurv.util.Surv.from_arrays`` makes; refuses missing or negative times."""
    event = np.asarray(event)
    time = np.asarray(time, dtype=float)
    if event.shape != time.shape or event.ndim != 1:
        raise ValueError("event and time must be one-dimensional and of the same length.")
    if not np.isfinite(time).all() or (time < 0).any():
        raise ValueError("Survival times must be finite and ≥ 0 (days from treatment start).")
    values = np.unique(event[~_isnan(event)]) if event.dtype.kind == "f" else np.unique(event)
    if event.dtype.kind == "f" and _isnan(event).any():
        raise ValueError("The event indicator has missing values.")
    if not set(values.tolist()) <= {0, 1}:
        raise ValueError(f"The event indicator must be 0/1 (1 = died); found {sorted(values.tolist())}.")
    labels = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    labels["event"] = event.astype(bool)
    labels["time"] = time
    return labels


def _isnan(values: np.ndarray) -> np.ndarray:
    return np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)


def event_and_time(y) -> tuple[np.ndarray, np.ndarray]:
    """``(event, time)`` from a structured survival array (the bool field and the float field)."""
    y = np.asarray(y)
    names = y.dtype.names
    if not names or len(names) != 2:
        raise ValueError(
            "A survival outcome must be a structured array of (event, time), e.g. from "
            "sksurv.util.Surv.from_arrays(event, time)."
        )
    kinds = {y.dtype[name].kind: name for name in names}
    if "b" not in kinds or ("f" not in kinds and "i" not in kinds):
        raise ValueError("A survival outcome needs one boolean event field and one numeric time field.")
    return y[kinds["b"]].astype(bool), y[kinds.get("f", kinds.get("i"))].astype(float)


def step_values(functions, times) -> np.ndarray:
    """Values of scikit-survival step functions at ``times`` (n_functions, n_times).

    Before the first jump the value is 1 (survival starts at 1); after the last it stays at the last
    value. scikit-survival's own call raises outside its domain; callers flag times beyond follow-up.
    """
    times = np.asarray(times, dtype=float)
    out = np.empty((len(functions), len(times)))
    for i, fn in enumerate(functions):
        index = np.searchsorted(fn.x, times, side="right") - 1
        values = fn.a * fn.y[np.clip(index, 0, None)] + fn.b
        out[i] = np.where(index < 0, 1.0, values)
    return out
