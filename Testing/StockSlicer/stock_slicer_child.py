"""PRIME's module in the stock-Slicer environment, as a user meets it: run by test_stock_slicer.py with
that environment's Python (``python -I``), never imported by pytest.

    python -I stock_slicer_child.py REPORT.json [--install] [--work DIR]

Steps, each recorded in REPORT.json (what failed, with its traceback, and which modules had been imported
from outside the environment by then, with the import chain that first asked for each):

1. the test harness of Testing/Slicer (real MRML from slicer-core, the `qt` it provides) is installed;
2. PRIME/PRIME.py is imported as Slicer imports a scripted module, and its module class is created;
3. the panel is set up (``PRIMEWidget(parent).setup()``, then ``enter()``, as when the user opens it);
4. the demo case is loaded as volume and segmentation nodes and chosen as the panel's inputs;
   through step 4 nothing may be imported beyond the environment: Python's standard library, the
   distributions installed in it, PRIME's own modules and the harness's;
5. (--install) the user accepts the install prompt of ``PRIMEPanel.scoring.ensureDependencies``
   (``slicer.util.confirmOkCancelDisplay`` answers OK and records the question); Slicer 5.10 has no
   ``slicer.packaging``, so the module falls back to ``slicer.util.pip_install``, which runs
   ``PythonSlicer -m pip install`` (the test puts a ``PythonSlicer`` for this environment on PATH);
6. (--install) the demo case scores with the module's Logic.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.metadata
import json
import os
import sys
import sysconfig
import tempfile
import time
import traceback
from pathlib import Path
from typing import ClassVar

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
HARNESS_DIR = REPO_ROOT / "Testing" / "Slicer"
MODULE_PATH = REPO_ROOT / "PRIME" / "PRIME.py"

#: PRIME's own top-level modules (PRIME.py puts PRIMEPanel's and PRIMELib's folders on sys.path).
PROJECT_MODULES = {"PRIME", "PRIMEPanel", "PRIMELib"}
PROJECT_ROOTS = (REPO_ROOT / "PRIME", REPO_ROOT / "PRIMELib")
#: Named in the report when imported before the install prompt is accepted: what PRIMELib needs and a
#: stock Slicer lacks (the check itself is against the whole environment, not this list).
NOT_IN_STOCK_SLICER = (
    "pandas",
    "sklearn",
    "sksurv",
    "radiomics",
    "pywt",
    "skops",
    "matplotlib",
    "reportlab",
    "typer",
    "click",
    "rich",
    "yaml",
    "pyarrow",
    "statsmodels",
    "joblib",
    "torch",
    "dask",
)


def harness_modules() -> set[str]:
    """The importable helper modules of the Slicer test harness (its folder, tests excluded)."""
    return {
        path.stem
        for path in HARNESS_DIR.glob("*.py")
        if not path.stem.startswith("test_") and path.stem != "conftest"
    }


def environment_modules() -> set[str]:
    """Top-level names this Python can import without PRIME: stdlib, built-ins, installed distributions."""
    names = set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    names |= set(importlib.metadata.packages_distributions())
    return names | {"__main__", "__mp_main__"}


def _is_importlib_util(filename: str) -> bool:
    """importlib.util's code: frozen since Python 3.11, a file before."""
    return filename == "<frozen importlib.util>" or Path(filename).parts[-2:] == ("importlib", "util.py")


def _import_chain() -> tuple[list[str], bool, str]:
    """The frames that led to an import, innermost last, without importlib's own; whether it is a
    probe (``importlib.util.find_spec``: is it installed?) rather than an import; the importing file."""
    frames = traceback.extract_stack()[:-2]
    probe = any(frame.name == "find_spec" and _is_importlib_util(frame.filename) for frame in frames)
    shown = [
        frame
        for frame in frames
        if not frame.filename.startswith("<frozen")
        and frame.filename != __file__
        and Path(frame.filename).parts[-2:] != ("importlib", "__init__.py")
        and not _is_importlib_util(frame.filename)
    ]
    chain = [
        f"{frame.filename}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}" for frame in shown
    ]
    return chain[-14:], probe, shown[-1].filename if shown else ""


