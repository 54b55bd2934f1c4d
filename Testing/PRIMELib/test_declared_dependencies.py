"""Every third-party import is declared in pyproject.toml, and `make lint` says so by name when one is
not: deptry, run as `make lint` runs it, on a copy of pyproject.toml with one dependency line removed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# As the Makefile's lint target: the project, and PRIME/ and each test folder as roots of their own
# (their modules import each other by name).
SCANNED = [".", "PRIME", *sorted(f"{path.relative_to(REPO)}/" for path in (REPO / "Testing").glob("*/"))]


def _deptry(config: Path) -> subprocess.CompletedProcess:
    deptry = Path(sys.executable).with_name("deptry")
    command = [str(deptry) if deptry.exists() else shutil.which("deptry") or "deptry"]
    return subprocess.run(
        [*command, "--config", str(config), *SCANNED],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_the_project_as_committed_passes():
    completed = _deptry(REPO / "pyproject.toml")
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(
    ("requirement", "module"),
    [
        ("pandas>=", "pandas"),  # base
        ("scikit-survival>=", "sksurv"),  # base, module named otherwise
        ("PyWavelets>=", "pywt"),  # base, imported directly though PyRadiomics brings it too
        ("pypdf>=", "pypdf"),  # dev extra
        ("distributed>=", "distributed"),  # cluster extra
    ],
)
def test_removing_a_dependency_line_fails_naming_the_module(tmp_path, requirement, module):
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    pattern = re.compile(rf'^\s*"{re.escape(requirement)}[^"]*",.*\n', re.MULTILINE)
    assert len(pattern.findall(text)) == 1, f"no single dependency line starting {requirement!r}"
    config = tmp_path / "pyproject.toml"
    config.write_text(pattern.sub("", text), encoding="utf-8")
    completed = _deptry(config)
    output = re.sub(r"\x1b\[[0-9;]*m", "", completed.stdout + completed.stderr)  # colours off
    assert completed.returncode != 0, output
    assert re.search(rf"DEP00[13] '{re.escape(module)}' imported but", output), output
