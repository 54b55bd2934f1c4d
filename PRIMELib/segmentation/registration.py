"""Carry the tumour ROI from the arterial phase to the portal-venous phase.

The ROI is drawn on the arterial phase. The venous series is usually a second acquisition a minute
later: same scanner table, but the patient may have breathed or moved. Two steps:

- :func:`register_rigid` (optional): a rigid (versor) registration of the venous phase to the arterial
  phase with Mattes mutual information (the tumour's contrast flips between phases, so intensities
  cannot be compared directly), restricted to a region around the ROI, multi-resolution.
- :func:`carry_mask` resamples the arterial mask into the venous voxel grid (through the
  registration's transform when there is one).

:func:`carry_roi_to_venous` does both and returns what an overlay needs: the venous mask, the venous
image resampled onto the arterial grid, and a checkerboard of the two for the user to check.

Transforms follow ITK's convention: ``transform`` maps arterial (fixed) physical LPS points to venous
(moving) physical points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMECancelled, PRIMEInputError
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.segmentation.postprocess import as_binary
from PRIMELib.segmentation.prompts import BoxPrompt, box_index_region


@dataclass(frozen=True)
class RegistrationSettings:
    """Settings of the rigid registration (lengths in mm).

    region_margin_mm: the phases are registered within the ROI's bounding box grown by this margin
    (``None``: the whole overlap of the two images); motion_margin_mm: how much more of the venous
    phase is kept around that region, for the motion to find. shrink_factors / smoothing_sigmas_mm: the
    multi-resolution pyramid. sampling_fraction: share of voxels the metric samples (fixed seed).
    """

    region_margin_mm: float | None = 40.0
    histogram_bins: int = 32
    sampling_fraction: float = 0.1
    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas_mm: tuple[float, ...] = (4.0, 2.0, 1.0)
    iterations: int = 100
    minimum_step_mm: float = 0.01
    motion_margin_mm: float = 20.0
    learning_rate: float = 1.0
    random_seed: int = 20260101
    window_hu: tuple[float, float] = (-200.0, 400.0)


@dataclass
class RigidRegistrationResult:
    """A venous-to-arterial rigid registration.

    transform: maps arterial physical points (LPS mm) to venous ones. metric_before / metric_after:
    Mattes mutual information over the region (more negative is better aligned). translation_mm and
    rotation_deg: how far the venous phase was moved. roi_displacement_mm: mean and largest movement of
    the ROI's voxels under the transform (what the registration changed where it matters).
    """

    transform: sitk.Transform
    metric_before: float
    metric_after: float
    translation_mm: tuple[float, float, float]
    rotation_deg: float
    roi_displacement_mm: tuple[float, float]
    iterations: int
    stop_condition: str
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready summary (without the transform object)."""
        return {
            "metric_before": round(self.metric_before, 4),
            "metric_after": round(self.metric_after, 4),
            "translation_mm": [round(v, 2) for v in self.translation_mm],
            "rotation_deg": round(self.rotation_deg, 2),
            "roi_displacement_mm": {
                "mean": round(self.roi_displacement_mm[0], 2),
                "max": round(self.roi_displacement_mm[1], 2),
            },
            "iterations": self.iterations,
            "stop_condition": self.stop_condition,
            "seconds": round(self.seconds, 2),
            "warnings": list(self.warnings),
        }


@dataclass
class CarriedRoi:
    """The ROI carried to the venous phase, and what an overlay shows.

    venous_mask: uint8 on the venous grid. registered_venous: the venous image resampled onto the
    arterial grid (through the transform), to compare with the arterial image. checkerboard: arterial
    and registered venous in alternating blocks (both windowed to 0–255, uint8), on the arterial grid.
    registration: ``None`` when no registration was run.
    """

    venous_mask: sitk.Image
    registered_venous: sitk.Image
    checkerboard: sitk.Image
    registration: RigidRegistrationResult | None


def _versor_from(transform: sitk.Transform | None) -> sitk.VersorRigid3DTransform:
    result = sitk.VersorRigid3DTransform()
    if transform is not None:
        result.SetParameters(transform.GetParameters())
        result.SetFixedParameters(transform.GetFixedParameters())
    return result


