"""Structure-invariant alignment loss (HAP §3.3, eq. 1): InfoNCE between two masked views' tokens."""
from typing import List

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS


@MODELS.register_module()
class InfoNCEAlignHead(BaseModule):
    """``-log exp(z·z̃/τ) / Σ_i exp(z·z̃_i/τ)`` over the batch, on L2-normalised tokens: each image's
    first view must pick its own second view among the batch's.

    Args:
        temperature (float): τ. Defaults to 0.2 (HAP).
        loss_weight (float): γ of HAP's eq. 2. Defaults to 0.05.
    """

    def __init__(self, temperature: float = 0.2, loss_weight: float = 0.05) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def loss(self, z: Tensor, z_other: Tensor) -> Tensor:
        """The weighted InfoNCE loss.

        Args:
            z (Tensor): Tokens of the first views ``(B, C)``.
            z_other (Tensor): Tokens of the second views ``(B, C)``, row i the same image as ``z``'s.

        Returns:
            Tensor: The scalar loss.
        """
        logits = F.normalize(z, dim=-1) @ F.normalize(z_other, dim=-1).t() / self.temperature
        labels = torch.arange(len(z), device=z.device)
        return self.loss_weight * F.cross_entropy(logits, labels)


__all__: List[str] = ['InfoNCEAlignHead']
