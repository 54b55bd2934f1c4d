"""The MedSAM engine's wiring with a tiny, randomly initialised model of the SAM architecture.

Shapes, box prompts slice by slice, propagation and stitching to 3D, and loading a checkpoint that the
test writes. Needs torch (the ``medsam`` extra): without it every test here is skipped, and says so.
Set ``PRIME_REQUIRE_TORCH=1`` to make them fail instead.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.segmentation import BoxPrompt, PRIMEEngineUnavailable, segment_tumour
from PRIMELib.segmentation.phantoms import make_tumour_phantom

MISSING_TORCH = (
    "TORCH IS NOT INSTALLED: the MedSAM engine tests did not run. "
    "Install it with `pip install -e '.[medsam]'` (torch 2.13.0, CPU build)."
)
try:
    import torch
except ImportError:
    if os.environ.get("PRIME_REQUIRE_TORCH") == "1":
        raise
    pytest.skip(MISSING_TORCH, allow_module_level=True)

from PRIMELib.segmentation.medsam import (  # noqa: E402 (after the torch check)
    MedSAMSettings,
    SamConfig,
    SamSlicePredictor,
    WeightSpec,
    build_sam,
    load_medsam,
    segment_medsam,
)
from PRIMELib.segmentation.medsam.weights import PRIMEWeightsChecksumError  # noqa: E402

TINY = SamConfig.tiny()


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_sam(TINY)


@pytest.fixture(scope="module")
def phantom():
    return make_tumour_phantom(30.0, seed=11)


def test_vit_b_has_sam_vit_b_size_and_parameter_names():
    with torch.device("meta"):
        model = build_sam(SamConfig.vit_b())
    state = model.state_dict()
    assert sum(p.numel() for p in model.parameters()) == 93_735_472  # SAM ViT-B, as MedSAM
    for name in (
        "image_encoder.pos_embed",
        "image_encoder.blocks.11.attn.rel_pos_h",
        "image_encoder.neck.3.bias",
        "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
        "prompt_encoder.mask_downscaling.6.weight",
        "mask_decoder.transformer.layers.1.cross_attn_image_to_token.out_proj.weight",
        "mask_decoder.transformer.norm_final_attn.bias",
        "mask_decoder.output_hypernetworks_mlps.3.layers.2.weight",
        "mask_decoder.iou_prediction_head.layers.2.bias",
    ):
        assert name in state, name
    assert tuple(state["image_encoder.pos_embed"].shape) == (1, 64, 64, 768)
    assert tuple(state["image_encoder.blocks.2.attn.rel_pos_h"].shape) == (127, 64)  # global block
    assert tuple(state["image_encoder.blocks.0.attn.rel_pos_h"].shape) == (27, 64)  # 14x14 window


def test_tiny_model_shapes_for_a_box_prompt(tiny_model):
    with torch.inference_mode():
        embedding = tiny_model.image_encoder(torch.rand(1, 3, 64, 64))
        assert tuple(embedding.shape) == (1, 32, 8, 8)
        sparse, dense = tiny_model.prompt_encoder(points=None, boxes=torch.tensor([[[4.0, 6.0, 30.0, 40.0]]]))
        assert tuple(sparse.shape) == (1, 2, 32) and tuple(dense.shape) == (1, 32, 8, 8)
        logits, iou = tiny_model.predict_box(embedding, torch.tensor([4.0, 6.0, 30.0, 40.0]))
        assert tuple(logits.shape) == (1, 1, 32, 32) and tuple(iou.shape) == (1, 1)
        multi, multi_iou = tiny_model.mask_decoder(
            embedding, tiny_model.prompt_encoder.get_dense_pe(), sparse, dense, multimask_output=True
        )
        assert tuple(multi.shape) == (1, 3, 32, 32) and tuple(multi_iou.shape) == (1, 3)
        points = (torch.tensor([[[10.0, 12.0]]]), torch.tensor([[1]]))
        sparse_points, _ = tiny_model.prompt_encoder(points=points)
        assert tuple(sparse_points.shape) == (1, 2, 32)  # the point plus the padding point


def test_slice_predictor_maps_a_slice_and_its_box_to_a_probability_map(tiny_model):
    predictor = SamSlicePredictor(tiny_model, MedSAMSettings(config=TINY, device="cpu"))
    probability, iou = predictor.predict(
        np.random.default_rng(0).normal(60, 20, (50, 70)), np.array([5, 5, 40, 30])
    )
    assert probability.shape == (50, 70)
    assert 0.0 <= probability.min() <= probability.max() <= 1.0 and np.isfinite(iou)


def test_box_prompts_slice_by_slice_stitch_to_the_box_extent(tiny_model, phantom):
    """Threshold 0: every slice's mask is its whole box, so the 3D mask is exactly the box's voxels."""
    settings = MedSAMSettings(
        config=TINY, model=tiny_model, propagate=False, mask_threshold=0.0, device="cpu"
    )
    result = segment_tumour(phantom.arterial, box=phantom.box, engine="medsam", medsam=settings)
    assert result.engine == "medsam" and result.mask.GetSize() == phantom.arterial.GetSize()
    from PRIMELib.segmentation.prompts import box_index_region

    region = box_index_region(phantom.arterial, phantom.box)
    expected = np.zeros(sitk.GetArrayViewFromImage(phantom.arterial).shape, dtype=bool)
    expected[region.numpy_slices()] = True
    assert np.array_equal(sitk.GetArrayViewFromImage(result.mask).astype(bool), expected)
    assert result.details["slices"] == region.size[2]
    first = result.details["prompts_xyxy"][region.start[2]]
    assert first == [region.start[0], region.start[1], region.stop[0] - 1, region.stop[1] - 1]


class EllipsePredictor:
    """A stand-in for the model: the tumour's cross-section is a disc shrinking away from slice 10."""

    def __init__(self, shape):
        self.calls = []
        self.shape = shape

    def truth(self, k):
        yy, xx = np.indices(self.shape)
        radius = 12 - 3 * abs(k - 10)
        return (yy - 25) ** 2 + (xx - 30) ** 2 <= radius**2 if radius > 0 else np.zeros(self.shape, bool)

    def predict(self, slice_hu, box):
        k = int(slice_hu[0, 0])  # the test volume stores the slice index in its corner
        self.calls.append((k, list(box)))
        x0, y0, x1, y1 = box
        inside = np.zeros(self.shape, bool)
        inside[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1] = True
        return (self.truth(k) & inside).astype(float), 0.9


