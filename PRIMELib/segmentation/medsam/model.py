"""The Segment Anything (SAM) architecture that MedSAM fine-tuned: ViT image encoder, prompt encoder,
two-way-transformer mask decoder.

Written from the published architecture (Kirillov et al. 2023, "Segment Anything"; Ma et al. 2024,
"Segment anything in medical images") with the same module and parameter names, so the released
``medsam_vit_b.pth`` state dict loads strictly. :class:`SamConfig` gives the ViT-B sizes MedSAM uses
and a tiny configuration of the same architecture for tests.

torch is optional for PRIMELib: this module imports without it (the classes then cannot be
instantiated); :func:`build_sam` raises :class:`~PRIMELib.segmentation.initial_roi.PRIMEEngineUnavailable`
with what to install.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

try:  # torch is the optional `medsam` extra
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812 (torch's universal alias)

    _Module = nn.Module
    TORCH_IMPORT_ERROR: ImportError | None = None
except ImportError as error:  # pragma: no cover - exercised where torch is absent
    torch = nn = F = None
    _Module = object
    TORCH_IMPORT_ERROR = error


def require_torch():
    """The torch module, or a clear error saying how to get it."""
    if TORCH_IMPORT_ERROR is not None:
        from PRIMELib.segmentation.initial_roi import PRIMEEngineUnavailable

        raise PRIMEEngineUnavailable(
            "The MedSAM engine needs PyTorch, which is not installed "
            f"({TORCH_IMPORT_ERROR}). Install the CPU build first, `pip install torch --index-url "
            "https://download.pytorch.org/whl/cpu`, then `pip install 'PRIMELib[medsam]'` (a plain "
            "`pip install torch` on Linux takes the multi-GB CUDA build; in 3D Slicer: the PyTorch "
            "extension). The classical engine works without it."
        )
    return torch


@dataclass(frozen=True)
class SamConfig:
    """Sizes of a SAM model. :meth:`vit_b` is MedSAM's; :meth:`tiny` is the same architecture, small."""

    image_size: int = 1024
    patch_size: int = 16
    encoder_embed_dim: int = 768
    encoder_depth: int = 12
    encoder_num_heads: int = 12
    encoder_global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = 14
    prompt_embed_dim: int = 256
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256
    num_multimask_outputs: int = 3

    @classmethod
    def vit_b(cls) -> SamConfig:
        return cls()

    @classmethod
    def tiny(cls) -> SamConfig:
        """A few thousand parameters, 64-pixel input: for tests of shapes, prompts and loading."""
        return cls(
            image_size=64,
            patch_size=8,
            encoder_embed_dim=32,
            encoder_depth=2,
            encoder_num_heads=2,
            encoder_global_attn_indexes=(1,),
            window_size=4,
            prompt_embed_dim=32,
            decoder_mlp_dim=64,
            decoder_num_heads=2,
            iou_head_hidden_dim=32,
        )

    @property
    def embedding_size(self) -> int:
        return self.image_size // self.patch_size


def build_sam(config: SamConfig | None = None):
    """A randomly initialised SAM model of ``config`` (ViT-B by default), in eval mode."""
    require_torch()
    config = config or SamConfig.vit_b()
    size = config.embedding_size
    model = Sam(
        image_encoder=ImageEncoderViT(
            img_size=config.image_size,
            patch_size=config.patch_size,
            embed_dim=config.encoder_embed_dim,
            depth=config.encoder_depth,
            num_heads=config.encoder_num_heads,
            out_chans=config.prompt_embed_dim,
            window_size=config.window_size,
            global_attn_indexes=config.encoder_global_attn_indexes,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=config.prompt_embed_dim,
            image_embedding_size=(size, size),
            input_image_size=(config.image_size, config.image_size),
            mask_in_chans=config.mask_in_chans,
        ),
        mask_decoder=MaskDecoder(
            transformer_dim=config.prompt_embed_dim,
            transformer=TwoWayTransformer(
                depth=config.decoder_depth,
                embedding_dim=config.prompt_embed_dim,
                mlp_dim=config.decoder_mlp_dim,
                num_heads=config.decoder_num_heads,
            ),
            num_multimask_outputs=config.num_multimask_outputs,
            iou_head_hidden_dim=config.iou_head_hidden_dim,
        ),
    )
    model.config = config
    return model.eval()


