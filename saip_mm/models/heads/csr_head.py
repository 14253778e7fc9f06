"""Cross-scale reconstruction loss (paper §III-B, eq. 2): MSE on the masked patches."""
from typing import List

import torch
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.masking import masked_indices
from ..utils.pos_embed import patchify


@MODELS.register_module()
class CSRHead(BaseModule):
    """Reconstruction loss between predicted and true pixels of the masked patches (MSE by default).

    Like mmpretrain's ``MAEHead``, the head prepares targets and the loss module (built from ``loss``)
    compares them.

    Args:
        patch_size (int): Patch size. Defaults to 16.
        norm_pix (bool): Normalise each target patch by its own mean/var (MAE). Defaults to True.
        loss (dict): The pixel loss, called as ``loss(pred, target, mask=None)``. Defaults to
            ``dict(type='mmpretrain.PixelReconstructionLoss', criterion='L2')`` (eq. 2's squared error);
            ``criterion='L1'`` is the other choice.
        loss_weight (float): Weight of ``loss_csr``. Defaults to 1.
    """

    def __init__(self, patch_size: int = 16, norm_pix: bool = True,
                 loss: dict = dict(type='mmpretrain.PixelReconstructionLoss', criterion='L2'),
                 loss_weight: float = 1.) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.norm_pix = norm_pix
        self.loss_module = MODELS.build(loss)
        self.loss_weight = loss_weight

    def target(self, images: Tensor) -> Tensor:
        """Per-patch pixel targets ``(B, L, p*p*3)`` of normalised images ``(B, 3, H, W)``."""
        target = patchify(images, self.patch_size)
        if self.norm_pix:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.e-6)**.5
        return target

    def loss(self, pred: Tensor, images: Tensor, mask: Tensor) -> Tensor:
        """The pixel loss over the masked patches.

        Args:
            pred (Tensor): Predictions for all patches ``(B, L, p*p*3)``, or for the masked patches
                only ``(B, L_masked, p*p*3)`` in ascending patch order.
            images (Tensor): The masked view's (unmasked) images ``(B, 3, H, W)``.
            mask (Tensor): Boolean ``(B, L)``, True = masked.

        Returns:
            Tensor: The weighted scalar loss.
        """
        target = self.target(images)
        if pred.shape[1] != target.shape[1]:  # masked patches only: a plain mean
            idx = masked_indices(mask, pred.shape[1])  # the count from the shape: no host read
            target = torch.gather(target, 1, idx[..., None].expand(-1, -1, target.shape[-1]))
            return self.loss_weight * self.loss_module(pred, target)
        # nothing masked: nothing to reconstruct, a zero loss that keeps the graph (every patch weighed
        # instead of none, so no 0/0); decided on the device, without a host read
        empty = ~mask.any()
        weights = torch.where(empty, torch.ones_like(mask, dtype=pred.dtype), mask.to(pred.dtype))
        loss = self.loss_module(pred, target, weights)
        return self.loss_weight * torch.where(empty, loss * 0., loss)


__all__: List[str] = ['CSRHead']
