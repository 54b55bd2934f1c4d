"""Logistic recalibration (calibration intercept and slope) for many bootstrap resamples at once.

The calibration slope and intercept are the maximum-likelihood b and a of y ~ logistic(a + b·logit p).
A bootstrap resample is a vector of case multiplicities, i.e. case weights, so all resamples are fitted
together by Newton–Raphson (with step halving) on weighted data: two-parameter fits need nothing more
than this, and scikit-learn's ``LogisticRegression`` would spend milliseconds per resample on input
checks and L-BFGS set-up. The tests check it against statsmodels' ``Logit`` on resampled data.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["logistic_fits"]


def logistic_fits(x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, max_iter: int = 50) -> np.ndarray:
    """(intercept, slope) of a logistic regression of ``y`` (0/1) on ``x`` for each row of case
    ``weights`` (n_fits, n) → (n_fits, 2); NaN where no finite estimate exists (one class only, or
    classes separated by x, where the estimate runs off to infinity and Newton does not converge)."""
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros((len(weights), 2))
    active = ((weights @ y) > 0) & ((weights @ (1 - y)) > 0)
    converged = np.zeros(len(weights), dtype=bool)
    likelihood = _log_likelihood(beta, design, y, weights)
    for _ in range(max_iter):
        rows = np.flatnonzero(active & ~converged)
        if not len(rows):
            break
        b, w = beta[rows], weights[rows]
        mu = expit(b @ design.T)
        gradient = (w * (y - mu)) @ design
        h = w * mu * (1 - mu)
        h00, h01, h11 = h.sum(axis=1), h @ x, h @ (x * x)
        determinant = h00 * h11 - h01**2
        singular = ~(determinant > 1e-12 * np.maximum(h00 * h11, 1e-300))
        determinant = np.where(singular, 1.0, determinant)
        step = (
            np.column_stack(
                [h11 * gradient[:, 0] - h01 * gradient[:, 1], h00 * gradient[:, 1] - h01 * gradient[:, 0]]
            )
            / determinant[:, None]
        )
        current = likelihood[rows]
        candidate = _log_likelihood(b + step, design, y, w)
        for _ in range(30):  # halve the steps that lower the likelihood
            worse = candidate < current - 1e-12
            if not worse.any():
                break
            step[worse] /= 2
            candidate[worse] = _log_likelihood(b[worse] + step[worse], design, y, w[worse])
        beta[rows], likelihood[rows] = b + step, candidate
        converged[rows] = np.abs(step).max(axis=1) < 1e-9
        active[rows[singular]] = False
    fitted = active & converged & np.isfinite(beta).all(axis=1)
    return np.where(fitted[:, None], beta, np.nan)


def _log_likelihood(beta: np.ndarray, design: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    eta = beta @ design.T
    return (weights * (y * eta - np.logaddexp(0, eta))).sum(axis=1)