# --- shared blocks -----------------------------------------------------------------------------------


class LayerNorm2d(_Module):
    """LayerNorm over the channels of an (N, C, H, W) tensor."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        variance = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(variance + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLPBlock(_Module):
    def __init__(self, embedding_dim: int, mlp_dim: int, act=None) -> None:
        super().__init__()
        self.lin1 = nn.Linear(embedding_dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, embedding_dim)
        self.act = (act or nn.GELU)()

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


class MLP(_Module):
    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int) -> None:
        super().__init__()
        hidden = [hidden_dim] * (num_layers - 1)
        self.num_layers = num_layers
        self.layers = nn.ModuleList(
            nn.Linear(n, k) for n, k in zip([input_dim, *hidden], [*hidden, output_dim], strict=True)
        )

    def forward(self, x):
        for index, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if index < self.num_layers - 1 else layer(x)
        return x


# --- image encoder (ViT with windowed and global attention, relative positions) ----------------------


class PatchEmbed(_Module):
    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).permute(0, 2, 3, 1)  # (B, H, W, C)


class ImageEncoderViT(_Module):
    def __init__(
        self,
        img_size: int,
        patch_size: int,
        embed_dim: int,
        depth: int,
        num_heads: int,
        out_chans: int,
        window_size: int,
        global_attn_indexes: tuple[int, ...],
        in_chans: int = 3,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        self.img_size = img_size
        grid = img_size // patch_size
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, embed_dim))
        self.blocks = nn.ModuleList(
            Block(
                dim=embed_dim,
                num_heads=num_heads,
                mlp_ratio=mlp_ratio,
                window_size=0 if index in global_attn_indexes else window_size,
                input_size=(grid, grid),
            )
            for index in range(depth)
        )
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dim, out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.neck(x.permute(0, 3, 1, 2))


class Block(_Module):
    def __init__(self, dim, num_heads, mlp_ratio, window_size, input_size) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = EncoderAttention(
            dim, num_heads, input_size=input_size if window_size == 0 else (window_size, window_size)
        )
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, int(dim * mlp_ratio))
        self.window_size = window_size

    def forward(self, x):
        shortcut = x
        x = self.norm1(x)
        if self.window_size > 0:
            height, width = x.shape[1], x.shape[2]
            x, padded = _window_partition(x, self.window_size)
        x = self.attn(x)
        if self.window_size > 0:
            x = _window_unpartition(x, self.window_size, padded, (height, width))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class EncoderAttention(_Module):
    """Multi-head attention with decomposed relative position embeddings (the encoder's ``attn``)."""

    def __init__(self, dim: int, num_heads: int, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * input_size[1] - 1, head_dim))

    def forward(self, x):
        batch, height, width, _ = x.shape
        qkv = self.qkv(x).reshape(batch, height * width, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, batch * self.num_heads, height * width, -1).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = _add_decomposed_rel_pos(attn, q, self.rel_pos_h, self.rel_pos_w, (height, width))
        attn = attn.softmax(dim=-1)
        x = (attn @ v).view(batch, self.num_heads, height, width, -1).permute(0, 2, 3, 1, 4)
        return self.proj(x.reshape(batch, height, width, -1))


def _window_partition(x, window: int):
    batch, height, width, channels = x.shape
    pad_h, pad_w = (window - height % window) % window, (window - width % window) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = height + pad_h, width + pad_w
    x = x.view(batch, hp // window, window, wp // window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window, window, channels), (hp, wp)


def _window_unpartition(windows, window: int, padded, size):
    hp, wp = padded
    height, width = size
    batch = windows.shape[0] // (hp * wp // window // window)
    x = windows.view(batch, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(batch, hp, wp, -1)
    return x[:, :height, :width, :].contiguous() if hp > height or wp > width else x


def _relative_positions(q_size: int, k_size: int, rel_pos):
    max_distance = int(2 * max(q_size, k_size) - 1)
    if rel_pos.shape[0] != max_distance:
        resized = F.interpolate(
            rel_pos.reshape(1, rel_pos.shape[0], -1).permute(0, 2, 1), size=max_distance, mode="linear"
        )
        rel_pos = resized.reshape(-1, max_distance).permute(1, 0)
    q_coords = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    k_coords = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    relative = (q_coords - k_coords) + (k_size - 1) * max(q_size / k_size, 1.0)
    return rel_pos[relative.long()]


def _add_decomposed_rel_pos(attn, q, rel_pos_h, rel_pos_w, size):
    height, width = size
    rh = _relative_positions(height, height, rel_pos_h)
    rw = _relative_positions(width, width, rel_pos_w)
    batch, _, dim = q.shape
    r_q = q.reshape(batch, height, width, dim)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rh)
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rw)
    attn = attn.view(batch, height, width, height, width) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]
    return attn.view(batch, height * width, height * width)


