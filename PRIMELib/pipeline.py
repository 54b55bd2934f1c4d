"""The main job for one case: load → extract → score → write.

This is what ``prime demo``, ``prime score`` and the Slicer module's Logic call.
"""

from __future__ import annotations

import json
import math
import os
import stat
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
from PRIMELib.scoring import ScoreResult

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

    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise refuse("does not exist", expected="an existing JSON file") from None
    except OSError as error:  # a name too long for the file system, a loop of links, …
        raise refuse(f"cannot be used ({error.strerror})", expected="the path of a JSON file") from None
    if not stat.S_ISREG(status.st_mode):
        raise refuse("is not a file", expected="a JSON file, not a folder")
    if status.st_size > MAX_CLINICAL_RECORD_BYTES:
        raise refuse(f"is {status.st_size} bytes, too large for a clinical record")
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
    from PRIMELib.clinical.coding import encoding_of, model_value

    prepared = prepare_record(record)
    numeric = {k: float(v) for k, v in prepared.values.items() if _is_number(v)}
    # Text codes (sex, Child–Pugh class, BCLC, therapy) as the number the models read (their schema
    # position), not dropped.
    numeric.update(
        {
            k: model_value(k, v)
            for k, v in prepared.values.items()
            if isinstance(v, str) and encoding_of(k) in ("binary", "ordinal", "nominal")
        }
    )
    return numeric, list(prepared.warnings)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_input_files(sources: Mapping[str, object]) -> None:
    """Refuse a missing or unreadable input file before any costly work (a model load, an extraction).

    ``sources``: what each input is called ("arterial image") → its path; anything but a path (a loaded
    image) is left to the step that uses it. The full checks of each file's content come later.
    """
    for field, source in sources.items():
        if not isinstance(source, str | Path):
            continue
        path = Path(source)
        try:
            path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise PRIMEInputError(
                f"The {field} file '{path}' does not exist.",
                field=field,
                value=str(path),
                expected="an existing file (or, for an image, a folder with one DICOM series)",
                hint="Check the path (and, in a manifest, that it is relative to the manifest's folder).",
            ) from None
        except OSError as error:  # a name too long for the file system, a loop of links, …
            raise PRIMEInputError(
                f"The {field} path '{path}' cannot be used: {error.strerror}.",
                field=field,
                value=str(path),
                expected="the path of an existing file",
            ) from None
        if not path.is_file() and not path.is_dir():  # a FIFO, device or socket: reading it can block forever
            raise PRIMEInputError(
                f"The {field} path '{path}' is not a regular file or a folder.",
                field=field,
                value=str(path),
                expected="an existing file (or, for an image, a folder with one DICOM series)",
                hint="Give the file itself, not a pipe, device or socket.",
            )
        if not os.access(path, os.R_OK):
            raise PRIMEInputError(
                f"The {field} file '{path}' cannot be read: no permission.",
                field=field,
                value=str(path),
                hint="Check the file's permissions.",
            )


def check_output_folder(folder: str | Path, *, field: str = "output") -> None:
    """Refuse an output folder that cannot be made or written, before any costly work: an existing file
    of that name, a file among its parents, or (where permissions apply) a parent that cannot be written."""
    folder = Path(folder)

    def refuse(problem: str, hint: str) -> PRIMEInputError:
        return PRIMEInputError(
            f"The {field} folder '{folder}' {problem}.",
            field=field,
            value=str(folder),
            expected="a folder that exists or can be made, and that you can write to",
            hint=hint,
        )

    existing = folder
    try:
        while not existing.exists() and existing != existing.parent:
            if existing.is_symlink():
                raise refuse(f"cannot be made: '{existing}' is a broken link", "Choose another folder.")
            existing = existing.parent
        is_dir = existing.is_dir()
    except OSError as error:  # a name too long for the file system, a loop of links, …
        raise refuse(f"cannot be used ({error.strerror or error})", "Choose a shorter path.") from None
    if not is_dir:
        where = "is a file" if existing == folder else f"cannot be made: '{existing}' is a file"
        raise refuse(where, "Choose another folder, or move the file away.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise refuse(
            "cannot be written: no permission" if existing == folder else f"cannot be made in '{existing}'",
            "Choose a folder you can write to.",
        )


def score_case(
    arterial_image: sitk.Image | str | Path,
    venous_image: sitk.Image | str | Path,
    arterial_mask: sitk.Image | str | Path,
    venous_mask: sitk.Image | str | Path | None = None,
    *,
    clinical: dict[str, object] | str | Path,
    model: ModelBundle | str | Path | None = None,
    case_id: str | None = None,
    progress: ProgressCallback | None = None,
    model_sha256: str | None = None,
) -> CaseResult:
    """Extract the radiomics the model needs, derive clinical indices, and score both endpoints.

    ``model``: a loaded bundle, the path of a ``.prime`` bundle, or None for the shipped
    demonstration bundle (a path or None is loaded once per process and kept warm, see
    :func:`PRIMELib.bundle.cached_bundle`). ``model_sha256``: refuse any other bundle (see
    :func:`PRIMELib.bundle.bundle_sha256`).
    """
    # Cheap checks first (the record, the input files): a typo should not cost a model load.
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
    if case_id is not None and not isinstance(case_id, str):
        raise PRIMEInputError(
            f"The case id is a {type(case_id).__name__}.", field="case_id", expected="text, or None"
        )
    case_id = case_id or str(record.get("case_id") or "case")
    # Validate the clinical record first: a typo should not cost a radiomics extraction.
    clinical_values, clinical_warnings = clinical_features(record)
    check_input_files(
        {"arterial image": arterial_image, "venous image": venous_image, "arterial mask": arterial_mask}
        | ({"venous mask": venous_mask} if venous_mask is not None else {})
    )
    model = resolve_model(model, expected_sha256=model_sha256)
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
    result = model.score(features, case_id=case_id)
    result.warnings.extend(clinical_warnings)
    # Odd images (e.g. intensities not in Hounsfield units) reach the result, the console, the report and
    # the panel, not only diagnostics.json.
    result.warnings.extend(w for w in radiomics.warnings if w not in result.warnings)
    report(progress, 1.0, "Done")
    return CaseResult(case_id=case_id, radiomics=radiomics, clinical=record, score=result)


def resolve_model(
    model: ModelBundle | str | Path | None,
    expected_sha256: str | None = None,
) -> ModelBundle:
    """A usable model from a loaded bundle, a bundle path, or None (the shipped demonstration bundle);
    a path or None is loaded once per process while its file is unchanged (kept warm).

    ``expected_sha256``: refuse a bundle whose digest (:func:`PRIMELib.bundle.bundle_sha256`) differs."""
    from PRIMELib.bundle import BundleError, cached_bundle

    if expected_sha256 is not None and not isinstance(expected_sha256, str):
        raise BundleError(
            f"The expected model SHA-256 is a {type(expected_sha256).__name__}, not text.",
            hint="Give the 64 hexadecimal digits `prime model-card` prints.",
        )
    is_bundle = all(hasattr(model, name) for name in ("score", "features", "radiomics_params"))
    if model is not None and not isinstance(model, str | os.PathLike) and not is_bundle:
        raise BundleError(
            f"The model is a {type(model).__name__}.",
            hint="Give a loaded ModelBundle, the path of a .prime bundle, or None for the shipped model.",
        )
    if model is None or isinstance(model, str | os.PathLike):
        return cached_bundle(model, expected_sha256=expected_sha256)
    resolved = model
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
