"""PRIMELib must run without Slicer: importing every module pulls in no slicer, qt, ctk or vtk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the test session itself imports slicer for the MRML harness.
PROBE = """
import importlib, json, pkgutil, sys
import PRIMELib
names = ["PRIMELib"] + [m.name for m in pkgutil.walk_packages(PRIMELib.__path__, "PRIMELib.")
                         if m.name != "PRIMELib.__main__"]
for name in names:
    importlib.import_module(name)
forbidden = sorted(m for m in sys.modules if m.split(".")[0] in {"slicer", "qt", "ctk", "vtk", "vtkmodules"})
print(json.dumps({"modules": names, "forbidden": forbidden}))
"""


def test_importing_every_primelib_module_imports_no_slicer_qt_ctk_or_vtk():
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    # The walk really found the package's modules (not an empty list that passes vacuously).
    assert {"PRIMELib.io", "PRIMELib.pipeline", "PRIMELib.cli", "PRIMELib.radiomics"} <= set(
        report["modules"]
    )
    assert report["forbidden"] == []
