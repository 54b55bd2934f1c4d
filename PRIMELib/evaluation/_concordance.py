"""Harrell's C, Uno's C, the cumulative/dynamic AUC and the ROC AUC for many bootstrap resamples at once.

A bootstrap resample of the evaluation cases is a vector of multiplicities c (how often each case was
drawn). Each of these statistics is a ratio of two sums over pairs of cases, Σᵢⱼ cᵢ cⱼ aᵢⱼ, with pair
terms a fixed by the original data (the censoring weights come from the *training* labels, so they do
not change either). So every resample costs two matrix products instead of a call to
scikit-survival, whose input checks alone take milliseconds: 200 resamples take tens of milliseconds
instead of seconds. Row 0 of ``counts`` is usually all ones, the data themselves.

The pair terms follow scikit-survival exactly (``concordance_index_censored``,
``concordance_index_ipcw``, ``cumulative_dynamic_auc``): a pair (i, j) is comparable when i died and j
was still under observation later (or censored at the same time); risks within ``tied_tol`` count
half. The tests compare with scikit-survival and lifelines on resampled data. Memory is O(n²).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ConcordancePairs", "resample_counts", "roc_auc"]


def resample_counts(index: np.ndarray, n: int) -> np.ndarray:
    """Multiplicities (n_resamples, n) of the drawn case indices (n_resamples, n)."""
    counts = np.zeros((len(index), n))
    np.add.at(counts, (np.repeat(np.arange(len(index)), index.shape[1]), index.ravel()), 1.0)
    return counts


class ConcordancePairs:
    """The pair terms of one evaluation set: events, times (days) and risk scores (higher = worse)."""

    def __init__(self, event: np.ndarray, time: np.ndarray, risk: np.ndarray, *, tied_tol: float = 1e-8):
        self.event, self.time = event, time
        later = time[None, :] > time[:, None]
        censored_same_time = (time[None, :] == time[:, None]) & ~event[None, :]
        comparable = event[:, None] & (later | censored_same_time)
        difference = risk[:, None] - risk[None, :]
        # 1 when i (the earlier death, or the case) has the higher risk, ½ for a tie, 0 otherwise.
        self.score = np.where(np.abs(difference) <= tied_tol, 0.5, (difference > 0).astype(float))
        self.comparable = comparable.astype(float)
        self.concordant = self.comparable * self.score

    def concordance(self, counts: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Weighted C-index per resample: Harrell's with no weights, Uno's with 1/G(Tᵢ)² for Tᵢ < τ."""
        left = counts if weights is None else counts * weights[None, :]
        numerator = ((left @ self.concordant) * counts).sum(axis=1)
        denominator = ((left @ self.comparable) * counts).sum(axis=1)
        return _ratio(numerator, denominator)

    def cumulative_dynamic_auc(self, counts: np.ndarray, t: float, case_weights: np.ndarray) -> np.ndarray:
        """AUC at ``t`` per resample: deaths by t (weighted 1/G(Tᵢ)) against those alive after t."""
        cases = (self.time <= t) & self.event
        controls = (self.time > t).astype(float)
        left = counts * np.where(cases, case_weights, 0.0)[None, :]
        numerator = ((left @ self.score) * (counts * controls[None, :])).sum(axis=1)
        denominator = left.sum(axis=1) * (counts @ controls)
        return _ratio(numerator, denominator)

    def kaplan_meier(self, counts: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Kaplan–Meier survival of each resample at ``times`` (n_resamples, n_times)."""
        death_times = np.unique(self.time[self.event])
        deaths = counts @ (self.event[:, None] & (self.time[:, None] == death_times[None, :]))
        at_risk = counts @ (self.time[:, None] >= death_times[None, :])
        factor = np.where(at_risk > 0, 1 - deaths / np.where(at_risk > 0, at_risk, 1), 1.0)
        survival = np.cumprod(np.c_[np.ones(len(counts)), factor], axis=1)
        return survival[:, np.searchsorted(death_times, times, side="right")]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def roc_auc(counts: np.ndarray, score: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC AUC per resample: the Mann–Whitney statistic over responder × non-responder pairs, exact
    ties counting half (scikit-learn's ``roc_auc_score`` on the resampled cases); NaN with one class."""
    difference = score[positive][:, None] - score[~positive][None, :]
    pair = np.where(difference > 0, 1.0, np.where(difference == 0, 0.5, 0.0))
    numerator = ((counts[:, positive] @ pair) * counts[:, ~positive]).sum(axis=1)
    denominator = counts[:, positive].sum(axis=1) * counts[:, ~positive].sum(axis=1)
    return _ratio(numerator, denominator)
