"""Scoring from the panel, without Qt: the ``prime score`` command the panel runs in a subprocess (the
GUI stays responsive), its progress lines, the model card, the survival curve, and the Python
packages scoring needs — installed on first use, after asking, never at import."""

from __future__ import annotations

import json
import logging
import os
import re

try:
    from slicer.i18n import tr as _
except ImportError:  # plain Python, outside Slicer: the source text

    def _(text: str) -> str:
        return text


#: Who asks, in Slicer's package-installation dialog.
REQUESTER = "PRIME"

#: Slicer's own packages: never upgraded or replaced while PRIME's are installed (a constraints file
#: holds them at the installed versions), since Slicer's compiled modules were built against them.
SLICER_OWN_PACKAGES = ("numpy", "scipy", "SimpleITK", "pillow", "pydicom", "requests", "packaging")


def scoreCommand(
    arterialPath, venousPath, maskPath, clinicalPath, outputDir, venousMaskPath=None, modelPath=None
) -> list[str]:
    """The command line that scores one case from files with PRIMELib, in Slicer's own Python."""
    from PRIMEPanel.processes import pythonSlicerExecutable

    command = [pythonSlicerExecutable(), "-m", "PRIMELib", "score"]
    command += ["--arterial", str(arterialPath), "--venous", str(venousPath), "--mask", str(maskPath)]
    command += ["--clinical", str(clinicalPath), "--output", str(outputDir)]
    if venousMaskPath:
        command += ["--venous-mask", str(venousMaskPath)]
    if modelPath:
        command += ["--model", str(modelPath)]
    return command


def workerCommand() -> list[str]:
    """The command line of PRIMELib's long-lived scoring worker (``PRIMELib.scoring_server``), in
    Slicer's own Python: the panel keeps one running across Score clicks, so the model bundle is
    loaded once, not at every click."""
    from PRIMEPanel.processes import pythonSlicerExecutable

    return [pythonSlicerExecutable(), "-m", "PRIMELib.scoring_server"]


def scoreRequest(
    requestId: int,
    arterialPath,
    venousPath,
    maskPath,
    clinicalPath,
    outputDir,
    venousMaskPath=None,
    modelPath=None,
    modelSha256=None,
) -> dict:
    """The scoring worker's request to score one case from files (the arguments of ``scoreCommand``)."""
    return {
        "id": requestId,
        "command": "score",
        "arterial": str(arterialPath),
        "venous": str(venousPath),
        "mask": str(maskPath),
        "clinical": str(clinicalPath),
        "output": str(outputDir),
        "venous_mask": str(venousMaskPath) if venousMaskPath else None,
        "model": str(modelPath) if modelPath else None,
        "model_sha256": modelSha256 or None,
    }


def parseWorkerLine(line: str) -> dict | None:
    """One reply of the scoring worker (a JSON object with an "event"), or None for anything else."""
    try:
        reply = json.loads(line)
    except ValueError:
        return None
    return reply if isinstance(reply, dict) and isinstance(reply.get("event"), str) else None


def parseProgressLine(line: str) -> tuple[float, str] | None:
    """A progress line printed by ``prime score`` (`` 45% Extracting…``) as (fraction, message)."""
    match = re.match(r"^\s*(\d{1,3})%\s+(.*?)\s*$", line or "")
    if not match:
        return None
    return min(int(match.group(1)), 100) / 100.0, match.group(2)


def scoreButtonText(running: bool) -> str:
    """Score turns into Cancel while a scoring process runs."""
    return _("Cancel") if running else _("Score")


def modelCardText(modelPath: str = "") -> str:
    """The model card of the bundle at ``modelPath`` (empty: the default model), as plain text.

    Reading a bundle needs PRIME's packages: until they are installed the card says so, and nothing
    is imported."""
    missing = missingRequirements(loadRequirements())
    if missing:
        return _(
            "The model card is shown once PRIME's Python packages are installed. They are installed "
            "when you first press Score, after asking: "
        ) + ", ".join(missing)
    from PRIMELib.pipeline import resolve_model

    model = resolve_model(modelPath or None)
    card = dict(getattr(model, "model_card", None) or {})
    name = getattr(model, "name", "") or card.get("name", "")
    lines = [f"{_('Model')}: {name}"] if name else []
    for key, value in card.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def survivalCurvePoints(result: dict) -> list[tuple[float, float]]:
    """The survival curve of a result dict: [(month, S)].

    A result carries its own ``survival_curve``; one without it (an older result file) gives the
    survival at the reported months (``survival``: {"12_months": S, ...}), from S(0) = 1."""
    curve = result.get("survival_curve")
    if curve:
        return [(float(point["month"]), float(point["survival"])) for point in curve]
    months = sorted((int(key.split("_")[0]), float(value)) for key, value in result["survival"].items())
    return [(0.0, 1.0)] + [(float(month), value) for month, value in months]


