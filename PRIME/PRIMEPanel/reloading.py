"""Reloading this package with the module (Slicer's *Reload* button), without Qt.

Slicer's Reload re-executes ``PRIME.py`` only; its ``from PRIMEPanel import ...`` would then find the
old modules in ``sys.modules``. :func:`reloadPackage` re-executes the package's already imported
modules first, each after the package modules it imports at load time, so that ``from
PRIMEPanel.rules import NAME`` in a dependent module picks up the edited value. The order is read
from the source files (not listed by hand), so a new module takes part without further changes.
"""

from __future__ import annotations

import ast
import graphlib
import importlib
import os
import sys

PACKAGE = "PRIMEPanel"


class _LoadTimeImports(ast.NodeVisitor):
    """The package's modules a file imports when it is loaded: imports in function bodies run at call
    time, from the already reloaded modules, and so impose no order."""

    def __init__(self, packageName: str, moduleNames: set[str]) -> None:
        self.packageName = packageName
        self.moduleNames = moduleNames
        self.found: set[str] = set()

    def visit_FunctionDef(self, node) -> None:
        pass

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def _add(self, dotted: str) -> None:
        if dotted in self.moduleNames:
            self.found.add(dotted)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0:
            base = node.module
        elif node.level == 1:  # from . import rules / from .rules import X
            base = f"{self.packageName}.{node.module}" if node.module else self.packageName
        else:
            return
        self._add(base)  # from PRIMEPanel.rules import X
        for alias in node.names:  # from PRIMEPanel import rules
            self._add(f"{base}.{alias.name}")


def reloadOrder(packageDir: str, packageName: str = PACKAGE) -> list[str]:
    """Module names of the package in ``packageDir``: the package first, then each module after those
    of the package it imports at load time. Raises ``graphlib.CycleError`` for an import cycle."""
    files = sorted(f for f in os.listdir(packageDir) if f.endswith(".py") and f != "__init__.py")
    names = {f"{packageName}.{f[:-3]}": os.path.join(packageDir, f) for f in files}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        with open(path, encoding="utf-8") as stream:
            tree = ast.parse(stream.read(), filename=path)
        visitor = _LoadTimeImports(packageName, set(names))
        visitor.visit(tree)
        graph[name] = visitor.found - {name}
    return [packageName, *graphlib.TopologicalSorter(graph).static_order()]


def reloadPackage(packageName: str = PACKAGE) -> list[str]:
    """Re-execute the package's imported modules from their files, in :func:`reloadOrder`; modules
    not imported yet are left to their first import. Returns the names reloaded."""
    package = sys.modules.get(packageName)
    if package is None:
        return []
    importlib.invalidate_caches()  # a module file added since the last import is found
    reloaded = []
    for name in reloadOrder(package.__path__[0], packageName):
        module = sys.modules.get(name)
        if module is not None:
            importlib.reload(module)
            reloaded.append(name)
    return reloaded
