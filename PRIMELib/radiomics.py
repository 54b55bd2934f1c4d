"""Dual-phase radiomics with PyRadiomics.

One case gives one row: ``arterial_<PyRadiomics name>`` and ``venous_<PyRadiomics name>`` columns,
with PyRadiomics' diagnostics kept apart. Parameters are PyRadiomics YAML files, so a user's own
params file works; the paper's settings ship as ``prime_paper.yaml``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import check_mask_matches_image, load_image, load_mask
from PRIMELib.paths import resource_path
from PRIMELib.progress import ProgressCallback, report

PHASES = ("arterial", "venous")


def params_file(name_or_path: str | Path = "prime_paper") -> Path:
    """Resolve a shipped parameter set (``prime_paper``, ``prime_quick``) or a user's YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix.lower() in (".yaml", ".yml"):
        if not candidate.is_file():
            raise PRIMEInputError(
                f"The radiomics parameter file '{candidate}' does not exist.",
                field="params",
                value=str(candidate),
                expected="a PyRadiomics YAML parameter file",
            )
        return candidate
    shipped = resource_path("radiomics", f"{name_or_path}.yaml")
    if not shipped.is_file():
        raise PRIMEInputError(
            f"Unknown radiomics parameter set '{name_or_path}'.",
            field="params",
            value=str(name_or_path),
            expected="'prime_paper', 'prime_quick' or a path to a .yaml file",
        )
    return shipped


@dataclass
class CaseFeatures:
    """Radiomics of one case: feature values by column name, and diagnostics apart."""

    values: dict[str, float]
    diagnostics: dict[str, object] = field(default_factory=dict)


def _extractor(params: Path):
    # PyRadiomics is heavy and, in Slicer, installed on first use: import it only here.
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    return featureextractor.RadiomicsFeatureExtractor(str(params))


def extract_phase(image: sitk.Image, mask: sitk.Image, params: Path, *, phase: str) -> CaseFeatures:
    """Extract one phase's features; column names get the ``<phase>_`` prefix."""
    check_mask_matches_image(image, mask, phase=phase)
    raw = _extractor(params).execute(image, mask, label=1)
    values: dict[str, float] = {}
    diagnostics: dict[str, object] = {}
    for name, value in raw.items():
        if name.startswith("diagnostics_"):
            diagnostics[f"{phase}_{name}"] = value if isinstance(value, str | int | float) else str(value)
        else:
            values[f"{phase}_{name}"] = float(value)
    return CaseFeatures(values, diagnostics)


def extract_case(
    arterial_image: sitk.Image | str | Path,
    venous_image: sitk.Image | str | Path,
    arterial_mask: sitk.Image | str | Path,
    venous_mask: sitk.Image | str | Path | None = None,
    *,
    params: str | Path = "prime_paper",
    progress: ProgressCallback | None = None,
) -> CaseFeatures:
    """Radiomics of both phases of one case.

    Without ``venous_mask`` the arterial mask is used for both phases; it must then share the venous
    image's physical space (resampling a mask across grids is the extraction issue's job).
    """
    params_path = params_file(params)
    images = {
        "arterial": load_image(arterial_image, field="arterial image"),
        "venous": load_image(venous_image, field="venous image"),
    }
    masks = {"arterial": load_mask(arterial_mask, field="arterial mask")}
    masks["venous"] = (
        masks["arterial"] if venous_mask is None else load_mask(venous_mask, field="venous mask")
    )
    result = CaseFeatures(values={}, diagnostics={"params_sha256": _sha256(params_path)})
    for index, phase in enumerate(PHASES):
        report(progress, index / len(PHASES), f"Extracting {phase} radiomics")
        features = extract_phase(images[phase], masks[phase], params_path, phase=phase)
        result.values.update(features.values)
        result.diagnostics.update(features.diagnostics)
    report(progress, 1.0, "Radiomics done")
    return result


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
