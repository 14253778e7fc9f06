"""Cross-scale search loss (paper §III-B, eq. 3): each view segments its person's box in the canvas."""
from typing import List

import torch
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS


@MODELS.register_module()
class CSSHead(BaseModule):
    """Binary mask loss between per-view logits and the instance's box mask.

    Like mmpretrain's ``MAEHead``, the head arranges predictions and targets and the loss module (built
    from ``loss``) compares them, called once per query view as ``loss(logits, target)`` and expected to
    return the mean over samples and grid cells.

    Args:
        loss (dict): The per-view loss. Defaults to
            ``dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True)`` (BCE on soft targets, the
            authors' code); ``dict(type='SigmoidMSELoss')`` is eq. 3's squared error of the sigmoid.
        view_reduction (str): How the N query views combine: ``'sum'`` (paper eq. 3 sums over t) or
            ``'mean'`` (their average, which keeps the loss scale independent of N). Defaults to
            ``'mean'``.
        loss_weight (float): Weight of ``loss_css``. Defaults to 1.
    """

    def __init__(self, loss: dict = dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True),
                 view_reduction: str = 'mean', loss_weight: float = 1.) -> None:
        super().__init__()
        if view_reduction not in ('sum', 'mean'):
            raise ValueError(f"view_reduction must be 'sum' or 'mean', got {view_reduction!r}")
        self.loss_module = MODELS.build(loss)
        self.view_reduction = view_reduction
        self.loss_weight = loss_weight

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss over views (summed or averaged), each the mean over samples and grid cells.

        Args:
            logits (Tensor): ``(N_views, B, rows, cols)``.
            target (Tensor): Box masks: the fraction of each cell that the instance's visible box
                covers, in [0, 1]; ``(B, rows, cols)`` (every view searches the same instance) or
                ``(B, N_views, rows, cols)`` (view t searches instance t).

        Returns:
            Tensor: The weighted scalar loss.
        """
        if target.dim() == 4:
            if target.shape[1] != logits.shape[0]:
                raise ValueError(f'{logits.shape[0]} CSS query views but targets for '
                                 f'{target.shape[1]} instances')
            target = target.transpose(0, 1)
        target = target.expand_as(logits).to(logits.dtype)
        per_view = torch.stack([self.loss_module(view, t) for view, t in zip(logits, target)])
        loss = per_view.sum() if self.view_reduction == 'sum' else per_view.mean()
        return self.loss_weight * loss


__all__: List[str] = ['CSSHead']
