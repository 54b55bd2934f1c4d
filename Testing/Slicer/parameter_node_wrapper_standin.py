"""Stand-in for ``slicer.parameterNodeWrapper`` (Slicer 5.x), which slicer-core does not ship.

Follows Slicer 5.10: ``Base/Python/slicer/parameterNodeWrapper/`` (wrapper.py, serializers.py,
validators.py, default.py, guiConnectors.py). Installed as ``slicer.parameterNodeWrapper`` by
``slicer_harness`` only when the real one is missing. A parameter node written here reads back
the same in Slicer, and what Slicer rejects is rejected here too:

- Storage in the ``vtkMRMLScriptedModuleNode``, as Slicer writes it: ``int``/``float`` as
  ``str(value)``, ``bool`` as ``"True"``/``"False"``, ``str``, ``pathlib`` paths as ``str(path)``,
  ``Enum`` by member name, a MRML node as ``SetParameter(name, "")`` plus
  ``SetNodeReferenceID(name, id)``, ``list[T]`` as ``name.len`` and ``name.0``, ``name.1``...,
  ``Optional[T]``/``Union`` as ``name.<index of the value's type>``.
- Validation on every write: the type's own checks (not None for plain values, ``isinstance``;
  nodes may be None) and the ``Annotated`` validators ``WithinRange``, ``Minimum``, ``Maximum``,
  ``Choice``, ``Exclude``, ``NotNone``, ``IsInstance``.
- Defaults: the class attribute, else ``Default(...)`` in ``Annotated``, else the type's default
  (``0``, ``""``, ``False``, ``Path()``, first Enum member, ``None`` for nodes and ``Optional``, ``[]``).
- As in Slicer (Python < 3.14), a PEP 604 union (``vtkMRMLScalarVolumeNode | None``) is rejected:
  write ``Optional[...]`` or the plain node type (which already defaults to None).
- GUI binding (guiConnectors.py): ``connectGui``/``connectParametersToGui`` pick a connector from
  Slicer's widget-class <-> parameter-type table, matching the widget's exact class, and raise
  ``RuntimeError`` when none fits (e.g. a ``ctkPathLineEdit`` bound to a ``str`` field: Slicer
  connects it only to ``pathlib`` types). Connectors sync both ways through PythonQt's API
  (attribute properties, ``widget.connect("signal(args)", slot)``); ``disconnectGui`` disconnects.

Not provided (a class using them fails at decoration with a clear message): ``tuple``, ``dict``,
``typing.Any``, ``FloatRange``, ``qt.QColor``, ``parameterPack``, custom serializers; so their
connectors (range widgets, colour picker, parameter packs) are absent too.
Values are read from the node on every access (Slicer caches them; the values are the same).
"""

from __future__ import annotations

import enum
import importlib
import logging
import pathlib
import sys
import types
import typing

import slicer
import vtk

__all__ = [
    "Choice",
    "Decimals",
    "Default",
    "Exclude",
    "GuiConnector",
    "IsInstance",
    "IsNone",
    "Label",
    "Maximum",
    "Minimum",
    "NotNone",
    "SingleStep",
    "SlicerParameterNamePropertyName",
    "Validator",
    "WithinRange",
    "createGuiConnector",
    "findChildWidgetForParameter",
    "getNodeTypes",
    "isNodeOrUnionOfNodes",
    "isParameterNodeWrapper",
    "parameterNodeGuiConnector",
    "parameterNodeWrapper",
    "parameterPack",
    "splitAnnotations",
    "unannotatedType",
]

SlicerParameterNamePropertyName = "SlicerParameterName"


# --------------------------------------------------------------------------------------------------
# Annotations: validators, defaults, GUI hints
# --------------------------------------------------------------------------------------------------


class Validator:
    """Base of the validators; ``validate`` raises (ValueError/TypeError) on an invalid value."""

    def validate(self, value) -> None:
        raise NotImplementedError


class IsNone(Validator):
    def validate(self, value) -> None:
        if value is not None:
            raise ValueError("Value must be None")


class NotNone(Validator):
    def validate(self, value) -> None:
        if value is None:
            raise ValueError("Value must not be None")


class IsInstance(Validator):
    def __init__(self, classtype) -> None:
        self.classtype = classtype

    def validate(self, value) -> None:
        if value is not None and not isinstance(value, self.classtype):
            raise TypeError(
                f"Value must be of type '{self.classtype}', is type '{type(value)}' value '{value}'"
            )


class WithinRange(Validator):
    def __init__(self, minimum, maximum) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def validate(self, value) -> None:
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"Value must be within range [{self.minimum}, {self.maximum}], is {value}")


class Minimum(Validator):
    def __init__(self, minimum) -> None:
        self.minimum = minimum

    def validate(self, value) -> None:
        if value < self.minimum:
            raise ValueError(f"Value must be greater than {self.minimum}, is {value}")


class Maximum(Validator):
    def __init__(self, maximum) -> None:
        self.maximum = maximum

    def validate(self, value) -> None:
        if value > self.maximum:
            raise ValueError(f"Value must be less than {self.maximum}, is {value}")


