"""Worker processes that die with their parent, whatever kills it (SIGKILL included).

A worker calls :func:`arm` first thing. From then on it ends (``os._exit``: no clean-up, nothing more
written) as soon as the process it works for is gone, in two independent ways:

* On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ctypes; the standard library has no
  wrapper): the kernel kills the worker the moment the process that started it dies. It is immediate
  and needs no Python code to run (a worker busy in C code that holds the GIL still dies), but it fires
  when the *thread* that started the worker ends, not the process. PRIMELib starts workers from the
  thread that also waits for them and stops them (the batch's process pool lives inside ``run_batch``,
  the radiomics workers inside a ``with PhaseRunner``), so that thread outlives them.
* Everywhere, a daemon thread that looks every ``poll_seconds``. On POSIX it checks whether
  ``os.getppid()`` is still the parent it was (an orphan is adopted at once by another process, so a
  reused pid cannot fool it). Where the process it works for is not its direct parent (a launcher such
  as Slicer's ``PythonSlicer`` starts the real Python as a child) or on Windows (where ``getppid``
  keeps the dead parent's pid), it also watches that process itself: a pidfd on Linux, the process
  handle on Windows, both opened at :func:`arm` so a later reuse of the pid cannot fool them, and
  ``kill(pid, 0)`` elsewhere. It is the portable path (macOS, Windows) and the back-up of the first.

A watch thread may be held up a moment (its next look, or C code holding the GIL); so a worker also
calls :func:`exit_if_orphaned` right before each file it writes. What it writes goes through a
temporary file and a rename, so a write that began just before the parent died leaves a whole file or
none, never half of one.

Hand-written on purpose: psutil could say whether a process lives, but it is not a dependency of
PRIMELib, would still need the watch thread, and has no parent-death signal.
"""

from __future__ import annotations

import os
import sys
import threading

#: The exit status of a worker that ended because the process it worked for was gone.
ORPHAN_EXIT_CODE = 75

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WINDOWS_SYNCHRONIZE = 0x00100000
_state: dict[str, object] = {}


def arm(parent_pid: int | None = None, *, poll_seconds: float = 0.5, kernel_signal: bool = True) -> None:
    """Make this process end as soon as ``parent_pid`` (default: its parent now) or its parent is gone.

    The parent should pass its ``os.getpid()`` when it can: a parent that died before the worker got
    here is then noticed at once, and a launcher in between is seen through. ``kernel_signal=False``
    leaves out the Linux parent-death signal and keeps only the watch thread (the tests use it to
    check the portable path). A second call in the same process changes nothing.
    """
    if _state:
        return
    if kernel_signal and sys.platform.startswith("linux"):
        _set_parent_death_signal()
    # Read after the signal is set: a parent that died before that is no longer the parent here, and
    # a ``parent_pid`` that is not the parent any more is watched through its pid below.
    parent = os.getppid()
    watched = parent if parent_pid is None else int(parent_pid)
    _state.update(parent=parent, watched=watched)
    if watched != parent or sys.platform == "win32":
        _state["handle"] = _open_process(watched)
    exit_if_orphaned()
    watch = threading.Thread(target=_watch, args=(poll_seconds,), name="prime-lifeline", daemon=True)
    watch.start()


def armed() -> bool:
    """Whether :func:`arm` was called in this process."""
    return bool(_state)


def orphaned() -> bool:
    """True when this process was armed and the process it works for (or its parent) is gone."""
    if not _state:
        return False
    if sys.platform != "win32" and os.getppid() != _state["parent"]:
        return True
    return "handle" in _state and _process_ended(_state["watched"], _state["handle"])


def exit_if_orphaned() -> None:
    """End this process at once (no clean-up, nothing written) if the process it works for is gone."""
    if orphaned():
        os._exit(ORPHAN_EXIT_CODE)


def _watch(poll_seconds: float) -> None:
    pause = threading.Event()  # never set: a sleep that interpreter shutdown leaves alone
    while not pause.wait(poll_seconds):
        exit_if_orphaned()


def _set_parent_death_signal() -> None:
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no usable libc (an unusual Linux build): the watch thread alone does the job


def _open_process(pid: int) -> object:
    """Something that tells, race-free where the system allows, when process ``pid`` has ended:
    a Windows process handle, a Linux pidfd, else None (then ``kill(pid, 0)`` is asked each time).
    ``False`` means the process was already gone."""
    try:
        if sys.platform == "win32":
            import _winapi  # CPython's own Windows API module (subprocess and multiprocessing use it)

            return _winapi.OpenProcess(_WINDOWS_SYNCHRONIZE, False, pid)
        if hasattr(os, "pidfd_open"):
            return os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:
        if sys.platform == "win32":
            return False  # OpenProcess fails for a pid that no longer exists
        # a kernel without pidfds: ask kill(pid, 0) instead
    return None


def _process_ended(pid: int, handle: object) -> bool:
    if handle is False:
        return True
    if sys.platform == "win32":
        import _winapi

        return _winapi.WaitForSingleObject(handle, 0) == _winapi.WAIT_OBJECT_0
    if handle is not None:  # a pidfd turns readable when its process ends
        import select

        poller = select.poll()
        poller.register(handle, select.POLLIN)
        return bool(poller.poll(0))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, owned by someone else
    return False
