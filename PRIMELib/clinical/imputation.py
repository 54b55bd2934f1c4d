"""Missing clinical values: median imputation learnt on the training data, stored as plain JSON.

At training, features with more than ``max_missing_fraction`` (30 %) missing are dropped and the
medians of the others are stored. At scoring, every missing value is filled with its training median
and named in the result; a case missing more than ``max_imputed`` of the model's features is refused
with the list. The object follows scikit-learn's estimator API (``fit``/``transform``, ``get_params``),
so ``clone`` and pipelines work, and it serialises to plain JSON (model bundles never use pickle).

Missing means ``None`` or NaN; infinite values and text are errors, never imputed.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from PRIMELib.clinical.validation import ClinicalDataError, InputProblem, is_missing, show
from PRIMELib.errors import PRIMEInputError

FORMAT = "prime-median-imputer"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ImputedCase:
    """One case's model features with missing values filled, and the names of those filled."""

    values: dict[str, float]
    imputed_fields: tuple[str, ...]


def _numeric_frame(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` as floats; text cells and infinite values are reported, all at once."""
    # Fast path (scoring one case goes through here for every member model): an all-float frame with no
    # infinity needs no cell-by-cell look. NaN stays NaN, exactly as the general path leaves it.
    if all(pd.api.types.is_float_dtype(t) for t in frame.dtypes) and not np.isinf(frame.to_numpy()).any():
        return frame.astype(float)
    problems = []
    columns = {}
    for column in frame.columns:
        raw = frame[column]
        numeric = pd.to_numeric(raw.map(lambda v: np.nan if is_missing(v) else v), errors="coerce").astype(
            float
        )
        bad = numeric.isna() & ~raw.map(is_missing).astype(bool)
        bad |= np.isinf(numeric)
        problems += [
            InputProblem(
                str(column), f"Case {show(index)}: {show(raw[index])} is not a finite number.", raw[index]
            )
            for index in raw.index[bad]
        ]
        columns[column] = numeric
    if problems:
        raise ClinicalDataError(problems, source=what)
    return pd.DataFrame(columns, index=frame.index)


class MedianImputer:
    """Median imputation with training medians; drops features with too many missing at training.

    Parameters: ``max_missing_fraction`` — a feature missing in more than this fraction of the
    training cases is dropped (0.30: exactly 30 % is kept); ``max_imputed`` — a case to score may miss
    at most this many of the kept features (``None``: no limit).
    Fitted: ``features_`` (kept, in order), ``medians_``, ``dropped_`` (name → missing fraction),
    ``n_training_cases_``.
    """

    def __init__(self, max_missing_fraction: float = 0.30, max_imputed: int | None = 3) -> None:
        self.max_missing_fraction = max_missing_fraction
        self.max_imputed = max_imputed

    def get_params(self, deep: bool = True) -> dict[str, object]:
        return {"max_missing_fraction": self.max_missing_fraction, "max_imputed": self.max_imputed}

    def set_params(self, **params: object) -> MedianImputer:
        for key, value in params.items():
            if key not in self.get_params():
                raise PRIMEInputError(f"MedianImputer has no parameter {key!r}.", field=key, value=value)
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        return (
            f"MedianImputer(max_missing_fraction={self.max_missing_fraction}, max_imputed={self.max_imputed})"
        )

    def _check_params(self) -> None:
        fraction, limit = self.max_missing_fraction, self.max_imputed
        if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 <= fraction <= 1:
            raise PRIMEInputError(
                "max_missing_fraction must be a fraction from 0 to 1.",
                field="max_missing_fraction",
                value=fraction,
            )
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 0
        ):
            raise PRIMEInputError(
                "max_imputed must be a whole number ≥ 0 or None.", field="max_imputed", value=limit
            )

    def fit(self, X: pd.DataFrame, y: object = None) -> MedianImputer:  # noqa: N803 (scikit-learn's name)
        """Learn which features to keep and their medians from the training cases ``X``."""
        self._check_params()
        if not isinstance(X, pd.DataFrame) or len(X) == 0 or len(X.columns) == 0:
            raise PRIMEInputError(
                "The imputer needs the training cases as a non-empty DataFrame (one row per case).",
                field="X",
                value=type(X).__name__,
            )
        frame = _numeric_frame(X, "the training data")
        missing = frame.isna().mean()
        too_many = missing > self.max_missing_fraction + 1e-12
        self.dropped_ = {str(c): float(missing[c]) for c in frame.columns[too_many]}
        self.features_ = tuple(str(c) for c in frame.columns[~too_many])
        self.medians_ = {str(c): float(frame[c].median()) for c in frame.columns[~too_many]}
        self.n_training_cases_ = len(frame)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "features_"):
            raise PRIMEInputError(
                "The imputer has not been fitted: call fit() on the training data first.", field="imputer"
            )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self.features_, dtype=object)

    def _refuse(self, missing: Mapping[object, list[str]], what: str) -> None:
        over = {
            case: names
            for case, names in missing.items()
            if self.max_imputed is not None and len(names) > self.max_imputed
        }
        if over:
            raise ClinicalDataError(
                [
                    InputProblem(
                        "",
                        f"Case {show(case)} misses {len(names)} of the model's inputs: {', '.join(names)}.",
                        case,
                        expected=f"at most {self.max_imputed} missing",
                        hint="Enter the missing values; the model cannot score a case this incomplete.",
                    )
                    for case, names in over.items()
                ],
                source=what,
            )

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """The kept features of ``X`` with missing values filled; columns absent from ``X`` count as missing.

        Refuses (one :class:`ClinicalDataError`) every case missing more than ``max_imputed``.
        """
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):
            raise PRIMEInputError(
                "transform() needs a DataFrame of cases.", field="X", value=type(X).__name__
            )
        frame = _numeric_frame(X.reindex(columns=list(self.features_)), "the cases to score")
        # On the array, not cell by cell: scoring one case runs this for every clinical member model, and
        # pandas' row iteration and per-column fillna cost milliseconds each. The filled values are the
        # same floats fillna(medians) gives.
        values = frame.to_numpy(dtype=float)
        absent = np.isnan(values)
        missing = {
            case: [f for f, gone in zip(self.features_, row, strict=True) if gone]
            for case, row in zip(frame.index, absent, strict=True)
        }
        self._refuse(missing, "the cases to score")
        medians = np.array([self.medians_[f] for f in self.features_], dtype=float)
        return pd.DataFrame(np.where(absent, medians, values), index=frame.index, columns=frame.columns)

    def fit_transform(self, X: pd.DataFrame, y: object = None) -> pd.DataFrame:  # noqa: N803
        return self.fit(X, y).transform(X)

    def impute(self, case: Mapping[str, object], *, case_id: str = "case") -> ImputedCase:
        """One case (feature name → value): its model features, missing ones filled and named."""
        self._check_fitted()
        if not isinstance(case, Mapping):
            raise PRIMEInputError(
                "A case must be a mapping of feature names to values.", field="case", value=case
            )
        frame = _numeric_frame(
            pd.DataFrame([{f: case.get(f) for f in self.features_}], index=[case_id], dtype=object), case_id
        )
        imputed = tuple(f for f in self.features_ if math.isnan(frame.iloc[0][f]))
        self._refuse({case_id: list(imputed)}, case_id)
        values = {f: (self.medians_[f] if f in imputed else float(frame.iloc[0][f])) for f in self.features_}
        return ImputedCase(values, imputed)

    # -------------------------------------------------------------------------------------------
    # Plain-JSON persistence

    def to_dict(self) -> dict[str, object]:
        self._check_fitted()
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "params": self.get_params(),
            "features": list(self.features_),
            "medians": dict(self.medians_),
            "dropped": dict(self.dropped_),
            "n_training_cases": self.n_training_cases_,
        }

    @classmethod
    def from_dict(cls, data: object) -> MedianImputer:
        """Rebuild a fitted imputer from :meth:`to_dict`'s output; a malformed one is refused."""
        try:
            if not isinstance(data, Mapping) or data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT!r} object")
            if data.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format_version {show(data.get('format_version'))} is not {FORMAT_VERSION}")
            imputer = cls(**data["params"])
            imputer._check_params()
            features = tuple(data["features"])
            medians = {str(k): float(v) for k, v in data["medians"].items()}
            if not all(isinstance(f, str) for f in features) or set(features) != set(medians):
                raise ValueError("'features' and 'medians' do not name the same features")
            if not all(math.isfinite(v) for v in medians.values()):
                raise ValueError("a median is not finite")
            imputer.features_ = features
            imputer.medians_ = {f: medians[f] for f in features}
            imputer.dropped_ = {str(k): float(v) for k, v in data["dropped"].items()}
            imputer.n_training_cases_ = int(data["n_training_cases"])
        except PRIMEInputError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise PRIMEInputError(
                f"The stored imputer is malformed ({error}).",
                field="imputer",
                expected=f"a {FORMAT!r} object",
            ) from error
        return imputer

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> MedianImputer:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as error:
            raise PRIMEInputError(
                f"The stored imputer is not valid JSON ({error}).", field="imputer"
            ) from error
        return cls.from_dict(data)
