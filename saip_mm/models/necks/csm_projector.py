"""Image-level decoder of CSM (paper §III-B eq. 1, appendix A): MLP → L2 norm → weight-normalised
projection."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS


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
    """

    def __init__(self,
                 in_channels: int = 192,
                 hidden_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 out_channels: int = 65536,
                 num_layers: int = 3,
                 norm_cfg: Optional[dict] = None,
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
        # DINO freezes the prototypes during the first epoch (``FreezeLastLayerHook`` sets this):
        # their gradient is zeroed, so AdamW's moments stay zero and the prototypes do not move
        # (weight decay only rescales ``v``, which the weight norm ignores)
        self.freeze_last_layer = False
        self.last_layer.parametrizations.weight.original1.register_hook(self._maybe_zero_grad)

    def _maybe_zero_grad(self, grad: Tensor) -> Tensor:
        return torch.zeros_like(grad) if self.freeze_last_layer else grad

    def bottleneck(self, x: Tensor) -> Tensor:
        """Global tokens ``(B, in)`` -> L2-normalised bottleneck features ``(B, bottleneck)``."""
        return F.normalize(self.mlp(x), dim=-1, p=2)

    def forward(self, x: Tensor) -> Tensor:
        """Map global tokens ``(B, in)`` to prototype logits ``(B, out)``."""
        return self.last_layer(self.bottleneck(x))
