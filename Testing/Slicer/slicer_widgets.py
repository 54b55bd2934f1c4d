"""CTK and qMRML widgets as real Qt widgets (PySide6) bound to the slicer-core scene.

One set for every suite: Testing/Slicer installs them as ``ctk.*`` and ``slicer.qMRML*`` (see
``slicer_harness``), Testing/UI loads the module's .ui file with :class:`SlicerUiLoader`. Each class
names the Slicer or CTK header it follows; each declares the Qt properties, signals and slots of that
header that PRIME or Slicer's own Python (``slicer.util``, the parameterNodeWrapper GUI connectors)
use, so the ``.ui`` file's properties land on real properties and a misspelt one is an error.

Signals that carry a VTK object are declared ``Signal(object)`` and registered with the adapter under
their C++ signature (``currentNodeChanged(vtkMRMLNode*)``), so Slicer-style code connects to them by
that signature. The ``.ui`` file's ``mrmlSceneChanged(vtkMRMLScene*)`` → ``setMRMLScene(vtkMRMLScene*)``
connections are made the same way by :class:`SlicerUiLoader`.

What they do not do: no rendering in slice views, no Segment Editor effects that paint (the editor
holds its state in the real ``vtkSlicerSegmentEditorLogic`` and ``vtkMRMLSegmentEditorNode`` and
shows the effect buttons), no file browser behind the path field's button.
"""

from __future__ import annotations

import os
import re
import weakref
import xml.etree.ElementTree as ET

import pythonqt_adapter
import shiboken6
from PySide6 import QtCore, QtGui, QtUiTools, QtWidgets
from PySide6.QtCore import Property, Signal, Slot

__all__ = [
    "CTK_CLASSES",
    "SLICER_CLASSES",
    "SlicerUiLoader",
    "ctkCollapsibleButton",
    "ctkPathLineEdit",
    "qMRMLNodeComboBox",
    "qMRMLSegmentEditorWidget",
    "qMRMLSegmentSelectorWidget",
    "qMRMLWidget",
    "qSlicerScriptedLoadableModuleWidget",
]

_VTK_SIGNATURE = re.compile(r"\bvtk\w+\s*\*")


def _cpp(cls, **signatures):
    """Register ``cls`` as a C++ class stand-in with its C++ signal signatures → PySide6 ones."""
    pythonqt_adapter.mark_cpp_class(cls)
    if signatures:
        pythonqt_adapter.register_signal_signatures(cls, signatures)
    return cls


# --------------------------------------------------------------------------------------------------
# qMRMLWidget (Slicer 5.10, Libs/MRML/Widgets/qMRMLWidget.h)
# --------------------------------------------------------------------------------------------------


class qMRMLWidget(QtWidgets.QWidget):  # noqa: N801 (named as the Slicer class)
    """A widget that holds the scene and emits ``mrmlSceneChanged(vtkMRMLScene*)`` when it is set."""

    mrmlSceneChanged = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._scene = None

    @Slot(object)
    def setMRMLScene(self, scene) -> None:
        if scene is self._scene:
            return
        self._scene = scene
        self.mrmlSceneChanged.emit(scene)

    def mrmlScene(self):
        return self._scene


_cpp(
    qMRMLWidget,
    **{
        "mrmlSceneChanged(vtkMRMLScene*)": "mrmlSceneChanged(PyObject)",
        "setMRMLScene(vtkMRMLScene*)": "setMRMLScene(PyObject)",
    },
)


class _SceneObserver:
    """VTK observers of a widget (qvtkConnect in the C++ widgets): removed when the scene changes, and
    when the widget is deleted (as qvtkConnect's connections go with their QObject)."""

    def __init__(self, owner) -> None:
        self._owner = weakref.ref(owner)
        self._observed = []

    def observe(self, obj, events, callback) -> None:
        method = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else (lambda: callback)

        def call(caller, event, *args):
            ownerRef = getattr(self, "_owner", None)  # None once the widget was garbage-collected
            owner, target = (ownerRef() if ownerRef else None), method()
            if owner is None or target is None or not shiboken6.isValid(owner):
                if ownerRef is not None:
                    self.clear()  # the widget is gone
                return
            target(caller, event, *args)

        for event in events:
            self._observed.append((obj, obj.AddObserver(event, call)))

    def clear(self) -> None:
        for obj, tag in getattr(self, "_observed", ()):
            obj.RemoveObserver(tag)
        self._observed = []


# --------------------------------------------------------------------------------------------------
# qMRMLNodeComboBox (Slicer 5.10, Libs/MRML/Widgets/qMRMLNodeComboBox.h/.cxx)
# --------------------------------------------------------------------------------------------------