def register_rigid(
    arterial: sitk.Image,
    venous: sitk.Image,
    *,
    roi_mask: sitk.Image | None = None,
    settings: RegistrationSettings | None = None,
    progress: ProgressCallback | None = None,
) -> RigidRegistrationResult:
    """Rigidly register ``venous`` (moving) to ``arterial`` (fixed); see the module's docstring.

    ``roi_mask`` (on the arterial grid) centres the rotation on the tumour and limits the metric to a
    region around it (``settings.region_margin_mm``).
    """
    settings = settings or RegistrationSettings()
    started = time.perf_counter()
    for image, name in ((arterial, "arterial image"), (venous, "venous image")):
        if image.GetDimension() != 3:
            raise PRIMEInputError(
                f"The {name} has {image.GetDimension()} dimensions.", field=name, expected="a 3D volume"
            )
    if roi_mask is not None and settings.region_margin_mm is not None:
        # Work on crops around the ROI: the pyramid and the metric then cost what the region costs,
        # not what a 512 x 512 x 100 volume costs. The moving crop is larger, to allow for the motion.
        region = _roi_box(roi_mask).grown(settings.region_margin_mm)
        arterial = _crop(arterial, region)
        venous = _crop(venous, region.grown(settings.motion_margin_mm))
    fixed = _windowed(arterial, settings.window_hu)
    moving = _windowed(venous, settings.window_hu)
    initial = sitk.VersorRigid3DTransform()
    # Start from identity (the phases share the scanner's frame), rotating about the ROI or the centre.
    if roi_mask is not None:
        centre = _roi_centre(roi_mask)
    else:
        centre = fixed.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in fixed.GetSize()])
    initial.SetCenter(tuple(float(c) for c in centre))

    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(settings.sampling_fraction, settings.random_seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=settings.learning_rate,
        minStep=settings.minimum_step_mm,
        numberOfIterations=settings.iterations,
        relaxationFactor=0.6,
        gradientMagnitudeTolerance=1e-6,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(list(settings.shrink_factors))
    method.SetSmoothingSigmasPerLevel(list(settings.smoothing_sigmas_mm))
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=False)

    levels = len(settings.shrink_factors)
    state: dict = {"level": 0, "iterations": 0, "cancelled": None}

    def on_iteration() -> None:
        state["iterations"] += 1
        fraction = (state["level"] + min(method.GetOptimizerIteration() / settings.iterations, 1.0)) / levels
        message = f"Registering venous to arterial (level {state['level'] + 1})"
        try:
            report(progress, 0.05 + 0.85 * fraction, message)
        except PRIMECancelled as cancelled:
            # An exception cannot cross ITK's C++ loop cleanly: stop it, then raise after Execute.
            state["cancelled"] = cancelled
            method.StopRegistration()

    def on_level() -> None:
        state["level"] = method.GetCurrentLevel()

    method.AddCommand(sitk.sitkIterationEvent, on_iteration)
    method.AddCommand(sitk.sitkMultiResolutionIterationEvent, on_level)
    report(progress, 0.02, "Registering venous to arterial")
    metric_before = _metric_value(fixed, moving, initial, settings)
    try:
        found = method.Execute(fixed, moving)
    except RuntimeError as error:
        raise PRIMEInputError(
            f"The rigid registration of venous to arterial failed: {str(error).strip().splitlines()[-1]}",
            field="venous image",
            expected="two phases of the same patient that overlap in space",
            hint="Check that both volumes come from the same study, or carry the ROI without registration.",
        ) from error
    if state["cancelled"] is not None:
        raise state["cancelled"]
    transform = _versor_from(_innermost(found))
    metric_after = _metric_value(fixed, moving, transform, settings)
    warnings = []
    if metric_after > metric_before:
        # The optimiser made things worse by its own measure: keep the identity.
        warnings.append("Registration did not improve the alignment; the phases were left as acquired.")
        transform = initial
        metric_after = metric_before
    translation = tuple(float(t) for t in transform.GetTranslation())
    rotation_deg = float(np.degrees(2 * np.arccos(np.clip(abs(transform.GetVersor()[3]), 0, 1))))
    displacement = _roi_displacement(transform, roi_mask if roi_mask is not None else arterial)
    if displacement[1] > 20.0:
        warnings.append(
            f"The registration moved the ROI by up to {displacement[1]:.0f} mm: check the overlay before "
            "using the venous ROI."
        )
    report(progress, 1.0, "Registration done")
    return RigidRegistrationResult(
        transform=transform,
        metric_before=float(metric_before),
        metric_after=float(metric_after),
        translation_mm=translation,
        rotation_deg=rotation_deg,
        roi_displacement_mm=displacement,
        iterations=state["iterations"],
        stop_condition=method.GetOptimizerStopConditionDescription(),
        seconds=time.perf_counter() - started,
        warnings=warnings,
    )


def carry_mask(mask: sitk.Image, target: sitk.Image, transform: sitk.Transform | None = None) -> sitk.Image:
    """Resample a binary mask (on the arterial grid) onto ``target``'s grid.

    ``transform`` maps arterial points to venous points (as :func:`register_rigid` returns); without it
    the phases are taken as aligned in physical space. The mask is resampled as a fraction (linear
    interpolation) and thresholded at one half, so a change of voxel size keeps the volume.
    """
    venous_to_arterial = sitk.Transform() if transform is None else transform.GetInverse()
    fraction = sitk.Resample(
        sitk.Cast(as_binary(mask), sitk.sitkFloat32), target, venous_to_arterial, sitk.sitkLinear, 0.0
    )
    return sitk.Cast(sitk.GreaterEqual(fraction, 0.5), sitk.sitkUInt8)


