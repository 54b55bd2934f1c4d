"""`make bench`: training time (per stage) and peak memory of PRIME-R + PRIME-S, and scoring time.

Target (issue: nested validation as the headline): **100 patients × 2,000 radiomics features, 5 outer
folds, within 15 minutes on 2 cores** — the default run. The cohort is the synthetic two-centre cohort
(``PRIMELib.synth``), its clinical records validated and their indices derived (about 40 numeric
clinical features), ``--patients`` of centre A all training (``--patients 0``: the whole cohort, 7:3
split, centre B external), plus ``--radiomics`` synthetic
radiomics columns (half per phase, PyRadiomics names) driven by the generator's tumour traits
(diameter, lobulation, heterogeneity) and nuisance factors, with PyRadiomics-like spread of units and
a share of near-degenerate features. Radiomics are simulated rather than extracted: extraction is
`bench_radiomics.py`'s subject.

Prints: where the time goes — the nested validation (wall; and grid search, fusion and baselines
summed over the outer folds), the final fit (grid search per candidate, fusion), the baselines and the
report — peak memory (ru_maxrss of this process, which includes imports; spawned fold workers not
counted), the candidate summary, bundle size, save/load time, and scoring time per case.

Usage: ``python Testing/bench/bench_training.py [--patients N] [--radiomics N] [--outer-folds K]
[--n-jobs N] [--grid default|quick]`` (``--outer-folds 0``: no nesting).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from PRIMELib.bundle import load_bundle, save_bundle
from PRIMELib.clinical import prepare_record
from PRIMELib.synth.cohort import draw_cohort
from PRIMELib.training import TrainingConfig, TrainingData, train_prime

_CLASSES = ["firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm", "shape"]
_IMAGES = ["original", "log-sigma-4-0-mm-3D"] + [
    f"wavelet-{c}" for c in ("LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH", "LLL")
]


def cohort_table(n_radiomics: int, seed: int = 7) -> pd.DataFrame:
    """The synthetic cohort with derived clinical indices and simulated radiomics, index = case id."""
    drawn = draw_cohort()
    truth_columns = ["lobulation", "heterogeneity", "true_response_probability", "true_risk"]
    rows = []
    for record in drawn.drop(columns=truth_columns).to_dict("records"):
        outcome = {k: record.pop(k) for k in ("centre", "response", "os_days", "os_event")}
        values = prepare_record({k: v for k, v in record.items() if v == v}).values
        rows.append({**values, **outcome})
    table = pd.DataFrame(rows).set_index("case_id")
    rng = np.random.default_rng(seed)
    n = len(table)
    traits = np.column_stack(
        [
            np.log(drawn["tumor_diameter"].to_numpy(float)),
            drawn["lobulation"].to_numpy(float),
            drawn["heterogeneity"].to_numpy(float),
            rng.normal(size=(n, 27)),  # scanner, reconstruction and biology nuisance factors
        ]
    )
    traits = (traits - traits.mean(0)) / traits.std(0)
    per_phase = n_radiomics // 2
    columns = {}
    for phase in ("arterial", "venous"):
        loadings = rng.normal(size=(traits.shape[1], per_phase)) * (
            rng.random((traits.shape[1], per_phase)) < 0.2
        )
        loadings[:3] *= 2.5  # the tumour traits drive many features
        signal = traits @ loadings + rng.normal(size=(n, per_phase))
        units = np.exp(rng.uniform(-6, 10, per_phase))  # PyRadiomics' spread of scales
        degenerate = rng.random(per_phase) < 0.05  # coarse wavelet images: almost constant
        for j in range(per_phase):
            image = _IMAGES[j % len(_IMAGES)]
            feature_class = _CLASSES[(j // len(_IMAGES)) % len(_CLASSES)]
            name = f"{phase}_{image}_{feature_class}_Feature{j}"
            values = signal[:, j] * units[j] + (units[j] * 10)
            if degenerate[j]:
                values = np.full(n, units[j]) + (rng.random(n) < 0.02) * units[j] * 1e-3
            columns[name] = values
    return pd.concat([table, pd.DataFrame(columns, index=table.index)], axis=1)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_stages(result, wall: float) -> None:
    """Where the time went: nested validation, final fit (per candidate and fusion), the rest."""
    summary = result.summary
    candidates = summary[summary.fusion.isin(["none", "early"])]
    fused = summary[summary.fusion.str.startswith("late")]
    nested = result.nested
    lines = []
    # The final fit may run as one more task of the outer folds' pool (nested.final): then the nested
    # wall time includes it, and its own times below are CPU-side work inside that pool.
    in_pool = nested is not None and getattr(nested, "final", None) is not None
    if nested is not None:
        stages = nested.stage_seconds()
        lines.append(
            f"  nested validation ({nested.folds} outer folds × {nested.repeats})"
            + (" and the final fit, one pool" if in_pool else "")
            + f": {nested.seconds:.1f} s wall; summed over folds: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
        )
    final_grid = float(candidates.seconds.sum())
    final_fusion = float(fused.seconds.sum())
    lines.append(f"  final fit, grid search: {final_grid:.1f} s" + (" (in the pool)" if in_pool else ""))
    for row in candidates.itertuples():
        lines.append(f"    {row.endpoint:8s} {row.modality:9s} {row.algorithm:16s} {row.seconds:7.1f} s")
    lines.append(f"  final fit, fusion (PRIME-R + PRIME-S): {final_fusion:.1f} s")
    rest = wall - (nested.seconds if nested is not None else 0.0)
    rest -= 0.0 if in_pool else final_grid + final_fusion
    lines.append(f"  baselines on the training set, metrics with bootstrap CIs, summaries: {rest:.1f} s")
    print("where the time goes:\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="default")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--radiomics", type=int, default=2000)
    parser.add_argument("--outer-folds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()

    table = cohort_table(args.radiomics)
    external = "B"
    if args.patients:  # the target: N patients of centre A, all of them training (no external set)
        table = table[table["centre"] == "A"]
        table = table.sample(n=min(args.patients, len(table)), random_state=7)
        external = None
    data = TrainingData.from_frame(table)
    n_clinical = sum(not c.startswith(("arterial_", "venous_")) for c in data.features.columns)
    print(
        f"cohort: {len(table)} patients (centres {dict(data.centre.value_counts())}), "
        f"{n_clinical} clinical + {data.features.shape[1] - n_clinical} radiomics features; "
        f"grid '{args.grid}', n_jobs {args.n_jobs}, {args.outer_folds} outer folds; peak memory before "
        f"training {_peak_mb():.0f} MB"
    )
    config = TrainingConfig(
        external_centre=external,
        test_size=0.3 if external else 0.0,
        grid=args.grid,
        n_jobs=args.n_jobs,
        outer_folds=args.outer_folds,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    result = train_prime(data, config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        print(result.summary.drop(columns=["params"]).to_string(index=False))
    print(
        f"training: {wall:.1f} s wall, {cpu:.1f} s CPU (this process; workers not counted), "
        f"peak memory {_peak_mb():.0f} MB (goal: 100 patients × 2,000 features, 5 outer folds, "
        "under 15 minutes on 2 cores)"
    )
    _print_stages(result, wall)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.prime"
        started = time.perf_counter()
        save_bundle(result, path, name="bench", trained_on="synthetic benchmark cohort")
        saved = time.perf_counter() - started
        started = time.perf_counter()
        bundle = load_bundle(path)
        loaded = time.perf_counter() - started
        print(f"bundle: {path.stat().st_size / 1e6:.1f} MB, save {saved:.1f} s, load + verify {loaded:.1f} s")
        cases = data.features.head(20)
        bundle.score(cases.iloc[0].to_dict(), case_id=str(cases.index[0]))  # warm-up
        times = []
        for case_id, row in cases.iterrows():
            started = time.perf_counter()
            bundle.score(row.to_dict(), case_id=str(case_id))
            times.append(time.perf_counter() - started)
        print(
            f"scoring one case (excluding extraction): median {np.median(times) * 1000:.0f} ms, "
            f"max {np.max(times) * 1000:.0f} ms over {len(times)} cases (goal: under 1 s)"
        )
    print(f"peak memory overall {_peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
