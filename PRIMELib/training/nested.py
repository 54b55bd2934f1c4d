"""Nested validation: the whole training procedure estimated by an outer cross-validation.

Each outer fold refits *everything* on its training part — imputation, selection, every grid, the
choice of algorithm, fusion, BMA weights, the threshold and the risk cut-off (:func:`fit_procedure`) —
and predicts its held-out part, which no step has seen. The baselines (:mod:`.baselines`) are fitted
and predicted on the same folds.

Estimate: the metric of the **pooled out-of-fold predictions** (every training case predicted once per
repeat, by the model of the fold that held it out): AUC for response, Harrell's C for survival; with
repeats, the mean over repeats. 95 % CI: percentile bootstrap over cases of that same statistic (the
outer folds stay fixed; it shows the sampling error of the cases, not the variation of refits). The
per-fold metrics and their mean are kept too.

Outer folds are stratified by response × death (by response alone when a stratum is too small), seeded
by ``random_state`` (repeat ``r`` by ``random_state + r``). They run one after the other, in parallel
on local cores (``n_jobs`` > 1: one process per fold, spawned), or on a Dask cluster (``scheduler``).
With ``final_fit``, the final model (the whole procedure on all of ``data``) is one more task of the
same pool: 5 folds on 2 workers leave one worker idle in the last round, which the final fit fills.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from PRIMELib.cohort_data import TrainingData
from PRIMELib.errors import PRIMEInputError
from PRIMELib.evaluation.metrics import _harrell
from PRIMELib.progress import ProgressCallback, report, scaled
from PRIMELib.training.baselines import BASELINES, fit_baselines, predict_baselines
from PRIMELib.training.cohort import label_text, without_rare_missing
from PRIMELib.training.config import TrainingConfig
from PRIMELib.training.procedure import FittedProcedure, fit_procedure

__all__ = ["NestedEstimate", "OuterFold", "nested_estimate", "outer_folds"]

#: The fused models' names in the nested results, beside the baselines'.
PRIME_MODELS = {"prime_r": "response", "prime_s": "survival"}


@dataclass
class OuterFold:
    """What one outer fold returns: held-out predictions of every model, and where the time went."""

    repeat: int
    fold: int
    test_ids: list[str]
    predictions: dict[str, np.ndarray]
    chosen: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class NestedEstimate:
    folds: int
    repeats: int
    results: list[OuterFold]
    metrics: dict[str, dict[str, object]]
    seconds: float
    #: The whole procedure fitted on all of the data (``nested_estimate(..., final_fit=True)``).
    final: FittedProcedure | None = None

    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage, summed over the outer folds (CPU-side work, whatever ran in parallel)."""
        total: dict[str, float] = {}
        for result in self.results:
            for stage, seconds in result.seconds.items():
                total[stage] = total.get(stage, 0.0) + seconds
        return total


def outer_folds(data: TrainingData, config: TrainingConfig) -> list[tuple[int, int, pd.Index, pd.Index]]:
    """(repeat, fold, training ids, held-out ids) of every outer fold."""
    k = config.outer_folds
    strata = label_text(data.response) + "/" + label_text(data.os_event)
    if strata.value_counts().min() < k:
        strata = without_rare_missing(label_text(data.response), k)
    if strata.value_counts().min() < k:
        raise PRIMEInputError(
            f"{k} outer folds need at least {k} responders and {k} non-responders in the training set "
            f"(it has {int(data.response.sum())} and {int((1 - data.response).sum())}).",
            field="outer_folds",
            value=k,
            hint="Choose fewer outer folds (--outer-folds), or 0 to skip nested validation.",
        )
    index = data.features.index
    out = []
    for repeat in range(config.outer_repeats):
        splitter = StratifiedKFold(k, shuffle=True, random_state=config.random_state + repeat)
        for fold, (tr, te) in enumerate(splitter.split(np.zeros(len(index)), strata.to_numpy())):
            out.append((repeat, fold, index[tr], index[te]))
    return out


