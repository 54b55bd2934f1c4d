"""Applying a trained ``.prime`` bundle to a cohort: predictions, metrics with CIs, curves, hazard ratios.

For each set of the cohort (see :mod:`PRIMELib.evaluation.cohort_sets`), :func:`evaluate_bundle`
scores every case with :meth:`PRIMELib.bundle.ModelBundle.score` — the same code, imputation and
refusals as scoring one patient — and computes:

* per case: PRIME-R's probability and the probabilities of its clinical-only and radiomics-only
  members (the late-fusion base models), PRIME-S's risk score, risk group, quadrant and S(t);
* PRIME-R (and each member): AUC, Brier score, accuracy, sensitivity, specificity at the bundle's
  frozen threshold, calibration slope and intercept, with bootstrap 95 % CIs; ROC, calibration and
  decision curves;
* PRIME-S: Harrell's and Uno's C, time-dependent AUC and Brier at 6/12/24/36 months, integrated Brier,
  their curves over time, Kaplan–Meier curves by risk group (the bundle's frozen cut-off) with numbers
  at risk and the log-rank p, the Cox HR high vs low risk, the HR adjusted for chosen covariates, and
  subgroup HRs;
* global importance: the mean |Shapley contribution| of each selected feature over the set's cases, for
  PRIME-R (log-odds) and PRIME-S (risk score) — the bundle's own baseline-Shapley explanations; a
  bundle holds the final models only, not the cross-validation fold models the paper averaged over;
* the Spearman correlation of the selected features.

Uno's C and the time-dependent metrics weight by the censoring distribution of the evaluated set
itself (``censoring_reference`` names it); the ``train`` set, when the cohort has one, bounds the times
looked at by the training follow-up.
Metric functions come from :mod:`PRIMELib.evaluation.metrics`; nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from PRIMELib.cohort_data import TrainingData
from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation import metrics as m
from PRIMELib.evaluation.cohort_sets import (
    EvaluationCohort,
    as_evaluation_cohort,
    load_evaluation_cohort,
    resolve_sets,
)
from PRIMELib.evaluation.results import PRIME_R, Evaluation, SetEvaluation, feature_family
from PRIMELib.io import to_jsonable
from PRIMELib.models.landmark import bundle_landmark
from PRIMELib.models.survival_data import make_survival_labels
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.scoring import DAYS_PER_MONTH, REPORT_MONTHS

__all__ = ["evaluate_bundle"]

#: Longest time grid of the time-dependent curves (months).
_CURVE_MONTHS = 60


# ---------------------------------------------------------------------------------------------
# Evaluating


def evaluate_bundle(
    bundle,
    data: TrainingData | EvaluationCohort | pd.DataFrame | str | Path,
    *,
    sets: str | Mapping[str, Sequence[str]] | None = None,
    n_bootstrap: int = 200,
    adjust_for: Sequence[str] | str | None = None,
    subgroups: bool = True,
    clinical: str | Path | None = None,
    covariates: pd.DataFrame | None = None,
    random_state: int = 0,
    progress: ProgressCallback | None = None,
) -> Evaluation:
    """Evaluate ``bundle`` (a :class:`~PRIMELib.bundle.ModelBundle` or the path of a ``.prime`` file) on
    a cohort; see the module docstring for what is computed.

    ``data``: :class:`~PRIMELib.cohort_data.TrainingData`, an :class:`EvaluationCohort`, a cohort table
    (index = case id, with ``response``, ``os_days``, ``os_event``), or the path of a feature table
    (with ``clinical``, the clinical table carrying the outcomes, as ``prime train`` reads them).
    ``sets``: see :func:`~PRIMELib.evaluation.cohort_sets.resolve_sets`. ``adjust_for``: cohort
    columns to adjust the risk-group HR for. ``covariates``: extra columns by case id (for
    ``adjust_for``, subgroups or a set column) when ``data`` is TrainingData.
    Cases the bundle refuses (missing radiomics, too many missing clinical values) are left out and
    counted in ``excluded``.
    """
    from PRIMELib.bundle import ModelBundle, load_bundle

    if not isinstance(bundle, ModelBundle):
        bundle = load_bundle(bundle)
    if isinstance(data, str | Path):
        cohort = load_evaluation_cohort(data, clinical, set_column=sets if isinstance(sets, str) else None)
        if covariates is not None:
            cohort = as_evaluation_cohort(cohort, covariates)
    else:
        cohort = as_evaluation_cohort(data, covariates)
    adjust = [adjust_for] if isinstance(adjust_for, str) else list(adjust_for or [])
    warnings = list(bundle.load_warnings) + _check_columns(bundle, cohort, adjust)
    chosen, how = resolve_sets(bundle.manifest, cohort, sets)
    report(progress, 0.0, f"Scoring {sum(len(ids) for ids in chosen.values())} cases")

    set_of = {case: name for name, ids in chosen.items() for case in ids}
    predictions, contributions, excluded = _score_cases(bundle, cohort, set_of, progress)
    if excluded:
        warnings.append(
            f"{len(excluded)} case(s) were left out: the model cannot score them (the reason for each is in "
            "excluded.csv)."
        )
    if "train" in chosen:
        warnings.append(
            "The 'train' set's performance is apparent (the models saw these cases): it is optimistic."
        )
    # A landmark model's PRIME-S is judged as it was trained: on the patients alive past the landmark,
    # timed from it; those who died or were censored by then count for PRIME-R only.
    landmark = bundle_landmark(bundle.manifest)
    at_landmark = _at_landmark(predictions, landmark)
    before = int((~at_landmark["kept"]).sum())
    if landmark and before:
        warnings.append(
            f"PRIME-S is a landmark model ({landmark:g} days): {before} case(s) who died or were censored "
            "by the landmark are left out of its metrics (they count for PRIME-R's); its survival times "
            "are counted from the landmark."
        )
    names = [n for n in chosen if (predictions["set"] == n).any()]
    names, warnings_before = _sets_with_survival_cases(names, predictions, at_landmark, landmark)
    warnings.extend(warnings_before)
    survival_train = None
    train_rows = at_landmark[(predictions["set"] == "train") & at_landmark["kept"]]
    if len(train_rows):  # the training follow-up bounds the times of the time-dependent metrics
        survival_train = make_survival_labels(train_rows["os_event"], train_rows["os_days"])
    at_risk_times = _at_risk_times(at_landmark.loc[at_landmark["kept"], "os_days"])
    results = {}
    for i, name in enumerate(names):
        report(progress, 0.5 + 0.5 * i / len(names), f"Metrics of the {name} set")
        rows = predictions[predictions["set"] == name]
        results[name] = _evaluate_set(
            name, rows, at_landmark.loc[rows.index], bundle, cohort, contributions, survival_train,
            at_risk_times=at_risk_times, landmark=landmark,
            n_bootstrap=n_bootstrap, adjust_for=adjust, subgroups=subgroups, random_state=random_state,
        )  # fmt: skip
        warnings.extend(_small_set_warning(name, results[name].counts))
    report(progress, 1.0, "Evaluation done")
    return Evaluation(
        model={
            "name": bundle.name,
            "card": bundle.model_card,
            "thresholds": {
                "response_threshold": bundle.response_threshold,
                "risk_cutoff": bundle.risk_cutoff,
            },
            "members": {
                "prime_r": [name for name, _, _ in bundle.prime_r.member_terms()],
                "prime_s": [name for name, _, _ in bundle.prime_s.member_terms()],
            },
            "selected_features": bundle.manifest.get("selected_features", {}),
            "card_markdown": bundle.model_card_markdown(),
        },
        sets=results,
        predictions=predictions,
        facts=_facts(bundle, cohort, chosen, predictions, excluded, how, landmark),
        excluded=excluded,
        warnings=warnings,
        settings={
            "sets": how,
            "n_bootstrap": n_bootstrap,
            "random_state": random_state,
            "adjust_for": adjust,
            "subgroups": subgroups,
            "importance": "mean |baseline Shapley contribution| over the set's cases (the bundle's "
            "final models; no cross-validation fold models are stored in a bundle)",
        },
    )


def _check_columns(bundle, cohort: EvaluationCohort, adjust: list[str]) -> list[str]:
    """Refuse, before scoring, a table that cannot give the bundle its inputs or lacks a covariate;
    the warnings for inputs it lacks that can be imputed."""
    columns = set(cohort.data.features.columns)
    required = bundle.required_features
    radiomics = [f for phase in ("arterial", "venous") for f in required.get(phase, []) if f not in columns]
    clinical = [f for f in required.get("clinical", []) if f not in columns]
    limit = bundle.max_imputed
    if radiomics or (limit is not None and len(clinical) > limit):
        absent = radiomics + (clinical if limit is not None and len(clinical) > limit else [])
        raise PRIMEInputError(
            f"The cohort lacks {len(absent)} column(s) the model '{bundle.name}' needs: "
            f"{', '.join(absent[:15])}{' …' if len(absent) > 15 else ''}.",
            field="features",
            expected=f"the model's inputs by name ({len(bundle.features)} features; see `prime model-card`)",
            hint=f"Extract radiomics with the '{bundle.radiomics_params}' parameters on both phases and "
            "give the clinical table (--clinical) with the model's clinical variables.",
        )
    missing = [c for c in adjust if c not in cohort.table.columns]
    if missing:
        raise PRIMEInputError(
            f"The cohort has no column {', '.join(map(repr, missing))} to adjust the hazard ratio for.",
            field="adjust for",
            value=", ".join(missing),
            expected="columns of the clinical or feature table (e.g. subsequent_therapy)",
        )
    if clinical:
        return [
            f"The cohort has no column {', '.join(clinical)}: the model imputes the training median "
            "for every case."
        ]
    return []


def _score_cases(bundle, cohort: EvaluationCohort, set_of: dict[str, str], progress):
    """Score every case of a set through the bundle; (predictions, contributions, excluded)."""
    data = cohort.data
    rows, contributions, excluded = [], {}, {}
    cases = [c for c in data.features.index if c in set_of]
    features = data.features[[f for f in bundle.features if f in data.features.columns]]
    for i, case in enumerate(cases):
        if i % 10 == 0:
            report(progress, 0.5 * i / len(cases), f"Scoring case {i + 1} of {len(cases)}")
        try:
            result = bundle.score(features.loc[case].to_dict(), case_id=case)
        except PRIMEInputError as error:
            excluded[case] = error.message
            continue
        contributions[case] = (
            {c["feature"]: float(c["contribution"]) for c in result.response_contributions},
            {c["feature"]: float(c["contribution"]) for c in result.survival_contributions},
        )
        rows.append(
            {
                "case_id": case,
                "set": set_of[case],
                "response": int(data.response[case]),
                "os_days": float(data.os_days[case]),
                "os_event": int(data.os_event[case]),
                "prime_r_probability": result.response_probability,
                "response_class": result.response_class,
                "prime_s_risk": result.risk_score,
                "risk_group": result.risk_group,
                "quadrant": result.quadrant,
                **{f"survival_{k}": v for k, v in result.survival.items()},
                "n_imputed": len(result.imputed_fields),
                "imputed_fields": ";".join(result.imputed_fields),
            }
        )
    if not rows:
        reasons = sorted(set(excluded.values()))
        raise PRIMEInputError(
            f"The model could score none of the {len(cases)} cases. First reason: {reasons[0]}",
            field="features",
            hint="Check that the table holds the model's features (see `prime model-card`).",
        )
    predictions = pd.DataFrame(rows).set_index("case_id")
    # The late-fusion members' own probabilities (clinical-only, radiomics-only), from the same
    # model-input frame the bundle builds for each case.
    inputs = _model_inputs(bundle, features.loc[predictions.index])
    for name, estimator, _ in bundle.prime_r.member_terms():
        predictions.insert(
            predictions.columns.get_loc("response_class"),
            f"{name}_probability",
            estimator.predict_proba(inputs)[:, 1],
        )
    return predictions, contributions, excluded


def _model_inputs(bundle, features: pd.DataFrame) -> pd.DataFrame:
    """The models' input frame, as :meth:`ModelBundle.score` builds it: the required features, NaN for
    every other input column (the pipelines impute and select)."""
    columns = list(bundle.manifest["input_columns"])
    frame = pd.DataFrame(np.nan, index=features.index, columns=columns, dtype=float)
    used = [f for f in features.columns if f in frame.columns]
    frame[used] = features[used].astype(float).to_numpy()
    return frame


#: A set with fewer cases, or fewer of any outcome class (responders, non-responders, deaths), is
#: called small: its metrics and bootstrap intervals are flagged as unreliable. Ten events per class
#: is the usual floor for a stable estimate (Peduzzi et al. 1996; Riley et al. 2020).
SMALL_SET_CASES = 30
SMALL_SET_EVENTS = 10


def _at_landmark(predictions: pd.DataFrame, landmark: float | None) -> pd.DataFrame:
    """Each scored case's survival label as PRIME-S was trained: ``kept`` (alive and followed past the
    landmark; everyone without one), ``os_days`` counted from the landmark, ``os_event``."""
    days = predictions["os_days"].astype(float)
    kept = days > landmark if landmark else pd.Series(True, index=predictions.index)
    return pd.DataFrame(
        {"kept": kept, "os_days": days - (landmark or 0.0), "os_event": predictions["os_event"]},
        index=predictions.index,
    )


def _sets_with_survival_cases(
    names: list[str], predictions: pd.DataFrame, at_landmark: pd.DataFrame, landmark: float | None
) -> tuple[list[str], list[str]]:
    """The sets PRIME-S can be evaluated on (those with a patient alive past the landmark), and a warning
    for each set left out; a named error when none is left."""
    if not landmark:
        return names, []
    kept, warnings = [], []
    for name in names:
        in_set = (predictions["set"] == name).to_numpy()
        if at_landmark["kept"].to_numpy(bool)[in_set].any():
            kept.append(name)
            continue
        warnings.append(
            f"The '{name}' set is left out: all its {int(in_set.sum())} patient(s) died or were censored by "
            f"PRIME-S's landmark (day {landmark:g}), so PRIME-S, a landmark model, has no case to be judged "
            "on there (the set's scores are in predictions.csv)."
        )
    if not kept:
        raise PRIMEInputError(
            f"No evaluated patient was alive and followed past PRIME-S's landmark (day {landmark:g}): "
            f"all {len(predictions)} died or were censored by then, so the model cannot be evaluated.",
            field="os_days",
            value=f"at most {float(predictions['os_days'].max()):g} days",
            expected=f"patients followed beyond day {landmark:g} (PRIME-S counts survival from it)",
            hint="Check that os_days is in days (not months or weeks) and that the cohort is the right "
            "one; or score the patients with `prime score-features`.",
        )
    return kept, warnings


def _small_set_warning(name: str, counts: Mapping[str, float]) -> list[str]:
    """The warning a small set's metrics need (none for a set large enough)."""
    n, responders = int(counts["n"]), int(counts["responders"])
    # PRIME-S's own events: with a landmark, the deaths of the patients alive past it.
    deaths = int(counts.get("survival_deaths", counts["deaths"]))
    if n >= SMALL_SET_CASES and min(responders, n - responders, deaths) >= SMALL_SET_EVENTS:
        return []
    after = f" after the {counts['landmark_days']:g}-day landmark" if counts.get("landmark_days") else ""
    return [
        f"The '{name}' set is small ({n} patients: {responders} responders, {n - responders} "
        f"non-responders, {deaths} deaths{after}; fewer than {SMALL_SET_CASES} patients or "
        f"{SMALL_SET_EVENTS} of an outcome): its metrics are imprecise and its bootstrap 95 % CIs "
        "unreliable. Resamples of so few cases repeat the same patients, so an interval can be as narrow "
        "as 1.00–1.00. Read these numbers as a check that the model runs, not as evidence of its "
        "performance."
    ]


