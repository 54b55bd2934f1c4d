"""`make bench`: wall time and peak memory of evaluating a bundle on a cohort and writing its reports.

A small bundle is trained as the tests train theirs (``Testing/PRIMELib/model_cohort.py``: 120
synthetic cases, 20 radiomics features, centre B external, the fast configuration). It is then
evaluated (``evaluate_bundle``, sets by centre, subgroup hazard ratios on) on that cohort (~120 cases)
and on a fresh draw of the same generator (~480 cases, new case ids), with 0 and 200 bootstrap
resamples; for each size the figures (PNG + SVG) and the cohort report (HTML, PDF) are written from
the 200-resample evaluation. Last, one case is scored and its patient report written (HTML + PDF,
figures kept).

Prints a table: step, cases, wall seconds, CPU seconds, peak RSS during the step (sampled every
20 ms; RSS counts shared libraries in full), and this process's overall peak (``ru_maxrss``).

Usage: ``python Testing/bench/bench_evaluation.py [--bootstrap N] [--large N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "PRIMELib"))  # model_cohort, as tests use it

_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def _rss_mib() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * _PAGE_MIB


@contextmanager
def _measured(rows: list[dict], step: str, cases: int):
    """Time the block and sample this process's RSS while it runs; append a row to ``rows``."""
    peak = [_rss_mib()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        done.set()
        sampler.join()
        peak[0] = max(peak[0], _rss_mib())
        rows.append({"step": step, "cases": cases, "seconds": wall, "cpu": cpu, "rss": peak[0]})
        print(f"  {step} ({cases} cases): {wall:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples of the second evaluation")
    parser.add_argument("--large", type=int, default=480, help="cases of the larger cohort")
    args = parser.parse_args()

    from model_cohort import FAST, cohort_frame

    from PRIMELib.bundle import load_bundle, save_bundle
    from PRIMELib.evaluation.evaluate import evaluate_bundle
    from PRIMELib.reports.cohort import write_cohort_report
    from PRIMELib.reports.figures import write_figures
    from PRIMELib.reports.patient import write_patient_report
    from PRIMELib.training import TrainingConfig, TrainingData, train_prime

    small = cohort_frame()
    large = cohort_frame(args.large, seed=1, n_external=args.large // 4)
    large.index = [f"E{i:04d}" for i in range(len(large))]  # new case ids: none of the training cohort's
    rows: list[dict] = []
    print(f"cohorts: {len(small)} and {len(large)} synthetic cases, centres A and B", flush=True)
    with tempfile.TemporaryDirectory(prefix="prime-bench-") as folder:
        folder = Path(folder)
        with _measured(rows, "train bundle (fast config)", len(small)):
            result = train_prime(TrainingData.from_frame(small), TrainingConfig(external_centre="B", **FAST))
            path = save_bundle(result, folder / "bench.prime", name="bench", trained_on="synthetic cohort")
        with _measured(rows, "load bundle", 0):
            bundle = load_bundle(path)
        for frame in (small, large):
            n = len(frame)
            evaluations = {}
            for n_bootstrap in (0, args.bootstrap):
                with _measured(rows, f"evaluate, {n_bootstrap} bootstrap", n):
                    evaluations[n_bootstrap] = evaluate_bundle(
                        bundle, frame, sets="centre", n_bootstrap=n_bootstrap
                    )
            evaluation = evaluations[args.bootstrap]
            out = folder / f"cohort-{n}"
            with _measured(rows, "figures (PNG + SVG)", n):
                figures = write_figures(evaluation, out / "figures")
            for kind in ("html", "pdf"):
                with _measured(rows, f"cohort report {kind.upper()}", n):
                    write_cohort_report(evaluation, out / "report", figures=figures, formats=(kind,))
        case_id = str(small.index[0])
        features = TrainingData.from_frame(small).features.loc[case_id].to_dict()
        with _measured(rows, "score one case + patient report (HTML + PDF)", 1):
            scored = bundle.score(features, case_id=case_id)
            write_patient_report(scored, folder / "patient" / "report")
        sizes = {p.suffix: p.stat().st_size for p in (folder / f"cohort-{len(large)}").glob("report.*")}
    print()
    print(f"{'step':<46} {'cases':>5} {'seconds':>8} {'CPU s':>7} {'peak RSS MiB':>13}")
    for row in rows:
        step, cases, seconds, cpu, rss = row.values()
        print(f"{step:<46} {cases:>5} {seconds:>8.2f} {cpu:>7.2f} {rss:>13.0f}")
    print(
        f"total {sum(r['seconds'] for r in rows):.0f} s; process peak (ru_maxrss) "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; {len(large)}-case report: "
        + ", ".join(f"{kind[1:].upper()} {size / 1e6:.1f} MB" for kind, size in sorted(sizes.items()))
    )


if __name__ == "__main__":
    main()
