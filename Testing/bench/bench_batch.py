"""`make bench`: batch throughput (cases per minute) with 1 and 2 workers, and the speed-up.

A synthetic cohort of ``--cases`` patients (CT phantoms at 1.4 x 1.4 x 5 mm, tumours of the
cohort's own sizes) is extracted twice from scratch with ``prime_quick`` settings: once with one
worker, once with two. The second run's values are checked equal to the first's.

Usage: ``python Testing/bench/bench_batch.py [--cases N] [--params NAME]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from PRIMELib.batch import BatchSettings, run_batch
from PRIMELib.synth import generate_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--params", default="prime_quick")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        started = time.perf_counter()
        cohort = generate_cohort(
            folder / "cohort", sizes={"A": args.cases, "B": 0}, seed=1, spacing_mm=(1.4, 1.4, 5.0)
        )
        print(f"generated {args.cases} synthetic cases in {time.perf_counter() - started:.1f} s")
        settings = BatchSettings(mode="extract", params=args.params)
        rates = {}
        for workers in (1, 2):
            started = time.perf_counter()
            summary = run_batch(
                cohort.manifest, folder / f"out-{workers}", settings=settings, workers=workers
            )
            seconds = time.perf_counter() - started
            assert summary.succeeded == args.cases, summary.failures
            rates[workers] = args.cases / seconds * 60
            print(f"workers {workers}: {seconds:6.1f} s, {rates[workers]:6.1f} cases/min")
        one, two = (pd.read_csv(folder / f"out-{w}" / "features.csv") for w in (1, 2))
        pd.testing.assert_frame_equal(one, two)
        print(
            f"speed-up with 2 workers: {rates[2] / rates[1]:.2f}x on {os.cpu_count()} CPUs (values identical)"
        )


if __name__ == "__main__":
    main()