class ImportWatch(importlib.abc.MetaPathFinder):
    """Records, for each top-level name outside ``allowed``, the chain of the first import of it (one
    that succeeded or raised ImportError) and, apart, of the first probe (``importlib.util.find_spec``).
    It finds nothing itself."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.attempts: dict[str, list[str]] = {}  # by an import statement (or importlib.import_module)
        self.importers: dict[str, str] = {}  # the file whose code asked for it
        self.probes: dict[str, list[str]] = {}

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in self.allowed or (top in self.attempts and top in self.probes):
            return None
        chain, probe, importer = _import_chain()
        if probe:
            self.probes.setdefault(top, chain)
        elif top not in self.attempts:
            self.attempts[top] = chain
            self.importers[top] = importer
        return None


def allowed_roots() -> list[Path]:
    """Where an imported module's file may lie: this environment, Python's standard library (not the
    base installation's site-packages), PRIME's module and library, the harness."""
    stdlib = Path(sysconfig.get_path("stdlib")).resolve()
    platstdlib = Path(sysconfig.get_path("platstdlib")).resolve()
    return [
        Path(sys.prefix).resolve(),
        stdlib,
        platstdlib,
        REPO_ROOT / "PRIME",
        REPO_ROOT / "PRIMELib",
        HARNESS_DIR,
        HERE,
    ]


def outside_files(roots: list[Path]) -> dict[str, str]:
    """Imported modules whose file lies outside ``roots`` (or in the base Python's site-packages)."""
    base_site = Path(sysconfig.get_path("purelib", vars={"base": sys.base_prefix})).resolve()
    found = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or not os.path.exists(file):  # not loaded from disk (see Run.imported_outside)
            continue
        path = Path(file).resolve()
        inside = any(path.is_relative_to(root) for root in roots)
        if not inside or (path.is_relative_to(base_site) and not path.is_relative_to(Path(sys.prefix))):
            found[name] = str(path)
    return found


class Run:
    """The steps and what each found; written to the report file after every step."""

    def __init__(self, report_path: Path, allowed: set[str], watch: ImportWatch) -> None:
        self.report_path = report_path
        self.allowed = allowed
        self.watch = watch
        self.roots = allowed_roots()
        self.report = {
            "python": sys.version.split()[0],
            "prefix": sys.prefix,
            "environment_distributions": sorted(
                f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
            ),
            "steps": [],
        }
        self.write()

    def write(self) -> None:
        self.report_path.write_text(json.dumps(self.report, indent=2, default=str) + "\n", encoding="utf-8")

    def imported_outside(self) -> dict[str, list[str]]:
        """Top-level modules imported now that the environment does not hold, with their import chain.

        A name outside the allowed set still belongs to the environment when its file is in the standard
        library (``_sysconfigdata_*``); one without a file on disk (``cython_runtime``,
        ``swig_runtime_data4`` made by compiled extensions, shiboken6's embedded ``shibokensupport``, the
        harness's ``qt``/``ctk``) was created at run time, not imported from anywhere, and is listed
        under ``created_at_run_time``."""
        stdlib = self.roots[1:3]  # the standard library's two folders (see allowed_roots)
        base_site = Path(sysconfig.get_path("purelib", vars={"base": sys.base_prefix})).resolve()
        outside = {}
        created = []
        for top in sorted({name.partition(".")[0] for name in sys.modules} - self.allowed):
            module = sys.modules.get(top)
            spec = getattr(module, "__spec__", None)
            file = getattr(module, "__file__", None) or getattr(spec, "origin", None)
            if file is None or file in ("built-in", "frozen") or not os.path.exists(file):
                created.append(top)  # no file, or one that is not on disk (shiboken's embedded support)
                continue
            path = Path(file).resolve()
            if any(path.is_relative_to(root) for root in stdlib) and not path.is_relative_to(base_site):
                continue
            chain = self.watch.attempts.get(top) or self.watch.probes.get(top)
            outside[top] = chain or ["(import chain not recorded)"]
        self.created_at_run_time = created
        return outside

    def step(self, name: str, function, *, check_imports: bool = True):
        started = time.monotonic()
        entry = {"name": name, "ok": False}
        self.report["steps"].append(entry)
        value = None
        try:
            value = function()
            entry["ok"] = True
        except BaseException as error:  # recorded: the parent test reports it
            entry["error"] = f"{type(error).__name__}: {error}"
            entry["traceback"] = traceback.format_exc()
        entry["seconds"] = round(time.monotonic() - started, 2)
        if check_imports:
            entry["imported_outside"] = self.imported_outside()
            entry["created_at_run_time"] = self.created_at_run_time
            entry["files_outside"] = outside_files(self.roots)
        entry["not_in_stock_slicer_imported"] = sorted(
            {name.partition(".")[0] for name in sys.modules} & set(NOT_IN_STOCK_SLICER)
        )
        # An import of a name outside the environment by PRIME's code that failed (caught, or not yet
        # raised) is as much a fault as one that succeeded: with the package present it would load.
        entry["import_attempted_outside"] = {
            top: chain
            for top, chain in self.watch.attempts.items()
            if top not in self.allowed
            and top not in sys.modules
            and any(Path(self.watch.importers[top]).is_relative_to(root) for root in PROJECT_ROOTS)
        }
        # Third-party optional imports and find_spec probes (is PyTorch there?): for information.
        entry["other_attempts_outside"] = sorted(
            top
            for top in {*self.watch.attempts, *self.watch.probes}
            if top not in self.allowed and top not in entry["import_attempted_outside"]
        )
        self.write()
        print(f"[stock-slicer] {name}: {'ok' if entry['ok'] else entry['error']}", flush=True)
        return value


class State:
    """What the steps hand on to each other (one run per process)."""

    harness = None
    module = None
    widget = None
    demo = None
    prompts: ClassVar[list[str]] = []  # the install prompts shown, in order
    installs: ClassVar[list[list[str]]] = []  # each pip_install call, with how many prompts preceded it


def install_harness() -> None:
    sys.path.insert(0, str(HARNESS_DIR))
    import slicer_harness as harness

    if harness.SLICER_CORE_IMPORT_ERROR:
        raise RuntimeError(harness.SLICER_CORE_IMPORT_ERROR)
    harness.install()
    if "PySide6" in sys.modules:  # a real-Qt `qt`: Slicer always has its application object
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is None:
            State.qapp = QApplication([sys.argv[0]])
    State.harness = harness
    State.session = harness.open_session(Path(WORK) / "session")
    State.standins = harness.standins_installed()


def import_module() -> None:
    module = State.harness.load_scripted_module(MODULE_PATH, "PRIME")
    State.module = module
    import slicer_standins

    parent_class = getattr(slicer_standins, "ModuleParentStandIn", None)
    if parent_class is not None:  # Slicer creates the module object at startup
        State.moduleObject = module.PRIME(parent_class(str(MODULE_PATH)))


def set_up_panel() -> None:
    """As Slicer opens a scripted module's panel: the widget is created with the module panel as its
    parent (qSlicerScriptedLoadableModuleWidget: a MRML widget with a vertical layout), then
    ``setup()``, then ``enter()`` when it is shown."""
    import qt
    import slicer

    parent = slicer.qMRMLWidget() if hasattr(slicer, "qMRMLWidget") else qt.QWidget()
    parent.setLayout(qt.QVBoxLayout())
    if hasattr(parent, "setMRMLScene"):
        parent.setMRMLScene(slicer.mrmlScene)
    State.parent = parent
    widget = State.module.PRIMEWidget(parent)
    State.widget = widget
    widget.setup()
    widget.enter()


def load_demo_case() -> None:
    import slicer

    from PRIMELib.demo import make_demo_images

    arterial, venous, mask = make_demo_images()
    to_node = State.module.PRIMETest._volumeNodeFromSitk
    arterial_node = to_node(arterial, "arterial")
    venous_node = to_node(venous, "venous")
    labelmap = to_node(mask, "tumour", "vtkMRMLLabelMapVolumeNode")
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "tumour")
    slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap, segmentation)
    segment_id = segmentation.GetSegmentation().GetNthSegmentID(0)
    State.demo = (arterial_node, venous_node, segmentation, segment_id)
    # The user's choices in Inputs: the panel follows its parameter node.
    parameters = State.module.PRIMELogic().getParameterNode()
    parameters.arterialVolume = arterial_node
    parameters.venousVolume = venous_node
    parameters.segmentation = segmentation
    parameters.segmentID = segment_id