class qMRMLNodeComboBox(QtWidgets.QWidget):  # noqa: N801
    """Lists the scene's nodes of ``nodeTypes`` (and their subclasses if ``showChildNodeTypes``), hidden
    ones only with ``showHidden``; "None" first if ``noneEnabled``; "Create new ..." / "Delete current" /
    "Rename current" items when enabled. Follows the scene: a node added or removed updates the list, a
    removed current node leaves the selection (the first node, or None if ``noneEnabled``); with
    ``noneEnabled`` false the first matching node is selected as soon as there is one."""

    currentNodeChanged = Signal((object,), (bool,))
    currentNodeIDChanged = Signal(str)
    nodeActivated = Signal(object)
    nodeAdded = Signal(object)
    nodeAddedByUser = Signal(object)
    nodeAboutToBeRemoved = Signal(object)
    currentNodeRenamed = Signal(str)
    nodeAboutToBeEdited = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._combo = QtWidgets.QComboBox(self)
        self._combo.setObjectName("ComboBox")
        layout.addWidget(self._combo)
        self._scene = None
        self._observer = _SceneObserver(self)
        self._nodeTypes: list[str] = []
        self._hideChildNodeTypes: list[str] = []
        self._attributes: dict[tuple[str, str], object] = {}
        self._flags = {
            "showHidden": False,
            "showChildNodeTypes": True,
            "noneEnabled": False,
            "addEnabled": True,
            "removeEnabled": True,
            "editEnabled": False,
            "renameEnabled": False,
            "selectNodeUponCreation": True,
        }
        self._baseName = ""
        self._noneDisplay = "None"
        self._current = None
        self._model: list = []
        self._updating = False
        self._combo.activated.connect(self._onActivated)
        self._refresh()

    # --- properties (Q_PROPERTY in the header)
    def _getNodeTypes(self) -> list[str]:
        return list(self._nodeTypes)

    def setNodeTypes(self, nodeTypes) -> None:
        self._nodeTypes = [str(t) for t in nodeTypes]
        self._refresh(selectDefault=True)

    nodeTypes = Property("QStringList", _getNodeTypes, setNodeTypes)

    def _flag(name):  # noqa: N805 (class-body helper)
        def getter(self):
            return self._flags[name]

        def setter(self, value):
            self._flags[name] = bool(value)
            self._refresh(selectDefault=True)

        return getter, setter

    showHidden = Property(bool, *_flag("showHidden"))
    showChildNodeTypes = Property(bool, *_flag("showChildNodeTypes"))
    noneEnabled = Property(bool, *_flag("noneEnabled"))
    addEnabled = Property(bool, *_flag("addEnabled"))
    removeEnabled = Property(bool, *_flag("removeEnabled"))
    editEnabled = Property(bool, *_flag("editEnabled"))
    renameEnabled = Property(bool, *_flag("renameEnabled"))
    selectNodeUponCreation = Property(bool, *_flag("selectNodeUponCreation"))
    del _flag

    def setNoneEnabled(self, value: bool) -> None:
        self.noneEnabled = value

    def setAddEnabled(self, value: bool) -> None:
        self.addEnabled = value

    def setRemoveEnabled(self, value: bool) -> None:
        self.removeEnabled = value

    def setRenameEnabled(self, value: bool) -> None:
        self.renameEnabled = value

    def setShowHidden(self, value: bool) -> None:
        self.showHidden = value

    def setShowChildNodeTypes(self, value: bool) -> None:
        self.showChildNodeTypes = value

    def _getHideChildNodeTypes(self) -> list[str]:
        return list(self._hideChildNodeTypes)

    def setHideChildNodeTypes(self, nodeTypes) -> None:
        self._hideChildNodeTypes = [str(t) for t in nodeTypes]
        self._refresh(selectDefault=True)

    hideChildNodeTypes = Property("QStringList", _getHideChildNodeTypes, setHideChildNodeTypes)

    def _getBaseName(self) -> str:
        return self._baseName

    def setBaseName(self, baseName: str, nodeType: str = "") -> None:
        self._baseName = str(baseName)

    baseName = Property(str, _getBaseName, setBaseName)

    def _getNoneDisplay(self) -> str:
        return self._noneDisplay

    def setNoneDisplay(self, text: str) -> None:
        self._noneDisplay = str(text)
        self._refresh()

    noneDisplay = Property(str, _getNoneDisplay, setNoneDisplay)

    def currentNodeID(self) -> str:
        return self._current.GetID() if self._current is not None else ""

    def setCurrentNodeID(self, nodeID: str) -> None:
        node = self._scene.GetNodeByID(nodeID) if self._scene is not None and nodeID else None
        self.setCurrentNode(node)

    currentNodeID = Property(str, currentNodeID, setCurrentNodeID, notify=currentNodeIDChanged)  # type: ignore[assignment]

    # --- the scene
    @Slot(object)
    def setMRMLScene(self, scene) -> None:
        if scene is self._scene:
            return
        self._observer.clear()
        self._scene = scene
        self._current = None
        self._rebuildModel()
        if scene is not None:
            import vtk

            self._observer.observe(scene, (scene.NodeAddedEvent,), self._onNodeAdded)
            self._observer.observe(scene, (scene.NodeAboutToBeRemovedEvent,), self._onNodeAboutToBeRemoved)
            self._observer.observe(
                scene, (scene.NodeRemovedEvent, scene.EndBatchProcessEvent), self._onSceneChanged
            )
            self._observer.observe(
                scene,
                (scene.EndCloseEvent, scene.EndImportEvent, scene.EndRestoreEvent),
                self._onSceneChanged,
            )
            self._observer.observe(scene, (vtk.vtkCommand.ModifiedEvent,), lambda *a: self._refresh())
        self._refresh(selectDefault=True)
        self._emitCurrent()

    def mrmlScene(self):
        return self._scene

    def nodeCount(self) -> int:
        return len(self._nodes())

    def nodeFromIndex(self, index: int):
        nodes = self._nodes()
        return nodes[index] if 0 <= index < len(nodes) else None

    def currentNode(self):
        return self._current

    def currentNodeId(self) -> str:  # deprecated spelling, still in the header
        return self.currentNodeID

    @Slot(object)
    def setCurrentNode(self, node) -> None:
        if isinstance(node, str):
            self.setCurrentNodeID(node)
            return
        if node is not None and node not in self._nodes():
            node = None  # as setCurrentNodeID: a node it does not list selects "None" (or index -1)
        if node is self._current:
            return
        self._current = node
        self._refresh()
        self._emitCurrent()

    def setCurrentNodeIndex(self, index: int) -> None:
        self.setCurrentNode(self.nodeFromIndex(index))

    def addAttribute(self, nodeType: str, attributeName: str, attributeValue=None) -> None:
        self._attributes[(str(nodeType), str(attributeName))] = attributeValue
        self._refresh(selectDefault=True)

    def removeAttribute(self, nodeType: str, attributeName: str) -> None:
        self._attributes.pop((str(nodeType), str(attributeName)), None)
        self._refresh(selectDefault=True)

    @Slot()
    def removeCurrentNode(self) -> None:
        if self._current is not None and self._scene is not None:
            self._scene.RemoveNode(self._current)

    @Slot(str)
    def addNode(self, nodeType: str = ""):
        """The "Create new ..." item: a node of the first type, named from ``baseName``, selected."""
        if self._scene is None or not self._nodeTypes:
            return None
        nodeType = nodeType or self._nodeTypes[0]
        baseName = self._baseName or self._scene.GetTagByClassName(nodeType) or nodeType
        node = self._scene.AddNewNodeByClass(nodeType, self._scene.GenerateUniqueName(baseName))
        self.nodeAddedByUser.emit(node)
        if self._flags["selectNodeUponCreation"]:
            self.setCurrentNode(node)
        return node

    # --- internals
    def _matches(self, node) -> bool:
        className = node.GetClassName()
        if not any(
            node.IsA(t) if self._flags["showChildNodeTypes"] else className == t for t in self._nodeTypes
        ):
            return False
        if any(node.IsA(t) and className != t for t in self._hideChildNodeTypes):
            return False
        if not self._flags["showHidden"] and node.GetHideFromEditors():
            return False
        for (nodeType, attribute), value in self._attributes.items():
            if node.IsA(nodeType) and value is not None and node.GetAttribute(attribute) != str(value):
                return False
        return True

    def _rebuildModel(self) -> None:
        """qMRMLSceneModel::updateScene: the model lists the scene's nodes as they are now."""
        if self._scene is None:
            self._model = []
            return
        nodes = self._scene.GetNodes()
        self._model = [nodes.GetItemAsObject(i) for i in range(nodes.GetNumberOfItems())]

    def _nodes(self) -> list:
        """The listed nodes: the scene model's (Slicer's qMRMLSceneModel adds no node while the scene
        is importing, and removes none while it is closing; it is rebuilt when either ends)."""
        if self._scene is None or not self._nodeTypes:
            return []
        return [n for n in self._model if self._matches(n)]

    def _refresh(self, selectDefault: bool = False) -> None:
        nodes = self._nodes()
        if self._current is not None and self._current not in nodes:
            self._current = None
        if selectDefault and self._current is None and not self._flags["noneEnabled"] and nodes:
            self._current = nodes[0]
        self._updating = True
        try:
            self._combo.clear()
            if self._flags["noneEnabled"]:
                self._combo.addItem(self._noneDisplay, "")
            for node in nodes:
                self._combo.addItem(node.GetName() or node.GetID(), node.GetID())
            extras = []
            if self._flags["addEnabled"] and self._nodeTypes:
                extras.append(
                    ("Create new " + self._nodeTypes[0].replace("vtkMRML", "").replace("Node", ""), "#add")
                )
            if self._flags["removeEnabled"]:
                extras.append(("Delete current", "#remove"))
            if self._flags["renameEnabled"]:
                extras.append(("Rename current", "#rename"))
            if extras:
                self._combo.insertSeparator(QtWidgets.QComboBox.count(self._combo))
                for text, data in extras:
                    self._combo.addItem(text, data)
            index = self._combo.findData(self._current.GetID() if self._current is not None else "")
            self._combo.setCurrentIndex(
                max(index, 0) if (self._current is not None or self._flags["noneEnabled"]) else -1
            )
        finally:
            self._updating = False

    def _emitCurrent(self) -> None:
        node = self._current
        self.currentNodeChanged[object].emit(node)
        self.currentNodeChanged[bool].emit(node is not None)
        self.currentNodeIDChanged.emit(node.GetID() if node is not None else "")

    def _onActivated(self, index: int) -> None:
        if self._updating:
            return
        data = self._combo.itemData(index)
        if data == "#add":
            self.addNode()
        elif data == "#remove":
            self.removeCurrentNode()
        elif data == "#rename":
            pass  # a dialog in Slicer; not offered headless
        else:
            node = self._scene.GetNodeByID(data) if data and self._scene is not None else None
            self.setCurrentNode(node)
            self.nodeActivated.emit(node)

    def _onNodeAdded(self, scene, event, *args) -> None:
        if scene.IsImporting():
            return  # node IDs and references are not valid until the import is completed
        self._rebuildModel()
        before = self._current
        self._refresh(selectDefault=True)
        if self._current is not before:
            self._emitCurrent()

    def _onNodeAboutToBeRemoved(self, scene, event, *args) -> None:
        pass

    def _onSceneChanged(self, scene, event, *args) -> None:
        if scene is None:
            return
        if event == scene.NodeRemovedEvent and scene.IsClosing():
            return
        self._rebuildModel()
        before = self._current
        self._refresh(selectDefault=True)
        if self._current is not before:
            self._emitCurrent()


