"""`make bench`: box → tumour mask time on a realistic grid, and carrying the ROI to the venous phase.

Prints, for the 512 × 512 × 100 CT at 0.7 × 0.7 × 5 mm with a ~9 cm tumour (``synthetic_ct.py``):

- the classical engine from a box (as a Slicer ROI around the tumour): wall time (best and median of
  3 runs, after one warm-up) and Dice against the case's mask (goal: under 10 s);
- the classical engine from one seed point (no box);
- rigid registration of a venous phase moved by a known rigid transform, and the residual error over
  the ROI, then the resampled venous ROI;
- with ``--medsam`` (and torch installed): the MedSAM ViT-B per-slice time on this CPU with random
  weights (the time does not depend on the weights), and the estimate for this tumour's slices.

Usage: ``python Testing/bench/bench_segmentation.py [--medsam]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from synthetic_ct import make_case  # noqa: E402

from PRIMELib.segmentation import BoxPrompt, carry_roi_to_venous, segment_tumour  # noqa: E402


def dice(a: sitk.Image, b: sitk.Image) -> float:
    x = sitk.GetArrayViewFromImage(a).astype(bool)
    y = sitk.GetArrayViewFromImage(b).astype(bool)
    return 2.0 * float((x & y).sum()) / float(x.sum() + y.sum())


def user_box(mask: sitk.Image, margin_mm: float = 5.0) -> BoxPrompt:
    """The tumour's physical extent plus ``margin_mm`` per side (a box a user would draw)."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(mask)
    x, y, z, nx, ny, nz = stats.GetBoundingBox(1)
    low = np.asarray(mask.TransformIndexToPhysicalPoint((x, y, z)))
    high = np.asarray(mask.TransformIndexToPhysicalPoint((x + nx - 1, y + ny - 1, z + nz - 1)))
    half = np.asarray(mask.GetSpacing()) / 2
    return BoxPrompt.from_corners_lps(
        np.minimum(low, high) - half - margin_mm, np.maximum(low, high) + half + margin_mm
    )


def timed(function, repeats: int = 3):
    function()  # warm-up: imports, first-call allocations
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return result, min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--medsam", action="store_true", help="also time MedSAM ViT-B per slice (needs torch)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    case = make_case()
    size, spacing = case.arterial.GetSize(), case.arterial.GetSpacing()
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(case.mask)
    extent = max(stats.GetBoundingBox(1)[3 + i] * spacing[i] for i in range(3))
    print(
        f"case: {size[0]}x{size[1]}x{size[2]} voxels at {spacing[0]}x{spacing[1]}x{spacing[2]} mm, tumour "
        f"{extent / 10:.1f} cm across, {stats.GetPhysicalSize(1) / 1000:.0f} ml "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )

    box = user_box(case.mask)
    result, best, median = timed(lambda: segment_tumour(case.arterial, box=box))
    print(
        f"classical, box {box.size_mm[0]:.0f}x{box.size_mm[1]:.0f}x{box.size_mm[2]:.0f} mm -> mask: "
        f"best {best:.2f} s, median {median:.2f} s (goal < 10 s); Dice {dice(result.mask, case.mask):.3f}; "
        f"liver {result.details['liver_hu']} HU, tumour {result.details['tumour_hu']} HU"
    )

    # One seed click on the enhancing tumour nearest its centroid (the centre may be necrotic).
    centroid = np.asarray(stats.GetCentroid(1))
    arterial = sitk.GetArrayFromImage(sitk.SmoothingRecursiveGaussian(case.arterial, 1.5))
    interior = sitk.GetArrayViewFromImage(sitk.BinaryErode(case.mask, [4, 4, 1])) != 0
    enhancing = np.argwhere(interior & (arterial > 120))[::7, ::-1]
    points = np.array([case.mask.TransformIndexToPhysicalPoint([int(v) for v in ijk]) for ijk in enhancing])
    centre = points[np.argmin(np.linalg.norm(points - centroid, axis=1))]
    seeded, best, median = timed(lambda: segment_tumour(case.arterial, seeds_lps=[centre]), repeats=1)
    print(
        f"classical, one seed -> mask: {best:.2f} s; Dice {dice(seeded.mask, case.mask):.3f}; "
        f"search box {max(seeded.details['search_box']['size_mm']):.0f} mm"
    )

    motion = sitk.VersorRigid3DTransform()
    motion.SetCenter(tuple(float(c) for c in centre))
    motion.SetRotation((0.0, 0.0, 1.0), np.radians(2.0))
    motion.SetTranslation((3.0, -4.0, 5.0))
    venous = sitk.Resample(case.venous, case.venous, motion.GetInverse(), sitk.sitkLinear, -1000.0)
    venous_truth = sitk.Resample(case.mask, case.mask, motion.GetInverse(), sitk.sitkNearestNeighbor, 0)
    started = time.perf_counter()
    carried = carry_roi_to_venous(case.arterial, sitk.Cast(venous, sitk.sitkInt16), result.mask)
    seconds = time.perf_counter() - started
    indices = np.argwhere(sitk.GetArrayViewFromImage(case.mask))[::50, ::-1]
    points = [case.mask.TransformIndexToPhysicalPoint([int(v) for v in ijk]) for ijk in indices]
    errors = [
        np.linalg.norm(
            np.subtract(carried.registration.transform.TransformPoint(p), motion.TransformPoint(p))
        )
        for p in points
    ]
    print(
        f"carry to venous (rigid registration, motion 2 deg + (3, -4, 5) mm): {seconds:.2f} s; residual over "
        f"the ROI mean {np.mean(errors):.2f} mm, max {np.max(errors):.2f} mm; venous ROI Dice "
        f"{dice(carried.venous_mask, venous_truth):.3f}"
    )

    if args.medsam:
        bench_medsam(case, box)


def bench_medsam(case, box) -> None:
    try:
        import torch
    except ImportError:
        print("medsam: torch is not installed (pip install -e '.[medsam]'); skipped")
        return
    from PRIMELib.segmentation.medsam import MedSAMSettings, SamSlicePredictor, build_sam
    from PRIMELib.segmentation.prompts import box_index_region

    torch.manual_seed(0)
    started = time.perf_counter()
    model = build_sam()
    print(f"medsam: ViT-B built in {time.perf_counter() - started:.1f} s ({torch.get_num_threads()} threads)")
    predictor = SamSlicePredictor(model, MedSAMSettings(device="cpu"))
    region = box_index_region(case.arterial, box)
    volume = sitk.GetArrayViewFromImage(case.arterial)
    k = region.start[2] + region.size[2] // 2
    prompt = np.array([region.start[0], region.start[1], region.stop[0] - 1, region.stop[1] - 1], float)
    predictor.predict(np.asarray(volume[k], np.float32), prompt)  # warm-up
    started = time.perf_counter()
    predictor.predict(np.asarray(volume[k], np.float32), prompt)
    per_slice = time.perf_counter() - started
    print(
        f"medsam: {per_slice:.1f} s per slice on {predictor.device}; this tumour spans {region.size[2]} "
        f"slices -> about {per_slice * region.size[2]:.0f} s"
    )


if __name__ == "__main__":
    main()
