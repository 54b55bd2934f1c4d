"""The MedSAM engine: box prompts slice by slice across the tumour's extent, stitched into a 3D mask.

Per axial slice (MedSAM's published inference): the CT is windowed (abdomen, W400/L40 by default),
scaled to [0, 1], resized to the model's input (1024² for ViT-B) as three channels and encoded; the
box, in the resized slice's pixels, prompts the mask decoder; the low-resolution mask is resized back to
the slice and thresholded at 0.5.

Prompts: the user's box on the slice at its centre; moving outwards slice by slice, each slice is
prompted with the previous slice's mask bounding box (plus a margin, kept inside the user's box), and
propagation stops at the first empty slice or the box's end (``propagate=False``: the user's box on
every slice it spans). The stitched mask then gets the shared post-processing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from PRIMELib.errors import PRIMEInputError
from PRIMELib.progress import ProgressCallback, report, scaled
from PRIMELib.segmentation.initial_roi import PRIMEEngineUnavailable
from PRIMELib.segmentation.medsam.model import SamConfig, build_sam, require_torch
from PRIMELib.segmentation.medsam.weights import MEDSAM_VIT_B, WeightSpec, ensure_weights, verify_weights
from PRIMELib.segmentation.postprocess import PostProcessing, postprocess_mask
from PRIMELib.segmentation.prompts import BoxPrompt, box_index_region


@dataclass(frozen=True)
class MedSAMSettings:
    """Settings of the MedSAM engine.

    weights / cache_dir / allow_download: which checkpoint, where it is cached, whether it may be
    downloaded (default: unless ``PRIME_OFFLINE``). checkpoint_path: use this file instead of the cache
    (it is still checked against ``weights``). model: an already loaded model (skips loading).
    window_hu: CT window before scaling to [0, 1]. propagate: see the module docstring.
    margin_px: margin added to a propagated box. device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
    """

    weights: WeightSpec = MEDSAM_VIT_B
    config: SamConfig = field(default_factory=SamConfig.vit_b)
    cache_dir: str | Path | None = None
    allow_download: bool | None = None
    checkpoint_path: str | Path | None = None
    model: object = None
    window_hu: tuple[float, float] = (-160.0, 240.0)
    propagate: bool = True
    margin_px: int = 3
    mask_threshold: float = 0.5
    device: str = "auto"
    postprocessing: PostProcessing = field(default_factory=lambda: PostProcessing(keep="largest"))


_LOADED: dict[tuple, object] = {}


def load_medsam(settings: MedSAMSettings, progress: ProgressCallback | None = None):
    """The model for ``settings``: built, its checkpoint verified and loaded strictly (cached per file)."""
    torch = require_torch()
    if settings.model is not None:
        return settings.model
    if settings.checkpoint_path is not None:
        path = Path(settings.checkpoint_path)
        if not path.is_file():
            raise PRIMEEngineUnavailable(f"The MedSAM checkpoint '{path}' does not exist.")
        sha256 = verify_weights(path, settings.weights)
    else:
        path = ensure_weights(
            settings.weights,
            cache_dir=settings.cache_dir,
            allow_download=settings.allow_download,
            progress=scaled(progress, 0.0, 0.9),
        )
        sha256 = verify_weights(path, settings.weights)
    key = (str(path), sha256, settings.config)
    if key not in _LOADED:
        report(progress, 0.95, f"Loading {settings.weights.name}")
        model = build_sam(settings.config)
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
            state = state["model"]
        missing, unexpected = _key_mismatch(model.state_dict(), state)
        if missing or unexpected:
            raise PRIMEEngineUnavailable(
                f"The checkpoint '{path}' does not fit the {settings.weights.name} architecture: "
                f"{len(missing)} missing parameters (e.g. {missing[:3]}), {len(unexpected)} unexpected "
                f"(e.g. {unexpected[:3]})."
            )
        model.load_state_dict(state, strict=True)
        _LOADED.clear()  # one model in memory at a time (ViT-B is 360 MB)
        _LOADED[key] = model.eval()
    return _LOADED[key]


def _key_mismatch(expected: dict, given: dict) -> tuple[list[str], list[str]]:
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    shapes = [
        f"{k} {tuple(given[k].shape)} != {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(given))
        if tuple(given[k].shape) != tuple(expected[k].shape)
    ]
    return missing + shapes, unexpected


class SamSlicePredictor:
    """Wraps a SAM model: ``predict(slice_2d, box_xyxy) -> (probability map, predicted IoU)``."""

    def __init__(self, model, settings: MedSAMSettings) -> None:
        self.torch = require_torch()
        self.model = model
        self.settings = settings
        device = settings.device
        if device == "auto":
            device = "cuda" if self.torch.cuda.is_available() else "cpu"
        self.device = device
        self.model.to(device)
        self.input_size = int(model.image_encoder.img_size)

    def predict(self, slice_hu: np.ndarray, box_xyxy: np.ndarray) -> tuple[np.ndarray, float]:
        torch = self.torch
        functional = torch.nn.functional
        low, high = self.settings.window_hu
        windowed = np.clip(slice_hu.astype(np.float32), low, high)
        span = max(float(windowed.max() - windowed.min()), 1e-8)
        scaled_slice = (windowed - windowed.min()) / span
        height, width = scaled_slice.shape
        size = self.input_size
        with torch.inference_mode():
            image = torch.from_numpy(scaled_slice)[None, None].to(self.device)
            image = functional.interpolate(image, size=(size, size), mode="bilinear", align_corners=False)
            embedding = self.model.image_encoder(image.expand(-1, 3, -1, -1).contiguous())
            box = torch.as_tensor(
                np.asarray(box_xyxy, dtype=np.float32) / np.array([width, height, width, height]) * size,
                device=self.device,
            )
            logits, iou = self.model.predict_box(embedding, box)
            probability = torch.sigmoid(
                functional.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
            )
        return probability[0, 0].cpu().numpy(), float(iou[0, 0])


def segment_medsam(
    image: sitk.Image,
    *,
    box: BoxPrompt | None,
    seeds_lps=None,
    settings: MedSAMSettings | None = None,
    predictor=None,
    progress: ProgressCallback | None = None,
) -> tuple[sitk.Image, dict]:
    """A uint8 tumour mask on ``image``'s grid from MedSAM box prompts, and per-slice details.

    ``predictor`` replaces the model (anything with ``predict(slice_2d, box_xyxy)``), for tests.
    """
    settings = settings or MedSAMSettings()
    if box is None:
        raise PRIMEInputError(
            "The MedSAM engine needs a box around the tumour.",
            field="box",
            hint="Draw an ROI box around the tumour (seeds alone work with the classical engine).",
        )
    if image.GetDimension() != 3:
        raise PRIMEInputError("MedSAM segments 3D volumes.", field="arterial image", expected="a 3D CT")
    region = box_index_region(image, box)
    if predictor is None:
        report(progress, 0.0, "Loading MedSAM")
        predictor = SamSlicePredictor(load_medsam(settings, scaled(progress, 0.0, 0.2)), settings)
    volume = sitk.GetArrayViewFromImage(image)
    (i0, j0, k0), (ni, nj, nk) = region.start, region.size
    user_box = np.array([i0, j0, i0 + ni - 1, j0 + nj - 1], dtype=float)
    mask = np.zeros(volume.shape, dtype=np.uint8)
    centre = k0 + nk // 2
    order = [centre, *range(centre + 1, k0 + nk), *range(centre - 1, k0 - 1, -1)]
    prompts: dict[int, list[float]] = {}
    scores: dict[int, float] = {}
    previous_box = {+1: user_box, -1: user_box}
    stopped = {+1: False, -1: False}
    for done, k in enumerate(order):
        direction = +1 if k >= centre else -1
        if stopped[direction]:
            continue
        report(progress, 0.2 + 0.75 * done / len(order), f"MedSAM slice {done + 1} of {len(order)}")
        prompt = user_box if (k == centre or not settings.propagate) else previous_box[direction]
        probability, iou = predictor.predict(np.asarray(volume[k], dtype=np.float32), prompt)
        slice_mask = probability >= settings.mask_threshold
        # Keep MedSAM's answer inside the user's box (its masks can spill over on a bright neighbour).
        inside = np.zeros_like(slice_mask)
        inside[j0 : j0 + nj, i0 : i0 + ni] = True
        slice_mask &= inside
        prompts[k], scores[k] = [float(v) for v in prompt], iou
        mask[k] = slice_mask
        if settings.propagate:
            if not slice_mask.any():
                if k == centre:
                    stopped[+1] = stopped[-1] = True
                stopped[direction] = True
                continue
            rows, cols = np.nonzero(slice_mask)
            margin = settings.margin_px
            grown = np.array(
                [cols.min() - margin, rows.min() - margin, cols.max() + margin, rows.max() + margin]
            )
            clipped = np.clip(grown, user_box[[0, 1, 0, 1]], user_box[[2, 3, 2, 3]]).astype(float)
            if k == centre:
                previous_box[+1] = previous_box[-1] = clipped
            else:
                previous_box[direction] = clipped
    result = sitk.GetImageFromArray(mask)
    result.CopyInformation(image)
    result = postprocess_mask(result, settings.postprocessing)
    if not sitk.GetArrayViewFromImage(result).any():
        raise PRIMEInputError(
            "MedSAM found no tumour in the box.",
            field="box",
            hint="Draw the box tightly around the tumour on its largest slice, or use the classical engine.",
        )
    details = {
        "slices": len(prompts),
        "prompts_xyxy": {int(k): v for k, v in sorted(prompts.items())},
        "predicted_iou": {int(k): round(v, 3) for k, v in sorted(scores.items())},
        "propagate": settings.propagate,
        "weights": settings.weights.name,
    }
    report(progress, 1.0, "MedSAM done")
    return result, details
