"""One phase's features from a prepared crop: normalise, resample, filter, compute (PyRadiomics' own code).

:class:`PhaseJob` holds everything one phase needs and pickles small (a native crop, the ROI on the
feature grid), so :func:`compute_phase` runs in this process or in a worker process alike. Its steps
are those of ``RadiomicsFeatureExtractor.execute`` after ``loadImage``, calling the same PyRadiomics
functions (``checkMask``, ``resegmentMask``, ``computeShape``, ``get<Type>Image``, ``cropToTumorMask``,
``computeFeatures``), so each value is PyRadiomics' value. Each filtered image is binned once for all
its feature classes (``binning.py``), and only its ROI's box is kept while its features are computed.

A large tumour's phase can be split into parts (:func:`split_job`): contiguous runs of its images, each
part a job of its own for another process; the parts' values, merged in part order, are the phase's.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import SimpleITK as sitk

from PRIMELib.radiomics.binning import binning_once, forget
from PRIMELib.radiomics.crop import (
    CropPlan,
    Normalisation,
    interpolator_of,
    wavelet_margin_voxels,
    wavelet_region,
)
from PRIMELib.radiomics.mesh import without_diameters
from PRIMELib.radiomics.params import RadiomicsParams
from PRIMELib.radiomics.plan import PhasePlan, image_names, image_type_of, log_name

#: The wavelet runs slab by slab when the ROI's region has more voxels than this (:func:`_wavelet_boxes`):
#: a 12 cm tumour's region (2 M voxels at 1 mm) in 4 slabs.
WAVELET_SLAB_VOXELS = 500_000

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
    #: The image names (``original``, ``wavelet-LLH`` …) this job computes; ``None``: all the plan's.
    images: tuple[str, ...] | None = None
    #: Which part of its phase this job is (:func:`split_job`); part 0 also computes shape.
    part: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.phase, self.part)

    def mask_voxels(self) -> int:
        """ROI voxels on the feature grid."""
        return int(np.count_nonzero(sitk.GetArrayViewFromImage(self.mask)))

    def wants(self, image_name: str) -> bool:
        return self.images is None or image_name in self.images


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
        steps += sum(max(1, len(job.plan.classes_for(name, job.params))) for name in names if job.wants(name))
    return steps


def job_images(job: PhaseJob) -> list[str] | None:
    """The images ``job`` computes features on, in PyRadiomics' order (None: not known before filtering)."""
    names: list[str] = []
    for image_type, custom in job.plan.image_types.items():
        typed = image_names(image_type, custom, job.params.settings)
        if typed is None:
            return None
        names += [n for n in typed if job.wants(n) and job.plan.classes_for(n, job.params)]
    return names


def split_job(job: PhaseJob, parts: int) -> list[PhaseJob]:
    """``job`` as up to ``parts`` jobs, each a contiguous run of its images (about as many per part).

    Concatenating the parts' values in part order gives the values of ``job``, in the same order.
    A job whose image names show only when filtering (e.g. LBP3D) stays whole.
    """
    names = job_images(job)
    if names is None or parts <= 1 or len(names) <= 1:
        return [job]
    parts = min(parts, len(names))
    bounds = [round(i * len(names) / parts) for i in range(parts + 1)]
    return [
        replace(
            job,
            images=tuple(names[bounds[i] : bounds[i + 1]]),
            part=i,
            compute_shape=job.compute_shape and i == 0,
        )
        for i in range(parts)
    ]


@dataclass
class ShapeJob:
    """Shape features of one ROI, as a job for a worker process (a large tumour's shape takes seconds)."""

    phase: str
    mask: sitk.Image
    shape_classes: dict
    settings: dict

    @property
    def key(self) -> tuple[str, int]:
        return (self.phase, -1)


def compute_job(job: PhaseJob | ShapeJob, progress: PhaseProgress | None = None) -> dict[str, float]:
    """A worker process's job: a phase (or part of one), or an ROI's shape."""
    if isinstance(job, ShapeJob):
        return compute_shape(job.mask, job.shape_classes, job.settings)
    return compute_phase(job, progress)


def compute_shape(mask: sitk.Image, shape_classes: dict, settings: dict) -> dict[str, float]:
    """Shape features of an ROI (``original_shape_<name>``), as ``RadiomicsFeatureExtractor.computeShape``.

    Shape depends on the mask and its spacing only, so the mask stands in for the image. Without a
    diameter feature asked for, the mesh's diameters are skipped (``mesh.without_diameters``).
    """
    from radiomics import imageoperations

    bounding_box, _ = imageoperations.checkMask(mask, mask, **settings)
    with without_diameters(shape_classes):
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
        with without_diameters(job.plan.shape_classes):
            shape = _extractor(dict(job.plan.shape_classes)).computeShape(
                image, shape_mask, bounding_box, **settings
            )
        values.update((name, float(value)) for name, value in shape.items())
        step("shape")
    if resegmented is not None:
        mask = resegmented
    with binning_once():
        for image_name, cropped_image, cropped_mask, kwargs in _filtered(job, image, mask, bounding_box):
            for feature_class, features in job.plan.classes_for(image_name, job.params).items():
                extractor = _extractor({feature_class: list(features) if features is not None else None})
                computed = extractor.computeFeatures(cropped_image, cropped_mask, image_name, **kwargs)
                values.update((name, float(value)) for name, value in computed.items())
                step(f"{image_name} {feature_class}")
            del cropped_image, cropped_mask
            forget()
    return values


