"""Training PRIME-R and PRIME-S from a cohort: splits, grid search inside the training set, fusion.

What happens (METHOD.md), in order:

1. **Split**: a whole centre (``external_centre``, by the ``centre`` column) becomes the external set;
   the rest is split 7:3, stratified by response × death, into training and internal test sets.
2. **Candidates**: for each endpoint (response, survival), modality (clinical, radiomics, early fusion)
   and algorithm, a pipeline (imputation → filters → z-score → selection → model) is tuned by grid
   search with k-fold cross-validation **inside the training set only**.
3. **Choice**: per endpoint and modality, the algorithm with the best cross-validated metric (AUC,
   Harrell's C). Test and external metrics are reported for every candidate and never used to choose.
4. **Fusion**: PRIME-R = late fusion of the chosen clinical and radiomics models (out-of-fold
   probabilities → logistic meta-classifier); PRIME-S = Bayesian model averaging of the chosen clinical
   and radiomics survival models (or of all of them), weights from training cross-validation.
5. **Freeze**: the response threshold, the risk cut-off (training median of the PRIME-S risk score),
   every fitted scaler, median, selected feature and weight are kept with the models, and applied
   unchanged to test and external data.

Seeds: one ``random_state`` drives splits, folds and models; the same seed gives the same models.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline

from PRIMELib.clinical.schema import CLINICAL_SCHEMA
from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation.metrics import _harrell, response_metrics, survival_metrics
from PRIMELib.io import to_jsonable
from PRIMELib.models.fusion import BayesianModelAveragingSurvival, LateFusionClassifier
from PRIMELib.models.pipelines import SelectionSettings, model_pipeline, selected_features, split_modalities
from PRIMELib.models.response import RESPONSE_ALGORITHMS, RESPONSE_GRIDS
from PRIMELib.models.survival import SURVIVAL_ALGORITHMS, SURVIVAL_GRIDS, concordance_scorer
from PRIMELib.models.survival_data import make_survival_labels
from PRIMELib.progress import ProgressCallback, report

__all__ = [
    "EXCLUDED_CLINICAL",
    "TrainingConfig",
    "TrainingData",
    "TrainingResult",
    "case_id_salt",
    "hash_case_ids",
    "load_training_data",
    "read_cohort_tables",
    "read_feature_table",
    "split_cohort",
    "train_prime",
]

#: Clinical columns that are never model inputs: outcomes, response assessment (it *is* the label),
#: and therapy after progression (known only after the outcome; the paper uses it to adjust HRs).
EXCLUDED_CLINICAL = frozenset(
    {"case_id", "subsequent_therapy"}
    | {v.name for v in CLINICAL_SCHEMA if v.group in ("outcome", "response")}
)
_CACHE_FROM_FEATURES = 200
_ID_COLUMNS = ("case_id", "ID", "id", "PatientID", "patient_id", "Case", "case")


# ---------------------------------------------------------------------------------------------
# Data


@dataclass
class TrainingData:
    """A training cohort: model inputs, outcomes and (optionally) each case's centre.

    ``features``: one row per case (index = case id), numeric columns: clinical variables and derived
    indices by their schema names, radiomics by phase-prefixed PyRadiomics names. ``response``: 0/1;
    ``os_days``: days from treatment start; ``os_event``: 1 died, 0 censored.
    """

    features: pd.DataFrame
    response: pd.Series
    os_days: pd.Series
    os_event: pd.Series
    centre: pd.Series | None = None
    ignored_columns: tuple[str, ...] = ()

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        response_column: str = "response",
        time_column: str = "os_days",
        event_column: str = "os_event",
        centre_column: str | None = "centre",
    ) -> TrainingData:
        """Split one table (index = case id) into inputs and outcomes; non-numeric and excluded
        columns are left out (named in ``ignored_columns``); rows missing an outcome are refused."""
        missing = [c for c in (response_column, time_column, event_column) if c not in frame.columns]
        if missing:
            raise PRIMEInputError(
                f"The cohort has no column {', '.join(map(repr, missing))}.",
                field="cohort",
                expected="outcome columns response (0/1), os_days (days) and os_event (0/1)",
            )
        outcomes = frame[[response_column, time_column, event_column]].apply(pd.to_numeric, errors="coerce")
        incomplete = outcomes.index[outcomes.isna().any(axis=1)]
        if len(incomplete):
            shown = ", ".join(map(str, incomplete[:10])) + (" …" if len(incomplete) > 10 else "")
            raise PRIMEInputError(
                f"{len(incomplete)} case(s) lack an outcome (response, os_days or os_event): {shown}.",
                field="cohort",
                hint="Complete the outcomes or leave these cases out of the training table.",
            )
        centre = None
        if centre_column and centre_column in frame.columns:
            centre = frame[centre_column].astype(str)
        drop = {response_column, time_column, event_column, centre_column} | EXCLUDED_CLINICAL
        inputs = frame[[c for c in frame.columns if c not in drop]]
        numeric = inputs.apply(pd.to_numeric, errors="coerce")
        # A column with text in it (a category such as sex or BCLC stage) is not a model input as is;
        # its numeric codings (sex_male, tace_haic, …) are.
        textual = [c for c in inputs.columns if (numeric[c].isna() & inputs[c].notna()).any()]
        features = numeric.drop(columns=textual).astype(float)
        ignored = tuple(sorted(set(textual) | (set(frame.columns) & (drop - {None}))))
        return cls(
            features=features,
            response=outcomes[response_column].astype(int),
            os_days=outcomes[time_column].astype(float),
            os_event=outcomes[event_column].astype(int),
            centre=centre,
            ignored_columns=ignored,
        )

    @property
    def survival(self) -> np.ndarray:
        return make_survival_labels(self.os_event.to_numpy(), self.os_days.to_numpy())


def read_feature_table(
    path: str | Path, *, prefix: str | None = None, id_column: str | None = None
) -> pd.DataFrame:
    """A radiomics feature table (CSV) indexed by case id, numeric feature columns only.

    Works with PRIME's own ``features.csv`` and with PyRadiomics' batch output: its ``diagnostics_…``
    columns and the ``Image``/``Mask`` paths are dropped. ``prefix`` (e.g. ``"arterial_"``) is added to
    every feature name of a one-phase table whose names lack it.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise PRIMEInputError(
            f"The feature table '{path}' cannot be read: {error}", field="features"
        ) from error
    id_column = id_column or next((c for c in _ID_COLUMNS if c in table.columns), None)
    if id_column is None or id_column not in table.columns:
        raise PRIMEInputError(
            f"The feature table '{path.name}' has no case identifier column.",
            field="features",
            expected="a column named " + " or ".join(_ID_COLUMNS[:3]),
            hint="Add the case identifiers the clinical table uses.",
        )
    table = table.set_index(table[id_column].astype(str)).drop(columns=[id_column])
    table.index.name = "case_id"
    keep = [
        c for c in table.columns if not str(c).startswith("diagnostics_") and str(c) not in ("Image", "Mask")
    ]
    table = table[keep].apply(pd.to_numeric, errors="coerce")
    table = table.loc[:, table.notna().any()]
    if prefix:
        table.columns = [c if str(c).startswith(prefix) else f"{prefix}{c}" for c in table.columns]
    duplicated = table.index[table.index.duplicated()].unique()
    if len(duplicated):
        raise PRIMEInputError(
            f"Case(s) {', '.join(duplicated[:5])} appear more than once in '{path.name}'.", field="features"
        )
    return table


