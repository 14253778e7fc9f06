"""Token adapter: SAIP token outputs from a convolutional or hybrid encoder (StarNet, TinyViT).

SAIP's objectives consume a global token and stride-16 patch tokens (paper §III-A). For an encoder that gives
feature maps, the adapter takes the stride-16 map as patch tokens (1×1 projection + LayerNorm to the
decoders' width) and the pooled last map through a small neck (Linear + LayerNorm) as the global token.

**Masking without leaks (CSR).** A ViT drops masked patches; a ConvNet cannot. Masked 16×16 patches are
set to zero at the input (after normalisation, i.e. to the dataset mean), so no masked pixel value can
reach any output. Then, as in SparK, every stage's output is multiplied by the visible mask at that
stage's resolution, so masked regions stay empty through the network instead of filling with
bias/normalisation responses and leaking into neighbouring visible positions as context that a real
image would not give. Only the visible patch tokens are returned (with their indices), as for the ViT;
the global token pools visible cells only.

**λ (SOLIDER).** An encoder built with ``semantic_weight`` (StarNet, SAIPTinyViT) carries SOLIDER's
semantic controller after its stages; ``forward_tokens(..., semantic_weight=λ)`` sets λ for the call. The
controller belongs to the encoder, so it is exported with it and conditions the downstream backbone too.

**mid tokens.** ``mid='final'`` (default): ``mid`` is ``final``. ``mid='pre_norm'``: ``mid``'s patch tokens
are the stride-16 stage's output (before the encoder's output norm, if any) through ``patch_proj`` only,
without ``patch_norm``. A LayerNorm gives every token the same norm until its scale drifts, so a reading
that compares token magnitudes (SOLIDER's foreground split) needs the map before it, as a ViT's ``mid``
(the residual stream of a middle block) is.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.masking import keep_indices
from ..utils.tokens import StudentTokens, student_tokens


@MODELS.register_module()
class TokenAdapter(BaseModule):
    """Wrap a feature-map encoder so that it exposes ``forward_tokens`` like ``SAIPViT``.

    Args:
        encoder (dict): Encoder config, e.g. ``dict(type='StarNet', arch='s3', out_indices=(2, 3))``.
            Its forward returns maps whose ``patch_index``-th has stride 16 and whose last is pooled.
        patch_channels (int): Channels of the stride-16 map.
        global_channels (int): Channels of the last map.
        embed_dims (int): Token width given to the decoders. Defaults to 192.
        patch_index (int): Index of the stride-16 map in the encoder's outputs. Defaults to 0.
        stages (str): Attribute of the encoder holding its stages (outputs are re-masked after each);
            ``None`` masks at the input only. Defaults to ``'stages'``.
        patch_size (int): Token stride. Defaults to 16.
        mid (str): ``'final'`` (default) or ``'pre_norm'`` (see the module docstring; needs ``stages``
            and the encoder's ``out_indices``).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 encoder: dict,
                 patch_channels: int,
                 global_channels: int,
                 embed_dims: int = 192,
                 patch_index: int = 0,
                 stages: Optional[str] = 'stages',
                 patch_size: int = 16,
                 mid: str = 'final',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.encoder = MODELS.build(encoder)
        self.patch_index = patch_index
        self.patch_size = patch_size
        self.embed_dims = embed_dims
        self.patch_proj = nn.Conv2d(patch_channels, embed_dims, 1)
        self.patch_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.global_neck = nn.Sequential(
            nn.Linear(global_channels, embed_dims), nn.LayerNorm(embed_dims, eps=1e-6))
        self._visible: Optional[Tensor] = None  # (B, 1, rows, cols) while a masked forward runs
        if mid not in ('final', 'pre_norm'):
            raise ValueError(f"TokenAdapter mid must be 'final' or 'pre_norm', got {mid!r}")
        if mid == 'pre_norm' and (stages is None or not hasattr(self.encoder, 'out_indices')):
            raise ValueError("TokenAdapter mid='pre_norm' reads a stage's output: it needs `stages` and an "
                             'encoder with out_indices')
        self.mid = mid
        self._stage_out: Optional[Tensor] = None  # the stride-16 stage's output of the call in progress
        if stages is not None:  # after the encoder's own hooks (its semantic controller): masks stay empty
            for stage in getattr(self.encoder, stages):
                stage.register_forward_hook(self._remask)
            if mid == 'pre_norm':
                patch_stage = getattr(self.encoder, stages)[self.encoder.out_indices[patch_index]]
                patch_stage.register_forward_hook(self._keep_stage_output)

    @property
    def semantic_controller(self) -> Optional[nn.Module]:
        """The encoder's SOLIDER controller (None when it has none)."""
        return getattr(self.encoder, 'semantic_controller', None)

    def forward(self, x: Tensor) -> tuple:
        """The encoder's feature maps (mmpretrain ``extract_feat`` / ``tensor`` mode)."""
        return self.encoder(x)

    @staticmethod
    def visible_at(visible: Tensor, size: Sequence[int]) -> Tensor:
        """The stride-16 visible map ``(B, 1, rows, cols)`` at another resolution: nearest up-sampling for
        finer maps, "any visible child" for coarser ones."""
        h, w = int(size[0]), int(size[1])
        if h >= visible.shape[2]:
            return F.interpolate(visible, size=(h, w), mode='nearest')
        return F.adaptive_max_pool2d(visible, (h, w))

    def _remask(self, module: nn.Module, args, output):
        if self._visible is None or not isinstance(output, Tensor):
            return output
        if output.dim() == 4:  # (B, C, H, W)
            return output * self.visible_at(self._visible, output.shape[-2:]).to(output.dtype)
        if output.dim() == 3 and hasattr(module, 'resolution'):  # (B, H*W, C) tokens of a hybrid stage
            visible = self.visible_at(self._visible, module.resolution).flatten(2).transpose(1, 2)
            return output * visible.to(output.dtype)
        return output

    def _keep_stage_output(self, module: nn.Module, args, output: Tensor) -> None:
        if isinstance(output, Tensor):
            self._stage_out = output

    def forward_tokens(self, x: Tensor, mask: Optional[Tensor] = None,
                       semantic_weight: Optional[Union[float, Tensor]] = None,
                       num_masked: Optional[int] = None) -> StudentTokens:
        """The student token contract (``models/utils/tokens.py``).

        Args:
            x (Tensor): Images ``(B, 3, H, W)``, sides multiples of ``patch_size``.
            mask (Tensor, optional): Boolean ``(B, L)`` over the stride-16 grid, True = masked.
            semantic_weight (float | Tensor, optional): SOLIDER's λ for this call (a scalar or ``(B,)``);
                needs an encoder with a semantic controller. None: the encoder's configured λ.
            num_masked (int, optional): The masked count per row of ``mask`` when known (no host read
                of the mask, ``SAIPViT.forward_tokens``); ``None``: counted from the mask.

        Returns:
            StudentTokens: ``final`` = ``(global (B, D), patch tokens (B, L_vis, D))``; ``mid`` the same
            (``mid='final'``) or with the un-normalised patch tokens (``'pre_norm'``); ``grid``, ``keep``.
        """
        if semantic_weight is None:
            return self._encode(x, mask, num_masked)
        if self.semantic_controller is None:  # also an encoder without the mixin
            raise ValueError(f'semantic_weight given, but the {type(self.encoder).__name__} encoder has no '
                             'semantic controller (build it with semantic_weight=<default λ>)')
        with self.encoder.semantic_weight_for(semantic_weight, x.shape[0], x.device):
            return self._encode(x, mask, num_masked)

    def _encode(self, x: Tensor, mask: Optional[Tensor], num_masked: Optional[int] = None) -> StudentTokens:
        b, _, h, w = x.shape
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(f'image size {h}x{w} is not a multiple of {self.patch_size}')
        grid = (h // self.patch_size, w // self.patch_size)
        keep = None
        if mask is not None:
            keep = keep_indices(mask, None if num_masked is None else mask.shape[1] - num_masked)
            self._visible = (~mask).to(x.dtype).view(b, 1, *grid)
            x = x * self.visible_at(self._visible, (h, w))
        try:
            feats = self.encoder(x)
        finally:
            visible, self._visible = self._visible, None
            stage_out, self._stage_out = self._stage_out, None
        fmap, last = feats[self.patch_index], feats[-1]
        if tuple(fmap.shape[-2:]) != grid:
            raise ValueError(f'encoder output {self.patch_index} has grid {tuple(fmap.shape[-2:])}, '
                             f'expected stride {self.patch_size} ({grid})')
        projected = self.patch_proj(fmap).flatten(2).transpose(1, 2)
        patches = self.patch_norm(projected)
        if self.mid == 'pre_norm' and stage_out is not fmap:  # an output norm came between (TinyViT)
            if stage_out.dim() == 3:  # (B, rows*cols, C) tokens of a hybrid stage
                stage_out = stage_out.transpose(1, 2).reshape(b, -1, *grid)
            projected = self.patch_proj(stage_out).flatten(2).transpose(1, 2)
        if visible is None:
            pooled = last.mean((2, 3))
        else:
            weight = self.visible_at(visible, last.shape[-2:])
            pooled = (last * weight).sum((2, 3)) / weight.sum((2, 3)).clamp_min(1)
            index = keep[..., None].expand(-1, -1, patches.shape[-1])
            patches, projected = torch.gather(patches, 1, index), torch.gather(projected, 1, index)
        final = (self.global_neck(pooled), patches)
        mid = (final[0], projected) if self.mid == 'pre_norm' else final
        return student_tokens(final, mid, grid, keep)
