"""Clinical categories and ordinals as model inputs: the encoder of the clinical pipeline.

A cohort table carries clinical variables as the schema codes them: numbers, 0/1 flags, integer
ordinals (ECOG 0–4, ALBI grade), ranked text codes (Child–Pugh class A < B < C, BCLC 0 < A < B < C < D)
and nominal text codes (interventional therapy, immunotherapy and targeted agents). The models need
numbers, so :class:`ClinicalEncoder` turns every column into them, inside the pipeline (cross-validation
refits it in every fold):

* number → itself;
* binary (two codes) → 0/1 in the schema's order of codes (sex: female 0, male 1; flags: no 0, yes 1);
* ordinal → the rank of its code (Child–Pugh A 0, B 1, C 2; BCLC 0…4; ECOG 0…4), scikit-learn's
  :class:`~sklearn.preprocessing.OrdinalEncoder` with the schema's categories;
* nominal → one 0/1 column per category seen in training (``interventional=TACE``), scikit-learn's
  :class:`~sklearn.preprocessing.OneHotEncoder`; a category unseen in training gives all zeros.

Cells may be the schema's codes, their labels or aliases ("M", "Male", "yes"), or the numbers a float
table holds (1.0 for a flag, a text code's position); text the schema does not allow is refused with a
named error. A number that is no code counts as missing, as scikit-learn's encoders treat an unknown
category (the cohort readers and :meth:`ModelBundle.score` refuse such numbers before they get here). A
missing cell stays missing (NaN in every column it feeds): the imputer that follows fills it.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from sklearn.utils.validation import check_is_fitted

from PRIMELib.clinical.coding import (
    ENCODINGS,
    ONE_HOT_SEPARATOR,
    encoding_of,
    model_value,
    schema_code,
    source_columns,
)
from PRIMELib.clinical.schema import CLINICAL_SCHEMA, Kind
from PRIMELib.clinical.validation import ClinicalDataError, InputProblem, is_missing, show
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.selection import ColumnSelector

__all__ = [
    "ENCODINGS",
    "ClinicalEncoder",
    "encoding_of",
    "model_value",
    "reference_and_range",
    "schema_code",
    "source_columns",
]


def reference_and_range(name: str, values: pd.Series) -> tuple[float, list[float]]:
    """The median and the 1st–99th percentile range of a model-input column (for a bundle's reference
    case and its out-of-range warnings). A coded column gets values that occur, never between two
    codes (a sex of 0.5 or a BCLC of 2.5 is no case)."""
    if encoding_of(name) == "number":
        return float(values.median()), [float(values.quantile(0.01)), float(values.quantile(0.99))]
    return float(values.quantile(0.5, interpolation="lower")), [
        float(values.quantile(0.01, interpolation="lower")),
        float(values.quantile(0.99, interpolation="higher")),
    ]


@functools.cache
def _numeric_codes(name: str) -> dict[float, str]:
    """The numbers a float table holds for the coded variable ``name`` → its codes as text."""
    variable = CLINICAL_SCHEMA.get_variable(name)
    if variable.kind is Kind.CATEGORY:
        return {float(i): str(code) for i, code in enumerate(variable.codes)}
    return {float(code): str(code) for code in variable.codes}


def _codes(column: str, values: pd.Series, problems: list[InputProblem]) -> np.ndarray:
    """The schema codes of a coded column, as text ("0", "B", "TACE"); missing cells as ``None``."""
    lookup = _numeric_codes(column)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # The usual case, a cohort's float table: one look-up per cell.
        return np.array([lookup.get(v) for v in values.to_numpy(dtype=float)], dtype=object)

    def code(index, value):
        if is_missing(value):
            return None
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
            return lookup.get(float(value))
        try:
            checked = schema_code(column, value)
        except PRIMEInputError as error:
            message = f"Case {show(index)}: {error.message}"
            problems.append(InputProblem(column, message, value, error.expected, error.hint))
            return None
        return None if checked is None else str(checked)

    return np.array([code(i, v) for i, v in values.items()], dtype=object)


def _numbers(column: str, values: pd.Series, problems: list[InputProblem]) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float)
    missing = values.map(is_missing).astype(bool)
    numeric = pd.to_numeric(values.where(~missing), errors="coerce").astype(float)
    bad = numeric.isna() & ~missing
    problems += [
        InputProblem(column, f"Case {show(i)}: {show(values[i])} is not a number.", values[i])
        for i in values.index[bad]
    ]
    return numeric.to_numpy()


class ClinicalEncoder(ColumnSelector):
    """Selects the clinical columns (as :class:`ColumnSelector` does: absent ones come back missing) and
    encodes each by its schema coding (see the module docstring). DataFrame in, DataFrame out.

    Fitted: ``encodings_`` (column → encoding), ``ordinal_`` (an OrdinalEncoder over the binary and
    ordinal columns, or ``None``), ``one_hot_`` (column → a OneHotEncoder), ``feature_names_out_``.
    """

    def __init__(self, columns=None):
        super().__init__(columns)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def _split(self, X) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The selected columns of ``X``: numbers as floats, coded ones as schema codes (text)."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError("ClinicalEncoder needs a pandas DataFrame with named columns.")
        frame = X.reindex(columns=self.columns_)
        problems: list[InputProblem] = []
        values, codes = {}, {}
        for column in self.columns_:
            kind = self.encodings_[column]
            if kind in ("binary", "ordinal", "nominal"):
                codes[column] = _codes(column, frame[column], problems)
            elif kind == "number":
                values[column] = _numbers(column, frame[column], problems)
        if problems:
            raise ClinicalDataError(problems, source="the clinical inputs")
        return values, codes

    def _ranked(self) -> list[str]:
        return [c for c in self.columns_ if self.encodings_[c] in ("binary", "ordinal")]

    @staticmethod
    def _filled(codes: np.ndarray, stand_in: str) -> np.ndarray:
        """Missing codes replaced by a known one (the encoders take no missing), reset to NaN after."""
        return np.where(pd.isna(codes), stand_in, codes).astype(object)

    def fit(self, X, y=None):
        super().fit(X, y)
        self.encodings_ = {c: encoding_of(c) for c in self.columns_}
        _, codes = self._split(X)
        ranked = self._ranked()
        self.ordinal_ = None
        if ranked:
            categories = [[str(code) for code in CLINICAL_SCHEMA.get_variable(c).codes] for c in ranked]
            filled = np.column_stack([self._filled(codes[c], categories[i][0]) for i, c in enumerate(ranked)])
            self.ordinal_ = OrdinalEncoder(
                categories=categories, handle_unknown="use_encoded_value", unknown_value=np.nan, dtype=float
            ).fit(filled)
        self.one_hot_ = {}
        for column in self.columns_:
            if self.encodings_[column] != "nominal":
                continue
            seen = codes[column][~pd.isna(codes[column])]
            if len(seen):
                encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float)
                self.one_hot_[column] = encoder.fit(seen.reshape(-1, 1))
        names = []
        for column in self.columns_:
            kind = self.encodings_[column]
            if kind in ("number", "binary", "ordinal"):
                names.append(column)
            elif column in self.one_hot_:
                names += [
                    f"{column}{ONE_HOT_SEPARATOR}{category}"
                    for category in self.one_hot_[column].categories_[0]
                ]
        self.feature_names_out_ = names
        return self

    def transform(self, X):
        check_is_fitted(self, "feature_names_out_")
        values, codes = self._split(X)
        out: dict[str, np.ndarray] = dict(values)
        ranked = self._ranked()
        if ranked:
            stand_ins = [categories[0] for categories in self.ordinal_.categories_]
            filled = np.column_stack([self._filled(codes[c], stand_ins[i]) for i, c in enumerate(ranked)])
            ranks = self.ordinal_.transform(filled)
            for i, column in enumerate(ranked):
                out[column] = np.where(pd.isna(codes[column]), np.nan, ranks[:, i])
        for column, encoder in self.one_hot_.items():
            missing = pd.isna(codes[column])
            hot = encoder.transform(self._filled(codes[column], encoder.categories_[0][0]).reshape(-1, 1))
            hot[missing, :] = np.nan
            for j, category in enumerate(encoder.categories_[0]):
                out[f"{column}{ONE_HOT_SEPARATOR}{category}"] = hot[:, j]
        matrix = np.column_stack([out[name] for name in self.feature_names_out_]) if out else None
        return pd.DataFrame(matrix, index=X.index, columns=self.feature_names_out_, dtype=float)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)
