"""Fixtures for running PRIME's Slicer module (Logic and self-test) on real MRML from slicer-core.

- ``mrml_session`` (autouse) / ``mrml_scene``: a fresh scene per test, installed as ``slicer.mrmlScene``
  and cleared afterwards; its root directory and ``slicer.app.temporaryPath`` are in ``tmp_path``.
- ``prime_module``: ``PRIME/PRIME.py`` imported as module ``PRIME`` with the stand-ins in place;
  ``panel``: its PRIMEPanel modules (rules, clinical_form, scoring, nodes).
- ``load_module``: the same import for any scripted module file (used to test the harness itself).
- ``run_self_test``: runs a ``ScriptedLoadableModuleTest`` subclass as Slicer's ctest does (testing mode on).
- ``dialogs`` (autouse), ``slicer_testing_enabled`` / ``@pytest.mark.slicer_testing``: see
  ``slicer_app_fixtures``. ``slicer.app.testingEnabled()`` is False, as for a user, unless a test asks.

Without slicer-core every test here is skipped, and the session header and stderr say so in capitals.
Set ``PRIME_REQUIRE_SLICER_CORE=1`` (CI) to make every one of them fail instead.
"""

from __future__ import annotations

import sys
import types
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under --import-mode=importlib
import slicer_harness as harness
from slicer_app_fixtures import (  # noqa: F401 - fixtures: a user's Slicer (no testing mode, real dialogs)
    dialogs,
    pytest_runtest_makereport,
    slicer_testing_enabled,
    slicer_testing_marker,
    testing_mode,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PRIME_MODULE_PATH = REPO_ROOT / "PRIME" / "PRIME.py"


if not harness.SLICER_CORE_IMPORT_ERROR:
    # Before test modules are imported: they (and module files) import qt, slicer.parameterNodeWrapper...
    harness.install()


def pytest_report_header(config) -> str:
    if harness.SLICER_CORE_IMPORT_ERROR:
        return "slicer harness: " + harness.MISSING_MESSAGE
    import slicer

    return f"slicer harness: slicer-core from {Path(slicer.__file__).parent}"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "vtk_errors_expected: the test provokes VTK/MRML error messages")
    import slicer_app_fixtures

    config.addinivalue_line("markers", slicer_app_fixtures.MARKER)
    if harness.SLICER_CORE_IMPORT_ERROR:
        warnings.warn(harness.MISSING_MESSAGE, stacklevel=1)
        print("\n" + "!" * 100 + "\n" + harness.MISSING_MESSAGE + "\n" + "!" * 100, file=sys.stderr)


@pytest.fixture(scope="session")
def slicer_core():
    """The real ``slicer`` package with the stand-ins installed (skip, or fail if required, without it)."""
    harness.skip_or_fail_without_slicer_core()
    return harness.install()


@pytest.fixture(autouse=True)
def mrml_session(slicer_core, tmp_path, request):
    """A fresh MRML session per test (scene, application logic, module logics).

    A VTK/MRML error message (``vtkErrorMacro``: a failed read, a failed export...) fails the test
    at teardown, since slicer-core often reports failure only that way; mark a test that provokes
    one on purpose with ``@pytest.mark.vtk_errors_expected``.
    """
    session = harness.open_session(tmp_path)
    yield session
    errors = session.vtk_errors()
    session.close()
    if errors and request.node.get_closest_marker("vtk_errors_expected") is None:
        pytest.fail("VTK/MRML logged errors during the test:\n\n" + "\n\n".join(errors), pytrace=False)


@pytest.fixture
def mrml_scene(mrml_session):
    """This test's ``vtkMRMLScene``; it is also ``slicer.mrmlScene``."""
    return mrml_session.scene


@pytest.fixture(scope="session")
def load_module(slicer_core):
    """Import a scripted module file as Slicer would: ``load_module(path, name=None) -> module``."""
    loaded: list[str] = []

    def load(path, name=None):
        module = harness.load_scripted_module(path, name)
        loaded.append(module.__name__)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def prime_module(load_module):
    """``PRIME/PRIME.py`` imported as module ``PRIME`` (it finds PRIMELib itself, as in Slicer)."""
    if not PRIME_MODULE_PATH.is_file():
        pytest.fail(f"{PRIME_MODULE_PATH} is missing")
    return load_module(PRIME_MODULE_PATH, "PRIME")


@pytest.fixture(scope="session")
def panel(prime_module):
    """The modules of PRIME/PRIMEPanel, as PRIME.py imports them: rules, clinical_form, scoring, nodes."""
    import importlib

    names = ("rules", "clinical_form", "scoring", "nodes")
    return types.SimpleNamespace(**{name: importlib.import_module(f"PRIMEPanel.{name}") for name in names})


@pytest.fixture
def run_self_test():
    """``run_self_test(TestCaseClass)``: run a module's ``ScriptedLoadableModuleTest`` like Slicer does.

    As its ctest does: ``Slicer --testing``, so ``slicer.app.testingEnabled()`` is True during the run.
    """

    def run(test_class, msec: int = 0) -> None:
        with testing_mode(True):
            harness.run_self_test(test_class, msec)

    return run


@pytest.fixture
def demo_nodes(prime_module, mrml_scene):
    """The demo case in the scene: two volume nodes and a segmentation with one tumour segment."""
    import slicer

    from PRIMELib.demo import make_demo_images

    arterial, venous, mask = make_demo_images()
    to_node = prime_module.PRIMETest._volumeNodeFromSitk
    arterial_node = to_node(arterial, "arterial")
    venous_node = to_node(venous, "venous")
    labelmap = to_node(mask, "tumour", "vtkMRMLLabelMapVolumeNode")
    segmentation = mrml_scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "tumour")
    slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap, segmentation)
    segment_id = segmentation.GetSegmentation().GetNthSegmentID(0)
    return types.SimpleNamespace(
        images=(arterial, venous, mask),
        arterial=arterial_node,
        venous=venous_node,
        segmentation=segmentation,
        segment_id=segment_id,
    )
