"""The project's own exception types.

Every error raised on bad input is a :class:`PRIMEInputError`: it names the field or file, the value,
what was expected and what to do, so the Slicer panel and the CLI can show it as is.

Every error's text is bounded at the source, whatever the input it quotes: a 200 kB field name or a
list of 10 000 mask values becomes a message of a few kB that says how much was left out, so no
caller (the console, the panel, a batch log) ever has to print or store more.
"""

from __future__ import annotations

import reprlib
from collections.abc import Collection

#: Longest message an error carries (its whole ``str``); the middle of a longer one is left out.
MAX_MESSAGE_CHARS = 4000
#: Longest ``expected`` or ``hint`` text, and longest value text kept on the error.
MAX_PART_CHARS = 1000
#: Longest ``field`` name kept on the error.
MAX_FIELD_CHARS = 200
#: Containers (lists, arrays, mappings) with more items than this are kept as a short repr.
MAX_VALUE_ITEMS = 50

# The standard library's bounded repr: a few items of each container, long strings cut in the middle.
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 200
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 10


def bounded(text: object, limit: int = MAX_PART_CHARS) -> str:
    """``text`` as a string of about ``limit`` characters at most: the middle of a longer one is
    replaced by a note of how many characters were left out, so both its start and its end
    (which often says what was wrong) stay readable."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = limit * 3 // 4
    tail = limit - head
    return f"{text[:head]}… ({len(text) - limit} characters left out) …{text[len(text) - tail :]}"


def bounded_value(value: object) -> object:
    """``value`` itself when small; long text, or a container of many items, as a bounded repr."""
    if isinstance(value, str):
        return value if len(value) <= MAX_PART_CHARS else bounded(value)
    if isinstance(value, bytes | bytearray):
        return value if len(value) <= MAX_PART_CHARS else bounded(repr(value))
    try:
        size = len(value) if isinstance(value, Collection) else 0
    except TypeError:  # a 0-d array: a Collection by its methods, without a length
        size = 0
    if size > MAX_VALUE_ITEMS:
        try:
            shortened = _REPR.repr(value)
        except Exception:  # a user's value must never break the error about it
            shortened = f"<{type(value).__name__}>"
        return bounded(f"{shortened} ({size} items)")
    return value


class PRIMEError(Exception):
    """Base class of every error PRIMELib raises on purpose; its text is bounded (see the module)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(bounded(a, MAX_MESSAGE_CHARS) if isinstance(a, str) else a for a in args))

    def __reduce__(self):
        """Pickle as the error's class, arguments and attributes, never by calling ``__init__`` again.

        Batch workers send errors across processes. The default (``cls(*self.args)``) calls a
        subclass's ``__init__`` with the finished message: ``ClinicalDataError(problems)`` would get
        its message as ``problems``, a tuple of characters, and keyword-only ones would fail."""
        return (_restore_error, (type(self), self.args, dict(self.__dict__)))


def _restore_error(cls: type[PRIMEError], args: tuple, state: dict) -> PRIMEError:
    """The error :meth:`PRIMEError.__reduce__` pickled: the same class, ``args`` and attributes."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class PRIMEInputError(PRIMEError, ValueError):
    """Bad user input: a file, a field or a value that cannot be used.

    ``message`` says what is wrong, ``field`` names the offending field or file, ``value`` is what was
    given, ``expected`` says what was expected and ``hint`` what to do. ``str(error)`` joins them into
    one readable sentence. Each part is bounded in length (see the module docstring).
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
        self.message = bounded(message, MAX_MESSAGE_CHARS)
        self.field = None if field is None else bounded(field, MAX_FIELD_CHARS)
        self.value = bounded_value(value)
        self.expected = None if expected is None else bounded(expected)
        self.hint = None if hint is None else bounded(hint)
        parts = [self.message]
        if self.expected:
            parts.append(f"Expected {self.expected}.")
        if self.hint:
            parts.append(self.hint)
        super().__init__(" ".join(parts))


class PRIMEOutputError(PRIMEError, OSError):
    """An output file or folder that cannot be written (a file where a folder is needed, no permission,
    a full disk); the message names the path, the reason and what to do. It is also an ``OSError``, so
    code that handles a failed write still does."""


class PRIMECancelled(PRIMEError):  # noqa: N818 (a signal, not an error: "cancelled" reads right)
    """Raised inside long work when the caller's progress callback asked to stop."""
