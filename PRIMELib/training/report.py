"""The training report: the candidate table (summary), the fused models' metrics, and the imputation
medians the bundle records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import FeatureUnion

from PRIMELib.evaluation.metrics import _harrell, response_metrics, survival_metrics
from PRIMELib.io import to_jsonable
from PRIMELib.models.pipelines import selected_features
from PRIMELib.models.survival import concordance_scorer
from PRIMELib.models.survival_data import make_survival_labels

__all__ = [
    "add_baselines_and_nested",
    "baseline_scores",
    "clinical_medians",
    "final_metrics",
    "labelled_metrics",
    "summary_table",
]


def clinical_medians(prime_r, prime_s, used: list[str]) -> dict[str, float]:
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


def _cases(data, endpoint: str, ids) -> tuple[pd.DataFrame, np.ndarray]:
    """Inputs and labels of the cases of ``ids`` that have a reading of ``endpoint``."""
    ids = pd.Index(ids)
    has = data.has_response if endpoint == "response" else data.has_survival
    ids = ids[has.loc[ids].to_numpy()]
    if endpoint == "response":
        return data.features.loc[ids], data.response.loc[ids].to_numpy().astype(int)
    return data.features.loc[ids], make_survival_labels(
        data.os_event.loc[ids].to_numpy().astype(int), data.os_days.loc[ids].to_numpy()
    )


def _evaluate(endpoint: str, estimator, X, y) -> float:
    if len(X) == 0:
        return float("nan")
    if endpoint == "response":
        if len(np.unique(y)) < 2:
            return float("nan")
        return float(roc_auc_score(y, estimator.predict_proba(X)[:, 1]))
    return concordance_scorer(estimator, X, y)


def summary_table(candidates, best, prime_r, prime_s, data, sets, fused_oof, y_response, y_survival,
                  fused_cv_risk, r_seconds, s_seconds) -> pd.DataFrame:  # fmt: skip
    """One row per candidate (algorithm × modality × fusion) with CV and test metrics."""

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
                _evaluate(c.endpoint, estimator, *_cases(data, c.endpoint, ids))
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
                _evaluate(endpoint, fused, *_cases(data, endpoint, ids)) if ids is not None else float("nan")
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


def final_metrics(prime_r, prime_s, data, sets, threshold, risk_cutoff, fused_oof, y_response, y_survival,
                   fused_cv_risk, config):  # fmt: skip
    """Metrics of the fused models: apparent (training), cross-validated (training), test, external."""
    out: dict[str, dict[str, object]] = {
        "cv": {
            "response": response_metrics(y_response, fused_oof, threshold, n_bootstrap=0),
            "survival": {"c_index": _harrell(y_survival["event"], y_survival["time"], fused_cv_risk)},
        }
    }
    for name, ids in sets.items():
        X_r, y_r = _cases(data, "response", ids)
        X, y_s = _cases(data, "survival", ids)
        out[name] = {
            "response": response_metrics(
                y_r, prime_r.predict_proba(X_r)[:, 1], threshold,
                n_bootstrap=config.n_bootstrap, random_state=config.random_state,
            ),
            "survival": survival_metrics(
                y_survival, y_s, prime_s.predict(X), lambda times, X=X: prime_s.survival_at(X, times),
                risk_cutoff=risk_cutoff, n_bootstrap=config.n_bootstrap, random_state=config.random_state,
            ),
        }  # fmt: skip
    return to_jsonable(out)


#: What each metrics entry is (every number a report shows carries one of these labels).
METRIC_KINDS = {
    "nested": "nested CV",
    "cv": "selection-CV",
    "train": "apparent",
    "test": "internal test",
    "external": "external",
}
KIND_NOTES = {
    "nested": "the whole procedure (selection, grids, algorithm choice, fusion, thresholds) refitted in "
    "every outer fold; pooled out-of-fold predictions",
    "cv": "optimistic: the members were chosen, and the fusion fitted, on these same folds",
    "train": "optimistic: the models scored on the cases that trained them",
    "test": "the internal test split, never used to choose",
    "external": "the external centre, never used to choose",
}
#: The baselines' labels in tables: (modality, algorithm).
BASELINE_LABELS = {
    "clinical_logistic": ("clinical", "logistic"),
    "radiomics_random_forest": ("radiomics", "random forest"),
    "clinical_cox": ("clinical", "Cox"),
    "radiomics_coxnet": ("radiomics", "Coxnet"),
}


def baseline_scores(baselines, data, sets) -> dict[str, dict[str, float]]:
    """AUC / Harrell's C of each baseline (fitted on the training set) on every set but the training."""
    from PRIMELib.training.baselines import BASELINES

    out: dict[str, dict[str, float]] = {}
    for name, ids in sets.items():
        if name == "train":
            continue
        out[name] = {
            baseline: _evaluate(BASELINES[baseline], model, *_cases(data, BASELINES[baseline], ids))
            for baseline, model in baselines.items()
        }
    return out


