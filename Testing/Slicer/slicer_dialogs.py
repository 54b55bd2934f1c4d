"""Modal dialogs under pytest: none is auto-accepted; a test scripts each answer or fails.

In a user's Slicer (``slicer.app.testingEnabled()`` False, a main window present) Slicer 5.10's
``slicer.util`` (the real module, from slicer-core) shows its dialogs modally:
``errorDisplay``/``warningDisplay``/``infoDisplay``/``confirm*Display`` -> ``_messageDisplay`` ->
``messageBox`` -> ``ctk.ctkMessageBox(...).exec_()``. Module code may also call ``qt.QMessageBox``,
``qt.QFileDialog.get*`` or ``qt.QInputDialog.get*`` itself. Each of those modal points calls
:func:`showModal`, which answers from the running test's :class:`DialogScript` (the ``dialogs``
fixture) or raises :class:`UnexpectedDialog` with the dialog's text.

The ``qt`` adapter (``pythonqt_adapter``) turns every modal call (``exec``/``exec_`` of a dialog,
the static ``QMessageBox``/``QFileDialog``/``QInputDialog`` functions) into a request for an answer
and never blocks on an event loop; the ``dialogs`` fixture answers those requests with
:func:`answerModal`, from the test's script.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import typing

__all__ = [
    "Dialog",
    "DialogScript",
    "UnexpectedDialog",
    "activeScript",
    "answerModal",
    "showModal",
    "useScript",
]

#: The dialog kinds: a message box (answered with a button name such as "Ok", "Cancel", "Yes"),
#: a file dialog (answered with a path; "" is Cancel), an input dialog (answered with the value)
#: and any other modal dialog's ``exec`` (answered with its result code: 1 accepted, 0 rejected).
KINDS = ("message", "file", "input", "dialog")


class UnexpectedDialog(AssertionError):  # noqa: N818 - a failed expectation, like AssertionError
    """A modal dialog that the test did not script (or not in this order)."""


@dataclasses.dataclass
class Dialog:
    """One modal dialog as the user would see it, and the answer it got."""

    kind: str
    text: str
    title: str = ""
    detailedText: str = ""
    buttons: tuple[str, ...] = ()
    answer: object = None

    def describe(self) -> str:
        lines = [f"{self.kind} dialog {self.title!r}:", f"  {self.text}"]
        if self.detailedText:
            lines.append("  details: " + self.detailedText.strip().splitlines()[-1])
        if self.buttons:
            lines.append("  buttons: " + ", ".join(self.buttons))
        return "\n".join(lines)


@dataclasses.dataclass
class _Expected:
    match: str | re.Pattern
    answer: object
    kind: str | None

    def matches(self, dialog: Dialog) -> bool:
        if self.kind is not None and self.kind != dialog.kind:
            return False
        haystack = f"{dialog.title}\n{dialog.text}"
        if isinstance(self.match, re.Pattern):
            return bool(self.match.search(haystack))
        return self.match in haystack

    def __str__(self) -> str:
        return f"{self.kind or 'any'} dialog matching {self.match!r} -> {self.answer!r}"


class DialogScript:
    """The dialogs a test expects, in order, with their answers.

    ``expect(match, answer, kind=None)``: the next dialog must contain ``match`` (a substring, or a
    compiled regular expression searched) in its title or text; it gets ``answer``. ``shown`` lists
    every dialog raised so far; ``unexpected`` the ones that failed. ``verify()`` fails if an
    expected dialog never came or an unexpected one was swallowed by the code under test.
    """

    def __init__(self) -> None:
        self._expected: list[_Expected] = []
        self.shown: list[Dialog] = []
        self.unexpected: list[Dialog] = []

    def expect(self, match: str | re.Pattern, answer, kind: str | None = None) -> DialogScript:
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self._expected.append(_Expected(match, answer, kind))
        return self

    def answer(self, dialog: Dialog):
        if not self._expected or not self._expected[0].matches(dialog):
            self.unexpected.append(dialog)
            awaited = (
                f"the test expected: {self._expected[0]}" if self._expected else "the test expected none"
            )
            raise UnexpectedDialog(f"Unexpected modal dialog ({awaited}):\n{dialog.describe()}")
        dialog.answer = self._expected.pop(0).answer
        self.shown.append(dialog)
        return dialog.answer

    @property
    def pending(self) -> list[str]:
        return [str(expected) for expected in self._expected]

    def verify(self) -> None:
        problems = [f"never shown: {expected}" for expected in self.pending]
        problems += ["shown, not expected:\n" + dialog.describe() for dialog in self.unexpected]
        if problems:
            raise UnexpectedDialog("Modal dialogs did not go as scripted:\n" + "\n".join(problems))


_active: list[DialogScript] = []


def activeScript() -> DialogScript | None:
    return _active[-1] if _active else None


@contextlib.contextmanager
def useScript(script: DialogScript):
    """``with useScript(script):`` modal dialogs are answered by ``script`` (the fixture uses it)."""
    _active.append(script)
    try:
        yield script
    finally:
        _active.remove(script)


def showModal(
    kind: str, text: str, title: str = "", detailedText: str = "", buttons: typing.Iterable[str] = ()
):
    """A modal dialog is shown: return the scripted answer, or raise ``UnexpectedDialog``."""
    dialog = Dialog(kind, str(text or ""), str(title or ""), str(detailedText or ""), tuple(buttons))
    script = activeScript()
    if script is None:
        raise UnexpectedDialog(f"Modal dialog outside a test (nobody can answer it):\n{dialog.describe()}")
    return script.answer(dialog)


# --------------------------------------------------------------------------------------------------
# Message boxes: standard buttons
# --------------------------------------------------------------------------------------------------

_BUTTON_NAMES = (
    "Ok",
    "Save",
    "SaveAll",
    "Open",
    "Yes",
    "YesToAll",
    "No",
    "NoToAll",
    "Abort",
    "Retry",
    "Ignore",
    "Close",
    "Cancel",
    "Discard",
    "Help",
    "Apply",
    "Reset",
    "RestoreDefaults",
)


def _flagValue(flag) -> int:
    try:
        return int(flag)
    except TypeError:  # an enum.Flag member (PySide6)
        return int(flag.value)


def _buttonNames(cls, buttons) -> tuple[str, ...]:
    """The names of the standard buttons set in the ``buttons`` flags (a flag value or an int)."""
    if buttons is None:
        return ()
    value = _flagValue(buttons)
    return tuple(name for name in _BUTTON_NAMES if value & _flagValue(getattr(cls, name)))


def _messageBoxAnswer(cls, dialog_kwargs) -> object:
    """Ask the script; return the message box class's own button value (``cls.Ok``...)."""
    buttons = _buttonNames(cls, dialog_kwargs.get("buttons"))
    answer = showModal(
        "message", buttons=buttons, **{k: v for k, v in dialog_kwargs.items() if k != "buttons"}
    )
    if not isinstance(answer, str) or answer not in _BUTTON_NAMES:
        raise ValueError(
            f"A message box is answered with a button name such as 'Ok' or 'Cancel', not {answer!r}"
        )
    if buttons and answer not in buttons:
        raise UnexpectedDialog(
            f"The scripted answer {answer!r} is not a button of this message box: {buttons}"
        )
    return getattr(cls, answer)


