"""PRIME model bundles (``.prime``): one zip file holding trained PRIME-R and PRIME-S, safely.

Members:

* ``manifest.json`` — format and versions, required features per phase, clinical schema version,
  preprocessing (imputation medians, reference values, typical ranges), thresholds, training cohort
  summary (counts only), metrics, intended use, the training configuration, check predictions, and the
  SHA-256 and size of every other member;
* ``models/prime_r.skops``, ``models/prime_s.skops`` — the fitted models in skops' format: JSON plus
  numpy arrays, **never pickle**; loading builds only the types in :data:`TRUSTED_TYPES`;
* ``model_card.md`` — the model card, generated from the manifest;
* ``summary.csv`` — every training candidate with its cross-validated and test metrics.

:func:`load_bundle` refuses, with an error that says why: a file that is not a zip, unsafe or
unexpected member names, a member whose checksum or size differs from the manifest (tampered or
corrupt), a pickled payload, a type outside the trusted list, a newer format or clinical schema, and
models that do not reproduce the check predictions stored at training (e.g. after an incompatible
scikit-learn upgrade). The manifest itself is not signed: checksums detect corruption and edits of the
models, and the trusted-type list keeps even a hand-crafted bundle from running code.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from PRIMELib import __version__
from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import write_atomically
from PRIMELib.paths import resource_path
from PRIMELib.scoring import DAYS_PER_MONTH, REPORT_MONTHS, IllustrativeModel, ScoreResult, classify

__all__ = [
    "DEFAULT_BUNDLE",
    "FORMAT",
    "FORMAT_VERSION",
    "TRUSTED_TYPES",
    "BundleError",
    "BundleScoreResult",
    "ModelBundle",
    "load_bundle",
    "load_default_model",
    "model_card_markdown",
    "save_bundle",
]

FORMAT = "prime-model-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_MEMBERS = {"prime_r": "models/prime_r.skops", "prime_s": "models/prime_s.skops"}
CARD_MEMBER = "model_card.md"
SUMMARY_MEMBER = "summary.csv"
#: The demonstration bundle PRIME ships (trained on a synthetic cohort) once it exists; until then
#: :func:`load_default_model` falls back to the illustrative, untrained model.
DEFAULT_BUNDLE = resource_path("models", "prime_demo.prime")

#: Types a bundle may contain beyond those skops trusts by default (scikit-learn's estimators, numpy
#: arrays, builtins). Anything else is refused before a single object is built.
TRUSTED_TYPES = (
    "PRIMELib.clinical.imputation.MedianImputer",
    "PRIMELib.models.fusion.BayesianModelAveragingSurvival",
    "PRIMELib.models.fusion.LateFusionClassifier",
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
            return {name: archive.read(name) for name in names}
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            raise BundleError(f"'{path.name}' is damaged: {error}.", path=path) from error


def _check_manifest(manifest: object, path: Path) -> dict:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(
            f"'{path.name}' is not a PRIME model bundle (its manifest format differs).", path=path
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(f"'{path.name}' has an invalid format_version: {version!r}.", path=path)
    if version > FORMAT_VERSION:
        made_by = manifest.get("versions", {}).get("PRIMELib", "a newer PRIMELib")
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
    return manifest


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
    if expected_sha256 is not None and sha256 != expected_sha256.strip().lower():
        raise BundleError(
            f"'{path.name}' has SHA-256 {sha256}, not the expected {expected_sha256.strip()}: it is "
            "another bundle, or this one was changed.",
            path=path,
            hint="Check that you have the bundle you meant, and the digest you were given.",
        )
    try:
        manifest = json.loads(members[MANIFEST].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"The manifest of '{path.name}' is not valid JSON ({error}).", path=path) from error
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

    if not isinstance(prime_r.meta_, LogisticRegression) or len(prime_r.classes_) != 2:
        raise BundleError(
            f"The PRIME-R model of '{path.name}' is not a binary logistic late fusion.", path=path
        )
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


def load_default_model() -> ModelBundle | IllustrativeModel:
    """The shipped demonstration bundle when present, else the illustrative (untrained) model.

    The bundle is loaded and verified once per process (that takes seconds) and shared by every caller,
    for as long as the file keeps its modification time and size; a rebuilt bundle is loaded afresh.
    Scoring never modifies a bundle; callers must not either (copy what they want to change).
    """
    try:
        stat = DEFAULT_BUNDLE.stat()
    except OSError:
        return IllustrativeModel.load()
    return _load_default_bundle(str(DEFAULT_BUNDLE), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1)
def _load_default_bundle(path: str, mtime_ns: int, size: int) -> ModelBundle:
    """The default bundle; the file's modification time and size are the cache key."""
    return load_bundle(path)


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass
class BundleScoreResult(ScoreResult):
    """A :class:`ScoreResult` from a trained bundle, plus the survival curve and full explanations.

    ``survival_curve``: [{"month", "survival"}] monthly up to the training follow-up;
    ``response_contributions`` / ``survival_contributions``: every selected feature's signed
    contribution (log-odds / risk-score units) with the case's value, largest first; ``explanation``
    says the units and the reference they are measured against.
    """

    survival_curve: list[dict[str, float]] = field(default_factory=list)
    response_contributions: list[dict[str, float | str]] = field(default_factory=list)
    survival_contributions: list[dict[str, float | str]] = field(default_factory=list)
    explanation: dict[str, object] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)