def run_outer_fold(
    data: TrainingData,
    repeat: int,
    fold: int,
    train_ids: pd.Index,
    test_ids: pd.Index,
    config: TrainingConfig,
    progress: ProgressCallback | None = None,
) -> OuterFold:
    """Fit the whole procedure and the baselines on ``train_ids``; predict ``test_ids``."""
    train, test = data.subset(train_ids), data.subset(test_ids)
    try:
        # Early fusion is only compared in the final report: nothing a fold predicts depends on it.
        fitted = fit_procedure(train, config, progress=progress, early_fusion=False)
    except PRIMEInputError as error:
        raise PRIMEInputError(
            f"Outer fold {fold + 1} of {config.outer_folds}: {error.args[0] if error.args else error}",
            field="outer_folds",
            value=config.outer_folds,
            hint="Choose fewer outer folds (--outer-folds), or 0 to skip nested validation.",
        ) from error
    seconds = {
        "grid search": sum(c.seconds for c in fitted.candidates),
        "fusion (PRIME-R)": fitted.r_seconds,
        "fusion (PRIME-S)": fitted.s_seconds,
    }
    t0 = time.perf_counter()
    baselines = fit_baselines(train, config)
    predictions = {
        "prime_r": fitted.predict_response(test.features),
        "prime_s": fitted.predict_risk(test.features),
        **predict_baselines(baselines, test.features),
    }
    seconds["baselines"] = time.perf_counter() - t0
    chosen = {f"{e}/{m}": c.algorithm for (e, m), c in fitted.best.items()}
    return OuterFold(repeat, fold, [str(i) for i in test_ids], predictions, chosen, seconds)


def _run(args) -> OuterFold:  # a top-level function: worker processes and Dask import it by name
    return run_outer_fold(*args)


def _fit_final(args) -> FittedProcedure:  # the final fit, as a task beside the outer folds
    data, config = args
    return fit_procedure(data, config)


