"""PersonViT (Hu et al., 2024; SAIP Tables I–IV baseline): DINO + masked patch self-distillation.

A composition of SAIP's units plus one objective (PersonViT §3, eqs. 5–8):

* DINO (eq. 4) is CSM on multi-crop views (``configs/baselines/dino``), except that the student sees its
  two global crops **masked**: block-wise masks whose patches take a learned mask token (eq. 5);
* MIM (eq. 7): a second projector (MLP2 of eq. 6) maps the student's patch tokens at the masked
  positions, and the EMA teacher's on the intact crop at the same positions are their targets
  (``PatchDistillHead``: centred, sharpened, own centre);
* eq. 8: ``L = λ1 L_dino + λ2 L_mim`` with λ1 = λ2 = 1 (the two heads' ``loss_weight``).
"""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from saip_mm.registry import MODELS

from ..backbones.saip_vit import SAIPViT
from ..utils.masking import draw_patch_mask
from ..utils.tokens import split_tokens
from .options import validate_options
from .saip import SAIP

# how the student's global crops are masked (iBOT's defaults, which PersonViT builds on: half of the
# images masked, each at a ratio drawn from 0.1–0.5, block-wise)
MIM_OPTIONS = dict(mask_ratio=(0.1, 0.5), mask_prob=0.5, mask_type='block')


@MODELS.register_module()
class PersonViT(SAIP):
    """DINO with masked student global crops and a patch-level distillation loss.

    Args:
        mim (dict): ``dict(neck=..., head=..., mask_ratio=(0.1, 0.5), mask_prob=0.5,
            mask_type='block')``: the patch projector (``CSMProjector``, mirrored by the EMA teacher),
            ``PatchDistillHead``, and the masks of the teacher's views as the student sees them: each
            image is masked with probability ``mask_prob`` at a ratio drawn uniformly from
            ``mask_ratio``.
        **kwargs: As ``SAIP``; ``csm`` (the DINO loss) is required, its ``teacher_views`` are the
            global crops that the student sees masked. The backbone must take a ``mask_token``
            (``SAIPViT``).
    """

    def __init__(self, mim: dict, expert: dict = dict(type='CosineEMAExpert'), **kwargs) -> None:
        for key in ('neck', 'head'):
            if key not in mim:
                raise ValueError(f'model.mim needs a {key!r}')
        self._mim = mim  # built by build_extra_units, which SAIP calls before it builds the expert
        super().__init__(expert=expert, **kwargs)
        if self.csm_cfg is None or self.expert is None:
            raise ValueError('PersonViT needs model.csm (the DINO loss) and an EMA expert')
        if not isinstance(self.backbone, SAIPViT):  # the student that takes a mask token
            raise ValueError(f'PersonViT masks patch embeddings with a mask token; '
                             f'{type(self.backbone).__name__}.forward_tokens takes none (use SAIPViT)')
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.backbone.embed_dims))

    def build_extra_units(self) -> None:
        """The patch projector and head (the teacher mirrors the projector)."""
        mim = self._mim
        self.mim_cfg = validate_options('mim', {k: v for k, v in mim.items() if k not in ('neck', 'head')},
                                        MIM_OPTIONS, extra=('neck', 'head'))
        self.mim_neck = MODELS.build(mim['neck'])
        self.mim_head = MODELS.build(mim['head'])

    def student_for_expert(self) -> nn.ModuleDict:
        parts = super().student_for_expert()
        parts['mim_neck'] = self.mim_neck
        return parts

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def draw_masks(self, batch: int, grid: Sequence[int], generator: torch.Generator) -> Tensor:
        """Masks ``(batch, rows*cols)`` of one global crop: each row masked with probability
        ``mask_prob``, at its own ratio from ``mask_ratio``; the others all False."""
        low, high = self.mim_cfg['mask_ratio']
        rows = []
        for _ in range(batch):
            if float(torch.rand((), generator=generator)) >= self.mim_cfg['mask_prob']:
                rows.append(torch.zeros(int(grid[0]) * int(grid[1]), dtype=torch.bool))
                continue
            ratio = low + (high - low) * float(torch.rand((), generator=generator))
            rows.append(draw_patch_mask(self.mim_cfg['mask_type'], 1, grid, ratio, generator)[0])
        return torch.stack(rows)

    def step_losses(self, inputs: Dict[str, object]) -> Dict[str, Tensor]:
        """``loss_csm`` (DINO, eq. 4, on the masked global crops and intact local crops) and
        ``loss_mim`` (eq. 7), plus the collapse monitors of both heads (logged only).

        Args:
            inputs (dict): ``anchor`` (the first global crop ``(B, 3, H, W)``) and ``views`` (the
                second global crop, then the local crops), as for the DINO baseline.
        """
        images = [inputs['anchor']] + list(inputs.get('views', []))
        t_ids = self.teacher_ids(len(images))
        gen = self._generator()
        masks = {}
        for i in t_ids:
            grid = (images[i].shape[-2] // self.backbone.patch_size,
                    images[i].shape[-1] // self.backbone.patch_size)
            masks[i] = self.draw_masks(images[i].shape[0], grid, gen).to(images[i].device)
        student = self.encode_masked_views(images, masks)
        others = [i for i in self.csm_views(len(images)) if i not in masks]
        student.update(zip(others, self.encode_views(self.backbone, [images[i] for i in others])))
        with torch.no_grad():
            teacher = self.encode_views(self.expert.module.backbone, [images[i] for i in t_ids])
        losses = {'loss_csm': self.loss_csm(images, student, teacher)}
        losses.update(self.csm_monitors())
        losses['loss_mim'] = self.loss_mim([student[i] for i in t_ids], teacher, [masks[i] for i in t_ids])
        losses.update({f'mim_{k}': v for k, v in getattr(self.mim_head, 'monitor', {}).items()})
        return losses

    def encode_masked_views(self, images: List[Tensor], masks: Dict[int, Tensor]) -> Dict[int, dict]:
        """The student's tokens of the masked crops (mask token at the masked patches; every patch
        kept), one encoder call for all of them (they share a size)."""
        ids = list(masks)
        out = self.backbone.forward_tokens(torch.cat([images[i] for i in ids]),
                                           mask=torch.cat([masks[i] for i in ids]),
                                           mask_token=self.mask_token)
        return dict(zip(ids, split_tokens(out, [images[i].shape[0] for i in ids])))

    def loss_mim(self, student: List[dict], teacher: List[dict], masks: List[Tensor]) -> Tensor:
        """Eq. 7 over the global crops: the student's patch prototypes at the masked positions against
        the teacher's at the same positions of the intact crop."""
        level = self.csm_cfg['level']
        s_logits = [self.mim_neck(s[level][1][m], self.step.value) for s, m in zip(student, masks)]
        with torch.no_grad():
            t_logits = [self.expert.module.mim_neck(t[level][1]) for t in teacher]
        return self.mim_head.loss(s_logits, t_logits, masks, step=self.step.value)


__all__: List[str] = ['PersonViT']