def load_training_data(
    clinical: str | Path,
    *,
    features: Sequence[str | Path] = (),
    arterial_features: str | Path | None = None,
    venous_features: str | Path | None = None,
    mapping: str | Path | None = None,
    centre_column: str = "centre",
) -> TrainingData:
    """Read a clinical table (through the clinical schema, units converted, indices derived) and the
    radiomics tables, and join them by case id. The clinical table carries the outcomes
    (``response``, ``os_days``, ``os_event``) and optionally a ``centre`` column."""
    frame = read_cohort_tables(
        clinical,
        features=features,
        arterial_features=arterial_features,
        venous_features=venous_features,
        mapping=mapping,
        keep_columns=(centre_column,),
    )
    return TrainingData.from_frame(
        frame, centre_column=centre_column if centre_column in frame.columns else None
    )


def read_cohort_tables(
    clinical: str | Path,
    *,
    features: Sequence[str | Path] = (),
    arterial_features: str | Path | None = None,
    venous_features: str | Path | None = None,
    mapping: str | Path | None = None,
    keep_columns: Sequence[str] = ("centre",),
) -> pd.DataFrame:
    """The clinical table (through the schema) joined with the radiomics tables: one row per case,
    index = case id. ``keep_columns``: columns of a CSV clinical table outside the schema (a centre or
    a set column) that are kept as text instead of being refused as unknown."""
    from dataclasses import replace

    from PRIMELib.clinical.cohort import ColumnMapping, read_cohort, read_table

    clinical = Path(clinical)
    column_mapping = ColumnMapping.load(mapping) if mapping else ColumnMapping()
    # The same reader read_cohort uses (delimiter, BOM, Excel), so row positions line up below.
    raw = read_table(clinical, column_mapping.sheet, what="clinical table", field="clinical")
    kept = [c for c in dict.fromkeys(keep_columns) if c in raw.columns]
    if kept:
        column_mapping = replace(column_mapping, ignore=(*column_mapping.ignore, *kept))
    cohort = read_cohort(clinical, column_mapping).table
    if "case_id" not in cohort.columns:
        raise PRIMEInputError("The clinical table has no case_id column.", field="clinical")
    for column in kept:
        # read_cohort's index is the spreadsheet row (header = row 1).
        cohort[column] = raw[column].to_numpy()[cohort.index.to_numpy() - 2]
    cohort = cohort.set_index(cohort["case_id"].astype(str)).drop(columns=["case_id"])
    tables = [read_feature_table(p) for p in features]
    if arterial_features:
        tables.append(read_feature_table(arterial_features, prefix="arterial_"))
    if venous_features:
        tables.append(read_feature_table(venous_features, prefix="venous_"))
    frame = cohort
    for table in tables:
        absent = sorted(set(frame.index) - set(table.index))
        if absent:
            raise PRIMEInputError(
                f"{len(absent)} case(s) of the clinical table have no radiomics row: "
                f"{', '.join(absent[:10])}.",
                field="features",
                hint="Extract their features, or leave them out of the clinical table.",
            )
        frame = frame.join(table, how="left")
    return frame


