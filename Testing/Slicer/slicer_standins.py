"""Qt-free stand-ins for the parts of the Slicer application that slicer-core does not ship.

Nothing here is MRML. Everything MRML (scene, nodes, storage nodes, module logics, ``slicer.util``)
is the real slicer-core code; see ``slicer_harness``. The stand-ins only make a scripted module
file importable and its Logic and self-test runnable outside the application:

- ``qt`` / ``ctk``: modules whose ``Q*``/``ctk*`` names are inert classes, so ``import qt``,
  annotations and subclassing in class bodies work. A few classes that ``slicer.util`` helpers use
  from Logic code are small working versions (``QSettings`` in memory, ``QDir``, ``QFileInfo``,
  ``QLocale``, ``QDateTime``). Widgets do nothing: the GUI is tested elsewhere (Testing/UI).
- ``slicer.app``: ``SlicerAppStandIn`` (temporaryPath, processEvents, testingEnabled, settings,
  coreIOManager backed by real storage nodes and module logics, ...).
- ``slicer.modules``: one entry per registered module, ``.logic()`` returns the real logic.
- ``slicer.ScriptedLoadableModule``: the four base classes, following Slicer 5.x's own code.
- ``slicer.i18n``: ``translate``/``tr`` return the source text.

``slicer.parameterNodeWrapper`` is in ``parameter_node_wrapper_standin`` (slicer-core lacks it).
"""

from __future__ import annotations

import datetime
import importlib
import logging
import os
import types
import typing
import unittest

__all__ = [
    "QT_NAMES_USED",
    "CoreIOManagerStandIn",
    "ModuleParentStandIn",
    "ModuleStandIn",
    "SlicerAppStandIn",
    "make_ctk_module",
    "make_i18n_module",
    "make_qt_module",
    "make_scripted_loadable_module",
]

#: Every ``qt``/``ctk`` name looked up so far (``"qt.QPushButton"``, ``"qt.QSettings"``).
#: Clear it, run Logic code, and assert it is still empty to show the Logic does not use Qt.
QT_NAMES_USED: set[str] = set()


# --------------------------------------------------------------------------------------------------
# qt / ctk
# --------------------------------------------------------------------------------------------------


class _Flag(int):
    """An enum value such as ``qt.QMessageBox.Ok``: a distinct int bit, combinable with ``|``."""

    _next_bit = 8  # values from 256 up: never equal to True, False or a small int

    def __new__(cls, name: str):
        value = super().__new__(cls, 1 << _Flag._next_bit)
        _Flag._next_bit += 1
        value._name = name
        return value

    def __repr__(self) -> str:
        return self._name


class _Inert:
    """What any unknown method or signal on an inert object returns: callable, connectable, falsy."""

    def __call__(self, *args, **kwargs):
        return None

    def connect(self, *args, **kwargs) -> None:
        return None

    def disconnect(self, *args, **kwargs) -> None:
        return None

    def emit(self, *args, **kwargs) -> None:
        return None

    def __bool__(self) -> bool:
        return False