def slicer_5_10_pip_install(requirements) -> None:
    """``slicer.util.pip_install`` of Slicer 5.10 (Base/Python/slicer/util.py, branch 5.10): ``PythonSlicer
    -m pip install ...`` with PythonSlicer found on PATH, through ``launchConsoleProcess`` and
    ``logProcessOutput`` (slicer-core's real ones), which raise CalledProcessError when pip fails.
    slicer-core's own ``pip_install`` (5.13) delegates to ``slicer.packaging``, which 5.10 does not have."""
    import shlex
    import shutil

    import slicer

    if type(requirements) == str:  # noqa: E721 - as Slicer writes it
        args = "install", *(shlex.split(requirements))
    elif type(requirements) == list:  # noqa: E721
        args = "install", *requirements
    else:
        raise ValueError("pip_install requirement input must be string or list")
    State.installs.append([*args[1:], f"(after {len(State.prompts)} prompt(s))"])
    python_slicer = shutil.which("PythonSlicer")
    if not python_slicer:
        raise RuntimeError("PythonSlicer executable not found")
    proc = slicer.util.launchConsoleProcess([python_slicer, "-m", "pip", *args], useStartupEnvironment=False)
    slicer.util.logProcessOutput(proc)


def accept_install_prompt() -> None:
    import slicer

    # A stock Slicer 5.10: no slicer.packaging (it came in 5.12), the 5.10 pip_install.
    if hasattr(slicer, "packaging"):
        delattr(slicer, "packaging")
    sys.modules["slicer.packaging"] = None  # `import slicer.packaging` raises ImportError, as in 5.10
    slicer.util.pip_install = slicer_5_10_pip_install

    from PRIMEPanel import scoring

    # What the panel's Score button calls.
    ensure = scoring.ensureDependencies
    before = _distributions()
    with AnswerConfirmationsWithOk(slicer):
        ok = ensure(slicer.util.confirmOkCancelDisplay)
    after = _distributions()
    State.installed = sorted(
        f"{name}=={version}" for name, version in after.items() if before.get(name) != version
    )
    State.replaced = sorted(
        f"{name} {before[name]} -> {after.get(name)}" for name in before if before[name] != after.get(name)
    )
    if not State.prompts:
        raise AssertionError("no install prompt was shown")
    if len(State.prompts) != 1:
        raise AssertionError(f"{len(State.prompts)} prompts instead of one: {State.prompts}")
    if not State.installs:
        raise AssertionError("the prompt was accepted but nothing was installed")
    if not ok:
        raise AssertionError(f"{ensure.__name__} returned False after the user accepted")
    importlib.invalidate_caches()
    missing = scoring.missingRequirements(scoring.loadRequirements())
    if missing:
        raise AssertionError(f"still missing after the install: {missing}")


