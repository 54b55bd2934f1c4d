"""The module's Reload re-reads PRIMEPanel/ too: load-time import order, edits seen, and the wiring."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import pytest

PACKAGE = "PRIMEPanel"
SOURCE = Path(__file__).resolve().parents[2] / "PRIME" / PACKAGE


def _package_modules() -> dict:
    return {n: m for n, m in sys.modules.items() if n == PACKAGE or n.startswith(PACKAGE + ".")}


@pytest.fixture
def reloading(prime_module):
    """PRIMEPanel.reloading as PRIME.py finds it (importing PRIME.py puts PRIMEPanel on sys.path)."""
    return importlib.import_module(f"{PACKAGE}.reloading")


@pytest.fixture
def package_copy(prime_module, tmp_path, monkeypatch):
    """A copy of PRIMEPanel first on sys.path, imported afresh; the session's modules are put back after."""
    saved = _package_modules()
    for name in saved:
        del sys.modules[name]
    root = tmp_path / "copy"
    shutil.copytree(SOURCE, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # an edit within the same second is still read
    monkeypatch.syspath_prepend(str(root))
    try:
        yield root / PACKAGE
    finally:
        for name in _package_modules():
            del sys.modules[name]
        sys.modules.update(saved)


def test_reload_order_puts_each_module_after_the_package_modules_it_imports_at_load_time(reloading):
    order = reloading.reloadOrder(str(SOURCE))
    files = sorted(p.stem for p in SOURCE.glob("*.py") if p.stem != "__init__")
    assert order[0] == PACKAGE and sorted(order[1:]) == [f"{PACKAGE}.{f}" for f in files]
    position = {name.removeprefix(PACKAGE + "."): i for i, name in enumerate(order)}
    # The load-time imports, read off the files: rules imports nodes; roi imports nodes and rules;
    # results imports nodes, clinical_form, rules and scoring; widgets imports clinical_form and scoring.
    for module, dependencies in {
        "rules": ["nodes"],
        "roi": ["nodes", "rules"],
        "results": ["nodes", "clinical_form", "rules", "scoring"],
        "widgets": ["clinical_form", "scoring"],
    }.items():
        for dependency in dependencies:
            assert position[dependency] < position[module], (dependency, module)


def test_reload_order_reads_relative_imports_and_ignores_imports_inside_functions(reloading, tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "a.py").write_text("from .b import X\n\n\ndef later():\n    from pkg import d\n")
    (folder / "b.py").write_text("from . import c\nimport json\n\nX = 1\n")
    (folder / "c.py").write_text("import pkg.d\n")
    (folder / "d.py").write_text("class Y:\n    def f(self):\n        import pkg.a\n")
    # a -> b -> c -> d at load time; a's and d's imports in functions would make a cycle if counted.
    assert reloading.reloadOrder(str(folder), "pkg") == ["pkg", "pkg.d", "pkg.c", "pkg.b", "pkg.a"]


def test_reload_package_makes_an_edited_constant_visible_in_its_module_and_in_importers(package_copy):
    from PRIMEPanel.reloading import reloadPackage

    rules = importlib.import_module(f"{PACKAGE}.rules")
    roi = importlib.import_module(f"{PACKAGE}.roi")  # does `from PRIMEPanel.rules import TUMOUR_SEGMENT_NAME`
    assert Path(rules.__file__).parent == package_copy
    assert rules.TUMOUR_SEGMENT_NAME == roi.TUMOUR_SEGMENT_NAME == "Tumour"
    source = package_copy / "rules.py"
    text = source.read_text(encoding="utf-8")
    assert text.count('TUMOUR_SEGMENT_NAME = "Tumour"') == 1
    source.write_text(text.replace('TUMOUR_SEGMENT_NAME = "Tumour"', 'TUMOUR_SEGMENT_NAME = "Edited lesion"'))

    reloaded = reloadPackage()

    assert rules.TUMOUR_SEGMENT_NAME == "Edited lesion"  # the same module object, re-executed
    assert roi.TUMOUR_SEGMENT_NAME == "Edited lesion"  # reloaded after rules, so it copied the new value
    assert sys.modules[f"{PACKAGE}.rules"] is rules
    assert reloaded.index(f"{PACKAGE}.rules") < reloaded.index(f"{PACKAGE}.roi")
    assert f"{PACKAGE}.widgets" not in reloaded and f"{PACKAGE}.widgets" not in sys.modules  # never imported


def test_reload_package_without_the_package_imported_does_nothing(package_copy):
    from PRIMEPanel.reloading import reloadPackage

    assert reloadPackage("PRIMEPanelNotImported") == []


def test_widget_reload_reloads_the_panel_package_before_slicer_reloads_the_module(
    prime_module, reloading, monkeypatch
):
    calls = []
    monkeypatch.setattr(reloading, "reloadPackage", lambda: calls.append("package") or [PACKAGE])
    monkeypatch.setattr(
        prime_module.ScriptedLoadableModuleWidget,
        "onReload",
        lambda self: calls.append("module"),
        raising=False,  # slicer-core's stand-in widget base has no onReload; Slicer's has
    )
    prime_module.PRIMEWidget.onReload(object())
    assert calls == ["package", "module"]
