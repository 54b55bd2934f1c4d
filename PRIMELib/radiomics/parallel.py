"""Run the phases' jobs here, one after the other, or side by side with worker processes; progress, cancel.

``workers=2`` means two processes at work: this one and one worker process, a fresh Python
(``sys.executable -c …``) started as soon as the :class:`PhaseRunner` is made, so its start-up
(importing SimpleITK and PyRadiomics, about a second) overlaps with loading and checking the images.
Workers are not ``multiprocessing`` children: those re-run the caller's main script (a script without
an ``if __name__ == "__main__"`` guard would start extracting again), and ``fork`` can deadlock a
process whose ITK thread pool runs. A job travels pickled over the worker's stdin (a small native
crop, not the whole CT); progress, results and errors come back pickled on its stdout, which the
worker keeps for that alone. Cancelling (the progress callback answering ``False``) or any error
kills the workers at once.

With more processes than phases, a phase whose tumour is large (:data:`SPLIT_MIN_ROI_VOXELS`) is split
into parts, runs of its filtered images (``compute.split_job``), so that one big tumour keeps every
process busy; the parts' values are merged back in part order: PyRadiomics' order. Processes beyond
one per phase start only when such a split happens. :func:`choose_workers` picks the process count
from the cores free now (:func:`busy_cores`) and the memory available; a split takes no more parts than
half the available memory holds at the phase's own measured peak (:func:`job_memory_bytes`). A large
tumour's shape, when the mesh diameters are asked for, gets a process of its own, one beyond the count
if need be (see :meth:`PhaseRunner._split`).
"""

from __future__ import annotations

import collections
import math
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
import traceback

from PRIMELib.errors import PRIMEError, PRIMEInputError
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.radiomics.compute import (
    PhaseJob,
    ShapeJob,
    compute_job,
    compute_phase,
    compute_shape,
    split_job,
)
from PRIMELib.radiomics.mesh import needs_diameters

#: A phase is split across processes only when its ROI has at least this many voxels on the feature
#: grid (about a 6 cm sphere at 1 mm): below it, a second process's start-up and its repeat of the
#: resampling and filtering cost about what the split saves.
SPLIT_MIN_ROI_VOXELS = 100_000
#: At most this many parts per phase: each part repeats the resampling (and the wavelet transform).
MAX_PARTS_PER_PHASE = 4
#: Memory one worker process may need before its tumour is known: a 12 cm tumour's phase peaks at
#: about 400 MB RSS (see :func:`job_memory_bytes`).
WORKER_MEMORY_BYTES = 600 * 2**20
#: A process's memory before its job: Python, numpy, SimpleITK and PyRadiomics imported (160 MB RSS).
PROCESS_BASE_BYTES = 200 * 2**20
#: A phase's peak beyond that, per voxel of its feature grid: the wavelet's bands of the ROI's region,
#: all eight at once in PyRadiomics' ``_swt3``, are the peak. Measured with ``prime_paper``: 80 bytes
#: per voxel for a 3 cm tumour (0.33 M grid voxels), 64 for a 12 cm one (3.8 M, its wavelet in slabs).
PEAK_BYTES_PER_GRID_VOXEL = 100

_POLL_SECONDS = 0.2
# The worker's first read is the parent's sys.path, so it imports PRIMELib from where the parent does.
_BOOTSTRAP = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from PRIMELib.radiomics.parallel import serve; serve()"
)


def serve() -> None:
    """Worker process main loop: read pickled jobs from stdin until ``None``; answer on stdout."""
    from PRIMELib import lifeline

    lifeline.arm()  # die with the parent, however it dies (SIGKILL included): no orphan keeps computing
    import radiomics.featureextractor  # noqa: F401  (import now, while the parent still loads images)

    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the channel

    def send(message: tuple) -> None:
        pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
        channel.flush()

    while (job := pickle.load(sys.stdin.buffer)) is not None:
        try:
            values = compute_job(job, lambda f, text, key=job.key: send(("progress", key, f, text)))
            send(("done", job.key, values))
        except Exception as error:
            fields = None
            if isinstance(error, PRIMEInputError):
                fields = {k: getattr(error, k) for k in ("field", "value", "expected", "hint")}
                text = error.message
            else:
                text = f"{type(error).__name__}: {error}"
            send(("error", job.key, text, fields, traceback.format_exc()))


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), whatever the machine has."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


