"""StarNet (Ma et al., "Rewrite the Stars", CVPR 2024): a ConvNet built on the star operation
``act(W1 x) * (W2 x)``, which maps features into an implicit high-dimensional space.

``StarNet`` follows the paper's design: a stride-2 stem, four stages of (stride-2 conv down-sampler, star
blocks) with widths ``base·2^i``, and a BN + pooling + linear classifier. S3 is ``base=32``,
``depths=[2, 2, 8, 4]``, ``mlp_ratio=4`` (5.75 M parameters with the 1000-way classifier).
With ``semantic_weight`` it takes SOLIDER's λ after each of its four stages
(``utils/semantic_controller.py``).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.pretrained import StrictPretrainedInit
from ..utils.semantic_controller import SemanticControlled
from ..utils.tokens import AfterStage


def conv_bn(in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, groups: int = 1,
            with_bn: bool = True) -> nn.Sequential:
    """Convolution (same padding) followed by BatchNorm (weight 1, bias 0) when ``with_bn``."""
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups)]
    if with_bn:
        layers.append(nn.BatchNorm2d(out_ch))
    return nn.Sequential(*layers)


class StarBlock(nn.Module):
    """Depth-wise 7×7 conv → two 1×1 expansions combined by the star operation ``relu6(a) * b`` →
    1×1 projection → depth-wise 7×7 conv, with a residual connection.

    Args:
        dim (int): Channels.
        mlp_ratio (float): Expansion of the star operation. Defaults to 4.
        drop_path (float): Stochastic depth rate. Defaults to 0.
    """

    def __init__(self, dim: int, mlp_ratio: float = 4, drop_path: float = 0.0) -> None:
        super().__init__()
        hidden = int(mlp_ratio * dim)
        self.dwconv = conv_bn(dim, dim, 7, groups=dim)
        self.f1 = conv_bn(dim, hidden, with_bn=False)
        self.f2 = conv_bn(dim, hidden, with_bn=False)
        self.g = conv_bn(hidden, dim)
        self.dwconv2 = conv_bn(dim, dim, 7, groups=dim, with_bn=False)
        self.act = nn.ReLU6()
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = self.dwconv(x)
        y = self.act(self.f1(y)) * self.f2(y)
        return x + self.drop_path(self.dwconv2(self.g(y)))


@MODELS.register_module()
class StarNet(SemanticControlled, StrictPretrainedInit, BaseModule):
    """StarNet backbone.

    Args:
        arch (str | dict): ``'s1'``–``'s4'`` or ``dict(base_dim=..., depths=..., mlp_ratio=...)``.
            Defaults to ``'s3'``.
        out_indices (Sequence[int]): Stages (0–3) whose maps are returned. Defaults to ``(3, )``.
        drop_path_rate (float): Stochastic depth, linearly increasing over blocks. Defaults to 0.
        num_classes (int): Width of the classifier; 0 builds none (a pure backbone). Defaults to 0.
        semantic_weight (float, optional): SOLIDER's λ in [0, 1] when the backbone has a semantic
            controller (after each stage, as SOLIDER's Swin); None (default): none.
        init_cfg (dict, optional): Initialisation config.
    """
    arch_zoo: Dict[str, dict] = {
        's1': dict(base_dim=24, depths=[2, 2, 8, 3], mlp_ratio=4),
        's2': dict(base_dim=32, depths=[1, 2, 6, 2], mlp_ratio=4),
        's3': dict(base_dim=32, depths=[2, 2, 8, 4], mlp_ratio=4),
        's4': dict(base_dim=32, depths=[3, 3, 12, 5], mlp_ratio=4),
    }

    def __init__(self,
                 arch: Union[str, dict] = 's3',
                 out_indices: Sequence[int] = (3, ),
                 drop_path_rate: float = 0.0,
                 num_classes: int = 0,
                 semantic_weight: Optional[float] = None,
                 init_cfg=(dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.),
                           dict(type='Constant', layer=['BatchNorm2d'], val=1., bias=0.))) -> None:
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'unknown StarNet arch {arch!r}; choose from {sorted(self.arch_zoo)}')
            arch = self.arch_zoo[arch]
        base, depths, ratio = arch['base_dim'], list(arch['depths']), arch['mlp_ratio']
        self.out_indices = tuple(out_indices)
        self.stem = nn.Sequential(conv_bn(3, 32, 3, stride=2), nn.ReLU6())
        rates = [float(r) for r in (i * drop_path_rate / max(sum(depths) - 1, 1) for i in range(sum(depths)))]
        self.stages = nn.ModuleList()
        self.channels = []
        in_ch, k = 32, 0
        for i, depth in enumerate(depths):
            dim = base * 2**i
            blocks = [StarBlock(dim, ratio, rates[k + j]) for j in range(depth)]
            self.stages.append(nn.Sequential(conv_bn(in_ch, dim, 3, stride=2), *blocks))
            self.channels.append(dim)
            in_ch, k = dim, k + depth
        self.init_semantic_controller(semantic_weight, self.channels, len(self.stages))
        self.num_classes = num_classes
        if num_classes:
            self.norm = nn.BatchNorm2d(in_ch)
            self.head = nn.Linear(in_ch, num_classes)

    def strides(self) -> Tuple[int, ...]:
        """Output stride of each stage."""
        return tuple(2**(i + 2) for i in range(len(self.stages)))

    def forward(self, x: Tensor, semantic_weight: Optional[Union[float, Tensor]] = None,
                after_stage: Optional[AfterStage] = None) -> Tuple[Tensor, ...]:
        """Args:
            x (Tensor): Images ``(B, 3, H, W)``.
            semantic_weight (float | Tensor, optional): SOLIDER's λ for this call (a scalar or ``(B,)``);
                needs the controller. None: the config's λ.
            after_stage (callable, optional): ``after_stage(index, stage, output) -> output``, applied to
                each stage's output after λ (``TokenAdapter`` re-masks there).

        Returns:
            tuple[Tensor]: Maps of the stages in ``out_indices`` (or the class logits, last, when the
            model has a classifier).
        """
        weight = self.semantic_weight_batch(semantic_weight, x.shape[0], x.device)
        x = self.stem(x)
        outs = []
        for i, _, x in self.controlled_stages(x, self.stages, weight, after_stage):
            if i in self.out_indices:
                outs.append(x)
        if self.num_classes:
            outs.append(self.head(self.norm(x).mean((2, 3))))
        return tuple(outs)
