"""What to compute: everything a parameter set enables, or only the features a model needs.

Column names are PyRadiomics' names with a phase prefix: ``<phase>_<image>_<class>_<feature>``, e.g.
``arterial_original_shape_Maximum3DDiameter`` or ``venous_wavelet-LLH_glcm_Idmn``. Given the columns a
model needs, :func:`plan_features` enables only the image types (only the LoG sigmas), the feature
classes and the features those columns name; the values are the same as in a full extraction because
the computation of each one is the same (``test_radiomics_on_demand`` proves it per image type).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics.params import RadiomicsParams

PHASES = ("arterial", "venous")

#: PyRadiomics image type of each image name prefix (PyRadiomics' ``imageoperations.get<Type>Image``).
_IMAGE_TYPE_OF_PREFIX = (
    ("original", "Original"),
    ("log-sigma-", "LoG"),
    ("wavelet", "Wavelet"),
    ("squareroot", "SquareRoot"),
    ("square", "Square"),
    ("logarithm", "Logarithm"),
    ("exponential", "Exponential"),
    ("gradient", "Gradient"),
    ("lbp-2D", "LBP2D"),
    ("lbp-3D", "LBP3D"),
)


@dataclass(frozen=True)
class FeatureColumn:
    """One feature column: phase, PyRadiomics image name, feature class and feature name."""

    phase: str
    image: str
    feature_class: str
    feature: str

    @property
    def pyradiomics_name(self) -> str:
        return f"{self.image}_{self.feature_class}_{self.feature}"

    @property
    def column(self) -> str:
        return f"{self.phase}_{self.pyradiomics_name}"

    @property
    def image_type(self) -> str | None:
        return image_type_of(self.image)


def image_type_of(image_name: str) -> str | None:
    """The PyRadiomics image type that yields ``image_name`` (``wavelet-LLH`` → ``Wavelet``)."""
    for prefix, image_type in _IMAGE_TYPE_OF_PREFIX:
        if image_name.startswith(prefix):
            return image_type
    return None


def parse_column(column: str) -> FeatureColumn:
    """Split ``arterial_wavelet-LLH_glcm_Idmn`` into its parts; raise a clear error if it is not one."""
    parts = column.split("_")
    if len(parts) != 4 or parts[0] not in PHASES or not all(parts):
        raise PRIMEInputError(
            f"'{column}' is not a radiomics feature column.",
            field="features",
            value=column,
            expected="<phase>_<image>_<class>_<feature> with phase 'arterial' or 'venous', "
            "e.g. 'venous_wavelet-LLH_glcm_Idmn'",
        )
    return FeatureColumn(*parts)


def image_names(image_type: str, custom: dict, settings: dict) -> list[str] | None:
    """The image names PyRadiomics yields for an image type with these settings (None: not predictable)."""
    args = {**settings, **custom}
    if image_type == "Original":
        return ["original"]
    if image_type == "LoG":
        return [log_name(sigma) for sigma in args.get("sigma", [])]
    if image_type == "Wavelet":
        n_axes = 2 if args.get("force2D", False) else 3
        level = int(args.get("level", 1))
        details = ["".join(c) for c in itertools.product("LH", repeat=n_axes) if "H" in c]
        names = []
        for idx in range(1, level + 1):
            prefix = "wavelet-" if idx == 1 else f"wavelet{idx}-"
            names += [prefix + d for d in details]
        return [*names, ("wavelet-" if level == 1 else f"wavelet{level}-") + "L" * n_axes]
    simple = {
        "Square": "square",
        "SquareRoot": "squareroot",
        "Logarithm": "logarithm",
        "Exponential": "exponential",
        "Gradient": "gradient",
        "LBP2D": "lbp-2D",
    }
    return [simple[image_type]] if image_type in simple else None


@dataclass(frozen=True)
class PhasePlan:
    """What to compute for one phase.

    ``image_types``: PyRadiomics image types with their custom settings, in the parameter set's order.
    ``shape_classes``: shape classes (``shape``, ``shape2D``) with their features (``None``: all).
    ``texture``: per image name, the non-shape classes and their features (``None``: all of the class);
    ``None`` for the whole mapping means "every class the parameter set enables, on every image".
    ``columns``: the requested columns in order (feature-on-demand), ``None`` for a full extraction.
    """

    image_types: dict[str, dict]
    shape_classes: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    texture: dict[str, dict[str, tuple[str, ...] | None]] | None = None
    columns: tuple[str, ...] | None = None

    def classes_for(self, image_name: str, params: RadiomicsParams) -> dict[str, tuple[str, ...] | None]:
        """Non-shape feature classes (with features) to compute on the image ``image_name``."""
        if self.texture is None:
            return {c: f for c, f in params.feature_classes.items() if not c.startswith("shape")}
        return self.texture.get(image_name, {})

    @property
    def needs_shape(self) -> bool:
        return bool(self.shape_classes)


def plan_full(params: RadiomicsParams) -> PhasePlan:
    """Everything the parameter set enables (what ``RadiomicsFeatureExtractor.execute`` computes)."""
    shape_classes = {c: f for c, f in params.feature_classes.items() if c.startswith("shape")}
    return PhasePlan(image_types=dict(params.image_types), shape_classes=shape_classes)


def available_columns(params: RadiomicsParams, phase: str) -> set[str] | None:
    """Every column a full extraction of ``phase`` produces (None if an image type's names are not known
    before filtering, e.g. LBP3D)."""
    from radiomics import getFeatureClasses

    classes = getFeatureClasses()
    columns: set[str] = set()
    for cls, features in params.feature_classes.items():
        names = features if features is not None else _default_features(classes[cls])
        if cls.startswith("shape"):
            columns |= {f"{phase}_original_{cls}_{f}" for f in names}
            continue
        for image_type, custom in params.image_types.items():
            images = image_names(image_type, custom, params.settings)
            if images is None:
                return None
            columns |= {f"{phase}_{image}_{cls}_{f}" for image in images for f in names}
    return columns


def _default_features(feature_class) -> list[str]:
    return [name for name, deprecated in feature_class.getFeatureNames().items() if not deprecated]


def plan_features(params: RadiomicsParams, columns: Iterable[str]) -> dict[str, PhasePlan | None]:
    """A plan per phase computing only ``columns`` (``None`` for a phase no column needs).

    Raises :class:`PRIMEInputError` naming every column the parameter set cannot produce.
    """
    columns = list(dict.fromkeys(columns))
    if not columns:
        raise PRIMEInputError(
            "No radiomics feature was asked for.",
            field="features",
            expected="at least one column such as 'arterial_original_shape_Sphericity'",
        )
    parsed = [parse_column(c) for c in columns]
    _check_columns_exist(params, parsed)
    plans: dict[str, PhasePlan | None] = {}
    for phase in PHASES:
        wanted = [c for c in parsed if c.phase == phase]
        if not wanted:
            plans[phase] = None
            continue
        texture: dict[str, dict[str, list[str]]] = {}
        shape_classes: dict[str, list[str]] = {}
        for col in wanted:
            if col.feature_class.startswith("shape"):
                shape_classes.setdefault(col.feature_class, []).append(col.feature)
            else:
                texture.setdefault(col.image, {}).setdefault(col.feature_class, []).append(col.feature)
        image_types: dict[str, dict] = {}
        for image_type, custom in params.image_types.items():
            needed = [image for image in texture if image_type_of(image) == image_type]
            if not needed:
                continue
            custom = dict(custom)
            if image_type == "LoG":
                sigmas = {**params.settings, **custom}.get("sigma", [])
                custom["sigma"] = [s for s in sigmas if log_name(s) in needed]
            image_types[image_type] = custom
        plans[phase] = PhasePlan(
            image_types=image_types,
            texture={img: {c: tuple(f) for c, f in cls.items()} for img, cls in texture.items()},
            columns=tuple(c.column for c in wanted),
            shape_classes={c: tuple(f) for c, f in shape_classes.items()},
        )
    return plans


def log_name(sigma) -> str:
    # PyRadiomics' own spelling: str(4.0) → "log-sigma-4-0-mm-3D", str(4) → "log-sigma-4-mm-3D".
    return "log-sigma-{}-mm-3D".format(str(sigma).replace(".", "-"))


def _check_columns_exist(params: RadiomicsParams, parsed: list[FeatureColumn]) -> None:
    missing = []
    for phase in PHASES:
        wanted = [c for c in parsed if c.phase == phase]
        if not wanted:
            continue
        available = available_columns(params, phase)
        if available is None:
            # An image type whose names only show at run time: check what can be checked now.
            available_types = set(params.image_types)
            missing += [
                c.column
                for c in wanted
                if c.feature_class not in params.feature_classes
                or (not c.feature_class.startswith("shape") and c.image_type not in available_types)
            ]
        else:
            missing += [c.column for c in wanted if c.column not in available]
    if missing:
        pool = set()
        for phase in PHASES:
            pool |= available_columns(params, phase) or set()
        hints = []
        for name in missing[:3]:
            close = difflib.get_close_matches(name, pool, n=1)
            if close:
                hints.append(f"'{name}' → did you mean '{close[0]}'?")
        raise PRIMEInputError(
            f"The radiomics parameters '{params.name}' do not produce {len(missing)} of the requested "
            f"columns: {', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}.",
            field="features",
            value=missing,
            expected="columns that a full extraction with these parameters produces "
            "(same image types, LoG sigmas, wavelet levels, feature classes and features)",
            hint=" ".join(hints) or "Check the model was trained with the same parameter set.",
        )
