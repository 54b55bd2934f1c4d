"""Reading, writing and checking ``.prime`` files: the zip format, checksums, the manifest, skops loading
with trusted types only, and the bundle's SHA-256 identity (loaded bundles are cached by
:mod:`PRIMELib.bundle.cache`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from PRIMELib import __version__
from PRIMELib.bundle.card import model_card_markdown
from PRIMELib.errors import PRIMEInputError
from PRIMELib.paths import resource_path
from PRIMELib.scoring import DAYS_PER_MONTH, REPORT_MONTHS

if TYPE_CHECKING:
    import pandas as pd

    from PRIMELib.bundle.scoring import ModelBundle

FORMAT = "prime-model-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_MEMBERS = {"prime_r": "models/prime_r.skops", "prime_s": "models/prime_s.skops"}
CARD_MEMBER = "model_card.md"
SUMMARY_MEMBER = "summary.csv"
#: The demonstration bundle PRIME ships (trained on a synthetic cohort): the default model everywhere.
DEFAULT_BUNDLE = resource_path("models", "prime_demo.prime")

#: Types a bundle may contain beyond those skops trusts by default (scikit-learn's estimators, numpy
#: arrays, builtins). Anything else is refused before a single object is built.
TRUSTED_TYPES = (
    "PRIMELib.clinical.imputation.MedianImputer",
    "PRIMELib.models.encoding.ClinicalEncoder",
    "PRIMELib.models.fusion.BayesianModelAveragingSurvival",
    "PRIMELib.models.fusion.LateFusionClassifier",
    "PRIMELib.models.fusion.NonNegativeLogisticRegression",
    "PRIMELib.models.response.RotationForestClassifier",
    "PRIMELib.models.selection.ColumnSelector",
    "PRIMELib.models.selection.CoxnetScreen",
    "PRIMELib.models.selection.ElasticNetCoxSelector",
    "PRIMELib.models.selection.ElasticNetLogisticSelector",
    "PRIMELib.models.selection.UnivariateLogisticFilter",
    "PRIMELib.models.selection.VarianceFilter",
    "PRIMELib.models.survival.SurvivalSVM",
    "numpy.dtype",
    "scipy.optimize._optimize.OptimizeResult",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
    "sksurv.ensemble.boosting.GradientBoostingSurvivalAnalysis",
    "sksurv.ensemble.forest.RandomSurvivalForest",
    "sksurv.ensemble.survival_loss.CoxPH",
    "sksurv.functions.StepFunction",
    "sksurv.linear_model.coxph.BreslowEstimator",
    "sksurv.svm.survival_svm.FastSurvivalSVM",
    "sksurv.tree.tree.SurvivalTree",
)
#: Every type named anywhere in a model member must come from one of these packages.
_ALLOWED_PACKAGES = ("PRIMELib", "sklearn", "sksurv", "numpy", "scipy", "builtins")
_MAX_TOTAL_BYTES = 2 * 1024**3
_MAX_MANIFEST_BYTES = 16 * 1024**2
_PROBE_TOLERANCE = 1e-6

DEFAULT_INTENDED_USE = (
    "Research use only: estimating the probability of objective response at 3 months (mRECIST) and "
    "overall-survival risk for adults with unresectable hepatocellular carcinoma treated with "
    "interventional therapy (TACE and/or HAIC) plus targeted immunotherapy, from dual-phase contrast CT "
    "radiomics and routine clinical data. Not for clinical decisions."
)


class BundleError(PRIMEInputError):
    """A model bundle that cannot be used; the message says why and what to do."""

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None) -> None:
        super().__init__(message, field="model bundle", value=str(path) if path else None, hint=hint)


# ---------------------------------------------------------------------------------------------
# Saving


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"PRIMELib": __version__}
    for package in ("scikit-learn", "scikit-survival", "numpy", "scipy", "skops"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[package] = "unknown"
    return out


def _phase(feature: str) -> str:
    for phase in ("arterial", "venous"):
        if feature.startswith(f"{phase}_"):
            return phase
    return "clinical"


def _probe_cases(reference: dict[str, float], ranges: dict[str, list[float]]) -> list[dict[str, float]]:
    """Synthetic check cases (no patient's data): the reference, and features pushed to the edges of
    their typical ranges in two alternating patterns."""
    names = sorted(reference)
    low = {f: ranges[f][0] if i % 2 else ranges[f][1] for i, f in enumerate(names)}
    high = {f: ranges[f][1] if i % 2 else ranges[f][0] for i, f in enumerate(names)}
    return [dict(reference), low, high]


def _case_frame(values: Mapping[str, float], columns: list[str]) -> pd.DataFrame:
    import pandas as pd  # here: reading and checking a bundle's file needs no pandas

    row = {c: float(values[c]) if c in values and values[c] is not None else np.nan for c in columns}
    return pd.DataFrame([row], columns=columns, dtype=float)


def _probe_outputs(
    prime_r, prime_s, cases: list[dict[str, float]], columns: list[str]
) -> list[dict[str, float]]:
    outputs = []
    for case in cases:
        frame = _case_frame(case, columns)
        outputs.append(
            {
                "response_probability": float(prime_r.predict_proba(frame)[0, 1]),
                "risk_score": float(prime_s.predict(frame)[0]),
                "survival_12_months": float(prime_s.survival_at(frame, [12 * DAYS_PER_MONTH])[0, 0]),
            }
        )
    return outputs


def save_bundle(
    result,
    path: str | Path,
    *,
    name: str,
    trained_on: str,
    intended_use: str = DEFAULT_INTENDED_USE,
    warning: str = "Research use only; not for clinical decisions.",
) -> Path:
    """Write a trained :class:`PRIMELib.training.TrainingResult` as a ``.prime`` bundle (atomically).

    ``trained_on`` says, in words, what data trained it (e.g. "synthetic cohort, 246 cases").
    """
    import skops.io as sio

    from PRIMELib.clinical.schema import SCHEMA_VERSION
    from PRIMELib.io import write_atomically

    payloads = {
        member: sio.dumps(getattr(result, key), compression=zipfile.ZIP_DEFLATED)
        for key, member in MODEL_MEMBERS.items()
    }
    selected = result.selected_features
    used = sorted(result.reference_values)
    required = {
        phase: [f for f in used if _phase(f) == phase] for phase in ("clinical", "arterial", "venous")
    }
    probes = _probe_cases(result.reference_values, result.typical_ranges)
    manifest: dict[str, object] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "versions": _versions(),
        "intended_use": intended_use,
        "not_for_clinical_use": True,
        "warning": warning,
        "trained_on": trained_on,
        "clinical_schema_version": SCHEMA_VERSION,
        "radiomics_params": result.config.radiomics_params,
        "required_features": required,
        "input_columns": result.input_columns,
        "selected_features": selected,
        "preprocessing": {
            "imputation": {
                "rule": "training median (clinical); cases missing more than max_imputed are refused",
                "max_imputed": result.config.max_imputed,
                "max_missing_fraction": result.config.selection.max_missing_fraction,
                "clinical_medians": result.clinical_medians,
            },
            "scaling": "z-score with training mean and SD, inside each model's pipeline",
            "reference_values": result.reference_values,
            "typical_ranges": result.typical_ranges,
        },
        "thresholds": {"response_threshold": result.response_threshold, "risk_cutoff": result.risk_cutoff},
        "fusion": {
            "prime_r": {
                "rule": "late fusion: out-of-fold base log-odds → logistic regression",
                "members": list(result.prime_r.named_estimators_),
                "meta_coefficients": [float(c) for c in np.ravel(result.prime_r.meta_.coef_)],
                "meta_intercept": float(np.ravel(result.prime_r.meta_.intercept_)[0]),
            },
            "prime_s": {
                "rule": result.prime_s.weighting,
                "tau": result.prime_s.tau,
                "members": list(result.prime_s.named_estimators_),
                "weights": [float(w) for w in result.prime_s.weights_],
                "cv_concordance": [float(c) for c in result.prime_s.cv_concordance_],
                "cv_log_partial_likelihood": [float(v) for v in result.prime_s.cv_log_partial_likelihood_],
            },
        },
        "survival": {
            "report_months": list(REPORT_MONTHS),
            "max_follow_up_days": result.prime_s.max_follow_up_,
        },
        "training": {
            "config": result.config.to_dict(),
            "cohort": result.cohort,
            "seconds": round(result.seconds, 1),
        },
        "metrics": result.metrics,
        "checks": {
            "cases": probes,
            "outputs": _probe_outputs(result.prime_r, result.prime_s, probes, result.input_columns),
        },
    }
    members: dict[str, bytes] = dict(payloads)
    members[SUMMARY_MEMBER] = result.summary.to_csv(index=False).encode("utf-8")
    members[CARD_MEMBER] = model_card_markdown(manifest).encode("utf-8")
    manifest["members"] = {
        member: {"sha256": _sha256(data), "bytes": len(data)} for member, data in sorted(members.items())
    }
    manifest_bytes = json.dumps(_finite(manifest), indent=2, allow_nan=False).encode("utf-8")

    def write(temporary: Path) -> None:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_entry(MANIFEST), manifest_bytes)
            for member, data in sorted(members.items()):
                archive.writestr(_entry(member), data)

    return write_atomically(path, write)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _finite(value):
    """JSON has no NaN: non-finite numbers become null."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------------------
# Loading


def _read_members(path: Path) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as error:
        raise BundleError(f"The model bundle '{path}' does not exist.", path=path) from error
    except (zipfile.BadZipFile, OSError) as error:
        raise BundleError(
            f"'{path.name}' is not a PRIME model bundle (not a zip file: {error}).",
            path=path,
            hint="Model bundles are the .prime files that `prime train` writes.",
        ) from error
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise BundleError(f"'{path.name}' holds duplicate member names.", path=path)
        for name in names:
            if name.startswith(("/", "\\")) or ".." in Path(name).parts or ":" in name:
                raise BundleError(f"'{path.name}' holds a member with an unsafe name: {name!r}.", path=path)
        if sum(info.file_size for info in infos) > _MAX_TOTAL_BYTES:
            raise BundleError(f"'{path.name}' unpacks to more than 2 GiB: refused.", path=path)
        if MANIFEST not in names:
            raise BundleError(f"'{path.name}' has no {MANIFEST}: not a PRIME model bundle.", path=path)
        if archive.getinfo(MANIFEST).file_size > _MAX_MANIFEST_BYTES:
            raise BundleError(f"The manifest of '{path.name}' is implausibly large: refused.", path=path)
        try:
            members = {MANIFEST: archive.read(MANIFEST)}
            # No member is unpacked before its name and size are checked against the manifest: a
            # bundle with a huge added member (a zip bomb) is refused without inflating it.
            _check_listing(members[MANIFEST], {i.filename: i.file_size for i in infos}, path)
            members.update((name, archive.read(name)) for name in names if name != MANIFEST)
            return members
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            raise BundleError(f"'{path.name}' is damaged: {error}.", path=path) from error


def _check_listing(manifest_bytes: bytes, sizes: dict[str, int], path: Path) -> None:
    """Refuse members the manifest does not list, or whose unpacked size differs from the one it
    records, from the zip directory alone (nothing unpacked). A manifest that cannot be read here is
    left to :func:`load_bundle`, which says why."""
    try:
        listed = json.loads(manifest_bytes.decode("utf-8")).get("members")
    except (UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        return
    if not isinstance(listed, dict):
        return
    unexpected = sorted(name for name in sizes if name != MANIFEST and name not in listed)
    if unexpected:
        raise BundleError(
            f"'{path.name}' holds member(s) its manifest does not list: {', '.join(unexpected)}.",
            path=path,
            hint="The bundle was altered after it was written; use the original file.",
        )
    for name, size in sizes.items():
        entry = listed.get(name)
        if name != MANIFEST and isinstance(entry, dict) and entry.get("bytes") != size:
            raise BundleError(
                f"The member '{name}' of '{path.name}' does not match its size in the manifest: "
                "the bundle was tampered with or damaged.",
                path=path,
                hint="Use an intact copy of the bundle.",
            )


def _check_manifest(manifest: object, path: Path) -> dict:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(
            f"'{path.name}' is not a PRIME model bundle (its manifest format differs).", path=path
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(f"'{path.name}' has an invalid format_version: {version!r}.", path=path)
    if version > FORMAT_VERSION:
        versions = manifest.get("versions")
        made_by = versions.get("PRIMELib") if isinstance(versions, dict) else None
        made_by = made_by if isinstance(made_by, str) else "a newer PRIMELib"
        raise BundleError(
            f"'{path.name}' uses bundle format {version}; this PRIMELib {__version__} reads format "
            f"{FORMAT_VERSION} (the bundle was made by PRIMELib {made_by}).",
            path=path,
            hint="Update PRIMELib to load it.",
        )
    from PRIMELib.clinical.schema import SCHEMA_VERSION

    if manifest.get("clinical_schema_version") != SCHEMA_VERSION:
        raise BundleError(
            f"'{path.name}' was trained with clinical schema version "
            f"{manifest.get('clinical_schema_version')!r}; "
            f"this PRIMELib uses version {SCHEMA_VERSION}, in which variable names, units or codings differ.",
            path=path,
            hint="Retrain the model with this PRIMELib, or use the PRIMELib version that trained it.",
        )
    for key in ("members", "required_features", "input_columns", "thresholds", "checks"):
        if key not in manifest:
            raise BundleError(f"The manifest of '{path.name}' lacks '{key}'.", path=path)
    _check_manifest_types(manifest, path)
    return manifest


def _is_text_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_manifest_types(manifest: dict, path: Path) -> None:
    """Refuse a manifest whose entries have the wrong shape (a hand-edited or damaged file), so that
    nothing fails later, while scoring, with a bare TypeError or KeyError; and refuse thresholds that
    are not usable numbers and a bundle with no check predictions (it could not be verified)."""

    def refuse(key: str, expected: str) -> BundleError:
        return BundleError(
            f"The manifest of '{path.name}' has an invalid '{key}': expected {expected}.",
            path=path,
            hint="The bundle was altered or damaged; use the file `prime train` wrote.",
        )

    members = manifest["members"]
    if not isinstance(members, dict) or not all(isinstance(e, dict) for e in members.values()):
        raise refuse("members", "an object of member name → {sha256, bytes}")
    required = manifest["required_features"]
    if not isinstance(required, dict) or not all(_is_text_list(v) for v in required.values()):
        raise refuse("required_features", "an object of model name → list of feature names")
    if not _is_text_list(manifest["input_columns"]) or not manifest["input_columns"]:
        raise refuse("input_columns", "a non-empty list of column names")
    thresholds = manifest["thresholds"]
    if not isinstance(thresholds, dict):
        raise refuse("thresholds", "an object with response_threshold and risk_cutoff")
    for key in ("response_threshold", "risk_cutoff"):
        value = thresholds.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise refuse(f"thresholds.{key}", "a finite number")
    if not 0.0 < thresholds["response_threshold"] < 1.0:
        raise refuse("thresholds.response_threshold", "a probability between 0 and 1")
    checks = manifest["checks"]
    if (
        not isinstance(checks, dict)
        or not isinstance(checks.get("cases"), list)
        or not isinstance(checks.get("outputs"), list)
        or not checks["cases"]
        or len(checks["cases"]) != len(checks["outputs"])
        or not all(isinstance(c, dict) for c in checks["cases"] + checks["outputs"])
    ):
        raise refuse("checks", "check cases and as many stored outputs (at least one), to verify the models")
    for key in ("versions", "preprocessing"):
        if not isinstance(manifest.get(key, {}), dict):
            raise refuse(key, "an object")
    for key in ("name", "radiomics_params", "intended_use", "warning", "trained_on"):
        if not isinstance(manifest.get(key, ""), str):
            raise refuse(key, "text")


def _check_members(manifest: dict, members: dict[str, bytes], path: Path) -> None:
    listed = manifest["members"]
    present = set(members) - {MANIFEST}
    unexpected = sorted(present - set(listed))
    if unexpected:
        raise BundleError(
            f"'{path.name}' holds member(s) its manifest does not list: {', '.join(unexpected)}.",
            path=path,
            hint="The bundle was altered after it was written; use the original file.",
        )
    absent = sorted(set(listed) - present)
    required = sorted(set(MODEL_MEMBERS.values()) - set(listed))
    if absent or required:
        raise BundleError(f"'{path.name}' lacks member(s): {', '.join(absent + required)}.", path=path)
    for member, entry in sorted(listed.items()):
        data = members[member]
        if (
            not isinstance(entry, dict)
            or entry.get("sha256") != _sha256(data)
            or entry.get("bytes") != len(data)
        ):
            raise BundleError(
                f"The member '{member}' of '{path.name}' does not match its checksum in the manifest: "
                "the bundle was tampered with or damaged.",
                path=path,
                hint="Use an intact copy of the bundle.",
            )


def _schema_types(node) -> set[str]:
    """Every ``module.Class`` named in a skops schema."""
    found = set()
    if isinstance(node, dict):
        module, name = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) and isinstance(name, str):
            found.add(f"{module}.{name}")
        for value in node.values():
            found |= _schema_types(value)
    elif isinstance(node, list):
        for value in node:
            found |= _schema_types(value)
    return found


def _load_model(member: str, data: bytes, path: Path):
    import skops.io as sio

    if data[:1] == b"\x80" or data[:2] in (b"(d", b"(l", b"cc") or (data[:1] == b"c" and b"\n" in data[:64]):
        raise BundleError(
            f"The member '{member}' of '{path.name}' is a pickled payload. PRIME never loads pickle "
            "(loading a pickle can run arbitrary code): refused.",
            path=path,
        )
    if data[:4] != b"PK\x03\x04":
        raise BundleError(
            f"The member '{member}' of '{path.name}' is not in skops format: refused.", path=path
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            inner_names = inner.namelist()
            schema = json.loads(inner.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise BundleError(
            f"The member '{member}' of '{path.name}' is not a valid skops file.", path=path
        ) from error
    odd = [n for n in inner_names if n != "schema.json" and not n.endswith(".npy")]
    if odd:
        raise BundleError(
            f"The member '{member}' of '{path.name}' holds unexpected entries ({', '.join(odd[:5])}): "
            "refused.",
            path=path,
        )
    foreign = sorted(t for t in _schema_types(schema) if t.split(".")[0] not in _ALLOWED_PACKAGES)
    untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    if foreign or untrusted:
        raise BundleError(
            f"The member '{member}' of '{path.name}' contains types PRIME does not trust: "
            f"{', '.join(sorted(set(foreign) | set(untrusted)))}. Refused: building unknown types can run "
            "code.",
            path=path,
            hint="Only bundles written by `prime train` (PRIMELib models on scikit-learn and "
            "scikit-survival) can be loaded.",
        )
    trusted = [t for t in sio.get_untrusted_types(data=data) if t in TRUSTED_TYPES]
    try:
        return sio.loads(data, trusted=trusted)
    except Exception as error:  # skops raises many kinds on malformed or incompatible content
        raise BundleError(
            f"The member '{member}' of '{path.name}' could not be rebuilt ({type(error).__name__}: {error}).",
            path=path,
            hint="It may come from an incompatible scikit-learn or scikit-survival version; retrain.",
        ) from error


def bundle_sha256(path: str | Path) -> str:
    """The bundle's identity: the SHA-256 of the whole file, so of every byte that affects a prediction
    or a claim (manifest, thresholds, model card, every member). It identifies a file; it is not a
    signature: anyone can make a bundle and tell you its digest."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_digest(path: Path, sha256: str, expected_sha256: str | None) -> None:
    """Refuse the bundle at ``path`` (digest ``sha256``) unless it is the one expected (None: any)."""
    if expected_sha256 is not None and sha256 != expected_sha256.strip().lower():
        raise BundleError(
            f"'{path.name}' has SHA-256 {sha256}, not the expected {expected_sha256.strip()}: it is "
            "another bundle, or this one was changed.",
            path=path,
            hint="Check that you have the bundle you meant, and the digest you were given.",
        )


def load_bundle(
    path: str | Path, *, verify_predictions: bool = True, expected_sha256: str | None = None
) -> ModelBundle:
    """Open a ``.prime`` bundle, checking it as the module docstring says; raises :class:`BundleError`.

    ``expected_sha256``: refuse any bundle whose :func:`bundle_sha256` differs (e.g. the digest a
    publication or a colleague gave for the model), before anything in it is read."""
    from PRIMELib.models.fusion import BayesianModelAveragingSurvival, LateFusionClassifier

    path = Path(path)
    members = _read_members(path)
    sha256 = bundle_sha256(path)
    check_digest(path, sha256, expected_sha256)
    try:
        manifest = json.loads(members[MANIFEST].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"The manifest of '{path.name}' is not valid JSON ({error}).", path=path) from error
    except RecursionError:
        raise BundleError(f"The manifest of '{path.name}' nests too deeply: refused.", path=path) from None
    manifest = _check_manifest(manifest, path)
    _check_members(manifest, members, path)
    prime_r = _load_model(MODEL_MEMBERS["prime_r"], members[MODEL_MEMBERS["prime_r"]], path)
    prime_s = _load_model(MODEL_MEMBERS["prime_s"], members[MODEL_MEMBERS["prime_s"]], path)
    if not isinstance(prime_r, LateFusionClassifier) or not isinstance(
        prime_s, BayesianModelAveragingSurvival
    ):
        raise BundleError(
            f"'{path.name}' does not hold a PRIME-R late-fusion model and a PRIME-S model-averaging model.",
            path=path,
        )
    from sklearn.linear_model import LogisticRegression

    from PRIMELib.models.fusion import NonNegativeLogisticRegression

    meta = (LogisticRegression, NonNegativeLogisticRegression)
    if not isinstance(prime_r.meta_, meta) or len(prime_r.classes_) != 2:
        raise BundleError(
            f"The PRIME-R model of '{path.name}' is not a binary logistic late fusion.", path=path
        )
    from PRIMELib.bundle.scoring import ModelBundle

    bundle = ModelBundle(manifest=manifest, prime_r=prime_r, prime_s=prime_s, path=path, sha256=sha256)
    bundle.load_warnings = tuple(_version_warnings(manifest))
    if verify_predictions:
        bundle.verify()
    return bundle


def _version_warnings(manifest: dict) -> list[str]:
    installed = _versions()
    warnings = []
    for package in ("scikit-learn", "scikit-survival"):
        made = manifest.get("versions", {}).get(package)
        if made and made != installed.get(package):
            warnings.append(
                f"The model was trained with {package} {made}; {installed.get(package)} is installed "
                "(its check predictions still match)."
            )
    return warnings
