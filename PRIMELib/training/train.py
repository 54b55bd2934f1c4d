"""``train_prime``: split, fit the procedure on the training set, and report on every set."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from PRIMELib.cohort_data import TrainingData, cases_without_radiomics
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.encoding import reference_and_range, source_columns
from PRIMELib.models.pipelines import selected_features, split_modalities
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.training.baselines import fit_baselines
from PRIMELib.training.cohort import (
    apply_landmark,
    cohort_summary,
    landmark_report,
    missing_data_report,
    split_cohort,
    without_recoded_duplicates,
)
from PRIMELib.training.config import TrainingConfig, TrainingResult
from PRIMELib.training.nested import nested_estimate
from PRIMELib.training.procedure import check_training_set, fit_procedure, modalities_of
from PRIMELib.training.report import (
    add_baselines_and_nested,
    baseline_scores,
    clinical_medians,
    final_metrics,
    labelled_metrics,
    summary_table,
)

__all__ = ["train_prime"]


def train_prime(
    data: TrainingData,
    config: TrainingConfig | None = None,
    *,
    split: dict[str, Sequence[str]] | None = None,
    progress: ProgressCallback | None = None,
    scheduler: str | None = None,
) -> TrainingResult:
    """Train, choose and fuse PRIME-R and PRIME-S; see :mod:`PRIMELib.training` for every step.

    ``split``: case ids of ``train``, ``test`` and ``external`` (default: :func:`split_cohort`), for a
    predefined split. ``progress(fraction, message)`` returning False cancels (PRIMECancelled).

    With ``config.outer_folds`` ≥ 2 the whole procedure is first estimated by nested cross-validation
    on the training set (:mod:`PRIMELib.training.nested`; outer folds in parallel with ``n_jobs`` > 1, or
    on the Dask cluster at ``scheduler``); then the final models are fitted on the whole training set.
    The baselines (:mod:`PRIMELib.training.baselines`) are estimated beside them.
    """
    started = time.perf_counter()
    config = config or TrainingConfig()
    config.check()
    data = without_recoded_duplicates(data)
    columns = split_modalities(data.features.columns)
    modalities_of(columns)
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
    # The missing-radiomics rule (PRIMELib.cohort_data): a case without radiomics is left out, by name.
    blank = cases_without_radiomics(data.features)
    if len(blank):
        split = {name: ids.difference(blank, sort=False) for name, ids in split.items()}
    # One-month features make PRIME-S a landmark model (models/landmark.py): its clock starts at the
    # landmark, and patients who died or were censored before it do not train or score it.
    original, landmark = data, None
    landmark_days = config.landmark_for(columns["clinical"])
    if landmark_days:
        data, landmark = apply_landmark(data, landmark_days)
    train = split["train"]
    train_data = data.subset(train)
    check_training_set(train_data, config)
    nested = None
    if config.outer_folds:
        # The final fit runs as one more task of the outer folds' pool: with 5 folds on 2 workers, one
        # worker would otherwise sit idle in the last round (same models either way: see the tests).
        nested = nested_estimate(train_data, config, progress=progress, scheduler=scheduler, final_fit=True)
        fitted = nested.final
    else:
        fitted = fit_procedure(train_data, config, progress=progress)
    baselines = fit_baselines(train_data, config)
    prime_r, prime_s = fitted.prime_r, fitted.prime_s
    sets = {name: ids for name, ids in split.items() if len(ids)}
    summary = summary_table(
        fitted.candidates, fitted.best, prime_r, prime_s, data, sets, fitted.fused_oof, fitted.y_response,
        fitted.y_survival, fitted.fused_cv_risk, fitted.r_seconds, fitted.s_seconds,
    )  # fmt: skip
    metrics = final_metrics(
        prime_r, prime_s, data, sets, fitted.threshold, fitted.risk_cutoff, fitted.fused_oof,
        fitted.y_response, fitted.y_survival, fitted.fused_cv_risk, config,
    )  # fmt: skip
    by_set = baseline_scores(baselines, data, sets)
    metrics = labelled_metrics(metrics, nested, by_set)
    summary = add_baselines_and_nested(summary, nested, by_set, columns)
    selected = {
        "response": {name: selected_features(est) for name, est in prime_r.named_estimators_.items()},
        "survival": {name: selected_features(est) for name, est in prime_s.named_estimators_.items()},
    }
    # The input columns behind the selected features (a one-hot "interventional=TACE" is "interventional").
    used = sorted(
        set(source_columns(f for endpoint in selected.values() for names in endpoint.values() for f in names))
    )
    values = data.features.loc[train, used]
    typical = {f: reference_and_range(f, values[f]) for f in used}  # coded columns: codes that occur
    reference = {f: median for f, (median, _) in typical.items()}
    ranges = {f: percentiles for f, (_, percentiles) in typical.items()}
    cohort = cohort_summary(original, split, columns, config.random_state)
    cohort.update(missing_data_report(train_data.features, blank, str(cohort["case_id_salt"])))
    cohort["landmark"] = landmark_report(landmark, columns, split, str(cohort["case_id_salt"]))
    report(progress, 1.0, "Training done")
    return TrainingResult(
        prime_r=prime_r,
        prime_s=prime_s,
        summary=summary,
        config=config,
        response_threshold=fitted.threshold,
        risk_cutoff=fitted.risk_cutoff,
        metrics=metrics,
        selected_features=selected,
        reference_values=reference,
        typical_ranges=ranges,
        clinical_medians=clinical_medians(prime_r, prime_s, used),
        input_columns=[str(c) for c in data.features.columns],
        cohort=cohort,
        excluded_cases={
            "no_radiomics": [str(c) for c in blank],
            "before_landmark": [] if landmark is None else [str(c) for c in landmark.excluded],
        },
        seconds=time.perf_counter() - started,
        nested=nested,
    )
