"""TinyViT-5M (Wu et al., ECCV 2022) at any input size, reusing mmpretrain's ``TinyViT``.

mmpretrain's TinyViT fixes every stage's token grid at construction from ``img_size``; SAIP feeds the
same encoder several view sizes per step. ``SAIPTinyViT`` keeps mmpretrain's modules and parameter names
(so checkpoints are interchangeable) and only sets each stage's grid from the actual input before the
forward pass; window attention pads to whole windows already. With ``semantic_weight`` it takes
SOLIDER's λ after each of its four stages (``utils/semantic_controller.py``).
"""
from typing import Optional, Tuple, Union

from mmpretrain.models.backbones import TinyViT
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.pretrained import StrictPretrainedInit
from ..utils.semantic_controller import SemanticControlled
from ..utils.tokens import AfterStage


def _half(size: Tuple[int, int]) -> Tuple[int, int]:
    """Grid after a stride-2, padding-1, 3×3 convolution."""
    return ((size[0] + 1) // 2, (size[1] + 1) // 2)


@MODELS.register_module()
class SAIPTinyViT(SemanticControlled, StrictPretrainedInit, TinyViT):
    """mmpretrain ``TinyViT`` with input-size-dependent stage grids and feature-map outputs.

    Args:
        arch (str | dict): mmpretrain arch; ``'5m'`` (64/128/160/320 channels, depths 2/2/6/2).
        img_size (tuple): Nominal input size, used only to build the modules. Defaults to (256, 128).
        window_size (Sequence[int]): Attention windows per stage. Defaults to ``[7, 7, 14, 7]``.
        out_indices (Sequence[int]): Stages to return; stage ``i`` ends at stride ``2^(i+3)`` (the last
            two both at 32). Defaults to ``(1, 3)``.
        semantic_weight (float, optional): SOLIDER's λ in [0, 1] when the backbone has a semantic
            controller (after each stage, at its output width); None (default): none.
        **kwargs: Passed to ``mmpretrain.TinyViT`` (``gap_before_final_norm`` is forced off).
    """

    def __init__(self, arch='5m', img_size=(256, 128), window_size=(7, 7, 14, 7), out_indices=(1, 3),
                 semantic_weight: Optional[float] = None, **kwargs) -> None:
        kwargs['gap_before_final_norm'] = False
        super().__init__(arch=arch, img_size=tuple(img_size), window_size=list(window_size),
                         out_indices=tuple(out_indices), **kwargs)
        # a stage ends with the next stage's down-sampler, so it outputs the next stage's width
        widths = [self.channels[min(i + 1, self.num_stages - 1)] for i in range(self.num_stages)]
        self.init_semantic_controller(semantic_weight, widths, self.num_stages)

    def train(self, mode: bool = True) -> 'SAIPTinyViT':
        """Set the training mode (mmpretrain's override returns None; this returns ``self``)."""
        super().train(mode)
        return self

    def set_grid(self, hw: Tuple[int, int]) -> None:
        """Set every stage's token grid for an input of size ``hw``."""
        res = _half(_half(hw))  # the stride-4 patch embedding
        for stage in self.stages:
            for block in stage.blocks:
                if hasattr(block, 'img_size'):
                    block.img_size = res
            if stage.downsample is not None:
                stage.downsample.img_size = res
                res = _half(res)
                stage.downsample.out_resolution = res
            stage.resolution = res

    def forward(self, x: Tensor, semantic_weight: Optional[Union[float, Tensor]] = None,
                after_stage: Optional[AfterStage] = None) -> tuple:
        """mmpretrain's TinyViT loop for any input size, with λ after each controlled stage.

        Args:
            x (Tensor): Images ``(B, 3, H, W)``.
            semantic_weight (float | Tensor, optional): SOLIDER's λ for this call (a scalar or ``(B,)``);
                needs the controller. None: the config's λ.
            after_stage (callable, optional): ``after_stage(index, stage, output) -> output`` on each
                stage's ``(B, L, C)`` tokens after λ (``TokenAdapter`` re-masks there).

        Returns:
            tuple[Tensor]: The normalised maps ``(B, C, H, W)`` of the stages in ``out_indices``.
        """
        self.set_grid(tuple(x.shape[-2:]))
        weight = self.semantic_weight_batch(semantic_weight, x.shape[0], x.device)
        x = self.patch_embed(x)
        outs = []
        for i, stage, x in self.controlled_stages(x, self.stages, weight, after_stage):
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(x)
                outs.append(out.view(out.shape[0], *stage.resolution, out.shape[-1]).permute(0, 3, 1, 2))
        return tuple(outs)