class Choice(Validator):
    def __init__(self, choices) -> None:
        self.choices = choices

    def validate(self, value) -> None:
        if value not in self.choices:
            raise ValueError(f"Value is {value}, but must be in one of the following: {self.choices}")


class Exclude(Validator):
    def __init__(self, excludedValues) -> None:
        self.excludedValues = excludedValues

    def validate(self, value) -> None:
        if value in self.excludedValues:
            raise ValueError(f"Value is {value}, but must not be an excluded value: {self.excludedValues}")


class Default:
    """``Annotated[int, Default(3)]``; ``generator`` is called each time the default is needed."""

    def __init__(self, value=None, *, generator=None) -> None:
        self._value = value
        self._generator = generator

    @property
    def value(self):
        return self._generator() if self._generator else self._value


class _GuiHint:
    """GUI-only annotations (used by Slicer's widget connectors); ignored by storage."""

    def __init__(self, value) -> None:
        self.value = value


class Decimals(_GuiHint):
    pass


class SingleStep(_GuiHint):
    pass


class Label(_GuiHint):
    pass


def splitAnnotations(possiblyAnnotatedType):
    """``Annotated[T, a, b]`` -> ``(T, (a, b))``; ``T`` -> ``(T, ())``."""
    args = typing.get_args(typing.Annotated[possiblyAnnotatedType, "stub"])
    return args[0], args[1:-1]


def unannotatedType(possiblyAnnotatedType):
    return splitAnnotations(possiblyAnnotatedType)[0]


def parameterPack(classtype=None):
    raise NotImplementedError(
        "parameterPack is not provided by the test harness's parameterNodeWrapper stand-in"
    )


# --------------------------------------------------------------------------------------------------
# Serializers: how one typed value is stored in a vtkMRMLScriptedModuleNode
# --------------------------------------------------------------------------------------------------


class _Serializer:
    def __init__(self, validators: list[Validator]) -> None:
        self.validators = validators

    def validate(self, value) -> None:
        for validator in self.validators:
            validator.validate(value)

    def isIn(self, node, name: str) -> bool:
        return bool(node.HasParameter(name))

    def remove(self, node, name: str) -> None:
        node.UnsetParameter(name)

    def write(self, node, name: str, value) -> None:
        self.validate(value)
        self._write(node, name, value)


class _ScalarSerializer(_Serializer):
    """int, float, str, bool, pathlib paths, Enum."""

    def __init__(self, type_, validators: list[Validator]) -> None:
        accepted = (int, float) if type_ is float else type_
        super().__init__([NotNone(), IsInstance(accepted), *validators])
        self.type = type_

    @staticmethod
    def canSerialize(type_) -> bool:
        if type_ in (int, float, str, bool):
            return True
        return isinstance(type_, type) and issubclass(type_, (pathlib.PurePath, enum.Enum))

    def default(self):
        if issubclass(self.type, enum.Enum):
            return next(iter(self.type))
        return self.type()

    def _write(self, node, name, value) -> None:
        if self.type is bool:
            text = "True" if value else "False"
        elif issubclass(self.type, enum.Enum):
            text = value.name
        else:
            text = str(value)
        node.SetParameter(name, text)

    def read(self, node, name):
        text = node.GetParameter(name)
        if self.type is bool:
            return text == "True"
        if issubclass(self.type, enum.Enum):
            return self.type[text]
        return self.type(text)


class _NodeSerializer(_Serializer):
    """A MRML node: an empty parameter marks presence, the value is a node reference of the same name."""

    def __init__(self, type_, validators: list[Validator]) -> None:
        super().__init__([IsInstance(type_), *validators])

    @staticmethod
    def canSerialize(type_) -> bool:
        return isinstance(type_, type) and issubclass(type_, slicer.vtkMRMLNode)

    def default(self):
        return None

    def _write(self, node, name, value) -> None:
        node.SetParameter(name, "")
        node.SetNodeReferenceID(name, value.GetID() if value is not None else None)

    def read(self, node, name):
        return node.GetNodeReference(name)

    def remove(self, node, name: str) -> None:
        node.UnsetParameter(name)
        node.RemoveNodeReferenceIDs(name)


class _NoneSerializer(_Serializer):
    def __init__(self, validators: list[Validator]) -> None:
        super().__init__([IsNone(), *validators])

    @staticmethod
    def canSerialize(type_) -> bool:
        return type_ is type(None)

    def default(self):
        return None

    def _write(self, node, name, value) -> None:
        node.SetParameter(name, "True")

    def read(self, node, name):
        return None


class _ObservedList(list):
    """A list that writes itself back to the parameter node when changed in place (Slicer's ObservedList)."""

    def __init__(self, values, save) -> None:
        super().__init__(values)
        self._save = save


def _saving(method_name: str):
    def method(self, *args, **kwargs):
        result = getattr(list, method_name)(self, *args, **kwargs)
        self._save(list(self))
        return self if method_name in ("__iadd__", "__imul__") else result

    method.__name__ = method_name
    return method


