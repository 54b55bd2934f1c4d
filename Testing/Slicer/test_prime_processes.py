"""Cancel stops all the work: the scoring command runs under Slicer's ``PythonSlicer``, a launcher whose
child process does the work, so the whole process tree is killed. Real processes, no stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX process tree (Windows uses taskkill /T)")

# A launcher like PythonSlicer: starts the real work as a child (which starts a grandchild) and waits.
LAUNCHER = textwrap.dedent(
    """
    import subprocess, sys, time
    worker = [sys.executable, "-c",
              "import subprocess, sys, time; "
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"]
    child = subprocess.Popen(worker)
    print(child.pid, flush=True)
    child.wait()
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished
    except FileNotFoundError:
        return False


@pytest.fixture
def processes():
    from PRIMEPanel import processes

    return processes


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to check")
def test_killing_the_tree_stops_the_launcher_its_child_and_grandchild(prime_module, processes):
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE, text=True)
    try:
        child = int(launcher.stdout.readline())
        assert _wait_for(lambda: len(processes.descendantPids(launcher.pid)) == 2)
        tree = processes.descendantPids(launcher.pid)
        assert tree[0] == child  # parents before children
        grandchild = tree[1]

        processes.killProcessTree(launcher.pid)
        launcher.wait(timeout=10)
        assert _wait_for(lambda: not _alive(child) and not _alive(grandchild)), "a child survived"
    finally:
        for pid in [launcher.pid, *processes.descendantPids(launcher.pid)]:
            processes._signal(pid, 9)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to check")
def test_killing_only_the_launcher_would_leave_the_worker_running(prime_module, processes):
    """What Cancel did before: QProcess.kill() stops the launcher, and the worker goes on."""
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE, text=True)
    child = int(launcher.stdout.readline())
    try:
        launcher.kill()
        launcher.wait(timeout=10)
        time.sleep(0.2)
        assert _alive(child)
    finally:
        processes.killProcessTree(child)
    assert _wait_for(lambda: not _alive(child))


def test_the_scoring_command_runs_under_pythonslicer_when_slicer_has_one(
    prime_module, processes, tmp_path, monkeypatch
):
    import PRIMEPanel.scoring as scoring

    launcher = tmp_path / "PythonSlicer"
    launcher.write_text('#!/bin/sh\nexec python3 "$@"\n')
    launcher.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    command = scoring.scoreCommand("a.nrrd", "v.nrrd", "m.nrrd", "c.json", tmp_path)
    assert command[:4] == [str(launcher), "-m", "PRIMELib", "score"]
    monkeypatch.setenv("PATH", "/nonexistent")
    assert scoring.scoreCommand("a", "v", "m", "c", tmp_path)[0] == sys.executable  # outside Slicer
