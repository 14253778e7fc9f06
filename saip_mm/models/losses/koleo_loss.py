"""KoLeo regulariser (Sablayrolles et al. 2019, "Spreading vectors for similarity search"; DINOv2 §4):
spread a batch of features uniformly over the sphere, so that they cannot all collapse together."""
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from saip_mm.registry import MODELS


@MODELS.register_module()
class KoLeoLoss(nn.Module):
    """``-mean_i log(min_{j != i} ||x_i - x_j||)`` over the L2-normalised rows of a batch: the
    Kozachenko-Leonenko estimate of the differential entropy, up to constants. It grows without bound
    as two features of different images meet, and is smallest for features spread evenly.

    Args:
        loss_weight (float): Weight (DINOv2: 0.1). Defaults to 0.1.
        eps (float): Added to the distances inside the log. Defaults to 1e-8.
    """

    def __init__(self, loss_weight: float = 0.1, eps: float = 1e-8) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, features: Tensor) -> Tensor:
        """Args: features ``(B, C)``, one row per image (``B >= 2``). Returns: the weighted scalar."""
        if features.shape[0] < 2:
            raise ValueError(f'KoLeo needs at least 2 features per batch, got {features.shape[0]}')
        x = F.normalize(features.float(), dim=-1, eps=self.eps)
        with torch.no_grad():  # the nearest neighbour: the largest dot product but oneself
            dots = x @ x.t()
            dots.fill_diagonal_(-2.0)
            nearest = dots.argmax(dim=1)
        distances = (x - x[nearest]).norm(dim=-1)
        return -self.loss_weight * torch.log(distances + self.eps).mean()


__all__: List[str] = ['KoLeoLoss']