# ---------------------------------------------------------------------------------------------
# Configuration and results


@dataclass
class TrainingConfig:
    """Everything that decides a training run; stored in the bundle's manifest."""

    random_state: int = 2025
    cv_folds: int = 5
    test_size: float = 0.3
    external_centre: str | None = None
    grid: str = "default"
    response_algorithms: tuple[str, ...] = tuple(RESPONSE_ALGORITHMS)
    survival_algorithms: tuple[str, ...] = tuple(SURVIVAL_ALGORITHMS)
    bma_weighting: str = "pseudo_bma_plus"
    bma_tau: float = 0.05
    bma_members: str = "best_per_modality"
    response_threshold: float | str = 0.5
    max_imputed: int = 3
    n_jobs: int = 1
    n_bootstrap: int = 200
    radiomics_params: str = "prime_paper"
    selection: SelectionSettings = field(default_factory=SelectionSettings)

    def check(self) -> None:
        if self.grid not in RESPONSE_GRIDS:
            raise PRIMEInputError(
                f"Unknown grid {self.grid!r}.", field="grid", expected=" or ".join(RESPONSE_GRIDS)
            )
        for name in self.response_algorithms:
            if name not in RESPONSE_ALGORITHMS:
                raise PRIMEInputError(
                    f"Unknown response algorithm {name!r}.", field="response_algorithms",
                    expected=", ".join(RESPONSE_ALGORITHMS),
                )  # fmt: skip
        for name in self.survival_algorithms:
            if name not in SURVIVAL_ALGORITHMS:
                raise PRIMEInputError(
                    f"Unknown survival algorithm {name!r}.", field="survival_algorithms",
                    expected=", ".join(SURVIVAL_ALGORITHMS),
                )  # fmt: skip
        if self.bma_members not in ("best_per_modality", "all"):
            raise PRIMEInputError(
                f"Unknown bma_members {self.bma_members!r}.", field="bma_members",
                expected="best_per_modality or all",
            )  # fmt: skip
        if not (isinstance(self.response_threshold, float | int) and 0 < self.response_threshold < 1) and (
            self.response_threshold != "youden"
        ):
            raise PRIMEInputError(
                "The response threshold must be a probability between 0 and 1, or 'youden'.",
                field="response_threshold",
                value=self.response_threshold,
            )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["response_algorithms"] = list(self.response_algorithms)
        data["survival_algorithms"] = list(self.survival_algorithms)
        return data


