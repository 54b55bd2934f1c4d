"""`make bench`: what a radiologist waits for when scoring, cold and warm.

On the demonstration case (``PRIMELib.demo``: a 4.2 cm synthetic tumour, both phases) with the shipped
demonstration bundle:

* **cold** — ``prime score`` in a fresh process, as each Score click ran before the warm worker: Python
  starts, imports, loads and verifies the bundle, extracts the features the model needs, scores;
* **warm** — the same case sent to a running scoring worker (``python -m PRIMELib.scoring_server``)
  that has already scored it once: features on demand and scoring only, the bundle stays loaded;
* **first worker request** — the worker's first case (it loads the bundle then);
* **bundle.score()** — scoring one feature row with a loaded bundle (no extraction), in this process.

Each is repeated (``--repeats``; more for ``bundle.score()``) and printed as min / median / max, with
the load average before and after: these machines are shared, and a busy machine slows everything.
Goals (issue 18): a warm Score click in ≤ 5 s; scoring a feature row in ≤ 50 ms.

``--rows-only`` measures ``bundle.score()`` alone, on the bundle's own check cases (synthetic rows: the
training medians and two patterns at the edges of the typical ranges, one of them with three clinical
values missing), without extraction; ``--profile`` adds where that time goes (cProfile, top functions).

Usage: ``python Testing/bench/bench_scoring.py [--repeats N] [--rows N] [--rows-only] [--profile]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min, {os.cpu_count()} CPUs)"


def _row(name: str, seconds: list[float], unit: str = "s") -> str:
    scale = 1000.0 if unit == "ms" else 1.0
    low, mid, high = (scale * min(seconds), scale * statistics.median(seconds), scale * max(seconds))
    return f"{name:<42} {low:>9.3f} {mid:>9.3f} {high:>9.3f} {unit:<3} (n={len(seconds)})"


def _cold(case, output: Path) -> float:
    command = [sys.executable, "-m", "PRIMELib", "score", "--arterial", str(case.arterial_image)]
    command += ["--venous", str(case.venous_image), "--mask", str(case.tumour_mask)]
    command += ["--clinical", str(case.clinical_record), "--output", str(output)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"prime score failed:\n{done.stderr}")
    return seconds


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "PRIMELib.scoring_server"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert json.loads(self.process.stdout.readline())["event"] == "ready"

    def score(self, case, output: Path, request_id: int) -> tuple[float, dict]:
        request = {"id": request_id, "command": "score", "arterial": str(case.arterial_image)}
        request |= {"venous": str(case.venous_image), "mask": str(case.tumour_mask)}
        request |= {"clinical": str(case.clinical_record), "output": str(output)}
        started = time.perf_counter()
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        while (reply := json.loads(self.process.stdout.readline()))["event"] in ("accepted", "progress"):
            pass
        seconds = time.perf_counter() - started
        if reply["event"] != "result":
            raise SystemExit(f"the worker failed: {reply}")
        return seconds, reply

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _score_rows(bundle, rows: list[dict], calls: int, profile: bool) -> None:
    """Time ``bundle.score()`` on ``rows`` in turn, after one call that prepares the bundle."""
    bundle.score(rows[0])  # the first call also prepares the reference case's model inputs
    times = []
    for call in range(calls):
        started = time.perf_counter()
        bundle.score(rows[call % len(rows)])
        times.append(time.perf_counter() - started)
    print(_row("bundle.score() on a feature row", times, "ms"), flush=True)
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for call in range(calls):
            bundle.score(rows[call % len(rows)])
        profiler.disable()
        print(f"where bundle.score() spends its time ({calls} calls, cProfile, cumulative):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(20)


def _check_rows(bundle) -> list[dict]:
    """The bundle's stored check cases, and the last of them with three clinical values missing."""
    rows = [dict(case) for case in bundle.manifest["checks"]["cases"]]
    clinical = sorted(bundle.required_features["clinical"])
    limit = bundle.max_imputed if bundle.max_imputed is not None else 3
    rows.append({**rows[-1], **{name: None for name in clinical[: min(3, limit)]}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each process measurement")
    parser.add_argument("--rows", type=int, default=30, help="bundle.score() calls")
    parser.add_argument("--rows-only", action="store_true", help="only bundle.score(), on check cases")
    parser.add_argument("--profile", action="store_true", help="profile bundle.score() (cProfile)")
    arguments = parser.parse_args()

    print(f"load average before: {_load()}", flush=True)
    if arguments.rows_only:
        from PRIMELib.bundle import DEFAULT_BUNDLE, load_bundle

        bundle = load_bundle(DEFAULT_BUNDLE)
        _score_rows(bundle, _check_rows(bundle), arguments.rows, arguments.profile)
        print(f"goal: a feature row ≤ 50 ms\nload average after: {_load()}")
        return

    from PRIMELib.demo import write_demo_case

    with tempfile.TemporaryDirectory(prefix="prime-bench-scoring-") as folder:
        folder = Path(folder)
        case = write_demo_case(folder / "case")
        cold = [_cold(case, folder / f"cold-{i}") for i in range(arguments.repeats)]
        print(_row("cold: prime score (fresh process)", cold), flush=True)

        first, warm, loads = [], [], []
        for start in range(arguments.repeats):
            worker = _Worker()
            try:
                seconds, _ = worker.score(case, folder / f"first-{start}", 0)
                first.append(seconds)
                seconds, reply = worker.score(case, folder / f"warm-{start}", 1)
                warm.append(seconds)
                loads.append(reply["model_loads"])
            finally:
                worker.close()
        print(_row("worker, first request (loads the bundle)", first), flush=True)
        print(_row("warm: worker, next request", warm), flush=True)
        assert set(loads) == {1}, f"the warm request loaded the bundle again: {loads}"

        from PRIMELib.bundle import DEFAULT_BUNDLE, load_bundle
        from PRIMELib.pipeline import clinical_features, load_clinical_record

        started = time.perf_counter()
        bundle = load_bundle(DEFAULT_BUNDLE)
        loading = time.perf_counter() - started
        values, _ = clinical_features(load_clinical_record(case.clinical_record))
        features = json.loads((folder / "warm-0" / "result.json").read_text(encoding="utf-8"))["inputs"]
        print(_row("load_bundle (imports included)", [loading]), flush=True)
        _score_rows(bundle, [{**features, **values}], arguments.rows, arguments.profile)
    ratio = statistics.median(cold) / statistics.median(warm)
    print(f"cold / warm (medians): {ratio:.1f}×; goals: warm ≤ 5 s, a feature row ≤ 50 ms")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