_cpp(
    qMRMLNodeComboBox,
    **{
        "currentNodeChanged(vtkMRMLNode*)": "currentNodeChanged(PyObject)",
        "nodeActivated(vtkMRMLNode*)": "nodeActivated(PyObject)",
        "nodeAdded(vtkMRMLNode*)": "nodeAdded(PyObject)",
        "nodeAddedByUser(vtkMRMLNode*)": "nodeAddedByUser(PyObject)",
        "nodeAboutToBeRemoved(vtkMRMLNode*)": "nodeAboutToBeRemoved(PyObject)",
        "nodeAboutToBeEdited(vtkMRMLNode*)": "nodeAboutToBeEdited(PyObject)",
        "setMRMLScene(vtkMRMLScene*)": "setMRMLScene(PyObject)",
        "setCurrentNode(vtkMRMLNode*)": "setCurrentNode(PyObject)",
    },
)


# --------------------------------------------------------------------------------------------------
# qMRMLSegmentSelectorWidget (Slicer 5.10, Libs/MRML/Widgets/qMRMLSegmentSelectorWidget.h/.cxx)
# --------------------------------------------------------------------------------------------------


class qMRMLSegmentSelectorWidget(qMRMLWidget):  # noqa: N801
    """A segmentation node selector and a combo box of its segments (single selection) that follows the
    segmentation's segments. As in Slicer: with ``noneEnabled`` the segment list starts with "None" and
    a newly chosen segmentation shows "None" until a segment is picked; without it, its first segment
    is selected; ``setCurrentSegmentID`` of an unknown ID changes nothing."""

    currentNodeChanged = Signal((object,), (bool,))
    currentSegmentChanged = Signal(str)
    segmentSelectionChanged = Signal("QStringList")
    nodeAboutToBeEdited = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._nodeSelector = qMRMLNodeComboBox(self)
        self._nodeSelector.setObjectName("MRMLNodeComboBox_Segmentation")
        self._nodeSelector.nodeTypes = ["vtkMRMLSegmentationNode"]
        self._nodeSelector.addEnabled = False
        self._nodeSelector.removeEnabled = False
        self._segmentCombo = QtWidgets.QComboBox(self)
        self._segmentCombo.setObjectName("comboBox_Segment")
        layout.addWidget(self._nodeSelector)
        layout.addWidget(self._segmentCombo)
        self._segmentationObserver = _SceneObserver(self)
        self._segmentation = None
        self._segmentID = ""
        self._flags = {
            "editEnabled": False,
            "segmentationNodeSelectorVisible": True,
            "multiSelection": False,
            "horizontalLayout": False,
        }
        self.mrmlSceneChanged.connect(self._nodeSelector.setMRMLScene)
        self._nodeSelector.currentNodeChanged[object].connect(self._onCurrentNodeChanged)
        self._segmentCombo.currentIndexChanged.connect(self._onCurrentSegmentChanged)

    def _getNoneEnabled(self) -> bool:
        return self._nodeSelector.noneEnabled

    def setNoneEnabled(self, value: bool) -> None:
        self._nodeSelector.noneEnabled = value

    noneEnabled = Property(bool, _getNoneEnabled, setNoneEnabled)

    def _flag(name):  # noqa: N805
        def getter(self):
            return self._flags[name]

        def setter(self, value):
            self._flags[name] = bool(value)
            if name == "segmentationNodeSelectorVisible":
                self._nodeSelector.setVisible(bool(value))

        return getter, setter

    editEnabled = Property(bool, *_flag("editEnabled"))
    segmentationNodeSelectorVisible = Property(bool, *_flag("segmentationNodeSelectorVisible"))
    multiSelection = Property(bool, *_flag("multiSelection"))
    horizontalLayout = Property(bool, *_flag("horizontalLayout"))
    del _flag

    def _getSelectNodeUponCreation(self) -> bool:
        return self._nodeSelector.selectNodeUponCreation

    def setSelectNodeUponCreation(self, value: bool) -> None:
        self._nodeSelector.selectNodeUponCreation = value

    selectNodeUponCreation = Property(bool, _getSelectNodeUponCreation, setSelectNodeUponCreation)

    def currentNode(self):
        return self._nodeSelector.currentNode()

    def currentNodeID(self) -> str:
        return self._nodeSelector.currentNodeID

    @Slot(object)
    def setCurrentNode(self, node) -> None:
        self._nodeSelector.setCurrentNode(node)

    def setCurrentNodeID(self, nodeID: str) -> None:
        self._nodeSelector.setCurrentNodeID(nodeID)

    def currentSegmentID(self) -> str:
        return self._segmentID

    def segmentIDs(self) -> list[str]:
        items = [self._segmentCombo.itemData(i) for i in range(QtWidgets.QComboBox.count(self._segmentCombo))]
        return [item for item in items if item != self._NONE]

    def selectedSegmentIDs(self) -> list[str]:
        return [self._segmentID] if self._segmentID else []

    @Slot(str)
    def setCurrentSegmentID(self, segmentID: str) -> None:
        """As Slicer: "" selects "None" (if enabled); an ID not in the list changes nothing."""
        if not segmentID and self.noneEnabled:
            self._segmentCombo.setCurrentIndex(0)
            return
        index = self._segmentCombo.findData(segmentID)
        if index != -1 and self._segmentCombo.currentIndex != index:
            self._segmentCombo.setCurrentIndex(index)

    def setSelectedSegmentIDs(self, segmentIDs) -> None:
        self.setCurrentSegmentID(segmentIDs[0] if segmentIDs else "")

    # --- internals (qMRMLSegmentSelectorWidget.cxx: onCurrentNodeChanged, populateSegmentCombobox,
    # onCurrentSegmentChanged)
    _NONE = "None"

    def _onCurrentNodeChanged(self, node) -> None:
        if node is not self._segmentation:
            self._segmentationObserver.clear()
            self._segmentation = node
            if node is not None:
                segmentation = node.GetSegmentation()
                events = (
                    segmentation.SegmentAdded,
                    segmentation.SegmentRemoved,
                    segmentation.SegmentModified,
                )
                self._segmentationObserver.observe(segmentation, events, lambda *a: self._populate())
            self._populate()
        self.currentNodeChanged[object].emit(node)
        self.currentNodeChanged[bool].emit(node is not None)

    def _populate(self) -> None:
        combo = self._segmentCombo
        blocked = combo.blockSignals(True)
        combo.clear()
        combo.blockSignals(blocked)
        node = self._segmentation
        content = node.GetSegmentation() if node is not None else None
        if content is None or content.GetNumberOfSegments() == 0:
            combo.setVisible(False)
            return
        combo.setVisible(True)
        blocked = combo.blockSignals(True)
        if self.noneEnabled:
            combo.addItem(self._NONE, self._NONE)
        segmentIDs = [content.GetNthSegmentID(i) for i in range(content.GetNumberOfSegments())]
        for segmentID in segmentIDs:
            combo.addItem(content.GetSegment(segmentID).GetName(), segmentID)
        combo.blockSignals(blocked)
        current = self._segmentID
        if (self.noneEnabled and not current) or (current and current in segmentIDs):
            blocked = combo.blockSignals(True)
            self.setCurrentSegmentID(current)  # restore the stored selection, silently
            combo.blockSignals(blocked)
        else:
            blocked = combo.blockSignals(True)
            combo.setCurrentIndex(-1)
            combo.blockSignals(blocked)
            combo.setCurrentIndex(1 if self.noneEnabled else 0)  # the first segment, with the signal

    def _onCurrentSegmentChanged(self, index: int) -> None:
        if self._segmentation is None:
            return
        segmentID = self._segmentCombo.itemData(index) if index >= 0 else ""
        self._segmentID = "" if segmentID in (None, self._NONE) else str(segmentID)
        self.currentSegmentChanged.emit(self._segmentID)
        self.segmentSelectionChanged.emit(self.selectedSegmentIDs())


