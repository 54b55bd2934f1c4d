"""Per-patient explanations: Shapley values of each feature against a reference patient.

For one case ``x`` and a reference ``r`` (the training median of every feature: a "typical patient"
that contains no real patient's data), the contribution of feature j is its Shapley value in the game
v(S) = f(x_S, r_rest) — Sundararajan & Najmi's *baseline Shapley*. The contributions add up exactly:
f(x) = f(r) + Σ_j φ_j. They are computed exactly (all 2^M coalitions) for up to ``exact_max_features``
features, else by antithetic permutation sampling, which keeps the exact sum.

The fused models are sums over modalities of one modality's model output: PRIME-R's log-odds is
``b0 + Σ_m b_m · logit p_m(x_m)`` and PRIME-S's risk is ``Σ_m w_m (r_m(x_m) − mean_m) / sd_m``, and the
modalities use disjoint features, so each feature's contribution to the fused output is its Shapley
value in its own modality's model times that modality's factor — exact, and cheap.

Why not the ``shap`` package: it depends on a PyPI package named ``slicer``, which collides with
3D Slicer's own ``slicer`` module (and with slicer-core's), and on numba/llvmlite; for models of 10–40
selected features the exact or sampled baseline Shapley here costs milliseconds.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = [
    "Contribution",
    "MemberCase",
    "baseline_shapley",
    "explain_members",
    "member_output",
    "shapley_and_ends",
    "trees_checked_once",
]


def baseline_shapley(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    reference: np.ndarray,
    *,
    exact_max_features: int = 10,
    n_permutations: int = 64,
    random_state: int = 0,
) -> np.ndarray:
    """Shapley values φ (M,) of ``f`` at ``x`` against ``reference``; Σ φ = f(x) − f(reference).

    ``f`` maps an (n, M) array to (n,) outputs and is called once, on all coalitions stacked.
    """
    return shapley_and_ends(
        f,
        x,
        reference,
        exact_max_features=exact_max_features,
        n_permutations=n_permutations,
        random_state=random_state,
    )[0]


def shapley_and_ends(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    reference: np.ndarray,
    *,
    exact_max_features: int = 10,
    n_permutations: int = 64,
    random_state: int = 0,
) -> tuple[np.ndarray, float, float]:
    """:func:`baseline_shapley`'s φ with f(reference) and f(x), from one call of ``f``.

    The coalitions include the empty one (the reference itself) and the full one (the case itself), so
    the two ends are read from the same batch of outputs rather than predicted again: a model's
    per-call overhead (scikit-learn validates the input of every tree of a boosted ensemble) is paid
    once per member and case.
    """
    x = np.asarray(x, dtype=float)
    reference = np.asarray(reference, dtype=float)
    m = x.size
    if m == 0 or not (x != reference).any():
        ends = np.asarray(f(np.vstack([reference, x])), dtype=float)
        return np.zeros(m), float(ends[0]), float(ends[1])
    if m <= exact_max_features:
        return _exact(f, x, reference)
    return _sampled(f, x, reference, n_permutations, random_state)


def _exact(f, x: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, float, float]:
    m = x.size
    codes = np.arange(2**m)
    masks = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)  # (2^m, m)
    # A feature whose case value equals the reference's (a category at its median, an imputed value)
    # leaves the coalition row unchanged, so ``f`` is called once per distinct row: on the 2^d
    # coalitions of the d features that differ (bit for bit), read back for all 2^m. Same rows, same
    # outputs; the model does 2^(m−d) times less work.
    varies = x.view(np.int64) != reference.view(np.int64)
    d = int(varies.sum())
    reduced = masks[: 2**d][:, :d]  # the codes 0 … 2^d − 1 over the varying features
    rows = np.tile(reference, (2**d, 1))
    rows[:, varies] = np.where(reduced, x[varies], reference[varies])
    outputs = np.asarray(f(rows), dtype=float)
    values = outputs[masks[:, varies] @ (1 << np.arange(d))] if d < m else outputs
    sizes = masks.sum(axis=1)
    weight = np.array([factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)])
    phi = np.zeros(m)
    for j in range(m):
        without = codes[~masks[:, j]]
        phi[j] = np.sum(weight[sizes[without]] * (values[without | (1 << j)] - values[without]))
    # Row 0 takes every feature from the reference, the last row every feature from the case.
    return phi, float(values[0]), float(values[-1])


def _sampled(
    f, x: np.ndarray, reference: np.ndarray, n_permutations: int, random_state: int
) -> tuple[np.ndarray, float, float]:
    m = x.size
    rng = np.random.default_rng(random_state)
    half = max(1, n_permutations // 2)
    orders = [rng.permutation(m) for _ in range(half)]
    orders += [order[::-1] for order in orders]  # antithetic pairs halve the variance
    rows = []
    for order in orders:
        current = reference.copy()
        rows.append(current.copy())
        for j in order:
            current[j] = x[j]
            rows.append(current.copy())
    values = np.asarray(f(np.asarray(rows)), dtype=float).reshape(len(orders), m + 1)
    phi = np.zeros(m)
    for k, order in enumerate(orders):
        phi[order] += np.diff(values[k])
    # Each order starts at the reference and ends at the case.
    return phi / len(orders), float(values[0, 0]), float(values[0, -1])


@dataclass(frozen=True)
class Contribution:
    """One feature's signed contribution to a model output, with the case's value of it."""

    feature: str
    #: The case's value; for a one-hot column (``targeted=sorafenib``) 1.0 or 0.0; None when the case
    #: has none (a missing value the model imputed column by column): never NaN, which JSON cannot hold.
    value: float | None
    contribution: float

    def to_dict(self) -> dict[str, float | str | None]:
        return {"feature": self.feature, "value": self.value, "contribution": self.contribution}


class _CheckedInputTree:
    """A fitted tree of an ensemble whose ``predict…`` methods skip the input validation its ensemble
    has already done (finite rows, as float32): scikit-learn's and scikit-survival's trees take
    ``check_input=False`` for exactly this. They still check the number of features. Everything else is
    the tree's own. Hand-written: neither library offers a switch for it."""

    def __init__(self, tree) -> None:
        self._tree = tree

    def __getattr__(self, name: str):
        if name == "_tree":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        method = getattr(self._tree, name)
        if name.startswith("predict"):
            return functools.partial(method, check_input=False)
        return method