def _distributions() -> dict[str, str]:
    """{name: version} of the distributions installed now."""
    importlib.invalidate_caches()
    return {dist.metadata["Name"]: dist.version for dist in importlib.metadata.distributions()}


class AnswerConfirmationsWithOk:
    """The user answers the install prompt with OK (Yes): ``slicer.util.confirmOkCancelDisplay`` and
    ``confirmYesNoDisplay`` record the question and return True while this is active. Any other dialog
    goes to the harness, which shows none by itself."""

    NAMES = ("confirmOkCancelDisplay", "confirmYesNoDisplay")

    def __init__(self, slicer) -> None:
        self.util = slicer.util
        self.originals = {name: getattr(slicer.util, name) for name in self.NAMES}

    def __enter__(self):
        def confirm(text, windowTitle=None, parent=None, **kwargs):  # noqa: N803 - Slicer's signature
            State.prompts.append(str(text))
            return True

        for name in self.NAMES:
            setattr(self.util, name, confirm)
        return self

    def __exit__(self, *exc_info):
        for name, original in self.originals.items():
            setattr(self.util, name, original)
        return False


def score_demo_case() -> dict:
    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    arterial, venous, segmentation, segment_id = State.demo
    logic = State.module.PRIMELogic()
    parameters = logic.getParameterNode()
    result = logic.scoreCase(
        arterial, venous, segmentation, segment_id, dict(DEMO_CLINICAL_RECORD), parameterNode=parameters
    )
    probability = result.score.response_probability
    if not 0.0 <= probability <= 1.0 or not result.score.risk_group:
        raise AssertionError(f"implausible result: {result.score}")
    stored = json.loads(parameters.resultJson)
    State.result = {
        "response_probability": probability,
        "risk_group": result.score.risk_group,
        "quadrant": stored.get("quadrant"),
        "features": len(result.radiomics.values),
    }
    return State.result


WORK = ""


def main(argv: list[str]) -> int:
    global WORK
    report_path = Path(argv[0])
    install = "--install" in argv
    WORK = argv[argv.index("--work") + 1] if "--work" in argv else tempfile.mkdtemp(prefix="prime-stock-")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    allowed = environment_modules() | PROJECT_MODULES | harness_modules()
    watch = ImportWatch(allowed)
    sys.meta_path.insert(0, watch)
    run = Run(report_path, allowed, watch)
    run.step("install the Slicer test harness", install_harness)
    if State.harness is None:
        return 1
    # The names the harness provides in Slicer's place (qt, ctk...) are the application's, not imports.
    allowed |= {name.partition(".")[0] for name in State.standins}
    run.report["harness_provides"] = State.standins
    run.step("import PRIME/PRIME.py as Slicer does", import_module)
    if State.module is None:
        return 1
    run.step("set up the panel", set_up_panel)
    run.step("load the demo case and choose it as the panel's inputs", load_demo_case)
    if install and State.demo is not None:
        run.step("accept the install prompt", accept_install_prompt, check_imports=False)
        run.report["prompts"] = State.prompts
        run.report["installs"] = State.installs
        run.report["installed"] = getattr(State, "installed", None)
        run.report["replaced"] = getattr(State, "replaced", None)
        run.step("score the demo case", score_demo_case, check_imports=False)
        run.report["result"] = getattr(State, "result", None)
    run.report["finished"] = True
    run.write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
