"""The project's own exception types.

Every error raised on bad input is a :class:`PRIMEInputError`: it names the field or file, the value,
what was expected and what to do, so the Slicer panel and the CLI can show it as is.
"""

from __future__ import annotations


class PRIMEError(Exception):
    """Base class of every error PRIMELib raises on purpose."""


class PRIMEInputError(PRIMEError, ValueError):
    """Bad user input: a file, a field or a value that cannot be used.

    ``message`` says what is wrong, ``field`` names the offending field or file, ``value`` is what was
    given, ``expected`` says what was expected and ``hint`` what to do. ``str(error)`` joins them into
    one readable sentence.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.value = value
        self.expected = expected
        self.hint = hint
        parts = [message]
        if expected:
            parts.append(f"Expected {expected}.")
        if hint:
            parts.append(hint)
        super().__init__(" ".join(parts))


class PRIMECancelled(PRIMEError):  # noqa: N818 (a signal, not an error: "cancelled" reads right)
    """Raised inside long work when the caller's progress callback asked to stop."""