_cpp(
    qMRMLSegmentSelectorWidget,
    **{
        "currentNodeChanged(vtkMRMLNode*)": "currentNodeChanged(PyObject)",
        "nodeAboutToBeEdited(vtkMRMLNode*)": "nodeAboutToBeEdited(PyObject)",
        "setCurrentNode(vtkMRMLNode*)": "setCurrentNode(PyObject)",
    },
)


# --------------------------------------------------------------------------------------------------
# qMRMLSegmentEditorWidget (Slicer 5.10,
# Modules/Loadable/Segmentations/Widgets/qMRMLSegmentEditorWidget.h/.cxx)
# --------------------------------------------------------------------------------------------------

#: Segment Editor effects of a Slicer 5.10 install without extensions (effectNameOrder defaults).
_EFFECTS = (
    "Paint",
    "Draw",
    "Erase",
    "Level tracing",
    "Grow from seeds",
    "Fill between slices",
    "Margin",
    "Hollow",
    "Smoothing",
    "Scissors",
    "Islands",
    "Logical operators",
    "Mask volume",
    "Threshold",
)


class qMRMLSegmentEditorWidget(qMRMLWidget):  # noqa: N801
    """The Segment Editor's state, held by the real ``vtkSlicerSegmentEditorLogic`` on the real
    ``vtkMRMLSegmentEditorNode``: segmentation and source volume, current segment, undo states, the
    effect buttons in ``effectNameOrder`` (others only if ``unorderedEffectsVisible``), the active
    effect. It does not paint: activating an effect records its name only."""

    currentSegmentIDChanged = Signal(str)
    sourceVolumeNodeChanged = Signal(object)
    masterVolumeNodeChanged = Signal(object)
    segmentationNodeChanged = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        import slicer

        self._logic = slicer.vtkSlicerSegmentEditorLogic()
        self._editorNode = None
        self._editorNodeObserver = _SceneObserver(self)
        self._effectOrder: list[str] = []
        self._activeEffect = None
        self._flags = {
            name: True
            for name in (
                "segmentationNodeSelectorVisible",
                "sourceVolumeNodeSelectorVisible",
                "maskingSectionVisible",
                "specifyGeometryButtonVisible",
                "show3DButtonVisible",
                "addRemoveSegmentButtonsVisible",
                "autoShowSourceVolumeNode",
                "switchToSegmentationsButtonVisible",
                "undoEnabled",
                "unorderedEffectsVisible",
                "jumpToSelectedSegmentEnabled",
            )
        }
        self._flags["readOnly"] = False
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._segmentationSelector = qMRMLNodeComboBox(self)
        self._segmentationSelector.setObjectName("SegmentationNodeComboBox")
        self._segmentationSelector.nodeTypes = ["vtkMRMLSegmentationNode"]
        self._segmentationSelector.noneEnabled = True
        self._sourceSelector = qMRMLNodeComboBox(self)
        self._sourceSelector.setObjectName("SourceVolumeNodeComboBox")
        self._sourceSelector.nodeTypes = ["vtkMRMLScalarVolumeNode"]
        self._sourceSelector.noneEnabled = True
        self._segments = QtWidgets.QTableWidget(0, 1, self)
        self._segments.setObjectName("SegmentsTableView")
        self._segments.setHorizontalHeaderLabels(["Segments"])
        self._segments.horizontalHeader().setStretchLastSection(True)
        self._segments.verticalHeader().hide()
        self._segments.verticalHeader().setDefaultSectionSize(22)
        self._segments.setFixedHeight(24 + 2 * 22)
        self._segments.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self._effects = QtWidgets.QWidget(self)
        self._effects.setObjectName("EffectsGroupBox")
        self._effectsLayout = QtWidgets.QHBoxLayout(self._effects)
        self._effectsLayout.setContentsMargins(0, 0, 0, 0)
        for widget in (self._segmentationSelector, self._sourceSelector, self._segments, self._effects):
            layout.addWidget(widget)
        self._segmentationObserver = _SceneObserver(self)
        self.mrmlSceneChanged.connect(self._segmentationSelector.setMRMLScene)
        self.mrmlSceneChanged.connect(self._sourceSelector.setMRMLScene)
        self._segmentationSelector.currentNodeChanged[object].connect(self._onSegmentationSelected)
        self._sourceSelector.currentNodeChanged[object].connect(self._onSourceSelected)
        self._segments.currentCellChanged.connect(self._onSegmentRowChanged)
        self._updateEffectButtons()

    # --- properties
    def _flag(name):  # noqa: N805
        def getter(self):
            return self._flags[name]

        def setter(self, value):
            self._flags[name] = bool(value)
            self._applyVisibility()

        return getter, setter

    segmentationNodeSelectorVisible = Property(bool, *_flag("segmentationNodeSelectorVisible"))
    sourceVolumeNodeSelectorVisible = Property(bool, *_flag("sourceVolumeNodeSelectorVisible"))
    maskingSectionVisible = Property(bool, *_flag("maskingSectionVisible"))
    specifyGeometryButtonVisible = Property(bool, *_flag("specifyGeometryButtonVisible"))
    show3DButtonVisible = Property(bool, *_flag("show3DButtonVisible"))
    addRemoveSegmentButtonsVisible = Property(bool, *_flag("addRemoveSegmentButtonsVisible"))
    autoShowSourceVolumeNode = Property(bool, *_flag("autoShowSourceVolumeNode"))
    switchToSegmentationsButtonVisible = Property(bool, *_flag("switchToSegmentationsButtonVisible"))
    undoEnabled = Property(bool, *_flag("undoEnabled"))
    unorderedEffectsVisible = Property(bool, *_flag("unorderedEffectsVisible"))
    jumpToSelectedSegmentEnabled = Property(bool, *_flag("jumpToSelectedSegmentEnabled"))
    readOnly = Property(bool, *_flag("readOnly"))
    del _flag

    def setSegmentationNodeSelectorVisible(self, value: bool) -> None:
        self.segmentationNodeSelectorVisible = value

    def setSourceVolumeNodeSelectorVisible(self, value: bool) -> None:
        self.sourceVolumeNodeSelectorVisible = value

    def setMasterVolumeNodeSelectorVisible(self, value: bool) -> None:
        self.sourceVolumeNodeSelectorVisible = value

    def setUnorderedEffectsVisible(self, value: bool) -> None:
        self.unorderedEffectsVisible = value

    def setReadOnly(self, value: bool) -> None:
        self.readOnly = value

    def _getMaximumNumberOfUndoStates(self) -> int:
        return self._logic.GetMaximumNumberOfUndoStates()

    def setMaximumNumberOfUndoStates(self, count: int) -> None:
        self._logic.SetMaximumNumberOfUndoStates(int(count))

    maximumNumberOfUndoStates = Property(int, _getMaximumNumberOfUndoStates, setMaximumNumberOfUndoStates)

    # --- nodes
    @Slot(object)
    def setMRMLScene(self, scene) -> None:
        self._logic.SetMRMLScene(scene)
        super().setMRMLScene(scene)

    @Slot(object)
    def setMRMLSegmentEditorNode(self, node) -> None:
        if node is self._editorNode:
            return
        self._editorNodeObserver.clear()
        self._editorNode = node
        self._logic.SetSegmentEditorNode(node)
        if node is None:
            return
        import vtk

        self._editorNodeObserver.observe(
            node, (vtk.vtkCommand.ModifiedEvent,), lambda *a: self._updateFromMRML()
        )
        self._updateFromMRML()

    def mrmlSegmentEditorNode(self):
        return self._editorNode

    def segmentationNode(self):
        return self._logic.GetSegmentationNode() if self._editorNode is not None else None

    def segmentationNodeID(self) -> str:
        node = self.segmentationNode()
        return node.GetID() if node is not None else ""

    @Slot(object)
    def setSegmentationNode(self, node) -> None:
        if self._editorNode is None:
            raise RuntimeError("qMRMLSegmentEditorWidget.setSegmentationNode: no segment editor node is set")
        if self._logic.GetSegmentationNode() is node:
            return
        self._logic.SetSegmentationNode(node)
        self.setActiveEffect(None)  # as Slicer: switching segmentation deactivates the effect
        self._updateFromMRML()

    def sourceVolumeNode(self):
        return self._logic.GetSourceVolumeNode() if self._editorNode is not None else None

    def sourceVolumeNodeID(self) -> str:
        node = self.sourceVolumeNode()
        return node.GetID() if node is not None else ""

    @Slot(object)
    def setSourceVolumeNode(self, node) -> None:
        if self._editorNode is None:
            raise RuntimeError("qMRMLSegmentEditorWidget.setSourceVolumeNode: no segment editor node is set")
        self._logic.SetSourceVolumeNode(node)
        self._updateFromMRML()

    masterVolumeNode = sourceVolumeNode
    setMasterVolumeNode = setSourceVolumeNode

    def currentSegmentID(self) -> str:
        return self._logic.GetCurrentSegmentID() or ""

    @Slot(str)
    def setCurrentSegmentID(self, segmentID: str) -> None:
        if self._editorNode is not None:
            self._editorNode.SetSelectedSegmentID(segmentID or None)

    # --- effects
    def availableEffectNames(self) -> list[str]:
        return list(_EFFECTS)

    def setEffectNameOrder(self, names) -> None:
        self._effectOrder = [str(n) for n in names]
        self._updateEffectButtons()

    def effectNameOrder(self) -> list[str]:
        return list(self._effectOrder)

    def effectCount(self) -> int:
        return len(self._visibleEffects())

    def activeEffect(self):
        return self._activeEffect

    def setActiveEffect(self, effect) -> None:
        """None deactivates; the stand-in has no effect objects (qSlicerSegmentEditorAbstractEffect)."""
        if effect is not None:
            raise NotImplementedError("qMRMLSegmentEditorWidget stand-in: effects are not implemented")
        self._activeEffect = None
        for button in self._effects.findChildren(QtWidgets.QToolButton):
            button.setChecked(False)

    @Slot(str)
    def setActiveEffectByName(self, name: str) -> None:
        if name and name not in self._visibleEffects():
            return  # Slicer logs and ignores an unknown or hidden effect
        self._activeEffect = None
        for button in self._effects.findChildren(QtWidgets.QToolButton):
            button.setChecked(bool(name) and QtWidgets.QAbstractButton.text(button) == name)

    def effectByName(self, name: str):
        return None

    @Slot()
    def saveStateForUndo(self) -> None:
        self._logic.SaveStateForUndo()

    def updateWidgetFromMRML(self) -> None:
        self._updateFromMRML()

    def setupViewObservations(self) -> None:
        pass

    def removeViewObservations(self) -> None:
        pass

    # --- internals
    def _visibleEffects(self) -> list[str]:
        ordered = [name for name in self._effectOrder if name in _EFFECTS]
        if self._flags["unorderedEffectsVisible"]:
            ordered += [name for name in _EFFECTS if name not in ordered]
        return ordered

    def _updateEffectButtons(self) -> None:
        while self._effectsLayout.count():
            item = self._effectsLayout.takeAt(0)
            if item.widget() is not None:
                item.widget().setParent(None)  # gone from the editor's children at once
        for name in self._visibleEffects():
            button = QtWidgets.QToolButton(self._effects)
            button.setText(name)
            button.setCheckable(True)
            button.setObjectName(name)
            self._effectsLayout.addWidget(button)
        self._effectsLayout.addStretch()

    def _applyVisibility(self) -> None:
        self._segmentationSelector.setVisible(self._flags["segmentationNodeSelectorVisible"])
        self._sourceSelector.setVisible(self._flags["sourceVolumeNodeSelectorVisible"])
        self._updateEffectButtons()

    def _onSegmentationSelected(self, node) -> None:
        if self._editorNode is not None and node is not self.segmentationNode():
            self.setSegmentationNode(node)

    def _onSourceSelected(self, node) -> None:
        if self._editorNode is not None and node is not self.sourceVolumeNode():
            self.setSourceVolumeNode(node)

    def _onSegmentRowChanged(self, row, column, previousRow, previousColumn) -> None:
        item = self._segments.item(row, 0) if row >= 0 else None
        if item is not None and self._editorNode is not None:
            self._editorNode.SetSelectedSegmentID(item.data(QtCore.Qt.UserRole))

    def _updateFromMRML(self) -> None:
        segmentation = self.segmentationNode()
        source = self.sourceVolumeNode()
        for selector, node in ((self._segmentationSelector, segmentation), (self._sourceSelector, source)):
            blocked = selector.blockSignals(True)
            selector.setCurrentNode(node)
            selector.blockSignals(blocked)
        self._segmentationObserver.clear()
        self._segments.blockSignals(True)
        self._segments.setRowCount(0)
        if segmentation is not None:
            content = segmentation.GetSegmentation()
            events = (content.SegmentAdded, content.SegmentRemoved, content.SegmentModified)
            self._segmentationObserver.observe(content, events, lambda *a: self._updateFromMRML())
            current = self.currentSegmentID()
            for index in range(content.GetNumberOfSegments()):
                segmentID = content.GetNthSegmentID(index)
                item = QtWidgets.QTableWidgetItem(content.GetSegment(segmentID).GetName())
                item.setData(QtCore.Qt.UserRole, segmentID)
                self._segments.insertRow(index)
                self._segments.setItem(index, 0, item)
                if segmentID == current:
                    self._segments.setCurrentCell(index, 0)
        self._segments.blockSignals(False)


