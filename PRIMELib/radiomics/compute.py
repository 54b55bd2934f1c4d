"""One phase's features from a prepared crop: normalise, resample, filter, compute (PyRadiomics' own code).

:class:`PhaseJob` holds everything one phase needs and pickles small (a native crop, the ROI on the
feature grid), so :func:`compute_phase` runs in this process or in a worker process alike. Its steps
are those of ``RadiomicsFeatureExtractor.execute`` after ``loadImage``, calling the same PyRadiomics
functions (``checkMask``, ``resegmentMask``, ``computeShape``, ``get<Type>Image``, ``cropToTumorMask``,
``computeFeatures``), so each value is PyRadiomics' value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import SimpleITK as sitk

from PRIMELib.radiomics.crop import CropPlan, Normalisation, interpolator_of
from PRIMELib.radiomics.params import RadiomicsParams
from PRIMELib.radiomics.plan import PhasePlan, image_names

#: ``progress(fraction, message)`` inside one phase; raising stops the work.
PhaseProgress = Callable[[float, str], None]


@dataclass
class PhaseJob:
    """What one phase's extraction needs, prepared from the whole image and mask.

    Shape features depend on the ROI only, so they are normally computed apart, once per distinct ROI
    (:func:`compute_shape`); ``compute_shape`` is set only when they depend on the image too
    (``resegmentRange``: the ROI is then cut by intensity).
    """

    phase: str
    image_crop: sitk.Image  # native voxels around the ROI (see crop.py)
    mask: sitk.Image  # ROI (uint8, 1) on ``crop.grid``: the grid features are computed on
    crop: CropPlan
    normalisation: Normalisation | None
    params: RadiomicsParams
    plan: PhasePlan
    compute_shape: bool = False


def _extractor(enabled_features: dict):
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor()
    extractor.enabledFeatures = enabled_features
    return extractor


def feature_image(job: PhaseJob) -> sitk.Image:
    """The image features are computed on: the crop, normalised, on the feature grid."""
    image = job.image_crop
    if job.normalisation is not None:
        image = job.normalisation.apply(image)
    if job.crop.interpolate:
        image = job.crop.grid.resample(image, interpolator_of(job.params.settings))
    return image


def _steps(job: PhaseJob) -> int:
    steps = 1 + (1 if job.compute_shape and job.plan.needs_shape else 0)
    for image_type, custom in job.plan.image_types.items():
        names = image_names(image_type, custom, job.params.settings) or [image_type]
        steps += sum(max(1, len(job.plan.classes_for(name, job.params))) for name in names)
    return steps


def compute_shape(mask: sitk.Image, shape_classes: dict, settings: dict) -> dict[str, float]:
    """Shape features of an ROI (``original_shape_<name>``), as ``RadiomicsFeatureExtractor.computeShape``.

    Shape depends on the mask and its spacing only, so the mask stands in for the image.
    """
    from radiomics import imageoperations

    bounding_box, _ = imageoperations.checkMask(mask, mask, **settings)
    shape = _extractor(dict(shape_classes)).computeShape(mask, mask, bounding_box, **settings)
    return {name: float(value) for name, value in shape.items()}


def compute_phase(job: PhaseJob, progress: PhaseProgress | None = None) -> dict[str, float]:
    """PyRadiomics features of one phase, by PyRadiomics name (no phase prefix), in PyRadiomics' order."""
    from radiomics import imageoperations

    total, done = _steps(job), 0

    def step(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done / total, 1.0), f"{job.phase}: {message}")

    settings = dict(job.params.settings)
    image = feature_image(job)
    mask = job.mask
    bounding_box, _ = imageoperations.checkMask(image, mask, **settings)
    step("image prepared")
    resegmented = None
    if settings.get("resegmentRange") is not None:
        resegmented = imageoperations.resegmentMask(image, mask, **settings)
        bounding_box, _ = imageoperations.checkMask(image, resegmented, **settings)
    values: dict[str, float] = {}
    if job.compute_shape and job.plan.needs_shape:
        shape_mask = (
            resegmented if settings.get("resegmentShape", False) and resegmented is not None else mask
        )
        shape = _extractor(dict(job.plan.shape_classes)).computeShape(
            image, shape_mask, bounding_box, **settings
        )
        values.update((name, float(value)) for name, value in shape.items())
        step("shape")
    if resegmented is not None:
        mask = resegmented
    for image_type, custom in job.plan.image_types.items():
        args = {**settings, **custom}
        generator = getattr(imageoperations, f"get{image_type}Image")(image, mask, **args)
        for filtered, image_name, kwargs in generator:
            classes = job.plan.classes_for(image_name, job.params)
            if not classes:
                continue
            cropped_image, cropped_mask = imageoperations.cropToTumorMask(
                filtered, mask, bounding_box, padDistance=0
            )
            for feature_class, features in classes.items():
                extractor = _extractor({feature_class: list(features) if features is not None else None})
                computed = extractor.computeFeatures(cropped_image, cropped_mask, image_name, **kwargs)
                values.update((name, float(value)) for name, value in computed.items())
                step(f"{image_name} {feature_class}")
    return values
