"""Build the stock-Slicer environment: a virtual environment holding only what a stock 3D Slicer 5.10
bundles in its Python (slicer-5.10-python-requirements.txt, read from Slicer's SuperBuild), plus
slicer-core (real MRML and Slicer's real slicer/util.py) and PySide6-Essentials (the Qt behind the test
harness's `qt` adapter). Testing/StockSlicer/test_stock_slicer.py runs PRIME's module in it.

    python Testing/StockSlicer/make_env.py [--venv build/stock-slicer-venv] [--python PYTHON] [--force]

Idempotent: a stamp file in the environment records what it was built from (the requirements file, the
slicer-core/PySide6 pins and the Python); a rerun with the same inputs does nothing. The Python is, in
order: --python, $STOCK_SLICER_PYTHON, a Python 3.12 (Slicer 5.10's) on PATH or from pyenv, and last the
Python that runs this script. The first build downloads a few hundred MB from the package index
(vtk, PySide6, SimpleITK, scipy...); with no pip cache it took under a minute on a fast connection.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
REQUIREMENTS = HERE / "slicer-5.10-python-requirements.txt"
CONSTRAINTS = REPO_ROOT / "requirements" / "constraints.txt"
DEFAULT_VENV = REPO_ROOT / "build" / "stock-slicer-venv"
STAMP_NAME = ".stock-slicer-stamp.json"
#: What the environment adds to Slicer's own packages, pinned from requirements/constraints.txt: the
#: distributions and their one runtime dependency each (installed without dependencies, so that
#: vtk's declared matplotlib, which Slicer does not ship, stays out).
ADDED = ("slicer-core", "vtk", "PySide6-Essentials", "shiboken6")
#: Slicer 5.10 ships Python 3.12 (CMakeLists.txt, Slicer_REQUIRED_PYTHON_VERSION 3.12.10).
SLICER_PYTHON = (3, 12)


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """{canonical name: 'Name==version'} of the ``Name==version`` lines of a requirements file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(\S+)", line)
        if match:
            found[canonical(match.group(1))] = f"{match.group(1)}=={match.group(2)}"
    return found


def added_pins() -> list[str]:
    """The pins of :data:`ADDED` as requirements/constraints.txt records them."""
    recorded = pins(CONSTRAINTS)
    missing = [name for name in ADDED if canonical(name) not in recorded]
    if missing:
        raise SystemExit(f"{CONSTRAINTS} has no pin for {', '.join(missing)}")
    return [recorded[canonical(name)] for name in ADDED]


def python_version(python: str) -> tuple[int, int] | None:
    """(major, minor) of a Python that really runs and has venv, or None."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys, venv, ensurepip; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python(requested: str | None) -> str:
    """The Python to build the environment with (see the module docstring)."""
    if requested:
        if python_version(requested) is None:
            raise SystemExit(f"{requested} does not run (or lacks venv/ensurepip)")
        return requested
    candidates = ["python3.12"]
    pyenv = shutil.which("pyenv")
    if pyenv:  # pyenv's shims run only the globally selected versions: ask pyenv for its 3.12s
        versions = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout
        for version in sorted(versions.split(), reverse=True):
            if re.fullmatch(r"3\.12\.\d+", version):
                prefix = subprocess.run([pyenv, "prefix", version], capture_output=True, text=True)
                candidates.append(str(Path(prefix.stdout.strip()) / "bin" / "python3.12"))
    for candidate in candidates:
        if python_version(candidate) == SLICER_PYTHON:
            return candidate
    print(
        f"stock-slicer env: no Python {'.'.join(map(str, SLICER_PYTHON))} found (Slicer 5.10's); "
        f"using {sys.executable} (Python {sys.version.split()[0]})",
        flush=True,
    )
    return sys.executable


def fingerprint(python: str) -> dict:
    """What the environment is built from; equal fingerprints mean an up-to-date environment."""
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "requirements_sha256": hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest(),
        "added": added_pins(),
        "python": version,
    }


def directory_size(path: Path) -> int:
    return sum(
        entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink()
    )


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=pip_environment())


def pip_environment() -> dict[str, str]:
    """The environment for pip: nothing from the user site or PYTHONPATH leaks in."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_REQUIRE_VIRTUALENV="1")
    return env


def build(venv: Path, python: str, stamp: dict) -> dict:
    started = time.monotonic()
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    run([python, "-m", "venv", str(venv)])  # no --system-site-packages: nothing beyond the lists below
    venv_python = str(venv / "bin" / "python")
    pip = [venv_python, "-m", "pip", "install", "--no-input", "--quiet"]
    slicer_pins = pins(REQUIREMENTS)
    # Slicer's own pip, setuptools and wheel first, then the rest of its list. Slicer installs each list
    # with --require-hashes, so every dependency is pinned there: --no-deps adds nothing unlisted.
    tools = [slicer_pins.pop(name) for name in ("pip", "setuptools", "wheel")]
    run([*pip, "--no-deps", *tools])
    run([*pip, "--no-deps", "--requirement", str(REQUIREMENTS)])
    # slicer-core and PySide6 at the versions the main test environment uses (requirements/constraints.txt).
    # Only their pins apply: the rest of that file pins the main environment's newer numpy, scipy...,
    # which would replace Slicer's.
    constraint_file = venv / "constraints-added.txt"
    constraint_file.write_text("\n".join(added_pins()) + "\n", encoding="utf-8")
    run([*pip, "--no-deps", "--constraint", str(constraint_file), *ADDED])
    # Every import name of the environment loads (a broken wheel fails the build, not the test).
    run(
        [
            venv_python,
            "-c",
            "import numpy, scipy, SimpleITK, vtk, slicer, PySide6.QtWidgets, requests, pydicom, PIL, "
            "packaging, github, dicomweb_client; assert hasattr(slicer, 'vtkMRMLScene')",
        ]
    )
    # `pip check` only reports: vtk declares matplotlib, which neither Slicer nor this environment has.
    subprocess.run([venv_python, "-m", "pip", "check"], env=pip_environment())
    stamp = dict(
        stamp,
        build_seconds=round(time.monotonic() - started, 1),
        size_bytes=directory_size(venv),
        requirements=str(REQUIREMENTS.relative_to(REPO_ROOT)),
    )
    (venv / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return stamp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="where (default: %(default)s)")
    parser.add_argument("--python", default=os.environ.get("STOCK_SLICER_PYTHON") or None)
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    venv = args.venv.resolve()
    python = find_python(args.python)
    wanted = fingerprint(python)
    stamp_path = venv / STAMP_NAME
    if not args.force and stamp_path.is_file():
        built = json.loads(stamp_path.read_text(encoding="utf-8"))
        if all(built.get(key) == value for key, value in wanted.items()):
            stamp_path.touch()  # newer than its inputs again, for make
            print(f"stock-slicer env: {venv} is up to date (Python {built['python']})")
            return 0
    print(f"stock-slicer env: building {venv} with {python} (Python {wanted['python']})", flush=True)
    stamp = build(venv, python, wanted)
    print(
        f"stock-slicer env: built in {stamp['build_seconds']:.0f} s, "
        f"{stamp['size_bytes'] / 2**20:.0f} MiB, Python {stamp['python']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