_cpp(
    qMRMLSegmentEditorWidget,
    **{
        "sourceVolumeNodeChanged(vtkMRMLVolumeNode*)": "sourceVolumeNodeChanged(PyObject)",
        "masterVolumeNodeChanged(vtkMRMLVolumeNode*)": "masterVolumeNodeChanged(PyObject)",
        "segmentationNodeChanged(vtkMRMLSegmentationNode*)": "segmentationNodeChanged(PyObject)",
        "setMRMLScene(vtkMRMLScene*)": "setMRMLScene(PyObject)",
        "setMRMLSegmentEditorNode(vtkMRMLSegmentEditorNode*)": "setMRMLSegmentEditorNode(PyObject)",
        "setSegmentationNode(vtkMRMLNode*)": "setSegmentationNode(PyObject)",
        "setSourceVolumeNode(vtkMRMLNode*)": "setSourceVolumeNode(PyObject)",
    },
)


# --------------------------------------------------------------------------------------------------
# ctkCollapsibleButton (CTK, Libs/Widgets/ctkCollapsibleButton.h, as in Slicer 5.10's CTK)
# --------------------------------------------------------------------------------------------------


class ctkCollapsibleButton(QtWidgets.QAbstractButton):  # noqa: N801
    """A checkable header button (its ``text``) over its children; ``collapsed`` hides the children and
    shrinks the widget to the header, ``contentsCollapsed(bool)`` is emitted when it changes."""

    contentsCollapsed = Signal(bool)

    def __init__(self, *args) -> None:
        text = args[0] if args and isinstance(args[0], str) else ""
        parent = args[-1] if args and isinstance(args[-1], QtWidgets.QWidget) else None
        super().__init__(parent)
        QtWidgets.QAbstractButton.setText(self, text)
        self.setCheckable(True)
        self.setChecked(True)
        self._collapsed = False
        self._collapsedHeight = 14
        self._contentsFrameShape = QtWidgets.QFrame.NoFrame
        self.toggled.connect(lambda checked: self.setCollapsed(not checked))
        self.setSizePolicy(QtWidgets.QSizePolicy.Preferred, QtWidgets.QSizePolicy.Preferred)
        # The header is painted above the contents: the layout starts below it.
        self.setContentsMargins(2, self._headerHeight() + 2, 2, 2)

    def _getCollapsed(self) -> bool:
        return self._collapsed

    def setCollapsed(self, collapsed: bool) -> None:
        collapsed = bool(collapsed)
        if self.isChecked() == collapsed:
            blocked = self.blockSignals(True)
            self.setChecked(not collapsed)
            self.blockSignals(blocked)
        if collapsed == self._collapsed:
            return
        self._collapsed = collapsed
        for child in self.children():
            if isinstance(child, QtWidgets.QWidget) and not child.isWindow():
                child.setVisible(not collapsed)
        self.updateGeometry()
        self.contentsCollapsed.emit(collapsed)

    collapsed = Property(bool, _getCollapsed, setCollapsed)

    def _getCollapsedHeight(self) -> int:
        return self._collapsedHeight

    def setCollapsedHeight(self, height: int) -> None:
        self._collapsedHeight = int(height)

    collapsedHeight = Property(int, _getCollapsedHeight, setCollapsedHeight)

    def _getContentsFrameShape(self):
        return self._contentsFrameShape

    def setContentsFrameShape(self, shape) -> None:
        self._contentsFrameShape = shape

    contentsFrameShape = Property(
        int,
        lambda self: int(
            self._contentsFrameShape.value
            if hasattr(self._contentsFrameShape, "value")
            else self._contentsFrameShape
        ),
        setContentsFrameShape,
    )

    def _headerHeight(self) -> int:
        return self.fontMetrics().height() + 8

    def childEvent(self, event) -> None:
        """As CTK: a widget added to a collapsed button is hidden with the other contents."""
        super().childEvent(event)
        if event.type() == QtCore.QEvent.ChildAdded and getattr(self, "_collapsed", False):
            child = event.child()
            if isinstance(child, QtWidgets.QWidget) and not child.isWindow():
                child.setVisible(False)

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        option = QtWidgets.QStyleOptionButton()
        option.initFrom(self)
        option.rect = QtCore.QRect(0, 0, QtWidgets.QWidget.width(self), self._headerHeight())
        option.text = ("▸ " if self._collapsed else "▾ ") + QtWidgets.QAbstractButton.text(self)
        option.state |= QtWidgets.QStyle.State_Raised
        self.style().drawControl(QtWidgets.QStyle.CE_PushButton, option, painter, self)
        if not self._collapsed:
            painter.setPen(QtWidgets.QWidget.palette(self).color(QtGui.QPalette.Mid))
            painter.drawRect(
                0,
                self._headerHeight(),
                QtWidgets.QWidget.width(self) - 1,
                QtWidgets.QWidget.height(self) - self._headerHeight() - 1,
            )
        painter.end()

    def hitButton(self, position) -> bool:
        return position.y() <= self._headerHeight()


