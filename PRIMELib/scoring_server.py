"""A long-lived scoring worker: ``python -m PRIMELib.scoring_server``.

Loading a model bundle costs seconds (importing scikit-learn and scikit-survival, rebuilding and
verifying the models); scoring a case with a loaded one costs milliseconds plus the radiomics. The
Slicer module keeps one worker running across Score clicks and cases, so each bundle is loaded once
per worker (:func:`PRIMELib.bundle.cached_bundle`: per file and SHA-256, reloaded when either changes).

Protocol: newline-delimited JSON, one object per line.

Requests, on standard input:

* ``{"id": 1, "command": "score", "arterial": PATH, "venous": PATH, "mask": PATH, "clinical": PATH or
  {record}, "output": FOLDER, "venous_mask": PATH or null, "model": PATH or null, "model_sha256": HEX or
  null, "report": false}`` — score one case and write ``result.json``, ``features.csv`` and
  ``diagnostics.json`` (as ``prime score`` does) into ``output``;
* ``{"id": 2, "command": "load", "model": PATH or null, "model_sha256": ...}`` — load a bundle ahead;
* ``{"command": "shutdown"}`` — exit (so does closing standard input: the worker ends with its parent).

Replies, on standard output: ``{"event": "ready", "pid": ...}`` once at start, then per request
``{"event": "accepted", "id"}`` as soon as it is read, ``{"event": "progress", "id", "fraction",
"message"}`` lines, and one final
``{"event": "result", "id", "paths", "result", "model_sha256", "model_loads", "seconds"}`` or
``{"event": "error", "id", "error": ERROR CLASS, "message", "field"}``. An error ends that request only:
the worker keeps serving. ``model_loads`` counts the bundles this worker has loaded so far.

Nothing else is written to standard output (library output goes to standard error). Requests are
served one at a time; to cancel one, kill the worker's process tree and start a new worker.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from typing import IO

__all__ = ["main", "serve"]

#: The longest request line read (a request is a few hundred bytes; a clinical record inline a few kB).
MAX_REQUEST_BYTES = 1024 * 1024


class _Channel:
    """The replies: one JSON object per line, flushed at once; a vanished reader ends the worker."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, event: str, **fields: object) -> None:
        line = json.dumps({"event": event, **fields}, ensure_ascii=True, allow_nan=False, default=str)
        try:
            with self._lock:
                self._stream.write(line + "\n")
                self._stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            os._exit(0)  # the parent is gone (its end of the pipe closed): nobody wants the rest


def _error_reply(channel: _Channel, request_id: object, error: BaseException) -> None:
    from PRIMELib.errors import PRIMEError

    if isinstance(error, PRIMEError):
        field = getattr(error, "field", None)
        channel.send("error", id=request_id, error=type(error).__name__, message=str(error), field=field)
        return
    # Not a user error: a bug or an environment problem. The traceback goes to standard error (the
    # panel shows its last lines when the worker stops); the reply names the error.
    traceback.print_exception(error, file=sys.stderr)
    channel.send(
        "error", id=request_id, error=type(error).__name__, message=f"{type(error).__name__}: {error}"
    )


def _bad_request(message: str, expected: str):
    from PRIMELib.errors import PRIMEInputError

    return PRIMEInputError(message, field="request", expected=expected)


def _path(request: dict, key: str, *, required: bool = True) -> str | None:
    value = request.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _bad_request(
            f"The request's '{key}' is {value!r}.", expected=f"the path of the {key} file, as text"
        )
    return value


def _score(request: dict, request_id: object, channel: _Channel) -> dict:
    from PRIMELib.bundle import bundle_loads
    from PRIMELib.pipeline import score_case, write_case_outputs

    started = time.perf_counter()
    clinical = request.get("clinical")
    if not isinstance(clinical, dict):
        clinical = _path(request, "clinical")
    output = _path(request, "output")

    def progress(fraction: float, message: str) -> None:
        channel.send("progress", id=request_id, fraction=round(float(fraction), 4), message=str(message))

    result = score_case(
        _path(request, "arterial"),
        _path(request, "venous"),
        _path(request, "mask"),
        _path(request, "venous_mask", required=False),
        clinical=clinical,
        model=_path(request, "model", required=False),
        model_sha256=request.get("model_sha256"),
        progress=progress,
    )
    paths = write_case_outputs(result, output)
    if request.get("report"):
        from PRIMELib.reports import write_patient_report

        written = write_patient_report(result.score, os.path.join(output, "report"), record=result.clinical)
        paths.update({f"report {kind}": path for kind, path in written.items()})
    return {
        "paths": {name: str(path) for name, path in paths.items()},
        "result": result.score.to_dict(),
        "model_sha256": result.score.model_card.get("sha256"),
        "model_loads": bundle_loads(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _load(request: dict) -> dict:
    from PRIMELib.bundle import bundle_loads, cached_bundle

    started = time.perf_counter()
    bundle = cached_bundle(
        _path(request, "model", required=False), expected_sha256=request.get("model_sha256")
    )
    return {
        "model_sha256": bundle.sha256,
        "model_name": bundle.name,
        "model_loads": bundle_loads(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def serve(requests: IO[str], replies: IO[str]) -> int:
    """Serve requests from ``requests`` until it ends or asks to shut down; returns the exit code."""
    channel = _Channel(replies)
    channel.send("ready", pid=os.getpid())
    for line in iter(requests.readline, ""):
        if not line.strip():
            continue
        request_id = None
        try:
            if len(line) > MAX_REQUEST_BYTES:
                raise _bad_request(
                    f"A request of {len(line)} characters is too long.",
                    expected=f"at most {MAX_REQUEST_BYTES} characters",
                )
            try:
                request = json.loads(line)
            except json.JSONDecodeError as error:
                raise _bad_request(
                    f"A request is not valid JSON ({error.msg}).", expected="one JSON object per line"
                ) from None
            if not isinstance(request, dict):
                raise _bad_request(f"A request is a {type(request).__name__}.", expected="a JSON object")
            request_id = request.get("id")
            command = request.get("command")
            if command == "shutdown":
                return 0
            channel.send("accepted", id=request_id)
            if command == "score":
                reply = _score(request, request_id, channel)
            elif command == "load":
                reply = _load(request)
            else:
                raise _bad_request(f"Unknown command {command!r}.", expected="'score', 'load' or 'shutdown'")
            channel.send("result", id=request_id, **reply)
        except Exception as error:  # every failure ends its request only
            _error_reply(channel, request_id, error)
    return 0


def main() -> int:
    # The protocol owns standard output: anything a library prints goes to standard error instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="\n")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    requests = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    return serve(requests, replies)


if __name__ == "__main__":
    sys.exit(main())
