"""Squared error of the sigmoid: the CSS loss as paper §III-B, eq. 3 writes it."""
from typing import List

import torch.nn.functional as F
from torch import Tensor, nn

from saip_mm.registry import MODELS


@MODELS.register_module()
class SigmoidMSELoss(nn.Module):
    """Mean of ``(sigmoid(logits) - target)^2``.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Args: logits and targets in [0, 1] of one shape. Returns: the scalar mean."""
        return self.loss_weight * F.mse_loss(logits.sigmoid(), target)


__all__: List[str] = ['SigmoidMSELoss']
