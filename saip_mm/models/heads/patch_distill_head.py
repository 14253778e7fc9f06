"""Masked patch self-distillation loss (PersonViT eq. 7; iBOT's patch loss).

The teacher's centred, sharpened softmax over patch prototypes at each masked position of the intact
view is the target of the student's log-softmax at the same position of the masked view. CSM's head
(``CSMHead``) owns the centre, the temperatures and the soft cross-entropy; this head only pairs
positions and averages over the masked ones, with its own centre over patch logits.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from saip_mm.registry import MODELS

from .csm_head import CSMHead


@MODELS.register_module()
class PatchDistillHead(CSMHead):
    """DINO's loss on masked patch tokens, matched by position within one view.

    Args: as ``CSMHead`` (``out_channels`` = patch prototypes; PersonViT's λ2 is ``loss_weight``), without
        ``centering`` (the patch targets use the EMA centre).
    """

    def __init__(self, *args, centering: Optional[dict] = None, **kwargs) -> None:
        if centering is not None:
            raise ValueError(f"PatchDistillHead: centering={centering.get('type')} is a CSMHead option; the "
                             'patch targets use the EMA centre (center_momentum)')
        super().__init__(*args, **kwargs)

    def loss(self, student_logits: Sequence[Tensor], teacher_logits: Sequence[Tensor],
             masks: Sequence[Tensor], step: Optional[int] = None) -> Tensor:
        """Per view, the cross-entropy at the masked positions, averaged per image over its masked
        patches, then over the images (an image without masked patches adds 0) and the views.

        Args:
            student_logits (list[Tensor]): Per view, the student's logits at the masked positions only,
                ``(N_masked, K)``, in the row-major order of ``mask.nonzero()``.
            teacher_logits (list[Tensor]): Per view, the teacher's logits at every position of the
                intact view ``(B, L, K)`` (all of them update the centre).
            masks (list[Tensor]): Per view, boolean ``(B, L)``, True = masked for the student.
            step (int, optional): The algorithm's step, at which τt is read (``CSMHead.loss``).

        Returns:
            Tensor: The weighted loss.
        """
        total, tau = 0., self.teacher_temp_at(step)
        targets = []
        for s, t, mask in zip(student_logits, teacher_logits, masks):
            target = F.softmax((t[mask] - self.center) / tau, dim=-1).detach()
            counts = mask.sum(1, keepdim=True).expand_as(mask)[mask].to(s.dtype)
            # each image's masked patches weigh 1 / its count: per-image mean, then mean over the batch
            total = total + self.loss_module(s / self.student_temp, target, weight=1. / counts,
                                             avg_factor=mask.shape[0])
            targets.append(target)
        if targets and sum(len(t) for t in targets):
            self.monitor = self.collapse_monitor(torch.cat(targets))
        self.update_center(torch.cat([t.flatten(0, 1) for t in teacher_logits]))
        return self.loss_weight * total / max(len(masks), 1)


__all__: List[str] = ['PatchDistillHead']
