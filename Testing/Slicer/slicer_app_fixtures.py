"""Fixtures for the application state a user's Slicer has: testing mode off, dialogs answered by hand.

Imported by ``conftest.py``:

- ``dialogs`` (autouse): the test's :class:`slicer_dialogs.DialogScript`. A modal dialog the test
  did not script fails it with the dialog's text; ``dialogs.expect(match, answer)`` scripts the next
  one; at teardown every scripted dialog must have been shown.
- ``slicer_testing_enabled``: ``slicer.app.testingEnabled()`` is True for this test, as under
  ``Slicer --testing`` (the ctest of a module's self-test); so is the ``slicer_testing`` marker.
  Otherwise it is False, as for a user: the real ``slicer.util`` dialogs then are modal.
"""

from __future__ import annotations

import contextlib

import pytest
import slicer_dialogs

__all__ = [
    "dialogs",
    "pytest_runtest_makereport",
    "slicer_testing_enabled",
    "slicer_testing_marker",
    "testing_mode",
]

MARKER = "slicer_testing: slicer.app.testingEnabled() is True in this test (as under Slicer --testing)"


@contextlib.contextmanager
def testing_mode(enabled: bool = True):
    """``slicer.app.testingEnabled()`` is ``enabled`` inside the block (the stand-in app only)."""
    import slicer

    app = slicer.app
    if not hasattr(app, "_set_testing_enabled"):
        raise RuntimeError("slicer.app is not the harness's stand-in: testing mode cannot be switched")
    previous = app.testingEnabled()
    app._set_testing_enabled(enabled)
    try:
        yield
    finally:
        app._set_testing_enabled(previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's outcome, so ``dialogs`` does not report a dialog the test already failed on."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item._slicer_dialogs_call_failed = report.failed


@pytest.fixture(autouse=True)
def dialogs(request):
    """Script the modal dialogs of this test: ``dialogs.expect("Install", "Ok")``; unscripted ones fail.

    An unscripted dialog raises ``slicer_dialogs.UnexpectedDialog`` where it is shown; if the code
    under test swallows that, the test still fails here at teardown. So does a scripted dialog that
    never came.
    """
    script = slicer_dialogs.DialogScript()
    with slicer_dialogs.useScript(script):
        yield script
    if getattr(request.node, "_slicer_dialogs_call_failed", False):
        return
    try:
        script.verify()
    except slicer_dialogs.UnexpectedDialog as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def slicer_testing_enabled(mrml_session):
    """``slicer.app.testingEnabled()`` is True for this test, as in Slicer started with ``--testing``."""
    with testing_mode(True):
        yield


@pytest.fixture(autouse=True)
def slicer_testing_marker(request, mrml_session):
    """``@pytest.mark.slicer_testing`` does what the ``slicer_testing_enabled`` fixture does."""
    if request.node.get_closest_marker("slicer_testing") is None:
        yield
        return
    with testing_mode(True):
        yield
