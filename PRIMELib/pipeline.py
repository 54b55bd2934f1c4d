"""The main job for one case: load → extract → score → write.

This is what ``prime demo``, ``prime score`` and the Slicer module's Logic call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import write_atomically, write_json
from PRIMELib.progress import ProgressCallback, report, scaled
from PRIMELib.radiomics import CaseFeatures, extract_case
from PRIMELib.scoring import IllustrativeModel, ScoreResult, score

if TYPE_CHECKING:
    from PRIMELib.bundle import ModelBundle

PHASE_PREFIXES = ("arterial_", "venous_")


@dataclass
class CaseResult:
    """Everything scoring one case produced."""

    case_id: str
    radiomics: CaseFeatures
    clinical: dict[str, object]
    score: ScoreResult


#: Largest clinical record file read (a record is a few hundred bytes).
MAX_CLINICAL_RECORD_BYTES = 1024 * 1024


def _refuse_repeated_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice (plain json.loads keeps the last one silently)."""
    record: dict[str, object] = {}
    for key, value in pairs:
        if key in record:
            raise ValueError(f"gives {key!r} twice ({record[key]!r} and {value!r})")
        record[key] = value
    return record


def load_clinical_record(path: str | Path) -> dict[str, object]:
    """Read a clinical record from a JSON object file (UTF-8)."""
    path = Path(path)

    def refuse(
        problem: str, expected: str = 'a JSON object of clinical values, e.g. {"age": 58, "alb": 38.5}'
    ):
        return PRIMEInputError(
            f"The clinical record file '{path}' {problem}.",
            field="clinical",
            value=str(path),
            expected=expected,
        )

    if not path.exists():
        raise refuse("does not exist", expected="an existing JSON file")
    if not path.is_file():
        raise refuse("is not a file", expected="a JSON file, not a folder")
    if path.stat().st_size > MAX_CLINICAL_RECORD_BYTES:
        raise refuse(f"is {path.stat().st_size} bytes, too large for a clinical record")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise refuse(
            f"is not UTF-8 text (byte {error.start})", expected="a UTF-8 JSON file (save it as UTF-8)"
        ) from None
    except OSError as error:
        raise refuse(f"cannot be read ({error.strerror})") from None
    try:
        record = json.loads(text, object_pairs_hook=_refuse_repeated_keys)
    except json.JSONDecodeError as error:
        raise refuse(f"is not valid JSON (line {error.lineno}: {error.msg})") from None
    except ValueError as error:  # a key given twice (_refuse_repeated_keys)
        raise refuse(str(error), expected="each field once") from None
    except RecursionError:
        raise refuse("nests too deeply to be a clinical record") from None
    if not isinstance(record, dict):
        raise refuse(f"holds a {type(record).__name__}, not an object")
    return record


def clinical_features(record: dict[str, object]) -> tuple[dict[str, float], list[str]]:
    """Numeric clinical inputs plus the derived indices the models use, and validation warnings.

    Raises :class:`PRIMELib.clinical.ClinicalDataError` listing every invalid field.
    """
    from PRIMELib.clinical import prepare_record

    prepared = prepare_record(record)
    numeric = {k: float(v) for k, v in prepared.values.items() if _is_number(v)}
    return numeric, list(prepared.warnings)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def score_case(
    arterial_image: sitk.Image | str | Path,
    venous_image: sitk.Image | str | Path,
    arterial_mask: sitk.Image | str | Path,
    venous_mask: sitk.Image | str | Path | None = None,
    *,
    clinical: dict[str, object] | str | Path,
    model: IllustrativeModel | ModelBundle | str | Path | None = None,
    case_id: str | None = None,
    progress: ProgressCallback | None = None,
    model_sha256: str | None = None,
) -> CaseResult:
    """Extract the radiomics the model needs, derive clinical indices, and score both endpoints.

    ``model``: a loaded model, the path of a ``.prime`` bundle, or None for the default model (the
    shipped demonstration bundle when present, else the illustrative one). ``model_sha256``: refuse
    any other bundle (see :func:`PRIMELib.bundle.bundle_sha256`).
    """
    model = resolve_model(model, expected_sha256=model_sha256)
    if isinstance(clinical, Mapping):
        record = dict(clinical)
    elif isinstance(clinical, str | Path):
        record = load_clinical_record(clinical)
    else:
        raise PRIMEInputError(
            f"The clinical record is a {type(clinical).__name__}.",
            field="clinical",
            expected="a dict of clinical values, or the path of a JSON file holding one",
        )
    case_id = case_id or str(record.get("case_id", "case"))
    # Validate the clinical record first: a typo should not cost a radiomics extraction.
    clinical_values, clinical_warnings = clinical_features(record)
    report(progress, 0.0, "Loading images")
    radiomics = extract_case(
        arterial_image,
        venous_image,
        arterial_mask,
        venous_mask,
        params=model.radiomics_params,
        # Feature-on-demand: only the image types and classes the model's radiomics need.
        features=[f for f in model.features if f.startswith(PHASE_PREFIXES)],
        progress=scaled(progress, 0.05, 0.9),
    )
    report(progress, 0.9, "Scoring")
    features = {**radiomics.values, **clinical_values}
    if isinstance(model, IllustrativeModel):
        result = score(features, model, case_id=case_id)
    else:
        result = model.score(features, case_id=case_id)
    result.warnings.extend(clinical_warnings)
    report(progress, 1.0, "Done")
    return CaseResult(case_id=case_id, radiomics=radiomics, clinical=record, score=result)


def resolve_model(
    model: IllustrativeModel | ModelBundle | str | Path | None,
    expected_sha256: str | None = None,
) -> IllustrativeModel | ModelBundle:
    """A usable model from a model object, a bundle path, or None (the default model).

    ``expected_sha256``: refuse a bundle whose digest (:func:`PRIMELib.bundle.bundle_sha256`) differs."""
    from PRIMELib.bundle import BundleError, load_bundle, load_default_model

    if isinstance(model, str | Path):
        return load_bundle(model, expected_sha256=expected_sha256)
    resolved = load_default_model() if model is None else model
    if expected_sha256 is not None and getattr(resolved, "sha256", "") != expected_sha256.strip().lower():
        raise BundleError(
            f"The model '{getattr(resolved, 'name', 'model')}' has SHA-256 "
            f"{getattr(resolved, 'sha256', '') or 'unknown'}, not the expected {expected_sha256.strip()}.",
            path=getattr(resolved, "path", None),
        )
    return resolved


def write_case_outputs(result: CaseResult, output_dir: str | Path) -> dict[str, Path]:
    """Write ``result.json`` (scores and reasons) and ``features.csv`` (one row) into ``output_dir``."""
    output_dir = Path(output_dir)
    row = pd.DataFrame([{"case_id": result.case_id, **result.radiomics.values}])
    paths = {
        "result": write_json(output_dir / "result.json", result.score.to_dict()),
        "features": write_atomically(output_dir / "features.csv", lambda tmp: row.to_csv(tmp, index=False)),
        "diagnostics": write_json(output_dir / "diagnostics.json", result.radiomics.diagnostics),
    }
    return paths