def carry_roi_to_venous(
    arterial: sitk.Image,
    venous: sitk.Image,
    arterial_mask: sitk.Image,
    *,
    register: bool = True,
    settings: RegistrationSettings | None = None,
    progress: ProgressCallback | None = None,
) -> CarriedRoi:
    """The arterial ROI on the venous grid, registering the phases first when ``register``."""
    settings = settings or RegistrationSettings()
    if not sitk.GetArrayViewFromImage(arterial_mask).any():
        raise PRIMEInputError(
            "The arterial ROI is empty: there is nothing to carry to the venous phase.",
            field="arterial mask",
            hint="Create the initial ROI on the arterial phase first.",
        )
    registration = None
    transform = None
    if register:
        registration = register_rigid(
            arterial, venous, roi_mask=arterial_mask, settings=settings, progress=progress
        )
        transform = registration.transform
    venous_mask = carry_mask(arterial_mask, venous, transform)
    if not sitk.GetArrayViewFromImage(venous_mask).any():
        raise PRIMEInputError(
            "The ROI falls outside the venous volume once carried over.",
            field="venous image",
            expected="a venous volume covering the tumour",
            hint="Check that the venous series covers the liver (and is the same patient and study).",
        )
    registered = sitk.Resample(
        venous, arterial, transform or sitk.Transform(), sitk.sitkLinear, float(settings.window_hu[0])
    )
    board = sitk.CheckerBoard(
        _windowed(arterial, settings.window_hu, as_uint8=True),
        _windowed(registered, settings.window_hu, as_uint8=True),
        [8, 8, 1],
    )
    return CarriedRoi(venous_mask, registered, board, registration)


def _windowed(image: sitk.Image, window_hu: tuple[float, float], as_uint8: bool = False) -> sitk.Image:
    low, high = window_hu
    clamped = sitk.Clamp(sitk.Cast(image, sitk.sitkFloat32), sitk.sitkFloat32, low, high)
    if not as_uint8:
        return clamped
    return sitk.Cast(sitk.RescaleIntensity(clamped, 0, 255), sitk.sitkUInt8)


def _roi_centre(mask: sitk.Image) -> tuple[float, float, float]:
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(as_binary(mask))
    if not stats.HasLabel(1):
        raise PRIMEInputError("The ROI mask is empty.", field="arterial mask")
    return stats.GetCentroid(1)


def _roi_box(mask: sitk.Image) -> BoxPrompt:
    """The physical box around the ROI's voxels."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(as_binary(mask))
    x, y, z, nx, ny, nz = stats.GetBoundingBox(1)
    corners = np.array(
        [
            mask.TransformContinuousIndexToPhysicalPoint((i, j, k))
            for i in (x - 0.5, x + nx - 0.5)
            for j in (y - 0.5, y + ny - 0.5)
            for k in (z - 0.5, z + nz - 0.5)
        ]
    )
    return BoxPrompt.from_corners_lps(corners.min(axis=0), corners.max(axis=0))


def _crop(image: sitk.Image, box: BoxPrompt) -> sitk.Image:
    """The part of ``image`` inside ``box`` (the whole image when the box holds it all)."""
    try:
        region = box_index_region(image, box)
    except PRIMEInputError as error:
        raise PRIMEInputError(
            "The venous volume does not cover the ROI, so the phases cannot be registered there.",
            field="venous image",
            expected="a venous volume covering the tumour",
            hint="Check that the venous series covers the liver (and is the same patient and study).",
        ) from error
    if region.size == image.GetSize():
        return image
    return sitk.RegionOfInterest(image, region.size, region.start)


def _innermost(transform: sitk.Transform) -> sitk.Transform:
    """The optimised transform out of the composite ``Execute`` returns with ``inPlace=False``."""
    if transform.GetName() == "CompositeTransform":
        composite = sitk.CompositeTransform(transform)
        return composite.GetNthTransform(composite.GetNumberOfTransforms() - 1)
    return transform


def _metric_value(fixed, moving, transform, settings) -> float:
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(settings.sampling_fraction, settings.random_seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetInitialTransform(transform)
    return float(method.MetricEvaluate(fixed, moving))


def _roi_displacement(transform: sitk.Transform, mask_or_image: sitk.Image) -> tuple[float, float]:
    """Mean and largest distance (mm) that ``transform`` moves the ROI's voxels (or the image's corners)."""
    if mask_or_image.GetPixelID() == sitk.sitkUInt8:
        indices = np.argwhere(sitk.GetArrayViewFromImage(mask_or_image) != 0)[:, ::-1]
        if len(indices) > 5000:
            indices = indices[np.linspace(0, len(indices) - 1, 5000).astype(int)]
    else:
        size = np.asarray(mask_or_image.GetSize()) - 1
        indices = np.array([[x, y, z] for x in (0, size[0]) for y in (0, size[1]) for z in (0, size[2])])
    if not len(indices):
        return 0.0, 0.0
    points = np.array([mask_or_image.TransformIndexToPhysicalPoint([int(v) for v in ijk]) for ijk in indices])
    moved = np.array([transform.TransformPoint(tuple(p)) for p in points])
    distance = np.linalg.norm(moved - points, axis=1)
    return float(distance.mean()), float(distance.max())