def _as_number(name: str, value: object) -> float:
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise PRIMEInputError(f"{name} = {value!r} is not a number.", field=name, value=value) from error
    if math.isinf(number):
        raise PRIMEInputError(f"{name} = {value!r} is not a finite number.", field=name, value=value)
    return number


@dataclass
class ModelBundle:
    """A loaded, verified bundle: PRIME-R, PRIME-S and their manifest. Score cases with :meth:`score`."""

    manifest: dict
    prime_r: object
    prime_s: object
    path: Path | None = None
    sha256: str = ""  # bundle_sha256 of the file it was loaded from
    load_warnings: tuple[str, ...] = ()
    _reference_inputs: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "PRIME model"))

    @property
    def radiomics_params(self) -> str:
        return str(self.manifest.get("radiomics_params", "prime_paper"))

    @property
    def required_features(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.manifest["required_features"].items()}

    @property
    def features(self) -> list[str]:
        return sorted(f for names in self.required_features.values() for f in names)

    @property
    def response_threshold(self) -> float:
        return float(self.manifest["thresholds"]["response_threshold"])

    @property
    def risk_cutoff(self) -> float:
        return float(self.manifest["thresholds"]["risk_cutoff"])

    @property
    def max_imputed(self) -> int | None:
        return self.manifest.get("preprocessing", {}).get("imputation", {}).get("max_imputed")

    @property
    def model_card(self) -> dict[str, object]:
        """The short card every ScoreResult carries."""
        return {
            "name": self.name,
            "trained_on": self.manifest.get("trained_on", ""),
            "intended_use": self.manifest.get("intended_use", ""),
            "not_for_clinical_use": bool(self.manifest.get("not_for_clinical_use", True)),
            "warning": self.manifest.get("warning", "Research use only."),
            "primelib_version": self.manifest.get("versions", {}).get("PRIMELib"),
            "sha256": self.sha256,
        }

    def model_card_markdown(self) -> str:
        return model_card_markdown(self.manifest)

    def _frame(self, values: Mapping[str, float]) -> pd.DataFrame:
        return _case_frame(values, list(self.manifest["input_columns"]))

    def verify(self) -> None:
        """Re-run the check cases stored at training; differences mean these are not the same models."""
        checks = self.manifest["checks"]
        outputs = _probe_outputs(
            self.prime_r, self.prime_s, checks["cases"], list(self.manifest["input_columns"])
        )
        for expected, got in zip(checks["outputs"], outputs, strict=True):
            for key, value in expected.items():
                if value is None or not math.isclose(
                    got[key], value, rel_tol=_PROBE_TOLERANCE, abs_tol=_PROBE_TOLERANCE
                ):
                    where = f"'{self.path.name}'" if self.path else "the bundle"
                    raise BundleError(
                        f"The models in {where} do not reproduce their check predictions ({key}: stored "
                        f"{value}, now {got[key]}). They behave differently here than where they were "
                        "trained.",
                        path=self.path,
                        hint="Install the scikit-learn and scikit-survival versions the manifest names, "
                        "or retrain.",
                    )

    def _member_cases(self, fused, kind: str, case: pd.DataFrame, raw: dict[str, float]) -> list:
        """Each member of a fused model, with the case's and the reference's model inputs.

        Every member pipeline's preprocessing runs once per case; the reference's once per bundle.
        """
        from sklearn.pipeline import Pipeline

        from PRIMELib.models.explain import MemberCase, member_output

        members = []
        for name, pipeline, factor in fused.member_terms():
            if not isinstance(pipeline, Pipeline):
                raise BundleError(f"The member '{name}' of the bundle is not a pipeline.", path=self.path)
            prefix, model = pipeline[:-1], pipeline[-1]
            key = (kind, name)
            if key not in self._reference_inputs:
                reference = self._frame(self.manifest["preprocessing"]["reference_values"])
                features = [str(f) for f in prefix.get_feature_names_out()]
                self._reference_inputs[key] = (features, np.asarray(prefix.transform(reference), float)[0])
            features, reference_inputs = self._reference_inputs[key]
            inputs = np.asarray(prefix.transform(case), float)[0]
            members.append(
                MemberCase(features, inputs, reference_inputs, member_output(kind, model, factor), raw)
            )
        return members

    def score(self, features: Mapping[str, object], *, case_id: str = "case") -> BundleScoreResult:
        """Score one case from its feature values (radiomics, clinical and derived indices, by name).

        Missing clinical values are imputed with training medians and named in the result; a case
        missing more than ``max_imputed`` of them, or any radiomics feature the models use, is refused.
        """
        from PRIMELib.models.explain import explain_members
        from PRIMELib.models.survival_data import step_values

        required = self.required_features
        values = {f: _as_number(f, features.get(f)) for f in self.features}
        missing = {phase: [f for f in names if math.isnan(values[f])] for phase, names in required.items()}
        missing_radiomics = missing.get("arterial", []) + missing.get("venous", [])
        if missing_radiomics:
            raise PRIMEInputError(
                f"Case '{case_id}' lacks radiomics feature(s) the model uses: "
                f"{', '.join(missing_radiomics)}.",
                field="radiomics",
                hint=f"Extract features with the '{self.radiomics_params}' parameters on both phases.",
            )
        imputed = missing.get("clinical", [])
        limit = self.max_imputed
        if limit is not None and len(imputed) > limit:
            raise PRIMEInputError(
                f"Case '{case_id}' misses {len(imputed)} of the model's clinical inputs: "
                f"{', '.join(imputed)}.",
                field="clinical",
                expected=f"at most {limit} missing",
                hint="Enter the missing values; the model cannot score a case this incomplete.",
            )
        medians = self.manifest["preprocessing"]["imputation"].get("clinical_medians", {})
        used = {f: (medians.get(f, math.nan) if f in imputed else v) for f, v in values.items()}
        case = self._frame(values)

        # PRIME-R: fused log-odds = meta intercept + Σ coefficient × member log-odds.
        response_members = self._member_cases(self.prime_r, "log_odds", case, used)
        response_terms, response_reference, log_odds = explain_members(response_members)
        intercept = float(np.ravel(self.prime_r.meta_.intercept_)[0])
        probability = float(1.0 / (1.0 + math.exp(-(intercept + log_odds))))
        # PRIME-S: fused risk = Σ weight × (member risk − mean) / sd; S(t) = Σ weight × S_member(t).
        survival_members = self._member_cases(self.prime_s, "risk", case, used)
        survival_terms, survival_reference, risk_sum = explain_members(survival_members)
        shift = float(np.dot(self.prime_s.weights_, self.prime_s.risk_mean_ / self.prime_s.risk_scale_))
        risk = risk_sum - shift
        follow_up_days = float(self.manifest["survival"]["max_follow_up_days"])
        months = np.arange(0, max(int(follow_up_days // DAYS_PER_MONTH), max(REPORT_MONTHS)) + 1)
        curve = np.zeros(len(months))
        for weight, member, (_, pipeline, _) in zip(
            self.prime_s.weights_, survival_members, self.prime_s.member_terms(), strict=True
        ):
            functions = pipeline[-1].predict_survival_function(member.case[None, :])
            curve += weight * step_values(functions, months * DAYS_PER_MONTH)[0]
        survival = {f"{m}_months": float(curve[m]) for m in REPORT_MONTHS}
        shown = months <= max(follow_up_days / DAYS_PER_MONTH, 1)

        warnings = list(self.load_warnings)
        beyond = [m for m in REPORT_MONTHS if m * DAYS_PER_MONTH > follow_up_days]
        if beyond:
            warnings.append(
                f"Survival at {', '.join(map(str, beyond))} months lies beyond the training follow-up "
                f"({follow_up_days / DAYS_PER_MONTH:.1f} months): the curve is held flat there."
            )
        ranges = self.manifest["preprocessing"].get("typical_ranges", {})
        for feature, (low, high) in sorted(ranges.items()):
            value = values.get(feature, math.nan)
            if not math.isnan(value) and (value < low or value > high):
                warnings.append(
                    f"{feature} = {value:.4g} lies outside the training cohort's 1st–99th percentile range "
                    f"({low:.4g} to {high:.4g}): the prediction extrapolates."
                )
        return BundleScoreResult(
            case_id=case_id,
            response_probability=probability,
            risk_score=risk,
            survival=survival,
            **classify(probability, self.response_threshold, risk, self.risk_cutoff),
            top_response_features=[c.to_dict() for c in response_terms[:5]],
            top_survival_features=[c.to_dict() for c in survival_terms[:5]],
            imputed_fields=imputed,
            inputs=used,
            model_name=self.name,
            model_card=self.model_card,
            warnings=warnings,
            survival_curve=[
                {"month": int(m), "survival": float(s)}
                for m, s in zip(months[shown], curve[shown], strict=True)
            ],
            response_contributions=[c.to_dict() for c in response_terms],
            survival_contributions=[c.to_dict() for c in survival_terms],
            explanation={
                "method": "baseline Shapley values against a reference case of training medians",
                "response_units": "log-odds of response",
                "survival_units": "PRIME-S risk score",
                "response_reference_log_odds": intercept + response_reference,
                "survival_reference_risk": survival_reference - shift,
            },
            thresholds={"response_threshold": self.response_threshold, "risk_cutoff": self.risk_cutoff},
        )

    def score_table(self, table: pd.DataFrame) -> list[BundleScoreResult]:
        """Score every row of a table (index = case id)."""
        return [self.score(row.to_dict(), case_id=str(case_id)) for case_id, row in table.iterrows()]


# ---------------------------------------------------------------------------------------------
# Model card


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(value) -> str:
    return f" ({value[0]:.2f}–{value[1]:.2f})" if isinstance(value, list) and len(value) == 2 else ""


def model_card_markdown(manifest: Mapping[str, object]) -> str:
    """The model card (Markdown) of a bundle, generated from its manifest."""
    m = manifest
    training = m.get("training", {})
    cohort = training.get("cohort", {})
    config = training.get("config", {})
    lines = [
        f"# Model card: {m.get('name')}",
        "",
        f"> **{m.get('warning', 'Research use only.')}**",
        "",
        "## Intended use",
        str(m.get("intended_use", "")),
        "",
        "## Training data",
        str(m.get("trained_on", "")),
        "",
        "| set | cases | responders | deaths | median follow-up (days) |",
        "|---|---|---|---|---|",
    ]
    for name in ("train", "test", "external"):
        entry = cohort.get(name)
        if entry:
            lines.append(
                f"| {name} | {entry['n']} | {entry['responders']} | {entry['deaths']} | "
                f"{entry['median_follow_up_days']:.0f} |"
            )
    lines += [
        "",
        f"Features offered: {cohort.get('n_clinical_features', '?')} clinical, "
        f"{cohort.get('n_radiomics_features', '?')} radiomics (PyRadiomics parameters "
        f"'{m.get('radiomics_params')}'). Split: {int(100 * (1 - config.get('test_size', 0.3)))}:"
        f"{int(100 * config.get('test_size', 0.3))} stratified internal split"
        + (f", external centre '{config['external_centre']}'" if config.get("external_centre") else "")
        + f"; seed {config.get('random_state')}; {config.get('cv_folds')}-fold CV inside the training set.",
        "",
        "## Models",
    ]
    fusion = m.get("fusion", {})
    r = fusion.get("prime_r", {})
    s = fusion.get("prime_s", {})
    lines.append(
        f"- **PRIME-R** (response at 3 months): {r.get('rule')}; members {', '.join(r.get('members', []))}, "
        f"meta coefficients {', '.join(_fmt(c, 2) for c in r.get('meta_coefficients', []))}."
    )
    lines.append(
        f"- **PRIME-S** (overall survival): Bayesian model averaging, rule '{s.get('rule')}'; members "
        + ", ".join(
            f"{name} (weight {w:.2f})"
            for name, w in zip(s.get("members", []), s.get("weights", []), strict=False)
        )
        + "."
    )
    thresholds = m.get("thresholds", {})
    lines += [
        f"- Response threshold {_fmt(thresholds.get('response_threshold'))}; risk cut-off (training median) "
        f"{_fmt(thresholds.get('risk_cutoff'))}.",
        "",
        "## Required inputs",
    ]
    for phase, names in m.get("required_features", {}).items():
        lines.append(f"- {phase} ({len(names)}): " + (", ".join(f"`{n}`" for n in names) or "none"))
    imputation = m.get("preprocessing", {}).get("imputation", {})
    lines += [
        f"- Missing clinical values: training median, at most {imputation.get('max_imputed')} per case; "
        "missing radiomics: refused.",
        "",
        "## Performance",
        "| set | AUC (95 % CI) | Brier | C-index (95 % CI) | Uno's C | IBS | HR high vs low (95 % CI) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in m.get("metrics", {}).items():
        response = entry.get("response", {})
        survival = entry.get("survival", {})
        hr = survival.get("hazard_ratio")
        lines.append(
            f"| {name} | {_fmt(response.get('auc'), 2)}{_ci(response.get('auc_ci95'))} | "
            f"{_fmt(response.get('brier'), 3)} | "
            f"{_fmt(survival.get('c_index'), 2)}{_ci(survival.get('c_index_ci95'))} | "
            f"{_fmt(survival.get('uno_c_index'), 2)} | {_fmt(survival.get('integrated_brier'), 3)} | "
            f"{_fmt(hr, 2)}{_ci(survival.get('hazard_ratio_ci95'))} |"
        )
    versions = m.get("versions", {})
    lines += [
        "",
        "'cv' is cross-validated on the training set (late fusion's out-of-fold predictions); 'train' is "
        "apparent (optimistic).",
        "",
        "## Limitations",
        "- Trained on the cohort above only; performance elsewhere (other scanners, protocols, populations, "
        "treatments) is unknown until validated there.",
        "- Inputs outside the training range are flagged; survival beyond the training follow-up is held "
        "flat.",
        "- Explanations are baseline Shapley values against a median reference case: they show what moved "
        "this prediction, not causes.",
        "",
        "## Versions",
        ", ".join(f"{k} {v}" for k, v in versions.items()) + f"; bundle format {m.get('format_version')}; "
        f"clinical schema {m.get('clinical_schema_version')}; created {m.get('created')}.",
        "",
    ]
    return "\n".join(lines)
