"""The two Qt pieces the panel builds in code, kept thin (their rules are in the Qt-free modules):
the clinical form's editors, and PRIMELib's scoring worker running in a ``QProcess``."""

from __future__ import annotations

import json
import os
import shutil

from PRIMEPanel.clinical_form import EXPANDED_GROUPS, clinicalFormFields

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


class ScoringWorker:
    """PRIMELib's scoring worker (``python -m PRIMELib.scoring_server``) in one long-lived ``QProcess``,
    reused across Score clicks and cases: the model bundle is loaded in it once, not at every click.

    :meth:`score` sends one case (the files in ``folder``) and returns at once; the worker is started
    on first use, and again when it has stopped or the model (path or expected SHA-256) changed.
    ``onProgress(fraction, message)`` gets its progress; ``onFinished(outputDir, error)`` is called once
    per case, ``error`` being "" or why it failed (the worker's message, the last lines it wrote before
    it stopped, or that it could not start). :meth:`cancel` kills the worker's whole process tree (Slicer's
    ``PythonSlicer`` is a launcher whose child does the work); the next case starts a fresh one.
    :meth:`shutdown` ends it (module unloaded). A case's folder is removed when it ends or is cancelled.
    """

    def __init__(self, onProgress, onFinished) -> None:
        self._onProgress = onProgress
        self._onFinished = onFinished
        self._process = None
        # Ended QProcesses, kept referenced until Qt deletes them: PythonQt deletes a Python-owned
        # QObject as soon as its last reference goes, which inside its own finished() handler would
        # delete the object that is emitting.
        self._retired = []
        self._stdout = b""
        self._stderr = ""
        self._model = None  # (model path, expected SHA-256) the running worker was started for
        self._request = None  # (id, folder, outputDir) of the case in progress
        self._sent = None  # that case's request line, and whether the worker has read it
        self._accepted = False
        self._lastId = 0
        self.folder = None
        self.starts = 0  # workers started so far
        self.lastReply = None  # the worker's last result reply (its timings and bundle loads)

    @property
    def running(self) -> bool:
        """A case is being scored."""
        return self._request is not None

    def processId(self) -> int:
        """The process id of the worker (its launcher in Slicer); 0 when none runs."""
        return int(self._process.processId()) if self._process is not None else 0

    def score(self, arguments: dict, folder, modelSha256=None) -> None:
        """Score the case whose files ``writeCaseFiles`` wrote into ``folder`` (its ``arguments``)."""
        from PRIMEPanel.scoring import scoreRequest

        model = (str(arguments.get("modelPath") or ""), str(modelSha256 or "").lower())
        if self._process is not None and (model != self._model or not self._alive()):
            self.shutdown()
        self._lastId += 1
        self.folder = os.fspath(folder)
        self._request = (self._lastId, self.folder, arguments["outputDir"])
        self._stderr = ""
        self._sent = (
            json.dumps(scoreRequest(self._lastId, **arguments, modelSha256=modelSha256)) + "\n"
        ).encode()
        self._accepted = False
        if self._process is None:
            self._start(model)
            if self._process is None:  # it could not start: reported to onFinished already
                return
        self._process.write(self._sent)

    def _alive(self) -> bool:
        import qt

        return self._process is not None and self._process.state() != qt.QProcess.NotRunning

    def _start(self, model) -> None:
        import qt

        import PRIMELib
        from PRIMEPanel.scoring import workerCommand

        process = qt.QProcess()
        # `-m PRIMELib.scoring_server` finds the library from the working directory, installed or not.
        process.setWorkingDirectory(os.path.dirname(os.path.dirname(os.path.abspath(PRIMELib.__file__))))
        process.connect("readyReadStandardOutput()", self._onOutput)
        process.connect("readyReadStandardError()", self._onErrorOutput)
        process.connect("finished(int,QProcess::ExitStatus)", self._onProcessFinished)
        process.connect("errorOccurred(QProcess::ProcessError)", self._onProcessError)
        self._process, self._model, self._stdout, self._stderr = process, model, b"", ""
        self.starts += 1
        command = workerCommand()
        process.start(command[0], command[1:])
        process.waitForStarted(10000)  # spawning only (milliseconds); a failure is reported by now

    def _onOutput(self) -> None:
        from PRIMEPanel.scoring import parseWorkerLine

        if self._process is None:
            return
        self._stdout += self._process.readAllStandardOutput().data()
        *lines, self._stdout = self._stdout.split(b"\n")
        for line in lines:
            reply = parseWorkerLine(line.decode("utf-8", "replace"))
            if reply is None or self._request is None or reply.get("id") != self._request[0]:
                continue  # "ready", or a reply to a cancelled case
            if reply["event"] == "accepted":
                self._accepted = True
            elif reply["event"] == "progress":
                self._onProgress(float(reply.get("fraction", 0.0)), str(reply.get("message", "")))
            elif reply["event"] == "result":
                self.lastReply = reply
                self._finish("")
            elif reply["event"] == "error":
                self._finish(str(reply.get("message") or reply.get("error")) or _("Scoring failed."))

    def _onErrorOutput(self) -> None:
        if self._process is None:
            return
        self._stderr += self._process.readAllStandardError().data().decode("utf-8", "replace")
        self._stderr = self._stderr[-20000:]

    def _onProcessError(self, error) -> None:
        """A process that fails to start emits errorOccurred(FailedToStart) and never finished()."""
        import qt

        if self._process is None or error != qt.QProcess.FailedToStart:
            return  # other errors (a crash, a kill) are followed by finished()
        reason = self._process.errorString()
        self._retire()
        self._finish(_("The scoring process could not start: ") + str(reason))

    def _onProcessFinished(self, exitCode, exitStatus) -> None:
        """The worker stopped (crashed, or ran out of memory): the case in progress fails with its last
        words, and the next case starts a fresh worker."""
        import qt

        if self._process is None or self._process.state() != qt.QProcess.NotRunning:
            return  # cancelled or shut down; or a late signal of a worker replaced since
        self._onOutput()
        self._onErrorOutput()
        self._retire()
        if self._request is not None and not self._accepted and self._sent is not None:
            # It had died before it read the case (killed while idle, and Qt had not noticed yet):
            # the case goes to a fresh worker, once.
            sent, self._sent = self._sent, None
            self._start(self._model)
            if self._process is not None:
                self._process.write(sent)
            return
        lines = [line for line in self._stderr.splitlines() if line.strip()]
        self._finish("\n".join(lines[-15:]) or _("The scoring process stopped."))

    def _finish(self, error: str) -> None:
        request, self._request = self._request, None
        if request is None:
            return
        _requestId, folder, outputDir = request
        try:
            self._onFinished(outputDir, error)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _retire(self) -> None:
        """Stop using the process and let Qt delete it from the event loop (``deleteLater``)."""
        process, self._process = self._process, None
        if process is not None:
            self._retired = [*self._retired[-3:], process]
            process.deleteLater()

    def cancel(self) -> None:
        """Kill the worker and everything it started, and remove the case's folder; no end is reported."""
        request, self._request = self._request, None
        self._kill()
        if request is not None:
            shutil.rmtree(request[1], ignore_errors=True)

    def shutdown(self) -> None:
        """End the worker (module unloaded, or another model): a case in progress is cancelled."""
        if self._request is not None:
            self.cancel()
            return
        self._kill()

    def _kill(self) -> None:
        from PRIMEPanel.processes import killProcessTree

        process = self._process
        if process is not None:
            killProcessTree(self.processId())
            self._retire()  # before waiting: the finished() it causes is then ignored
            process.waitForFinished(3000)
