"""Run a Slicer scripted module's Logic and self-test under plain pytest, on real MRML from slicer-core.

Real (the PyPI package ``slicer-core``): ``import slicer``, ``slicer.util``, every ``vtkMRML*`` node and
storage node, ``vtkMRMLScene``, the module logics (volumes, segmentations, tables, plots, markups,
texts, colors, subject hierarchy, transforms), ``slicer.util.VTKObservationMixin``.

Real Qt: ``qt`` is PySide6 behind a PythonQt-compatible adapter (``pythonqt_adapter``): one offscreen
``QApplication`` per test session, PythonQt's attribute, signal and enum rules, no dialog that answers
itself. ``ctk`` and ``slicer.qMRML*`` are real Qt widgets bound to the scene (``slicer_widgets``).

Stand-ins (in ``slicer_standins``, ``slicer_widgets`` and ``parameter_node_wrapper_standin``, installed
by :func:`install`): ``ctk``, the ``slicer.qMRML*`` widgets, ``slicer.app``, ``slicer.modules``,
``slicer.ScriptedLoadableModule``, ``slicer.i18n`` and ``slicer.parameterNodeWrapper``. Each is
installed only where slicer-core lacks it.

Per test, :func:`open_session` builds what the Slicer application builds at startup: a fresh
``vtkMRMLScene`` (root directory in a temporary folder) installed as ``slicer.mrmlScene``, an
application logic, and the module logics registered on it and reachable as
``slicer.modules.<name>.logic()``; ``slicer.app.temporaryPath`` points into the same folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import types
from pathlib import Path

__all__ = [
    "MISSING_MESSAGE",
    "MODULE_LOGICS",
    "REQUIRE_SLICER_CORE",
    "SLICER_CORE_IMPORT_ERROR",
    "MRMLSession",
    "install",
    "load_scripted_module",
    "open_session",
    "run_module_self_test",
    "run_self_test",
    "skip_or_fail_without_slicer_core",
    "standins_installed",
]

#: Module logics created per session: (Slicer module name, slicer-core class name).
MODULE_LOGICS = (
    ("Colors", "vtkMRMLColorLogic"),
    ("Volumes", "vtkSlicerVolumesLogic"),
    ("Segmentations", "vtkSlicerSegmentationsModuleLogic"),
    ("SubjectHierarchy", "vtkSlicerSubjectHierarchyModuleLogic"),
    ("Tables", "vtkSlicerTablesLogic"),
    ("Plots", "vtkSlicerPlotsLogic"),
    ("Markups", "vtkSlicerMarkupsLogic"),
    ("Texts", "vtkSlicerTextsLogic"),
    ("Transforms", "vtkSlicerTransformLogic"),
)


def _import_slicer_core():
    """Import the real slicer-core ``slicer`` package, replacing any stub another test left behind."""
    existing = sys.modules.get("slicer")
    if existing is not None and not hasattr(existing, "vtkMRMLScene"):
        for name in [name for name in sys.modules if name == "slicer" or name.startswith("slicer.")]:
            del sys.modules[name]
    import slicer

    if not hasattr(slicer, "vtkMRMLScene"):
        raise ImportError(f"'slicer' imported from {getattr(slicer, '__file__', '?')} is not slicer-core")
    return slicer


try:
    _import_slicer_core()
    #: None when slicer-core imports; otherwise why it does not (the fixtures skip or fail with it).
    SLICER_CORE_IMPORT_ERROR: str | None = None
except ImportError as _error:
    SLICER_CORE_IMPORT_ERROR = f"{type(_error).__name__}: {_error}"

#: ``PRIME_REQUIRE_SLICER_CORE=1`` (CI): without slicer-core the Slicer tests fail instead of skipping.
REQUIRE_SLICER_CORE = os.environ.get("PRIME_REQUIRE_SLICER_CORE", "") not in ("", "0")

MISSING_MESSAGE = (
    f"SLICER-CORE IS NOT IMPORTABLE ({SLICER_CORE_IMPORT_ERROR}): THE Testing/Slicer TESTS "
    + ("FAIL" if REQUIRE_SLICER_CORE else "ARE SKIPPED")
    + ". Install it with: pip install 'slicer-core>=5.13' (or pip install -e '.[slicer-test]')"
    + ("." if REQUIRE_SLICER_CORE else "; set PRIME_REQUIRE_SLICER_CORE=1 to make this a failure.")
)


def skip_or_fail_without_slicer_core() -> None:
    """In a test, fixture or test module: skip (or, if required, fail) when slicer-core is missing."""
    if SLICER_CORE_IMPORT_ERROR is None:
        return
    import pytest

    if REQUIRE_SLICER_CORE:
        pytest.fail(MISSING_MESSAGE, pytrace=False)
    pytest.skip(MISSING_MESSAGE, allow_module_level=True)


_installed: dict[str, str] = {}  # name -> "real" or "stand-in"


def standins_installed() -> dict[str, str]:
    """Which names :func:`install` provided, and whether each is slicer-core's own or a stand-in."""
    return dict(_installed)