_cpp(ctkCollapsibleButton)


# --------------------------------------------------------------------------------------------------
# ctkPathLineEdit (CTK, Libs/Widgets/ctkPathLineEdit.h, as in Slicer 5.10's CTK)
# --------------------------------------------------------------------------------------------------


class ctkPathLineEdit(QtWidgets.QWidget):  # noqa: N801
    """A path field (an editable line) with a browse button; ``currentPath`` and
    ``currentPathChanged(QString)``, ``filters`` (ctkPathLineEdit::Filters flags), ``nameFilters``,
    ``label``. The browse button opens no dialog here (a dialog is never accepted by itself)."""

    currentPathChanged = Signal(str)
    validInputChanged = Signal(bool)

    # ctkPathLineEdit::Filter (values of QDir::Filter)
    Dirs = 0x001
    Files = 0x002
    Drives = 0x004
    NoSymLinks = 0x008
    AllEntries = Dirs | Files | Drives
    Readable = 0x010
    Writable = 0x020
    Executable = 0x040
    Hidden = 0x100
    System = 0x200
    NoDot = 0x2000
    NoDotDot = 0x4000

    def __init__(self, *args) -> None:
        parent = args[-1] if args and isinstance(args[-1], QtWidgets.QWidget) else None
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._comboBox = QtWidgets.QComboBox(self)
        self._comboBox.setEditable(True)
        self._comboBox.setObjectName("ComboBox")
        self._browseButton = QtWidgets.QToolButton(self)
        self._browseButton.setText("...")
        self._browseButton.setObjectName("BrowseButton")
        layout.addWidget(self._comboBox, 1)
        layout.addWidget(self._browseButton)
        self._filters = self.AllEntries | self.NoDotDot | self.Readable
        self._nameFilters: list[str] = []
        self._label = ""
        self._currentPath = ""
        self._comboBox.editTextChanged.connect(self._onTextEdited)

    def _getCurrentPath(self) -> str:
        return self._currentPath

    def setCurrentPath(self, path: str) -> None:
        path = str(path)
        if QtWidgets.QComboBox.currentText(self._comboBox) != path:
            self._comboBox.setEditText(path)  # emits through _onTextEdited
        else:
            self._onTextEdited(path)

    currentPath = Property(str, _getCurrentPath, setCurrentPath, notify=currentPathChanged)

    def _getFilters(self) -> int:
        return self._filters

    def setFilters(self, filters) -> None:
        self._filters = int(filters)

    filters = Property(int, _getFilters, setFilters)

    def _getNameFilters(self) -> list[str]:
        return list(self._nameFilters)

    def setNameFilters(self, nameFilters) -> None:
        self._nameFilters = [nameFilters] if isinstance(nameFilters, str) else [str(f) for f in nameFilters]

    nameFilters = Property("QStringList", _getNameFilters, setNameFilters)

    def _getLabel(self) -> str:
        return self._label

    def setLabel(self, label: str) -> None:
        self._label = str(label)

    label = Property(str, _getLabel, setLabel)

    def _getShowBrowseButton(self) -> bool:
        return not self._browseButton.isHidden()

    def setShowBrowseButton(self, show: bool) -> None:
        self._browseButton.setVisible(bool(show))

    showBrowseButton = Property(bool, _getShowBrowseButton, setShowBrowseButton)

    def _onTextEdited(self, text: str) -> None:
        text = str(text)
        if text == self._currentPath:
            return
        self._currentPath = text
        self.currentPathChanged.emit(text)
        self.validInputChanged.emit(self._isValid(text))

    def _isValid(self, path: str) -> bool:
        if not path:
            return False
        if self._filters & self.Dirs and os.path.isdir(path):
            return True
        return bool(self._filters & self.Files) and os.path.isfile(path)


