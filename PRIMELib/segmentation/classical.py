"""The classical engine: an initial tumour mask from a box or seeds, with no weights, on the CPU.

Tuned for hepatocellular carcinoma on the arterial phase, which enhances above the liver around it.
Within the box:

1. smooth the CT (Gaussian, ``smoothing_mm``);
2. estimate the two intensities: liver from the box's corners (outside the inscribed ellipsoid, where a
   box drawn around a roundish lesion holds background), tumour from the seeds' neighbourhoods or from
   the voxels of the box's centre that stand out from liver (brighter by default: ``polarity``);
3. keep voxels on the tumour's side of the midpoint (the 50 % partial-volume level) and not far beyond
   the tumour (which drops enhancing arteries and, for dark lesions, fat);
4. open (cut thin bridges to vessels), keep the component at the seeds or the box's centre, close,
   fill holes (a necrotic core is tumour), smooth, clip to the box;
5. re-estimate both intensities from the first mask (tumour inside it, liver in a shell around it)
   and repeat 3–4 once: the shell is a better liver sample than the box's corners.

With seeds only, the search box starts ``seed_margin_mm`` around the seeds and grows while the mask
touches its faces (up to ``max_search_mm``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.segmentation.postprocess import PostProcessing, postprocess_mask
from PRIMELib.segmentation.prompts import BoxPrompt, IndexRegion, box_index_region, seed_indices


@dataclass(frozen=True)
class ClassicalSettings:
    """Settings of the classical engine (lengths in mm).

    polarity: ``"bright"`` (arterially enhancing lesion), ``"dark"`` (hypo-attenuating, e.g. the venous
    phase's wash-out) or ``"auto"`` (decided from the box's centre, preferring bright).
    """

    polarity: str = "bright"
    smoothing_mm: float = 1.0
    box_tolerance_mm: float = 2.0
    opening_mm: float = 2.0
    closing_mm: float = 2.0
    surface_smoothing_mm: float = 0.0
    refine: bool = True
    seed_margin_mm: float = 25.0
    max_search_mm: float = 220.0
    min_contrast_sd: float = 2.0
    postprocessing: PostProcessing = field(default_factory=PostProcessing)


@dataclass
class _Crop:
    """The part of the image the engine works on, with per-voxel box coordinates."""

    region: IndexRegion
    image: sitk.Image  # smoothed, float32
    values: np.ndarray  # (k, j, i) smoothed intensities
    box_radius: np.ndarray  # ellipsoidal radius in box units (1 on the inscribed ellipsoid)
    box_extent: np.ndarray  # largest |coordinate| in box units (1 on the box's faces)
    in_box: np.ndarray  # inside the box plus the tolerance
    seeds: np.ndarray  # seed indices (i, j, k) within the crop


def segment_classical(
    image: sitk.Image,
    *,
    box: BoxPrompt | None = None,
    seeds_lps=None,
    settings: ClassicalSettings | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[sitk.Image, dict]:
    """A binary uint8 tumour mask on ``image``'s grid, and a dict of what the engine estimated.

    ``box``: an LPS box around the tumour; ``seeds_lps``: (n, 3) LPS points inside it. At least one.
    """
    settings = settings or ClassicalSettings()
    if settings.polarity not in {"bright", "dark", "auto"}:
        raise PRIMEInputError(
            f"Unknown polarity {settings.polarity!r}.",
            field="polarity",
            value=settings.polarity,
            expected="'bright', 'dark' or 'auto'",
        )
    seeds = np.zeros((0, 3)) if seeds_lps is None else np.atleast_2d(np.asarray(seeds_lps, dtype=float))
    if box is None and len(seeds) == 0:
        raise PRIMEInputError(
            "Neither a box nor seed points were given.",
            field="prompt",
            expected="a box around the tumour, seed points inside it, or both",
            hint="Place an ROI box (or seed points) on the tumour in the arterial phase.",
        )
    if len(seeds):
        seed_indices(image, seeds)  # seeds outside the image: a clear error now
    if box is not None:
        report(progress, 0.05, "Segmenting the tumour in the box")
        mask, details = _segment_in_box(image, box, seeds, settings, progress)
        details.pop("levels")
        details["search_box"] = {"center_lps": box.center_lps, "size_mm": box.size_mm}
        return mask, details
    margin = settings.seed_margin_mm
    levels = None
    while True:
        search_box = BoxPrompt.around_points_lps(seeds, margin)
        report(progress, 0.05, f"Growing from the seeds within {max(search_box.size_mm):.0f} mm")
        mask, details = _segment_in_box(
            image, search_box, seeds, settings, progress, seeds_only=True, prior=levels
        )
        levels = details.pop("levels")
        too_big = max(search_box.size_mm) * 1.5 > settings.max_search_mm
        if levels is None and too_big:
            _raise_low_contrast(_Levels("bright", np.nan, np.nan, np.nan, np.nan), settings)
        if not details["touches_box_faces"] or too_big:
            details["search_box"] = {"center_lps": search_box.center_lps, "size_mm": search_box.size_mm}
            if details["touches_box_faces"]:
                details["warnings"].append("The tumour reaches the largest search box; check its extent.")
            return mask, details
        # The mask reaches the search box's faces: a larger box, starting from the levels found so far.
        margin = margin * 1.5


@dataclass(frozen=True)
class _Levels:
    """The two intensities the engine separates (smoothed HU) and the lesion's polarity."""

    polarity: str
    liver: float
    liver_sd: float
    tumour: float
    tumour_sd: float

    @property
    def threshold(self) -> float:
        return (self.liver + self.tumour) / 2