def _unchanged(rows: np.ndarray) -> np.ndarray:
    return rows


def _finite_float32(rows: np.ndarray) -> np.ndarray:
    """The rows as every tree's own check makes them (float32, C order), refused if not finite."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    if not np.isfinite(rows).all():
        raise ValueError("The model inputs are not all finite.")
    return rows


def trees_checked_once(model) -> tuple[object, Callable[[np.ndarray], np.ndarray]]:
    """A view of a tree ensemble whose trees do not re-validate the rows, and how to prepare the rows.

    scikit-learn's AdaBoost and scikit-survival's random survival forests validate their input once,
    then again in every one of their (typically 100) trees: about 0.2 ms a tree, most of the time of
    scoring one case. The view is a shallow copy whose trees skip that second check; the ensemble's own
    code computes the prediction, so the values are the same. A random survival forest converts the rows
    to float32 itself; for AdaBoost (whose check keeps float64) the prepared rows are converted here, as
    each tree's check would have done. Any other model comes back unchanged.
    """
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier
    from sksurv.ensemble import ExtraSurvivalTrees, RandomSurvivalForest
    from sksurv.tree import SurvivalTree

    trees = getattr(model, "estimators_", None)
    if isinstance(model, AdaBoostClassifier) and trees:
        tree_type, prepare = DecisionTreeClassifier, _finite_float32
    elif isinstance(model, (RandomSurvivalForest, ExtraSurvivalTrees)) and trees:
        tree_type, prepare = SurvivalTree, _unchanged
    else:
        return model, _unchanged
    if not all(isinstance(tree, tree_type) for tree in trees):
        return model, _unchanged
    view = copy.copy(model)
    view.estimators_ = [_CheckedInputTree(tree) for tree in trees]
    return view, prepare


def member_output(kind: str, model, factor: float) -> Callable[[np.ndarray], np.ndarray]:
    """A fused model's term for one member, as a function of the member model's inputs:
    ``factor × log-odds`` (``kind="log_odds"``) or ``factor × risk score`` (``kind="risk"``)."""
    model, prepare = trees_checked_once(model)
    if kind == "log_odds":

        def log_odds(rows: np.ndarray) -> np.ndarray:
            p = np.clip(model.predict_proba(prepare(rows))[:, 1], 1e-6, 1 - 1e-6)
            return factor * np.log(p / (1 - p))

        return log_odds
    if kind != "risk":
        raise ValueError(f"kind must be 'log_odds' or 'risk', got {kind!r}.")

    def risk(rows: np.ndarray) -> np.ndarray:
        return factor * np.asarray(model.predict(prepare(rows)), dtype=float)

    return risk


@dataclass(frozen=True)
class MemberCase:
    """One member of a fused model, evaluated for one case: the member model's input names, the
    case's and the reference's transformed inputs, the term function, and the raw values to show."""

    features: list[str]
    case: np.ndarray
    reference: np.ndarray
    output: Callable[[np.ndarray], np.ndarray]
    raw_values: dict[str, float]


def shown_value(name: str, raw_values: dict[str, float | None]) -> float | None:
    """The case's value of the model feature ``name``, as a result shows it: the raw input; for a one-hot
    column ``column=category`` whether the case has that category (1.0 / 0.0); None when unknown."""
    from PRIMELib.clinical.coding import ONE_HOT_SEPARATOR, schema_code

    value = raw_values.get(name)
    if value is None and ONE_HOT_SEPARATOR in name:
        column, category = name.split(ONE_HOT_SEPARATOR, 1)
        code = raw_values.get(column)
        if code is not None and np.isfinite(code):
            return float(str(schema_code(column, code)) == category)
    return float(value) if value is not None and np.isfinite(value) else None


def explain_members(
    members: list[MemberCase], *, exact_max_features: int = 10, n_permutations: int = 64
) -> tuple[list[Contribution], float, float]:
    """Contributions of every feature to the sum of the members' terms, largest first, and the sum
    at the reference and at the case (sum(case) = sum(reference) + Σ contributions)."""
    contributions: list[Contribution] = []
    reference_total = case_total = 0.0
    for member in members:
        phi, at_reference, at_case = shapley_and_ends(
            member.output,
            member.case,
            member.reference,
            exact_max_features=exact_max_features,
            n_permutations=n_permutations,
        )
        reference_total += at_reference
        case_total += at_case
        contributions += [
            Contribution(name, shown_value(name, member.raw_values), float(value))
            for name, value in zip(member.features, phi, strict=True)
        ]
    contributions.sort(key=lambda c: abs(c.contribution), reverse=True)
    return contributions, reference_total, case_total