def _evaluate_set(
    name: str,
    rows: pd.DataFrame,
    at_landmark: pd.DataFrame,
    bundle,
    cohort: EvaluationCohort,
    contributions: dict,
    survival_train: np.ndarray | None,
    *,
    at_risk_times: list[float],
    landmark: float | None,
    n_bootstrap: int,
    adjust_for: list[str],
    subgroups: bool,
    random_state: int,
) -> SetEvaluation:
    ids = rows.index
    y = rows["response"].to_numpy()
    # PRIME-S: the cases alive past the landmark (all without one), timed from it (models/landmark.py).
    survival_ids = ids[at_landmark["kept"].to_numpy(bool)]
    event = at_landmark.loc[survival_ids, "os_event"].to_numpy().astype(bool)
    time = at_landmark.loc[survival_ids, "os_days"].to_numpy(float)
    labels = make_survival_labels(event, time)
    reference = survival_train if survival_train is not None else labels
    both_classes = len(np.unique(y)) == 2
    probabilities = {PRIME_R: rows["prime_r_probability"].to_numpy()}
    for member, _, _ in bundle.prime_r.member_terms():
        probabilities[member] = rows[f"{member}_probability"].to_numpy()

    response, roc, calibration, decision = {}, {}, {}, {}
    for model, p in probabilities.items():
        response[model] = m.response_metrics(
            y, p, bundle.response_threshold, n_bootstrap=n_bootstrap, random_state=random_state
        )
        if both_classes:  # the curves need responders and non-responders
            roc[model] = m.roc_curve_data(y, p)
            calibration[model] = m.calibration_curve_data(y, p)
            decision[model] = m.decision_curve(y, p)

    features = cohort.data.features
    inputs = _model_inputs(
        bundle, features.loc[survival_ids, [f for f in bundle.features if f in features.columns]]
    )
    risk = rows.loc[survival_ids, "prime_s_risk"].to_numpy()

    def survival_at(times):
        return bundle.prime_s.survival_at(inputs, times)

    survival = m.survival_metrics(
        reference, labels, risk, survival_at, risk_cutoff=bundle.risk_cutoff, months=REPORT_MONTHS,
        n_bootstrap=n_bootstrap, random_state=random_state,
    )  # fmt: skip
    curves = {"roc": roc, "calibration": calibration, "decision": decision, "time_dependent": None}
    if event.any():
        grid = np.arange(1, _CURVE_MONTHS + 1) * DAYS_PER_MONTH
        try:
            curves["time_dependent"] = m.time_dependent_curves(reference, labels, risk, survival_at, grid)
        except PRIMEInputError:  # no month of the grid lies within this set's follow-up
            pass
    high = (rows.loc[survival_ids, "risk_group"] == "high").to_numpy()
    km = m.kaplan_meier(event, time, np.where(high, "high risk", "low risk"), at_risk_times=at_risk_times)
    hazard: dict[str, object] = {"unadjusted": m.hazard_ratio(event, time, high)}
    if adjust_for:
        covariates = _covariates(cohort.table.loc[survival_ids], adjust_for)
        hazard["adjusted"] = m.hazard_ratio(event, time, high, adjust_for=covariates)
        hazard["cox_model"] = _cox_table(event, time, high, covariates)
    subgroup_rows = []
    if subgroups:
        definitions = m.default_subgroups(cohort.table.loc[survival_ids])
        if definitions:
            subgroup_rows = to_jsonable(m.subgroup_hazard_ratios(event, time, high, definitions))

    importance = {
        endpoint: _mean_abs([contributions[c][k] for c in ids])
        for k, endpoint in enumerate(("response", "survival"))
    }
    selected = [f for f in bundle.features if f in features.columns]
    return SetEvaluation(
        name=name,
        counts={
            "n": len(ids),
            "responders": int(y.sum()),
            "deaths": int(rows["os_event"].sum()),
            "median_observed_days": float(rows["os_days"].median()),  # from treatment start
            "high_risk": int(high.sum()),
            # PRIME-S's cases (all with no landmark) and those who died or were censored by it.
            "survival_n": len(survival_ids),
            "survival_deaths": int(event.sum()),
            "before_landmark": len(ids) - len(survival_ids),
            "landmark_days": landmark,
            "predicted_responders": int((rows["response_class"] == "responder").sum()),
        },
        response=response,
        survival=survival,
        curves=curves,
        kaplan_meier=km,
        hazard_ratios=hazard,
        subgroups=subgroup_rows,
        importance=importance,
        correlation=features.loc[ids, selected].corr(method="spearman"),
        censoring_reference=name,  # IPCW uses the evaluated set's own censoring
    )


