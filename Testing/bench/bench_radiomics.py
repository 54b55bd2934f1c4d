"""`make bench`: plain PyRadiomics vs ``prime extract`` (1 and N processes) vs on demand, 3 and 12 cm tumours.

For each tumour size, a 512 × 512 × 100 CT at 0.7 × 0.7 × 5 mm (a routine abdominal CT, both phases,
``synthetic_ct.py``) is extracted with the paper's settings (``prime_paper``, 1,888 features) by:

- plain PyRadiomics: ``RadiomicsFeatureExtractor.execute`` on each phase's whole CT, one process;
- ``extract_case(workers=1)``: PRIME, one process;
- ``extract_case(workers=N)``: PRIME, N processes (``--workers``; by default as many as the free cores
  and memory allow, ``parallel.choose_workers``; a large tumour's phase is split across them);
- feature-on-demand for a 20-feature model (N processes).

Each run is a fresh Python process (imports and memory counted as a user sees them), repeated
``--repeats`` times: wall time min / median / max, the ratio to plain PyRadiomics' median, CPU time of
all processes, and peak memory summed over the process tree (sampled every 50 ms; PSS shares shared
libraries out, RSS counts them once per process). It checks that PRIME's 1,888 values equal plain
PyRadiomics' (relative difference) and that on-demand values equal the full extraction's. The load
average is printed at the start and end: these machines are shared, and load inflates wall time.

Usage: ``python Testing/bench/bench_radiomics.py [--sizes 3 12] [--repeats R] [--workers N]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
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


def write_case(folder: Path, diameter_cm: float) -> None:
    import SimpleITK as sitk

    sys.path.insert(0, str(HERE))
    from synthetic_ct import make_case, radius_for_diameter, tumour_extent_mm

    case = make_case(tumour_radius_mm=radius_for_diameter(10.0 * diameter_cm))
    for name in ("arterial", "venous", "mask"):
        sitk.WriteImage(getattr(case, name), str(folder / f"{name}.nrrd"), True)
    voxels = int(sitk.GetArrayViewFromImage(case.mask).sum())
    extent = tumour_extent_mm(case.mask)
    (folder / "case.json").write_text(json.dumps({"extent_mm": extent, "native_voxels": voxels}))


def run_scenario(scenario: str, case: dict[str, str], workers: int | None, output: Path) -> None:
    """Child side: one extraction, its values and its own timing to ``output`` (JSON)."""
    started = time.perf_counter()
    processes = 1
    grid_voxels = None
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

        result = extract_case(
            case["arterial"],
            case["venous"],
            case["mask"],
            params="prime_paper",
            features=MODEL_FEATURES if scenario == "on-demand" else None,
            workers=1 if scenario == "prime-1" else workers,
        )
        values = result.values
        processes = result.diagnostics["workers"]
        grid_voxels = math.prod(result.diagnostics["arterial_feature_grid_size"])
    wall = time.perf_counter() - started
    own, workers_ = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    result = {
        "wall": wall,
        "cpu": own.ru_utime + own.ru_stime + workers_.ru_utime + workers_.ru_stime,
        "processes": processes,
        "grid_voxels": grid_voxels,
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


def measure(scenario: str, case: dict[str, str], workers: int | None, folder: Path) -> dict:
    """Driver side: run ``scenario`` in a fresh process, sampling the process tree's memory."""
    output = folder / f"{scenario}.json"
    command = [
        sys.executable,
        __file__,
        "--run",
        scenario,
        "--case",
        json.dumps(case),
        "--output",
        str(output),
        "--workers",
        str(workers or 0),
    ]
    process = subprocess.Popen(command)
    peaks = {"rss": 0, "pss": 0, "one": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            totals = [_memory_kib(pid) for pid in _tree(process.pid)]
            peaks["rss"] = max(peaks["rss"], sum(t[0] for t in totals))
            peaks["pss"] = max(peaks["pss"], sum(t[1] for t in totals))
            peaks["one"] = max([peaks["one"], *(t[0] for t in totals)])
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"{scenario} failed (exit code {code})")
    result = json.loads(output.read_text())
    result["tree_rss"] = peaks["rss"] / 1024
    result["tree_pss"] = peaks["pss"] / 1024
    result["process_rss"] = peaks["one"] / 1024
    return result


LABELS = {
    "pyradiomics": "plain PyRadiomics, execute() per phase",
    "prime-1": "prime extract, 1 process",
    "prime-n": "prime extract, N processes",
    "on-demand": "20 features on demand, N processes",
}


def _load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def _worst(values: dict[str, float], reference: dict[str, float], names) -> float:
    return max(
        abs(values[c] - reference[c]) / max(abs(reference[c]), 1e-12)
        for c in names
        if abs(reference[c]) > 1e-9 or abs(values[c]) > 1e-9
    )


