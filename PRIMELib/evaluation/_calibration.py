"""Logistic recalibration — calibration-in-the-large and calibration slope — for many bootstrap
resamples at once.

* The calibration slope is the maximum-likelihood b of y ~ logistic(a + b·logit p). A bootstrap
  resample is a vector of case multiplicities, i.e. case weights, so all resamples are fitted together
  by Newton–Raphson (with step halving) on weighted data: two-parameter fits need nothing more than
  this, and scikit-learn's ``LogisticRegression`` would spend milliseconds per resample on input checks
  and L-BFGS set-up. The tests check it against statsmodels' ``Logit`` on resampled data.
* Calibration-in-the-large (the calibration intercept) is the maximum-likelihood a of
  y ~ logistic(a + 1·logit p), logit p an offset with the slope fixed at 1: a = 0 when the mean
  predicted risk matches the observed rate, a < 0 when the probabilities are too high. (The intercept
  of the two-parameter fit mixes this with miscalibration of the slope; the paper reported that one.)
  Its score equation Σ w (y − expit(a + logit p)) = 0 is monotone in a, solved per resample with
  ``scipy.optimize.brentq``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

__all__ = ["calibration_in_the_large", "logistic_fits"]


def calibration_in_the_large(offset: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The maximum-likelihood intercept a of logit P(y = 1) = a + ``offset`` (the slope fixed at 1),
    for each row of case ``weights`` (n_fits, n) → (n_fits,); NaN where a row's cases hold one class
    only (a runs off to ±∞)."""
    offset, y = np.asarray(offset, dtype=float), np.asarray(y, dtype=float)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    # At a = ±(max |offset| + 40) every expit(a + offset) is within 4e-18 of 1 or 0, so the score
    # Σ w (y − expit(a + offset)) has opposite signs there whenever both classes carry weight.
    bound = float(np.abs(offset).max(initial=0.0)) + 40.0
    out = np.full(len(weights), np.nan)
    for k, w in enumerate(weights):
        if (w @ y) > 0 and (w @ (1 - y)) > 0:
            out[k] = brentq(lambda a, w=w: w @ (y - expit(a + offset)), -bound, bound, xtol=1e-12)
    return out


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
