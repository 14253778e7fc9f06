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

The re-masking is an argument of the encoder's forward, not a hook: ``encoder(x, after_stage=fn)`` applies
``fn(index, stage, output)`` to each stage's output (StarNet, SAIPTinyViT take it; an encoder that does not
is wrapped with ``remask=False`` and masked at the input only).

**λ (SOLIDER).** An encoder built with ``semantic_weight`` (StarNet, SAIPTinyViT) carries SOLIDER's
semantic controller after its stages; ``forward_tokens(..., semantic_weight=λ)`` passes λ to the encoder's
forward for the call (λ acts before the re-masking, so masked cells stay empty). The controller belongs
to the encoder, so it is exported with it and conditions the downstream backbone too.

**mid tokens.** ``mid='final'`` (default): ``mid`` is ``final``. ``mid='pre_norm'``: ``mid``'s patch tokens
are the stride-16 stage's output (before the encoder's output norm, if any) through ``patch_proj`` only,
without ``patch_norm``. A LayerNorm gives every token the same norm until its scale drifts, so a reading
that compares token magnitudes (SOLIDER's foreground split) needs the map before it, as a ViT's ``mid``
(the residual stream of a middle block) is.
"""
from typing import Dict, Optional, Sequence, Union

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
        remask (bool): Re-mask every stage's output (the encoder's forward must take ``after_stage``);
            False masks at the input only. Defaults to True.
        patch_size (int): Token stride. Defaults to 16.
        mid (str): ``'final'`` (default) or ``'pre_norm'`` (see the module docstring; needs ``remask``
            and the encoder's ``out_indices``).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 encoder: dict,
                 patch_channels: int,
                 global_channels: int,
                 embed_dims: int = 192,
                 patch_index: int = 0,
                 remask: bool = True,
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
        if mid not in ('final', 'pre_norm'):
            raise ValueError(f"TokenAdapter mid must be 'final' or 'pre_norm', got {mid!r}")
        if mid == 'pre_norm' and (not remask or not hasattr(self.encoder, 'out_indices')):
            raise ValueError("TokenAdapter mid='pre_norm' reads a stage's output: it needs remask=True and "
                             'an encoder with out_indices')
        self.mid = mid
        self.remask = remask
        # the stage whose output is the stride-16 map (read before the encoder's output norm)
        self.patch_stage = self.encoder.out_indices[patch_index] if mid == 'pre_norm' else None

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

    @classmethod
    def remasked(cls, visible: Optional[Tensor], stage: nn.Module, output: Tensor) -> Tensor:
        """A stage's ``output`` with the masked cells set to 0 (``visible``: ``(B, 1, rows, cols)`` on the
        stride-16 grid, None: nothing masked): a map ``(B, C, H, W)`` or the ``(B, H*W, C)`` tokens of a
        hybrid stage (its ``resolution`` gives the grid)."""
        if visible is None:
            return output
        if output.dim() == 4:
            return output * cls.visible_at(visible, output.shape[-2:]).to(output.dtype)
        if output.dim() == 3 and hasattr(stage, 'resolution'):
            cells = cls.visible_at(visible, stage.resolution).flatten(2).transpose(1, 2)
            return output * cells.to(output.dtype)
        return output

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
        if semantic_weight is not None and self.semantic_controller is None:  # an encoder without λ
            raise ValueError(f'semantic_weight given, but the {type(self.encoder).__name__} encoder has no '
                             'semantic controller (build it with semantic_weight=<default λ>)')
        b, _, h, w = x.shape
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(f'image size {h}x{w} is not a multiple of {self.patch_size}')
        grid = (h // self.patch_size, w // self.patch_size)
        keep = visible = None
        if mask is not None:
            keep = keep_indices(mask, None if num_masked is None else mask.shape[1] - num_masked)
            visible = (~mask).to(x.dtype).view(b, 1, *grid)
            x = x * self.visible_at(visible, (h, w))
        kept: Dict[str, Tensor] = {}

        def after_stage(index: int, stage: nn.Module, output: Tensor) -> Tensor:
            output = self.remasked(visible, stage, output)
            if index == self.patch_stage:
                kept['stage_out'] = output
            return output

        kwargs = {} if semantic_weight is None else dict(semantic_weight=semantic_weight)
        if self.remask:
            kwargs['after_stage'] = after_stage
        feats = self.encoder(x, **kwargs)
        stage_out = kept.get('stage_out')
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
