"""Names a package exports but loads on first use (PEP 562), for parts that need pandas: Slicer's
Python has none until the user installs PRIME's packages, and the panel uses the rest before that."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` giving each of ``names`` ({name: submodule}) from
    ``package.submodule``, imported when the name is first used."""

    def exported(name: str) -> object:
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return exported
