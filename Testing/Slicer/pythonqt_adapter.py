"""A PythonQt-compatible ``qt`` module backed by PySide6, for running Slicer module widgets under pytest.

In Slicer, ``import qt`` gives PythonQt's wrappers of the Qt classes. Here ``qt.QPushButton`` *is*
``PySide6.QtWidgets.QPushButton`` (so ``type(widget) == qt.QLineEdit`` holds for widgets that
``QUiLoader`` builds, as Slicer's parameterNodeWrapper GUI connectors require), and :func:`install`
gives every ``QObject`` PythonQt's attribute rules. They follow PythonQt as CTK builds it for Slicer
(commontk/PythonQt, branch ``patched-9``: ``src/PythonQtInstanceWrapper.cpp`` ``getattro``/``setattro``,
``src/PythonQtClassInfo.cpp`` ``lookForPropertyAndCache``, ``src/PythonQtStdDecorators.cpp``
``connect``/``disconnect``, ``src/PythonQtSignalReceiver.cpp``):

- Attribute reads: Python attributes first (instance dictionary, members of a Python subclass), then a
  Qt property (``label.text`` is the text, so ``label.text()`` fails as in PythonQt; ``name`` maps to
  ``objectName``; ``QTimer.singleShot`` is not a property), then methods, signals and enums, then a
  dynamic property, then a child object of that ``objectName``; otherwise ``AttributeError``.
- Attribute writes: a Qt property is written with ``QMetaProperty.write`` (read-only or a value of the
  wrong type: ``AttributeError``); a method, signal or enum cannot be overwritten; a dynamic property
  is written; on a C++ class (every PySide6 class and the CTK/qMRML stand-ins) any other name raises
  ``AttributeError`` ("creating new attributes on C++ objects is not allowed"); only Python
  subclasses may add attributes.
- ``obj.connect("clicked(bool)", callable)`` / ``obj.disconnect(signature, callable)``: Qt signal
  signatures as strings, normalised as Qt does. PythonQt prints an error and returns False for a
  signal the object does not have, which leaves a dead button in Slicer; here it raises
  :class:`UnknownSignalError` so a test fails. The callable gets as many of the signal's arguments as
  it accepts, as PythonQt's signal receiver does. An exception in a slot is printed and the
  application goes on, as in PythonQt; it is also recorded in :data:`SLOT_ERRORS` for tests.
  ``obj.clicked.connect(callable)`` is PySide6's own and works too.
- Enums as Slicer code writes them (``qt.Qt.ToolTipRole``, ``qt.QMessageBox.Ok``,
  ``qt.QProcess.NotRunning``): PySide6's own enums, which accept the unscoped names and ``|``.
- PythonQt's return conventions where they differ from PySide6: ``QFileDialog.getOpenFileName`` /
  ``getSaveFileName`` / ``getExistingDirectory`` and ``QInputDialog.getText`` return a string (empty
  when cancelled), not a tuple; ``exec_`` is ``exec``; ``QByteArray.data()`` is ``bytes``.
- No dialog is ever accepted by itself: ``exec``/``exec_`` of a dialog and the static dialog
  functions go to ``slicer_dialogs.answerModal``, which answers from the test's script (the
  ``dialogs`` fixture) or raises ``slicer_dialogs.UnexpectedDialog``.

One ``QApplication`` (offscreen unless ``QT_QPA_PLATFORM`` says otherwise) serves the whole session.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import traceback
import types

__all__ = [
    "QT_NAMES_USED",
    "SLOT_ERRORS",
    "UnknownSignalError",
    "application",
    "install",
    "make_qt_module",
    "mark_cpp_class",
    "register_signal_signatures",
]

#: Every ``qt.<name>`` looked up so far; clear it, run Logic code, and check it stays empty.
QT_NAMES_USED: set[str] = set()

#: ``(signature, exception, formatted traceback)`` of each exception raised in a slot.
SLOT_ERRORS: list[tuple[str, BaseException, str]] = []


class UnknownSignalError(RuntimeError):
    """``obj.connect(signature, ...)`` named a signal the object does not have."""


_installed = False
_QtCore = _QtGui = _QtWidgets = _QtUiTools = None
_pyside_connect = None
_pyside_disconnect = None
_object_getattribute = None
_object_setattr = None
_cpp_classes: set[type] = set()
_signal_aliases: dict[type, dict[str, str]] = {}
_connections: dict[tuple[int, str], list[tuple[object, object]]] = {}


def mark_cpp_class(cls: type) -> type:
    """Mark a stand-in for a C++ class (a CTK or qMRML widget): PythonQt rules as for PySide6 classes."""
    _cpp_classes.add(cls)
    return cls


def register_signal_signatures(cls: type, aliases: dict[str, str]) -> None:
    """Signatures as Slicer's C++ declares them → the PySide6 signal of a stand-in that carries them.

    A stand-in's signal with a VTK object argument is declared ``Signal(object)`` (signature
    ``currentNodeChanged(PyObject)``);
    ``{"currentNodeChanged(vtkMRMLNode*)": "currentNodeChanged(PyObject)"}``
    lets Slicer-style code connect to it by its C++ signature, and nothing else.
    """
    normalized = {_normalize(key): _normalize(value) for key, value in aliases.items()}
    _signal_aliases.setdefault(cls, {}).update(normalized)


def _is_cpp_class(cls: type) -> bool:
    return cls in _cpp_classes or cls.__module__.startswith(("PySide6.", "shiboken6", "Shiboken"))


def _normalize(signature: str) -> str:
    text = signature[1:] if signature[:1] in "0123456789" else signature
    return bytes(_QtCore.QMetaObject.normalizedSignature(text).data()).decode()


# --------------------------------------------------------------------------------------------------
# Attribute rules (PythonQtInstanceWrapper_getattro / _setattro)
# --------------------------------------------------------------------------------------------------

_PYTHON_MEMBER_CACHE: dict[tuple[type, str], bool] = {}


def _python_member(cls: type, name: str) -> bool:
    """Whether ``name`` is defined in Python code: in a Python (sub)class's own dictionary."""
    key = (cls, name)
    cached = _PYTHON_MEMBER_CACHE.get(key)
    if cached is None:
        cached = any(
            name in klass.__dict__
            for klass in cls.__mro__
            if not klass.__module__.startswith(("PySide6.", "shiboken6", "Shiboken", "builtins"))
        )
        _PYTHON_MEMBER_CACHE[key] = cached
    return cached


