"""Stand-in for ``slicer.parameterNodeWrapper`` (Slicer 5.x), which slicer-core does not ship.

Installed as ``slicer.parameterNodeWrapper`` by ``slicer_harness`` only when the real one is missing.
It follows Slicer's implementation closely enough that a parameter node written here reads back
the same in Slicer, and that a class Slicer rejects is rejected here too:

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

Not provided (a class using them fails at decoration with a clear message): ``tuple``, ``dict``,
``typing.Any``, ``parameterPack``, custom serializers. GUI binding (``connectGui``,
``connectParametersToGui``, ``disconnectGui``) only returns a tag: there is no GUI under pytest.
Values are read from the node on every access (Slicer caches them; the values are the same).
"""

from __future__ import annotations

import enum
import pathlib
import types
import typing

import slicer

__all__ = [
    "Choice",
    "Decimals",
    "Default",
    "Exclude",
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
    "isParameterNodeWrapper",
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
    self._nextGuiTag = 0
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


def _connect_gui(self, gui) -> int:
    """No GUI under pytest: returns a tag for ``disconnectGui`` and binds nothing."""
    self._nextGuiTag += 1
    return self._nextGuiTag


_METHODS = {
    "default": _default,
    "isCached": lambda self, name: False,
    "getValue": _get_value,
    "setValue": _set_value,
    "connectGui": _connect_gui,
    "connectParametersToGui": _connect_gui,
    "disconnectGui": lambda self, tag: None,
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