_cpp(ctkPathLineEdit)


# --------------------------------------------------------------------------------------------------
# Classes Slicer's own Python names (parameterNodeWrapper connectors, slicer.util) that PRIME does not
# use: real classes, so ``type(widget) in (...)`` works; building one says it is not written.
# --------------------------------------------------------------------------------------------------


def _unwritten(name: str, base):
    def __init__(self, *args, **kwargs):  # noqa: N807
        raise NotImplementedError(
            f"{name}: no stand-in is written for this widget (Testing/Slicer/slicer_widgets.py)"
        )

    cls = type(
        name,
        (base,),
        {
            "__init__": __init__,
            "__module__": __name__,
            "__doc__": f"Placeholder for {name}: not written, cannot be built.",
        },
    )
    return _cpp(cls)


class ctkMessageBox(QtWidgets.QMessageBox):  # noqa: N801
    """CTK's message box (Libs/Widgets/ctkMessageBox.h): a QMessageBox with a "Don't show again"
    setting. ``exec_`` is the adapter's guarded modal ``exec``: it never answers by itself."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._key = ""

    def _getKey(self) -> str:
        return self._key

    def setDontShowAgainSettingsKey(self, key: str) -> None:
        self._key = str(key)

    dontShowAgainSettingsKey = Property(str, _getKey, setDontShowAgainSettingsKey)


_cpp(ctkMessageBox)

CTK_CLASSES = {cls.__name__: cls for cls in (ctkCollapsibleButton, ctkPathLineEdit, ctkMessageBox)}
for _name, _base in (
    ("ctkCheckBox", QtWidgets.QCheckBox),
    ("ctkComboBox", QtWidgets.QComboBox),
    ("ctkCheckablePushButton", QtWidgets.QPushButton),
    ("ctkSliderWidget", QtWidgets.QWidget),
    ("ctkDoubleSlider", QtWidgets.QWidget),
    ("ctkDoubleSpinBox", QtWidgets.QWidget),
    ("ctkRangeWidget", QtWidgets.QWidget),
    ("ctkDoubleRangeSlider", QtWidgets.QWidget),
    ("ctkDirectoryButton", QtWidgets.QWidget),
    ("ctkColorPickerButton", QtWidgets.QPushButton),
    ("ctkSearchBox", QtWidgets.QLineEdit),
    ("ctkMenuButton", QtWidgets.QPushButton),
):
    CTK_CLASSES[_name] = _unwritten(_name, _base)

SLICER_CLASSES = {
    cls.__name__: cls
    for cls in (qMRMLWidget, qMRMLNodeComboBox, qMRMLSegmentSelectorWidget, qMRMLSegmentEditorWidget)
}
for _name, _base in (
    ("qMRMLSliderWidget", QtWidgets.QWidget),
    ("qMRMLSpinBox", QtWidgets.QWidget),
    ("qMRMLRangeWidget", QtWidgets.QWidget),
    ("qMRMLSubjectHierarchyTreeView", QtWidgets.QWidget),
    ("qMRMLCheckableNodeComboBox", QtWidgets.QWidget),
):
    SLICER_CLASSES[_name] = _unwritten(_name, _base)


# --------------------------------------------------------------------------------------------------
# The module widget host (Slicer 5.10, Base/QTGUI/qSlicerScriptedLoadableModuleWidget.h/.cxx and
# qSlicerAbstractModuleWidget.h)
# --------------------------------------------------------------------------------------------------


class qSlicerScriptedLoadableModuleWidget(qMRMLWidget):  # noqa: N801
    """What Slicer's module manager gives a scripted module's Widget class as ``parent``: a qMRMLWidget
    with a vertical layout and the scene, whose ``enter()``/``exit()`` set ``isEntered`` and call the
    Python widget's ``enter()``/``exit()``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setLayout(QtWidgets.QVBoxLayout())
        self._isEntered = False
        self._python = None

    isEntered = Property(bool, lambda self: self._isEntered)

    def setPythonSource(self, widget) -> None:
        self._python = widget

    def enter(self) -> None:
        self._isEntered = True
        if self._python is not None and hasattr(self._python, "enter"):
            self._python.enter()

    def exit(self) -> None:
        if self._python is not None and hasattr(self._python, "exit"):
            self._python.exit()
        self._isEntered = False