def nested_estimate(
    data: TrainingData,
    config: TrainingConfig,
    *,
    progress: ProgressCallback | None = None,
    scheduler: str | None = None,
    final_fit: bool = False,
) -> NestedEstimate:
    """Estimate the whole procedure on ``data`` (the training set) by nested cross-validation.

    ``final_fit``: also fit the final model on all of ``data`` (``NestedEstimate.final``), as one more
    task beside the folds when they run in parallel; its models are the same as ``fit_procedure``'s.
    """
    started = time.perf_counter()
    folds = outer_folds(data, config)
    total = len(folds) + bool(final_fit)
    parallel = scheduler is not None or (config.n_jobs > 1 and total > 1)
    # Inside a parallel fold the grid searches run serially: the folds already use the workers.
    inner = replace(config, n_jobs=1) if parallel else config
    tasks = [(data, r, f, tr, te, inner) for r, f, tr, te in folds]
    results: list[OuterFold] = []
    final: list[FittedProcedure] = []

    def collect(result: OuterFold | FittedProcedure) -> None:
        (results if isinstance(result, OuterFold) else final).append(result)
        done = len(results) + len(final)
        what = "Final fit" if isinstance(result, FittedProcedure) else f"Outer fold {len(results)}"
        report(progress, done / total, f"{what} done ({done}/{total} tasks)")

    report(progress, 0.0, f"Nested validation: {len(folds)} outer folds")
    if scheduler is not None:
        try:
            from distributed import Client
            from distributed import as_completed as dask_completed
        except ImportError as error:
            raise PRIMEInputError(
                "Training on a Dask cluster needs dask.distributed.",
                field="scheduler",
                value=scheduler,
                hint="Install PRIME with the 'cluster' extra (pip install 'PRIMELib[cluster]').",
            ) from error
        with Client(scheduler) as client:
            futures = [client.submit(_fit_final, (data, inner), pure=False)] if final_fit else []
            futures += [client.submit(_run, task, pure=False) for task in tasks]
            for future in dask_completed(futures):
                collect(future.result())
    elif parallel:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(config.n_jobs, total), mp_context=context) as pool:
            # The final fit goes first: it is the largest task (all the cases).
            futures = [pool.submit(_fit_final, (data, inner))] if final_fit else []
            futures += [pool.submit(_run, task) for task in tasks]
            try:
                for future in as_completed(futures):
                    collect(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    else:
        for i, task in enumerate(tasks):
            sub = scaled(progress, i / total, (i + 1) / total)
            report(progress, i / total, f"Nested validation: outer fold {i + 1}/{len(folds)}")
            results.append(run_outer_fold(*task, progress=sub))
        if final_fit:
            report(progress, len(folds) / total, "Final fit on the whole training set")
            final.append(fit_procedure(data, config, progress=scaled(progress, len(folds) / total, 1.0)))
    results.sort(key=lambda r: (r.repeat, r.fold))
    metrics = nested_metrics(data, results, config)
    return NestedEstimate(
        config.outer_folds,
        config.outer_repeats,
        results,
        metrics,
        time.perf_counter() - started,
        final[0] if final else None,
    )


def _statistic(endpoint: str, y: dict[str, np.ndarray], pred: np.ndarray) -> float:
    if endpoint == "response":
        if len(np.unique(y["response"])) < 2:
            return float("nan")
        return float(roc_auc_score(y["response"].astype(int), pred))
    return _harrell(y["event"].astype(bool), y["time"], pred)


def nested_metrics(data: TrainingData, results: list[OuterFold], config: TrainingConfig) -> dict:
    """Pooled out-of-fold AUC / Harrell's C of every model, with a case-bootstrap 95 % CI. Each
    endpoint is scored on the cases with a reading of it."""
    index = {case: i for i, case in enumerate(map(str, data.features.index))}
    y_all = {
        "response": data.response.to_numpy(float),
        "event": data.os_event.to_numpy(float),
        "time": data.os_days.to_numpy(float),
    }
    has = {"response": data.has_response.to_numpy(), "survival": data.has_survival.to_numpy()}
    repeats = sorted({r.repeat for r in results})
    names = [*PRIME_MODELS, *(b for b in BASELINES if b in results[0].predictions)]
    endpoint_of = {**PRIME_MODELS, **BASELINES}
    rng = np.random.default_rng(config.random_state)
    out: dict[str, dict[str, object]] = {}
    for name in names:
        endpoint = endpoint_of[name]
        valid = np.flatnonzero(has[endpoint])  # this endpoint's cases, as rows of data
        y = {k: v[valid] for k, v in y_all.items()}
        pooled = np.full((len(repeats), len(index)), np.nan)
        per_fold = []
        for result in results:
            rows = np.asarray([index[c] for c in result.test_ids])
            pooled[repeats.index(result.repeat), rows] = result.predictions[name]
            kept = rows[has[endpoint][rows]]
            fold_y = {k: v[kept] for k, v in y_all.items()}
            per_fold.append(_statistic(endpoint, fold_y, pooled[repeats.index(result.repeat), kept]))
        pooled = pooled[:, valid]
        estimate = float(np.mean([_statistic(endpoint, y, p) for p in pooled]))
        boot = np.asarray(
            [
                np.mean([_statistic(endpoint, {k: v[s] for k, v in y.items()}, p[s]) for p in pooled])
                for s in (rng.integers(0, len(valid), len(valid)) for _ in range(config.n_bootstrap))
            ],
            float,
        )
        ci = (
            [float(np.nanpercentile(boot, 2.5)), float(np.nanpercentile(boot, 97.5))]
            if np.isfinite(boot).sum() >= 10
            else None
        )
        key = "auc" if endpoint == "response" else "c_index"
        out[name] = {
            "endpoint": endpoint,
            "n": len(valid),
            key: estimate,
            f"{key}_ci95": ci,
            f"{key}_per_fold": [float(v) for v in per_fold],
            f"{key}_fold_mean": float(np.nanmean(per_fold)),
            f"{key}_fold_sd": float(np.nanstd(per_fold, ddof=1)) if len(per_fold) > 1 else float("nan"),
        }
    return out