def labelled_metrics(metrics: dict, nested, baselines_by_set: dict[str, dict[str, float]]) -> dict:
    """``metrics`` with every entry labelled by kind (``kind``, ``note``), the nested estimate first, and
    the baselines beside the fused models (``baselines``: name → AUC or C-index)."""
    out: dict[str, dict[str, object]] = {}
    if nested is not None:
        fused = nested.metrics
        out["nested"] = {
            "outer_folds": nested.folds,
            "repeats": nested.repeats,
            "response": {k: v for k, v in fused["prime_r"].items() if k != "endpoint"},
            "survival": {k: v for k, v in fused["prime_s"].items() if k != "endpoint"},
            "baselines": {
                name: {k: v for k, v in entry.items() if k != "endpoint"}
                for name, entry in fused.items()
                if name not in ("prime_r", "prime_s")
            },
        }
    for name in ("test", "external", "cv", "train"):
        if name in metrics:
            out[name] = dict(metrics[name])
            if name in baselines_by_set:
                out[name]["baselines"] = baselines_by_set[name]
    for name, entry in out.items():
        entry["kind"] = METRIC_KINDS[name]
        entry["note"] = KIND_NOTES[name]
    return to_jsonable(out)


def add_baselines_and_nested(summary: pd.DataFrame, nested, baselines_by_set, columns) -> pd.DataFrame:
    """The candidate table with the baselines' rows and the nested estimate (``nested``, its 95 % CI
    ``nested_low``–``nested_high``) of the fused models and the baselines. ``cv_mean`` is selection-CV."""
    from PRIMELib.training.baselines import BASELINES

    summary = summary.copy()
    rows = []
    for name, endpoint in BASELINES.items():
        if not any(name in scores for scores in baselines_by_set.values()) and (
            nested is None or name not in nested.metrics
        ):
            continue
        modality, algorithm = BASELINE_LABELS[name]
        rows.append(
            {
                "endpoint": endpoint,
                "modality": modality,
                "algorithm": algorithm,
                "fusion": "baseline",
                "metric": "AUC" if endpoint == "response" else "C-index",
                "cv_mean": float("nan"),
                "cv_sd": float("nan"),
                "test": baselines_by_set.get("test", {}).get(name, float("nan")),
                "external": baselines_by_set.get("external", {}).get(name, float("nan")),
                "n_features": len(columns[modality]),  # a baseline uses every column of its modality
                "params": "{}",
                "seconds": float("nan"),
                "chosen": False,
            }
        )
    if rows:
        summary = pd.concat([summary, pd.DataFrame(rows)], ignore_index=True)
    summary["nested"] = float("nan")
    summary["nested_low"] = float("nan")
    summary["nested_high"] = float("nan")
    if nested is not None:
        for name, entry in nested.metrics.items():
            if name in ("prime_r", "prime_s"):
                endpoint = "response" if name == "prime_r" else "survival"
                at = (summary["endpoint"] == endpoint) & summary["fusion"].str.startswith("late")
            else:
                modality, algorithm = BASELINE_LABELS[name]
                at = (
                    (summary["fusion"] == "baseline")
                    & (summary["modality"] == modality)
                    & (summary["algorithm"] == algorithm)
                )
            key = "auc" if entry["endpoint"] == "response" else "c_index"
            ci = entry.get(f"{key}_ci95") or [float("nan"), float("nan")]
            summary.loc[at, ["nested", "nested_low", "nested_high"]] = [entry[key], ci[0], ci[1]]
    return summary