def _property_index(obj, name: str) -> tuple[int, str]:
    meta = _QtCore.QObject.metaObject(obj)
    index = meta.indexOfProperty(name)
    if index < 0 and name == "name":  # PYTHONQT_SUPPORT_NAME_PROPERTY
        name = "objectName"
        index = meta.indexOfProperty(name)
    if index >= 0 and name == "singleShot" and meta.className() == "QTimer":
        index = -1  # PythonQt hides QTimer's singleShot property: use setSingleShot/isSingleShot
    return index, name


_original_getattribute: dict[type, object] = {}
_reading: set[tuple[int, str]] = set()


def _pyside_getattribute(obj, name: str):
    """PySide6's own lookup for the object's class (each class has its own: static/instance overloads)."""
    for klass in type(obj).__mro__:
        original = _original_getattribute.get(klass)
        if original is not None:
            return original(obj, name)
    return object.__getattribute__(obj, name)


def _getattribute(obj, name: str):
    if name[:1] == "_":
        return _pyside_getattribute(obj, name)
    try:
        instance_dict = _pyside_getattribute(obj, "__dict__")
    except AttributeError:
        instance_dict = {}
    if name in instance_dict or _python_member(type(obj), name):
        return _pyside_getattribute(obj, name)
    if name == "connect":  # PySide6's own lookup would bind its built-in connect
        return types.MethodType(_connect, obj)
    if name == "disconnect":
        return types.MethodType(_disconnect, obj)
    index, name = _property_index(obj, name)
    key = (id(obj), name)
    if index >= 0 and key not in _reading:
        # Reading a property may call its C++ getter, and PySide6 then looks the same name up on the
        # object to find a Python override of the virtual (sizeHint...): that lookup gets the method.
        meta_property = _QtCore.QObject.metaObject(obj).property(index)
        _reading.add(key)
        try:
            return meta_property.read(obj)
        finally:
            _reading.discard(key)
    try:
        return _pyside_getattribute(obj, name)
    except AttributeError:
        pass
    if name.encode() in [bytes(n.data()) for n in _QtCore.QObject.dynamicPropertyNames(obj)]:
        return _QtCore.QObject.property(obj, name)
    for child in _QtCore.QObject.children(obj):
        if _QtCore.QObject.objectName(child) == name:
            return child
    raise AttributeError(f"{_QtCore.QObject.metaObject(obj).className()} has no attribute named '{name}'")


