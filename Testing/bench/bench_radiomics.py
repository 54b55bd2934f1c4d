"""`make bench`: wall time and peak memory of dual-phase radiomics on a realistic synthetic case.

Prints, for a 512 × 512 × 100 CT at 0.7 × 0.7 × 5 mm with a tumour about 9 cm across
(``synthetic_ct.py``), with the paper's settings (``prime_paper``):

- full dual-phase extraction (phases in 2 worker processes), and
- feature-on-demand for a 20-feature model (same workers),

their ratio, and that the on-demand values equal the full ones. Each run happens in a fresh Python
process (``--run``), so imports and memory are counted as a user would see them. Peak memory is
reported three ways: the largest single process (``ru_maxrss``), and the sampled peak (every 50 ms)
of the whole process tree as PSS (shared libraries shared out: the physical memory really used) and
as RSS (shared libraries counted once per process). CPU time (all processes) is printed beside wall
time: on a shared machine it is the steadier number.

Usage: ``python Testing/bench/bench_radiomics.py [--workers N] [--with-pyradiomics]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: A plausible 20-feature dual-phase radiomics model (the kind an elastic net keeps): both phases,
#: every image type, most feature classes, one shape feature.
MODEL_FEATURES = [
    "arterial_original_shape_Sphericity",
    "arterial_original_firstorder_Skewness",
    "arterial_original_glcm_Idmn",
    "arterial_original_glszm_ZonePercentage",
    "arterial_log-sigma-4-0-mm-3D_firstorder_Mean",
    "arterial_log-sigma-4-0-mm-3D_glrlm_RunEntropy",
    "arterial_wavelet-LLH_firstorder_Median",
    "arterial_wavelet-HLL_glcm_Correlation",
    "arterial_wavelet-LLL_glszm_SmallAreaEmphasis",
    "arterial_wavelet-HHH_firstorder_Kurtosis",
    "venous_original_firstorder_Entropy",
    "venous_original_gldm_DependenceNonUniformityNormalized",
    "venous_original_glcm_ClusterShade",
    "venous_log-sigma-4-0-mm-3D_glcm_Imc2",
    "venous_log-sigma-4-0-mm-3D_firstorder_90Percentile",
    "venous_wavelet-LLL_firstorder_Mean",
    "venous_wavelet-LHL_glrlm_GrayLevelNonUniformityNormalized",
    "venous_wavelet-HLH_glcm_JointEntropy",
    "venous_wavelet-LLL_gldm_LargeDependenceEmphasis",
    "venous_wavelet-HHL_firstorder_Uniformity",
]


def write_case(folder: Path) -> dict[str, str]:
    import SimpleITK as sitk

    sys.path.insert(0, str(HERE))
    from synthetic_ct import make_case

    case = make_case()
    paths = {name: str(folder / f"{name}.nrrd") for name in ("arterial", "venous", "mask")}
    sitk.WriteImage(case.arterial, paths["arterial"], True)
    sitk.WriteImage(case.venous, paths["venous"], True)
    sitk.WriteImage(case.mask, paths["mask"], True)
    return paths


def run_scenario(scenario: str, case: dict[str, str], workers: int, output: Path) -> None:
    """Child side: one extraction, its values and its own timing to ``output`` (JSON)."""
    started = time.perf_counter()
    if scenario == "pyradiomics":
        import logging

        from radiomics import featureextractor

        from PRIMELib.radiomics import params_file

        logging.getLogger("radiomics").setLevel(logging.ERROR)
        extractor = featureextractor.RadiomicsFeatureExtractor(str(params_file("prime_paper")))
        values = {}
        for phase in ("arterial", "venous"):
            raw = extractor.execute(case[phase], case["mask"])
            values.update({f"{phase}_{k}": float(v) for k, v in raw.items() if not k.startswith("diag")})
    else:
        from PRIMELib.radiomics import extract_case

        features = MODEL_FEATURES if scenario == "on-demand" else None
        result = extract_case(
            case["arterial"],
            case["venous"],
            case["mask"],
            params="prime_paper",
            features=features,
            workers=workers,
        )
        values = result.values
    wall = time.perf_counter() - started
    own, workers_ = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    result = {
        "wall": wall,
        "cpu": own.ru_utime + own.ru_stime + workers_.ru_utime + workers_.ru_stime,
        "rss_main": own.ru_maxrss / 1024,
        "rss_worker": workers_.ru_maxrss / 1024,
        "values": values,
    }
    output.write_text(json.dumps(result))


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as stream:
                    todo += [int(c) for c in stream.read().split()]
        except OSError:
            pass
    return pids


def _memory_kib(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as stream:
            for line in stream:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def measure(scenario: str, case: dict[str, str], workers: int, folder: Path) -> dict:
    """Driver side: run ``scenario`` in a fresh process, sampling the process tree's memory."""
    output = folder / f"{scenario}.json"
    command = [
        sys.executable,
        __file__,
        "--run",
        scenario,
        "--case",
        json.dumps(case),
        "--workers",
        str(workers),
    ]
    command += ["--output", str(output)]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    peaks = {"rss": 0, "pss": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            totals = [_memory_kib(pid) for pid in _tree(process.pid)]
            peaks["rss"] = max(peaks["rss"], sum(t[0] for t in totals))
            peaks["pss"] = max(peaks["pss"], sum(t[1] for t in totals))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"{scenario} failed (exit code {code})")
    result = json.loads(output.read_text())
    result["process_wall"] = time.perf_counter() - started
    result["tree_rss"] = peaks["rss"] / 1024
    result["tree_pss"] = peaks["pss"] / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--with-pyradiomics", action="store_true", help="also time PyRadiomics on the whole CT"
    )
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        write_case(Path(args.generate))
        return
    if args.run:
        run_scenario(args.run, json.loads(args.case), args.workers, Path(args.output))
        return

    with tempfile.TemporaryDirectory(prefix="prime-bench-") as tmp:
        folder = Path(tmp)
        print(
            "Generating the synthetic case (512 × 512 × 100 at 0.7 × 0.7 × 5 mm, tumour ~9 cm) …", flush=True
        )
        # In a process of its own: Linux keeps a process's peak RSS across fork and exec, so a driver that
        # built the 26 M-voxel case itself would pass its peak on to every measured process.
        subprocess.run([sys.executable, __file__, "--generate", str(folder)], check=True)
        case = {name: str(folder / f"{name}.nrrd") for name in ("arterial", "venous", "mask")}
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"CPUs: {os.cpu_count()}; load average before: {load}; workers: {args.workers}", flush=True)
        scenarios = ["full", "on-demand"] + (["pyradiomics"] if args.with_pyradiomics else [])
        results = {}
        for scenario in scenarios:
            print(f"running {scenario} …", flush=True)
            results[scenario] = measure(scenario, case, args.workers, folder)
        labels = {
            "full": f"full dual-phase ({len(results['full']['values'])} features)",
            "on-demand": f"feature-on-demand ({len(MODEL_FEATURES)} features)",
            "pyradiomics": "PyRadiomics on the whole CT, 1 process",
        }
        header = ("wall s", "CPU s", "largest process", "all processes (PSS)", "(RSS)")
        print(f"\n{'':40} {header[0]:>7} {header[1]:>7} {header[2]:>16} {header[3]:>20} {header[4]:>8}")
        for scenario, result in results.items():
            largest = max(result["rss_main"], result["rss_worker"])
            print(
                f"{labels[scenario]:40} {result['wall']:7.1f} {result['cpu']:7.1f} {largest:13.0f} MB "
                f"{result['tree_pss']:17.0f} MB {result['tree_rss']:5.0f} MB"
            )
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"load average after: {load} (other work on the machine inflates wall time, not CPU time)")
        full, on_demand = results["full"], results["on-demand"]
        print(
            f"\nfull / on-demand: {full['wall'] / on_demand['wall']:.1f}× wall time, "
            f"{full['cpu'] / on_demand['cpu']:.1f}× CPU time"
        )
        worst = max(
            abs(on_demand["values"][c] - full["values"][c]) / max(abs(full["values"][c]), 1e-12)
            for c in MODEL_FEATURES
        )
        print(f"on-demand vs full, largest relative difference over the 20 features: {worst:.1e}")
        if "pyradiomics" in results:
            reference = results["pyradiomics"]["values"]
            worst = max(
                abs(full["values"][c] - v) / max(abs(v), 1e-12)
                for c, v in reference.items()
                if abs(v) > 1e-9 or abs(full["values"][c]) > 1e-9
            )
            print(f"full vs PyRadiomics on the whole CT, largest relative difference: {worst:.1e}")


if __name__ == "__main__":
    main()