def _segment_in_box(image, box, seeds_lps, settings, progress, seeds_only=False, prior=None):
    _check_image(image)
    tolerance = settings.box_tolerance_mm
    context = max(tolerance, 2 * max(image.GetSpacing()))
    crop = _crop(image, box, tolerance, context, seeds_lps, settings)
    details: dict = {"warnings": []}

    report(progress, 0.3, "Thresholding at the tumour-liver midpoint")
    levels = prior if prior is not None else _first_levels(crop, settings, seeds_only)
    if levels is None:
        # Seeds without a clean liver sample (the search box is all tumour, or leaves the image): a first
        # mask from the seeds' own statistics; the refinement below finds the liver around it.
        seed_level, seed_sd = _robust_stats(_seed_neighbourhood(crop.values, crop.seeds))
        seed_sd = max(seed_sd, 5.0)
        polarity = "dark" if settings.polarity == "dark" else "bright"
        step = -5.0 * seed_sd if polarity == "bright" else 5.0 * seed_sd
        levels = _Levels(polarity, seed_level + step, seed_sd, seed_level, seed_sd)
        pseudo = True
    else:
        pseudo = False
    mask = _threshold_and_clean(crop, levels, settings)
    passes = 1
    if settings.refine and mask.any():
        report(progress, 0.6, "Refining with the first mask's statistics")
        refined_levels = _statistics_around(crop, mask, levels.polarity)
        # Accept the refinement only if it still tells the same two tissues apart (the tumour level
        # stays on the tumour's side of the first threshold).
        same_side = (refined_levels.tumour - levels.threshold) * (levels.tumour - levels.threshold) > 0
        if same_side and _contrast_ok(refined_levels, settings):
            refined = _threshold_and_clean(crop, refined_levels, settings)
            if refined.any():
                mask, levels, passes, pseudo = refined, refined_levels, 2, False
    touches_faces = bool((mask & (crop.box_extent >= 0.97)).any())
    if pseudo and mask.any() and not (seeds_only and touches_faces):
        # The seeds' level was never set against a real liver sample: nothing stands out. (A mask
        # that fills the search box gets a larger box first.)
        _raise_low_contrast(_statistics_around(crop, mask, levels.polarity), settings)
    if not mask.any():
        raise PRIMEInputError(
            "No tumour was found in the box: no region at the seeds or the box's centre differs from the "
            f"liver around it (liver about {levels.liver:.0f} HU, tumour estimate {levels.tumour:.0f} HU).",
            field="box",
            value={"center_lps": box.center_lps, "size_mm": box.size_mm},
            expected="a box centred on the tumour, or seed points inside its enhancing part",
            hint="Centre the box on the lesion in the arterial phase, add seeds, or try polarity 'dark'.",
        )
    details.update(
        polarity=levels.polarity,
        liver_hu=round(levels.liver, 1),
        tumour_hu=round(levels.tumour, 1),
        threshold_hu=round(levels.threshold, 1),
        noise_sd_hu=round(levels.liver_sd, 1),
        passes=passes,
        touches_box_faces=touches_faces,
        levels=None if pseudo else levels,
    )
    report(progress, 0.95, "Placing the mask on the image grid")
    return _paste(image, crop.region, mask), details


