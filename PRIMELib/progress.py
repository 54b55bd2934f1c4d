"""Progress reporting and cancellation for long work.

Long functions take ``progress``: a callable ``progress(fraction, message)`` with ``fraction`` in
[0, 1]. The callable returns ``False`` to ask the work to stop; the work then raises
:class:`PRIMELib.errors.PRIMECancelled` at its next checkpoint. Any other return value goes on.
"""

from __future__ import annotations

from collections.abc import Callable

from PRIMELib.errors import PRIMECancelled

ProgressCallback = Callable[[float, str], object]


def report(progress: ProgressCallback | None, fraction: float, message: str) -> None:
    """Tell ``progress`` how far the work is; raise PRIMECancelled when it answers ``False``."""
    if progress is None:
        return
    if progress(min(max(float(fraction), 0.0), 1.0), message) is False:
        raise PRIMECancelled(f"Cancelled by the user during: {message}")


def scaled(progress: ProgressCallback | None, start: float, stop: float) -> ProgressCallback | None:
    """A callback for a sub-task that maps its own 0..1 onto ``start..stop`` of ``progress``."""
    if progress is None:
        return None

    def sub(fraction: float, message: str) -> object:
        return progress(start + (stop - start) * fraction, message)

    return sub
