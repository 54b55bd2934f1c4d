"""PRIME's module in a stock 3D Slicer 5.10's Python: only the packages Slicer bundles, plus slicer-core.

The environment is built by ``make stock-slicer-env`` (Testing/StockSlicer/make_env.py) at
build/stock-slicer-venv; each test runs stock_slicer_child.py with its Python in a child process:

- the module file imports and the panel sets up, and through loading the demo case nothing is imported
  beyond that environment (the standard library, its distributions, PRIME's own modules, the harness);
- (slow: installs from the package index) in a copy of the environment, the user accepts the install
  prompt, PRIME's packages are installed through ``slicer.util.pip_install`` as Slicer 5.10 does it
  (what it adds at requirements/constraints.txt's versions), and the demo case scores.

Without the environment these tests are skipped, and the session's stderr says so in capitals. Set
``PRIME_REQUIRE_STOCK_SLICER=1`` (make test) to make them fail instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
CHILD = HERE / "stock_slicer_child.py"
CONSTRAINTS = REPO_ROOT / "requirements" / "constraints.txt"
STOCK_VENV = Path(os.environ.get("PRIME_STOCK_SLICER_VENV") or REPO_ROOT / "build" / "stock-slicer-venv")
STAMP = STOCK_VENV / ".stock-slicer-stamp.json"
REQUIRE = os.environ.get("PRIME_REQUIRE_STOCK_SLICER", "") not in ("", "0")


def _load_make_env():
    """make_env.py beside this file (a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("prime_stock_slicer_make_env", HERE / "make_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_env = _load_make_env()


def _environment_problem() -> str | None:
    """Why the stock-Slicer environment cannot be used, or None."""
    if not (STOCK_VENV / "bin" / "python").exists() or not STAMP.is_file():
        return f"{STOCK_VENV} does not exist"
    stamp = json.loads(STAMP.read_text(encoding="utf-8"))
    requirements = make_env.REQUIREMENTS.read_bytes()
    if stamp.get("requirements_sha256") != make_env.hashlib.sha256(requirements).hexdigest():
        return f"{STOCK_VENV} was built from an older {make_env.REQUIREMENTS.name}"
    if stamp.get("added") != make_env.added_pins():
        return f"{STOCK_VENV} has other slicer-core/PySide6 versions than {CONSTRAINTS.name} records"
    return None


PROBLEM = _environment_problem()
MISSING_MESSAGE = (
    f"THE STOCK-SLICER ENVIRONMENT IS NOT USABLE ({PROBLEM}): THE Testing/StockSlicer TESTS "
    + ("FAIL" if REQUIRE else "ARE SKIPPED")
    + ". Build it with: make stock-slicer-env (python Testing/StockSlicer/make_env.py)"
    + ("." if REQUIRE else "; set PRIME_REQUIRE_STOCK_SLICER=1 to make this a failure.")
)
if PROBLEM:
    print("\n" + "!" * 100 + "\n" + MISSING_MESSAGE + "\n" + "!" * 100, file=sys.stderr)


@pytest.fixture(scope="module")
def stock_venv() -> Path:
    if PROBLEM:
        if REQUIRE:
            pytest.fail(MISSING_MESSAGE, pytrace=False)
        pytest.skip(MISSING_MESSAGE)
    return STOCK_VENV


def _child_environment(extra_path: Path | None = None, **variables: str) -> dict[str, str]:
    """The child's environment: nothing from PYTHONPATH, the user site or an activated virtual env."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTHON") and key not in ("VIRTUAL_ENV", "CONDA_PREFIX", "__PYVENV_LAUNCHER__")
    }
    env.update(PYTHONNOUSERSITE="1", QT_QPA_PLATFORM="offscreen")
    if extra_path is not None:
        env["PATH"] = f"{extra_path}{os.pathsep}{env.get('PATH', '')}"
    env.update(variables)
    return env


def _run_child(python: Path, work: Path, *options: str, env: dict[str, str], timeout: float) -> dict:
    """Run stock_slicer_child.py; its report (each step, what it imported) as a dict."""
    report_path = work / "report.json"
    command = [str(python), "-I", str(CHILD), str(report_path), "--work", str(work), *options]
    completed = subprocess.run(
        command, env=env, cwd=work, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = (completed.stdout + completed.stderr)[-6000:]
    if not report_path.is_file():
        pytest.fail(f"the child wrote no report (exit {completed.returncode}):\n{output}", pytrace=False)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["output"] = output
    report["returncode"] = completed.returncode
    return report


def _describe(step: dict) -> str:
    text = f"step {step['name']!r}"
    if not step["ok"]:
        text += f" failed: {step['error']}\n{step['traceback'][-4000:]}"
    return text


def _import_violations(step: dict) -> str:
    """What the step imported from outside the environment, each with the chain that imported it."""
    lines = []
    for top, chain in step.get("imported_outside", {}).items():
        lines.append(f"  {top!r}, first imported by:")
        lines += [f"      {frame}" for frame in chain]
    for top, chain in step.get("import_attempted_outside", {}).items():
        lines.append(f"  {top!r} (not installed: the import failed), imported by:")
        lines += [f"      {frame}" for frame in chain]
    lines += [f"  {name}: {path}" for name, path in step.get("files_outside", {}).items()]
    return "\n".join(lines)


def _check_until_the_prompt(report: dict) -> None:
    """The module imports, the panel sets up, the demo case loads: each without an import from outside."""
    steps = report["steps"]
    problems = []
    if len(steps) < 4:
        stopped = [step["name"] for step in steps]
        problems.append(
            f"the child stopped (exit {report['returncode']}) after {stopped}:\n{report['output']}"
        )
    for step in steps[:4]:
        if not step["ok"]:
            problems.append(_describe(step))
        violations = _import_violations(step)
        if violations:
            problems.append(f"after step {step['name']!r}, imported from outside stock Slicer:\n{violations}")
        if step["not_in_stock_slicer_imported"]:
            problems.append(f"after step {step['name']!r}: {step['not_in_stock_slicer_imported']} imported")
    assert not problems, (
        f"In a stock Slicer 5.10 environment (Python {report['python']}, "
        f"{len(report['environment_distributions'])} distributions):\n\n" + "\n\n".join(problems)
    )


def test_panel_sets_up_with_only_what_stock_slicer_ships(stock_venv, tmp_path):
    report = _run_child(stock_venv / "bin" / "python", tmp_path, env=_child_environment(), timeout=600)
    _check_until_the_prompt(report)


def test_the_import_check_names_a_module_from_outside_and_who_imported_it(stock_venv, tmp_path):
    """The check is not lenient: a ``pandas`` from outside the environment is reported with its file and
    import chain; an import of an absent package that the code catches is reported too; a
    ``find_spec`` probe (is PyTorch installed?) is not."""
    outside = tmp_path / "outside"
    (outside / "pandas").mkdir(parents=True)
    (outside / "pandas" / "__init__.py").write_text("", encoding="utf-8")
    (outside / "panel_part.py").write_text(
        "import importlib.util\n"
        "def setup():\n"
        "    import pandas  # noqa\n"
        "    try:\n"
        "        import sklearn  # noqa\n"
        "    except ImportError:\n"
        "        pass\n"
        "    importlib.util.find_spec('torch')\n",
        encoding="utf-8",
    )
    report_path = tmp_path / "report.json"
    code = "\n".join(
        [
            "import sys",
            f"sys.path[:0] = [{str(HERE)!r}, {str(outside)!r}]",
            "from pathlib import Path",
            "import stock_slicer_child as child",
            f"child.PROJECT_ROOTS = (Path({str(outside)!r}),)",
            "allowed = child.environment_modules() | {'panel_part', 'stock_slicer_child'}",
            "watch = child.ImportWatch(allowed)",
            "sys.meta_path.insert(0, watch)",
            f"run = child.Run(Path({str(report_path)!r}), allowed, watch)",
            "import panel_part",
            "run.step('set up', panel_part.setup)",
        ]
    )
    python = stock_venv / "bin" / "python"
    subprocess.run([str(python), "-I", "-c", code], env=_child_environment(), check=True, timeout=120)
    step = json.loads(report_path.read_text(encoding="utf-8"))["steps"][0]
    assert step["ok"]
    assert list(step["imported_outside"]) == ["pandas"]
    assert any(
        "panel_part.py:3 in setup: import pandas" in frame for frame in step["imported_outside"]["pandas"]
    )
    assert step["files_outside"]["pandas"] == str(outside / "pandas" / "__init__.py")
    assert step["not_in_stock_slicer_imported"] == ["pandas"]
    assert list(step["import_attempted_outside"]) == ["sklearn"]
    assert "panel_part.py:5 in setup: import sklearn" in step["import_attempted_outside"]["sklearn"][-1]
    assert "torch" in step["other_attempts_outside"]


def _copy_environment(source: Path, target: Path) -> None:
    """A copy of a virtual environment that pip may change: hard links where the file system allows
    (pip replaces files, it never writes into one), else copies. ``python -m pip`` works in it; the
    console scripts in bin/ still name the original."""

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy)


LIST_DISTRIBUTIONS = "import importlib.metadata as m; print(*(d.metadata['Name'] for d in m.distributions()))"


def _constraints_for_new_packages(python: Path, path: Path) -> Path:
    """requirements/constraints.txt without the distributions the stock environment already has.

    What the install adds comes at the versions the tests passed with; what Slicer ships stays as it is
    unless a new package needs another version (pip's default), as in a user's Slicer. The full file
    would replace Slicer's numpy, scipy, pillow, packaging... with the main environment's."""
    installed = subprocess.run(
        [str(python), "-I", "-c", LIST_DISTRIBUTIONS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    have = {make_env.canonical(name) for name in installed}
    kept = [line for name, line in make_env.pins(CONSTRAINTS).items() if name not in have]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_after_the_install_prompt_is_accepted_the_demo_case_scores(stock_venv, tmp_path):
    environment = tmp_path / "slicer-python"
    _copy_environment(stock_venv, environment)
    python = environment / "bin" / "python"
    launcher_dir = tmp_path / "bin"
    launcher_dir.mkdir()
    launcher = launcher_dir / "PythonSlicer"  # Slicer puts its PythonSlicer on PATH
    launcher.write_text(f'#!/bin/sh\nexec "{python}" "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    constraints = _constraints_for_new_packages(python, tmp_path / "constraints.txt")
    env = _child_environment(launcher_dir, PIP_CONSTRAINT=str(constraints), PIP_NO_INPUT="1")
    work = tmp_path / "work"
    work.mkdir()

    report = _run_child(python, work, "--install", env=env, timeout=1800)

    _check_until_the_prompt(report)
    steps = {step["name"]: step for step in report["steps"]}
    prompt = steps.get("accept the install prompt")
    assert prompt is not None, f"the install step did not run:\n{report['output']}"
    assert prompt["ok"], _describe(prompt) + "\n" + report["output"]
    assert len(report["prompts"]) == 1 and report["installs"], report
    assert all(re.search(r"after [1-9]\d* prompt", install[-1]) for install in report["installs"]), (
        f"installed before the user was asked: {report['installs']}"
    )
    # Slicer's compiled modules were built against these: the install must leave them as Slicer ships them.
    held = {"numpy", "scipy", "simpleitk", "vtk", "slicer-core", "pyside6-essentials", "shiboken6"}
    replaced = [line for line in report["replaced"] or [] if make_env.canonical(line.split()[0]) in held]
    assert not replaced, f"the install replaced Slicer's own packages: {replaced}"
    score = steps["score the demo case"]
    assert score["ok"], _describe(score) + "\n" + report["output"]
    result = report["result"]
    assert 0.0 <= result["response_probability"] <= 1.0 and result["risk_group"], result
