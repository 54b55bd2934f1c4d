"""Cohort assembly for training: the train/test/external split, fold checks, and the cohort summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from PRIMELib.cohort_data import TrainingData, case_id_salt, hash_case_ids
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.landmark import Landmark
from PRIMELib.training.config import TrainingConfig

__all__ = [
    "apply_landmark",
    "check_enough_for_folds",
    "cohort_summary",
    "folds",
    "label_text",
    "landmark_report",
    "missing_data_report",
    "split_cohort",
    "without_rare_missing",
    "without_recoded_duplicates",
]


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
    strata = label_text(data.response.loc[internal]) + "/" + label_text(data.os_event.loc[internal])
    if strata.value_counts().min() < 2:
        strata = without_rare_missing(label_text(data.response.loc[internal]), 2)
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
            f"({_class_counts(data.response.loc[internal].dropna(), 'responder', 'non-responder')}): {error}",
            field="cohort",
            value=len(internal),
            hint="Add cases, or train on all of them with a test size of 0.",
        ) from None
    return {"train": pd.Index(train), "test": pd.Index(test), "external": external}


def label_text(labels: pd.Series) -> pd.Series:
    """0/1 labels as text for stratification ("0", "1"; "none" where a case lacks the outcome)."""
    return labels.map(lambda v: "none" if pd.isna(v) else str(int(v))).astype(object)


def without_rare_missing(strata: pd.Series, k: int) -> pd.Series:
    """Response strata where cases without a response reading ("none"), if fewer than ``k``, join the
    largest stratum: too few to stratify on, they must not stop a stratified split."""
    counts = strata.value_counts()
    if 0 < counts.get("none", k) < k and len(counts) > 1:
        return strata.replace("none", counts.drop("none").idxmax())
    return strata


def _class_counts(labels, positive: str, negative: str) -> str:
    values = np.asarray(labels).astype(bool)
    return f"{int(values.sum())} {positive}(s), {int((~values).sum())} {negative}(s)"


def check_enough_for_folds(config: TrainingConfig, y_response, events) -> None:
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


def folds(config: TrainingConfig, stratum: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    splitter = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.random_state)
    return list(splitter.split(np.zeros(len(stratum)), stratum))


def cohort_summary(
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
    if data.clinical_columns is not None:  # how coded columns are encoded, and why others are unused
        out["clinical_columns"] = data.clinical_columns.to_dict()
    for name, ids in split.items():
        if not len(ids):
            continue
        entry = {
            "n": len(ids),
            "responders": int(data.response.loc[ids].sum()),
            # Per-endpoint cohorts: the cases with a reading of each endpoint.
            "n_response": int(data.has_response.loc[ids].sum()),
            "n_survival": int(data.has_survival.loc[ids].sum()),
            "deaths": int(data.os_event.loc[ids].sum()),
            "median_follow_up_days": float(data.os_days.loc[ids].median()),
        }
        if data.centre is not None:
            entry["centres"] = {str(k): int(v) for k, v in data.centre.loc[ids].value_counts().items()}
        entry["case_id_hashes"] = hash_case_ids(ids, str(out["case_id_salt"]))
        out[name] = entry
    return out


def missing_data_report(
    train_features: pd.DataFrame, without_radiomics: pd.Index, salt: str
) -> dict[str, object]:
    """What training did about missing data, for the console and the bundle (no case ids):

    ``excluded_cases``: cases left out for having no radiomics (the rule of :mod:`PRIMELib.cohort_data`),
    counted, with their salted digests;
    ``all_missing_columns``: feature columns blank in every training case (no model can use them: the
    imputers drop them); ``imputed_columns``: columns with some blank training values (imputed with the
    training median inside every pipeline), with the fraction missing.
    """
    missing = train_features.isna().mean()
    return {
        "excluded_cases": {
            "no_radiomics": {
                "n": len(without_radiomics),
                "case_id_hashes": hash_case_ids(without_radiomics, salt),
            }
        },
        "all_missing_columns": sorted(str(c) for c in missing.index[missing == 1.0]),
        "imputed_columns": {str(c): round(float(f), 3) for c, f in missing.items() if 0 < f < 1},
    }


def apply_landmark(data: TrainingData, landmark_days: float) -> tuple[TrainingData, Landmark]:
    """``data`` with survival counted from the landmark: patients who died or were censored at or
    before it get no survival reading (they train and score PRIME-R only, per-endpoint cohorts), the
    others' times are shifted to start at the landmark."""
    from dataclasses import replace

    from PRIMELib.models.landmark import landmark_cohort

    has = data.has_survival
    landmark = landmark_cohort(data.os_days[has], data.os_event[has], landmark_days)
    os_days = pd.Series(np.nan, index=data.features.index)
    os_event = pd.Series(np.nan, index=data.features.index)
    os_days.loc[landmark.kept] = landmark.os_days.to_numpy(float)
    os_event.loc[landmark.kept] = landmark.os_event.to_numpy(float)
    if os_event.notna().all():
        os_event = os_event.astype(int)
    return replace(data, os_days=os_days, os_event=os_event), landmark


def landmark_report(landmark: Landmark | None, columns, split: dict[str, pd.Index], salt: str) -> dict:
    """The landmark of PRIME-S for the cohort summary (none: the clock starts at treatment)."""
    from PRIMELib.models.landmark import landmark_features

    if landmark is None:
        offered = landmark_features(columns["clinical"])
        if offered:  # landmark_days 0: the paper's way, by choice
            return {
                "days": None,
                "features": offered,
                "note": f"survival counted from treatment start although {', '.join(offered)} need the "
                "one-month visit (the paper's way, landmark_days 0): immortal-time bias, see METHOD.md",
            }
        return {"days": None, "note": "survival counted from treatment start (no one-month feature offered)"}
    excluded = landmark.excluded
    return {
        "days": landmark.landmark_days,
        "features": landmark_features(columns["clinical"]),
        "note": landmark.describe(),
        **{
            name: {
                "excluded": len(ids.intersection(excluded)),
                "case_id_hashes": hash_case_ids(ids.intersection(excluded), salt),
            }
            for name, ids in split.items()
            if len(ids)
        },
    }


def without_recoded_duplicates(data: TrainingData) -> TrainingData:
    """``data`` without the derived 0/1 flags that recode a two-valued coded column also used as an
    input (``sex_male`` is ``sex`` recoded): the same information twice would only split its weight
    between two columns. Each is listed among the unused clinical columns, with the reason."""
    from dataclasses import replace

    from PRIMELib.clinical.coding import encoding_of
    from PRIMELib.clinical.schema import CLINICAL_SCHEMA

    described = data.clinical_columns
    used = set(described.used) if described is not None else set(data.features.columns)
    duplicates = {}
    for column in map(str, data.features.columns):
        if column not in CLINICAL_SCHEMA:
            continue
        sources = CLINICAL_SCHEMA.get_variable(column).derived_from
        if len(sources) == 1 and sources[0] in used and encoding_of(sources[0]) == "binary":
            duplicates[column] = f"the same information as {sources[0]} (a 0/1 recoding of it), which is used"
    if not duplicates:
        return data
    out = data.subset(data.features.index)
    out.features = data.features.drop(columns=list(duplicates))
    if described is not None:
        out.clinical_columns = replace(
            described,
            used=[c for c in described.used if c not in duplicates],
            encoded={c: how for c, how in described.encoded.items() if c not in duplicates},
            unused={**described.unused, **duplicates},
        )
    return out
