"""The panel's scoring QProcess under real Qt: a command that cannot start ends the run with a message
(Qt emits errorOccurred(FailedToStart) and never finished()), and the finished QProcess is not deleted
inside its own finished() handler but retired and deleted later from the event loop."""

from __future__ import annotations

import sys
import time

import pytest


def _run_until(qt, condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        qt.QApplication.processEvents(qt.QEventLoop.AllEvents, 50)
        time.sleep(0.01)
    return condition()


@pytest.fixture
def qt(prime_module):
    import qt

    return qt


def test_a_command_that_cannot_start_finishes_with_a_reason(qt, tmp_path):
    from PRIMEPanel.widgets import ScoringProcess

    folder = tmp_path / "work"
    folder.mkdir()
    finished = []
    process = ScoringProcess(str(folder), lambda *a: None, lambda out, error: finished.append(error))
    process.start([str(tmp_path / "no-such-python"), "-m", "PRIMELib", "score"], str(folder / "out"))
    assert _run_until(qt, lambda: finished), "no end reported: the button would stay 'Cancel'"
    assert len(finished) == 1 and "could not start" in finished[0]
    assert not process.running and not folder.exists()


def test_the_finished_process_is_kept_until_qt_deletes_it(qt, tmp_path):
    from PRIMEPanel.widgets import ScoringProcess

    folder = tmp_path / "work"
    folder.mkdir()
    seen = []

    def onFinished(outputDir, error):
        # Inside finished(): the QProcess must still exist (PythonQt would have deleted it here).
        seen.append((error, process._retired is not None and process._retired.state()))

    process = ScoringProcess(str(folder), lambda *a: None, onFinished)
    process.start([sys.executable, "-c", "import sys; sys.stderr.write(' 50% half\\n')"], str(folder))
    assert _run_until(qt, lambda: seen)
    assert seen == [("", qt.QProcess.NotRunning)]
    assert not folder.exists()
