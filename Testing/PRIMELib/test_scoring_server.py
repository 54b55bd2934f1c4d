"""The scoring worker (``python -m PRIMELib.scoring_server``) in real processes: one bundle load serves
several cases with the results of a cold run, a changed bundle is loaded afresh, bad requests get a
named error and the worker goes on, and it ends when its standard input closes or its parent dies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from PRIMELib.bundle import DEFAULT_BUNDLE, MANIFEST, bundle_sha256
from PRIMELib.demo import write_demo_case

REPO = Path(__file__).resolve().parents[2]
WORKER = [sys.executable, "-m", "PRIMELib.scoring_server"]


class Worker:
    """A worker process and its two pipes."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            WORKER,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.ready = self.read()
        assert self.ready == {"event": "ready", "pid": self.process.pid}

    def read(self) -> dict:
        line = self.process.stdout.readline()
        assert line, "the worker ended"
        return json.loads(line)

    def ask(self, request: dict | str) -> tuple[dict, list[dict]]:
        """Send one request; its final reply and the progress lines before it (after "accepted")."""
        self.process.stdin.write((request if isinstance(request, str) else json.dumps(request)) + "\n")
        self.process.stdin.flush()
        accepted = self.read()
        if accepted["event"] == "accepted":
            assert isinstance(request, str) or accepted["id"] == request.get("id")
        else:  # a line that is no request is answered at once
            return accepted, []
        progress = []
        while (reply := self.read())["event"] == "progress":
            progress.append(reply)
        return reply, progress

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


@pytest.fixture
def worker():
    started = Worker()
    yield started
    started.close()


@pytest.fixture(scope="module")
def demo_case(tmp_path_factory):
    return write_demo_case(tmp_path_factory.mktemp("demo"))


def _score_request(case, output: Path, request_id: int, **extra) -> dict:
    return {
        "id": request_id,
        "command": "score",
        "arterial": str(case.arterial_image),
        "venous": str(case.venous_image),
        "mask": str(case.tumour_mask),
        "clinical": str(case.clinical_record),
        "output": str(output),
        **extra,
    }


def test_two_cases_are_scored_with_one_bundle_load_as_a_cold_run_scores_them(worker, demo_case, tmp_path):
    from PRIMELib.bundle import load_bundle
    from PRIMELib.pipeline import load_clinical_record, score_case

    first, progress = worker.ask(_score_request(demo_case, tmp_path / "one", 1))
    assert first["event"] == "result" and first["id"] == 1, first
    assert first["model_loads"] == 1 and first["model_sha256"] == bundle_sha256(DEFAULT_BUNDLE)
    fractions = [p["fraction"] for p in progress]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    # A second case (another clinical record) in the same worker: no second load.
    record = load_clinical_record(demo_case.clinical_record) | {"case_id": "SECOND", "ecog": 1}
    second, _ = worker.ask(_score_request(demo_case, tmp_path / "two", 2, clinical=record))
    assert second["event"] == "result" and second["model_loads"] == 1, second
    assert second["result"]["case_id"] == "SECOND"
    # Each equals a cold, in-process run with a freshly loaded bundle (an independent load).
    model = load_bundle(DEFAULT_BUNDLE)
    arguments = (demo_case.arterial_image, demo_case.venous_image, demo_case.tumour_mask)
    for reply, clinical in ((first, demo_case.clinical_record), (second, record)):
        cold = score_case(*arguments, clinical=clinical, model=model).score.to_dict()
        stored = json.loads(Path(reply["paths"]["result"]).read_text(encoding="utf-8"))
        assert stored == reply["result"]
        assert stored["response_probability"] == pytest.approx(cold["response_probability"], rel=1e-12)
        assert stored["risk_score"] == pytest.approx(cold["risk_score"], rel=1e-12, abs=1e-12)
        assert stored["survival"] == pytest.approx(cold["survival"], rel=1e-12)
        assert stored["quadrant"] == cold["quadrant"] and stored["inputs"] == pytest.approx(cold["inputs"])
    assert first["result"]["inputs"]["ecog"] == 0 and second["result"]["inputs"]["ecog"] == 1
    assert {"result.json", "features.csv", "diagnostics.json"} <= {
        p.name for p in (tmp_path / "two").iterdir()
    }


