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

Usage: ``python Testing/bench/bench_scoring.py [--repeats N]``.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each process measurement")
    parser.add_argument("--rows", type=int, default=30, help="bundle.score() calls")
    arguments = parser.parse_args()

    from PRIMELib.demo import write_demo_case

    print(f"load average before: {_load()}", flush=True)
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
        row = {**features, **values}
        bundle.score(row)  # the first call also prepares the reference case's model inputs
        times = []
        for _ in range(arguments.rows):
            started = time.perf_counter()
            bundle.score(row)
            times.append(time.perf_counter() - started)
        print(_row("load_bundle (imports included)", [loading]), flush=True)
        print(_row("bundle.score() on a feature row", times, "ms"), flush=True)
    ratio = statistics.median(cold) / statistics.median(warm)
    print(f"cold / warm (medians): {ratio:.1f}×; goals: warm ≤ 5 s, a feature row ≤ 50 ms")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
