"""The panel's scoring worker under real Qt, in real processes: one long-lived worker scores case after
case with the model loaded once and the results of a cold ``prime score``; another model starts a fresh
worker; Cancel kills the worker's process tree and the next case starts a new one; a worker that dies
between cases is replaced; a worker that cannot start ends the case with a message (Qt emits
errorOccurred(FailedToStart) and never finished())."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run_until(qt, condition, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        qt.QApplication.processEvents(qt.QEventLoop.AllEvents, 50)
        time.sleep(0.01)
    return condition()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def qt(prime_module):
    import qt

    return qt


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    from PRIMELib.demo import write_demo_case

    return write_demo_case(tmp_path_factory.mktemp("demo"))


class Case:
    """A case folder as ``writeCaseFiles`` leaves it, and what the worker reported for it."""

    def __init__(self, demo, folder: Path, modelPath=None) -> None:
        folder.mkdir(parents=True)
        self.folder = folder
        self.arguments = {
            "arterialPath": shutil.copy(demo.arterial_image, folder / "arterial.nrrd"),
            "venousPath": shutil.copy(demo.venous_image, folder / "venous.nrrd"),
            "maskPath": shutil.copy(demo.tumour_mask, folder / "mask.nrrd"),
            "clinicalPath": shutil.copy(demo.clinical_record, folder / "clinical.json"),
            "outputDir": str(folder / "output"),
            "venousMaskPath": None,
            "modelPath": modelPath,
        }
        self.ends: list[tuple[str, dict | None]] = []
        self.progress: list[float] = []

    def onFinished(self, outputDir, error):
        result = None
        if not error:  # read before the worker removes the folder, as the panel does
            result = json.loads((Path(outputDir) / "result.json").read_text(encoding="utf-8"))
        self.ends.append((error, result))


def _worker(cases: list):
    """A ScoringWorker whose callbacks go to the case in progress (the last one given)."""
    from PRIMEPanel.widgets import ScoringWorker

    return ScoringWorker(
        lambda fraction, message: cases[-1].progress.append(fraction),
        lambda outputDir, error: cases[-1].onFinished(outputDir, error),
    )


def _score(qt, worker, cases, case):
    cases.append(case)
    worker.score(case.arguments, case.folder)
    assert _run_until(qt, lambda: case.ends), "the case did not end"
    assert not worker.running and not case.folder.exists()
    (error, result) = case.ends[0]
    assert error == "", error
    return result


def test_one_worker_scores_cases_with_one_model_load_as_a_cold_run_does(qt, demo_files, tmp_path):
    from PRIMEPanel.scoring import scoreCommand

    from PRIMELib.bundle import DEFAULT_BUNDLE

    cases: list[Case] = []
    worker = _worker(cases)
    try:
        first = _score(qt, worker, cases, Case(demo_files, tmp_path / "1"))
        pid = worker.processId()
        assert pid > 0 and worker.starts == 1 and worker.lastReply["model_loads"] == 1
        assert cases[0].progress and cases[0].progress[-1] == 1.0
        second = _score(qt, worker, cases, Case(demo_files, tmp_path / "2"))
        assert worker.processId() == pid and worker.starts == 1  # the same warm worker
        assert worker.lastReply["model_loads"] == 1  # the model was not loaded again
        assert second == first
        # A cold `prime score` of the same files gives the same result.
        cold = Case(demo_files, tmp_path / "cold")
        done = subprocess.run(scoreCommand(**cold.arguments), capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 0, done.stderr
        stored = json.loads((Path(cold.arguments["outputDir"]) / "result.json").read_text(encoding="utf-8"))
        assert stored == first
        # Another model: a fresh worker, which loads it.
        other = shutil.copy(DEFAULT_BUNDLE, tmp_path / "other.prime")
        third = _score(qt, worker, cases, Case(demo_files, tmp_path / "3", modelPath=other))
        assert worker.starts == 2 and worker.processId() != pid and not _alive(pid)
        assert worker.lastReply["model_loads"] == 1
        assert third["response_probability"] == first["response_probability"]
    finally:
        worker.shutdown()


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to check")
def test_cancel_kills_the_worker_tree_and_the_next_case_starts_a_new_one(qt, demo_files, tmp_path):
    from PRIMEPanel.processes import descendantPids, killProcessTree

    cases: list[Case] = []
    worker = _worker(cases)
    try:
        case = Case(demo_files, tmp_path / "1")
        cases.append(case)
        worker.score(case.arguments, case.folder)
        assert _run_until(qt, lambda: case.progress), "no progress"  # mid-way
        tree = [worker.processId(), *descendantPids(worker.processId())]
        worker.cancel()
        deadline = time.monotonic() + 10
        while any(map(_alive, tree)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, tree)), "a process of the worker survived Cancel"
        assert not worker.running and not case.folder.exists() and worker.processId() == 0
        qt.QApplication.processEvents()
        assert case.ends == []  # a cancelled case reports no end
        result = _score(qt, worker, cases, Case(demo_files, tmp_path / "2"))
        assert worker.starts == 2 and result["quadrant"]
        # A worker that dies between cases (killed from outside) is replaced at the next case.
        dead = worker.processId()
        killProcessTree(dead)
        assert _run_until(qt, lambda: not _alive(dead), 10)
        _score(qt, worker, cases, Case(demo_files, tmp_path / "3"))
        assert worker.starts == 3 and worker.processId() != dead
    finally:
        worker.shutdown()


def test_a_worker_that_cannot_start_ends_the_case_with_a_reason(qt, demo_files, tmp_path, monkeypatch):
    import PRIMEPanel.scoring

    monkeypatch.setattr(PRIMEPanel.scoring, "workerCommand", lambda: [str(tmp_path / "no-such-python")])
    cases: list[Case] = []
    worker = _worker(cases)
    case = Case(demo_files, tmp_path / "1")
    cases.append(case)
    worker.score(case.arguments, case.folder)
    assert _run_until(qt, lambda: case.ends, 30), "no end reported: the button would stay 'Cancel'"
    assert len(case.ends) == 1 and "could not start" in case.ends[0][0]
    assert not worker.running and not case.folder.exists() and worker.processId() == 0


def test_a_worker_that_stops_ends_the_case_with_its_last_words(qt, demo_files, tmp_path, monkeypatch):
    """The process ended mid-case (here: it prints and exits): the case fails with what it wrote."""
    import sys

    import PRIMEPanel.scoring

    code = (
        "import json, sys; request = json.loads(sys.stdin.readline()); "
        "print(json.dumps({'event': 'accepted', 'id': request['id']}), flush=True); "
        "sys.stderr.write('MemoryError: out of memory\\n'); sys.exit(1)"
    )
    monkeypatch.setattr(PRIMEPanel.scoring, "workerCommand", lambda: [sys.executable, "-c", code])
    from PRIMEPanel.widgets import ScoringWorker

    case = Case(demo_files, tmp_path / "1")
    states = []

    def onFinished(outputDir, error):
        # Inside finished(): the QProcess must still exist (PythonQt would have deleted it here).
        states.append(worker._retired[-1].state())
        case.onFinished(outputDir, error)

    worker = ScoringWorker(lambda *progress: None, onFinished)
    worker.score(case.arguments, case.folder)
    assert _run_until(qt, lambda: case.ends, 30)
    assert case.ends == [("MemoryError: out of memory", None)] and states == [qt.QProcess.NotRunning]
    assert not worker.running and not case.folder.exists() and worker.starts == 1
