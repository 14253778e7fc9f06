"""Simple feature pyramid (ViTDet, Li et al. 2022) for plain ViT backbones in mmdet detectors.

A plain ViT gives one stride-16 map. The pyramid rebuilds strides 4, 8, 16 and 32 from it with
transposed convolutions / max-pooling, each followed by a 1×1 and a 3×3 convolution with LayerNorm-2d,
and optionally a stride-64 level by max-pooling the last one (as FPN's ``num_outs=5``).
"""
from typing import List, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.models.utils import LayerNorm2d
from torch import Tensor

from saip_mm.registry import MODELS


def _conv_ln(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False),
                         LayerNorm2d(out_ch, eps=1e-6))


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """ViTDet simple feature pyramid.

    Args:
        in_channels (int): Channels of the backbone's single feature map. Defaults to 192 (ViT-Tiny).
        out_channels (int): Channels of every pyramid level. Defaults to 256.
        scale_factors (Sequence[float]): Resampling of the input map per level; each of 4, 2, 1, 0.5.
            Defaults to ``(4.0, 2.0, 1.0, 0.5)`` (strides 4–32 from stride 16).
        num_outs (int): Number of outputs; one more than ``len(scale_factors)`` adds a max-pooled
            level (stride 64). Defaults to 5.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 192,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 5,
                 init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform')) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_outs not in (len(scale_factors), len(scale_factors) + 1):
            raise ValueError(f'num_outs={num_outs} must be {len(scale_factors)} or {len(scale_factors) + 1}')
        self.num_outs = num_outs
        self.stages = nn.ModuleList()
        for scale in scale_factors:
            self.stages.append(nn.Sequential(*self._resample(in_channels, scale),
                                             _conv_ln(self._width(in_channels, scale), out_channels, 1),
                                             _conv_ln(out_channels, out_channels, 3)))

    @staticmethod
    def _width(in_channels: int, scale: float) -> int:
        return in_channels // 4 if scale == 4.0 else in_channels // 2 if scale == 2.0 else in_channels

    @staticmethod
    def _resample(dim: int, scale: float) -> List[nn.Module]:
        if scale == 4.0:
            return [nn.ConvTranspose2d(dim, dim // 2, 2, 2), LayerNorm2d(dim // 2), nn.GELU(),
                    nn.ConvTranspose2d(dim // 2, dim // 4, 2, 2)]
        if scale == 2.0:
            return [nn.ConvTranspose2d(dim, dim // 2, 2, 2)]
        if scale == 1.0:
            return []
        if scale == 0.5:
            return [nn.MaxPool2d(2, 2)]
        raise ValueError(f'scale factor {scale} is not one of 4, 2, 1, 0.5')

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Args:
            inputs (Sequence[Tensor]): Backbone outputs; the last is the ``(B, C, H, W)`` stride-16 map.

        Returns:
            tuple[Tensor]: ``num_outs`` maps, finest first.
        """
        x = inputs[-1]
        outs = [stage(x) for stage in self.stages]
        if self.num_outs > len(outs):
            outs.append(nn.functional.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