#: How long :func:`busy_cores` watches the processor counters.
BUSY_SAMPLE_SECONDS = 0.15


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all processors since boot (Linux ``/proc/stat``), None elsewhere."""
    try:
        with open("/proc/stat") as stream:
            fields = [int(v) for v in stream.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def busy_cores() -> float:
    """Processors busy right now: measured over :data:`BUSY_SAMPLE_SECONDS` where the system counts
    processor time (Linux), else the 1-minute load average. The load average lags by about a minute:
    right after an extraction it still counts that extraction's processes, so a second extraction
    started then would get one process on an idle machine."""
    first = _cpu_times()
    if first is not None:
        time.sleep(BUSY_SAMPLE_SECONDS)
        second = _cpu_times()
        if second is not None and second[1] > first[1]:
            return (second[0] - first[0]) / (second[1] - first[1]) * (os.cpu_count() or 1)
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def free_cores() -> int:
    """Usable cores not busy now: the usable cores less :func:`busy_cores` (at least 1)."""
    cores = usable_cores()
    return max(1, min(cores, math.floor(cores - busy_cores() + 0.5)))


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux ``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # other POSIX systems: free pages (less than what could be freed, so on the safe side)
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def choose_workers(requested: int | None, *, phases: int) -> int:
    """How many processes to extract ``phases`` phases with (this one included).

    ``requested``: at most that many (``None``: as many as help). Never more than there are jobs
    (``phases`` × :data:`MAX_PARTS_PER_PHASE`), than free cores (``None`` only: an explicit request may
    oversubscribe), or than half the available memory holds (:data:`WORKER_MEMORY_BYTES` each).
    """
    limit = max(phases, 1) * MAX_PARTS_PER_PHASE
    if requested is None:
        limit = min(limit, free_cores())
    else:
        limit = min(limit, max(int(requested), 1))
    memory = available_memory()
    if memory is not None:
        limit = min(limit, max(1, memory // 2 // WORKER_MEMORY_BYTES))
    return max(1, limit)


def job_memory_bytes(job: PhaseJob) -> int:
    """Peak memory of a process computing ``job`` (or a part of it): an estimate on the high side."""
    return PROCESS_BASE_BYTES + PEAK_BYTES_PER_GRID_VOXEL * math.prod(job.crop.grid.size)


class _Worker:
    """One worker process and a thread that turns its answers into messages on a shared queue."""

    def __init__(self, messages: queue.Queue) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._send(list(sys.path))
        self._reader = threading.Thread(target=self._read, args=(messages,), daemon=True)
        self._reader.start()

    def _send(self, item: object) -> None:
        pickle.dump(item, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.flush()

    def submit(self, job: PhaseJob) -> None:
        self._send(job)

    def _read(self, messages: queue.Queue) -> None:
        try:
            while True:
                messages.put(pickle.load(self.process.stdout))
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            messages.put(("exit", None))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._reader.join(5)


class PhaseRunner:
    """Computes :class:`PhaseJob` s with ``workers`` processes at work: this one and ``workers − 1`` others.

    ``phases``: how many phases will be submitted. One worker process per phase beyond the first starts
    at once (its imports overlap loading the next image); more start only when a large tumour's phase
    is split (see the module). Jobs wait in a queue: an idle worker process takes the next one at once
    (while this process prepares the next phase), and this process takes the rest in
    :meth:`compute_shape` and :meth:`results`; shape, queued last, goes to the first process free.
    This process being one of the workers saves a process's start-up and memory (the whole CT is gone
    from here by then). ``progress`` gets ``start + span × (mean fraction of the
    phases)``. Use as a context manager: leaving it (normally, on an error or on cancel) stops the
    worker processes.
    """

    def __init__(
        self,
        workers: int = 1,
        *,
        phases: int = 1,
        progress: ProgressCallback | None = None,
        start: float = 0.0,
        span: float = 1.0,
    ) -> None:
        self._progress, self._start, self._span = progress, start, span
        self._processes = max(int(workers), 1)
        self._phases = max(int(phases), 1)
        self._pending: collections.deque[PhaseJob | ShapeJob] = collections.deque()
        self._busy: dict[int, tuple[str, int]] = {}  # worker index → the job it computes
        self._reserved = 0  # 1: a large tumour's shape gets a process of its own (see _split)
        self._fractions: dict[tuple[str, int], float] = {}
        self._parts: dict[str, int] = {}
        self._results: dict[tuple[str, int], dict[str, float]] = {}
        self._messages: queue.Queue = queue.Queue()
        self._workers = [_Worker(self._messages) for _ in range(min(self._processes, self._phases) - 1)]

    def __enter__(self) -> PhaseRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def parallel(self) -> bool:
        return bool(self._workers)

    @property
    def processes(self) -> int:
        """Processes that have worked so far: this one and the worker processes started."""
        return 1 + len(self._workers)

    @property
    def fraction(self) -> float:
        """Overall progress: ``start + span ×`` the mean fraction of the submitted phases."""
        if not self._parts:
            return self._start
        by_phase = [
            sum(self._fractions.get((phase, part), 0.0) for part in range(parts)) / parts
            for phase, parts in self._parts.items()
        ]
        return self._start + self._span * sum(by_phase) / len(by_phase)

    @property
    def _phase_processes(self) -> int:
        """Processes for the phases' jobs: all of them, less the shape's when it takes one of them."""
        return self._processes - (self._reserved if self._processes > self._phases else 0)

    def _split(self, job: PhaseJob) -> list[PhaseJob]:
        """``job`` in as many parts as the processes not yet given a phase can take (large tumours only).

        A large tumour's shape, when the features asked for need the mesh diameters (seconds of
        PyRadiomics' C code, which compares every mesh vertex with every other), gets a process of its
        own: one of the processes when there are more than phases, else one more, beyond ``workers``,
        when half the available memory holds it. Queued behind the phases it would run alone at the
        end while the other processes idle: with 2 processes on 2 cores, a 12 cm tumour took 21.8 s;
        with a third for the shape, sharing the cores while it runs, 18.2 s (README).
        """
        index = len(self._parts)
        if job.mask_voxels() < SPLIT_MIN_ROI_VOXELS:
            return [job]
        memory = available_memory()
        if (
            self._processes > 1
            and job.plan.needs_shape
            and not job.compute_shape
            and needs_diameters(job.plan.shape_classes)
            and (
                self._processes > self._phases
                or memory is None
                or memory // 2 >= (self._processes + 1) * job_memory_bytes(job)
            )
        ):
            self._reserved = 1
        available = self._phase_processes
        share = available // self._phases + (1 if index < available % self._phases else 0)
        if memory is not None:  # each part's process holds its own filtered images: half the memory
            share = min(share, memory // 2 // job_memory_bytes(job))
        return split_job(job, min(share, MAX_PARTS_PER_PHASE)) if share > 1 else [job]

    def submit(self, job: PhaseJob) -> None:
        """Hand ``job`` (or its parts) to worker processes (they start now), or keep it for ``results``."""
        parts = self._split(job)
        self._parts[job.phase] = len(parts)
        for part in parts:
            self._fractions[part.key] = 0.0
            self._pending.append(part)
        # Worker processes for the jobs known so far and one per phase still to come; this process is one.
        wanted = min(self._phase_processes, len(self._fractions) + self._phases - len(self._parts)) - 1
        while len(self._workers) < wanted:
            self._workers.append(_Worker(self._messages))
        self._dispatch()

    def _dispatch(self) -> None:
        """Give each idle worker process the next waiting job."""
        for index, worker in enumerate(self._workers):
            if not self._pending:
                return
            if index not in self._busy:
                job = self._pending.popleft()
                worker.submit(job)
                self._busy[index] = job.key

    def _report(self, message: str) -> None:
        report(self._progress, self.fraction, message)

    def poll(self) -> None:
        """Take in what the workers said so far (progress, results, errors) without waiting."""
        while self.parallel and self._receive(block=False):
            pass

    def _run_here(self, job: PhaseJob | ShapeJob) -> None:
        if isinstance(job, ShapeJob):
            self._report(f"{job.phase}: shape")
            self._results[job.key] = compute_job(job)
            self.poll()
            return

        def job_progress(fraction: float, message: str) -> None:
            self._fractions[job.key] = fraction
            self.poll()  # the worker processes' progress and errors, between this one's steps
            self._report(message)

        self._results[job.key] = compute_phase(job, job_progress)
        self._fractions[job.key] = 1.0

    def compute_shape(self, mask, shape_classes: dict, settings: dict, *, phase: str) -> dict[str, float]:
        """Shape features of ``mask`` (``compute.compute_shape``), while this process computes waiting jobs.

        In a process of its own when a large tumour's phase reserved one; else, with worker processes,
        queued behind the phases: the first process free takes it (a large tumour's shape takes seconds,
        and this process would otherwise compute it while a worker process idles at the end); else here.
        """
        job = ShapeJob(phase, mask, dict(shape_classes), dict(settings))
        if self._reserved and len(self._workers) < self._phase_processes:
            self._workers.append(_Worker(self._messages))
            self._workers[-1].submit(job)
            self._busy[len(self._workers) - 1] = job.key
        elif self._workers:
            self._pending.append(job)
            self._dispatch()
        else:
            return compute_shape(mask, shape_classes, settings)
        while job.key not in self._results:
            if self._pending:
                self._run_here(self._pending.popleft())
            elif not self._receive(block=True):
                self._report(f"{phase}: shape")
        return self._results.pop(job.key)

    def results(self) -> dict[str, dict[str, float]]:
        """Every submitted job's features by phase (its parts merged in order), once all are done."""
        while self._pending:
            self._run_here(self._pending.popleft())
        while len(self._results) < len(self._fractions):
            if not self._receive(block=True):
                self._report("Extracting radiomics")
        merged: dict[str, dict[str, float]] = {}
        for phase, parts in self._parts.items():
            merged[phase] = {}
            for part in range(parts):
                merged[phase].update(self._results[(phase, part)])
        return merged

    def _receive(self, *, block: bool) -> bool:
        try:
            kind, key, *payload = self._messages.get(block=block, timeout=_POLL_SECONDS if block else None)
        except queue.Empty:
            return False
        if kind == "progress":
            self._fractions[key] = payload[0]
            self._report(payload[1])
        elif kind == "done":
            self._results[key] = payload[0]
            if key in self._fractions:
                self._fractions[key] = 1.0
            self._busy = {index: busy for index, busy in self._busy.items() if busy != key}
            self._dispatch()
        elif kind == "exit":
            if self._busy or len(self._results) < len(self._fractions):
                codes = [w.process.poll() for w in self._workers]
                raise PRIMEError(
                    f"A radiomics worker process stopped (exit codes {codes}) before its job was done; "
                    "it may have run out of memory. Try workers=1."
                )
        else:
            text, fields, trace = payload
            if fields is not None:
                raise PRIMEInputError(text, **fields)
            raise PRIMEError(f"The {key[0]} extraction failed: {text}\n{trace}")
        return True

    def close(self) -> None:
        """Stop the workers (at once: a cancelled or failed extraction leaves nothing running)."""
        for worker in self._workers:
            worker.stop()
        self._workers = []