for _name in (
    "append",
    "extend",
    "insert",
    "remove",
    "pop",
    "clear",
    "sort",
    "reverse",
    "__setitem__",
    "__delitem__",
    "__iadd__",
    "__imul__",
):
    setattr(_ObservedList, _name, _saving(_name))


class _ListSerializer(_Serializer):
    def __init__(self, element: _Serializer, validators: list[Validator]) -> None:
        super().__init__(validators)
        self.element = element

    @staticmethod
    def canSerialize(type_) -> bool:
        return typing.get_origin(type_) is list

    def default(self):
        return []

    def isIn(self, node, name: str) -> bool:
        return bool(node.HasParameter(f"{name}.len"))

    def _length(self, node, name: str) -> int:
        return int(node.GetParameter(f"{name}.len")) if self.isIn(node, name) else 0

    def _write(self, node, name, values) -> None:
        values = list(values)
        old_length = self._length(node, name)
        with slicer.util.NodeModify(node):
            for index, value in enumerate(values):
                self.element.write(node, f"{name}.{index}", value)
            node.SetParameter(f"{name}.len", str(len(values)))
            for index in range(len(values), old_length):
                self.element.remove(node, f"{name}.{index}")

    def read(self, node, name):
        values = [self.element.read(node, f"{name}.{index}") for index in range(self._length(node, name))]
        return _ObservedList(values, lambda new_values: self.write(node, name, new_values))

    def remove(self, node, name: str) -> None:
        with slicer.util.NodeModify(node):
            for index in range(self._length(node, name)):
                self.element.remove(node, f"{name}.{index}")
            node.UnsetParameter(f"{name}.len")


class _UnionSerializer(_Serializer):
    """``typing.Union``/``typing.Optional``: the value is stored under ``name.<index of its type>``."""

    def __init__(self, members: list[_Serializer], member_types: list, validators: list[Validator]) -> None:
        super().__init__(validators)
        self.members = members
        self.member_types = member_types

    @staticmethod
    def canSerialize(type_) -> bool:
        return typing.get_origin(type_) is typing.Union

    def default(self):
        if len(self.members) == 2 and isinstance(self.members[1], _NoneSerializer):
            return None
        return self.members[0].default()

    def isIn(self, node, name: str) -> bool:
        return any(member.isIn(node, f"{name}.{index}") for index, member in enumerate(self.members))

    def _write(self, node, name, value) -> None:
        error: Exception | None = None
        for index, (member, member_type) in enumerate(zip(self.members, self.member_types, strict=True)):
            if not _accepts_type(member_type, type(value)):
                continue
            try:
                member.validate(value)
            except (TypeError, ValueError) as exc:
                error = exc
                continue
            with slicer.util.NodeModify(node):
                self.remove(node, name)
                member.write(node, f"{name}.{index}", value)
            return
        raise error or TypeError(f"Unable to write value '{value}' of type '{type(value)}'")

    def read(self, node, name):
        for index, member in enumerate(self.members):
            if member.isIn(node, f"{name}.{index}"):
                return member.read(node, f"{name}.{index}")
        raise KeyError(f"Unable to find value for name: {name}")

    def remove(self, node, name: str) -> None:
        with slicer.util.NodeModify(node):
            for index, member in enumerate(self.members):
                member.remove(node, f"{name}.{index}")


def _accepts_type(declared, actual) -> bool:
    """Slicer's ``canSerialize(type(value))`` for one member of a union."""
    declared = unannotatedType(declared)
    if declared in (int, float):
        return actual in (int, float)
    if _NodeSerializer.canSerialize(declared):
        return _NodeSerializer.canSerialize(actual)
    if typing.get_origin(declared) is list:
        return actual is list or issubclass(actual, list)
    return actual is declared or (_ScalarSerializer.canSerialize(actual) and issubclass(actual, declared))


def _make_serializer(annotated_type) -> tuple[_Serializer, list]:
    """The serializer for ``annotated_type`` and the annotations it did not use (Default, GUI hints)."""
    type_, annotations = splitAnnotations(annotated_type)
    validators = [a() if isinstance(a, type) else a for a in annotations if _is_validator(a)]
    rest = [a for a in annotations if not _is_validator(a)]
    if isinstance(type_, types.UnionType):
        raise TypeError(
            f"Unable to create serializer for type: {type_} (a PEP 604 union). Slicer's parameterNodeWrapper "
            "only understands typing.Union/typing.Optional; write Optional[...] or the plain node type."
        )
    if _ScalarSerializer.canSerialize(type_):
        return _ScalarSerializer(type_, validators), rest
    if _NodeSerializer.canSerialize(type_):
        return _NodeSerializer(type_, validators), rest
    if _NoneSerializer.canSerialize(type_):
        return _NoneSerializer(validators), rest
    if _ListSerializer.canSerialize(type_):
        (element_type,) = typing.get_args(type_)
        element, _ = _make_serializer(element_type)
        return _ListSerializer(element, validators), rest
    if _UnionSerializer.canSerialize(type_):
        member_types = list(typing.get_args(type_))
        members = [_make_serializer(member)[0] for member in member_types]
        return _UnionSerializer(members, member_types, validators), rest
    raise TypeError(
        f"Unable to create serializer for type: {type_} (not supported by the test harness stand-in)"
    )