_pyside_internal = [0]


@contextlib.contextmanager
def pyside_internal():
    """PySide6's own Python code inside the block may set attributes freely (QUiLoader names children)."""
    _pyside_internal[0] += 1
    try:
        yield
    finally:
        _pyside_internal[0] -= 1


def _setattr(obj, name: str, value) -> None:
    if name[:1] == "_":
        _object_setattr(obj, name, value)
        return
    cls = type(obj)
    type_name = cls.__name__
    index, name = _property_index(obj, name)
    if index >= 0:
        meta_property = _QtCore.QObject.metaObject(obj).property(index)
        if not meta_property.isWritable():
            raise AttributeError(f"Property '{name}' of {type_name} object is not writable")
        if meta_property.typeName() == "QStringList" and isinstance(value, (tuple, list)):
            value = list(value)  # PythonQt converts any sequence of strings to a QStringList
        if not meta_property.write(obj, value):
            raise AttributeError(
                f"Property '{name}' of type '{meta_property.typeName()}' does not accept an object of "
                f"type {type(value).__name__} ({value!r})"
            )
        return
    if _pyside_internal[0]:  # PySide6's own code (QUiLoader naming children on the top widget)
        _object_setattr(obj, name, value)
        return
    if not _python_member(cls, name):
        try:
            member = _pyside_getattribute(obj, name)
        except AttributeError:
            member = None
        if name in _pyside_getattribute(obj, "__dict__") and type(member).__name__ != "SignalInstance":
            member = None  # an attribute this Python object was given (a subclass, PySide6's own code)
        if member is not None:
            kind = "Signal" if type(member).__name__ == "SignalInstance" else "Slot"
            if not callable(member):
                kind = "EnumValue"
            raise AttributeError(f"{kind} '{name}' can not be overwritten on {type_name} object")
        if name.encode() in [bytes(n.data()) for n in _QtCore.QObject.dynamicPropertyNames(obj)]:
            _QtCore.QObject.setProperty(obj, name, value)
            return
        if _is_cpp_class(cls):
            raise AttributeError(
                f"'{name}' does not exist on {type_name} and creating new attributes on C++ objects "
                "is not allowed"
            )
    _object_setattr(obj, name, value)


# --------------------------------------------------------------------------------------------------
# connect / disconnect with signatures (PythonQtStdDecorators, PythonQtSignalReceiver)
# --------------------------------------------------------------------------------------------------


def _resolve_signal(obj, signature: str, action: str = "connect") -> str:
    """The PySide6 signature of ``signature`` on ``obj``; raises UnknownSignalError if it has none."""
    normalized = _normalize(signature)
    for klass in type(obj).__mro__:
        alias = _signal_aliases.get(klass, {}).get(normalized)
        if alias is not None:
            normalized = alias
            break
    meta = _QtCore.QObject.metaObject(obj)
    if meta.indexOfSignal(normalized) < 0:
        raise UnknownSignalError(
            f"PythonQt: QObject::{action}() signal '{signature}' does not exist on {meta.className()}"
        )
    return normalized


