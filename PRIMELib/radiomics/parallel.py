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
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback

from PRIMELib.errors import PRIMEError, PRIMEInputError
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.radiomics.compute import PhaseJob, compute_phase

_POLL_SECONDS = 0.2
# The worker's first read is the parent's sys.path, so it imports PRIMELib from where the parent does.
_BOOTSTRAP = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from PRIMELib.radiomics.parallel import serve; serve()"
)


def serve() -> None:
    """Worker process main loop: read pickled jobs from stdin until ``None``; answer on stdout."""
    import radiomics.featureextractor  # noqa: F401  (import now, while the parent still loads images)

    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the channel

    def send(message: tuple) -> None:
        pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
        channel.flush()

    while (job := pickle.load(sys.stdin.buffer)) is not None:
        try:
            values = compute_phase(job, lambda f, text, phase=job.phase: send(("progress", phase, f, text)))
            send(("done", job.phase, values))
        except Exception as error:
            fields = None
            if isinstance(error, PRIMEInputError):
                fields = {k: getattr(error, k) for k in ("field", "value", "expected", "hint")}
                text = error.message
            else:
                text = f"{type(error).__name__}: {error}"
            send(("error", job.phase, text, fields, traceback.format_exc()))


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

    The first jobs submitted go to the worker processes, which start them at once (while this process
    prepares the next phase); the rest run here in :meth:`results`. This process being one of the
    workers saves a process's start-up and memory (the whole CT is gone from here by then).
    ``progress`` gets ``start + span × (mean fraction of the submitted jobs)``. Use as a context
    manager: leaving it (normally, on an error or on cancel) stops the worker processes.
    """

    def __init__(
        self,
        workers: int = 1,
        *,
        progress: ProgressCallback | None = None,
        start: float = 0.0,
        span: float = 1.0,
    ) -> None:
        self._progress, self._start, self._span = progress, start, span
        self._jobs: list[PhaseJob] = []
        self._fractions: dict[str, float] = {}
        self._results: dict[str, dict[str, float]] = {}
        self._messages: queue.Queue = queue.Queue()
        self._workers = [_Worker(self._messages) for _ in range(max(workers - 1, 0))]
        self._remote: list[str] = []

    def __enter__(self) -> PhaseRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def parallel(self) -> bool:
        return bool(self._workers)

    @property
    def fraction(self) -> float:
        """Overall progress: ``start + span ×`` the mean fraction of the submitted jobs."""
        return self._start + self._span * sum(self._fractions.values()) / max(len(self._fractions), 1)

    def submit(self, job: PhaseJob) -> None:
        """Hand ``job`` to an idle worker process (it starts now), or keep it for :meth:`results`."""
        self._fractions[job.phase] = 0.0
        if len(self._remote) < len(self._workers):
            self._workers[len(self._remote)].submit(job)
            self._remote.append(job.phase)
        else:
            self._jobs.append(job)

    def _report(self, message: str) -> None:
        report(self._progress, self.fraction, message)

    def poll(self) -> None:
        """Take in what the workers said so far (progress, results, errors) without waiting."""
        while self.parallel and self._receive(block=False):
            pass

    def results(self) -> dict[str, dict[str, float]]:
        """Every submitted job's features by phase, once all are done."""
        for job in self._jobs:

            def job_progress(fraction: float, message: str, phase: str = job.phase) -> None:
                self._fractions[phase] = fraction
                self.poll()  # the worker processes' progress and errors, between this one's steps
                self._report(message)

            self._results[job.phase] = compute_phase(job, job_progress)
        self._jobs.clear()
        while len(self._results) < len(self._fractions):
            if not self._receive(block=True):
                self._report("Extracting radiomics")
        return dict(self._results)

    def _receive(self, *, block: bool) -> bool:
        try:
            kind, phase, *payload = self._messages.get(block=block, timeout=_POLL_SECONDS if block else None)
        except queue.Empty:
            return False
        if kind == "progress":
            self._fractions[phase] = payload[0]
            self._report(payload[1])
        elif kind == "done":
            self._results[phase] = payload[0]
            self._fractions[phase] = 1.0
        elif kind == "exit":
            if len(self._results) < len(self._fractions):
                codes = [w.process.poll() for w in self._workers]
                raise PRIMEError(
                    f"A radiomics worker process stopped (exit codes {codes}) before its job was done; "
                    "it may have run out of memory. Try workers=1."
                )
        else:
            text, fields, trace = payload
            if fields is not None:
                raise PRIMEInputError(text, **fields)
            raise PRIMEError(f"The {phase} extraction failed: {text}\n{trace}")
        return True

    def close(self) -> None:
        """Stop the workers (at once: a cancelled or failed extraction leaves nothing running)."""
        for worker in self._workers:
            worker.stop()
        self._workers = []