# --- prompt encoder ------------------------------------------------------------------------------------


class PositionEmbeddingRandom(_Module):
    """Positional encoding with random spatial frequencies (a fixed buffer, stored in the checkpoint)."""

    def __init__(self, num_pos_feats: int) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((2, num_pos_feats)))

    def _pe_encoding(self, coords):
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def forward(self, size):
        height, width = size
        grid = torch.ones((height, width), device=self.positional_encoding_gaussian_matrix.device)
        y = (grid.cumsum(dim=0) - 0.5) / height
        x = (grid.cumsum(dim=1) - 0.5) / width
        return self._pe_encoding(torch.stack([x, y], dim=-1)).permute(2, 0, 1)

    def forward_with_coords(self, coords_input, image_size):
        coords = coords_input.clone()
        coords[:, :, 0] = coords[:, :, 0] / image_size[1]
        coords[:, :, 1] = coords[:, :, 1] / image_size[0]
        return self._pe_encoding(coords.to(torch.float))


class PromptEncoder(_Module):
    def __init__(self, embed_dim, image_embedding_size, input_image_size, mask_in_chans) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.input_image_size = input_image_size
        self.image_embedding_size = image_embedding_size
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        # Negative point, positive point, box top-left, box bottom-right.
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def get_dense_pe(self):
        return self.pe_layer(self.image_embedding_size).unsqueeze(0)

    def _embed_boxes(self, boxes):
        corners = self.pe_layer.forward_with_coords((boxes + 0.5).reshape(-1, 2, 2), self.input_image_size)
        corners[:, 0, :] += self.point_embeddings[2].weight
        corners[:, 1, :] += self.point_embeddings[3].weight
        return corners

    def _embed_points(self, points, labels, pad: bool):
        points = points + 0.5
        if pad:
            points = torch.cat([points, torch.zeros((points.shape[0], 1, 2), device=points.device)], dim=1)
            labels = torch.cat([labels, -torch.ones((labels.shape[0], 1), device=labels.device)], dim=1)
        embedding = self.pe_layer.forward_with_coords(points, self.input_image_size)
        embedding[labels == -1] = 0.0
        embedding[labels == -1] += self.not_a_point_embed.weight
        embedding[labels == 0] += self.point_embeddings[0].weight
        embedding[labels == 1] += self.point_embeddings[1].weight
        return embedding

    def forward(self, points=None, boxes=None, masks=None):
        """Sparse (B, N, C) and dense (B, C, h, w) embeddings; ``boxes``: (B, 4) or (B, 1, 4) x0 y0 x1 y1."""
        if points is not None:
            batch = points[0].shape[0]
        elif boxes is not None:
            batch = boxes.shape[0]
        else:
            batch = masks.shape[0] if masks is not None else 1
        device = self.point_embeddings[0].weight.device
        sparse = torch.empty((batch, 0, self.embed_dim), device=device)
        if points is not None:
            sparse = torch.cat([sparse, self._embed_points(*points, pad=boxes is None)], dim=1)
        if boxes is not None:
            sparse = torch.cat([sparse, self._embed_boxes(boxes)], dim=1)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            height, width = self.image_embedding_size
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(batch, -1, height, width)
        return sparse, dense


# --- mask decoder ----------------------------------------------------------------------------------------