def test_propagation_shrinks_the_box_to_the_previous_mask_and_stops_at_an_empty_slice():
    volume = np.zeros((21, 50, 60), dtype=np.int16)
    volume[:, 0, 0] = np.arange(21)
    image = sitk.GetImageFromArray(volume)
    predictor = EllipsePredictor((50, 60))
    box = BoxPrompt.from_corners_lps((10.0, 5.0, 2.0), (50.0, 45.0, 18.0))  # slices 2..18
    mask, details = segment_medsam(image, box=box, settings=MedSAMSettings(margin_px=2), predictor=predictor)
    visited = [k for k, _ in predictor.calls]
    assert visited[0] == 10  # the box's central slice first, with the user's box
    assert predictor.calls[0][1] == [10.0, 5.0, 50.0, 45.0]
    assert set(visited) == set(range(6, 15))  # out to the first empty slice on each side, no further
    k11 = dict(predictor.calls)[11]
    assert k11 == [30 - 12 - 2, 25 - 12 - 2, 30 + 12 + 2, 25 + 12 + 2]  # slice 10's mask box plus margin
    expected = np.stack([predictor.truth(k) for k in range(21)])
    assert np.array_equal(sitk.GetArrayViewFromImage(mask).astype(bool), expected)
    assert details["slices"] == len(visited)


def test_checkpoint_written_by_the_test_loads_through_the_cache_and_matches(tiny_model, tmp_path):
    path = tmp_path / "release" / "tiny.pth"
    path.parent.mkdir()
    torch.save(tiny_model.state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    spec = WeightSpec(name="Tiny SAM", filename="tiny.pth", urls=(path.as_uri(),), sha256=digest)
    settings = MedSAMSettings(config=TINY, weights=spec, cache_dir=tmp_path / "cache", allow_download=True)
    loaded = load_medsam(settings)
    assert (tmp_path / "cache" / "tiny.pth").is_file()
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        a = tiny_model.predict_box(tiny_model.image_encoder(x), torch.tensor([3.0, 3.0, 40.0, 50.0]))[0]
        b = loaded.predict_box(loaded.image_encoder(x), torch.tensor([3.0, 3.0, 40.0, 50.0]))[0]
    assert torch.equal(a, b)
    # A checkpoint wrapped as {"model": state_dict} (as training scripts save) loads too.
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"model": tiny_model.state_dict(), "epoch": 3}, wrapped)
    wrapped_spec = WeightSpec(
        name="Tiny SAM", filename="w.pth", urls=(), sha256=hashlib.sha256(wrapped.read_bytes()).hexdigest()
    )
    load_medsam(MedSAMSettings(config=TINY, weights=wrapped_spec, checkpoint_path=wrapped))


def test_a_checkpoint_with_the_wrong_checksum_or_architecture_is_refused(tiny_model, tmp_path):
    path = tmp_path / "tiny.pth"
    torch.save(tiny_model.state_dict(), path)
    wrong = WeightSpec(name="Tiny SAM", filename="tiny.pth", urls=(), sha256="f" * 64)
    with pytest.raises(PRIMEWeightsChecksumError, match="not the expected"):
        load_medsam(MedSAMSettings(config=TINY, weights=wrong, checkpoint_path=path))
    right = WeightSpec(
        name="Tiny SAM", filename="tiny.pth", urls=(), sha256=hashlib.sha256(path.read_bytes()).hexdigest()
    )
    other_config = SamConfig(**{**TINY.__dict__, "encoder_depth": 3})
    with pytest.raises(PRIMEEngineUnavailable, match=r"does not fit .* missing parameters"):
        load_medsam(MedSAMSettings(config=other_config, weights=right, checkpoint_path=path))


def test_medsam_needs_a_box(tiny_model, phantom):
    settings = MedSAMSettings(config=TINY, model=tiny_model)
    with pytest.raises(PRIMEInputError, match="needs a box"):
        segment_tumour(phantom.arterial, seeds_lps=phantom.seeds_lps, engine="medsam", medsam=settings)