def _filtered(job: PhaseJob, image: sitk.Image, mask: sitk.Image, bounding_box) -> Iterator[tuple]:
    """(image name, ROI box of the filtered image, ROI box of the mask, kwargs) for each image ``job`` wants.

    PyRadiomics' wavelet generator computes every band at once and holds them all until it is
    exhausted: it is run to its end here keeping only the ROI's box of the wanted bands, so the whole
    bands are freed before any feature is computed; each box is let go once its features are. It runs
    on the ROI's box plus the filter's support only (``crop.wavelet_region``): the same values there;
    a large tumour's, slab by slab (:func:`_wavelet_boxes`).
    """
    from radiomics import imageoperations

    settings = job.params.settings
    for image_type, custom in job.plan.image_types.items():
        args = {**settings, **custom}
        if job.images is not None:
            if not any(image_type_of(name) == image_type for name in job.images):
                continue  # another part's image type
            if image_type == "LoG":  # this part's sigmas only
                args["sigma"] = [s for s in args.get("sigma", []) if log_name(s) in job.images]
        if image_type == "Wavelet":
            boxes = _wavelet_boxes(job, image, mask, bounding_box, args)
        else:
            generator = getattr(imageoperations, f"get{image_type}Image")(image, mask, **args)
            boxes = [
                (name, *imageoperations.cropToTumorMask(filtered, mask, bounding_box, padDistance=0), kwargs)
                for filtered, name, kwargs in generator
                if job.wants(name) and job.plan.classes_for(name, job.params)
            ]
            del generator
        boxes.reverse()
        while boxes:
            yield boxes.pop()


def _wavelet_boxes(job: PhaseJob, image: sitk.Image, mask: sitk.Image, bounding_box, args: dict) -> list:
    """The wanted wavelet bands' ROI boxes, as :func:`_filtered` yields them, in PyRadiomics' order.

    The transform runs on the ROI's region (``crop.wavelet_region``); when that region has more than
    :data:`WAVELET_SLAB_VOXELS`, on slabs of the ROI's box along z, each on its own region (the slab
    plus the filter's support). By the region's own argument each slab's voxels get the whole image's
    values, so the slabs pasted together are each band's ROI box, the same numbers: PyRadiomics holds
    all eight bands, and copies of them, at once, so this divides a large tumour's peak memory.
    """
    from radiomics import imageoperations

    def wanted(name: str) -> bool:
        return job.wants(name) and bool(job.plan.classes_for(name, job.params))

    bounding_box = np.asarray(bounding_box)
    region = wavelet_region(image.GetSize(), bounding_box, wavelet_margin_voxels(args))
    region_voxels = math.prod(region[1] if region is not None else image.GetSize())
    z0, z1 = int(bounding_box[4]), int(bounding_box[5])
    slabs = min(z1 - z0 + 1, math.ceil(region_voxels / WAVELET_SLAB_VOXELS))
    if slabs <= 1:
        source, source_mask, box = _wavelet_input(image, mask, bounding_box, args)
        return [
            (name, *imageoperations.cropToTumorMask(band, source_mask, box, padDistance=0), kwargs)
            for band, name, kwargs in imageoperations.getWaveletImage(source, source_mask, **args)
            if wanted(name)
        ]
    roi_image, roi_mask = imageoperations.cropToTumorMask(image, mask, bounding_box, padDistance=0)
    arrays: dict[str, np.ndarray] = {}
    settings: dict[str, dict] = {}
    edges = [z0 + round(i * (z1 - z0 + 1) / slabs) for i in range(slabs + 1)]
    for lower, upper in itertools.pairwise(edges):
        slab = bounding_box.copy()
        slab[4], slab[5] = lower, upper - 1
        source, source_mask, box = _wavelet_input(image, mask, slab, args)
        for band, name, kwargs in imageoperations.getWaveletImage(source, source_mask, **args):
            if wanted(name):
                part, _ = imageoperations.cropToTumorMask(band, source_mask, box, padDistance=0)
                values = sitk.GetArrayViewFromImage(part)
                if name not in arrays:
                    arrays[name] = np.empty((z1 - z0 + 1, *values.shape[1:]), values.dtype)
                arrays[name][lower - z0 : upper - z0] = values
                settings[name] = kwargs
                del part, values
    boxes = []
    for name in list(arrays):
        pasted = sitk.GetImageFromArray(arrays.pop(name))
        pasted.CopyInformation(roi_image)
        boxes.append((name, pasted, roi_mask, settings[name]))
    return boxes


def _wavelet_input(image: sitk.Image, mask: sitk.Image, bounding_box, args: dict) -> tuple:
    """(image, mask, bounding box) cut to the region the wavelet needs (``crop.wavelet_region``)."""
    region = wavelet_region(image.GetSize(), bounding_box, wavelet_margin_voxels(args))
    if region is None:
        return image, mask, bounding_box
    index, size = region
    shifted = np.asarray(bounding_box) - np.repeat(index, 2)
    return sitk.RegionOfInterest(image, size, index), sitk.RegionOfInterest(mask, size, index), shifted