def _first_levels(crop, settings, seeds_only) -> _Levels | None:
    """Levels from the box's corners (liver) and the seeds or the box's centre (tumour).

    None when only seeds were given and the search box holds no usable liver sample.
    """
    if seeds_only:
        background = crop.in_box & (crop.box_extent > 0.8)  # the search box's outer shell
    else:
        background = crop.in_box & (crop.box_radius > 1.05)  # the box's corners
    if background.sum() < 20:
        background = crop.in_box & (crop.box_extent > 0.8)
    liver, liver_sd = _robust_stats(crop.values[background])
    tumour_sample = _seed_neighbourhood(crop.values, crop.seeds) if len(crop.seeds) else None
    polarity, tumour, tumour_sd = _tumour_statistics(crop, tumour_sample, liver, liver_sd, settings.polarity)
    levels = _Levels(polarity, liver, liver_sd, tumour, tumour_sd)
    if _contrast_ok(levels, settings):
        return levels
    if tumour_sample is not None:
        wrong_side = (liver - tumour) if polarity == "bright" else (tumour - liver)
        if np.isfinite(wrong_side) and wrong_side >= settings.min_contrast_sd * liver_sd:
            lighter = "darker" if polarity == "bright" else "brighter"
            raise PRIMEInputError(
                f"The seed points are {lighter} than the tissue around them (seeds about {tumour:.0f} HU, "
                f"surroundings about {liver:.0f} HU): they may be in a necrotic core or a vessel.",
                field="seeds",
                expected="seeds on the enhancing part of the tumour (polarity 'bright')"
                if polarity == "bright"
                else "seeds on the washed-out part of the tumour (polarity 'dark')",
                hint="Move the seeds onto the tumour's enhancing rim, or draw a box around the tumour.",
            )
        return None
    _raise_low_contrast(levels, settings)
    return None


def _check_image(image: sitk.Image) -> None:
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise PRIMEInputError(
            f"The image has {image.GetDimension()} dimensions and "
            f"{image.GetNumberOfComponentsPerPixel()} components per voxel.",
            field="arterial image",
            expected="a 3D scalar CT volume",
        )


def _crop(image, box, tolerance, context, seeds_lps, settings) -> _Crop:
    # Fails clearly when the box misses the image; the working region adds context around it.
    box_index_region(image, box)
    region = box_index_region(image, box.grown(context))
    cropped = sitk.RegionOfInterest(image, region.size, region.start)
    smoothed = sitk.Cast(cropped, sitk.sitkFloat32)
    if settings.smoothing_mm > 0:
        smoothed = sitk.SmoothingRecursiveGaussian(smoothed, settings.smoothing_mm)
    values = sitk.GetArrayFromImage(smoothed)
    points = _physical_points(smoothed)
    relative = (points - np.asarray(box.center_lps)) / (np.asarray(box.size_mm) / 2)
    box_radius = np.sqrt(np.sum(relative**2, axis=-1))
    half_with_tolerance = (np.asarray(box.size_mm) / 2 + tolerance) / (np.asarray(box.size_mm) / 2)
    in_box = np.all(np.abs(relative) <= half_with_tolerance, axis=-1)
    box_extent = np.max(np.abs(relative), axis=-1)
    seeds = np.zeros((0, 3), dtype=int)
    if len(seeds_lps):
        seeds = seed_indices(image, seeds_lps) - np.asarray(region.start)
        inside = np.all((seeds >= 0) & (seeds < np.asarray(region.size)), axis=1)
        seeds = seeds[inside]
    return _Crop(region, smoothed, values, box_radius, box_extent, in_box, seeds)


