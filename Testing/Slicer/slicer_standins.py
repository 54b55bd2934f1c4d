"""Stand-ins for the parts of the Slicer application that slicer-core does not ship.

Nothing here is MRML. Everything MRML (scene, nodes, storage nodes, module logics, ``slicer.util``)
is the real slicer-core code; see ``slicer_harness``. The stand-ins make a scripted module file
importable and its Logic and self-test runnable outside the application, and reject what Slicer
rejects. Each follows the Slicer 5.10 source named beside it:

- ``qt`` / ``ctk``: the PythonQt-compatible adapter over PySide6 (``pythonqt_adapter``) and the
  CTK widgets of ``slicer_widgets``. Modal dialogs (message boxes, file and input dialogs) are never
  auto-accepted: the test scripts each answer (``slicer_dialogs``, the ``dialogs`` fixture).
- ``slicer.app``: ``SlicerAppStandIn`` (qSlicerCoreApplication/qSlicerApplication as a user runs
  it: ``testingEnabled()`` False unless a test asks, a main window, temporaryPath, settings,
  module manager signals, coreIOManager backed by real storage nodes and module logics, ...).
- ``slicer.modules``: one entry per registered module, ``.logic()`` returns the real logic.
- ``slicer.ScriptedLoadableModule``: the four base classes, after
  Base/Python/slicer/ScriptedLoadableModule.py.
- ``slicer.i18n``: ``translate``/``tr`` return the source text.

``slicer.util`` is slicer-core's real module (``tryWithErrorDisplay``, the ``*Display`` dialogs,
``delayDisplay``, ``reloadScriptedModule``...): nothing here replaces any of it.
``slicer.parameterNodeWrapper`` is in ``parameter_node_wrapper_standin`` (slicer-core lacks it).
"""

from __future__ import annotations

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

from pythonqt_adapter import QT_NAMES_USED  # every qt/ctk name looked up (the adapter records qt.*)

# --------------------------------------------------------------------------------------------------
# qt / ctk
# --------------------------------------------------------------------------------------------------


def make_qt_module() -> types.ModuleType:
    """``qt``: the PythonQt-compatible adapter over PySide6 (``pythonqt_adapter``)."""
    import pythonqt_adapter

    return pythonqt_adapter.install()


