"""Scoring from the panel, without Qt: the ``prime score`` command the panel runs in a subprocess (the
GUI stays responsive), its progress lines, the model card, the survival curve, and the Python
packages scoring needs — installed on first use, after asking, never at import."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys

try:
    from slicer.i18n import tr as _
except ImportError:  # plain Python, outside Slicer: the source text

    def _(text: str) -> str:
        return text


#: Import name → pip requirement of what scoring needs (installed on first use, after asking).
SCORING_REQUIREMENTS = {
    "radiomics": "pyradiomics-bhklab>=3.1.4",
    "sksurv": "scikit-survival>=0.28",
    "skops": "skops>=0.16",
    "pandas": "pandas>=2.1",
    "yaml": "PyYAML>=6.0",
    "typer": "typer>=0.12",
    "rich": "rich>=13.7",
}

#: What the patient report needs besides scoring (figures and PDF).
REPORT_REQUIREMENTS = {"matplotlib": "matplotlib>=3.8", "reportlab": "reportlab>=5.1"}

#: Who asks, in Slicer's package-installation dialog.
REQUESTER = "PRIME"


def scoreCommand(
    arterialPath, venousPath, maskPath, clinicalPath, outputDir, venousMaskPath=None, modelPath=None
) -> list[str]:
    """The command line that scores one case from files with PRIMELib, in Slicer's own Python."""
    command = [sys.executable, "-m", "PRIMELib", "score"]
    command += ["--arterial", str(arterialPath), "--venous", str(venousPath), "--mask", str(maskPath)]
    command += ["--clinical", str(clinicalPath), "--output", str(outputDir)]
    if venousMaskPath:
        command += ["--venous-mask", str(venousMaskPath)]
    if modelPath:
        command += ["--model", str(modelPath)]
    return command


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
    """The model card of the bundle at ``modelPath`` (empty: the default model), as plain text."""
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

    A bundle's result carries its own ``survival_curve``; the illustrative model's result has none,
    and its curve is computed from the risk score by PRIMELib."""
    curve = result.get("survival_curve")
    if curve is not None:
        return [(float(point["month"]), float(point["survival"])) for point in curve]
    from types import SimpleNamespace

    from PRIMELib.scoring import survival_curve

    return [(float(m), float(s)) for m, s in survival_curve(SimpleNamespace(risk_score=result["risk_score"]))]


def missingPackages(modules: dict) -> list[str]:
    """Pip requirements whose module cannot be imported, from {import name: requirement}."""
    return [need for module, need in modules.items() if importlib.util.find_spec(module) is None]


def ensureScoringDependencies(ask, install=None, packaging=None) -> bool:
    """The packages scoring needs (:data:`SCORING_REQUIREMENTS`), see :func:`ensurePackages`."""
    return ensurePackages(SCORING_REQUIREMENTS, ask, install, packaging)


def ensurePackages(requirements: dict, ask, install=None, packaging=None) -> bool:
    """Install the packages of ``requirements`` ({import name: pip requirement}) that are missing, after
    the user agrees; True when all are present.

    Called when the user asks for what needs them, never at import. On Slicer ≥ 5.12
    ``slicer.packaging.pip_ensure`` asks (Slicer's own dialog, naming the packages), installs with
    progress and offers a restart; it raises RuntimeError when the user declines. Before 5.12,
    ``ask(message) -> bool`` asks and ``slicer.util.pip_install`` installs. ``install(requirements)``
    replaces either installer (it is then called after ``ask``); ``packaging`` stands for
    ``slicer.packaging`` (tests)."""
    missing = missingPackages(requirements)
    if not missing:
        return True
    if install is None:
        if packaging is None:
            import slicer

            packaging = getattr(slicer, "packaging", None)
        if packaging is not None and hasattr(packaging, "pip_ensure"):
            try:
                packaging.pip_ensure(_requirements(missing), requester=REQUESTER)
            except RuntimeError as error:
                if "declined" not in str(error).lower():
                    raise
                logging.info("PRIME: installing %s was declined", ", ".join(missing))
                return False
            return not missingPackages(requirements)
    if not ask(_("PRIME needs these Python packages: ") + ", ".join(missing) + _(". Install them now?")):
        return False
    if install is None:
        import slicer

        install = slicer.util.pip_install  # a list: each requirement is one pip argument
    install(list(missing))
    return not missingPackages(requirements)


def _requirements(requirements: list[str]) -> list:
    """``packaging`` Requirement objects, as ``pip_ensure`` takes them (strings where it is absent)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return list(requirements)
    return [Requirement(requirement) for requirement in requirements]