def survivalCurveTitle(result: dict) -> str:
    """The survival chart's title: a landmark model's curve (``survival_landmark_days``) is survival for
    patients alive at the landmark, in months from treatment start."""
    days = result.get("survival_landmark_days")
    if not days:
        return _("PRIME-S predicted overall survival")
    when = _("1 month") if float(days) == 30.0 else _("day {days}").format(days=f"{float(days):g}")
    return _("PRIME-S predicted overall survival for patients alive at {when}").format(when=when)


def requirementsFile() -> str:
    """``Resources/requirements.txt`` of the module: the pip requirements of PRIME's packages."""
    return os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Resources", "requirements.txt"
    )


def loadRequirements(path: str | None = None) -> list[str]:
    """The requirements of a requirements file, as ``slicer.packaging.load_requirements`` reads one
    (Slicer 5.12): comments, blank lines and pip options are skipped."""
    with open(path or requirementsFile(), encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip() and not line.strip().startswith(("#", "-"))]


def missingRequirements(requirements: list[str]) -> list[str]:
    """The requirements not satisfied by an installed distribution (absent, or of a version outside
    the range), as ``slicer.packaging.pip_check`` judges them."""
    from importlib import metadata

    from packaging.requirements import Requirement

    missing = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(text)
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            missing.append(text)
    return missing


def writeSlicerConstraints(path: str) -> str:
    """A pip constraints file holding Slicer's own packages at their installed versions."""
    from importlib import metadata

    pins = []
    for name in SLICER_OWN_PACKAGES:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    with open(path, "w", encoding="utf-8") as constraints:
        constraints.write("\n".join(pins) + "\n")
    return path


def slicerPackaging():
    """``slicer.packaging`` (Slicer ≥ 5.12), or None. A submodule: ``import slicer`` does not load it,
    so it is imported by name."""
    try:
        import slicer.packaging as packaging
    except ImportError:
        return None
    return packaging if hasattr(packaging, "pip_ensure") else None


def ensureDependencies(ask, install=None, packaging=None, requirements: list[str] | None = None) -> bool:
    """Install PRIME's packages that are missing (``Resources/requirements.txt``), after the user
    agrees; True when all are present.

    Called when the user asks for what needs them (Score, Save report), never at import. On Slicer
    ≥ 5.12 ``slicer.packaging.pip_ensure`` asks (Slicer's own dialog, naming the packages), installs
    with progress and offers a restart; it raises RuntimeError when the user declines, and installs
    nothing in testing mode. Before 5.12, ``ask(message) -> bool`` asks and ``slicer.util.pip_install``
    installs. Either way Slicer's own packages are held at their versions (:data:`SLICER_OWN_PACKAGES`).
    ``install(arguments)`` replaces either installer (called after ``ask``); ``packaging`` stands for
    ``slicer.packaging`` (tests)."""
    import tempfile

    requirements = loadRequirements() if requirements is None else list(requirements)
    missing = missingRequirements(requirements)
    if not missing:
        return True
    with tempfile.TemporaryDirectory(prefix="PRIME-pip-") as folder:
        constraints = writeSlicerConstraints(os.path.join(folder, "slicer-constraints.txt"))
        if install is None:
            packaging = packaging if packaging is not None else slicerPackaging()
            if packaging is not None:
                try:
                    packaging.pip_ensure(_requirements(missing), constraints=constraints, requester=REQUESTER)
                except RuntimeError as error:
                    if "declined" not in str(error).lower():
                        raise
                    logging.info("PRIME: installing %s was declined", ", ".join(missing))
                    return False
                return not missingRequirements(requirements)
        message = _("PRIME needs these Python packages: ") + ", ".join(missing) + _(". Install them now?")
        if not ask(message):
            return False
        if install is None:
            import slicer

            install = slicer.util.pip_install  # a list: each item is one pip argument
        install(["--constraint", constraints, *missing])
    return not missingRequirements(requirements)


def _requirements(requirements: list[str]) -> list:
    """``packaging`` Requirement objects, as ``pip_ensure`` takes them."""
    from packaging.requirements import Requirement

    return [Requirement(requirement) for requirement in requirements]