def _is_validator(annotation) -> bool:
    return isinstance(annotation, Validator) or (
        isinstance(annotation, type) and issubclass(annotation, Validator)
    )


# --------------------------------------------------------------------------------------------------
# The class decorator
# --------------------------------------------------------------------------------------------------


class _ParameterInfo:
    def __init__(self, basename: str, serializer: _Serializer, default: Default, unalteredType) -> None:
        self.basename = basename
        self.serializer = serializer
        self.default = default
        self.unalteredType = unalteredType


def _read(self, name: str):
    info = self.allParameters[name]
    if not info.serializer.isIn(self.parameterNode, name):
        info.serializer.write(self.parameterNode, name, info.default.value)
    return info.serializer.read(self.parameterNode, name)


def _write(self, name: str, value) -> None:
    self.allParameters[name].serializer.write(self.parameterNode, name, value)


def _make_property(name: str) -> property:
    return property(lambda self: _read(self, name), lambda self, value: _write(self, name, value))


def _init(self, parameterNode) -> None:
    self.parameterNode = parameterNode
    self._parameterGUIs = {}
    self._nextParameterGUIsTag = 0
    self._updatingGUIFromParameterNode = False
    for name, info in self.allParameters.items():
        if not info.serializer.isIn(parameterNode, name):
            info.serializer.write(parameterNode, name, info.default.value)


def _check_name(wrapper, name: str) -> None:
    if name not in wrapper.allParameters:
        raise ValueError(
            f"Cannot find a param with the given name: {name}; found {list(wrapper.allParameters)}"
        )


def _get_value(self, name: str):
    _check_name(self, name)
    return _read(self, name)


def _set_value(self, name: str, value) -> None:
    _check_name(self, name)
    _write(self, name, value)


def _default(self, name: str) -> Default:
    _check_name(self, name)
    return self.allParameters[name].default


# --------------------------------------------------------------------------------------------------
# GUI binding: widget <-> parameter connectors
# Follows Slicer 5.10 Base/Python/slicer/parameterNodeWrapper/guiConnectors.py (the connector table,
# exact ``type(widget)`` matching, the annotations each connector reads, its RuntimeErrors), plus the
# connectors that Slicer 5.10's Markups and SubjectHierarchy modules register, and ``connectGui`` /
# ``connectParametersToGui`` / ``disconnectGui`` of wrapper.py.
# Widgets are driven only through PythonQt's API: attribute properties (``widget.checked``),
# methods (``widget.currentNode()``), and ``widget.connect("signal(args)", slot)`` /
# ``widget.disconnect("signal(args)", slot)``. Widget classes are looked up by name in the ``qt``,
# ``ctk`` and ``slicer`` modules when a connector is chosen, as Slicer's module globals are.
# --------------------------------------------------------------------------------------------------

_PATH_TYPES = (
    pathlib.Path,
    pathlib.PosixPath,
    pathlib.WindowsPath,
    pathlib.PurePath,
    pathlib.PurePosixPath,
    pathlib.PureWindowsPath,
)


def _widgetClass(qualifiedName: str):
    """``"qt.QCheckBox"`` -> the class now installed under that name (None if there is none)."""
    moduleName, className = qualifiedName.split(".")
    module = slicer if moduleName == "slicer" else sys.modules.get(moduleName)
    if module is None:
        module = importlib.import_module(moduleName)
    return getattr(module, className, None)


def _isWidgetOfType(widget, *qualifiedNames: str) -> bool:
    """Slicer's ``type(widget) in (qt.QCheckBox, ...)``: the exact class, not a subclass."""
    classes = [_widgetClass(name) for name in qualifiedNames]
    return any(cls is not None and type(widget) is cls for cls in classes)


def findFirstAnnotation(annotationsList, annotationType):
    """The first annotation of the given type, or None."""
    found = [annotation for annotation in annotationsList if isinstance(annotation, annotationType)]
    return found[0] if found else None


def _isNodeClass(type_) -> bool:
    return type(type_) is type and issubclass(type_, slicer.vtkMRMLNode)


def isNodeOrUnionOfNodes(datatype) -> bool:
    """A MRML node class, or ``Union``/``Optional`` of node classes (and None)."""
    underlying = unannotatedType(datatype)
    if _isNodeClass(underlying):
        return True
    if typing.get_origin(underlying) is typing.Union:
        members = [unannotatedType(member) for member in typing.get_args(underlying)]
        return all(member is type(None) or _isNodeClass(member) for member in members)
    return False


def getNodeTypes(datatype) -> tuple:
    """The MRML class names for a node type or a union of node types (what a node selector shows).

    As in Slicer, each class is instantiated to ask its name: an abstract node class raises TypeError.
    """
    underlying = unannotatedType(datatype)
    if _isNodeClass(underlying):
        return (underlying().GetClassName(),)
    if typing.get_origin(underlying) is typing.Union:
        members = [unannotatedType(member) for member in typing.get_args(underlying)]
        return tuple(member().GetClassName() for member in members if _isNodeClass(member))
    raise TypeError(f"Cannot handle type {datatype}")


