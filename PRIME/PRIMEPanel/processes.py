"""The scoring process's executable and its process tree, without Qt.

In Slicer, ``PythonSlicer`` is a launcher: it sets up Slicer's environment and runs the real Python
(``python-real``) as its child, which does the work. Killing the launcher alone leaves the child
running, so cancelling kills the whole tree. Stock Slicer has no psutil, so the tree is read from
``/proc`` (Linux) or ``ps`` (macOS) and killed with signals, or with ``taskkill /T`` on Windows:
hand-written because no package Slicer ships does it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys


def pythonSlicerExecutable() -> str:
    """The Python that runs PRIMELib in a subprocess: Slicer's ``PythonSlicer`` launcher, found on PATH
    as Slicer itself finds it (``slicer.util._executePythonModule``, Slicer 5.10), else this Python
    (outside Slicer)."""
    return shutil.which("PythonSlicer") or sys.executable


def _parentPids() -> dict[int, int]:
    """{pid: parent pid} of every process this user can see."""
    parents = {}
    if os.path.isdir("/proc"):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stat:
                    # "pid (command) state ppid ...": the command may hold spaces and parentheses.
                    fields = stat.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while being read
        return parents
    listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
            parents[int(fields[0])] = int(fields[1])
    return parents


def descendantPids(pid: int) -> list[int]:
    """The processes started by ``pid``, their children and so on (POSIX), parents before children."""
    parents = _parentPids()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            if child not in found and child != pid:
                found.append(child)
                queue.append(child)
    return found


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def killProcessTree(pid: int) -> None:
    """Kill ``pid`` and every process under it.

    POSIX: the tree is stopped (SIGSTOP) level by level while it is read, so nothing in it can start
    another process unseen, then killed (SIGKILL) — all of it: once the root is dead its children are
    re-parented and could no longer be found."""
    if not pid or pid <= 0:
        return
    if os.name == "nt":
        subprocess.run(["taskkill", "/PID", str(pid), "/T", "/F"], capture_output=True, check=False)
        return
    stopped: list[int] = []
    for _round in range(5):
        fresh = [p for p in (pid, *descendantPids(pid)) if p not in stopped]
        if not fresh:
            break
        for p in fresh:
            _signal(p, signal.SIGSTOP)
        stopped.extend(fresh)
    for p in reversed(stopped):
        _signal(p, signal.SIGKILL)
