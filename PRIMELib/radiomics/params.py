"""PyRadiomics parameter sets: the shipped ones by name, a user's YAML file, or a dictionary.

Parameters stay in PyRadiomics' own schema (and are validated by PyRadiomics), so a user's existing
params file works unchanged. Two things PRIME decides itself, whatever the file says:

- which voxels are tumour (``label`` and ``label_channel`` are replaced by PRIME's mask choice: see
  :mod:`PRIMELib.radiomics.masks`), and
- that extraction is segment-based (voxel-based maps are not features of a case).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PRIMELib.errors import PRIMEInputError
from PRIMELib.paths import resource_path

#: Parameter sets shipped in ``PRIMELib/resources/radiomics/``.
SHIPPED = ("prime_paper", "prime_quick")

# Settings that change which voxels are read, not how features are computed: PRIME's mask choice wins.
_MASK_SETTINGS = ("label", "label_channel")


def params_file(name_or_path: str | Path = "prime_paper") -> Path:
    """Resolve a shipped parameter set (``prime_paper``, ``prime_quick``) or a user's YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix.lower() in (".yaml", ".yml", ".json"):
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


@dataclass(frozen=True)
class RadiomicsParams:
    """A validated PyRadiomics parameter set.

    ``settings`` are PyRadiomics' settings (its defaults overlaid with the file's), ``image_types`` the
    enabled image types with their custom settings (e.g. ``{"LoG": {"sigma": [4.0]}}``), and
    ``feature_classes`` the enabled classes, each with its feature names or ``None`` for all
    non-deprecated features (as PyRadiomics reads an empty entry).
    """

    name: str
    settings: dict
    image_types: dict[str, dict]
    feature_classes: dict[str, tuple[str, ...] | None]
    source_sha256: str

    @property
    def settings_sha256(self) -> str:
        """Hash of everything that decides feature values (settings, image types, classes).

        Two extractions with the same hash and the same inputs give the same values, whatever file
        or dictionary the parameters came from.
        """
        payload = {
            "setting": self.settings,
            "imageType": self.image_types,
            "featureClass": {k: list(v) if v is not None else None for k, v in self.feature_classes.items()},
        }
        text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def resamples(self) -> bool:
        """True when PyRadiomics would resample the image (``resampledPixelSpacing`` and an interpolator)."""
        return (
            self.settings.get("resampledPixelSpacing") is not None
            and self.settings.get("interpolator") is not None
        )


def load_params(params: str | Path | Mapping | RadiomicsParams = "prime_paper") -> RadiomicsParams:
    """Load and validate a parameter set: a shipped name, a YAML/JSON file, or a PyRadiomics dict."""
    if isinstance(params, RadiomicsParams):
        return params
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    # pykwalify logs each schema error at ERROR on its own; the error raised below carries them all.
    logging.getLogger("pykwalify").setLevel(logging.CRITICAL)
    if isinstance(params, Mapping):
        source: object = copy.deepcopy(dict(params))
        name = "<dictionary>"
        source_sha256 = hashlib.sha256(
            json.dumps(source, sort_keys=True, default=str).encode("utf-8")
        ).hexdigest()
    elif isinstance(params, str | Path):
        path = params_file(params)
        source = str(path)
        name = path.stem if path.parent == resource_path("radiomics") else str(path)
        source_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        raise PRIMEInputError(
            f"The radiomics parameters are of type {type(params).__name__}.",
            field="params",
            expected="'prime_paper', 'prime_quick', a path to a PyRadiomics .yaml file or a PyRadiomics dict",
        )
    try:
        extractor = featureextractor.RadiomicsFeatureExtractor(source)
    except Exception as error:  # pykwalify's SchemaError, yaml errors: all mean "not a valid params file"
        # pykwalify's SchemaError keeps its readable list of failures in ``msg``; its str() is a repr.
        reason = str(getattr(error, "msg", "") or error).strip()
        reason = (
            " ".join(line.strip(" -") for line in reason.splitlines() if line.strip()) or type(error).__name__
        )
        raise PRIMEInputError(
            f"The radiomics parameters '{name}' are not valid PyRadiomics parameters: {reason}",
            field="params",
            value=name,
            expected="a parameter file in PyRadiomics' schema (setting, imageType, featureClass)",
            hint="See https://pyradiomics.readthedocs.io/en/latest/customization.html.",
        ) from error
    settings = dict(extractor.settings)
    _check_bins(settings, name)
    for key in _MASK_SETTINGS:
        settings.pop(key, None)
    settings["label"] = 1
    image_types = {name_: dict(custom or {}) for name_, custom in extractor.enabledImagetypes.items()}
    classes = {
        cls: (tuple(features) if features else None) for cls, features in extractor.enabledFeatures.items()
    }
    return RadiomicsParams(name, settings, image_types, classes, source_sha256)


#: Most grey-level bins PRIME accepts. Texture matrices grow with the square of the number of bins
#: (GLCM: bins x bins per angle), so a binCount of 10^9 would exhaust memory before any error.
MAX_BINS = 10_000


def _check_bins(settings: Mapping, name: str) -> None:
    """Refuse a ``binCount`` that no CT needs and that would exhaust memory (the schema allows any)."""
    count = settings.get("binCount")
    if count is not None and not 2 <= count <= MAX_BINS:
        raise PRIMEInputError(
            f"The radiomics parameters '{name}' set binCount {count}.",
            field="params binCount",
            value=count,
            expected=f"between 2 and {MAX_BINS:,} bins",
            hint="Lower binCount, or use binWidth (PRIME's parameter sets use binWidth 25).",
        )
