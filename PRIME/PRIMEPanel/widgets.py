"""The two Qt pieces the panel builds in code, kept thin (their rules are in the Qt-free modules):
the clinical form's editors, and ``prime score`` running in a ``QProcess``."""

from __future__ import annotations

import os
import shutil

from PRIMEPanel.clinical_form import EXPANDED_GROUPS, clinicalFormFields
from PRIMEPanel.scoring import parseProgressLine

try:
    from slicer.i18n import tr as _
except ImportError:  # plain Python, outside Slicer: the source text

    def _(text: str) -> str:
        return text


class ClinicalForm:
    """One editor per clinical-schema input in ``container``, a collapsible box per schema group:
    numbers and text as line edits (range and unit as placeholder), choices as combo boxes."""

    def __init__(self, container, onEdited) -> None:
        import ctk
        import qt

        self.editors = {}  # schema name -> QLineEdit or QComboBox
        layout = qt.QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        groups = {}
        for field in clinicalFormFields():
            if field.group not in groups:
                box = ctk.ctkCollapsibleButton()
                box.text = field.groupTitle
                box.collapsed = field.group not in EXPANDED_GROUPS
                layout.addWidget(box)
                groups[field.group] = qt.QFormLayout(box)
            if field.choices:
                editor = qt.QComboBox()
                for code, text in field.choices:
                    editor.addItem(text, str(code))
                editor.connect("currentIndexChanged(int)", onEdited)
            else:
                editor = qt.QLineEdit()
                editor.setPlaceholderText(field.placeholder)
                editor.connect("editingFinished()", onEdited)
            editor.setToolTip(field.toolTip)
            editor.setProperty("defaultToolTip", field.toolTip)
            groups[field.group].addRow(field.rowLabel, editor)
            self.editors[field.name] = editor

    def texts(self) -> dict:
        import qt

        return {
            name: editor.currentData if isinstance(editor, qt.QComboBox) else editor.text
            for name, editor in self.editors.items()
        }

    def show(self, texts: dict) -> None:
        """Show ``texts`` without emitting edits (an invalid choice code is shown, to be marked)."""
        import qt

        for name, editor in self.editors.items():
            text = texts.get(name, "")
            wasBlocked = editor.blockSignals(True)
            if isinstance(editor, qt.QComboBox):
                if text and editor.findData(str(text)) < 0:
                    editor.addItem(str(text), str(text))
                editor.currentIndex = max(editor.findData(str(text)), 0)
            else:
                editor.text = text
            editor.blockSignals(wasBlocked)

    def markErrors(self, errors: dict) -> None:
        """A red frame on each invalid field, with the reason as its tooltip."""
        for name, editor in self.editors.items():
            error = errors.get(name)
            editor.setStyleSheet("border: 1px solid #c0392b;" if error else "")
            editor.setToolTip(error or editor.property("defaultToolTip"))


class ScoringProcess:
    """``prime score`` in a ``QProcess`` (Slicer stays responsive), working in ``folder``.

    ``onProgress(fraction, message)`` gets the progress lines; ``onFinished(outputDir, error)`` is
    called once at the end, ``error`` being "" or why it failed (the last lines the process wrote, or
    that it could not start). :meth:`cancel` kills the whole process tree: Slicer's ``PythonSlicer`` is a
    launcher whose child does the work. The folder is removed when the process ends or is cancelled.
    """

    def __init__(self, folder, onProgress, onFinished) -> None:
        self.folder = folder
        self._onProgress = onProgress
        self._onFinished = onFinished
        self._process = None
        # The last QProcess, kept referenced until Qt deletes it: PythonQt deletes a Python-owned
        # QObject as soon as its last reference goes, which inside its own finished() handler would
        # delete the object that is emitting.
        self._retired = None
        self._stderr = ""
        self._outputDir = None

    @property
    def running(self) -> bool:
        return self._process is not None

    def processId(self) -> int:
        """The process id of the launched process (0 when none runs)."""
        return int(self._process.processId()) if self._process is not None else 0

    def start(self, command: list[str], outputDir) -> None:
        import qt

        import PRIMELib

        process = qt.QProcess()
        # `-m PRIMELib` finds the library from the working directory, installed or in a checkout.
        process.setWorkingDirectory(os.path.dirname(os.path.dirname(os.path.abspath(PRIMELib.__file__))))
        process.connect("readyReadStandardError()", self._onOutput)
        process.connect("finished(int,QProcess::ExitStatus)", self._onProcessFinished)
        process.connect("errorOccurred(QProcess::ProcessError)", self._onProcessError)
        self._outputDir = outputDir
        self._process = process
        process.start(command[0], command[1:])

    def _onOutput(self) -> None:
        if self._process is None:
            return
        self._stderr += self._process.readAllStandardError().data().decode("utf-8", "replace")
        for line in reversed(self._stderr.splitlines()):
            parsed = parseProgressLine(line)
            if parsed:
                self._onProgress(*parsed)
                return

    def _onProcessError(self, error) -> None:
        """A process that fails to start emits errorOccurred(FailedToStart) and never finished()."""
        import qt

        if self._process is None or error != qt.QProcess.FailedToStart:
            return  # other errors (a crash, a kill) are followed by finished()
        reason = self._process.errorString()
        self._finish(_("The scoring process could not start: ") + str(reason))

    def _onProcessFinished(self, exitCode, exitStatus) -> None:
        if self._process is None:  # cancelled
            return
        self._onOutput()
        error = ""
        if exitCode != 0:
            lines = [line for line in self._stderr.splitlines() if not parseProgressLine(line)]
            error = "\n".join(lines[-15:]) or _("The scoring process stopped.")
        self._finish(error)

    def _finish(self, error: str) -> None:
        self._retire()
        try:
            self._onFinished(self._outputDir, error)
        finally:
            self.discard()

    def _retire(self) -> None:
        """Stop using the process and let Qt delete it from the event loop (``deleteLater``)."""
        process, self._process = self._process, None
        if process is not None:
            self._retired = process
            process.deleteLater()

    def cancel(self) -> None:
        """Kill the process and everything it started, then remove the folder."""
        from PRIMEPanel.processes import killProcessTree

        process = self._process
        if process is not None:
            killProcessTree(self.processId())
            self._retire()  # before waiting: the finished() it causes is then ignored
            process.waitForFinished(3000)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