class _InertMeta(type):
    """Class-level lookups: capitalised names are enum values, others are no-op static methods."""

    def __getattr__(cls, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _Flag(f"{cls.__name__}.{name}") if name[:1].isupper() else _Inert()
        setattr(cls, name, value)
        return value


class _InertQObject(metaclass=_InertMeta):
    """Base of every auto-created qt/ctk class: accepts any constructor call, does nothing."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()


class _InertModule(types.ModuleType):
    """A module whose public names are looked up in ``_classes``, made on first use as inert classes.

    Nothing is set as a module attribute, so every lookup (``qt.QWidget``, ``from qt import QTimer``)
    passes through ``__getattr__`` and is recorded in ``QT_NAMES_USED``.
    """

    def __init__(self, name: str, doc: str, working_classes: tuple[type, ...] = ()) -> None:
        super().__init__(name, doc)
        self._classes = {cls.__name__: cls for cls in working_classes}
        self.__is_slicer_harness_standin__ = True

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        QT_NAMES_USED.add(f"{self.__name__}.{name}")
        if name not in self._classes:
            self._classes[name] = _InertMeta(name, (_InertQObject,), {"__module__": self.__name__})
        return self._classes[name]


class QSettings:
    """In-memory settings shared by all instances (reset per test by the harness)."""

    store: typing.ClassVar[dict[str, object]] = {}

    def __init__(self, *args, **kwargs) -> None:
        pass

    def value(self, key: str, default=None):
        return self.store.get(key, default)

    def setValue(self, key: str, value) -> None:
        self.store[key] = value

    def contains(self, key: str) -> bool:
        return key in self.store

    def remove(self, key: str) -> None:
        self.store.pop(key, None)

    def allKeys(self) -> list[str]:
        return list(self.store)

    def sync(self) -> None:
        pass


class QDir:
    """The path operations ``slicer.util.tempDirectory`` needs."""

    def __init__(self, path: str | QDir = "") -> None:
        self._path = os.path.abspath(str(path) if path else os.getcwd())

    def __str__(self) -> str:
        return self._path

    def absolutePath(self) -> str:
        return self._path

    def mkpath(self, path: str) -> bool:
        os.makedirs(os.path.join(self._path, str(path)), exist_ok=True)
        return True

    def exists(self) -> bool:
        return os.path.isdir(self._path)


class QFileInfo:
    def __init__(self, directory: str | QDir, name: str | None = None) -> None:
        self._path = os.path.join(str(directory), name) if name is not None else str(directory)

    def absoluteFilePath(self) -> str:
        return os.path.abspath(self._path)

    def exists(self) -> bool:
        return os.path.exists(self._path)


class QDateTime:
    def __init__(self, value: datetime.datetime | None = None) -> None:
        self.value = value or datetime.datetime.now()

    @staticmethod
    def currentDateTime() -> QDateTime:
        return QDateTime()


class QLocale(_InertQObject):
    """Formats a ``QDateTime`` with the Qt pattern letters ``slicer.util.tempDirectory`` uses."""

    _QT_TO_STRFTIME = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("hh", "%H"), ("mm", "%M"), ("ss", "%S"))

    def toString(self, value: QDateTime, pattern: str) -> str:
        milliseconds = f"{value.value.microsecond // 1000:03d}"
        pattern = pattern.replace("zzz", milliseconds)
        for qt_code, strftime_code in self._QT_TO_STRFTIME:
            pattern = pattern.replace(qt_code, strftime_code)
        return value.value.strftime(pattern)


def make_qt_module() -> types.ModuleType:
    """Return the ``qt`` stand-in module (PythonQt's ``qt`` in Slicer)."""
    return _InertModule(
        "qt",
        "Qt-free stand-in for PythonQt's qt module (Testing/Slicer/slicer_standins.py).",
        (QSettings, QDir, QFileInfo, QDateTime, QLocale),
    )


def make_ctk_module() -> types.ModuleType:
    """Return the ``ctk`` stand-in module: every ``ctk*`` name is an inert class."""
    return _InertModule(
        "ctk", "Qt-free stand-in for Slicer's ctk module (Testing/Slicer/slicer_standins.py)."
    )


# --------------------------------------------------------------------------------------------------
# slicer.app and slicer.modules
# --------------------------------------------------------------------------------------------------


class ModuleStandIn:
    """An entry of ``slicer.modules`` / ``slicer.app.moduleManager().module(name)``."""

    def __init__(self, name: str, logic=None, path: str | None = None) -> None:
        self.name = name
        self.path = path
        self._logic = logic

    def logic(self):
        return self._logic

    def widgetRepresentation(self):
        return None

    def __repr__(self) -> str:
        return f"ModuleStandIn({self.name!r}, path={self.path!r})"


class _ModuleManagerStandIn:
    def __init__(self, modules: types.SimpleNamespace) -> None:
        self._modules = modules

    def module(self, name: str):
        return getattr(self._modules, name.lower(), None)

    def connect(self, *args, **kwargs) -> None:
        pass

    def disconnect(self, *args, **kwargs) -> None:
        pass


# File types as Slicer's qSlicerCoreIOManager names them; longest extension first.
_FILE_TYPES_BY_EXTENSION = (
    (".seg.nrrd", "SegmentationFile"),
    (".seg.nhdr", "SegmentationFile"),
    (".nii.gz", "VolumeFile"),
    (".nrrd", "VolumeFile"),
    (".nhdr", "VolumeFile"),
    (".nii", "VolumeFile"),
    (".mha", "VolumeFile"),
    (".mhd", "VolumeFile"),
    (".csv", "TableFile"),
    (".tsv", "TableFile"),
    (".mrml", "SceneFile"),
    (".mrb", "SceneFile"),
)

# vtkSlicerVolumesLogic::AddArchetypeVolume loading-option bits, as qSlicerVolumesReader sets them.
_VOLUME_OPTION_BITS = {
    "labelmap": 1,
    "center": 2,
    "singleFile": 4,
    "autoWindowLevel": 8,
    "discardOrientation": 16,
}


def _known_extension(file_name: str) -> str:
    lower = file_name.lower()
    for extension, _ in _FILE_TYPES_BY_EXTENSION:
        if lower.endswith(extension):
            return extension
    return os.path.splitext(lower)[1]


class CoreIOManagerStandIn:
    """The part of ``qSlicerCoreIOManager`` that ``slicer.util.load*/saveNode/saveScene`` call.

    The reading and writing is done by the real module logics and storage nodes of the session
    (``vtkSlicerVolumesLogic.AddArchetypeVolume``, ``LoadSegmentationFromFile``, ``AddTable``,
    ``vtkMRMLStorageNode.WriteData``, ``vtkMRMLScene.Commit/WriteToMRB/ReadFromMRB``).
    Supported file types: VolumeFile, SegmentationFile, TableFile, SceneFile.
    """

    def __init__(self, session) -> None:
        self._session = session

    def fileType(self, fileName) -> str:
        extension = _known_extension(str(fileName))
        for known, file_type in _FILE_TYPES_BY_EXTENSION:
            if known == extension:
                return file_type
        return "NoFile"

    def fileWriterFileType(self, node) -> str:
        for class_name, file_type in (
            ("vtkMRMLSegmentationNode", "SegmentationFile"),
            ("vtkMRMLVolumeNode", "VolumeFile"),
            ("vtkMRMLTableNode", "TableFile"),
        ):
            if node.IsA(class_name):
                return file_type
        return "NoFile"

    def loadNodes(self, fileType, properties, loadedNodes=None, userMessages=None) -> bool:
        file_name = str(properties["fileName"])
        name = properties.get("name") or self._node_name(file_name)
        logics = self._session.logics
        if fileType == "VolumeFile":
            options = sum(bit for key, bit in _VOLUME_OPTION_BITS.items() if properties.get(key))
            node = logics["Volumes"].AddArchetypeVolume(file_name, name, options, None, userMessages)
        elif fileType == "SegmentationFile":
            node = logics["Segmentations"].LoadSegmentationFromFile(
                file_name, properties.get("autoOpacities", True), name, None, userMessages
            )
        elif fileType == "TableFile":
            node = logics["Tables"].AddTable(file_name, name, True, None, userMessages)
        elif fileType == "SceneFile":
            return self._load_scene(file_name, bool(properties.get("clear", False)), userMessages)
        else:
            self._message(userMessages, f"File type {fileType!r} is not supported by the test harness.")
            return False
        if node is None:
            return False
        if loadedNodes is not None:
            loadedNodes.AddItem(node)
        return True

    def saveNodes(self, fileType, properties, userMessages=None) -> bool:
        file_name = str(properties["fileName"])
        scene = self._session.scene
        if fileType == "SceneFile":
            return self._save_scene(file_name, userMessages)
        node = scene.GetNodeByID(properties["nodeID"])
        if node is None or not node.IsA("vtkMRMLStorableNode"):
            self._message(userMessages, f"Node {properties['nodeID']!r} cannot be saved.")
            return False
        storage_node = node.GetStorageNode()
        if storage_node is None:
            node.AddDefaultStorageNode()
            storage_node = node.GetStorageNode()
        if storage_node is None:
            self._message(userMessages, f"Node {node.GetID()} has no storage node.")
            return False
        storage_node.SetFileName(file_name)
        if not storage_node.WriteData(node):
            self._message(userMessages, f"Writing {file_name} failed.")
            return False
        return True

    def _load_scene(self, file_name: str, clear: bool, userMessages) -> bool:
        scene = self._session.scene
        if file_name.lower().endswith(".mrb"):
            return bool(scene.ReadFromMRB(file_name, clear, userMessages))
        scene.SetURL(file_name)
        return bool(scene.Connect(userMessages) if clear else scene.Import(userMessages))

    def _save_scene(self, file_name: str, userMessages) -> bool:
        scene = self._session.scene
        if file_name.lower().endswith(".mrb"):
            return bool(scene.WriteToMRB(file_name, None, userMessages))
        if not file_name.lower().endswith(".mrml"):
            raise NotImplementedError("the harness saves scenes only as .mrml or .mrb")
        directory = os.path.dirname(os.path.abspath(file_name))
        os.makedirs(directory, exist_ok=True)
        scene.SetRootDirectory(directory)
        scene.SetURL(file_name)
        return bool(scene.Commit())

    @staticmethod
    def _node_name(file_name: str) -> str:
        base = os.path.basename(file_name)
        return base[: len(base) - len(_known_extension(base))]

    @staticmethod
    def _message(userMessages, text: str) -> None:
        import vtk

        logging.error(text)
        if userMessages is not None:
            userMessages.AddMessage(vtk.vtkCommand.ErrorEvent, text)


class SlicerAppStandIn:
    """``slicer.app`` without Qt: the attributes scripted-module Logic and self-tests use.

    ``testingEnabled()`` is True, as when Slicer runs its self-tests: ``slicer.util.errorDisplay``
    and the confirm dialogs then only log (confirm dialogs return their testing value).
    """

    applicationName = "3D Slicer"
    majorVersion = 5
    minorVersion = 13
    documentationBaseUrl = "https://slicer.readthedocs.io/en/latest/"

    def __init__(self, modules: types.SimpleNamespace) -> None:
        self.temporaryPath = ""
        self.slicerHome = ""
        self._modules = modules
        self._session = None
        self._module_manager = _ModuleManagerStandIn(modules)

    # state the harness sets per test
    def _attach(self, session) -> None:
        self._session = session
        self.temporaryPath = session.temporary_path

    def _detach(self) -> None:
        self._session = None

    # application services
    def processEvents(self, *args) -> None:
        pass

    def testingEnabled(self) -> bool:
        return True

    def commandOptions(self):
        return types.SimpleNamespace(noMainWindow=True, testingEnabled=True)

    def translate(self, context, text, *args) -> str:
        return text

    def connect(self, *args, **kwargs) -> None:
        pass

    def disconnect(self, *args, **kwargs) -> None:
        pass

    def settings(self) -> QSettings:
        return QSettings()

    def userSettings(self) -> QSettings:
        return QSettings()

    def moduleManager(self) -> _ModuleManagerStandIn:
        return self._module_manager

    def moduleDocumentationUrl(self, moduleName: str) -> str:
        return f"{self.documentationBaseUrl}user_guide/modules/{moduleName.lower()}.html"

    def layoutManager(self):
        return None

    def applicationLogic(self):
        return self._require_session().app_logic

    def mrmlScene(self):
        return self._require_session().scene

    def coreIOManager(self) -> CoreIOManagerStandIn:
        return CoreIOManagerStandIn(self._require_session())

    ioManager = coreIOManager

    def pauseRender(self) -> None:
        pass

    def resumeRender(self) -> None:
        pass

    def setOverrideCursor(self, *args) -> None:
        pass

    def restoreOverrideCursor(self) -> None:
        pass

    def _require_session(self):
        if self._session is None:
            raise RuntimeError("slicer.app stand-in: no MRML session is open (use the mrml_scene fixture)")
        return self._session


# --------------------------------------------------------------------------------------------------
# slicer.i18n
# --------------------------------------------------------------------------------------------------


def make_i18n_module() -> types.ModuleType:
    """``slicer.i18n``: no translations are installed, so both functions return the source text."""
    module = types.ModuleType("slicer.i18n", "Stand-in for slicer.i18n: translate/tr return the text.")

    def translate(context, text):
        return text

    def tr(text):
        return text

    module.translate = translate
    module.tr = tr
    return module


# --------------------------------------------------------------------------------------------------
# slicer.ScriptedLoadableModule
# --------------------------------------------------------------------------------------------------


class ModuleParentStandIn:
    """What ``qSlicerScriptedLoadableModule`` gives a module class as ``parent``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.title = ""
        self.categories: list[str] = []
        self.dependencies: list[str] = []
        self.contributors: list[str] = []
        self.helpText = ""
        self.acknowledgementText = ""
        self.icon = None
        self.hidden = False
        self.isEntered = False


def make_scripted_loadable_module() -> types.ModuleType:
    """``slicer.ScriptedLoadableModule`` following Slicer 5.x, minus the Qt (icons, developer section)."""
    import slicer

    module = types.ModuleType(
        "slicer.ScriptedLoadableModule",
        "Stand-in for slicer.ScriptedLoadableModule (Testing/Slicer/slicer_standins.py).",
    )

    class ScriptedLoadableModule:
        def __init__(self, parent) -> None:
            super().__init__()
            self.parent = parent
            self.moduleName = self.__class__.__name__
            parent.title = ""
            parent.categories = []
            parent.dependencies = []
            parent.contributors = []
            parent.helpText = ""
            parent.acknowledgementText = ""
            if not hasattr(slicer, "selfTests"):
                slicer.selfTests = {}
            slicer.selfTests[self.moduleName] = self.runTest

        def resourcePath(self, filename: str) -> str:
            return os.path.join(os.path.dirname(self.parent.path), "Resources", filename)

        def getDefaultModuleDocumentationLink(self, docPage=None) -> str:
            url = (
                slicer.app.documentationBaseUrl + docPage
                if docPage
                else slicer.app.moduleDocumentationUrl(self.moduleName)
            )
            return f'<p>For more information, see the <a href="{url}">online documentation</a>.</p>'

        def runTest(self, msec=100, **kwargs) -> None:
            test_module = importlib.import_module(self.__module__)
            class_name = self.moduleName + "Test"
            try:
                test_case_class = getattr(test_module, class_name)
            except AttributeError as error:
                raise AssertionError(f"Test case class not found: {self.__module__}.{class_name} ") from error
            test_case = test_case_class()
            test_case.messageDelay = msec
            test_case.runTest(**kwargs)

    class ScriptedLoadableModuleWidget:
        """Importable and subclassable; not set up (no GUI here: the .ui is tested in Testing/UI)."""

        def __init__(self, parent=None) -> None:
            super().__init__()
            self.moduleName = self.__class__.__name__
            if self.moduleName.endswith("Widget"):
                self.moduleName = self.moduleName[:-6]
            self.developerMode = False
            self.parent = parent
            self.layout = None

        def resourcePath(self, filename: str) -> str:
            return os.path.join(
                os.path.dirname(slicer.util.modulePath(self.moduleName)), "Resources", filename
            )

        def cleanup(self) -> None:
            pass

        def setupDeveloperSection(self) -> None:
            pass

        def setup(self) -> None:
            self.setupDeveloperSection()

    class ScriptedLoadableModuleLogic:
        def __init__(self, parent=None) -> None:
            super().__init__()
            self.moduleName = self.__class__.__name__
            if self.moduleName.endswith("Logic"):
                self.moduleName = self.moduleName[:-5]
            self.isSingletonParameterNode = True

        def getParameterNode(self):
            """The module's ``vtkMRMLScriptedModuleNode`` (created if missing), as in Slicer."""
            scene = slicer.mrmlScene
            if self.isSingletonParameterNode:
                parameterNode = scene.GetSingletonNode(self.moduleName, "vtkMRMLScriptedModuleNode")
                if parameterNode:
                    if parameterNode.GetAttribute("ModuleName") != self.moduleName:
                        parameterNode.SetAttribute("ModuleName", self.moduleName)
                    return parameterNode
            else:
                for parameterNode in self.getAllParameterNodes():
                    return parameterNode
            return scene.AddNode(self.createParameterNode())

        def getAllParameterNodes(self) -> list:
            scene = slicer.mrmlScene
            nodes = (
                scene.GetNthNodeByClass(index, "vtkMRMLScriptedModuleNode")
                for index in range(scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode"))
            )
            return [node for node in nodes if node.GetAttribute("ModuleName") == self.moduleName]

        def createParameterNode(self):
            scene = slicer.mrmlScene
            if scene is None:
                return None
            node = scene.CreateNodeByClass("vtkMRMLScriptedModuleNode")
            node.UnRegister(None)
            if self.isSingletonParameterNode:
                node.SetSingletonTag(self.moduleName)
            node.SetAttribute("ModuleName", self.moduleName)
            node.SetName(scene.GenerateUniqueName(self.moduleName))
            return node

    class ScriptedLoadableModuleTest(unittest.TestCase):
        """Slicer's self-test base; ``delayDisplay`` only logs and screenshots are not taken."""

        def __init__(self, *args, **kwargs) -> None:
            self.moduleTestNames: list[str] = []
            super().__init__(*args, **kwargs)
            self.enableScreenshots = False
            self.screenshotScaleFactor = 1.0
            if not self.moduleTestNames:
                self.moduleTestNames = [
                    name for name in dir(self) if "test" in name and callable(getattr(self, name))
                ]

        def delayDisplay(self, message, requestedDelay=None, msec=None) -> None:
            logging.info(message)

        def takeScreenshot(self, name, description, type=-1) -> None:
            self.delayDisplay(description)

        def runTest(self) -> None:
            if not self.moduleTestNames:
                logging.warning("No test is defined in " + self.__class__.__name__)
                return
            self.setUpClass()
            for test_name in self.moduleTestNames:
                self.setUp()
                logging.info(f"Running {test_name}")
                getattr(self, test_name)()
                self.tearDown()
            self.tearDownClass()

    for cls in (
        ScriptedLoadableModule,
        ScriptedLoadableModuleWidget,
        ScriptedLoadableModuleLogic,
        ScriptedLoadableModuleTest,
    ):
        cls.__module__ = module.__name__
        setattr(module, cls.__name__, cls)
    module.__all__ = [
        "ScriptedLoadableModule",
        "ScriptedLoadableModuleWidget",
        "ScriptedLoadableModuleLogic",
        "ScriptedLoadableModuleTest",
    ]
    return module