def _print_process_memory(runs: dict[str, list[dict]]) -> None:
    """The largest single process's peak RSS beside ``parallel.job_memory_bytes``' estimate for it."""
    from PRIMELib.radiomics.parallel import PEAK_BYTES_PER_GRID_VOXEL, PROCESS_BASE_BYTES

    for scenario in ("prime-1", "prime-n"):
        results = runs.get(scenario)
        if results and results[0]["grid_voxels"]:
            estimate = (PROCESS_BASE_BYTES + PEAK_BYTES_PER_GRID_VOXEL * results[0]["grid_voxels"]) / 2**20
            print(
                f"{LABELS[scenario]}: largest process {max(r['process_rss'] for r in results):.0f} MB RSS; "
                f"estimated per-process peak (parallel.job_memory_bytes) {estimate:.0f} MB "
                f"for {results[0]['grid_voxels'] / 1e6:.2f} M feature-grid voxels"
            )


def bench_size(diameter_cm: float, repeats: int, scenarios: list[str], workers: int | None) -> None:
    with tempfile.TemporaryDirectory(prefix="prime-bench-") as tmp:
        folder = Path(tmp)
        # In a process of its own: Linux keeps a process's peak RSS across fork and exec, so a driver that
        # built the 26 M-voxel case itself would pass its peak on to every measured process.
        subprocess.run([sys.executable, __file__, "--generate", str(folder), str(diameter_cm)], check=True)
        facts = json.loads((folder / "case.json").read_text())
        case = {name: str(folder / f"{name}.nrrd") for name in ("arterial", "venous", "mask")}
        print(
            f"\n== {diameter_cm:g} cm tumour ({facts['extent_mm'] / 10:.1f} cm across, "
            f"{facts['native_voxels']} voxels, {facts['native_voxels'] * 0.7 * 0.7 * 5 / 1000:.0f} ml); "
            f"load average at start: {_load()}",
            flush=True,
        )
        runs: dict[str, list[dict]] = {s: [] for s in scenarios}
        for repeat in range(repeats):
            for scenario in scenarios:  # interleaved: a burst of load hits every scenario alike
                print(f"   run {repeat + 1}/{repeats}: {scenario} …", flush=True)
                runs[scenario].append(measure(scenario, case, workers, folder))
        plain_runs = runs.get("pyradiomics")
        reference = statistics.median(r["wall"] for r in plain_runs) if plain_runs else None
        reference_cpu = statistics.median(r["cpu"] for r in plain_runs) if plain_runs else None
        print(
            f"\n{'':40} {'wall s: min':>11} {'median':>7} {'max':>6} {'× plain':>8} "
            f"{'CPU s':>6} {'× plain':>8} {'peak PSS':>9} {'(RSS)':>8} {'procs':>6}"
        )
        for scenario, results in runs.items():
            walls = sorted(r["wall"] for r in results)
            median = statistics.median(walls)
            ratio = f"{reference / median:7.2f}×" if reference else "       -"
            cpu = statistics.median(r["cpu"] for r in results)
            cpu_ratio = f"{reference_cpu / cpu:7.2f}×" if reference_cpu else "       -"
            print(
                f"{LABELS[scenario]:40} {walls[0]:11.1f} {median:7.1f} {walls[-1]:6.1f} {ratio} "
                f"{cpu:6.1f} {cpu_ratio} "
                f"{max(r['tree_pss'] for r in results):6.0f} MB "
                f"{max(r['tree_rss'] for r in results):5.0f} MB "
                f"{max(r['processes'] for r in results):6d}"
            )
        print(f"load average at end: {_load()} (other work on the machine inflates wall time, not CPU time)")
        _print_process_memory(runs)
        if "pyradiomics" in runs and "prime-1" in runs:
            plain = runs["pyradiomics"][0]["values"]
            for scenario in ("prime-1", "prime-n"):
                if scenario in runs:
                    values = runs[scenario][0]["values"]
                    same = set(values) == set(plain)
                    print(
                        f"{LABELS[scenario]} vs plain: {len(values)} features, same names: {same}, "
                        f"largest relative difference {_worst(values, plain, plain):.1e}"
                    )
        if "on-demand" in runs and "prime-1" in runs:
            worst = _worst(runs["on-demand"][0]["values"], runs["prime-1"][0]["values"], MODEL_FEATURES)
            print(f"on demand vs full extraction, largest relative difference: {worst:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[3.0, 12.0], help="tumour diameters, cm")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes of the N-process runs (default 0: auto, from free cores)",
    )
    parser.add_argument("--scenarios", nargs="+", default=list(LABELS), choices=list(LABELS))
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        write_case(Path(args.generate[0]), float(args.generate[1]))
        return
    if args.run:
        run_scenario(args.run, json.loads(args.case), args.workers or None, Path(args.output))
        return
    sys.path.insert(0, str(HERE.parents[1]))
    from PRIMELib.radiomics.parallel import choose_workers, free_cores, usable_cores

    print(
        f"Radiomics bench, prime_paper settings, 512 × 512 × 100 CT at 0.7 × 0.7 × 5 mm, both phases. "
        f"Cores usable: {usable_cores()}, free now: {free_cores()}; N (auto) for 2 phases now: "
        f"{choose_workers(None, phases=2)}; N here: {args.workers or 'auto'}; load average: {_load()}",
        flush=True,
    )
    for size in args.sizes:
        bench_size(size, args.repeats, args.scenarios, args.workers or None)


if __name__ == "__main__":
    main()