@dataclass
class TrainingResult:
    """The frozen PRIME-R and PRIME-S models and everything a bundle records about them."""

    prime_r: LateFusionClassifier
    prime_s: BayesianModelAveragingSurvival
    summary: pd.DataFrame
    config: TrainingConfig
    response_threshold: float
    risk_cutoff: float
    metrics: dict[str, dict[str, object]]
    selected_features: dict[str, dict[str, list[str]]]
    reference_values: dict[str, float]
    typical_ranges: dict[str, list[float]]
    clinical_medians: dict[str, float]
    input_columns: list[str]
    cohort: dict[str, object]
    seconds: float


# ---------------------------------------------------------------------------------------------
# Splits


def split_cohort(data: TrainingData, config: TrainingConfig) -> dict[str, pd.Index]:
    """Case ids of the ``train``, ``test`` and ``external`` sets (see the module docstring)."""
    index = data.features.index
    external = pd.Index([])
    internal = index
    if config.external_centre is not None:
        if data.centre is None:
            raise PRIMEInputError(
                "An external centre was asked for, but the cohort has no centre column.",
                field="external_centre",
                value=config.external_centre,
            )
        centres = sorted(data.centre.unique())
        if config.external_centre not in centres:
            raise PRIMEInputError(
                f"No case comes from centre {config.external_centre!r}.",
                field="external_centre",
                value=config.external_centre,
                expected="one of " + ", ".join(map(repr, centres)),
            )
        is_external = (data.centre == config.external_centre).to_numpy()
        external, internal = index[is_external], index[~is_external]
    strata = data.response.loc[internal].astype(str) + "/" + data.os_event.loc[internal].astype(str)
    if strata.value_counts().min() < 2:
        strata = data.response.loc[internal]
    if config.test_size <= 0:
        return {"train": internal, "test": pd.Index([]), "external": external}
    try:
        train, test = train_test_split(
            np.asarray(internal, dtype=object),
            test_size=config.test_size,
            stratify=strata.to_numpy(),
            random_state=config.random_state,
        )
    except ValueError as error:  # too few cases of a stratum for a stratified split
        raise PRIMEInputError(
            f"Cannot split {len(internal)} cases into training and test sets stratified by response "
            f"({_class_counts(data.response.loc[internal], 'responder', 'non-responder')}): {error}",
            field="cohort",
            value=len(internal),
            hint="Add cases, or train on all of them with a test size of 0.",
        ) from None
    return {"train": pd.Index(train), "test": pd.Index(test), "external": external}


def _class_counts(labels, positive: str, negative: str) -> str:
    values = np.asarray(labels).astype(bool)
    return f"{int(values.sum())} {positive}(s), {int((~values).sum())} {negative}(s)"


def _check_enough_for_folds(config: TrainingConfig, y_response, events) -> None:
    """Stratified k-fold cross-validation needs k cases of each class, in each endpoint."""
    for labels, positive, negative in (
        (y_response, "responder", "non-responder"),
        (events, "death", "survivor"),
    ):
        counts = np.bincount(np.asarray(labels).astype(int), minlength=2)
        if counts.min() < config.cv_folds:
            raise PRIMEInputError(
                f"The training set has {_class_counts(labels, positive, negative)}: "
                f"{config.cv_folds}-fold cross-validation needs at least {config.cv_folds} of each.",
                field="cohort",
                value=len(labels),
                hint="Add cases, or choose fewer cross-validation folds.",
            )