def _physical_points(image: sitk.Image) -> np.ndarray:
    """Physical LPS coordinates of every voxel centre, shape (k, j, i, 3)."""
    size = image.GetSize()
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in reversed(size)), indexing="ij")
    index = np.stack([i, j, k], axis=-1) * np.asarray(image.GetSpacing(), dtype=np.float32)
    direction = np.asarray(image.GetDirection(), dtype=np.float32).reshape(3, 3)
    return index @ direction.T + np.asarray(image.GetOrigin(), dtype=np.float32)


def _robust_stats(sample: np.ndarray) -> tuple[float, float]:
    """Median and standard deviation of the sample's main mode (MAD, then 3-sigma clipping twice).

    Clipping keeps a box corner's fat or a vessel from widening the liver's spread.
    """
    if sample.size == 0:
        return float("nan"), float("nan")
    median = float(np.median(sample))
    sd = max(1.4826 * float(np.median(np.abs(sample - median))), 1.0)
    for _ in range(2):
        kept = sample[np.abs(sample - median) <= 3.0 * sd]
        if kept.size < 10:
            break
        median = float(np.median(kept))
        sd = max(1.4826 * float(np.median(np.abs(kept - median))), 1.0)
    return median, sd


def _seed_neighbourhood(values: np.ndarray, seeds_ijk: np.ndarray) -> np.ndarray:
    samples = []
    for i, j, k in seeds_ijk:
        samples.append(values[max(k - 1, 0) : k + 2, max(j - 1, 0) : j + 2, max(i - 1, 0) : i + 2].ravel())
    return np.concatenate(samples)


def _tumour_statistics(crop, tumour_sample, liver_level, liver_sd, polarity):
    """(polarity, tumour level, tumour sd) from the seeds, else from the box's centre."""
    if tumour_sample is not None and tumour_sample.size:
        level, sd = _robust_stats(tumour_sample)
        chosen = polarity if polarity != "auto" else ("bright" if level >= liver_level else "dark")
        return chosen, level, sd
    centre = crop.in_box & (crop.box_radius < 0.7)
    values = crop.values[centre]
    bright = values[values > liver_level + 2.5 * liver_sd]
    dark = values[values < liver_level - 2.5 * liver_sd]
    if polarity == "auto":
        # Prefer bright (HCC enhances in the arterial phase; a necrotic core is dark inside it).
        polarity = "bright" if bright.size >= 0.5 * dark.size and bright.size > 0.05 * values.size else "dark"
    chosen = bright if polarity == "bright" else dark
    if chosen.size < 10:
        return polarity, liver_level, liver_sd
    level, sd = _tumour_level(chosen, polarity)
    return polarity, level, sd


def _contrast_ok(levels: _Levels, settings) -> bool:
    """The tumour stands out from the liver, on the polarity's side, by enough noise SDs."""
    values = np.array([levels.tumour, levels.liver, levels.liver_sd], dtype=float)
    contrast = levels.tumour - levels.liver if levels.polarity == "bright" else levels.liver - levels.tumour
    return bool(np.all(np.isfinite(values))) and contrast >= settings.min_contrast_sd * levels.liver_sd


def _raise_low_contrast(levels: _Levels, settings) -> None:
    if np.isfinite(levels.liver) and np.isfinite(levels.tumour):
        found = (
            f"(liver about {levels.liver:.0f} HU, the seeds or the box's centre about "
            f"{levels.tumour:.0f} HU, noise about {levels.liver_sd:.0f} HU)"
        )
    else:
        found = f"(no liver could be told apart from the tumour within {settings.max_search_mm:.0f} mm)"
    raise PRIMEInputError(
        f"The tumour does not stand out from the liver in the box {found}.",
        field="box",
        expected=f"a lesion at least {settings.min_contrast_sd:g} noise SDs brighter (or darker) than liver",
        hint="Check that the box is on the arterial phase and centred on the lesion; add seeds on its "
        "enhancing part, or draw this tumour by hand in the Segment Editor.",
    )