def _at_risk_times(time: pd.Series) -> list[float]:
    """Where to count the numbers at risk (days): every 6 months, or 12 past 4 years of follow-up; the
    same for every set, so the tables line up."""
    months = float(time.max()) / DAYS_PER_MONTH
    step = 6 if months <= 48 else 12
    return [float(k * step * DAYS_PER_MONTH) for k in range(int(months // step) + 1)]


def _covariates(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Numeric covariates for a Cox model: numbers as they are, text as 0/1 indicator columns (the
    first category, alphabetically, as reference)."""
    out = []
    for column in columns:
        values = table[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() >= values.notna().sum():
            out.append(numeric.rename(column).astype(float))
        else:
            out.append(pd.get_dummies(values.astype("string"), prefix=column, drop_first=True, dtype=float))
    return pd.concat(out, axis=1)


def _cox_table(event, time, high, covariates: pd.DataFrame) -> dict:
    """The multivariable Cox model (risk group + covariates) on the cases that have every covariate."""
    frame = covariates.reset_index(drop=True)
    frame.insert(0, "high_risk", high.astype(float))
    complete = frame.notna().all(axis=1).to_numpy()
    try:
        table = m.cox_hazard_ratios(event[complete], time[complete], frame.loc[complete])
    except PRIMEInputError as error:
        return {"rows": [], "n": int(complete.sum()), "note": error.message}
    return {
        "rows": to_jsonable(table[["hr", "ci_lower", "ci_upper", "p"]]),
        "n": int(complete.sum()),
        "note": None,
    }


def _mean_abs(per_case: list[dict[str, float]]) -> dict[str, float]:
    """Mean |contribution| per feature, largest first."""
    means = pd.DataFrame(per_case).fillna(0.0).abs().mean().sort_values(ascending=False)
    return {str(k): float(v) for k, v in means.items()}


# ---------------------------------------------------------------------------------------------
# TRIPOD+AI facts


def _facts(bundle, cohort, chosen, predictions, excluded, how, landmark=None) -> dict:
    """What a reader needs to judge the evaluation (TRIPOD+AI items): sizes, events, missing data,
    how the sets were made, the radiomics parameters and the model's training."""
    data = cohort.data
    manifest = bundle.manifest
    config = manifest.get("training", {}).get("config", {})
    sets = []
    for name, ids in chosen.items():
        scored = predictions.index[predictions["set"] == name]
        sets.append(
            {
                "set": name,
                "cases": len(ids),
                "scored": len(scored),
                "excluded": len(ids) - len(scored),
                "responders": int(data.response.loc[ids].sum()),
                "deaths": int(data.os_event.loc[ids].sum()),
                "median_observed_days": float(data.os_days.loc[ids].median()),
                **(
                    {
                        "centres": ", ".join(
                            f"{k} ({v})" for k, v in data.centre.loc[ids].value_counts().items()
                        )
                    }
                    if data.centre is not None
                    else {}
                ),
            }
        )
    missing = []
    for feature in bundle.features:
        present = feature in data.features.columns
        values = data.features[feature] if present else pd.Series(np.nan, index=data.features.index)
        row = {"variable": feature, "family": feature_family(feature), "missing": int(values.isna().sum())}
        for name, ids in chosen.items():
            row[name] = f"{values.loc[ids].isna().mean():.0%}"
        missing.append(row)
    reasons = pd.Series(list(excluded.values()), dtype=str)
    split = (
        f"{int(100 * (1 - config.get('test_size', 0.3)))}:{int(100 * config.get('test_size', 0.3))} "
        "split of the internal cohort stratified by response and death"
        + (
            f"; centre '{config['external_centre']}' held out as external"
            if config.get("external_centre")
            else ""
        )
        + f"; seed {config.get('random_state')}; {config.get('cv_folds')}-fold cross-validation inside the "
        "training set"
        if config
        else "not recorded"
    )
    return {
        "sets": sets,
        "sets_made_by": how,
        "model_training_split": split,
        "outcomes": "objective response at 3 months (mRECIST: CR or PR) = 1; overall survival in days from "
        "treatment start, death = event"
        + (
            f"; PRIME-S is a {landmark:g}-day landmark model: its metrics use the patients alive and "
            f"followed past day {landmark:g}, with survival counted from the landmark "
            f"({int((predictions['os_days'] <= landmark).sum())} scored case(s) died or were censored by "
            "then and count for PRIME-R only)"
            if landmark
            else ""
        ),
        "missing_data": missing,
        "missing_rule": "clinical inputs: training median, at most "
        f"{bundle.max_imputed} per case; missing radiomics: case left out",
        "excluded_reasons": {str(k): int(v) for k, v in reasons.value_counts().items()},
        "imputed_cases": int((predictions["n_imputed"] > 0).sum()),
        "radiomics_params": bundle.radiomics_params,
        "n_model_features": len(bundle.features),
        "trained_on": manifest.get("trained_on", ""),
        "response_threshold": bundle.response_threshold,
        "risk_cutoff": bundle.risk_cutoff,
        "landmark_days": landmark,
    }