_cpp(qSlicerScriptedLoadableModuleWidget)


# --------------------------------------------------------------------------------------------------
# qSlicerLayoutManager (Slicer 5.10, Base/QTGUI/qSlicerLayoutManager.h/.cxx), without view widgets
# --------------------------------------------------------------------------------------------------


class qSlicerLayoutManager(QtCore.QObject):  # noqa: N801
    """The layout of the (absent) view area: the real ``vtkMRMLLayoutLogic`` on the scene keeps the
    singleton ``vtkMRMLLayoutNode`` and creates the view nodes (slice, 3D, table, plot views) of the
    chosen layout, as in Slicer; ``layout``/``setLayout`` read and set its view arrangement. No view
    widget is made: ``sliceWidget``, ``tableWidget``, ``plotWidget``... return None."""

    layoutChanged = Signal(int)

    def __init__(self, scene, parent=None) -> None:
        super().__init__(parent)
        import slicer

        # What Slicer's application logic adds to a scene before any slice view exists.
        slicer.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene)
        self._logic = slicer.vtkMRMLLayoutLogic()
        self._logic.SetMRMLScene(scene)

    def layoutLogic(self):
        return self._logic

    def _getLayout(self) -> int:
        node = self._logic.GetLayoutNode()
        return node.GetViewArrangement() if node is not None else 0

    @Slot(int)
    def setLayout(self, layout: int) -> None:
        node = self._logic.GetLayoutNode()
        if node is not None and node.GetViewArrangement() != int(layout):
            node.SetViewArrangement(int(layout))
            self.layoutChanged.emit(int(layout))

    layout = Property(int, _getLayout, setLayout)

    def sliceWidget(self, name):
        return None

    def sliceViewNames(self) -> list[str]:
        return []

    def tableWidget(self, index):
        return None

    def plotWidget(self, index):
        return None

    def threeDWidget(self, index):
        return None

    def resetSliceViews(self) -> None:
        pass

    def resetThreeDViews(self) -> None:
        pass


_cpp(qSlicerLayoutManager)


# --------------------------------------------------------------------------------------------------
# QUiLoader
# --------------------------------------------------------------------------------------------------


class SlicerUiLoader(QtUiTools.QUiLoader):
    """``qt.QUiLoader``: Slicer's designer plugins are the stand-ins above. Connections of the ``.ui``
    whose signatures name VTK types are made with the PySide6 signatures the stand-ins declare; a
    property the ``.ui`` sets that the class does not declare (unless ``stdset="0"``) is an error, as
    the property would not exist in Slicer either."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        for cls in list(CTK_CLASSES.values()) + list(SLICER_CLASSES.values()):
            if not cls.__doc__ or not cls.__doc__.startswith("Placeholder"):
                self.registerCustomWidget(cls)

    def load(self, device, parentWidget=None):
        if isinstance(device, QtCore.QIODevice):
            data = bytes(device.readAll().data())
        else:
            with open(str(device), "rb") as handle:
                data = handle.read()
        root = ET.fromstring(data)
        for connection in root.iter("connection"):
            for tag in ("signal", "slot"):
                element = connection.find(tag)
                if element is not None and element.text:
                    element.text = _VTK_SIGNATURE.sub("PyObject", element.text)
        buffer = QtCore.QBuffer()
        buffer.setData(ET.tostring(root, encoding="utf-8"))
        buffer.open(QtCore.QIODevice.ReadOnly)
        with pythonqt_adapter.pyside_internal():
            widget = super().load(buffer, parentWidget)
        if widget is None:
            return None
        # PySide6's loader also sets each named child as an attribute of the top widget; PythonQt
        # finds only direct children by name (its getattr fallback), so those attributes go.
        for key, value in list(widget.__dict__.items()):
            if isinstance(value, QtCore.QObject):
                del widget.__dict__[key]
        self._checkProperties(root, widget)
        return widget

    @staticmethod
    def _checkProperties(root, widget) -> None:
        for element in root.iter("widget"):
            name = element.get("name")
            found = (
                widget
                if QtCore.QObject.objectName(widget) == name
                else widget.findChild(QtCore.QObject, name)
            )
            if found is None:
                continue
            meta = found.metaObject()
            for prop in element.findall("property"):
                if prop.get("stdset") == "0":
                    continue
                if meta.indexOfProperty(prop.get("name")) < 0:
                    raise RuntimeError(
                        f"{element.get('class')} '{name}' has no property '{prop.get('name')}' "
                        "(set in the .ui file)"
                    )
