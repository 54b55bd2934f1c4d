"""ROIs: Slicer .seg.nrrd segments, label choice, lesion choice, one mask for two phases."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics_phantoms import image_like, small_case

from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics import extract_case
from PRIMELib.radiomics.masks import load_roi, segments_of, select_lesions

QUICK = "prime_quick"


def write_segmentation(
    path, layers: list[np.ndarray], segments: list[dict], reference: sitk.Image, offset=(0, 0, 0)
):
    """A .seg.nrrd as Slicer writes it: one component per layer, SegmentN_* keys in the header."""
    images = [sitk.GetImageFromArray(layer.astype(np.uint8)) for layer in layers]
    seg = images[0] if len(images) == 1 else sitk.Compose(images)
    seg.SetSpacing(reference.GetSpacing())
    seg.SetDirection(reference.GetDirection())
    seg.SetOrigin(reference.TransformIndexToPhysicalPoint([int(o) for o in offset]))
    seg.SetMetaData("Segmentation_MasterRepresentation", "Binary labelmap")
    seg.SetMetaData("Segmentation_ReferenceImageExtentOffset", " ".join(str(o) for o in offset))
    for index, segment in enumerate(segments):
        seg.SetMetaData(f"Segment{index}_ID", segment["id"])
        seg.SetMetaData(f"Segment{index}_Name", segment["name"])
        seg.SetMetaData(f"Segment{index}_LabelValue", str(segment["label"]))
        seg.SetMetaData(f"Segment{index}_Layer", str(segment["layer"]))
        seg.SetMetaData(f"Segment{index}_Color", "0.5 0.7 0.5")
    sitk.WriteImage(seg, str(path), True)
    return path


@pytest.fixture(scope="module")
def case():
    return small_case(seed=5)


def liver_around(tumour: np.ndarray) -> np.ndarray:
    liver = np.zeros_like(tumour)
    liver[2:-2, 5:-5, 5:-5] = 1
    return liver & ~tumour.astype(bool)


def test_a_segment_is_chosen_by_name_or_id_from_a_single_layer_seg_nrrd(tmp_path, case):
    arterial, _, mask = case
    tumour = sitk.GetArrayFromImage(mask)
    labels = np.where(tumour == 1, 2, liver_around(tumour).astype(np.uint8))
    path = write_segmentation(
        tmp_path / "case.seg.nrrd",
        [labels],
        [
            {"id": "Segment_1", "name": "Liver", "label": 1, "layer": 0},
            {"id": "Segment_2", "name": "Tumor", "label": 2, "layer": 0},
        ],
        arterial,
    )
    assert [(s.name, s.label_value, s.layer) for s in segments_of(sitk.ReadImage(str(path)))] == [
        ("Liver", 1, 0),
        ("Tumor", 2, 0),
    ]
    for choice in ("Tumor", "Segment_2"):
        roi = load_roi(path, segment=choice)
        assert np.array_equal(sitk.GetArrayFromImage(roi), tumour)
    with pytest.raises(PRIMEInputError, match=r"no segment named 'Tumour'.*\['Liver', 'Tumor'\]"):
        load_roi(path, segment="Tumour")
    with pytest.raises(PRIMEInputError, match=r"holds 2 segments: \['Liver', 'Tumor'\]"):
        load_roi(path)


def test_overlapping_segments_are_read_from_their_layer(tmp_path, case):
    arterial, _, mask = case
    tumour = sitk.GetArrayFromImage(mask)
    liver = np.zeros_like(tumour)
    liver[2:-2, 5:-5, 5:-5] = 1  # overlaps the tumour: Slicer then writes a second layer
    path = write_segmentation(
        tmp_path / "layers.seg.nrrd",
        [liver, tumour],
        [
            {"id": "Segment_1", "name": "Liver", "label": 1, "layer": 0},
            {"id": "Segment_2", "name": "Tumor", "label": 1, "layer": 1},
        ],
        arterial,
    )
    assert sitk.ReadImage(str(path)).GetNumberOfComponentsPerPixel() == 2
    assert np.array_equal(sitk.GetArrayFromImage(load_roi(path, segment="Tumor")), tumour)
    assert np.array_equal(sitk.GetArrayFromImage(load_roi(path, segment="Liver")), liver)


def test_a_segmentation_saved_on_its_extent_only_is_placed_back_voxel_for_voxel(tmp_path, case):
    arterial, venous, mask = case
    tumour = sitk.GetArrayFromImage(mask)
    z, y, x = np.nonzero(tumour)
    lower = (int(x.min()) - 1, int(y.min()) - 1, int(z.min()) - 1)
    cut = tumour[z.min() - 1 : z.max() + 2, y.min() - 1 : y.max() + 2, x.min() - 1 : x.max() + 2]
    path = write_segmentation(
        tmp_path / "cropped.seg.nrrd",
        [cut],
        [{"id": "Segment_1", "name": "Tumor", "label": 1, "layer": 0}],
        arterial,
        offset=lower,
    )
    from_extent = extract_case(arterial, venous, path, segment="Tumor", params=QUICK)
    from_full = extract_case(arterial, venous, mask, params=QUICK)
    assert from_extent.values == from_full.values
    assert "sub-extent" in from_extent.diagnostics["arterial_mask"]


def test_a_multi_label_map_needs_a_label_choice(case):
    arterial, venous, mask = case
    tumour = sitk.GetArrayFromImage(mask)
    labels = image_like(np.where(tumour == 1, 2, liver_around(tumour)).astype(np.uint8))
    with pytest.raises(PRIMEInputError, match=r"has 2 labels: 1, 2\. Choose the tumour label") as raised:
        extract_case(arterial, venous, labels, params=QUICK)
    assert "prime extract --label N" in str(raised.value)  # `prime score` has no --label
    chosen = extract_case(arterial, venous, labels, label=2, params=QUICK)
    assert chosen.values == extract_case(arterial, venous, mask, params=QUICK).values
    with pytest.raises(PRIMEInputError, match=r"no voxel with label 3.*\[1, 2\]"):
        load_roi(labels, label=3)


def test_a_probability_map_gets_a_short_message(case):
    """A float probability map has thousands of "labels": the message lists ten and counts the rest."""
    arterial, venous, mask = case
    rng = np.random.default_rng(0)
    probabilities = rng.random(sitk.GetArrayFromImage(mask).shape).astype(np.float32)
    with pytest.raises(PRIMEInputError, match=r"labels: .*… \(\d+ more\)") as raised:
        extract_case(arterial, venous, image_like(probabilities), params=QUICK)
    assert len(str(raised.value)) < 1000 and "one-label mask" in str(raised.value)


def test_all_lesions_are_one_roi_by_default_or_only_the_largest(case):
    arterial, venous, mask = case
    tumour = sitk.GetArrayFromImage(mask)
    satellite = np.zeros_like(tumour)
    satellite[3:7, 3:11, 3:11] = 1  # far from the main tumour: a second lesion
    both = image_like((tumour | satellite).astype(np.uint8))
    largest, count = select_lesions(both, "largest")
    assert count == 2 and np.array_equal(sitk.GetArrayFromImage(largest), tumour)
    every, count = select_lesions(both, "all")
    assert count == 2 and np.array_equal(sitk.GetArrayFromImage(every), tumour | satellite)
    features = extract_case(arterial, venous, both, lesions="largest", params=QUICK)
    assert features.diagnostics["arterial_lesions"] == 2
    assert features.values == extract_case(arterial, venous, mask, params=QUICK).values
    with pytest.raises(PRIMEInputError, match="Unknown lesion choice"):
        select_lesions(both, "biggest")


def test_one_mask_for_both_phases_is_resampled_into_the_other_grid_and_says_so(case):
    arterial, _, mask = case
    # The venous series: another field of view and in-plane spacing, same patient position.
    reference = sitk.Image([50, 46, 20], sitk.sitkInt16)
    reference.SetSpacing((0.82, 0.82, 2.5))
    reference.SetDirection(arterial.GetDirection())
    reference.SetOrigin(arterial.TransformContinuousIndexToPhysicalPoint((2.3, 3.1, 1.0)))
    venous = sitk.Resample(arterial, reference, sitk.Transform(), sitk.sitkLinear, -1000)
    features = extract_case(arterial, venous, mask, params=QUICK)
    note = features.diagnostics["venous_mask"]
    assert "resampled (nearest neighbour)" in note and "venous image grid" in note
    assert features.diagnostics["arterial_mask"] == "arterial mask on the arterial image grid"
    # Same tumour, so nearly the same volume on both grids (nearest neighbour keeps it within a few %).
    volume = {p: features.values[f"{p}_original_shape_VoxelVolume"] for p in ("arterial", "venous")}
    assert volume["venous"] == pytest.approx(volume["arterial"], rel=0.1)
    assert "venous_shape" not in features.diagnostics  # different ROIs: shape computed for each
    # A mask given for the venous phase itself must be on its grid (the same object twice means "shared").
    with pytest.raises(PRIMEInputError, match="not on the venous image's voxel grid"):
        extract_case(arterial, venous, mask, sitk.Image(mask), params=QUICK)