class GuiConnector:
    """Adapts one widget to one (possibly annotated) parameter type: ``read``, ``write``, ``onChanged``.

    Subclasses set ``widgetClasses`` (qualified class names matched exactly), ``signal`` (the
    PythonQt signature emitted when the user edits the widget; None for display-only widgets), and
    implement ``canRepresentType``, ``read`` and ``write``.
    """

    widgetClasses: tuple[str, ...] = ()
    signal: str | None = None

    @classmethod
    def canRepresent(cls, widget, datatype) -> bool:
        return _isWidgetOfType(widget, *cls.widgetClasses) and cls.canRepresentType(datatype)

    @staticmethod
    def canRepresentType(datatype) -> bool:
        raise NotImplementedError

    @classmethod
    def create(cls, widget, datatype):
        return cls(widget, datatype) if cls.canRepresent(widget, datatype) else None

    def __init__(self, widget, datatype) -> None:
        self._widget = widget
        self._datatype = datatype
        self._callback = None
        self._slot = self.changed  # one object, so that disconnect finds what connect registered
        self._connected = False

    def onChanged(self, callback) -> None:
        """Call ``callback()`` when the user edits the widget; None disconnects from the widget."""
        self._callback = callback
        if callback is None:
            self._disconnect()
        else:
            self._connect()

    def changed(self, *signalArguments) -> None:
        if self._callback:
            self._callback()

    def _connect(self) -> None:
        if self.signal is not None and not self._connected:
            self._widget.connect(self.signal, self._slot)
            self._connected = True

    def _disconnect(self) -> None:
        if self.signal is not None and self._connected:
            self._widget.disconnect(self.signal, self._slot)
            self._connected = False

    def widget(self):
        return self._widget

    def read(self):
        raise NotImplementedError

    def write(self, value) -> None:
        raise NotImplementedError


_registeredGuiConnectors: list[type[GuiConnector]] = []


def parameterNodeGuiConnector(classtype=None):
    """Class decorator registering a ``GuiConnector`` subclass for ``createGuiConnector``."""

    def register(cls):
        if not (isinstance(cls, type) and issubclass(cls, GuiConnector)):
            raise TypeError("Must be a GuiConnector subclass")
        _registeredGuiConnectors.append(cls)
        return cls

    return register if classtype is None else register(classtype)


def createGuiConnector(widget, datatype) -> GuiConnector:
    """The first registered connector that represents ``datatype`` with ``widget``; else RuntimeError."""
    if isinstance(datatype, types.UnionType):
        datatype = typing.Union[typing.get_args(datatype)]  # noqa: UP007 - as Slicer converts it
    for connectorType in _registeredGuiConnectors:
        if connectorType.canRepresent(widget, datatype):
            return connectorType.create(widget, datatype)
    raise RuntimeError(
        f"Unable to create GUI connector from datatype '{datatype}' to widget type '{type(widget)}'."
        " To determine which data types can be connected to which widget types, please check"
        " 'canRepresent' methods in 'GuiConnector' classes in this file:"
        f" {pathlib.Path(__file__).name} (after Slicer's parameterNodeWrapper/guiConnectors.py)"
    )


def _rangeAnnotations(annotations):
    withinRange = findFirstAnnotation(annotations, WithinRange)
    minimum = findFirstAnnotation(annotations, Minimum)
    maximum = findFirstAnnotation(annotations, Maximum)
    bounded = withinRange is not None or (minimum is not None and maximum is not None)
    return withinRange, minimum, maximum, bounded


@parameterNodeGuiConnector
class QCheckBoxToBoolConnector(GuiConnector):
    widgetClasses = ("qt.QCheckBox", "ctk.ctkCheckBox")
    signal = "stateChanged(int)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) is bool

    def read(self) -> bool:
        return self._widget.checked

    def write(self, value: bool) -> None:
        self._widget.checked = value


@parameterNodeGuiConnector
class QCheckablePushButtonToBoolConnector(GuiConnector):
    widgetClasses = ("qt.QPushButton",)
    signal = "toggled(bool)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) is bool

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        if not widget.checkable:
            logging.warning(f"Making push button checkable for conversion to bool: button {widget}")
            widget.checkable = True

    def read(self) -> bool:
        return self._widget.checked

    def write(self, value: bool) -> None:
        self._widget.checked = value


@parameterNodeGuiConnector
class ctkCheckablePushButtonToBoolConnector(GuiConnector):  # noqa: N801 - Slicer's name
    widgetClasses = ("ctk.ctkCheckablePushButton",)
    signal = "toggled(bool)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) is bool

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        if not widget.checkBoxControlsButtonToggleState and not widget.checkable:
            logging.warning(f"Making push button checkable for conversion to bool: button {widget}")
            widget.checkable = True

    def read(self) -> bool:
        return self._widget.checked

    def write(self, value: bool) -> None:
        if self._widget.checkBoxControlsButtonToggleState:
            if value:
                self._widget.checkable = True
                self._widget.checked = True
            else:
                self._widget.checkable = False
        else:
            self._widget.checked = value