def install():
    """Make ``import slicer`` the real slicer-core package with the missing application names added.

    Idempotent. Returns the ``slicer`` module.
    """
    slicer = _import_slicer_core()
    if _installed:
        return slicer
    import slicer_standins as standins

    for name, make, kind in (
        ("qt", standins.make_qt_module, "adapter"),
        ("ctk", standins.make_ctk_module, "stand-in"),
    ):
        if name in sys.modules and not getattr(sys.modules[name], "__is_slicer_harness_standin__", False):
            _installed[name] = f"left as found: {sys.modules[name]!r}"
        else:
            sys.modules[name] = make()
            _installed[name] = kind

    # Slicer's qMRML widget classes (slicer.qMRMLNodeComboBox...): real Qt widgets on the real scene.
    import slicer_widgets

    for class_name, cls in slicer_widgets.SLICER_CLASSES.items():
        if not hasattr(slicer, class_name):
            setattr(slicer, class_name, cls)
            _installed[f"slicer.{class_name}"] = "stand-in"

    if not hasattr(slicer, "modules"):
        slicer.modules = types.SimpleNamespace()
        _installed["slicer.modules"] = "stand-in"
    if not hasattr(slicer, "app"):
        slicer.app = standins.SlicerAppStandIn(slicer.modules)
        _installed["slicer.app"] = "stand-in"

    _install_submodule(slicer, "i18n", standins.make_i18n_module)
    _install_submodule(slicer, "ScriptedLoadableModule", standins.make_scripted_loadable_module)
    _install_submodule(slicer, "parameterNodeWrapper", _make_parameter_node_wrapper_module)

    # Between sessions slicer.mrmlScene is an empty scene, so module-level code can reference it.
    if getattr(slicer, "mrmlScene", None) is None:
        slicer.mrmlScene = slicer.vtkMRMLScene()
    return slicer


def _install_submodule(slicer, name: str, make) -> None:
    """Use slicer-core's ``slicer.<name>`` if it has one; otherwise install the stand-in."""
    full_name = f"slicer.{name}"
    try:
        module = importlib.import_module(full_name)
        _installed[full_name] = "real"
    except ImportError:
        module = make()
        module.__name__ = full_name
        sys.modules[full_name] = module
        _installed[full_name] = "stand-in"
    setattr(slicer, name, module)


def _make_parameter_node_wrapper_module() -> types.ModuleType:
    import parameter_node_wrapper_standin

    return parameter_node_wrapper_standin