class _WidgetModule(types.ModuleType):
    """``ctk``: the stand-in classes of ``slicer_widgets``; any other name is an AttributeError."""

    def __init__(self, name: str, doc: str, classes: dict) -> None:
        super().__init__(name, doc)
        self._classes = dict(classes)
        self.__is_slicer_harness_standin__ = True

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        QT_NAMES_USED.add(f"{self.__name__}.{name}")
        try:
            return self._classes[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None

    def __dir__(self):
        return sorted(self._classes)


def make_ctk_module() -> types.ModuleType:
    """Return the ``ctk`` module: the CTK widgets of ``slicer_widgets`` (real Qt widgets)."""
    make_qt_module()
    import slicer_widgets

    return _WidgetModule(
        "ctk",
        "CTK widgets as PySide6 stand-ins (Testing/Slicer/slicer_widgets.py).",
        slicer_widgets.CTK_CLASSES,
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
    """``qSlicerModuleManager``: ``module(name)`` and its signals, connected PythonQt-style.

    ``emit("moduleAboutToBeUnloaded(QString)", name)`` is what Slicer does before unloading a module
    (application exit): connected slots run, so a module widget's ``cleanup()`` is called.
    """

    SIGNALS = ("moduleAboutToBeUnloaded(QString)", "moduleLoaded(QString)", "moduleAboutToBeLoaded(QString)")

    def __init__(self, modules: types.SimpleNamespace) -> None:
        self._modules = modules
        self._slots: dict[str, list] = {signal: [] for signal in self.SIGNALS}

    def module(self, name: str):
        return getattr(self._modules, name.lower(), None)

    def connect(self, signal: str, slot) -> bool:
        if signal not in self._slots:
            raise ValueError(f"qSlicerModuleManager has no signal {signal!r} (known: {self.SIGNALS})")
        self._slots[signal].append(slot)
        return True

    def disconnect(self, signal: str, slot) -> bool:
        slots = self._slots.get(signal, [])
        if slot in slots:
            slots.remove(slot)
            return True
        return False

    def emit(self, signal: str, *args) -> None:
        for slot in list(self._slots[signal]):
            slot(*args)

    def _reset(self) -> None:
        for slots in self._slots.values():
            slots.clear()


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


def _make_main_window_class():
    """``qSlicerMainWindow`` as a real ``QMainWindow`` (PySide6, through the ``qt`` adapter)."""
    import pythonqt_adapter

    pythonqt_adapter.install()
    from PySide6 import QtWidgets

    class StatusBarStandIn(QtWidgets.QStatusBar):
        """The main window's status bar; ``messages`` records what ``slicer.util.showStatusMessage`` shows."""

        def __init__(self, parent=None) -> None:
            super().__init__(parent)
            self.messages: list[tuple[str, int]] = []

        def showMessage(self, message: str, timeout: int = 0) -> None:
            self.messages.append((message, timeout))
            super().showMessage(message, timeout)

        def clearMessage(self) -> None:
            self.messages.append(("", 0))
            super().clearMessage()

    class MainWindowStandIn(QtWidgets.QMainWindow):
        """``qSlicerMainWindow``: what ``slicer.util.mainWindow()`` finds among
        ``slicer.app.topLevelWidgets()``.

        A user's Slicer has one, so ``slicer.util.errorDisplay`` and friends show a modal message box
        (see ``slicer_dialogs``) instead of only logging, as they do without a main window. Never shown.
        """

        def __init__(self) -> None:
            super().__init__()
            self.setObjectName("qSlicerMainWindow")
            self.setStatusBar(StatusBarStandIn(self))

    pythonqt_adapter.mark_cpp_class(MainWindowStandIn)
    return MainWindowStandIn


_main_window_class = None


def MainWindowStandIn():
    global _main_window_class
    if _main_window_class is None:
        _main_window_class = _make_main_window_class()
    return _main_window_class()


class SlicerAppStandIn:
    """``slicer.app`` without Qt: the attributes scripted-module Logic and self-tests use.

    Follows Slicer 5.10's ``qSlicerCoreApplication``/``qSlicerApplication`` as a user runs it:
    ``testingEnabled()`` is False (Slicer started without ``--testing``) and there is a main window,
    so the real ``slicer.util`` dialogs are modal and must be answered (``slicer_dialogs``). A test
    that runs as Slicer's ctest would (``--testing``) asks for it with the ``slicer_testing_enabled``
    fixture or the ``slicer_testing`` marker; then ``errorDisplay`` only logs and the confirm
    dialogs return their testing value, as in Slicer.
    """

    applicationName = "3D Slicer"
    majorVersion = 5
    minorVersion = 13
    documentationBaseUrl = "https://slicer.readthedocs.io/en/latest/"
    #: What the application's settings panels register at startup (qSlicerSettingsDeveloperPanel).
    DEFAULT_SETTINGS: typing.ClassVar[dict[str, object]] = {
        "Developer/DeveloperMode": False,
        "Developer/SelfTestDisplayMessageDelay": 0.0,
    }

    def __init__(self, modules: types.SimpleNamespace) -> None:
        self.temporaryPath = ""
        self.slicerHome = ""
        self._modules = modules
        self._session = None
        self._module_manager = _ModuleManagerStandIn(modules)
        self._testing_enabled = False
        self._main_window = MainWindowStandIn()

    # state the harness sets per test
    def _attach(self, session) -> None:
        self._session = session
        self.temporaryPath = session.temporary_path
        self._testing_enabled = False
        self._main_window = MainWindowStandIn()
        self._module_manager._reset()
        settings = self.settings()
        for key, value in self.DEFAULT_SETTINGS.items():
            if not settings.contains(key):
                settings.setValue(key, value)

    def _detach(self) -> None:
        self._session = None
        self._testing_enabled = False

    def _set_testing_enabled(self, enabled: bool) -> None:
        """What ``Slicer --testing`` sets at startup; tests use the ``slicer_testing_enabled`` fixture."""
        self._testing_enabled = bool(enabled)

    # application services
    def processEvents(self, *args) -> None:
        """The session's real ``QApplication`` processes its events (QProcess output, timers...)."""
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents(*args)

    def testingEnabled(self) -> bool:
        return self._testing_enabled

    def commandOptions(self):
        return types.SimpleNamespace(noMainWindow=False, testingEnabled=self._testing_enabled)

    def topLevelWidgets(self) -> list:
        return [self._main_window]

    def mainWindow(self) -> MainWindowStandIn:
        return self._main_window

    def translate(self, context, text, *args) -> str:
        return text

    def connect(self, *args, **kwargs) -> None:
        pass

    def disconnect(self, *args, **kwargs) -> None:
        pass

    def settings(self):
        import qt

        return qt.QSettings()

    def userSettings(self):
        import qt

        return qt.QSettings()

    def moduleManager(self) -> _ModuleManagerStandIn:
        return self._module_manager

    def moduleDocumentationUrl(self, moduleName: str) -> str:
        return f"{self.documentationBaseUrl}user_guide/modules/{moduleName.lower()}.html"

    def layoutManager(self):
        """qSlicerLayoutManager on the session's scene (``slicer_widgets.qSlicerLayoutManager``)."""
        return self._require_session().layoutManager()

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
        from PySide6.QtWidgets import QApplication

        QApplication.setOverrideCursor(*args)

    def restoreOverrideCursor(self) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.restoreOverrideCursor()

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
    """``slicer.ScriptedLoadableModule`` following Slicer 5.10's Base/Python/slicer/ScriptedLoadableModule.py.

    Same defaults, resource paths, self-test registration and discovery, clean-up on
    ``moduleAboutToBeUnloaded``, Reload (the real ``slicer.util.reloadScriptedModule``), Test and
    Reload-and-Test (inside the real ``tryWithErrorDisplay``), and ``delayDisplay`` through the real
    ``slicer.util.delayDisplay``. Qt parts (icon, developer section) use whatever ``qt``/``ctk`` is
    installed. Not provided: ``onEditSource`` and screenshots (``takeScreenshot`` with
    ``enableScreenshots`` raises NotImplementedError: there is no layout manager to grab).
    """
    import slicer

    module = types.ModuleType(
        "slicer.ScriptedLoadableModule",
        "Stand-in for slicer.ScriptedLoadableModule, after Slicer 5.10 (Testing/Slicer/slicer_standins.py).",
    )

    def tr(text: str) -> str:
        return slicer.i18n.tr(text)

    class ScriptedLoadableModule:
        def __init__(self, parent) -> None:
            super().__init__()
            self.parent = parent
            self.moduleName = self.__class__.__name__
            parent.title = ""
            parent.categories = []
            parent.dependencies = []
            parent.contributors = ["Andras Lasso (PerkLab, Queen's University), Steve Pieper (Isomics)"]
            parent.helpText = tr(
                "\nThis module was created from a template and the help section has not yet been updated.\n"
            )
            # Slicer sets its own acknowledgement boilerplate here; a module is expected to replace it.
            parent.acknowledgementText = tr("\nThis module's acknowledgement has not been written.\n")
            # The icon is Resources/Icons/<ModuleName>.svg or .png next to the module file.
            moduleDir = os.path.dirname(self.parent.path)
            for extension in (".svg", ".png"):
                iconPath = os.path.join(moduleDir, "Resources/Icons", self.moduleName + extension)
                if os.path.isfile(iconPath):
                    import qt

                    parent.icon = qt.QIcon(iconPath)
                    break
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
            return (
                "<p>"
                + tr("For more information, see the {url_start}online documentation{url_end}.").format(
                    url_start=f'<a href="{url}">', url_end="</a>"
                )
                + "</p>"
            )

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
        """Without a parent, Slicer makes a ``slicer.qMRMLWidget`` and calls ``setup()`` itself."""

        def __init__(self, parent=None) -> None:
            super().__init__()
            self.moduleName = self.__class__.__name__
            if self.moduleName.endswith("Widget"):
                self.moduleName = self.moduleName[:-6]
            self.developerMode = slicer.util.settingsValue(
                "Developer/DeveloperMode", False, converter=slicer.util.toBool
            )
            if not parent:
                import qt

                self.parent = slicer.qMRMLWidget()  # AttributeError without the qMRML widget stand-ins
                self.parent.setLayout(qt.QVBoxLayout())
                self.parent.setMRMLScene(slicer.mrmlScene)
            else:
                self.parent = parent
            self.layout = self.parent.layout()
            if not parent:
                self.setup()
                self.parent.show()
            slicer.app.moduleManager().connect(
                "moduleAboutToBeUnloaded(QString)", self._onModuleAboutToBeUnloaded
            )

        def resourcePath(self, filename: str) -> str:
            return os.path.join(
                os.path.dirname(slicer.util.modulePath(self.moduleName)), "Resources", filename
            )

        def cleanup(self) -> None:
            """Called when the module is about to be unloaded (application exit, Reload)."""

        def _onModuleAboutToBeUnloaded(self, moduleName) -> None:
            if moduleName == self.moduleName:
                self.cleanup()
                if self.developerMode and hasattr(self, "reloadTestMenuButton"):
                    import qt

                    qt.QSettings().setValue(
                        f"{self.moduleName}/PreferredReloadAndTestAction",
                        self.reloadTestMenuButton.defaultAction().objectName,
                    )
                slicer.app.moduleManager().disconnect(
                    "moduleAboutToBeUnloaded(QString)", self._onModuleAboutToBeUnloaded
                )

        def setupDeveloperSection(self) -> None:
            """Developer mode only (off unless the setting Developer/DeveloperMode is true)."""
            if not self.developerMode:
                return
            import ctk
            import qt

            self.reloadCollapsibleButton = ctk.ctkCollapsibleButton()
            self.reloadCollapsibleButton.text = "Reload && Test"
            self.layout.addWidget(self.reloadCollapsibleButton)
            reloadFormLayout = qt.QFormLayout(self.reloadCollapsibleButton)
            self.reloadButton = qt.QPushButton("Reload")
            self.reloadButton.toolTip = "Reload this module."
            self.reloadButton.connect("clicked()", self.onReload)
            self.testButton = qt.QPushButton("Test")
            self.testButton.connect("clicked()", self.onTest)
            self.reloadAndTestButton = qt.QPushButton("Reload and Test")
            self.reloadAndTestButton.connect("clicked()", self.onReloadAndTest)
            rowLayout = qt.QHBoxLayout()
            for button in (self.reloadButton, self.testButton, self.reloadAndTestButton):
                rowLayout.addWidget(button)
            reloadFormLayout.addRow(rowLayout)

        def setup(self) -> None:
            self.setupDeveloperSection()

        def onReload(self) -> None:
            """Slicer's Reload: ``slicer.util.reloadScriptedModule`` (the real one) re-imports the file."""
            print("\n" * 2)
            print("-" * 30)
            print("Reloading module: " + self.moduleName)
            print("-" * 30)
            print("\n" * 2)
            slicer.util.reloadScriptedModule(self.moduleName)

        def _selfTestDelay(self) -> int:
            return int(slicer.app.userSettings().value("Developer/SelfTestDisplayMessageDelay"))

        def onTest(self, **kwargs) -> None:
            with slicer.util.tryWithErrorDisplay("Test failed."):
                test = slicer.selfTests[self.moduleName]
                test(msec=self._selfTestDelay(), **kwargs)

        def onReloadAndTest(self, **kwargs) -> None:
            with slicer.util.tryWithErrorDisplay("Reload and Test failed."):
                self.onReload()
                test = slicer.selfTests[self.moduleName]
                test(msec=self._selfTestDelay(), **kwargs)

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
        """Slicer's self-test base; ``delayDisplay`` is the real ``slicer.util.delayDisplay``."""

        def __init__(self, *args, **kwargs) -> None:
            self.moduleTestNames: list[str] = []
            super().__init__(*args, **kwargs)
            super(unittest.TestCase, self).__init__()
            self.enableScreenshots = False
            self.screenshotScaleFactor = 1.0
            if not self.moduleTestNames:
                self.moduleTestNames = [
                    name for name in dir(self) if "test" in name and callable(getattr(self, name))
                ]

        def delayDisplay(self, message, requestedDelay=None, msec=None) -> None:
            if hasattr(self, "messageDelay"):
                msec = self.messageDelay
            if msec is None:
                msec = requestedDelay
            if msec is None:
                msec = 100
            slicer.util.delayDisplay(message, msec)

        def takeScreenshot(self, name, description, type=-1) -> None:
            self.delayDisplay(description)
            if not self.enableScreenshots:
                return
            raise NotImplementedError("takeScreenshot: the test harness has no layout manager to grab")

        def setUp(self) -> None:
            return

        def tearDown(self) -> None:
            return

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