@parameterNodeGuiConnector
class QSliderOrSpinBoxToIntConnector(GuiConnector):
    widgetClasses = ("qt.QSlider", "qt.QSpinBox")
    signal = "valueChanged(int)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) is int

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        annotations = splitAnnotations(datatype)[1]
        decimals = findFirstAnnotation(annotations, Decimals)
        if decimals is not None:
            widget.decimals = decimals.value
        singleStep = findFirstAnnotation(annotations, SingleStep)
        if singleStep is not None:
            widget.singleStep = singleStep.value
        withinRange, minimum, maximum, bounded = _rangeAnnotations(annotations)
        if _isWidgetOfType(widget, "qt.QSlider") and not bounded:
            raise RuntimeError("Cannot have a connection to QSlider where the int type is unbounded.")
        if withinRange is not None:
            widget.setRange(withinRange.minimum, withinRange.maximum)
        else:
            widget.setMinimum(minimum.minimum if minimum is not None else -(2**31))
            widget.setMaximum(maximum.maximum if maximum is not None else 2**31 - 1)

    def read(self) -> int:
        return self._widget.value

    def write(self, value: int) -> None:
        self._widget.value = value


@parameterNodeGuiConnector
class QDoubleSpinBoxCtkSliderWidgetToFloatIntConnector(GuiConnector):
    widgetClasses = (
        "qt.QDoubleSpinBox",
        "ctk.ctkSliderWidget",
        "slicer.qMRMLSliderWidget",
        "ctk.ctkDoubleSlider",
        "ctk.ctkDoubleSpinBox",
        "slicer.qMRMLSpinBox",
    )
    signal = "valueChanged(double)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) in (float, int)

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        actualType, annotations = splitAnnotations(datatype)
        self._isInteger = actualType is int
        if not _isWidgetOfType(widget, "ctk.ctkDoubleSlider"):
            if self._isInteger:
                widget.decimals = 0
            else:
                decimals = findFirstAnnotation(annotations, Decimals)
                if decimals is not None:
                    widget.decimals = decimals.value
        singleStep = findFirstAnnotation(annotations, SingleStep)
        if singleStep is not None:
            widget.singleStep = singleStep.value
        withinRange, minimum, maximum, bounded = _rangeAnnotations(annotations)
        if _isWidgetOfType(widget, "ctk.ctkSliderWidget", "slicer.qMRMLSliderWidget") and not bounded:
            raise RuntimeError(
                "Cannot have a connection to ctkSliderWidget where the float types is unbounded."
            )
        if withinRange is not None:
            widget.minimum = withinRange.minimum
            widget.maximum = withinRange.maximum
        else:
            widget.minimum = minimum.minimum if minimum is not None else float("-inf")
            widget.maximum = maximum.maximum if maximum is not None else float("inf")

    def read(self):
        return int(self._widget.value) if self._isInteger else self._widget.value

    def write(self, value) -> None:
        self._widget.value = int(value) if self._isInteger else value


@parameterNodeGuiConnector
class QComboBoxToStringableConnector(GuiConnector):
    """A combo box for an int/float/str/bool field; the field must be annotated with ``Choice``."""

    widgetClasses = ("qt.QComboBox", "ctk.ctkComboBox")
    signal = "currentIndexChanged(int)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) in (int, float, str, bool)

    def __init__(self, widget, datatype) -> None:
        choice = findFirstAnnotation(splitAnnotations(datatype)[1], Choice)
        if choice is None:
            raise RuntimeError("ComboBoxToStringableConnector requires the Choice annotation to be used.")
        super().__init__(widget, datatype)
        self._choices = choice.choices
        widget.clear()
        for value in self._choices:
            widget.addItem(str(value))

    def read(self):
        return self._choices[self._widget.currentIndex]

    def write(self, value) -> None:
        for index, choice in enumerate(self._choices):
            if choice == value:
                self._widget.currentIndex = index
                return
        raise ValueError(f"Unable to find value {value} in choices {self._choices}")


@parameterNodeGuiConnector
class QComboBoxToEnumConnector(GuiConnector):
    widgetClasses = ("qt.QComboBox", "ctk.ctkComboBox")
    signal = "currentIndexChanged(int)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        # As in Slicer: issubclass raises TypeError when the type is not a class (a Union, a list[...]).
        return issubclass(unannotatedType(datatype), enum.Enum)

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        enumType = unannotatedType(datatype)
        labelOf = getattr(enumType, "label", lambda member: member.name)
        self._labelToEnum = [(labelOf(member), member) for member in enumType]
        selection = self.read()  # clearing the items loses the selection
        widget.clear()
        for label, _member in self._labelToEnum:
            widget.addItem(label)
        self.write(selection)

    def read(self):
        return self._labelToEnum[self._widget.currentIndex][1]

    def write(self, value) -> None:
        for index, (_label, member) in enumerate(self._labelToEnum):
            if member == value:
                self._widget.currentIndex = index
                return
        raise ValueError(f"Unable to find value {value} in choices {[m for _, m in self._labelToEnum]}")


