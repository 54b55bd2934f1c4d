"""`make bench`: does the nested-CV estimate predict the external centre? And is it 0.5 on shuffled labels?

Issue "nested validation as the headline", *Done when*: the nested estimate lies within ±0.03 of the
external-centre result, and shuffled labels give 0.5 ± 0.07. This bench measures both, on the
synthetic two-centre cohort built exactly as ``Testing/PRIMELib/test_synth_truth_recovery.py`` builds
it (CT phantoms on a 2.5 × 2.5 × 5 mm grid, PyRadiomics first order + 3D shape of the original image,
clinical records through the schema), one cohort per seed:

* centre A is split 7:3 (training : internal test); PRIME-R and PRIME-S are trained on the training
  part with ``--outer-folds`` outer folds around the whole procedure (the truth-recovery test's
  configuration: stacking / linear survival SVM, quick grid, 3 inner folds); centre B is external.
  Printed per seed: nested-CV, internal-test and external AUC and Harrell's C with their 95 % CIs
  (case bootstrap), and nested − external, nested − internal test; beside them the AUC and C of the
  generator's Bayes-optimal predictions on the training part and on centre B, whose difference is what
  case mix and sampling alone put between the two (no model can close it).
* ``--cohort tabular``: instead of CT phantoms, :mod:`model_cohort`'s tabular cohort, whose two centres
  are drawn from one distribution (no case-mix difference between them). There the nested estimate
  and the external result estimate the same quantity, so their mean difference over many seeds
  measures the nested estimate's bias, the one thing a ±0.03 bar can be checked against; each run is
  about a minute, so 10–20 seeds are affordable.
* ``--permutations`` times, the training part's outcomes (response and survival rows together) are
  shuffled across patients and the nested estimate run again: mean, SD and range over all shuffles.

Prints the load average before and after (the machine may be shared; timings are wall-clock). On a
busy 2-core machine one seed took about 2 minutes to generate and extract, 5 to 6 to train, and 5 to 6
per shuffle (centre A 140, B 80); a smaller centre A than about 100 is too small for stacking's
inner folds.

Usage: ``python Testing/bench/bench_nested_vs_external.py [--seeds 12,13] [--permutations 2]
[--patients-a 140] [--patients-b 80] [--outer-folds 5] [--grid quick|default] [--n-jobs 1]
[--cohort phantoms|tabular]``; ``--seeds 1-10`` is a range.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sksurv.metrics import concordance_index_censored

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "PRIMELib"))
from model_cohort import cohort_frame
from test_synth_truth_recovery import CONFIG, synthetic_training_data

from PRIMELib.training import TrainingConfig, TrainingData, train_prime
from PRIMELib.training.cohort import split_cohort
from PRIMELib.training.nested import nested_estimate


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _fmt(value: float, ci) -> str:
    if ci is None:
        return f"{value:.3f}"
    return f"{value:.3f} ({ci[0]:.2f}–{ci[1]:.2f})"


def _bayes(data, truth, ids) -> dict[str, float]:
    """AUC and Harrell's C of the generator's own Bayes-optimal predictions on the cases ``ids``."""
    event = data.os_event.loc[ids].to_numpy().astype(bool)
    time_ = data.os_days.loc[ids].to_numpy(float)
    return {
        "response": float(roc_auc_score(data.response.loc[ids], truth.loc[ids, "true_response_probability"])),
        "survival": float(
            concordance_index_censored(event, time_, truth.loc[ids, "true_risk"].to_numpy())[0]
        ),
    }


def shuffled(data, ids, rng):
    """``data`` restricted to ``ids`` with the outcomes permuted across patients (rows kept together)."""
    out = data.subset(ids)
    order = rng.permutation(len(ids))
    for name in ("response", "os_days", "os_event"):
        series = getattr(out, name)
        setattr(out, name, pd.Series(series.to_numpy()[order], index=series.index, name=series.name))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="12,13")
    parser.add_argument("--permutations", type=int, default=2, help="shuffles per seed")
    parser.add_argument("--patients-a", type=int, default=140)
    parser.add_argument("--patients-b", type=int, default=80)
    parser.add_argument("--outer-folds", type=int, default=5)
    parser.add_argument("--grid", default="quick", choices=("quick", "default"))
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--cohort", default="phantoms", choices=("phantoms", "tabular"))
    args = parser.parse_args()
    seeds = [
        seed
        for part in args.seeds.split(",")
        for seed in (
            range(int(part.split("-")[0]), int(part.split("-")[1]) + 1) if "-" in part else [int(part)]
        )
    ]
    print(
        f"load average at start: {_load()} ({os.cpu_count()} CPUs); centre A {args.patients_a} "
        f"(7:3 train : internal test), centre B {args.patients_b} external; {args.outer_folds} outer folds, "
        f"grid {args.grid}, algorithms {CONFIG['response_algorithms']} / {CONFIG['survival_algorithms']}"
    )
    gaps = {"response": [], "survival": []}
    null = {"response": [], "survival": []}
    bayes_gaps = {"response": [], "survival": []}
    for seed in seeds:
        config = TrainingConfig(
            **{
                **CONFIG,
                "test_size": 0.3,
                "grid": args.grid,
                "outer_folds": args.outer_folds,
                "n_bootstrap": 200,
                "n_jobs": args.n_jobs,
                "random_state": seed,
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            skipped: list[str] = []
            sizes = {"A": args.patients_a, "B": args.patients_b}
            if args.cohort == "tabular":
                n = args.patients_a + args.patients_b
                frame = cohort_frame(n=n, n_radiomics=20, seed=seed, n_external=args.patients_b)
                data, truth = TrainingData.from_frame(frame), None
            else:
                data, truth = synthetic_training_data(Path(tmp), sizes=sizes, seed=seed, skipped=skipped)
            t1 = time.perf_counter()
            result = train_prime(data, config)
            t2 = time.perf_counter()
        m = result.metrics
        print(f"\nseed {seed}: cohort + extraction {t1 - t0:.0f} s, training {t2 - t1:.0f} s")
        if skipped:
            print(f"  {len(skipped)} case(s) left out, tumour too small for the grid: {', '.join(skipped)}")
        print(f"  n: train {result.cohort['train']['n']}, test {result.cohort['test']['n']}, "
              f"external {result.cohort['external']['n']}")  # fmt: skip
        split = split_cohort(data, config)
        train_ids = split["train"].difference(skipped, sort=False)
        external_ids = split["external"].difference(skipped, sort=False)
        sets = (("train", train_ids), ("external", external_ids))
        bayes = {s: _bayes(data, truth, ids) for s, ids in sets} if truth is not None else None
        for endpoint, key, label in (("response", "auc", "AUC"), ("survival", "c_index", "C  ")):
            nested, test, external = (m[s][endpoint] for s in ("nested", "test", "external"))
            print(
                f"  {label} nested {_fmt(nested[key], nested[f'{key}_ci95'])}  "
                f"internal test {_fmt(test[key], test[f'{key}_ci95'])}  "
                f"external {_fmt(external[key], external[f'{key}_ci95'])}  "
                f"nested−external {nested[key] - external[key]:+.3f}  "
                f"nested−test {nested[key] - test[key]:+.3f}"
            )
            # Pooling puts every fold's model on one scale; the per-fold mean does not.
            print(
                f"      nested per-fold mean {nested[f'{key}_fold_mean']:.3f} "
                f"(SD {nested[f'{key}_fold_sd']:.3f})"
            )
            gaps[endpoint].append(nested[key] - external[key])
            if bayes is None:  # the tabular cohort: no Bayes-optimal predictions kept
                continue
            b_train, b_ext = bayes["train"][endpoint], bayes["external"][endpoint]
            print(
                f"      Bayes-optimal (the generator's truth): training part {b_train:.3f}, external "
                f"{b_ext:.3f}, difference {b_train - b_ext:+.3f} (case mix and sampling alone)"
            )
            bayes_gaps[endpoint].append(b_train - b_ext)
        quiet = replace(config, n_bootstrap=0)
        rng = np.random.default_rng(seed)
        for p in range(args.permutations):
            t0 = time.perf_counter()
            estimate = nested_estimate(shuffled(data, train_ids, rng), quiet).metrics
            auc, c = estimate["prime_r"]["auc"], estimate["prime_s"]["c_index"]
            null["response"].append(auc)
            null["survival"].append(c)
            print(f"  shuffled #{p + 1}: nested AUC {auc:.3f}, C {c:.3f} ({time.perf_counter() - t0:.0f} s)")
    print(f"\nover {len(seeds)} seeds (cohorts):")
    for endpoint, label in (("response", "AUC"), ("survival", "C")):
        g = np.asarray(gaps[endpoint])
        sd = g.std(ddof=1) if len(g) > 1 else 0.0
        bayes = bayes_gaps[endpoint]
        print(
            f"  {label} nested − external: mean {g.mean():+.3f} (SE {sd / np.sqrt(len(g)):.3f}), "
            f"SD {sd:.3f}, mean |gap| {np.abs(g).mean():.3f}, range {g.min():+.3f} … {g.max():+.3f}"
            + (f"; Bayes-optimal training − external: mean {np.mean(bayes):+.3f}" if bayes else "")
        )
    for endpoint, label in (("response", "AUC"), ("survival", "C")):
        v = np.asarray(null[endpoint])
        if len(v):
            print(
                f"  shuffled labels, nested {label} over {len(v)} shuffles: mean {v.mean():.3f}, "
                f"SD {v.std(ddof=1) if len(v) > 1 else 0:.3f}, range {v.min():.3f} … {v.max():.3f}"
            )
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