def _threshold_and_clean(crop, levels: _Levels, settings) -> np.ndarray:
    reach = max(3.0 * levels.tumour_sd, 0.75 * abs(levels.tumour - levels.liver))
    values = crop.values
    if levels.polarity == "bright":
        band = (values >= levels.threshold) & (values <= levels.tumour + reach)
    else:
        band = (values <= levels.threshold) & (values >= levels.tumour - reach)
    band &= crop.in_box
    seeds = crop.seeds
    if not len(seeds):
        seeds = _central_seeds(band, crop.box_radius)
    post = PostProcessing(
        fill_holes=settings.postprocessing.fill_holes,
        keep=settings.postprocessing.keep,
        min_island_mm3=settings.postprocessing.min_island_mm3,
        opening_mm=max(settings.opening_mm, settings.postprocessing.opening_mm),
        closing_mm=max(settings.closing_mm, settings.postprocessing.closing_mm),
        smoothing_mm=max(settings.surface_smoothing_mm, settings.postprocessing.smoothing_mm),
    )
    mask = _image_like(crop.image, band)
    cleaned = postprocess_mask(mask, post, seed_indices_ijk=seeds)
    result = sitk.GetArrayFromImage(cleaned).astype(bool) & crop.in_box
    if not result.any() and post.opening_mm > 0:
        # A small or thin lesion can vanish under the opening: try once without it.
        post = PostProcessing(**{**post.__dict__, "opening_mm": 0.0})
        cleaned = postprocess_mask(mask, post, seed_indices_ijk=seeds)
        result = sitk.GetArrayFromImage(cleaned).astype(bool) & crop.in_box
    return result


def _central_seeds(band: np.ndarray, box_radius: np.ndarray) -> np.ndarray:
    """Seed voxels (i, j, k) for a box without seeds: the band's voxels nearest the box's centre."""
    for limit in (0.35, 0.6, 0.85):
        kji = np.argwhere(band & (box_radius < limit))
        if len(kji):
            return kji[:, ::-1]
    return np.zeros((0, 3), dtype=int)


def _statistics_around(crop, mask: np.ndarray, polarity: str) -> _Levels:
    """Levels from a shell around ``mask`` (liver) and its inside (tumour)."""
    mask_image = _image_like(crop.image, mask)
    spacing = crop.image.GetSpacing()
    outer = sitk.BinaryDilate(mask_image, [max(1, round(6.0 / s)) for s in spacing], sitk.sitkBall)
    inner = sitk.BinaryDilate(mask_image, [max(1, round(2.0 / s)) for s in spacing], sitk.sitkBall)
    shell = sitk.GetArrayFromImage(outer).astype(bool) & ~sitk.GetArrayFromImage(inner).astype(bool)
    shell &= crop.in_box
    liver, liver_sd = _robust_stats(crop.values[shell])
    core = sitk.GetArrayFromImage(sitk.BinaryErode(mask_image, [1, 1, 1])).astype(bool)
    inside = crop.values[core if core.sum() > 20 else mask]
    # The tumour's enhancing (or washed-out) part: a necrotic core is not its level.
    side = inside > liver + 2.0 * liver_sd if polarity == "bright" else inside < liver - 2.0 * liver_sd
    tumour, tumour_sd = _tumour_level(inside[side] if side.sum() > 10 else inside, polarity)
    return _Levels(polarity, liver, liver_sd, tumour, tumour_sd)


def _tumour_level(sample: np.ndarray, polarity: str) -> tuple[float, float]:
    """A bright lesion's median; for a dark one the quartile nearest the liver, since a necrotic or
    cystic core is darker still than the washed-out tissue whose edge is sought."""
    level, sd = _robust_stats(sample)
    if polarity == "dark" and sample.size:
        level = float(np.percentile(sample, 75))
    return level, sd


def _image_like(reference: sitk.Image, array: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array.astype(np.uint8))
    image.CopyInformation(reference)
    return image


def _paste(image: sitk.Image, region: IndexRegion, mask: np.ndarray) -> sitk.Image:
    full = np.zeros(tuple(reversed(image.GetSize())), dtype=np.uint8)
    full[region.numpy_slices()] = mask.astype(np.uint8)
    result = sitk.GetImageFromArray(full)
    result.CopyInformation(image)
    return result