@parameterNodeGuiConnector
class QLineEditToStrConnector(GuiConnector):
    widgetClasses = ("qt.QLineEdit",)
    signal = "textChanged(QString)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) is str

    def read(self) -> str:
        return self._widget.text

    def write(self, value: str) -> None:
        if value != self._widget.text:  # setting the text moves the cursor: only when it changes
            self._widget.text = value


@parameterNodeGuiConnector
class QLabelToStrConnector(GuiConnector):
    """Display only: a QLabel has no signal, so the GUI never writes the parameter."""

    widgetClasses = ("qt.QLabel",)
    signal = None

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) is str

    def read(self) -> str:
        return self._widget.text

    def write(self, value: str) -> None:
        self._widget.text = value


@parameterNodeGuiConnector
class QTextEditPlainTextToStrConnector(GuiConnector):
    widgetClasses = ("qt.QTextEdit",)
    signal = "textChanged()"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) is str

    def read(self) -> str:
        return self._widget.toPlainText()

    def write(self, value: str) -> None:
        self._widget.setPlainText(value)


@parameterNodeGuiConnector
class ctkPathLineEditToPathConnector(GuiConnector):  # noqa: N801 - Slicer's name
    """Only ``pathlib`` types: a ``str`` field bound to a ctkPathLineEdit has no connector (RuntimeError)."""

    widgetClasses = ("ctk.ctkPathLineEdit",)
    signal = "currentPathChanged(QString)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) in _PATH_TYPES

    def read(self):
        return unannotatedType(self._datatype)(self._widget.currentPath)

    def write(self, value) -> None:
        self._widget.currentPath = str(value)


@parameterNodeGuiConnector
class ctkDirectoryButtonToPathConnector(GuiConnector):  # noqa: N801 - Slicer's name
    widgetClasses = ("ctk.ctkDirectoryButton",)
    signal = "directoryChanged(QString)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return unannotatedType(datatype) in _PATH_TYPES

    def read(self):
        return unannotatedType(self._datatype)(self._widget.directory)

    def write(self, value) -> None:
        self._widget.directory = str(value)


@parameterNodeGuiConnector
class qMRMLNodeComboBoxToNodeConnector(GuiConnector):  # noqa: N801 - Slicer's name
    """Sets the selector's ``nodeTypes`` from the annotation (replacing what the .ui file set)."""

    widgetClasses = ("slicer.qMRMLNodeComboBox",)
    signal = "currentNodeChanged(vtkMRMLNode*)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return isNodeOrUnionOfNodes(datatype)

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        widget.nodeTypes = getNodeTypes(datatype)

    def read(self):
        return self._widget.currentNode()

    def write(self, value) -> None:
        self._widget.setCurrentNode(value)


@parameterNodeGuiConnector
class qSlicerSimpleMarkupsWidgetToNodeConnector(GuiConnector):  # noqa: N801 - Slicer's name
    """Registered by Slicer 5.10's Markups module (MarkupsLib/parameterNodeWrapper/guiConnectors.py)."""

    widgetClasses = ("slicer.qSlicerSimpleMarkupsWidget",)
    signal = "markupsNodeChanged()"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return isNodeOrUnionOfNodes(datatype)

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        widget.markupsSelectorComboBox().nodeTypes = getNodeTypes(datatype)

    def read(self):
        return self._widget.currentNode()

    def write(self, value) -> None:
        self._widget.setCurrentNode(value)


@parameterNodeGuiConnector
class qMRMLSubjectHierarchyTreeViewToNodeConnector(GuiConnector):  # noqa: N801 - Slicer's name
    """Registered by Slicer 5.10's SubjectHierarchy module; None is never written to the view."""

    widgetClasses = ("slicer.qMRMLSubjectHierarchyTreeView",)
    signal = "currentItemsChanged(QList<vtkIdType>)"

    @staticmethod
    def canRepresentType(datatype) -> bool:
        return isNodeOrUnionOfNodes(datatype)

    def __init__(self, widget, datatype) -> None:
        super().__init__(widget, datatype)
        widget.nodeTypes = getNodeTypes(datatype)

    def read(self):
        return self._widget.currentNode()

    def write(self, value) -> None:
        if value is not None:
            self._widget.setCurrentNode(value)


@parameterNodeGuiConnector
class qMRMLSubjectHierarchyComboBoxToNodeConnector(qMRMLSubjectHierarchyTreeViewToNodeConnector):  # noqa: N801 - Slicer's name
    widgetClasses = ("slicer.qMRMLSubjectHierarchyComboBox",)
    signal = "currentItemChanged(vtkIdType)"


# Not provided (no connector, so binding raises RuntimeError as for any unsupported pair):
# ctkRangeWidget/ctkDoubleRangeSlider/qMRMLRangeWidget <-> FloatRange and ctkColorPickerButton <->
# qt.QColor (this stand-in cannot store either type), and parameter packs.


