"""The classical engine on phantoms with known truth: accuracy (Dice), prompts, geometry, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from PRIMELib.errors import PRIMECancelled, PRIMEInputError
from PRIMELib.segmentation import (
    BoxPrompt,
    ClassicalSettings,
    PRIMEEngineUnavailable,
    SegmentationResult,
    lps_from_ras,
    segment_tumour,
)
from PRIMELib.segmentation.phantoms import make_tumour_phantom, phantom_diameters

PHANTOM_COUNT = 20


def dice(a: sitk.Image, b: sitk.Image) -> float:
    x = sitk.GetArrayViewFromImage(a).astype(bool)
    y = sitk.GetArrayViewFromImage(b).astype(bool)
    return 2.0 * float((x & y).sum()) / float(x.sum() + y.sum())


@pytest.fixture(scope="module")
def phantoms():
    """20 phantoms, 2–15 cm, one seed each (deterministic)."""
    return [make_tumour_phantom(d, seed=i) for i, d in enumerate(phantom_diameters(PHANTOM_COUNT))]


@pytest.fixture(scope="module")
def box_results(phantoms):
    return [segment_tumour(p.arterial, box=p.box) for p in phantoms]


def test_box_prompt_median_dice_over_20_phantoms_is_at_least_0_85(phantoms, box_results, capsys):
    scores = np.array([dice(r.mask, p.truth) for p, r in zip(phantoms, box_results, strict=True)])
    diameters = [p.diameter_mm for p in phantoms]
    with capsys.disabled():
        print(f"\nClassical engine, box prompt, {len(scores)} phantoms (diameter mm: Dice):")
        print("  " + ", ".join(f"{d:.0f}: {s:.3f}" for d, s in zip(diameters, scores, strict=True)))
        print(
            f"  median {np.median(scores):.3f}, min {scores.min():.3f}, max {scores.max():.3f}, "
            f"mean time {np.mean([r.seconds for r in box_results]):.2f} s"
        )
    assert len(scores) >= 20
    assert min(diameters) <= 20.0 and max(diameters) >= 150.0
    assert np.median(scores) >= 0.85
    assert scores.min() >= 0.75, "no phantom should fail outright"


def test_results_lie_on_the_arterial_grid_and_say_what_was_estimated(phantoms, box_results):
    phantom, result = phantoms[10], box_results[10]
    assert isinstance(result, SegmentationResult)
    assert result.engine == "classical" and not result.fallback
    assert result.mask.GetPixelID() == sitk.sitkUInt8
    assert result.mask.GetSize() == phantom.arterial.GetSize()
    assert result.mask.GetOrigin() == phantom.arterial.GetOrigin()
    assert result.details["polarity"] == "bright"
    assert result.details["liver_hu"] < result.details["threshold_hu"] < result.details["tumour_hu"]
    truth_ml = sitk.GetArrayViewFromImage(phantom.truth).sum() * np.prod(phantom.truth.GetSpacing()) / 1000
    assert result.volume_ml == pytest.approx(truth_ml, rel=0.15)
    summary = json.loads(json.dumps(result.to_dict()))  # JSON-ready (stored in the segment's tags)
    assert summary["engine"] == "classical" and summary["volume_ml"] > 0


def test_mask_stays_within_the_box_plus_its_tolerance(phantoms, box_results):
    for phantom, result in zip(phantoms[::5], box_results[::5], strict=True):
        grown = phantom.box.grown(ClassicalSettings().box_tolerance_mm + 1e-3)
        indices = np.argwhere(sitk.GetArrayViewFromImage(result.mask))[:, ::-1]
        points = np.array(
            [result.mask.TransformIndexToPhysicalPoint([int(v) for v in ijk]) for ijk in indices]
        )
        assert grown.contains_lps(points).all()


def test_single_seed_without_a_box_grows_the_whole_tumour(phantoms, capsys):
    chosen = phantoms[::4]  # 20 mm to 135 mm
    scores = [dice(segment_tumour(p.arterial, seeds_lps=p.seeds_lps[:1]).mask, p.truth) for p in chosen]
    with capsys.disabled():
        print("\nClassical engine, one seed, no box: Dice " + ", ".join(f"{s:.3f}" for s in scores))
    assert np.median(scores) >= 0.85


def test_box_and_seeds_together(phantoms):
    phantom = phantoms[6]
    result = segment_tumour(phantom.arterial, box=phantom.box, seeds_lps=phantom.seeds_lps)
    assert dice(result.mask, phantom.truth) >= 0.85


def test_small_washed_out_lesions_segment_on_the_venous_phase_with_dark_polarity(phantoms, capsys):
    """Dark polarity works for small venous wash-out lesions (2–3.5 cm here). Large or necrotic ones have
    too little venous contrast for it (the venous ROI is carried from the arterial phase instead)."""
    scores = []
    for phantom in phantoms[:6]:
        result = segment_tumour(phantom.venous, box=phantom.box, classical=ClassicalSettings(polarity="dark"))
        assert result.details["polarity"] == "dark"
        scores.append(dice(result.mask, phantom.venous_truth))
    with capsys.disabled():
        print(
            "\nClassical engine, venous phase, dark polarity: Dice " + ", ".join(f"{s:.3f}" for s in scores)
        )
    assert np.median(scores) >= 0.8


def test_auto_polarity_prefers_the_enhancing_lesion(phantoms):
    phantom = phantoms[13]
    result = segment_tumour(phantom.arterial, box=phantom.box, classical=ClassicalSettings(polarity="auto"))
    assert result.details["polarity"] == "bright"


def test_ras_box_from_a_slicer_roi_equals_the_lps_box(phantoms):
    phantom = phantoms[3]
    centre_ras = lps_from_ras(phantom.box.center_lps)  # the same flip both ways
    from_ras = BoxPrompt.from_ras(centre_ras, phantom.box.size_mm)
    assert from_ras == phantom.box
    assert np.allclose(centre_ras[:2], -np.asarray(phantom.box.center_lps[:2]))


def test_image_with_flipped_axes_gives_the_same_mask(phantoms, box_results):
    """A volume stored with direction diag(-1, -1, 1) (as many DICOM series are) covers the same space."""
    phantom, expected = phantoms[8], box_results[8]

    def flipped(image):
        result = sitk.Flip(image, [True, True, False], flipAboutOrigin=False)
        return result

    arterial = flipped(phantom.arterial)
    assert arterial.GetDirection()[0] == -1.0
    result = segment_tumour(arterial, box=phantom.box)
    back = sitk.Resample(result.mask, phantom.arterial, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    assert dice(back, expected.mask) >= 0.99


def test_box_outside_the_image_is_a_clear_error(phantoms):
    phantom = phantoms[0]
    far = BoxPrompt((500.0, 500.0, 500.0), (30.0, 30.0, 30.0))
    with pytest.raises(PRIMEInputError, match="box lies outside the image") as caught:
        segment_tumour(phantom.arterial, box=far)
    assert caught.value.field == "box"
    assert "centred on the tumour" in str(caught.value)


def test_box_on_plain_liver_finds_no_tumour():
    """A box over liver only: an error that says so (not an empty or random mask)."""
    rng = np.random.default_rng(3)
    liver = sitk.GetImageFromArray((70 + rng.normal(0, 15, size=(20, 60, 60))).astype(np.int16))
    liver.SetSpacing((1.0, 1.0, 2.5))
    with pytest.raises(PRIMEInputError, match="does not stand out") as caught:
        segment_tumour(liver, box=BoxPrompt((30.0, 30.0, 25.0), (30.0, 30.0, 20.0)))
    assert caught.value.field == "box"
    with pytest.raises(PRIMEInputError, match=r"does not stand out|No tumour was found"):
        segment_tumour(liver, seeds_lps=[(30.0, 30.0, 25.0)])


def test_seeds_outside_the_image_and_no_prompt_are_clear_errors(phantoms):
    phantom = phantoms[0]
    with pytest.raises(PRIMEInputError, match="lie outside the image"):
        segment_tumour(phantom.arterial, seeds_lps=[(900.0, 0.0, 0.0)])
    with pytest.raises(PRIMEInputError, match="Neither a box nor seed points"):
        segment_tumour(phantom.arterial)
    with pytest.raises(PRIMEInputError, match="Unknown segmentation engine"):
        segment_tumour(phantom.arterial, box=phantom.box, engine="magic")
    with pytest.raises(PRIMEInputError, match="Unknown polarity"):
        segment_tumour(phantom.arterial, box=phantom.box, classical=ClassicalSettings(polarity="grey"))


def test_a_2d_image_is_refused(phantoms):
    with pytest.raises(PRIMEInputError, match="3D scalar CT"):
        segment_tumour(phantoms[0].arterial[:, :, 5], box=phantoms[0].box)


def test_progress_reaches_one_and_cancel_stops(phantoms):
    phantom = phantoms[2]
    fractions = []
    segment_tumour(phantom.arterial, box=phantom.box, progress=lambda f, m: fractions.append(f))
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    with pytest.raises(PRIMECancelled):
        segment_tumour(phantom.arterial, box=phantom.box, progress=lambda f, m: f < 0.2)


def test_medsam_without_torch_or_weights_falls_back_when_asked(phantoms, tmp_path, monkeypatch):
    """Offline (no cached weights, downloads refused): MedSAM says why; the fallback still segments."""
    from PRIMELib.segmentation.medsam import MedSAMSettings

    monkeypatch.setenv("PRIME_OFFLINE", "1")
    phantom = phantoms[4]
    settings = MedSAMSettings(cache_dir=tmp_path)
    with pytest.raises(PRIMEEngineUnavailable) as caught:
        segment_tumour(phantom.arterial, box=phantom.box, engine="medsam", medsam=settings)
    assert "classical engine" in str(caught.value)
    result = segment_tumour(
        phantom.arterial, box=phantom.box, engine="medsam", medsam=settings, fallback_to_classical=True
    )
    assert result.fallback and result.engine == "classical"
    assert "MedSAM could not run" in result.warnings[0]
    assert dice(result.mask, phantom.truth) >= 0.8