class MRMLSession:
    """One test's MRML world: the scene, the application logic and the module logics."""

    def __init__(self, directory: str | os.PathLike) -> None:
        slicer = install()
        directory = Path(directory)
        self.root_directory = str(directory / "scene")
        self.temporary_path = str(directory / "SlicerTemp")
        os.makedirs(self.root_directory, exist_ok=True)
        os.makedirs(self.temporary_path, exist_ok=True)

        # VTK/MRML error and warning messages of this test, readable with vtk_errors().
        import vtk

        self._previous_output_window = vtk.vtkOutputWindow.GetInstance()
        self._vtk_output = vtk.vtkStringOutputWindow()
        vtk.vtkOutputWindow.SetInstance(self._vtk_output)

        self.scene = slicer.vtkMRMLScene()
        self.scene.SetRootDirectory(self.root_directory)
        self.app_logic = slicer.vtkSlicerApplicationLogic()
        self.app_logic.SetMRMLScene(self.scene)
        # The application logic keeps raw pointers: the session holds the Python references.
        self.logics: dict[str, object] = {}
        for module_name, class_name in MODULE_LOGICS:
            logic = getattr(slicer, class_name)()
            logic.SetMRMLApplicationLogic(self.app_logic)
            logic.SetMRMLScene(self.scene)
            self.app_logic.SetModuleLogic(module_name, logic)
            self.logics[module_name] = logic
        self.scene.GetSubjectHierarchyNode()  # the application creates it at startup too

        # Data IO as the application sets it up; reading .mrb bundles needs its cache directory.
        self.remote_io_logic = slicer.vtkMRMLRemoteIOLogic()
        self.remote_io_logic.SetMRMLScene(self.scene)
        self.remote_io_logic.GetCacheManager().SetRemoteCacheDirectory(str(directory / "RemoteIO"))
        self.data_io_manager_logic = slicer.vtkDataIOManagerLogic()
        self.data_io_manager_logic.SetMRMLApplicationLogic(self.app_logic)
        self.data_io_manager_logic.SetMRMLScene(self.scene)
        self.data_io_manager_logic.SetAndObserveDataIOManager(self.remote_io_logic.GetDataIOManager())
        self.remote_io_logic.AddDataIOToScene()

        import qt
        import slicer_standins

        qt.QSettings().clear()  # the adapter keeps the session's settings in a temporary INI file
        for module_name, logic in self.logics.items():
            setattr(slicer.modules, module_name.lower(), slicer_standins.ModuleStandIn(module_name, logic))
        if _installed.get("slicer.app") == "stand-in":
            slicer.app._attach(self)
        self._previous_scene = slicer.mrmlScene
        slicer.mrmlScene = self.scene

    def layoutManager(self):
        """``slicer.app.layoutManager()``: made on first use (the real ``vtkMRMLLayoutLogic`` then adds
        the layout node and its view nodes to the scene, as the application does at startup)."""
        if getattr(self, "_layout_manager", None) is None:
            import slicer_widgets

            self._layout_manager = slicer_widgets.qSlicerLayoutManager(self.scene)
        return self._layout_manager

    def close(self) -> None:
        """Empty the scene, release the logics and put back the idle scene."""
        import slicer

        if getattr(self, "_layout_manager", None) is not None:
            # The application never clears its singletons; the layout logic must let go first.
            self._layout_manager.layoutLogic().SetMRMLScene(None)
            self._layout_manager = None
        self.scene.Clear(1)
        for module_name in self.logics:
            if getattr(slicer.modules, module_name.lower(), None) is not None:
                delattr(slicer.modules, module_name.lower())
        # Dropping the last references deletes the logics; SetMRMLScene(None) on the segmentations
        # logic would only log a subject-hierarchy warning.
        self.logics.clear()
        self.remote_io_logic = self.data_io_manager_logic = None
        self.app_logic.SetMRMLScene(None)
        self.app_logic = None
        if _installed.get("slicer.app") == "stand-in":
            slicer.app._detach()
        slicer.mrmlScene = self._previous_scene
        import vtk

        vtk.vtkOutputWindow.SetInstance(self._previous_output_window)

    def vtk_errors(self) -> list[str]:
        """The VTK/MRML error messages (``vtkErrorMacro``) logged so far in this session."""
        text = self._vtk_output.GetOutput() or ""
        return [
            block.strip()
            for block in re.split(r"\n(?=ERROR: |Warning: |Generic Warning: |Debug: )", text)
            if block.startswith("ERROR: ")
        ]


def open_session(directory: str | os.PathLike) -> MRMLSession:
    """A fresh scene as ``slicer.mrmlScene``, rooted in ``directory``; call ``close()`` when done."""
    return MRMLSession(directory)


def load_scripted_module(path: str | os.PathLike, name: str | None = None) -> types.ModuleType:
    """Import a scripted module file the way Slicer does, with the stand-ins in place.

    The module is registered as ``sys.modules[name]`` (``ScriptedLoadableModule.runTest`` re-imports
    it by name), its folder is put on ``sys.path`` (Slicer adds scripted module folders), and
    ``slicer.modules.<name lowercase>`` gets an entry whose ``path`` is the file.
    """
    slicer = install()
    path = Path(path).resolve()
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    import slicer_standins

    setattr(slicer.modules, name.lower(), slicer_standins.ModuleStandIn(name, None, str(path)))
    return module


def run_self_test(test_class, msec: int = 0) -> None:
    """Run a ``ScriptedLoadableModuleTest`` subclass as Slicer's self-test runner does.

    ``test_class().runTest()``: ``setUp`` and each ``test*`` method in turn; the first failure
    raises, so pytest reports it with the module's own traceback.
    """
    test_case = test_class()
    test_case.messageDelay = msec
    test_case.runTest()


def run_module_self_test(module: types.ModuleType, msec: int = 0) -> None:
    """Run a module's self-test through its ``ScriptedLoadableModule`` class (as "Reload and Test")."""
    import slicer_standins

    module_class = getattr(module, module.__name__)
    instance = module_class(slicer_standins.ModuleParentStandIn(module.__file__))
    instance.runTest(msec=msec)