def _makeGuiToParamCallback(self, name: str, connector: GuiConnector):
    def callback() -> None:
        with slicer.util.NodeModify(self):
            if not self._updatingGUIFromParameterNode:
                self.setValue(name, connector.read())

    return callback


def _updateGUIFromParameterNode(self) -> None:
    if self._updatingGUIFromParameterNode:
        return
    try:
        self._updatingGUIFromParameterNode = True
        with slicer.util.NodeModify(self):
            for mapping in list(self._parameterGUIs.values()):
                for name, connector in mapping.items():
                    connector.write(self.getValue(name))
    finally:
        self._updatingGUIFromParameterNode = False


def _connectParametersToGui(self, mapping) -> int:
    """Bind ``{parameterName: widget or GuiConnector}``; returns the tag for ``disconnectGui``."""
    for name in mapping:
        _check_name(self, name)
    connectors = {
        name: value if isinstance(value, GuiConnector) else createGuiConnector(value, self.dataType(name))
        for name, value in mapping.items()
    }
    tag = self._nextParameterGUIsTag
    self._nextParameterGUIsTag += 1
    self._parameterGUIs[tag] = connectors
    for name, connector in connectors.items():
        connector.write(self.getValue(name))
        connector.onChanged(_makeGuiToParamCallback(self, name, connector))
    # As in Slicer, the observer stays after disconnectGui; it only updates the GUIs still connected.
    self.AddObserver(vtk.vtkCommand.ModifiedEvent, lambda caller, event: _updateGUIFromParameterNode(self))
    return tag


def findChildWidgetForParameter(widget, parameter: str):
    """The child of ``widget`` whose ``SlicerParameterName`` is ``parameter`` (None if none)."""
    for child in widget.findChildren(_widgetClass("qt.QWidget")):
        if child.property(SlicerParameterNamePropertyName) == parameter:
            return child
    return None


def _isWidget(obj) -> bool:
    return getattr(obj, "isWidgetType", lambda: False)()


def _connectGui(self, gui) -> int:
    """Bind every widget whose dynamic property ``SlicerParameterName`` names a parameter.

    ``gui`` is a widget (its ``findChildren(qt.QWidget)`` are searched) or an object whose attributes
    are all widgets, such as ``slicer.util.childWidgetVariables(uiWidget)``.
    """
    nameToWidget = {}
    if _isWidget(gui):
        candidates = gui.findChildren(_widgetClass("qt.QWidget"))
    else:
        candidates = gui.__dict__.values()
    for widget in candidates:
        name = widget.property(SlicerParameterNamePropertyName)
        if name:
            nameToWidget[name] = widget
    return _connectParametersToGui(self, nameToWidget)


def _disconnectGui(self, tag) -> None:
    """Unbind the widgets of ``tag``: later edits in them no longer write the parameter node."""
    if tag in self._parameterGUIs:
        for connector in self._parameterGUIs[tag].values():
            connector.onChanged(None)
        del self._parameterGUIs[tag]


_METHODS = {
    "default": _default,
    "isCached": lambda self, name: False,
    "getValue": _get_value,
    "setValue": _set_value,
    "connectGui": _connectGui,
    "connectParametersToGui": _connectParametersToGui,
    "disconnectGui": _disconnectGui,
    "StartModify": lambda self: self.parameterNode.StartModify(),
    "EndModify": lambda self, wasModified: self.parameterNode.EndModify(wasModified),
    "AddObserver": lambda self, event, callback, priority=0.0: self.parameterNode.AddObserver(
        event, callback, priority
    ),
    "RemoveObserver": lambda self, tag: self.parameterNode.RemoveObserver(tag),
    "Modified": lambda self: self.parameterNode.Modified(),
}


def _process_class(classtype):
    allParameters: dict[str, _ParameterInfo] = {}
    for name, annotated_type in typing.get_type_hints(classtype, include_extras=True).items():
        try:
            serializer, rest = _make_serializer(annotated_type)
        except Exception as error:
            raise Exception(f"Unable to create serializer for {classtype} member {name}") from error
        defaults = [a for a in rest if isinstance(a, Default)]
        if hasattr(classtype, name):
            default = Default(getattr(classtype, name))
        else:
            default = defaults[0] if defaults else Default(serializer.default())
        allParameters[name] = _ParameterInfo(name, serializer, default, annotated_type)
        setattr(classtype, name, _make_property(name))

    added = {
        "allParameters": allParameters,
        "_is_parameter_node_wrapper": True,
        "dataType": staticmethod(lambda name: allParameters[name].unalteredType),
        **_METHODS,
    }
    for attribute, value in added.items():
        if hasattr(classtype, attribute):
            raise ValueError(f"Cannot use reserved name '{attribute}' in a parameterNodeWrapper")
        setattr(classtype, attribute, value)
    classtype.__init__ = _init
    return classtype


def isParameterNodeWrapper(classOrObj) -> bool:
    return getattr(classOrObj, "_is_parameter_node_wrapper", False)


def parameterNodeWrapper(classtype=None):
    """Class decorator: typed properties stored in the wrapped ``vtkMRMLScriptedModuleNode``."""
    if classtype is None:
        return _process_class
    return _process_class(classtype)
