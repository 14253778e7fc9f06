"""Image-level decoder of CSM (paper §III-B eq. 1, appendix A): MLP → L2 norm → weight-normalised
projection."""
from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.schedules import ValueSchedule, build_schedule


class _ZeroGradient(torch.autograd.Function):
    """The identity forward; a zero gradient backward (the input gets zeros, not None)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return torch.zeros_like(grad)


@MODELS.register_module()
class CSMProjector(BaseModule):
    """DINO-style projector: ``in → hidden → hidden → bottleneck`` (GELU), L2 norm, then a
    weight-normalised ``Linear(bottleneck → out, no bias)`` whose norm (``weight_g``) is fixed to 1.

    Args:
        in_channels (int): Width of the global token. Defaults to 192.
        hidden_channels (int): MLP width. Defaults to 2048.
        bottleneck_channels (int): Width before the L2 norm. Defaults to 256.
        out_channels (int): Number of prototypes. Defaults to 65536.
        num_layers (int): Linear layers in the MLP. Defaults to 3.
        norm_cfg (dict, optional): A norm after each hidden Linear, before its GELU: DINO's
            ``use_bn`` (``dict(type='BN1d')``), an anti-collapse option (batch statistics make the
            features of different images differ). Defaults to None (DINO's default, no norm).
        freeze_last_layer (float | dict | ValueSchedule): DINO's prototype freeze, a schedule of the
            step: while it is 1 the prototypes get a zero gradient (AdamW's moments stay zero and they do
            not move; weight decay only rescales ``v``, which the weight norm ignores), e.g.
            ``dict(type='FirstSteps', epochs=1)`` (DINO: the first epoch). Defaults to 0 (never).
    """

    def __init__(self,
                 in_channels: int = 192,
                 hidden_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 out_channels: int = 65536,
                 num_layers: int = 3,
                 norm_cfg: Optional[dict] = None,
                 freeze_last_layer: Union[float, dict, ValueSchedule] = 0,
                 init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.)) -> None:
        super().__init__(init_cfg=init_cfg)
        from mmcv.cnn import build_norm_layer
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [bottleneck_channels]
        layers = []
        for i in range(num_layers):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < num_layers - 1:
                if norm_cfg is not None:
                    layers.append(build_norm_layer(norm_cfg, dims[i + 1])[1])
                layers.append(nn.GELU())
        self.mlp = nn.Sequential(*layers)
        self.last_layer = nn.utils.parametrizations.weight_norm(
            nn.Linear(bottleneck_channels, out_channels, bias=False))
        self.last_layer.parametrizations.weight.original0.data.fill_(1)
        self.last_layer.parametrizations.weight.original0.requires_grad = False
        self.freeze_last_layer = build_schedule(freeze_last_layer)

    def bottleneck(self, x: Tensor) -> Tensor:
        """Global tokens ``(B, in)`` -> L2-normalised bottleneck features ``(B, bottleneck)``."""
        return F.normalize(self.mlp(x), dim=-1, p=2)

    def prototypes(self, bottleneck: Tensor, step: Optional[int] = None) -> Tensor:
        """Bottleneck features ``(B, bottleneck)`` -> prototype logits ``(B, out)``. At a training
        ``step`` where ``freeze_last_layer`` is on, the prototypes get a zero gradient; ``step=None``
        (the expert, evaluation) never freezes."""
        weight = self.last_layer.weight
        if step is not None and self.freeze_last_layer.value_at(step):
            weight = _ZeroGradient.apply(weight)
        return F.linear(bottleneck, weight)

    def forward(self, x: Tensor, step: Optional[int] = None) -> Tensor:
        """Map global tokens ``(B, in)`` to prototype logits ``(B, out)`` (``step``: see ``prototypes``)."""
        return self.prototypes(self.bottleneck(x), step)
