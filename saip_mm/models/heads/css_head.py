"""Cross-scale search loss (paper eq. 3, spec §6): each view segments its person's box in the canvas."""
from typing import List

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS


@MODELS.register_module()
class CSSHead(BaseModule):
    """Binary mask loss between per-view logits and the instance's box mask.

    Args:
        loss_type (str): ``'bce'`` (authors' code, default) or ``'mse'`` (the paper's squared error of
            the sigmoid).
        loss_weight (float): Weight of ``loss_css``. Defaults to 1.
    """

    def __init__(self, loss_type: str = 'bce', loss_weight: float = 1.) -> None:
        super().__init__()
        if loss_type not in ('bce', 'mse'):
            raise ValueError(f"loss_type must be 'bce' or 'mse', got {loss_type!r}")
        self.loss_type = loss_type
        self.loss_weight = loss_weight

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """Mean loss over views, samples and grid cells.

        Args:
            logits (Tensor): ``(N_views, B, rows, cols)``.
            target (Tensor): Box masks ``(B, rows, cols)``: the fraction of each cell that the instance's
                visible box covers, in [0, 1].
        """
        target = target[None].expand_as(logits).to(logits.dtype)
        if self.loss_type == 'bce':
            loss = F.binary_cross_entropy_with_logits(logits, target)
        else:
            loss = F.mse_loss(logits.sigmoid(), target)
        return self.loss_weight * loss


__all__: List[str] = ['CSSHead']