def _accepted_argument_count(target) -> int | None:
    """How many positional arguments ``target`` takes (None: any number), as PythonQt counts them."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in parameters:
        if parameter.kind == parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def _slot_call(target, signature: str):
    """The function connected for ``target``: as many arguments as it takes; errors printed, recorded.

    (A function, not a callable object: PySide6's string-signature ``connect`` takes functions.)
    """
    count = _accepted_argument_count(target)

    def call(*args):
        if count is not None:
            args = args[:count]
        try:
            target(*args)
        except Exception as error:  # PythonQt prints the traceback and the application goes on
            text = traceback.format_exc()
            SLOT_ERRORS.append((signature, error, text))
            print(f"Error in a slot connected to {signature}:\n{text}", file=sys.stderr)

    return call


def _connect(sender, signal, target=None, slot=None, connection_type=None):
    """``sender.connect("clicked(bool)", callable)`` or ``(signal, receiver, "slot()")``."""
    if not isinstance(signal, str):  # PySide6's own forms (its QTimer.singleShot uses them)
        if isinstance(signal, _QtCore.QObject):  # obj.connect(sender, "2signal()", slot)
            args = [a for a in (slot, connection_type) if a is not None]
            return _pyside_connect(signal, target, *args)
        args = [a for a in (target, slot, connection_type) if a is not None]
        return _pyside_connect(sender, signal, *args)
    pyside_signature = _resolve_signal(sender, signal)
    if isinstance(target, _QtCore.QObject) and isinstance(slot, str):
        slot_signature = slot[1:] if slot[:1] in "0123456789" else slot
        return bool(
            _pyside_connect(
                sender, _QtCore.SIGNAL(pyside_signature), target, _QtCore.SLOT(_normalize(slot_signature))
            )
        )
    if not callable(target):
        raise TypeError(f"connect({signal!r}, ...): {target!r} is not callable")
    call = _slot_call(target, signal)
    if not _pyside_connect(sender, _QtCore.SIGNAL(pyside_signature), call):
        return False
    _connections.setdefault((id(sender), pyside_signature), []).append((target, call))
    return True


def _disconnect(sender, signal=None, target=None, slot=None):
    """``sender.disconnect(signature, callable)``; ``disconnect(signature)`` removes every Python slot."""
    if not isinstance(signal, str):  # PySide6's own forms
        if isinstance(signal, _QtCore.QObject):
            args = [a for a in (target, slot) if a is not None]
            return _pyside_disconnect(signal, *args)
        args = [a for a in (signal, target, slot) if a is not None]
        return _pyside_disconnect(sender, *args)
    pyside_signature = _resolve_signal(sender, signal, "disconnect")
    if isinstance(target, _QtCore.QObject) and isinstance(slot, str):
        slot_signature = slot[1:] if slot[:1] in "0123456789" else slot
        return bool(
            _pyside_disconnect(
                sender, _QtCore.SIGNAL(pyside_signature), target, _QtCore.SLOT(_normalize(slot_signature))
            )
        )
    key = (id(sender), pyside_signature)
    entries = _connections.get(key, [])
    removed = False
    for entry in list(entries):
        if target is None or entry[0] == target:
            with contextlib.suppress(RuntimeError):
                removed |= bool(_pyside_disconnect(sender, _QtCore.SIGNAL(pyside_signature), entry[1]))
            entries.remove(entry)
    return removed


# --------------------------------------------------------------------------------------------------
# Dialogs: never accepted by themselves
# --------------------------------------------------------------------------------------------------


def _answer(name: str, *args):
    """A modal call: answered from the running test's script (``slicer_dialogs``), or it fails."""
    import slicer_dialogs

    return slicer_dialogs.answerModal(name, *args)


def _modal_exec(dialog, *args):
    return _answer("exec", dialog)


def _patch_dialogs() -> None:
    QFileDialog, QInputDialog, QMessageBox = (
        _QtWidgets.QFileDialog,
        _QtWidgets.QInputDialog,
        _QtWidgets.QMessageBox,
    )

    def modal_function(name):
        def function(*args, **kwargs):
            return _answer(name, *args)

        function.__name__ = name
        return staticmethod(function)

    for name in ("getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory"):
        setattr(QFileDialog, name, modal_function(name))
    for name in ("getText", "getInt", "getDouble", "getItem", "getMultiLineText"):
        setattr(QInputDialog, name, modal_function(name))
    for name in ("question", "information", "warning", "critical", "about"):
        setattr(QMessageBox, name, modal_function(name))
    for cls in (_QtWidgets.QDialog, QMessageBox, _QtWidgets.QFileDialog, _QtWidgets.QInputDialog):
        cls.exec = _modal_exec
        cls.exec_ = _modal_exec


# --------------------------------------------------------------------------------------------------
# The qt module
# --------------------------------------------------------------------------------------------------


class _QtModule(types.ModuleType):
    """``qt``: names are looked up in QtCore, QtGui, QtWidgets, QtUiTools (and recorded)."""

    def __init__(self) -> None:
        super().__init__("qt", __doc__)
        self.__is_slicer_harness_standin__ = True
        self.__pythonqt_adapter__ = True
        self._extra: dict[str, object] = {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(f"module 'qt' has no attribute {name!r}")
        QT_NAMES_USED.add(f"qt.{name}")
        if name in self._extra:
            return self._extra[name]
        for module in (_QtWidgets, _QtGui, _QtCore, _QtUiTools):
            value = module.__dict__.get(name)
            if value is None:
                try:
                    value = getattr(module, name)
                except AttributeError:
                    continue
            return value
        raise AttributeError(f"module 'qt' has no attribute {name!r}")

    def __dir__(self):
        names = set(self._extra)
        for module in (_QtWidgets, _QtGui, _QtCore, _QtUiTools):
            names.update(n for n in dir(module) if not n.startswith("_"))
        return sorted(names)


_qt_module: _QtModule | None = None


def make_qt_module() -> types.ModuleType:
    """The ``qt`` module (one per process); :func:`install` must have run."""
    install()
    return _qt_module


def application():
    """The session's ``QApplication``."""
    install()
    return _QtWidgets.QApplication.instance()


def install() -> types.ModuleType:
    """Create the QApplication and give PySide6 PythonQt's rules (once per process). Returns ``qt``."""
    global _installed, _QtCore, _QtGui, _QtWidgets, _QtUiTools, _qt_module
    global _pyside_connect, _pyside_disconnect, _object_getattribute, _object_setattr
    if _installed:
        return _qt_module
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtGui, QtUiTools, QtWidgets

    _QtCore, _QtGui, _QtWidgets, _QtUiTools = QtCore, QtGui, QtWidgets, QtUiTools
    if QtWidgets.QApplication.instance() is None:
        app = QtWidgets.QApplication([sys.argv[0] if sys.argv else "pytest"])
        app.setQuitOnLastWindowClosed(False)
    # Settings of this process stay out of the user's own: INI files under a fresh folder.
    import tempfile

    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.IniFormat)
    settings_dir = tempfile.mkdtemp(prefix="pythonqt-adapter-settings-")
    for scope in (QtCore.QSettings.UserScope, QtCore.QSettings.SystemScope):
        QtCore.QSettings.setPath(QtCore.QSettings.IniFormat, scope, settings_dir)

    QObject = QtCore.QObject
    _object_getattribute = QObject.__getattribute__
    _object_setattr = QObject.__mro__[1].__setattr__  # Shiboken.Object's (PySide6 types copy the slot)
    _pyside_connect = QObject.connect
    _pyside_disconnect = QObject.disconnect
    # Each PySide6 class has its own attribute slots: set PythonQt's rules on every QObject class.
    for module in (QtCore, QtGui, QtWidgets, QtUiTools):
        for name in dir(module):  # dir + getattr: PySide6 creates its types lazily
            value = getattr(module, name, None)
            if isinstance(value, type) and issubclass(value, QObject):
                if value not in _original_getattribute and "__getattribute__" in value.__dict__:
                    _original_getattribute[value] = value.__dict__["__getattribute__"]
                value.__getattribute__ = _getattribute
                value.__setattr__ = _setattr
    QObject.connect = _connect
    QObject.disconnect = _disconnect
    for cls in (QtCore.QCoreApplication, QtCore.QEventLoop, QtWidgets.QMenu):
        if "exec_" not in cls.__dict__:
            cls.exec_ = cls.exec
    _patch_dialogs()

    _qt_module = _QtModule()
    import slicer_widgets  # the CTK/qMRML stand-ins: QUiLoader needs them registered

    _qt_module._extra["QUiLoader"] = slicer_widgets.SlicerUiLoader
    _installed = True
    return _qt_module
