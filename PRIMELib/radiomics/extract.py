"""Dual-phase extraction of one case: full, or only the features a model needs.

:func:`extract_case` loads and checks both phases, prepares a small native crop per phase (see
``crop.py``), computes shape once when both phases share the ROI and its grid, runs the phases one
after the other or in two worker processes, and returns one row: ``arterial_<name>`` and
``venous_<name>`` columns (PyRadiomics names), with diagnostics and warnings apart.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import load_image
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.radiomics.checks import check_intensities, check_roi_size, check_volume
from PRIMELib.radiomics.compute import PhaseJob
from PRIMELib.radiomics.crop import ImageStatistics, crop, filter_margin_voxels, plan_crop
from PRIMELib.radiomics.geometry import check_roi_geometry, image_header
from PRIMELib.radiomics.masks import fit_to_grid, load_roi, select_lesions
from PRIMELib.radiomics.parallel import PhaseRunner, choose_workers
from PRIMELib.radiomics.params import RadiomicsParams, load_params
from PRIMELib.radiomics.plan import PHASES, PhasePlan, plan_features, plan_full

ImageSource = sitk.Image | str | Path


@dataclass
class CaseFeatures:
    """Radiomics of one case: feature values by column name, diagnostics apart, and warnings."""

    values: dict[str, float]
    diagnostics: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _PreparedPhase:
    job: PhaseJob
    diagnostics: dict[str, object]
    warnings: list[str]


def extract_case(
    arterial_image: ImageSource,
    venous_image: ImageSource,
    arterial_mask: ImageSource,
    venous_mask: ImageSource | None = None,
    *,
    params: str | Path | dict | RadiomicsParams = "prime_paper",
    features: Sequence[str] | None = None,
    label: int | None = None,
    segment: str | None = None,
    lesions: str = "all",
    workers: int | None = 1,
    progress: ProgressCallback | None = None,
) -> CaseFeatures:
    """Radiomics of both phases of one case.

    Images: SimpleITK images, image files (NRRD, NIfTI, MetaImage) or DICOM series folders. Masks:
    the same, or Slicer ``.seg.nrrd`` files (choose the segment with ``segment``); ``label`` chooses
    a label of a multi-label map; ``lesions`` is ``"all"`` (one ROI, as the paper) or ``"largest"``.
    Without ``venous_mask`` the arterial mask serves both phases: resampled (nearest neighbour) into
    the venous grid when the grids differ, which the diagnostics say.

    ``params``: a shipped parameter set (``prime_paper``, ``prime_quick``), a PyRadiomics YAML file or
    dict. ``features``: the columns a model needs (feature-on-demand); ``None`` computes everything
    the parameters enable. ``workers``: at most that many processes (``None``: as many as the free
    cores and memory allow, see ``parallel.choose_workers``); 2 runs the two phases side by side, more
    also split a large tumour's phase across processes; a large tumour's shape, when a mesh diameter
    is asked for, may get one process more (``parallel.PhaseRunner._split``). ``progress`` gets
    ``(fraction, message)`` and may answer ``False`` to cancel (:class:`PRIMECancelled`).
    """
    started = time.perf_counter()
    params = load_params(params)
    plans = (
        plan_features(params, features) if features is not None else dict.fromkeys(PHASES, plan_full(params))
    )
    needed = [phase for phase in PHASES if plans[phase] is not None]
    images = {"arterial": arterial_image, "venous": venous_image}
    shared = venous_mask is None or venous_mask is arterial_mask
    masks = {"arterial": arterial_mask, "venous": arterial_mask if shared else venous_mask}
    roi_cache: dict[str, tuple[sitk.Image, int]] = {}
    prepared: dict[str, _PreparedPhase] = {}
    workers = choose_workers(workers, phases=len(needed))
    with PhaseRunner(workers, phases=len(needed), progress=progress, start=0.1, span=0.85) as runner:
        for index, phase in enumerate(needed):
            report(
                progress,
                max(0.1 * index / len(needed), runner.fraction if index else 0.0),
                f"Checking the {phase} image and mask",
            )
            mask_field = "arterial mask" if shared else f"{phase} mask"
            # Geometry from the image's header before its voxels are read (the header itself, a mask off
            # its grid, a feature grid too large for memory).
            header = image_header(images[phase], field=f"{phase} image")
            if mask_field not in roi_cache:
                roi_cache[mask_field] = _load_roi(masks[phase], mask_field, label, segment, lesions)
            roi, lesion_count = roi_cache[mask_field]
            check_roi_geometry(
                header,
                roi,
                params.settings,
                mask_field=mask_field,
                image_field=f"{phase} image",
                resample=shared and phase == "venous",
            )
            image = load_image(images[phase], field=f"{phase} image")
            check_volume(image, field=f"{phase} image")
            mask, note = fit_to_grid(
                roi,
                image,
                mask_field=mask_field,
                image_field=f"{phase} image",
                resample=shared and phase == "venous",
            )
            prepared[phase] = _prepare(image, mask, params, plans[phase], phase=phase)
            prepared[phase].diagnostics.update(
                {
                    f"{phase}_mask": note or f"{mask_field} on the {phase} image grid",
                    f"{phase}_lesions": lesion_count,
                    f"{phase}_lesion_choice": lesions,
                }
            )
            del image, mask  # keep only the crop: the whole CT is freed before the next phase loads
            runner.submit(prepared[phase].job)
            runner.poll()
        roi_cache.clear()
        # Shape depends on the ROI only: computed here (while workers filter), once per distinct ROI.
        shapes = _shapes(prepared, progress, runner)
        results = runner.results()
        workers = runner.processes  # the processes that worked (a small tumour needs no split)
    values = _assemble(results, shapes, features)
    diagnostics = _case_diagnostics(params, features, workers, started)
    warnings: list[str] = []
    for phase in needed:
        diagnostics.update(prepared[phase].diagnostics)
        warnings += prepared[phase].warnings
    diagnostics["warnings"] = warnings
    report(progress, 1.0, "Radiomics done")
    return CaseFeatures(values, diagnostics, warnings)


def extract_phase(
    image: ImageSource,
    mask: ImageSource,
    params: str | Path | dict | RadiomicsParams = "prime_paper",
    *,
    phase: str,
    features: Sequence[str] | None = None,
    label: int | None = None,
    segment: str | None = None,
    lesions: str = "all",
    progress: ProgressCallback | None = None,
) -> CaseFeatures:
    """One phase's features (columns ``<phase>_<name>``); the mask must be on the image's grid."""
    if phase not in PHASES:
        raise PRIMEInputError(f"Unknown phase '{phase}'.", field="phase", value=phase, expected=str(PHASES))
    started = time.perf_counter()
    params = load_params(params)
    if features is not None:
        features = list(features)
        other = [c for c in features if not c.startswith(f"{phase}_")]
        if other:
            raise PRIMEInputError(
                f"Columns of another phase were asked of the {phase} phase: {other[:5]}.",
                field="features",
                value=other,
                expected=f"columns starting with '{phase}_'",
            )
    plan = plan_features(params, features)[phase] if features is not None else plan_full(params)
    report(progress, 0.0, f"Checking the {phase} image and mask")
    header = image_header(image, field=f"{phase} image")
    roi, lesion_count = _load_roi(mask, f"{phase} mask", label, segment, lesions)
    check_roi_geometry(
        header, roi, params.settings, mask_field=f"{phase} mask", image_field=f"{phase} image", resample=False
    )
    loaded = load_image(image, field=f"{phase} image")
    check_volume(loaded, field=f"{phase} image")
    fitted, note = fit_to_grid(
        roi, loaded, mask_field=f"{phase} mask", image_field=f"{phase} image", resample=False
    )
    prepared = _prepare(loaded, fitted, params, plan, phase=phase)
    del loaded, fitted
    with PhaseRunner(1, progress=progress, start=0.1, span=0.85) as runner:
        runner.submit(prepared.job)
        shapes = _shapes({phase: prepared}, progress, runner)
        results = runner.results()
    values = _assemble(results, shapes, features)
    diagnostics = _case_diagnostics(params, features, 1, started)
    diagnostics.update(prepared.diagnostics)
    diagnostics.update({f"{phase}_mask": note or "on the image grid", f"{phase}_lesions": lesion_count})
    diagnostics["warnings"] = prepared.warnings
    report(progress, 1.0, "Radiomics done")
    return CaseFeatures(values, diagnostics, list(prepared.warnings))


def _load_roi(source, field_name: str, label, segment, lesions) -> tuple[sitk.Image, int]:
    mask = load_roi(source, label=label, segment=segment, field=field_name)
    check_volume(mask, field=field_name)
    return select_lesions(mask, lesions)


def _prepare(
    image: sitk.Image, mask: sitk.Image, params: RadiomicsParams, plan: PhasePlan, *, phase: str
) -> _PreparedPhase:
    """Check one phase and cut what its extraction needs out of the whole image."""
    settings = params.settings
    stats = ImageStatistics.of(image)
    warnings = check_intensities(
        image, stats, field=f"{phase} image", normalize=bool(settings.get("normalize", False))
    )
    whole_image_filtered = not params.resamples and not settings.get("preCrop", False)
    margin = (
        filter_margin_voxels(plan.image_types, settings, image.GetSpacing()) if whole_image_filtered else 0
    )
    crop_plan = plan_crop(image, mask, settings, margin, field=f"{phase} mask")
    if crop_plan.interpolate:
        on_grid = crop_plan.grid.resample(mask, sitk.sitkNearestNeighbor)
    else:
        on_grid = crop(mask, crop_plan)
    roi_on_grid = check_roi_size(on_grid, field=f"{phase} mask", settings=settings)
    job = PhaseJob(
        phase=phase,
        image_crop=crop(image, crop_plan),
        mask=on_grid,
        crop=crop_plan,
        normalisation=stats.normalisation(settings),
        params=params,
        plan=plan,
        # With resegmentation the ROI depends on intensities: shape is then the phase job's.
        compute_shape=settings.get("resegmentRange") is not None,
    )
    roi_voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    diagnostics = {
        f"{phase}_image_size": list(image.GetSize()),
        f"{phase}_image_spacing_mm": [round(s, 6) for s in image.GetSpacing()],
        f"{phase}_image_min": stats.minimum,
        f"{phase}_image_max": stats.maximum,
        f"{phase}_roi_voxels": roi_voxels,
        f"{phase}_roi_volume_ml": roi_voxels * math.prod(image.GetSpacing()) / 1000.0,
        f"{phase}_feature_grid_spacing_mm": [round(s, 6) for s in crop_plan.grid.spacing],
        f"{phase}_feature_grid_size": list(crop_plan.grid.size),
        f"{phase}_roi_voxels_on_feature_grid": roi_on_grid,
        f"{phase}_crop_index": list(crop_plan.index),
        f"{phase}_crop_size": list(crop_plan.size),
        f"{phase}_normalisation_mean": job.normalisation.mean if job.normalisation else None,
        f"{phase}_normalisation_sigma": job.normalisation.sigma if job.normalisation else None,
    }
    return _PreparedPhase(job, diagnostics, warnings)


def _shapes(
    prepared: dict[str, _PreparedPhase], progress: ProgressCallback | None, runner: PhaseRunner
) -> dict[str, dict[str, float]]:
    """Shape features per phase, computed once per distinct ROI (same grid, same voxels)."""
    done: list[tuple[str, PhaseJob, dict[str, float]]] = []
    shapes: dict[str, dict[str, float]] = {}
    for phase, item in prepared.items():
        job = item.job
        if not job.plan.needs_shape or job.compute_shape:
            continue
        twin = next(((p, values) for p, other, values in done if _same_roi(job, other)), None)
        if twin is not None:
            shapes[phase] = twin[1]
            item.diagnostics[f"{phase}_shape"] = (
                f"computed once with the {twin[0]} phase: same ROI, same grid"
            )
            continue
        # The union of what every phase with this ROI asks for: one computation serves them all.
        classes = _union_shape_classes(
            [i.job.plan.shape_classes for i in prepared.values() if _same_roi(job, i.job)]
        )
        report(progress, runner.fraction, f"{phase}: shape")
        values = runner.compute_shape(job.mask, classes, job.params.settings, phase=phase)
        done.append((phase, job, values))
        shapes[phase] = values
        runner.poll()
    return shapes


def _same_roi(a: PhaseJob, b: PhaseJob) -> bool:
    return a.crop.grid == b.crop.grid and np.array_equal(
        sitk.GetArrayViewFromImage(a.mask), sitk.GetArrayViewFromImage(b.mask)
    )


def _shape_names(shape_classes: dict) -> list[str]:
    names = []
    for cls, features in shape_classes.items():
        names += [f"original_{cls}_{f}" for f in features] if features is not None else []
    return names


def _union_shape_classes(requests: list[dict]) -> dict[str, tuple[str, ...] | None]:
    union: dict[str, tuple[str, ...] | None] = {}
    for request in requests:
        for cls, names in request.items():
            if cls not in union:
                union[cls] = names
            elif union[cls] is None or names is None:
                union[cls] = None  # every feature of the class
            else:
                union[cls] = tuple(dict.fromkeys((*union[cls], *names)))
    return union


def _assemble(
    results: dict[str, dict[str, float]],
    shapes: dict[str, dict[str, float]],
    features: Sequence[str] | None,
) -> dict[str, float]:
    row: dict[str, float] = {}
    for phase in PHASES:
        if phase not in results:
            continue
        # PyRadiomics' order: shape first, then each image's classes.
        for name, value in {**shapes.get(phase, {}), **results[phase]}.items():
            row[f"{phase}_{name}"] = value
    if features is None:
        return row
    missing = [column for column in features if column not in row]
    if missing:
        raise PRIMEInputError(
            f"PyRadiomics did not produce {len(missing)} requested columns: {missing[:5]}.",
            field="features",
            value=missing,
            hint="An image may be too small for a filter (see PyRadiomics' log).",
        )
    return {column: row[column] for column in dict.fromkeys(features)}


def library_versions() -> dict[str, str]:
    """Versions of everything that decides feature values."""
    import pywt
    import radiomics

    from PRIMELib import __version__

    return {
        "versions_primelib": __version__,
        "versions_pyradiomics": str(radiomics.__version__),
        "versions_simpleitk": sitk.Version_VersionString(),
        "versions_numpy": np.__version__,
        "versions_pywavelets": pywt.__version__,
        "versions_python": platform.python_version(),
    }


def _case_diagnostics(
    params: RadiomicsParams, features: Sequence[str] | None, workers: int, started: float
) -> dict[str, object]:
    return {
        **library_versions(),
        "params": params.name,
        "params_sha256": params.source_sha256,
        "settings_sha256": params.settings_sha256,
        "extraction": "full" if features is None else f"on demand ({len(list(features))} features)",
        "workers": workers,
        "seconds": round(time.perf_counter() - started, 3),
    }