class DecoderAttention(_Module):
    """Attention with an optional down-projection of queries, keys and values (the decoder's)."""

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        self.num_heads = num_heads
        internal_dim = embedding_dim // downsample_rate
        self.q_proj = nn.Linear(embedding_dim, internal_dim)
        self.k_proj = nn.Linear(embedding_dim, internal_dim)
        self.v_proj = nn.Linear(embedding_dim, internal_dim)
        self.out_proj = nn.Linear(internal_dim, embedding_dim)

    def _separate(self, x):
        batch, tokens, channels = x.shape
        return x.reshape(batch, tokens, self.num_heads, channels // self.num_heads).transpose(1, 2)

    def forward(self, q, k, v):
        q, k, v = (
            self._separate(self.q_proj(q)),
            self._separate(self.k_proj(k)),
            self._separate(self.v_proj(v)),
        )
        attn = torch.softmax(q @ k.permute(0, 1, 3, 2) / math.sqrt(q.shape[-1]), dim=-1)
        out = attn @ v
        batch, heads, tokens, per_head = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(batch, tokens, heads * per_head))


class TwoWayAttentionBlock(_Module):
    def __init__(self, embedding_dim, num_heads, mlp_dim, skip_first_layer_pe, downsample_rate=2) -> None:
        super().__init__()
        self.self_attn = DecoderAttention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = DecoderAttention(embedding_dim, num_heads, downsample_rate)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLPBlock(embedding_dim, mlp_dim, nn.ReLU)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = DecoderAttention(embedding_dim, num_heads, downsample_rate)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries, keys, query_pe, key_pe):
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(_Module):
    def __init__(self, depth, embedding_dim, num_heads, mlp_dim, downsample_rate: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(embedding_dim, num_heads, mlp_dim, index == 0, downsample_rate)
            for index in range(depth)
        )
        self.final_attn_token_to_image = DecoderAttention(embedding_dim, num_heads, downsample_rate)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def forward(self, image_embedding, image_pe, point_embedding):
        keys = image_embedding.flatten(2).permute(0, 2, 1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries, keys, point_embedding, key_pe)
        q, k = queries + point_embedding, keys + key_pe
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(q, k, keys))
        return queries, keys


class MaskDecoder(_Module):
    def __init__(
        self, transformer_dim, transformer, num_multimask_outputs=3, iou_head_hidden_dim=256
    ) -> None:
        super().__init__()
        self.transformer = transformer
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3)
            for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(transformer_dim, iou_head_hidden_dim, self.num_mask_tokens, 3)

    def forward(
        self, image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings, multimask_output
    ):
        """(low-resolution mask logits (B, M, 4h, 4w), predicted IoU (B, M)); M = 1 or 3 (multimask)."""
        tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = tokens.unsqueeze(0).expand(sparse_prompt_embeddings.size(0), -1, -1)
        tokens = torch.cat((tokens, sparse_prompt_embeddings), dim=1)
        src = torch.repeat_interleave(image_embeddings, tokens.shape[0], dim=0) + dense_prompt_embeddings
        pos_src = torch.repeat_interleave(image_pe, tokens.shape[0], dim=0)
        batch, channels, height, width = src.shape
        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1 : 1 + self.num_mask_tokens, :]
        upscaled = self.output_upscaling(src.transpose(1, 2).view(batch, channels, height, width))
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, index, :]) for index, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1,
        )
        batch, channels, height, width = upscaled.shape
        masks = (hyper_in @ upscaled.view(batch, channels, height * width)).view(batch, -1, height, width)
        iou = self.iou_prediction_head(iou_token_out)
        chosen = slice(1, None) if multimask_output else slice(0, 1)
        return masks[:, chosen, :, :], iou[:, chosen]


class Sam(_Module):
    """Image encoder + prompt encoder + mask decoder (parameter names as in the released checkpoints)."""

    def __init__(self, image_encoder, prompt_encoder, mask_decoder) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder

    def predict_box(self, image_embedding, box_xyxy):
        """Mask logits (1, 1, 4h, 4w) and IoU (1, 1) for one box in model-input pixels (MedSAM's call)."""
        sparse, dense = self.prompt_encoder(points=None, boxes=box_xyxy.reshape(1, 1, 4), masks=None)
        return self.mask_decoder(
            image_embeddings=image_embedding,
            image_pe=self.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=False,
        )