def _renamed_copy(source: Path, target: Path, name: str) -> Path:
    """The bundle with another name in its manifest (a valid bundle, with another SHA-256)."""
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    manifest = json.loads(members[MANIFEST])
    manifest["name"] = name
    members[MANIFEST] = json.dumps(manifest).encode()
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    os.replace(partial, target)
    return target


def test_a_changed_bundle_is_loaded_afresh_and_a_wrong_digest_refused(worker, tmp_path):
    model = tmp_path / "model.prime"
    shutil.copyfile(DEFAULT_BUNDLE, model)
    first, _ = worker.ask({"id": "a", "command": "load", "model": str(model)})
    again, _ = worker.ask({"id": "b", "command": "load", "model": str(model)})
    assert (first["model_loads"], again["model_loads"]) == (1, 1)
    assert first["model_sha256"] == again["model_sha256"] == bundle_sha256(DEFAULT_BUNDLE)
    _renamed_copy(DEFAULT_BUNDLE, model, "PRIME renamed")
    changed, _ = worker.ask({"id": "c", "command": "load", "model": str(model)})
    assert changed["event"] == "result" and changed["model_loads"] == 2
    assert changed["model_name"] == "PRIME renamed" and changed["model_sha256"] == bundle_sha256(model)
    refused, _ = worker.ask(
        {"id": "d", "command": "load", "model": str(model), "model_sha256": first["model_sha256"]}
    )
    assert refused["event"] == "error" and refused["error"] == "BundleError" and refused["id"] == "d"
    assert "not the expected" in refused["message"]


def test_bad_requests_get_a_named_error_and_the_worker_goes_on(worker, tmp_path):
    reply, _ = worker.ask("{not json")
    assert (
        reply["event"] == "error"
        and reply["error"] == "PRIMEInputError"
        and "not valid JSON" in reply["message"]
    )
    reply, _ = worker.ask({"id": 7, "command": "fly"})
    assert (reply["id"], reply["error"], reply["field"]) == (7, "PRIMEInputError", "request")
    assert "Unknown command 'fly'" in reply["message"]
    missing = tmp_path / "absent.nrrd"
    request = {"id": 8, "command": "score", "arterial": str(missing), "venous": str(missing)}
    request |= {"mask": str(missing), "clinical": {"age": 60}, "output": str(tmp_path / "out")}
    reply, _ = worker.ask(request)
    assert reply["event"] == "error" and reply["id"] == 8 and reply["error"] == "PRIMEInputError"
    assert str(missing) in reply["message"] and not (tmp_path / "out").exists()
    reply, _ = worker.ask({"id": 9, "command": "score", "arterial": 5, "clinical": {}, "output": "out"})
    assert reply["error"] == "PRIMEInputError" and "'arterial' is 5" in reply["message"]
    assert worker.process.poll() is None
    worker.process.stdin.write(json.dumps({"command": "shutdown"}) + "\n")
    worker.process.stdin.flush()
    assert worker.process.wait(timeout=30) == 0


def test_the_worker_ends_when_its_standard_input_closes(worker):
    worker.process.stdin.close()
    assert worker.process.wait(timeout=30) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to check")
def test_the_worker_ends_when_its_parent_is_killed():
    """The parent (as Slicer) holds the worker's standard input; killed, its end of the pipe closes."""
    parent_code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        worker = subprocess.Popen({WORKER!r}, cwd={str(REPO)!r}, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        worker.stdout.readline()  # ready
        print(worker.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the worker outlived its parent"
    finally:
        parent.stdout.close()
        if parent.poll() is None:
            parent.kill()
