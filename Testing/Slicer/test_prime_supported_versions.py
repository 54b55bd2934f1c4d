"""PRIME supports Slicer 5.10+ (Python 3.12). On an older Slicer the module file stops at once with one
message, before it imports anything else, so nothing half-loads."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap

import pytest
from conftest import PRIME_MODULE_PATH


def _forget_panel_modules(monkeypatch):
    for name in [n for n in sys.modules if n == "PRIMEPanel" or n.startswith("PRIMEPanel.")]:
        monkeypatch.delitem(sys.modules, name)


def test_on_slicer_5_8_the_module_refuses_to_load_naming_the_versions(load_module, monkeypatch):
    import slicer

    monkeypatch.setattr(slicer.app, "majorVersion", 5, raising=False)
    monkeypatch.setattr(slicer.app, "minorVersion", 8, raising=False)
    _forget_panel_modules(monkeypatch)
    with pytest.raises(ImportError, match=r"PRIME needs 3D Slicer 5\.10 or newer.*this is Slicer 5\.8"):
        load_module(PRIME_MODULE_PATH, "PRIME_on_slicer_5_8")
    assert "PRIMEPanel" not in sys.modules  # stopped before anything else was imported


def test_on_slicer_5_10_it_loads(load_module, monkeypatch):
    import slicer

    monkeypatch.setattr(slicer.app, "majorVersion", 5, raising=False)
    monkeypatch.setattr(slicer.app, "minorVersion", 10, raising=False)
    module = load_module(PRIME_MODULE_PATH, "PRIME_on_slicer_5_10")
    assert module.MINIMUM_SLICER_VERSION == (5, 10)


def test_on_python_3_9_the_module_refuses_to_load(load_module, monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    _forget_panel_modules(monkeypatch)
    with pytest.raises(ImportError, match=r"this Slicer's Python is 3\.9"):
        load_module(PRIME_MODULE_PATH, "PRIME_on_python_3_9")


def test_the_file_parses_as_python_3_9_so_the_version_check_can_run():
    """Slicer 5.8 ships Python 3.9: a syntax error there would come before the check's message."""
    ast.parse(PRIME_MODULE_PATH.read_text(encoding="utf-8"), feature_version=(3, 9))


@pytest.mark.skipif(shutil.which("python3.9") is None, reason="no python3.9 on PATH")
def test_a_real_python_3_9_gets_the_message():
    script = textwrap.dedent(
        f"""
        import sys, types
        slicer = types.ModuleType("slicer")
        slicer.app = types.SimpleNamespace(majorVersion=5, minorVersion=8)
        sys.modules["slicer"] = slicer
        source = open({str(PRIME_MODULE_PATH)!r}).read()
        try:
            exec(compile(source, "PRIME.py", "exec"), {{"__name__": "PRIME"}})
        except ImportError as error:
            print(error)
        """
    )
    completed = subprocess.run(["python3.9", "-c", script], capture_output=True, text=True, check=False)
    if completed.returncode != 0 and "command not found" in completed.stderr:
        pytest.skip("python3.9 on PATH does not run")
    assert "PRIME needs 3D Slicer 5.10 or newer" in completed.stdout, completed.stderr