# --------------------------------------------------------------------------------------------------
# The ``qt`` adapter's modal functions, answered from the script
# --------------------------------------------------------------------------------------------------

_FILE_FUNCTIONS = ("getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory")
_INPUT_FUNCTIONS = ("getText", "getInt", "getDouble", "getItem", "getMultiLineText")
_MESSAGE_FUNCTIONS = ("question", "information", "warning", "critical", "about")


def _property(obj, name: str, default=""):
    """A Qt property read PythonQt-style (an attribute) or PySide6-style (a getter)."""
    value = getattr(obj, name, default)
    return value() if callable(value) else value


def answerModal(name: str, *args):
    """Answer a modal call of a real-Qt ``qt`` adapter from the test's script.

    ``name`` is the static function (``getSaveFileName``, ``getText``, ``question``...) called with
    PythonQt's positional arguments, or ``"exec"`` with the dialog object. Returns what PythonQt
    returns: a path or value, or the message box's standard button (the class's own enum member).
    """
    if name in _FILE_FUNCTIONS:
        _parent, caption, directory, fileFilter = [*args, "", "", "", ""][:4]
        answer = showModal(
            "file", text=f"{name}: {directory}".rstrip(": "), title=caption, buttons=(fileFilter,)
        )
        if name == "getOpenFileNames":
            return list(answer or [])
        return "" if answer is None else str(answer)
    if name in _INPUT_FUNCTIONS:
        _parent, title, label = [*args, "", "", ""][:3]
        return showModal("input", text=label, title=title)
    import qt

    if name in _MESSAGE_FUNCTIONS:
        _parent, title, text = [*args, "", "", ""][:3]
        buttons = args[3] if len(args) > 3 else None
        if buttons is None:
            buttons = qt.QMessageBox.Yes | qt.QMessageBox.No if name == "question" else qt.QMessageBox.Ok
        return _messageBoxAnswer(qt.QMessageBox, {"text": text, "title": title, "buttons": buttons})
    if name == "exec":
        (dialog,) = args[:1]
        title = _property(dialog, "windowTitle")
        if isinstance(dialog, qt.QMessageBox):
            text = "\n\n".join(
                p for p in (_property(dialog, "text"), _property(dialog, "informativeText")) if p
            )
            return _messageBoxAnswer(
                type(dialog),
                {
                    "text": text,
                    "title": title,
                    "detailedText": _property(dialog, "detailedText"),
                    "buttons": _property(dialog, "standardButtons", None),
                },
            )
        return showModal("dialog", text=type(dialog).__name__, title=title)
    raise ValueError(f"Unknown modal function {name!r}")
