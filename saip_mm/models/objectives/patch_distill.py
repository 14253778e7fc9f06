"""Masked patch self-distillation (PersonViT eq. 7, after iBOT): the student's patch prototypes at the
masked positions of a crop against the EMA teacher's at the same positions of the intact crop.

The masks are drawn here (``prepare``); the crops that the student sees masked are encoded by the
algorithm that owns the mask token (``PersonViT``).
"""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.masking import draw_patch_mask
from .base import BaseObjective, Step


@MODELS.register_module()
class MaskedPatchDistill(BaseObjective):
    """Patch-level distillation at masked positions.

    Args:
        neck (dict): The patch projector (``CSMProjector``; MLP2 of eq. 6), mirrored by the EMA teacher
            (``mim_neck``).
        head (dict): ``PatchDistillHead`` (centred, sharpened, its own centre).
        name (str): The objective's key. Defaults to ``'mim'``.
        **options: ``views=(0, 1)``: the crops the student sees masked (the global crops: the CSM
            teacher's views); ``level='final'``; ``mask_ratio=(0.1, 0.5)``, ``mask_prob=0.5``,
            ``mask_type='block'``: each image of those crops is masked with probability ``mask_prob`` at
            a ratio drawn uniformly from ``mask_ratio`` (iBOT's defaults, which PersonViT builds on).
    """
    OPTIONS = dict(views=(0, 1), level='final', mask_ratio=(0.1, 0.5), mask_prob=0.5, mask_type='block')
    LEGACY_NAMES = {'mim_neck': 'neck', 'mim_head': 'head'}

    def __init__(self, neck: dict, head: dict, name: str = 'mim', **options) -> None:
        super().__init__(name, options, neck=neck, head=head)

    def expert_readers(self) -> List[str]:
        return [f'model.{self.name} (its teacher)']

    def mirrored(self) -> Dict[str, nn.Module]:
        return {'mim_neck': self.neck}

    def views(self, num_images: int) -> List[int]:
        """The images the student sees masked."""
        return [v % num_images for v in self.cfg['views']]

    def draw_masks(self, batch: int, grid: Sequence[int], generator: torch.Generator) -> Tensor:
        """Masks ``(batch, rows*cols)`` of one crop: each row masked with probability ``mask_prob``, at
        its own ratio from ``mask_ratio``; the others all False."""
        low, high = self.cfg['mask_ratio']
        rows = []
        for _ in range(batch):
            if float(torch.rand((), generator=generator)) >= self.cfg['mask_prob']:
                rows.append(torch.zeros(int(grid[0]) * int(grid[1]), dtype=torch.bool))
                continue
            ratio = low + (high - low) * float(torch.rand((), generator=generator))
            rows.append(draw_patch_mask(self.cfg['mask_type'], 1, grid, ratio, generator)[0])
        return torch.stack(rows)

    def step_masks(self, step: Step, patch_size: int) -> Dict[int, Tensor]:
        """This step's masks of ``views``, by image index (from the step's generator)."""
        gen, masks = step.generator(), {}
        for i in self.views(len(step.images)):
            image = step.images[i]
            grid = (image.shape[-2] // patch_size, image.shape[-1] // patch_size)
            masks[i] = self.draw_masks(image.shape[0], grid, gen).to(image.device)
        return masks

    def loss(self, step: Step) -> Dict[str, Tensor]:
        """``loss_<name>`` over the masked crops (their masks in ``step.masks``) and the head's monitor
        as ``<name>_*`` logs."""
        ids, level = list(step.masks), self.cfg['level']
        teacher = step.expert_tokens(ids)
        s_logits = [self.neck(step.student[i][level][1][step.masks[i]], step.index) for i in ids]
        with torch.no_grad():
            t_logits = [step.expert.mim_neck(t[level][1]) for t in teacher]
        loss = self.head.loss(s_logits, t_logits, [step.masks[i] for i in ids], step=step.index)
        return {f'loss_{self.name}': loss, **{f'{self.name}_{k}': v for k, v in self.head.monitor.items()}}


__all__ = ['MaskedPatchDistill']