# ---------------------------------------------------------------------------------------------
# Training


@dataclass
class _Candidate:
    endpoint: str
    modality: str
    algorithm: str
    search: GridSearchCV
    seconds: float


def _folds(config: TrainingConfig, stratum: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    splitter = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.random_state)
    return list(splitter.split(np.zeros(len(stratum)), stratum))


def _forget_memory(obj) -> None:
    """Drop the (deleted) cache folder from every pipeline, so saved models carry no stray path."""
    if isinstance(obj, Pipeline):
        obj.memory = None
        for _, step in obj.steps:
            _forget_memory(step)
    elif isinstance(obj, FeatureUnion):
        for _, part in obj.transformer_list:
            _forget_memory(part)
    elif isinstance(obj, LateFusionClassifier | BayesianModelAveragingSurvival):
        for _, estimator in obj.estimators:
            _forget_memory(estimator)
        for estimator in getattr(obj, "estimators_", []):
            _forget_memory(estimator)


def _youden(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, thresholds = roc_curve(y, p)
    best = int(np.argmax(tpr - fpr))
    return float(np.clip(thresholds[best], 1e-6, 1 - 1e-6))


def train_prime(
    data: TrainingData,
    config: TrainingConfig | None = None,
    *,
    split: dict[str, Sequence[str]] | None = None,
    progress: ProgressCallback | None = None,
) -> TrainingResult:
    """Train, choose and fuse PRIME-R and PRIME-S; see the module docstring for every step.

    ``split``: case ids of ``train``, ``test`` and ``external`` (default: :func:`split_cohort`), for a
    predefined split. ``progress(fraction, message)`` returning False cancels (PRIMECancelled).
    """
    started = time.perf_counter()
    config = config or TrainingConfig()
    config.check()
    columns = split_modalities(data.features.columns)
    modalities = [m for m in ("clinical", "radiomics") if columns[m]]
    if not modalities:
        raise PRIMEInputError("The cohort has no numeric feature column to train on.", field="features")
    if len(modalities) == 2:
        modalities.append("early")
    if split is None:
        split = split_cohort(data, config)
    else:
        split = {name: pd.Index(split.get(name, [])) for name in ("train", "test", "external")}
        unknown = [c for ids in split.values() for c in ids if c not in data.features.index]
        if unknown:
            raise PRIMEInputError(
                f"The split names case(s) not in the cohort: {', '.join(map(str, unknown[:10]))}.",
                field="split",
            )
    train = split["train"]
    X = data.features.loc[train]
    y_response = data.response.loc[train].to_numpy()
    y_survival = make_survival_labels(data.os_event.loc[train].to_numpy(), data.os_days.loc[train].to_numpy())
    if len(np.unique(y_response)) < 2 or not y_survival["event"].any():
        raise PRIMEInputError(
            "The training set needs responders and non-responders, and at least one death.", field="cohort"
        )
    _check_enough_for_folds(config, y_response, y_survival["event"])
    folds = {"response": _folds(config, y_response), "survival": _folds(config, y_survival["event"])}
    labels = {"response": y_response, "survival": y_survival}
    scoring = {"response": "roc_auc", "survival": concordance_scorer}
    grids = {"response": RESPONSE_GRIDS[config.grid], "survival": SURVIVAL_GRIDS[config.grid]}
    algorithms = {"response": config.response_algorithms, "survival": config.survival_algorithms}
    plan = [(e, m, a) for e in ("response", "survival") for m in modalities for a in algorithms[e]]
    total = len(plan) + 2
    # Preprocessing and selection are the same for every algorithm and grid point of a modality:
    # cache them per fold. Worth it only when selection is costly (many features); below that, the
    # cache's own bookkeeping costs more than it saves.
    cache = tempfile.mkdtemp(prefix="prime-train-cache-")
    memory = cache if data.features.shape[1] > _CACHE_FROM_FEATURES else None
    try:
        candidates = []
        for i, (endpoint, modality, algorithm) in enumerate(plan):
            report(
                progress, i / total, f"Grid search {i + 1}/{len(plan)}: {endpoint}, {modality}, {algorithm}"
            )
            t0 = time.perf_counter()
            pipeline = model_pipeline(
                endpoint, modality, algorithm, columns,
                random_state=config.random_state, memory=memory, settings=config.selection,
            )  # fmt: skip
            grid = {f"model__{key}": values for key, values in grids[endpoint][algorithm].items()}
            search = GridSearchCV(
                pipeline, grid or {"model__random_state": [config.random_state]},
                scoring=scoring[endpoint], cv=folds[endpoint], n_jobs=config.n_jobs, error_score="raise",
            )  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                search.fit(X, labels[endpoint])
            candidates.append(_Candidate(endpoint, modality, algorithm, search, time.perf_counter() - t0))
        best = {
            (endpoint, modality): max(
                (c for c in candidates if c.endpoint == endpoint and c.modality == modality),
                key=lambda c: c.search.best_score_,
            )
            for endpoint in ("response", "survival")
            for modality in modalities
            if modality != "early"
        }
        members = [m for m in modalities if m != "early"]

        report(progress, len(plan) / total, "Late fusion: PRIME-R")
        t0 = time.perf_counter()
        prime_r = LateFusionClassifier(
            [(m, clone(best["response", m].search.best_estimator_)) for m in members],
            cv=config.cv_folds,
            random_state=config.random_state,
        ).fit(X, y_response)
        fused_oof = cross_val_predict(
            LogisticRegression(), prime_r.oof_meta_features_, y_response,
            cv=folds["response"], method="predict_proba",
        )[:, 1]  # fmt: skip
        r_seconds = time.perf_counter() - t0

        report(progress, (len(plan) + 1) / total, "Bayesian model averaging: PRIME-S")
        t0 = time.perf_counter()
        if config.bma_members == "all":
            chosen = [c for c in candidates if c.endpoint == "survival" and c.modality != "early"]
        else:
            chosen = [best["survival", m] for m in members]
        prime_s = BayesianModelAveragingSurvival(
            [(f"{c.modality}_{c.algorithm}", clone(c.search.best_estimator_)) for c in chosen],
            weighting=config.bma_weighting,
            tau=config.bma_tau,
            cv=config.cv_folds,
            random_state=config.random_state,
        ).fit(X, y_survival)
        s_seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    for obj in [prime_r, prime_s] + [c.search.best_estimator_ for c in candidates]:
        _forget_memory(obj)

    threshold = (
        _youden(y_response, fused_oof)
        if config.response_threshold == "youden"
        else float(config.response_threshold)
    )
    train_risk = prime_s.predict(X)
    risk_cutoff = float(np.median(train_risk))
    # Cross-validated fused risk: each model's out-of-fold risks standardised, weighted as PRIME-S does.
    oof = prime_s.oof_risk_
    fused_cv_risk = (
        (oof - oof.mean(axis=0)) / np.where(oof.std(axis=0) > 0, oof.std(axis=0), 1.0)
    ) @ prime_s.weights_

    sets = {name: ids for name, ids in split.items() if len(ids)}
    summary = _summary(
        candidates, best, prime_r, prime_s, data, sets, fused_oof, y_response, y_survival, fused_cv_risk,
        r_seconds, s_seconds,
    )  # fmt: skip
    metrics = _final_metrics(
        prime_r, prime_s, data, sets, threshold, risk_cutoff, fused_oof, y_response, y_survival,
        fused_cv_risk, config,
    )  # fmt: skip
    selected = {
        "response": {name: selected_features(est) for name, est in prime_r.named_estimators_.items()},
        "survival": {name: selected_features(est) for name, est in prime_s.named_estimators_.items()},
    }
    used = sorted({f for endpoint in selected.values() for names in endpoint.values() for f in names})
    values = X[used]
    reference = {f: float(values[f].median()) for f in used}
    ranges = {f: [float(values[f].quantile(0.01)), float(values[f].quantile(0.99))] for f in used}
    report(progress, 1.0, "Training done")
    return TrainingResult(
        prime_r=prime_r,
        prime_s=prime_s,
        summary=summary,
        config=config,
        response_threshold=threshold,
        risk_cutoff=risk_cutoff,
        metrics=metrics,
        selected_features=selected,
        reference_values=reference,
        typical_ranges=ranges,
        clinical_medians=_clinical_medians(prime_r, prime_s, used),
        input_columns=[str(c) for c in data.features.columns],
        cohort=_cohort_summary(data, split, columns, config.random_state),
        seconds=time.perf_counter() - started,
    )


def _clinical_medians(prime_r, prime_s, used: list[str]) -> dict[str, float]:
    """The imputation medians (learnt on the training set) of the clinical features the models use."""
    from PRIMELib.clinical.imputation import MedianImputer

    medians: dict[str, float] = {}
    for fused in (prime_r, prime_s):
        for pipeline in fused.estimators_:
            for _, step in pipeline.steps:
                parts = [p for _, p in step.transformer_list] if isinstance(step, FeatureUnion) else [step]
                for part in parts:
                    for _, inner in getattr(part, "steps", [("", part)]):
                        if isinstance(inner, MedianImputer):
                            medians.update({f: m for f, m in inner.medians_.items() if f in used})
    return dict(sorted(medians.items()))


def _evaluate(endpoint: str, estimator, X, y) -> float:
    if len(X) == 0:
        return float("nan")
    if endpoint == "response":
        if len(np.unique(y)) < 2:
            return float("nan")
        return float(roc_auc_score(y, estimator.predict_proba(X)[:, 1]))
    return concordance_scorer(estimator, X, y)


def _summary(candidates, best, prime_r, prime_s, data, sets, fused_oof, y_response, y_survival, fused_cv_risk,
             r_seconds, s_seconds) -> pd.DataFrame:  # fmt: skip
    """One row per candidate (algorithm × modality × fusion) with CV and test metrics."""

    def labels(endpoint: str, ids):
        if endpoint == "response":
            return data.response.loc[ids].to_numpy()
        return make_survival_labels(data.os_event.loc[ids].to_numpy(), data.os_days.loc[ids].to_numpy())

    chosen_ids = {id(c) for c in best.values()}
    rows = []
    for c in candidates:
        estimator = c.search.best_estimator_
        row = {
            "endpoint": c.endpoint,
            "modality": c.modality,
            "algorithm": c.algorithm,
            "fusion": "early" if c.modality == "early" else "none",
            "metric": "AUC" if c.endpoint == "response" else "C-index",
            "cv_mean": float(c.search.best_score_),
            "cv_sd": float(c.search.cv_results_["std_test_score"][c.search.best_index_]),
        }
        for name in ("test", "external"):
            ids = sets.get(name)
            row[name] = (
                _evaluate(c.endpoint, estimator, data.features.loc[ids], labels(c.endpoint, ids))
                if ids is not None
                else float("nan")
            )
        row["n_features"] = len(selected_features(estimator))
        row["params"] = json.dumps({k.removeprefix("model__"): v for k, v in c.search.best_params_.items()})
        row["seconds"] = round(c.seconds, 2)
        row["chosen"] = id(c) in chosen_ids
        rows.append(row)
    for endpoint, fused, seconds in (("response", prime_r, r_seconds), ("survival", prime_s, s_seconds)):
        if endpoint == "response":
            cv = float(roc_auc_score(y_response, fused_oof))
            names = [best["response", m].algorithm for m in prime_r.named_estimators_]
        else:
            cv = _harrell(y_survival["event"], y_survival["time"], fused_cv_risk)
            names = list(prime_s.named_estimators_)
        row = {
            "endpoint": endpoint,
            "modality": "clinical+radiomics",
            "algorithm": "+".join(names),
            "fusion": "late" if endpoint == "response" else "late (BMA)",
            "metric": "AUC" if endpoint == "response" else "C-index",
            "cv_mean": cv,
            "cv_sd": float("nan"),
        }
        for name in ("test", "external"):
            ids = sets.get(name)
            row[name] = (
                _evaluate(endpoint, fused, data.features.loc[ids], labels(endpoint, ids))
                if ids is not None
                else float("nan")
            )
        row["n_features"] = sum(len(selected_features(e)) for e in fused.estimators_)
        row["params"] = json.dumps(
            {"weights": [round(float(w), 4) for w in fused.weights_]}
            if endpoint == "survival"
            else {"meta_coef": [round(float(c), 4) for c in np.ravel(fused.meta_.coef_)]}
        )
        row["seconds"] = round(seconds, 2)
        row["chosen"] = True
        rows.append(row)
    return pd.DataFrame(rows)


def _final_metrics(prime_r, prime_s, data, sets, threshold, risk_cutoff, fused_oof, y_response, y_survival,
                   fused_cv_risk, config):  # fmt: skip
    """Metrics of the fused models: apparent (training), cross-validated (training), test, external."""
    out: dict[str, dict[str, object]] = {
        "cv": {
            "response": response_metrics(y_response, fused_oof, threshold, n_bootstrap=0),
            "survival": {"c_index": _harrell(y_survival["event"], y_survival["time"], fused_cv_risk)},
        }
    }
    for name, ids in sets.items():
        X = data.features.loc[ids]
        y_r = data.response.loc[ids].to_numpy()
        y_s = make_survival_labels(data.os_event.loc[ids].to_numpy(), data.os_days.loc[ids].to_numpy())
        out[name] = {
            "response": response_metrics(
                y_r, prime_r.predict_proba(X)[:, 1], threshold,
                n_bootstrap=config.n_bootstrap, random_state=config.random_state,
            ),
            "survival": survival_metrics(
                y_survival, y_s, prime_s.predict(X), lambda times, X=X: prime_s.survival_at(X, times),
                risk_cutoff=risk_cutoff, n_bootstrap=config.n_bootstrap, random_state=config.random_state,
            ),
        }  # fmt: skip
    return to_jsonable(out)


def hash_case_ids(case_ids: Sequence[object], salt: str) -> list[str]:
    """Salted SHA-256 digests (first 16 hex digits, sorted) of case ids.

    A bundle records its split this way: ``prime evaluate`` recognises the training, test and external
    cases in a cohort that holds them, and the bundle itself holds no identifier.
    """
    import hashlib

    return sorted(hashlib.sha256(f"{salt}:{case}".encode()).hexdigest()[:16] for case in case_ids)


def case_id_salt(case_ids: Sequence[object], random_state: int) -> str:
    """The salt of :func:`hash_case_ids` for a training: 16 hex digits of SHA-256 over the seed and the
    sorted case ids, so the same data and seed give the same cohort summary (and digests) in the
    manifest.

    It is stored beside the digests, so a random salt would protect no better against guessed ids; the
    ids enter only through a one-way digest of the whole set.
    """
    import hashlib

    text = json.dumps([str(random_state), sorted(str(case) for case in case_ids)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cohort_summary(
    data: TrainingData, split: dict[str, pd.Index], columns: dict[str, list[str]], random_state: int
) -> dict:
    """Counts (no patient-level data): sizes, responders, deaths, follow-up, centres, features; and
    each set's salted case-id digests (:func:`hash_case_ids`, salt :func:`case_id_salt`), which name no
    case."""
    out: dict[str, object] = {
        "n_cases": len(data.features),
        "n_clinical_features": len(columns["clinical"]),
        "n_radiomics_features": len(columns["radiomics"]),
        "ignored_columns": list(data.ignored_columns),
        "case_id_salt": case_id_salt(data.features.index, random_state),
    }
    for name, ids in split.items():
        if not len(ids):
            continue
        entry = {
            "n": len(ids),
            "responders": int(data.response.loc[ids].sum()),
            "deaths": int(data.os_event.loc[ids].sum()),
            "median_follow_up_days": float(data.os_days.loc[ids].median()),
        }
        if data.centre is not None:
            entry["centres"] = {str(k): int(v) for k, v in data.centre.loc[ids].value_counts().items()}
        entry["case_id_hashes"] = hash_case_ids(ids, str(out["case_id_salt"]))
        out[name] = entry
    return out
